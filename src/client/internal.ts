// A connection without a socket: how subsystems built on the core
// (JetStream, system events) subscribe and publish. Like nats-server's
// internal clients (server/client.go kind JETSTREAM / SYSTEM / ACCOUNT) it
// joins its account's subject index as any client does, so messages reach
// it from clients, routes and account imports alike, and what it publishes
// goes through the same delivery, import and route paths as a client's PUB.
//
// Deliveries arrive through writeMsg (every delivery path ends there) and
// are handed to the subscription's callback with views into the
// publisher's buffer: valid only during the call, copy to keep.

import { Client, setPubArgs } from './client.js';
import { Subscription, type InternalMsgHandler } from './subscription.js';
import type { PubArgSource } from './client.js';
import type { Account } from '../accounts/account.js';
import type { Server } from '../server/server.js';
import { mayImport, processImports } from '../accounts/imports.js';
import type { Socket } from 'node:net';
import type { SublistResult } from '../subjects/sublist.js';
import { tailTokens } from '../subjects/validate.js';

export type { InternalMsgHandler, InternalRawHandler } from './subscription.js';

/** What Connection reads of a socket, for a connection that has none. */
function noSocket(): Socket {
  return {
    remoteAddress: '',
    remotePort: 0,
    writableLength: 0,
    writableHighWaterMark: 65536,
    destroyed: true,
    write: () => true,
    end: () => undefined,
    destroy: () => undefined,
    on: () => undefined,
    once: () => undefined,
    removeAllListeners: () => undefined,
  } as unknown as Socket;
}

interface Deferred {
  sub: Subscription;
  subject: string;
  reply: string;
  hdr: Buffer | null;
  msg: Buffer;
}

export class InternalClient extends Client {
  /** a publish of ours is being delivered: deliveries to us wait (see writeMsg) */
  private publishing = 0;
  private readonly deferred: Deferred[] = [];
  private nextSid = 1;
  // matchDeliver's last subject, its result and the sublist generation it is valid for;
  // mKey: the part of mSubj the result depends on, with the dot after it ('' = all of it)
  private mSubj = '';
  private mRes: SublistResult<Subscription> | null = null;
  private mGen = -1;
  private mAcc: Account | null = null;
  private mKey = '';
  private mTail = 0;
  /** setArgs' reusable argument buffer */
  private argBuf = Buffer.allocUnsafe(256);
  /** subscriptions routes were never told of (subscribeLocal) */
  private readonly localSubs: Subscription[] = [];
  /** while a callback runs: the connection whose message it is (the publishing client, or a route) */
  source: PubArgSource | null = null;
  /**
   * The reference's system client (server/events.go internalSendLoop) sets
   * an empty, non-nil reply, so a message without one reads
   * "MSG <subject> <sid>  <size>" (two spaces) to its subscribers, and
   * "HMSG <subject> <sid>  <hdr> <size>".
   */
  emptyReplySpace = false;
  /**
   * While publishAs delivers a stored message under another subject: the
   * subject it is routed by (the consumer's deliver subject). Leaf
   * connections send that one and carry the stored subject after an '@' in
   * the reply (server/client.go processMsgResults).
   */
  paDeliver = '';
  /** with paDeliver: the stored message's subject */
  paStored = '';

  constructor(server: Server, account: Account, readonly label: string) {
    super(server, noSocket(), server.allocCid(), account);
    this.connectReceived = true;
    this.headers = true;
    this.opts.headers = true;
    this.opts.no_responders = false;
    this.logPrefix = label;
    // max_subscriptions limits clients, not the server's own subscriptions
    this.jwtMaxSubs = Number.MAX_SAFE_INTEGER;
  }

  /** Subscribe with a callback; the subscription also tells routes of the interest. */
  subscribeInternal(subject: string, queue: string | null, handler: InternalMsgHandler): Subscription | null {
    if (queue === '_sys_') {
      // The reserved queue group is refused to clients only (server/client.go processSubEx checks kind CLIENT).
      const sub = new Subscription(this, subject, queue, String(this.nextSid++));
      sub.icb = handler;
      if (!this.account.sublist.insert(sub)) return null;
      this.subs.set(sub.sid, sub);
      this.server.subAdded(this.account, sub);
      return sub;
    }
    const sub = this.subscribe(subject, queue, String(this.nextSid++));
    if (sub !== null) sub.icb = handler;
    return sub;
  }

