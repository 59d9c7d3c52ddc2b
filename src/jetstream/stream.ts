// One stream: its subscriptions on the account's subjects, the publish
// checks of server/stream.go processJetStreamMsg (expected-* headers,
// de-duplication, roll-ups, sizes, limits), its store, and the group commit
// of PubAcks: a message is stored at once, its PubAck is queued, and the
// queued acks go out when the store says the batch is written (flush), so a
// client told "yes" never loses its message to a crash.

import type { Subscription } from '../client/subscription.js';
import type { JsAccount } from './account.js';
import { apiError, type ApiError } from './errors.js';
import { getHeader, removeHeader, setHeader, H } from './headers.js';
import { nowNs, storeError, StoreError, type StoredMsg, type StreamStore } from './store/types.js';
import { storeConfigOf, streamConfigJSON, type StreamConfig } from './stream-config.js';
import { nsToTime, toGoJSON } from './json.js';
import { subjectIsSubsetMatch, matchLiteral } from '../subjects/validate.js';
import { SubjectTransform } from '../accounts/transform.js';

/** What a stream needs of each of its consumers (jetstream/consumer.ts). */
export interface StreamConsumer {
  readonly name: string;
  /** '' = every subject */
  readonly filterSubject: string;
  /** new messages were committed: deliver what is due */
  signal(): void;
  /** messages below `firstSeq` (on the consumer's subjects) were purged */
  purged(firstSeq: number): void;
  /** interest/workqueue retention: whether this consumer still needs `seq` */
  needsAck(seq: number, subject: string): boolean;
  /** the stream is going away (deleteStore: also remove the consumer's state) */
  stop(deleteStore: boolean): Promise<void>;
  /** ConsumerInfo JSON */
  info(): Record<string, unknown>;
  isDurable(): boolean;
  /** write the state to the store now (a hand-over to another server reads it there) */
  saveState?(): void;
}

/** Something that follows the stream's new messages (a mirror or source copying from it). */
export interface StreamTap {
  signal(): void;
}

/** A mirror's or source's copy loop, as the stream holds it (jetstream/sources.ts). */
export interface SourceLink {
  readonly mirror: boolean;
  start(): void;
  stop(): void;
  info(): Record<string, unknown>;
}

/**
 * A replicated stream's Raft group (jetstream/cluster/stream-group.ts): the
 * leader's publishes, purges and deletes go through it, and every peer runs
 * them when they are committed (with `applying` set).
 */
export interface StreamReplicator {
  /** a committed entry is being applied */
  readonly applying: boolean;
  /** while applying: the leader's timestamp of the message (ns) and its interest verdict */
  readonly applyTs: number;
  readonly applyInterest: boolean;
  inbound(subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void;
  /** a mirror's copy of its origin's message `seq`, or (msg null) the origin's gap up to `seq` */
  mirrored(subject: string, hdr: Buffer | null, msg: Buffer | null, seq: number, ts: number): void;
  purge(subject: string, seq: number, keep: number): number;
  deleteMsg(seq: number, erase: boolean): boolean;
}

interface DedupeEntry {
  id: string;
  seq: number;
  ts: number;
}

const ACK_SEQ_PLACEHOLDER = -1;

/**
 * The PubAcks (and error answers) one commit sends once the store has
 * written their messages. Reused from commit to commit, its arrays are
 * written by index up to `n` and never shortened: an array whose length is
 * set to 0 gives up its backing store, and the next push allocates one
 * again (a garbage array per commit, i.e. per message for a publisher that
 * waits for each ack).
 */
class AckBatch {
  n = 0;
  readonly replies: string[] = [];
  /** a sequence (a plain ack) or a prebuilt answer */
  readonly bodies: Array<number | Buffer> = [];
  /** the store's write failure count when each message was stored */
  readonly failures: number[] = [];
  /** each stored message's Nats-Msg-Id ('' for none): forgotten when its write fails */
  readonly ids: string[] = [];
  /** republished messages (cfg.republish), sent with the acks as the reference's outq does */
  repub: Array<{ subject: string; hdr: Buffer; msg: Buffer }> = [];
  /** messages were stored: consumers hear of them once they are written */
  signal = false;

