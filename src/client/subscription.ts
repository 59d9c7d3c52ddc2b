// One subscription of one connection (or route). Monomorphic: every field is
// set in the constructor so the delivery loop sees a single hidden class.

import type { Client } from './client.js';

export class Subscription {
  /** " <sid> " as bytes, pre-encoded once so each delivery is one copy */
  readonly sidBytes: Buffer;
  /** auto-unsubscribe limit (0 = none) and messages delivered so far */
  max = 0;
  nm = 0;
  closed = false;

  constructor(
    readonly client: Client,
    readonly subject: string,
    readonly queue: string | null,
    readonly sid: string,
  ) {
    this.sidBytes = Buffer.from(' ' + sid + ' ', 'latin1');
  }
}