  /**
   * Subscribe with a callback without telling routes (the reference's
   * sysSubscribeInternal): only messages published on this server reach it.
   */
  subscribeLocal(subject: string, handler: InternalMsgHandler): Subscription | null {
    const sub = new Subscription(this, subject, null, String(this.nextSid++));
    sub.icb = handler;
    if (!this.account.sublist.insert(sub)) return null;
    this.localSubs.push(sub);
    return sub;
  }

  /**
   * Publish as a client of this account would: local subscribers, account
   * imports, routes. `hdr` is the complete header block (NATS/1.0 … CRLFCRLF)
   * or null. Returns whether anyone got it.
   */
  publish(subject: string, reply: string, hdr: Buffer | null, msg: Buffer): boolean {
    return this.publishAs(subject, subject, reply, hdr, msg);
  }

  /**
   * Deliver to the subscribers of `dsubj` a message whose MSG line carries
   * `subject` (a JetStream consumer delivering a stored message: the
   * reference routes by the deliver subject and writes the original one,
   * server/stream.go internalLoop's pa.deliver). Imports and routes see it
   * as published on `dsubj`. Returns whether anyone got it.
   */
  publishAs(dsubj: string, subject: string, reply: string, hdr: Buffer | null, msg: Buffer): boolean {
    const hl = hdr === null ? 0 : hdr.length;
    const size = hl + msg.length;
    const payload = hl === 0 ? msg : msg.length === 0 ? hdr! : Buffer.concat([hdr!, msg], size);
    return this.publishCore(dsubj, subject, reply, null, 0, payload, 0, hl, size);
  }

  /**
   * publishAs of a message whose header block and payload are contiguous,
   * buf[off, off + hl) and buf[off + hl, off + size) (a stored message as
   * the store lends it, MsgView: no Buffer per message), with the reply as
   * latin1 bytes, replyBuf[0, replyLen), or when replyBuf is null as
   * replyStr. A consumer writes each delivery's ack subject into a buffer of
   * its own rather than building a string per message only to copy it byte
   * by byte (that copy, from a concatenated string, was a fifth of the
   * server's CPU in an ordered consume). The bytes are read during the call only.
   */
  publishAt(
    dsubj: string,
    subject: string,
    replyStr: string,
    replyBuf: Buffer | null,
    replyLen: number,
    buf: Buffer,
    off: number,
    hl: number,
    size: number,
  ): boolean {
    return this.publishCore(dsubj, subject, replyStr, replyBuf, replyLen, buf, off, hl, size);
  }

  private publishCore(
    dsubj: string,
    subject: string,
    replyStr: string,
    replyBuf: Buffer | null,
    replyLen: number,
    payload: Buffer,
    start: number,
    hl: number,
    size: number,
  ): boolean {
    if (this.closed) return false;
    const hdb = hl > 0 ? String(hl) : '';
    const szb = String(size);
    // a publish nested in the delivery of another one of ours keeps off the shared buffer
    const nested = this.publishing > 0;
    // the reply as a string only where one is needed
    let reply = replyBuf === null || nested ? replyStr : null;
    if (reply === null) this.setArgsReplyBytes(subject, replyBuf!, replyLen, hdb, szb);
    else {
      if (replyBuf !== null) reply = replyBuf.toString('latin1', 0, replyLen);
      this.setArgs(nested, subject, reply, hdb, szb);
    }
    const quirk = this.emptyReplySpace && replyBuf === null && replyStr === '';
    if (quirk) shiftSpace(this, hl);
    this.paHdr = hl > 0 ? hl : -1;
    this.paSize = size;
    this.publishing++;
    this.paDeliver = dsubj !== subject ? dsubj : '';
    this.paStored = subject;
    let delivered = false;
    try {
      const acc = this.account;
      const srv = this.server;
      const r = this.matchDeliver(acc, dsubj);
      if (r.psubs.length > 0 || r.qsubs.length > 0) delivered = this.processMsgResults(r, payload, start);
      if (acc.crossAccount || srv.routesActive) {
        const imports = acc.crossAccount && mayImport(acc, dsubj);
        if (imports || srv.routesActive) {
          if (reply === null) reply = replyBuf!.toString('latin1', 0, replyLen);
          if (dsubj !== subject) {
            this.setArgs(nested, dsubj, reply, hdb, szb);
            if (quirk) shiftSpace(this, hl);
          }
        }
        // a plain publish (dsubj === subject) takes the import's subject; a consumer delivery keeps the stored one
        const msgSubject = dsubj !== subject ? subject : null;
        if (imports) delivered = processImports(this, acc, dsubj, reply!, payload, start, false, null, msgSubject) || delivered;
        if (srv.routesActive) delivered = srv.routeMessage(this, payload, start, r) || delivered;
      }
    } finally {
      this.publishing--;
      this.paDeliver = '';
    }
    srv_flush(this);
    if (this.publishing === 0 && this.deferred.length > 0) this.drainDeferred();
    return delivered;
  }