  add(reply: string, body: number | Buffer, failures: number, id: string): void {
    const i = this.n++;
    this.replies[i] = reply;
    this.bodies[i] = body;
    this.failures[i] = failures;
    this.ids[i] = id;
  }

  clear(): void {
    // prebuilt answers are not kept alive by the next batch
    for (let i = 0; i < this.n; i++) if (typeof this.bodies[i] !== 'number') this.bodies[i] = 0;
    this.n = 0;
    if (this.repub.length > 0) this.repub = [];
    this.signal = false;
  }
}

export class Stream {
  cfg: StreamConfig;
  readonly created: number;
  readonly consumers = new Map<string, StreamConsumer>();
  /** mirrors and sources copying from this stream */
  readonly taps = new Set<StreamTap>();
  /** this stream's own mirror or sources */
  sourceTaps: SourceLink[] = [];
  private subs: Subscription[] = [];
  /** "{"stream":"NAME", "seq":" — the reference builds its PubAck by hand (server/stream.go setCreatedTime/pubAck) */
  private pubAckPrefix = '';
  /** the last PubAck body, rewritten in place while the sequence keeps its digit count (see pubAckBody) */
  private pubAckBuf: Buffer = EMPTY;
  /** what waits for the next commit */
  private acks = new AckBatch();
  /** the commit's batch while the store flushes */
  private inFlight: AckBatch | null = null;
  /** a sent batch, emptied, for the next commit */
  private spareAcks: AckBatch | null = null;
  /** a commit is queued for this turn: what is stored before it runs goes with it */
  private commitQueued = false;
  /** a commit's store flush is in flight */
  private committing = false;
  /** something was stored during that flush: another commit follows it */
  private commitAgain = false;
  private readonly ddmap = new Map<string, DedupeEntry>();
  private ddarr: DedupeEntry[] = [];
  private ddindex = 0;
  private ddtimer: NodeJS.Timeout | null = null;
  /** Nats-Msg-Id of the last message stored */
  private lmsgId = '';
  /** the dedupe state of a recovered stream is still to be read from its store (see rebuildDedupe) */
  private ddPending = false;
  private republishTr: SubjectTransform | null = null;
  closed = false;
  /** set when the stream has replicas: its Raft group */
  replicator: StreamReplicator | null = null;

  constructor(
    readonly jsa: JsAccount,
    cfg: StreamConfig,
    readonly store: StreamStore,
    created: number,
  ) {
    this.cfg = cfg;
    this.created = created;
    this.setPubAck();
    this.setRepublish();
  }

  get name(): string {
    return this.cfg.name;
  }

  private setPubAck(): void {
    const domain = this.jsa.js.domain;
    this.pubAckBuf = EMPTY;
    this.pubAckPrefix =
      domain !== ''
        ? `{${JSON.stringify('stream')}:${JSON.stringify(this.cfg.name)}, "domain":${JSON.stringify(domain)}, "seq":`
        : `{"stream":${JSON.stringify(this.cfg.name)}, "seq":`;
  }

  private setRepublish(): void {
    const rp = this.cfg.republish;
    this.republishTr = null;
    if (rp === null) return;
    try {
      this.republishTr = SubjectTransform.create(rp.src === '' ? '>' : rp.src, rp.dest);
    } catch {
      this.republishTr = null;
    }
  }

