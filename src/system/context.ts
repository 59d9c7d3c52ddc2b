// What the parts of the system account service share: the server, the
// system account's internal client, and the queue its messages leave by.

import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import type { InternalClient, InternalMsgHandler } from '../client/internal.js';
import type { EventIds } from './info.js';

export interface SystemContext {
  readonly srv: Server;
  readonly sysAcc: Account;
  readonly client: InternalClient;
  readonly ids: EventIds;
  /** server/events.go getHash of the server name: targets this server ($SYS._INBOX.<hash>, tracked replies) */
  readonly hash: string;
  /**
   * Queue a message in the system account (or `acc`): sent after the
   * current delivery finishes, as the reference's internalSendLoop does.
   * `hdr` is a complete header block or null.
   */
  send(subject: string, reply: string, body: Buffer, hdr?: Buffer | null, acc?: Account | null): void;
  /** Subscribe in the system account; `local` keeps the interest from routes (sysSubscribeInternal). */
  subscribe(subject: string, handler: InternalMsgHandler, local?: boolean): void;
}
