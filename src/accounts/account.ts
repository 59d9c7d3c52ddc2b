// An account: a subject namespace with its own subject index. Clients of one
// account never see messages of another unless an export/import connects them.

import { Sublist } from '../subjects/sublist.js';
import type { Subscription } from '../client/subscription.js';

export class Account {
  readonly sublist: Sublist<Subscription>;
  /** connected clients (kind CLIENT) registered with this account */
  numClients = 0;
  // message counters, updated once per delivery batch
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  slowConsumers = 0;

  constructor(
    readonly name: string,
    cacheSize: number,
  ) {
    this.sublist = new Sublist<Subscription>({ cacheSize });
  }
}