  /** Subscribe to the stream's subjects (not for mirrors, which take no publishes) and to direct gets. */
  subscribe(): void {
    this.unsubscribe();
    const ic = this.jsa.client;
    // a mirror takes no publishes, but answers direct gets like any stream
    if (this.cfg.mirror === null) for (const subj of this.cfg.subjects) {
      const sub = ic.subscribeInternal(subj, null, this.onMsg);
      if (sub !== null) this.subs.push(sub);
    }
    if (this.cfg.allowDirect) {
      const pre = `$JS.API.DIRECT.GET.${this.cfg.name}`;
      for (const subj of [pre, `${pre}.>`]) {
        // in the reference's queue group, shared with mirrors that answer for this stream (server/stream.go dgetGroup)
        const sub = ic.subscribeInternal(subj, '_sys_', this.onDirectGet);
        if (sub !== null) this.subs.push(sub);
      }
    }
  }

  private readonly onDirectGet = (_sub: Subscription, subject: string, reply: string, _hdr: Buffer | null, body: Buffer): void => {
    this.jsa.js.api.directGet(this, subject, reply, body);
  };

  unsubscribe(): void {
    const ic = this.jsa.client;
    for (const s of this.subs) ic.unsubscribe(s);
    this.subs = [];
  }

  /**
   * Dedupe state after a restart: ids of messages still inside the window
   * (server/stream.go rebuildDedupe). Deferred, as in the reference
   * (ddloaded), to the first message with headers: reading back every
   * message of the last two minutes of every stream was half of a restart's
   * time, for streams most of which never see a Nats-Msg-Id.
   */
  rebuildDedupe(): void {
    this.ddPending = true;
  }

  private loadDedupe(): void {
    this.ddPending = false;
    const win = this.cfg.duplicateWindow;
    if (win <= 0) return;
    const st = this.store.state();
    if (st.msgs === 0) return;
    let seq = this.store.getSeqFromTime(nowNs() - win);
    for (;;) {
      const m = this.store.loadNextMsg('', seq);
      if (m === null) break;
      const id = getHeader(m.hdr, H.MsgId);
      if (id !== null && id !== '') this.storeMsgId({ id, seq: m.seq, ts: m.ts });
      if (m.seq === st.lastSeq) this.lmsgId = id ?? '';
      seq = m.seq + 1;
    }
  }

  // --- publish ---------------------------------------------------------