  /**
   * The subscribers of a subject we publish to. Like Client.matchSubject,
   * the last result also answers a subject that differs from the last one
   * only past the tokens its trie walk looked up among literal tokens
   * (Sublist.lastMatchKeyTokens), with as many tokens: a PubAck goes to a
   * new `_INBOX.<id>.<n>` per message, which was a cache miss and a trie
   * walk each (~11% of busy CPU in async publish to a file stream).
   */
  private matchDeliver(acc: Account, subject: string): SublistResult<Subscription> {
    const sl = acc.sublist;
    if (this.mGen === sl.genid && this.mAcc === acc) {
      if (subject === this.mSubj) return this.mRes!;
      const kl = this.mKey.length;
      if (kl > 0 && subject.length > kl && subject.startsWith(this.mKey) && tailTokens(subject, kl) === this.mTail) return this.mRes!;
    }
    const r = sl.match(subject);
    this.mGen = sl.genid;
    this.mAcc = acc;
    this.mSubj = subject;
    this.mRes = r;
    this.mKey = '';
    const k = sl.lastMatchKeyTokens;
    if (k > 0) {
      // the first k tokens and the dot after them
      let p = -1;
      for (let t = 0; t < k && p < subject.length; t++) {
        p = subject.indexOf('.', p + 1);
        if (p < 0) p = subject.length;
      }
      if (p < subject.length) {
        this.mKey = subject.slice(0, p + 1);
        this.mTail = tailTokens(subject, p + 1);
      }
    }
    return r;
  }

  /**
   * setPubArgs into a buffer reused from one publish to the next: every
   * PubAck, consumer delivery and API reply is an internal publish, and a
   * fresh argument Buffer each was ~5% of the server's CPU under JetStream
   * load (Buffer.from of a template string, then its garbage). Nothing
   * keeps paBuf past the publish (deliveries copy what they keep, see
   * writeMsg). A publish nested in another one's delivery gets a buffer of
   * its own, so the outer one's arguments stay intact.
   */
  private setArgs(nested: boolean, subject: string, reply: string, hdb: string, szb: string): void {
    if (nested) return setPubArgs(this, subject, reply, hdb, szb);
    const b = this.argBuffer(subject.length + reply.length + hdb.length + szb.length + 3);
    let p = putLatin1(b, 0, subject);
    b[p++] = 0x20;
    p = putLatin1(b, p, reply);
    this.finishArgs(b, p, subject.length, reply.length, hdb, szb);
  }

  /** setArgs (not nested) with the reply as bytes: replyBuf[0, replyLen) */
  private setArgsReplyBytes(subject: string, replyBuf: Buffer, replyLen: number, hdb: string, szb: string): void {
    const b = this.argBuffer(subject.length + replyLen + hdb.length + szb.length + 3);
    let p = putLatin1(b, 0, subject);
    b[p++] = 0x20;
    for (let i = 0; i < replyLen; i++) b[p + i] = replyBuf[i]!;
    this.finishArgs(b, p + replyLen, subject.length, replyLen, hdb, szb);
  }

  /** The reused argument buffer, grown to hold `need` bytes. */
  private argBuffer(need: number): Buffer {
    const b = this.argBuf;
    return b.length >= need ? b : (this.argBuf = Buffer.allocUnsafe(Math.max(need, 2 * b.length)));
  }

