// One subscription of one connection (or route). Monomorphic: every field is
// set in the constructor so the delivery loop sees a single hidden class.

import type { Connection } from './connection.js';
import type { PubArgSource } from './client.js';

/** A message delivered to an internal subscription; buffers are views valid only during the call. */
export type InternalMsgHandler = (sub: Subscription, subject: string, reply: string, hdr: Buffer | null, msg: Buffer) => void;

/**
 * A delivery to an internal subscription as the publisher's argument layout
 * (`src.paBuf` offsets: subject, reply) and its payload, buf[start, start +
 * src.paSize) with the header first: no string or view is made. For a
 * handler that reads a few bytes per message on a hot path (JetStream acks).
 */
export type InternalRawHandler = (sub: Subscription, src: PubArgSource, buf: Buffer, start: number) => void;

export class Subscription {
  /** " <sid> " as bytes, pre-encoded once so each delivery is one copy */
  readonly sidBytes: Buffer;
  /** auto-unsubscribe limit (0 = none) and messages delivered so far */
  max = 0;
  nm = 0;
  closed = false;
  /**
   * How many members of its queue group this subscription stands for. Always
   * 1 for local subscriptions; a route's RS+ carries the remote server's count
   * (see Sublist.updateRemoteQSub).
   */
  queueWeight = 1;
  /**
   * For an internal client's subscription (client/internal.ts): what runs
   * for each message delivered to it. null for every other connection.
   */
  icb: InternalMsgHandler | null = null;
  /**
   * With icb: takes the delivery instead of icb where it can (not while
   * the internal client's own publish is being delivered, see
   * InternalClient.writeMsg); it may hand the message on to icb itself.
   */
  icbRaw: InternalRawHandler | null = null;
  /**
   * The leaf cluster an interest came from (a leaf connection's remote
   * cluster, or the origin of a route's LS+): not announced back to
   * leaf connections of that cluster (server/leafnode.go updateLeafNodes).
   */
  origin: string | null = null;

  constructor(
    /** the owner: a Client, or a Route for interest of another server */
    readonly client: Connection,
    readonly subject: string,
    readonly queue: string | null,
    readonly sid: string,
  ) {
    this.sidBytes = Buffer.from(' ' + sid + ' ', 'latin1');
  }
}