  private readonly onMsg = (_sub: Subscription, subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void => {
    if (this.replicator !== null) this.replicator.inbound(subject, reply, hdr, msg);
    else this.processMsg(subject, reply, hdr, msg);
  };

  /** A source's copy (sources.ts): a replicated stream takes it through its group, as a publish. */
  sourced(subject: string, hdr: Buffer | null, msg: Buffer): void {
    if (this.replicator !== null && !this.replicator.applying) this.replicator.inbound(subject, '', hdr, msg);
    else this.processMsg(subject, '', hdr, msg);
  }

  /** server/stream.go processJetStreamMsg for a message published to the stream's subjects. */
  processMsg(subject: string, reply: string, hdrIn: Buffer | null, msg: Buffer): void {
    if (this.closed) return;
    const cfg = this.cfg;
    const canRespond = !cfg.noAck && reply !== '';
    let hdr = hdrIn;
    if (cfg.sealed) {
      // answered even with no_ack (server/stream.go processInboundJetStreamMsg)
      if (reply !== '') this.queueError(reply, apiError('JSStreamSealedErr'));
      return;
    }
    let msgId = '';
    let rollup = '';
    if (hdr !== null && hdr.length > 0) {
      // before any id is looked up or stored: ids keep their time order
      if (this.ddPending) this.loadDedupe();
      hdr = removeHeader(hdr, H.ClientInfo);
      const es = getHeader(hdr, H.ExpectedStream);
      if (es !== null && es !== '' && es !== cfg.name) {
        if (canRespond) this.queueError(reply, apiError('JSStreamNotMatchErr'));
        return;
      }
      msgId = getHeader(hdr, H.MsgId) ?? '';
      if (msgId !== '') {
        const dde = this.ddmap.get(msgId);
        if (dde !== undefined) {
          if (canRespond) this.queueAck(reply, Buffer.from(`${this.pubAckPrefix}${dde.seq},"duplicate": true}`));
          return;
        }
      }
      const elss = getHeader(hdr, H.ExpectedLastSubjSeq);
      if (elss !== null) {
        const want = parseSeq(elss);
        // the sequence only: reading the message (server/stream.go does) sent a
        // KV update to the file for its key's last revision
        const fseq = this.store.lastSeqOf(subject);
        if (want < 0 || fseq !== want) {
          if (canRespond) this.queueError(reply, apiError('JSStreamWrongLastSequenceErrF', { seq: fseq }));
          return;
        }
      }
      const els = getHeader(hdr, H.ExpectedLastSeq);
      if (els !== null) {
        const lseq = this.store.state().lastSeq;
        if (parseSeq(els) !== lseq) {
          if (canRespond) this.queueError(reply, apiError('JSStreamWrongLastSequenceErrF', { seq: lseq }));
          return;
        }
      }
      const elm = getHeader(hdr, H.ExpectedLastMsgId);
      if (elm !== null && elm !== '' && elm !== this.lmsgId) {
        if (canRespond) this.queueError(reply, apiError('JSStreamWrongLastMsgIDErrF', { id: this.lmsgId }));
        return;
      }
      const ru = getHeader(hdr, H.Rollup);
      if (ru !== null && ru !== '') {
        if (!cfg.allowRollup || cfg.denyPurge) {
          if (canRespond) this.queueError(reply, apiError('JSStreamRollupFailedF', { err: 'rollup not permitted' }));
          return;
        }
        if (ru !== 'sub' && ru !== 'all') return; // server/stream.go: an invalid value is dropped without an answer
        rollup = ru;
      }
    }
    const hl = hdr === null ? 0 : hdr.length;
    if (cfg.maxMsgSize >= 0 && hl + msg.length > cfg.maxMsgSize) {
      if (canRespond) this.queueError(reply, apiError('JSStreamMessageExceedsMaximumErr'));
      return;
    }
    if (hl > 65535) {
      if (canRespond) this.queueError(reply, apiError('JSStreamHeaderExceedsMaximumErr'));
      return;
    }
    const limitErr = this.jsa.checkStorageLimits(this, hl + msg.length + subject.length);
    if (limitErr !== null) {
      if (canRespond) this.queueError(reply, limitErr);
      return;
    }
    if (cfg.retention === 'interest' && !this.hasInterest(subject)) {
      // No consumer wants it: the sequence is taken and the publisher told so (server/stream.go noInterest).
      const seq = this.store.skipMsg();
      this.lmsgId = msgId;
      if (msgId !== '') this.storeMsgId({ id: msgId, seq, ts: nowNs() });
      if (canRespond) this.queueAck(reply, seq);
      return;
    }
    let tlseq = 0;
    const tsubj = this.republishTr !== null ? this.republishTr.match(subject) : null;
    if (tsubj !== null) {
      tlseq = this.store.lastSeqOf(subject);
    }
    let seq: number;
    let ts: number;
    try {
      [seq, ts] = this.store.storeMsg(subject, hdr, msg, this.replicator !== null ? this.replicator.applyTs : 0);
    } catch (e) {
      if (e instanceof StoreError) {
        if (e.code === 'closed') return;
        const log = this.jsa.js.server.logger;
        const text = `JetStream failed to store a msg on stream '${this.jsa.name} > ${cfg.name}': ${e.message}`;
        if (e.code === 'max-msgs' || e.code === 'max-bytes' || e.code === 'max-msgs-per-subject' || e.code === 'too-large') log.debug(text);
        else log.error(text);
        if (canRespond) this.queueError(reply, storeFailed(e));
        return;
      }
      throw e;
    }
    this.lmsgId = msgId;
    if (msgId !== '') this.storeMsgId({ id: msgId, seq, ts });
    if (rollup === 'sub') this.purge(subject, 0, 1);
    else if (rollup === 'all') this.purge('', 0, 1);
    if (tsubj !== null) this.republish(tsubj, subject, seq, tlseq, hdr, msg);
    if (canRespond) this.queueAck(reply, seq, msgId);
    this.acks.signal = true;
    this.scheduleCommit();
  }

  /**
   * A mirror's copy of origin message `seq`: stored at the same sequence,
   * the origin's gaps kept as deleted slots (server/stream.go
   * processInboundMirrorMsg / skipMsgs).
   */
  storeMirrored(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: number): void {
    if (this.closed) return;
    if (this.replicator !== null && !this.replicator.applying) return this.replicator.mirrored(subject, hdr, data, seq, ts);
    const st = this.store.state();
    if (seq <= st.lastSeq) return;
    if (st.msgs === 0 && seq > st.lastSeq + 1) this.store.compact(seq);
    else while (this.store.state().lastSeq < seq - 1) this.store.skipMsg();
    try {
      this.store.storeRawMsg(subject, hdr, data, seq, ts);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      this.jsa.js.server.logger.warn(`JetStream failed to store a mirrored msg on stream '${this.jsa.name} > ${this.cfg.name}': ${e.message}`);
      return;
    }
    this.acks.signal = true;
    this.scheduleCommit();
  }

  /** A mirror's origin no longer has the messages up to `seq`: their slots stay deleted (server/stream.go skipMsgs). */
  skipMirrored(seq: number): void {
    if (this.closed) return;
    if (this.replicator !== null && !this.replicator.applying) return this.replicator.mirrored('', null, null, seq, 0);
    const st = this.store.state();
    if (seq <= st.lastSeq) return;
    if (st.msgs === 0) this.store.compact(seq + 1);
    else while (this.store.state().lastSeq < seq) this.store.skipMsg();
    this.scheduleCommit();
  }

  private hasInterest(subject: string): boolean {
    if (this.replicator !== null && this.replicator.applying) return this.replicator.applyInterest;
    for (const o of this.consumers.values()) {
      if (o.filterSubject === '' || subjectIsSubsetMatch(subject, o.filterSubject)) return true;
    }
    return false;
  }

  private republish(tsubj: string, subject: string, seq: number, tlseq: number, hdr: Buffer | null, msg: Buffer): void {
    const rp = this.cfg.republish!;
    let h: Buffer;
    if (hdr === null || hdr.length === 0) {
      let t = `NATS/1.0\r\nNats-Stream: ${this.cfg.name}\r\nNats-Subject: ${subject}\r\nNats-Sequence: ${seq}\r\nNats-Last-Sequence: ${tlseq}\r\n`;
      if (rp.headersOnly) t += `Nats-Msg-Size: ${msg.length}\r\n`;
      h = Buffer.from(t + '\r\n');
    } else {
      h = setHeader(hdr, H.Stream, this.cfg.name);
      h = setHeader(h, H.Subject, subject);
      h = setHeader(h, H.Sequence, String(seq));
      h = setHeader(h, H.LastSequence, String(tlseq));
      if (rp.headersOnly) h = setHeader(h, H.MsgSize, String(msg.length));
    }
    // After the store's flush, with the acks, as the reference's outq sends them.
    const body = rp.headersOnly ? EMPTY : Buffer.from(msg);
    this.acks.repub.push({ subject: tsubj, hdr: h, msg: body });
    this.scheduleCommit();
  }

  private queueAck(reply: string, body: number | Buffer, msgId = ''): void {
    this.acks.add(reply, body, this.store.writeFailures ?? 0, msgId);
    this.scheduleCommit();
  }

  private queueError(reply: string, err: ApiError): void {
    this.queueAck(reply, Buffer.from(toGoJSON({ error: err.toJSON(), stream: this.cfg.name, seq: 0 })));
  }

  private scheduleCommit(): void {
    // A store and its ack both ask for a commit: when the first request
    // counted as in flight, every message was followed by a second, empty
    // commit in the next turn (BENCHMARKS.md, "Session 12").
    if (this.commitQueued) return;
    if (this.committing) {
      this.commitAgain = true;
      return;
    }
    this.commitQueued = true;
    this.jsa.js.scheduleCommit(this);
  }

  /**
   * Group commit, once per event-loop turn: the store writes everything
   * stored so far, then the acks queued for it go out and consumers hear of
   * the new messages. The batch objects are reused from commit to commit,
   * and a store that has already written the turn's batch (its own flush
   * ran first in the turn) is not asked to call back: for a publisher that
   * waits for each ack, fresh arrays, a closure and a deferred callback per
   * commit were garbage per message (BENCHMARKS.md, "Session 12").
   */
  commit(): void {
    this.commitQueued = false;
    this.committing = true;
    const b = this.acks;
    this.acks = this.spareAcks ?? new AckBatch();
    this.spareAcks = null;
    this.inFlight = b;
    if (this.store.flushed()) this.committed(null);
    else this.store.flush(this.onFlushed);
  }

  private readonly onFlushed = (err: Error | null): void => this.committed(err);

  private committed(err: Error | null): void {
    const b = this.inFlight!;
    this.inFlight = null;
    const { n, replies, bodies } = b;
    if (err !== null) {
      // Not durable: no ack may say it is. The store keeps what it had before the batch.
      this.jsa.js.server.logger.error(`JetStream failed to store a msg on stream '${this.jsa.name} > ${this.cfg.name}': ${err.message}`);
      const fail = Buffer.from(toGoJSON({ error: storeFailed(err).toJSON(), stream: this.cfg.name, seq: 0 }));
      for (let i = 0; i < n; i++) {
        if (typeof bodies[i] === 'number') this.forgetMsgId(b.ids[i], bodies[i] as number);
        this.jsa.client.publish(replies[i], '', null, typeof bodies[i] === 'number' ? fail : (bodies[i] as Buffer));
      }
      this.releaseAcks(b);
    } else {
      for (const r of b.repub) this.jsa.client.publish(r.subject, '', r.hdr, r.msg);
      const now = this.store.writeFailures ?? 0;
      if (b.signal) {
        for (const o of this.consumers.values()) o.signal();
        for (const t of this.taps) t.signal();
      }
      if (b.signal && this.consumers.size > 0 && n > 0) {
        // The consumers' delivery pass (queued by signal) goes first: a
        // publisher that reads what its ack promised through a consumer
        // (a mirror on a leaf, a watcher) finds it there, as the
        // reference's concurrent consumer goroutines let it.
        setImmediate(() => {
          this.sendAcks(b, now);
          this.releaseAcks(b);
          this.jsa.js.server.flushDirty();
        });
      } else {
        this.sendAcks(b, now);
        this.releaseAcks(b);
      }
    }
    this.committing = false;
    if (this.commitAgain) {
      this.commitAgain = false;
      this.scheduleCommit();
    }
    this.jsa.js.server.flushDirty();
  }

  private releaseAcks(b: AckBatch): void {
    b.clear();
    this.spareAcks = b;
  }

  /**
   * `{"stream":…, "seq":N}`, in one buffer reused from ack to ack (only the
   * digits change; a new buffer when their count does): a fresh Buffer per
   * PubAck was a string build, a native copy and garbage for every message
   * stored. Valid until the next call: publish copies what it delivers.
   */
  private pubAckBody(seq: number): Buffer {
    let digits = 1;
    for (let v = seq; v >= 10; v = Math.floor(v / 10)) digits++;
    // latin1: one byte per character of the prefix
    const plen = this.pubAckPrefix.length;
    const b = this.pubAckBuf;
    if (b.length !== plen + digits + 1) return (this.pubAckBuf = Buffer.from(`${this.pubAckPrefix}${seq}}`, 'latin1'));
    for (let i = plen + digits - 1, v = seq; i >= plen; i--, v = Math.floor(v / 10)) b[i] = 48 + (v % 10);
    return b;
  }

  /**
   * A message whose write failed was never stored: a retry with its
   * Nats-Msg-Id must be stored, not answered as a duplicate of it.
   */
  private forgetMsgId(id: string, seq: number): void {
    if (id === '') return;
    const d = this.ddmap.get(id);
    if (d !== undefined && d.seq === seq) this.ddmap.delete(id);
  }

  private sendAcks(batch: AckBatch, now: number): void {
    const { n, replies, bodies, failures, ids } = batch;
    let lost: Buffer | null = null;
    for (let i = 0; i < n; i++) {
      const b = bodies[i];
      if (typeof b === 'number' && failures[i] !== now) {
        // a write failed after this message was stored (a batch the store
        // started on its own): it may have been dropped, so no ack
        if (lost === null) {
          const err = this.store.lastWriteError ?? storeError('io');
          this.jsa.js.server.logger.error(`JetStream failed to store a msg on stream '${this.jsa.name} > ${this.cfg.name}': ${err.message}`);
          lost = Buffer.from(toGoJSON({ error: storeFailed(err).toJSON(), stream: this.cfg.name, seq: 0 }));
        }
        this.forgetMsgId(ids[i], b);
        this.jsa.client.publish(replies[i], '', null, lost);
        continue;
      }
      this.jsa.client.publish(replies[i], '', null, typeof b === 'number' ? this.pubAckBody(b) : b);
    }
  }

  private storeMsgId(dde: DedupeEntry): void {
    if (this.cfg.duplicateWindow <= 0) return;
    this.ddmap.set(dde.id, dde);
    this.ddarr.push(dde);
    if (this.ddtimer === null) this.armDedupeTimer(this.cfg.duplicateWindow / 1e6);
  }

  private armDedupeTimer(ms: number): void {
    this.ddtimer = setTimeout(() => this.purgeMsgIds(), Math.max(50, ms));
    this.ddtimer.unref();
  }

  /** Drop ids older than the window; rearm for the next to expire (server/stream.go purgeMsgIds). */
  private purgeMsgIds(): void {
    this.ddtimer = null;
    const now = nowNs();
    const win = this.cfg.duplicateWindow;
    let next = win;
    let i = this.ddindex;
    for (; i < this.ddarr.length; i++) {
      const d = this.ddarr[i];
      if (now - d.ts >= win) {
        if (this.ddmap.get(d.id) === d) this.ddmap.delete(d.id);
      } else {
        next = win - (now - d.ts);
        break;
      }
    }
    this.ddindex = i;
    if (this.ddindex > 1024 && this.ddindex * 2 > this.ddarr.length) {
      this.ddarr = this.ddarr.slice(this.ddindex);
      this.ddindex = 0;
    }
    if (this.ddmap.size > 0 && !this.closed) this.armDedupeTimer(next / 1e6);
    else {
      this.ddarr = [];
      this.ddindex = 0;
    }
  }

  // --- management --------------------------------------------------------

  /** purge / purgeEx; tells consumers; returns the count. Throws ApiError on a sealed stream. */
  purge(subject: string, seq: number, keep: number): number {
    if (this.replicator !== null && !this.replicator.applying) return this.replicator.purge(subject, seq, keep);
    const purged = subject === '' && seq === 0 && keep === 0 ? this.store.purge() : this.store.purgeEx(subject, seq, keep);
    const st = this.store.state();
    let fseq = st.firstSeq;
    if (subject !== '') fseq = this.store.filteredState(st.firstSeq, subject).first;
    for (const o of this.consumers.values()) {
      if (subject !== '' && o.filterSubject !== '' && !filteredMatch(o.filterSubject, subject)) continue;
      o.purged(fseq === 0 ? st.lastSeq + 1 : fseq);
    }
    this.scheduleCommit();
    return purged;
  }

  deleteMsg(seq: number, erase: boolean): boolean {
    if (this.replicator !== null && !this.replicator.applying) return this.replicator.deleteMsg(seq, erase);
    const ok = erase ? this.store.eraseMsg(seq) : this.store.removeMsg(seq);
    if (ok) this.scheduleCommit();
    return ok;
  }

  /** Apply an already checked config. */
  update(cfg: StreamConfig): void {
    const subjectsChanged = JSON.stringify(cfg.subjects) !== JSON.stringify(this.cfg.subjects);
    const old = this.cfg;
    const oldWindow = old.duplicateWindow;
    this.cfg = cfg;
    this.store.updateConfig(storeConfigOf(cfg));
    this.setPubAck();
    this.setRepublish();
    if (subjectsChanged || cfg.allowDirect !== old.allowDirect) this.subscribe();
    if (cfg.duplicateWindow !== oldWindow && this.ddtimer !== null) {
      clearTimeout(this.ddtimer);
      this.purgeMsgIds();
    }
    this.scheduleCommit();
  }

  /** Stop serving; with `deleteStore` remove its data too. */
  async stop(deleteStore: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const t of this.sourceTaps) t.stop();
    this.sourceTaps = [];
    if (this.ddtimer !== null) clearTimeout(this.ddtimer);
    for (const o of [...this.consumers.values()]) await o.stop(deleteStore);
    this.consumers.clear();
    if (deleteStore) await this.store.delete();
    else await this.store.stop();
  }