  /** After "<subject> <reply>" in b (p its end): " <hdb> <szb>" and the pa* offsets. */
  private finishArgs(b: Buffer, p: number, sl: number, rl: number, hdb: string, szb: string): void {
    b[p++] = 0x20;
    this.paHdbStart = p;
    p = putLatin1(b, p, hdb);
    this.paHdbEnd = p;
    b[p++] = 0x20;
    this.paSzbStart = p;
    this.paSzbEnd = putLatin1(b, p, szb);
    this.paBuf = b;
    this.paSubjStart = 0;
    this.paSubjEnd = sl;
    this.paReplyStart = rl > 0 ? sl + 1 : 0;
    this.paReplyEnd = rl > 0 ? sl + 1 + rl : 0;
  }

  /** Every delivery path ends here: hand the message to the subscription's callback. */
  override writeMsg(src: PubArgSource, sub: Subscription, buf: Buffer, start: number): void {
    const cb = sub.icb;
    if (cb === null || this.closed) return;
    const raw = sub.icbRaw;
    if (raw !== null && this.publishing === 0) {
      this.outMsgs++;
      this.outBytes += src.paSize;
      this.source = src;
      try {
        raw(sub, src, buf, start);
      } catch (e) {
        this.server.logger.error(`${this.label} - internal subscription error on ${sub.subject}: ${(e as Error).stack ?? e}`);
      } finally {
        this.source = null;
      }
      return;
    }
    const pb = src.paBuf;
    const subject = pb.toString('latin1', src.paSubjStart, src.paSubjEnd);
    const reply = src.paReplyEnd > src.paReplyStart ? pb.toString('latin1', src.paReplyStart, src.paReplyEnd) : '';
    const hl = src.paHdr > 0 ? src.paHdr : 0;
    const hdr = hl > 0 ? buf.subarray(start, start + hl) : null;
    const msg = buf.subarray(start + hl, start + src.paSize);
    this.outMsgs++;
    this.outBytes += src.paSize;
    if (this.publishing > 0) {
      // Our own publish is being delivered (its arguments live in our pa*
      // fields): a callback that publishes would overwrite them mid-loop.
      // Keep a copy and run it once the publish is done.
      this.deferred.push({ sub, subject, reply, hdr: hdr === null ? null : Buffer.from(hdr), msg: Buffer.from(msg) });
      return;
    }
    this.source = src;
    try {
      cb(sub, subject, reply, hdr, msg);
    } catch (e) {
      this.server.logger.error(`${this.label} - internal subscription error on ${subject}: ${(e as Error).stack ?? e}`);
    } finally {
      this.source = null;
    }
  }

  private drainDeferred(): void {
    const q = this.deferred;
    while (q.length > 0 && this.publishing === 0) {
      const d = q.shift()!;
      if (d.sub.closed || this.closed) continue;
      try {
        d.sub.icb!(d.sub, d.subject, d.reply, d.hdr, d.msg);
      } catch (e) {
        this.server.logger.error(`${this.label} - internal subscription error on ${d.subject}: ${(e as Error).stack ?? e}`);
      }
    }
  }

  // An internal client has no socket: nothing is staged, nothing is flushed.
  override enqueue(_b: Buffer): void {}
  override flush(): void {}

  /** Remove every subscription (the subsystem is stopping). */
  closeInternal(): void {
    if (this.closed) return;
    const subs = [...this.subs.values()];
    for (const s of subs) this.unsubscribe(s);
    if (this.localSubs.length > 0) {
      for (const s of this.localSubs) s.closed = true;
      this.account.sublist.removeBatch(this.localSubs);
      this.localSubs.length = 0;
    }
    this.closed = true;
  }
}

/** The size field (the header size first in an HMSG) takes the space an empty reply leaves: "<sid>  <size>". */
function shiftSpace(c: InternalClient, hl: number): void {
  if (hl > 0) c.paHdbStart--;
  else c.paSzbStart--;
}

/** `s` as latin1 bytes into b at p (room checked by the caller); returns the end. */
function putLatin1(b: Buffer, p: number, s: string): number {
  const n = s.length;
  // subjects, ack replies and sizes byte by byte: cheaper than a native write call
  if (n > 256) return p + b.write(s, p, 'latin1');
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  return p + n;
}

function srv_flush(c: InternalClient): void {
  c.server.flushSoon();
}

export { Subscription };