  // --- reading -------------------------------------------------------------

  /** The reference's StreamState JSON, with consumer_count. */
  stateJSON(deletedDetails: boolean, subjectsFilter: string): Record<string, unknown> {
    const st = this.store.state();
    const o: Record<string, unknown> = {
      messages: st.msgs,
      bytes: st.bytes,
      first_seq: st.firstSeq,
      first_ts: nsToTime(st.firstTs),
      last_seq: st.lastSeq,
      last_ts: nsToTime(st.lastTs),
    };
    if (st.numSubjects > 0) o.num_subjects = st.numSubjects;
    if (subjectsFilter !== '') {
      const totals = this.store.subjectsTotals(subjectsFilter);
      if (totals.size > 0) o.subjects = Object.fromEntries(totals);
    }
    if (st.numDeleted > 0) {
      o.num_deleted = st.numDeleted;
      if (deletedDetails) o.deleted = this.store.deletedSeqs();
    }
    // the direct consumers of mirrors/sources on other servers are not counted (server/stream.go: they have no consumer store)
    let n = 0;
    for (const c of this.consumers.values()) if ((c as { cfg?: { direct?: boolean } }).cfg?.direct !== true) n++;
    o.consumer_count = n;
    return o;
  }

  /** StreamInfo JSON (config, created, state, and mirror/source info when present). */
  info(deletedDetails = false, subjectsFilter = ''): Record<string, unknown> {
    const o: Record<string, unknown> = {
      config: streamConfigJSON(this.cfg),
      created: nsToTime(this.created),
      state: this.stateJSON(deletedDetails, subjectsFilter),
    };
    if (this.jsa.js.domain !== '') o.domain = this.jsa.js.domain;
    const extra = this.sourcesInfo;
    if (extra !== null) Object.assign(o, extra());
    return o;
  }

  /** set by jetstream/sources.ts for mirrors and sourced streams */
  sourcesInfo: (() => Record<string, unknown>) | null = null;

  loadMsg(seq: number): StoredMsg | null {
    return this.store.loadMsg(seq);
  }
}

const EMPTY = Buffer.alloc(0);

/** a decimal sequence header value; -1 when it is not one */
function parseSeq(s: string): number {
  if (!/^[0-9]+$/.test(s)) return -1;
  return Number(s);
}

/** server/consumer.go isFilteredMatch for a purge subject against a consumer filter */
function filteredMatch(filter: string, subject: string): boolean {
  return subjectIsSubsetMatch(subject, filter) || subjectIsSubsetMatch(filter, subject) || matchLiteral(subject, filter);
}

/** NewJSStreamStoreFailedError(err): the store's error text in the reference's error. */
function storeFailed(e: Error): ApiError {
  return apiError('JSStreamStoreFailedF', { err: e.message });
}
