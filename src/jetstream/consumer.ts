// One consumer of a stream (server/consumer.go): where it is in the stream,
// what it delivered and awaits acks for, redeliveries, push delivery (with
// idle heartbeats, flow control, replay and rate limits) and pull requests,
// the ack protocol on $JS.ACK.<stream>.<consumer>.…, its advisories, and its
// state written to the stream's store in batches.
//
// Node has one thread: where the reference runs a goroutine per consumer,
// this one runs a delivery pass on the event loop when something changed
// (new messages, an ack that frees room, a pull request, interest), with one
// timer for redeliveries (ack_wait, backoff), one for the earliest pull
// request expiry/heartbeat, one for push idle heartbeats.

import type { Subscription } from '../client/subscription.js';
import type { PubArgSource } from '../client/client.js';
import type { Stream, StreamConsumer } from './stream.js';
import type { JsAccount } from './account.js';
import type { Account } from '../accounts/account.js';
import type { ConsumerState, ConsumerStore, MsgView, StoredMsg } from './store/types.js';
import { nowNs } from './store/types.js';
import { apiError, ApiError } from './errors.js';
import * as J from './json.js';
import {
  checkConsumerConfig,
  checkConsumerUpdate,
  consumerConfigJSON,
  DELETE_WAIT_DEFAULT_NS,
  isValidConsumerName,
  JS_MAX_NAME_LEN,
  sampleFreqOf,
  setConsumerDefaults,
  type ConsumerConfig,
  type ConsumerServerLimits,
  type SourceSubjects,
} from './consumer-config.js';
import { subjectHasWildcard, subjectIsSubsetMatch } from '../subjects/validate.js';
import { WaitQueue, type WaitingRequest } from './wait-queue.js';
import { PendingSet } from './pending.js';
import { accountHasInterest, interestGen, trackDownInterest } from './interest.js';
import { goDurationString, parseGoDuration } from './go-duration.js';
import { randomBytes, randomInt } from 'node:crypto';
import { eventId, randomId } from './ids.js';

const EMPTY = Buffer.alloc(0);
const EMPTY_MSG: MsgView = { subject: '', seq: 0, ts: 0, buf: EMPTY, off: 0, hl: 0, size: 0 };
/** server/consumer.go JsFlowControlMaxPending */
const FLOW_CONTROL_MAX_PENDING = 32 * 1024 * 1024;
/** messages one delivery pass sends before yielding to the event loop */
const PASS_BUDGET = 512;
/**
 * bytes a delivery pass hands to the sockets at a time: the client starts on
 * the first messages while the pass produces the rest (nats-server's write
 * loop overlaps the same way), where one write at the end of a 500-message
 * pass made the server's work and the client's take turns
 */
const PASS_FLUSH_BYTES = 32 * 1024;
/**
 * consumer state reaches the store at most this often (off the hot path):
 * about 10 writes a second under load, as the reference's consumer store
 * does (server/filestore.go consumerFileStore.flushLoop, minTime 100 ms).
 * Each write copies the whole pending set, so 50 ms cost a fetch+ack load
 * twice as much for no gain.
 */
const STATE_WRITE_MS = 100;

const ADV = {
  created: '$JS.EVENT.ADVISORY.CONSUMER.CREATED',
  deleted: '$JS.EVENT.ADVISORY.CONSUMER.DELETED',
  maxDeliver: '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES',
  nak: '$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED',
  term: '$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED',
  ack: '$JS.EVENT.METRIC.CONSUMER.ACK',
} as const;

interface Next {
  /** the store's view (loadNextMsgView), the consumer's own (viewOf: a redelivery) or a held message's copy */
  m: MsgView;
  dc: number;
}

/** A message ready to go: where, with what headers/payload and ack subject. */
interface Prepared {
  next: Next;
  dsubj: string;
  /** what is delivered, headers and payload contiguous: buf[off, off + hl), buf[off + hl, off + size) */
  buf: Buffer;
  off: number;
  hl: number;
  size: number;
  /** the ack subject's length; it is in ackBuf until the next message is prepared */
  ackLen: number;
  /** the ack subject as a string, for a message held across event-loop turns */
  ackReply: string | null;
}

/** What creating a consumer needs to know beyond the config. */
export interface AddConsumerOptions {
  /** recreating from the store at start (filters are not checked against sources) */
  recovering?: boolean;
  /** creation time to keep (recovery), ns */
  created?: number;
  limits: ConsumerServerLimits;
  sources: SourceSubjects;
}

/** A consumer error the API reports as JSConsumerCreateErrF (plain text) or as it is (ApiError). */
export type AddResult = Consumer | ApiError | string;

export class Consumer implements StreamConsumer {
  name = '';
  cfg: ConsumerConfig;
  readonly created: number;
  readonly jsa: JsAccount;
  private store: ConsumerStore | null = null;

  // positions: next stream seq to look at, next delivery seq, ack floors
  sseq = 1;
  dseq = 1;
  adflr = 0;
  asflr = 0;
  /** stream seq → pending delivery (delivery seq, time) */
  pending = new PendingSet();
  /** stream seq → times redelivered */
  rdc = new Map<number, number>();
  private rdq: number[] = [];
  private rdqi = new Set<number>();
  private lss: { resume: number; seqs: number[] } | null = null;
  private waiting: WaitQueue | null = null;
  /** push: someone listens on the deliver subject */
  active = true;
  closed = false;
  /** ns of the last delivery / ack, 0 = none (last_active in info) */
  private ldt = 0;
  private lat = 0;
  private maxdc: number;
  private maxp: number;
  private sfreq: number;
  private dthresh = 0;
  private filterWC: boolean;
  private ackPrefix = '';
  /** ackPrefix as latin1 bytes, followed by the current message's ack subject numbers (writeAckReply) */
  private ackBuf: Buffer = Buffer.alloc(0);
  private ackEventT = '';
  private nakEventT = '';
  private deliveryExcEventT = '';

  // num_pending: matching messages at or after sseq, kept up to date incrementally
  private npc = 0;
  private npcValid = false;
  private npcLast = 0;
  /** the stream's last sequence the consumer was told is committed: nothing past it is delivered */
  private maxSeq = 0;

  // flow control
  private pblimit = 0;
  private maxpb = 0;
  private pbytes = 0;
  private fcsz = 0;
  private fcid = '';

  // replay original and rate limit: a message held back until its time
  private replay = false;
  private replayLseq = 0;
  private lts = 0;
  private held: Prepared | null = null;
  // runBody's per-message objects, reused: a delivery pass allocated two per message
  private readonly nextScratch: Next = { m: EMPTY_MSG, dc: 0 };
  private readonly prepScratch: Prepared = { next: this.nextScratch, dsubj: '', buf: EMPTY, off: 0, hl: 0, size: 0, ackLen: 0, ackReply: null };
  /** a message loadMsg returned (redelivery, last_per_subject) as a view: viewOf */
  private readonly ownView: MsgView = { ...EMPTY_MSG };
  private delayTmr: NodeJS.Timeout | null = null;
  private rlTokens = 0;
  private rlLast = 0;
  private rlRate = 0;
  private rlBurst = 0;

  private subs: Subscription[] = [];
  private runScheduled = false;
  private ptmr: NodeJS.Timeout | null = null;
  private dtmr: NodeJS.Timeout | null = null;
  private hbtmr: NodeJS.Timeout | null = null;
  private lastDeliverAt = 0;
  private wtmr: NodeJS.Timeout | null = null;
  private wtmrAt = 0;
  private stateTmr: NodeJS.Timeout | null = null;
  private lastGenid = -1;

  private constructor(
    readonly stream: Stream,
    cfg: ConsumerConfig,
    created: number,
  ) {
    this.cfg = cfg;
    this.jsa = stream.jsa;
    this.created = created;
    this.maxdc = cfg.maxDeliver > 0 ? cfg.maxDeliver : 0;
    this.maxp = cfg.maxAckPending;
    this.sfreq = cfg.sampleFreq !== '' ? sampleFreqOf(cfg.sampleFreq) : 0;
    this.filterWC = cfg.filterSubject !== '' && subjectHasWildcard(cfg.filterSubject);
  }

  // --- creation ------------------------------------------------------------

  /**
   * server/consumer.go addConsumerWithAssignment (not clustered): checks,
   * defaults, an existing consumer of that name updated, or a new one
   * started. `oname` is the name a recovery gives.
   */
  static add(stream: Stream, config: ConsumerConfig, opts: AddConsumerOptions, oname = ''): AddResult {
    const jsa = stream.jsa;
    const accMaxAckPending = jsa.limits.maxAckPending;
    setConsumerDefaults(config, opts.limits, accMaxAckPending);
    const cerr = checkConsumerConfig(config, opts.limits, stream.cfg, accMaxAckPending, opts.recovering === true, opts.sources);
    if (cerr !== null) return cerr;
    if (stream.closed) return apiError('JSStreamInvalidErr');
    const cName = config.durable !== '' ? config.durable : config.name;
    if (cName !== '') {
      const eo = stream.consumers.get(cName);
      if (eo !== undefined) {
        const err = (eo as Consumer).updateConfig(config);
        return err === null ? (eo as Consumer) : err;
      }
    }
    let maxc = stream.cfg.maxConsumers;
    const accMax = jsa.limits.maxConsumers;
    if (maxc <= 0 || (accMax > 0 && accMax < maxc)) maxc = accMax;
    if (maxc > 0 && publicConsumers(stream) >= maxc) return apiError('JSMaximumConsumersLimitErr');
    if (stream.cfg.retention === 'workqueue' && !config.direct) {
      if (config.ackPolicy !== 'explicit') return apiError('JSConsumerWQRequiresExplicitAckErr');
      if (stream.consumers.size > 0) {
        if (config.filterSubject === '') return apiError('JSConsumerWQMultipleUnfilteredErr');
        if (!partitionUnique(stream, config.filterSubject)) {
          if (opts.recovering) {
            jsa.js.server.logger.warn(
              `Consumer ${JSON.stringify(stream.name)} > ${JSON.stringify(cName)} has a filter subject that overlaps with other consumers, which is not allowed for a stream with WorkQueue policy, it should be administratively deleted`,
            );
          } else return apiError('JSConsumerWQConsumerNotUniqueErr');
        }
      }
      if (config.deliverPolicy !== 'all') return apiError('JSConsumerWQConsumerNotDeliverAllErr');
    }
    const o = new Consumer(stream, config, opts.created ?? nowNs());
    if (config.durable !== '') {
      if (config.durable.length > JS_MAX_NAME_LEN) return apiError('JSConsumerNameTooLongErrF', { max: JS_MAX_NAME_LEN });
      o.name = config.durable;
    } else if (oname !== '') o.name = oname;
    else if (config.name !== '') o.name = config.name;
    else {
      do o.name = createConsumerName();
      while (stream.consumers.has(o.name));
      // the reference names the request's config, not the copy it keeps: info shows no name
    }
    if (!isValidConsumerName(o.name)) return apiError('JSConsumerBadDurableNameErr');
    o.setNames();
    // Every consumer but the direct ones (sources, mirrors) keeps its state in
    // the stream's store, ephemerals too: the reference restores those after
    // a restart, and deletes them once inactive_threshold passes without
    // interest (server/consumer.go addConsumerWithAssignment's ConsumerStore,
    // server/jetstream.go recovery, switchToEphemeral). mem_storage consumers
    // of file streams live in memory only.
    const persist = !config.direct && !(config.memStorage && stream.cfg.storage === 'file');
    const removing = storesBeingRemoved.get(stream)?.get(o.name);
    if (persist && removing !== undefined) {
      // The store of a consumer of this name is still being removed: this
      // one starts afresh and gets its own store once that is done.
      void removing.then(() => o.attachStore());
    } else if (persist) {
      try {
        o.store = stream.store.consumerStore(o.name);
        o.store.setConfig(o.metaJSON());
      } catch (e) {
        jsa.js.server.logger.warn(`Consumer create failed for '${jsa.name} > ${stream.name} > ${config.durable}': ${(e as Error).message}`);
        return apiError('JSConsumerStoreFailedErrF', { err: (e as Error).message });
      }
    }
    const saved = o.store !== null ? o.store.state() : null;
    if (saved !== null) o.applyState(saved);
    else o.selectStartingSeqNo();
    o.updateInactiveThreshold(o.cfg);
    if (config.rateLimit !== 0) o.setRateLimit(config.rateLimit);
    stream.consumers.set(o.name, o);
    o.start();
    o.advisory(`${ADV.created}.${stream.name}.${o.name}`, o.actionAdvisory('create'));
    return o;
  }

  // Names derived from the consumer's name (the ack subject template and event subjects).
  private setNames(): void {
    const s = this.stream.name;
    this.ackPrefix = `$JS.ACK.${s}.${this.name}.`;
    // room for the prefix and five numbers of up to 22 characters with their dots
    this.ackBuf = Buffer.alloc(this.ackPrefix.length + 128);
    this.ackBuf.write(this.ackPrefix, 0, 'latin1');
    this.ackEventT = `${ADV.ack}.${s}.${this.name}`;
    this.nakEventT = `${ADV.nak}.${s}.${this.name}`;
    this.deliveryExcEventT = `${ADV.maxDeliver}.${s}.${this.name}`;
  }

  /** What the store keeps as the consumer's config (server/filestore.go FileConsumerInfo). */
  private metaJSON(): string {
    return J.toGoJSON({ ...consumerConfigJSON(this.cfg), created: J.nsToTime(this.created), name: this.name });
  }

  /** The reference's setLeader(true): subscriptions, interest, timers. */
  private start(): void {
    const ic = this.jsa.client;
    const s = this.stream.name;
    const add = (subj: string, cb: (sub: Subscription, subject: string, reply: string, hdr: Buffer | null, msg: Buffer) => void): Subscription | null => {
      const sub = ic.subscribeInternal(subj, null, cb);
      if (sub !== null) this.subs.push(sub);
      return sub;
    };
    const ackSub = add(`${this.ackPrefix}*.*.*.*.*`, this.onAck);
    if (ackSub !== null) ackSub.icbRaw = this.onAckRaw;
    add(`$JS.API.CONSUMER.MSG.NEXT.${s}.${this.name}`, this.onNextReq);
    if (this.cfg.flowControl) {
      this.setMaxPendingBytes(FLOW_CONTROL_MAX_PENDING);
      add(`$JS.FC.${s}.${this.name}.*`, this.onFlowControl);
    }
    this.maxSeq = this.stream.store.state().lastSeq;
    if (this.isPull()) {
      this.waiting = new WaitQueue(Math.max(0, this.cfg.maxWaiting));
      this.waiting.last = Date.now();
    } else {
      this.setActive(this.deliverHasInterest());
      this.lastGenid = interestGen(this.jsa.account);
      interestWatch.add(this);
      this.armHeartbeat();
    }
    if (this.dthresh > 0 && (this.isPull() || !this.active)) this.armDeleteTimer(this.dthresh);
    if (this.cfg.replayPolicy !== 'instant') {
      this.replay = true;
      this.replayLseq = this.stream.store.state().lastSeq;
    }
    this.kick();
  }

  isPull(): boolean {
    return this.cfg.deliverSubject === '';
  }

  isDurable(): boolean {
    return this.cfg.durable !== '';
  }

  get filterSubject(): string {
    return this.cfg.filterSubject;
  }

  /** server/consumer.go selectStartingSeqNo, without reading what it skips. */
  private selectStartingSeqNo(): void {
    const store = this.stream.store;
    const st = store.state();
    const c = this.cfg;
    if (c.optStartSeq === 0) {
      if (c.deliverPolicy === 'all') this.sseq = st.firstSeq;
      else if (c.deliverPolicy === 'last') {
        this.sseq = st.lastSeq;
        if (c.filterSubject !== '') this.sseq = store.filteredState(1, c.filterSubject).last;
      } else if (c.deliverPolicy === 'last_per_subject') {
        const mss = store.subjectsState(c.filterSubject);
        if (mss.size > 0) {
          const seqs = [...mss.values()].map((ss) => ss.last).sort((a, b) => a - b);
          this.lss = { resume: st.lastSeq, seqs };
          this.sseq = seqs[0];
        } else this.sseq = st.lastSeq;
      } else if (c.optStartTime !== null) this.sseq = store.getSeqFromTime(c.optStartTime);
      else this.sseq = st.lastSeq + 1;
    } else this.sseq = c.optStartSeq;
    if (st.firstSeq === 0) this.sseq = 1;
    else if (this.sseq < st.firstSeq) this.sseq = st.firstSeq;
    else if (this.sseq > st.lastSeq) this.sseq = st.lastSeq + 1;
    this.dseq = 1;
    // The reference's ack floor starts at 0, whatever the start: its
    // consumer store only records the starting delivered sequence
    // (server/memstore.go, filestore.go SetStarting) and setLeader reads it back.
    this.adflr = 0;
    this.asflr = 0;
  }

  /** Restore a saved state (server/consumer.go applyState + checkRedelivered). */
  private applyState(state: ConsumerState): void {
    if (this.sseq <= state.delivered.streamSeq) this.sseq = state.delivered.streamSeq + 1;
    this.dseq = state.delivered.consumerSeq + 1;
    this.adflr = state.ackFloor.consumerSeq;
    this.asflr = state.ackFloor.streamSeq;
    this.pending = new PendingSet();
    for (const [sseq, p] of state.pending) this.pending.track(sseq, p.sequence, p.ts);
    this.rdc = new Map(state.redelivered);
    const lseq = this.stream.store.state().lastSeq;
    for (const sseq of [...this.rdc.keys()]) if (sseq < this.asflr || (lseq > 0 && sseq > lseq)) this.rdc.delete(sseq);
    if (this.pending.size > 0) {
      // Check soon after a restart: between 0.5 and 1.5 s, or ack_wait when shorter.
      let delay = 500 + randomInt(1000);
      if (this.cfg.ackWait / 1e6 < delay) delay = this.ackWaitMs(0);
      this.armPendingTimer(delay);
    }
  }

  /** server/consumer.go updateInactiveThreshold */
  private updateInactiveThreshold(cfg: ConsumerConfig): void {
    if (!this.isDurable() && cfg.inactiveThreshold <= 0) {
      this.dthresh = DELETE_WAIT_DEFAULT_NS / 1e6 + 100 + randomInt(900);
      cfg.inactiveThreshold = DELETE_WAIT_DEFAULT_NS;
    } else if (cfg.inactiveThreshold > 0) {
      this.dthresh = cfg.inactiveThreshold / 1e6 + (cfg.deliverSubject === '' ? 100 + randomInt(900) : 0);
    } else this.dthresh = 0;
  }

  // --- updates -------------------------------------------------------------------

  /** server/consumer.go updateConfig: null when applied. */
  private updateConfig(cfg: ConsumerConfig): ApiError | string | null {
    const err = checkConsumerUpdate(this.cfg, cfg, (s) => accountHasInterest(this.jsa.account, s));
    if (err !== null) return err;
    const old = this.cfg;
    if (cfg.deliverSubject !== old.deliverSubject) this.updateDeliverSubject(cfg.deliverSubject);
    if (cfg.maxAckPending !== old.maxAckPending) {
      this.maxp = cfg.maxAckPending;
      this.kick();
    }
    if (cfg.ackWait !== old.ackWait && this.ptmr !== null) this.armPendingTimer(100);
    if (cfg.rateLimit !== old.rateLimit) this.setRateLimit(cfg.rateLimit);
    if (cfg.sampleFreq !== old.sampleFreq) this.sfreq = sampleFreqOf(cfg.sampleFreq);
    if (cfg.maxDeliver !== old.maxDeliver) this.maxdc = cfg.maxDeliver > 0 ? cfg.maxDeliver : 0;
    if (cfg.inactiveThreshold !== old.inactiveThreshold) {
      this.updateInactiveThreshold(cfg);
      this.clearDeleteTimer();
      if (this.dthresh > 0) this.armDeleteTimer(this.dthresh);
    }
    this.cfg = { ...cfg, deliverSubject: this.cfg.deliverSubject };
    if (this.store !== null) this.store.setConfig(this.metaJSON());
    return null;
  }

  private updateDeliverSubject(d: string): void {
    if (this.closed || this.isPull() || this.cfg.deliverSubject === d) return;
    if (this.pending.size > 0) this.forceExpirePending();
    interestWatch.setIdle(this, this.cfg.deliverSubject, false);
    this.cfg = { ...this.cfg, deliverSubject: d };
    interestWatch.setIdle(this, d, !this.active);
    this.checkInterest(true);
  }

  private forceExpirePending(): void {
    const expired = this.pending.seqs().filter((s) => !this.rdqi.has(s)).sort((a, b) => a - b);
    if (expired.length > 0) {
      this.addToRedeliverQueue(expired);
      const off = nowNs() - this.pending.ts(expired[0]!);
      for (const s of expired) this.pending.setTs(s, this.pending.ts(s) + off);
      this.armPendingTimer(this.ackWaitMs(0));
    }
    this.kick();
  }

  private setRateLimit(bps: number): void {
    if (bps === 0) {
      this.rlRate = 0;
      return;
    }
    this.rlRate = Math.floor(bps / 8);
    const mms = this.stream.cfg.maxMsgSize;
    this.rlBurst = mms > 0 ? mms : this.jsa.js.server.opts.maxPayload;
    this.rlTokens = this.rlBurst;
    this.rlLast = Date.now();
  }

  /** ms to wait before sending `sz` bytes under rate_limit_bps (golang.org/x/time/rate ReserveN). */
  private rateDelay(sz: number): number {
    const now = Date.now();
    this.rlTokens = Math.min(this.rlBurst, this.rlTokens + ((now - this.rlLast) / 1000) * this.rlRate);
    this.rlLast = now;
    this.rlTokens -= sz;
    if (this.rlTokens >= 0) return 0;
    return Math.ceil((-this.rlTokens / this.rlRate) * 1000);
  }

  // --- the delivery pass -----------------------------------------------------------

  /** Something changed: run a delivery pass soon (once per event-loop turn). */
  kick(): void {
    if (this.runScheduled || this.closed) return;
    this.runScheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => this.guard(this.runBody);

  private readonly runBody = (): void => {
    this.runScheduled = false;
    if (this.closed) return;
    let stalledOnAckPending = false;
    let budget = PASS_BUDGET;
    let unflushed = 0;
    const pull = this.isPull();
    for (;;) {
      if (budget-- <= 0) {
        this.kick();
        return;
      }
      if (!pull) {
        if (!this.active || (this.maxpb > 0 && this.pbytes > this.maxpb)) break;
      } else if (this.waiting!.length === 0) break;
      if (this.delayTmr !== null) return;
      let next: Next | null;
      let p: Prepared;
      if (this.held !== null) {
        p = this.held;
        this.held = null;
      } else {
        const r = this.getNextMsg();
        if (r === 'maxAckPending') {
          stalledOnAckPending = true;
          break;
        }
        if (r === null) break;
        next = r;
        const m = next.m;
        if (next.dc === 1 && this.npcValid && m.seq <= this.npcLast) this.npc--;
        let buf = m.buf;
        let off = m.off;
        let hl = m.hl;
        let size = m.size;
        if (this.cfg.headersOnly) {
          buf = headersOnly(m);
          off = 0;
          hl = size = buf.length;
        }
        const ackLen = this.writeAckReply(next.dc, m.seq, this.dseq, m, this.numPending());
        // what a pull request's max_bytes counts (server/consumer.go loopAndGatherMsgs)
        const sz = m.subject.length + ackLen + size;
        let dsubj: string;
        if (!pull) dsubj = this.cfg.deliverSubject;
        else {
          const wr = this.nextWaiting(sz);
          if (wr === null) {
            this.unget(next);
            break;
          }
          dsubj = wr.reply;
          // the pass's clock (deliverMsg's too): a Date.now() per message was a HeapNumber each
          if (wr.n > 0 && wr.hb > 0) wr.hbt = taskNowNs() / 1e6 + wr.hb;
        }
        p = this.prepScratch;
        p.next = next;
        p.dsubj = dsubj;
        p.buf = buf;
        p.off = off;
        p.hl = hl;
        p.size = size;
        p.ackLen = ackLen;
        p.ackReply = null;
        // replay original: wait out the gap between stored messages
        if (this.replay && this.lts > 0) {
          const delay = (m.ts - this.lts) / 1e6;
          if (delay > 1) {
            this.hold(p, delay);
            return;
          }
        }
        if (this.rlRate > 0) {
          const delay = this.rateDelay(sz);
          if (delay > 0) {
            this.hold(p, delay);
            return;
          }
        }
      }
      this.lts = p.next.m.ts;
      unflushed += this.deliverMsg(p);
      if (unflushed >= PASS_FLUSH_BYTES) {
        unflushed = 0;
        this.jsa.js.server.flushDirty();
      }
    }
    // nothing more to send now
    this.dropViews();
    if (this.replay && this.sseq > this.replayLseq) this.replay = false;
    if (pull) {
      const { fexp } = this.processWaiting(!stalledOnAckPending);
      if (fexp > 0) this.armWaitTimer(fexp);
    }
  };

  /**
   * The pass's scratch objects let go of the last message's bytes: a
   * subarray of a store block, which kept the whole block buffer (4 MiB)
   * alive per idle consumer after the store had let the block go (a heap
   * snapshot of the JetStream soak found one on a pull consumer).
   */
  private dropViews(): void {
    this.ownView.buf = EMPTY;
    this.nextScratch.m = EMPTY_MSG;
    this.prepScratch.buf = EMPTY;
  }

  private hold(p: Prepared, delayMs: number): void {
    // ackBuf is rewritten by the next message prepared, and the message is
    // a view the store reuses (loadNextMsgView): copies to keep (and p,
    // p.next are the scratch objects of runBody)
    const m = p.next.m;
    const buf = Buffer.from(p.buf.subarray(p.off, p.off + p.size));
    this.held = {
      next: { m: { subject: m.subject, seq: m.seq, ts: m.ts, buf, off: 0, hl: p.hl, size: p.size }, dc: p.next.dc },
      dsubj: p.dsubj,
      buf,
      off: 0,
      hl: p.hl,
      size: p.size,
      ackLen: p.ackLen,
      ackReply: p.ackReply ?? this.ackBuf.toString('latin1', 0, p.ackLen),
    };
    this.delayTmr = setTimeout(() => {
      this.delayTmr = null;
      this.kick();
    }, timerMs(delayMs));
  }

  /** Put back a message a pull consumer had nobody to give to. */
  private unget(next: Next): void {
    if (next.dc > 1) {
      const c = this.rdc.get(next.m.seq) ?? 1;
      if (c <= 1) this.rdc.delete(next.m.seq);
      else this.rdc.set(next.m.seq, c - 1);
      this.rdq.unshift(next.m.seq);
      this.rdqi.add(next.m.seq);
    } else {
      if (this.npcValid && next.m.seq <= this.npcLast) this.npc++;
      if (this.sseq > next.m.seq) this.sseq = next.m.seq;
    }
  }

  /** server/consumer.go getNextMsg: redeliveries first, then the next matching message. */
  private getNextMsg(): Next | 'maxAckPending' | null {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift()!;
      this.rdqi.delete(seq);
      const dc = this.incDeliveryCount(seq);
      if (this.maxdc > 0 && dc > this.maxdc) {
        if (dc === this.maxdc + 1) this.notifyDeliveryExceeded(seq, dc - 1);
        this.pending.delete(seq);
        this.markDirty();
        continue;
      }
      const m = store.loadMsg(seq);
      if (m === null) {
        // gone from the stream meanwhile: nothing to redeliver
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.markDirty();
        continue;
      }
      return this.nextOf(this.viewOf(m), dc);
    }
    if (this.maxp > 0 && this.pending.size >= this.maxp) return 'maxAckPending';
    // last_per_subject: the last message of each subject as the consumer
    // started, loaded exactly; one that a newer message of its subject has
    // replaced since is skipped (the newer one comes in sequence order), so
    // nothing is delivered twice however late the first delivery runs.
    while (this.lss !== null) {
      const lss = this.lss;
      const want = lss.seqs.shift();
      if (lss.seqs.length === 0) {
        this.lss = null;
        if (this.sseq <= lss.resume) this.sseq = lss.resume + 1;
      }
      if (want === undefined) break;
      const m = store.loadMsg(want);
      if (m !== null) return this.nextOf(this.viewOf(m), 1);
    }
    const seq = this.sseq;
    if (seq > this.maxSeq) return null;
    // delivered (or put back) before the store is called again: a view will do (hold copies)
    const m = store.loadNextMsgView(this.cfg.filterSubject, seq);
    if (m === null || m.seq > this.maxSeq) {
      if (this.maxSeq + 1 > this.sseq) this.sseq = this.maxSeq + 1;
      return null;
    }
    if (m.seq >= this.sseq) this.sseq = m.seq + 1;
    return this.nextOf(m, 1);
  }

  /** getNextMsg's answer, in an object reused from message to message (hold copies it) */
  private nextOf(m: MsgView, dc: number): Next {
    const n = this.nextScratch;
    n.m = m;
    n.dc = dc;
    return n;
  }

  /** a loaded message in the shape deliveries take (headers and payload in one buffer, as publishAt writes them) */
  private viewOf(m: StoredMsg): MsgView {
    const v = this.ownView;
    const hl = m.hdr === null ? 0 : m.hdr.length;
    v.subject = m.subject;
    v.seq = m.seq;
    v.ts = m.ts;
    v.buf = hl === 0 ? m.data : Buffer.concat([m.hdr!, m.data]);
    v.off = 0;
    v.hl = hl;
    v.size = hl + m.data.length;
    return v;
  }

  /**
   * Writes `<dc>.<sseq>.<dseq>.<ts>.<pending>` after the prefix in ackBuf
   * and returns the ack subject's length: the bytes go to the MSG line as
   * they are, where a template string per message cost its building and a
   * character-by-character copy out of it. The timestamp is the message's
   * (putNs reads it).
   */
  private writeAckReply(dc: number, sseq: number, dseq: number, m: MsgView, pending: number): number {
    const b = this.ackBuf;
    let p = putUint(b, this.ackPrefix.length, dc);
    b[p++] = 0x2e;
    p = putUint(b, p, sseq);
    b[p++] = 0x2e;
    p = putUint(b, p, dseq);
    b[p++] = 0x2e;
    p = putNs(b, p, m);
    b[p++] = 0x2e;
    return putUint(b, p, pending);
  }

  private incDeliveryCount(seq: number): number {
    const c = (this.rdc.get(seq) ?? 0) + 1;
    this.rdc.set(seq, c);
    return c + 1;
  }

  /** Returns the bytes delivered (subject, reply, header, payload). */
  private deliverMsg(p: Prepared): number {
    const { dsubj, ackReply } = p;
    // read before the publish: a subscriber it reaches may make the store reuse its view
    const m = p.next.m;
    const seq = m.seq;
    const dseq = this.dseq++;
    const psz = dsubj.length + p.ackLen + p.size;
    if (this.maxpb > 0) this.pbytes += psz;
    const ic = this.jsa.client;
    const delivered =
      ackReply !== null
        ? ic.publishAt(dsubj, m.subject, ackReply, null, 0, p.buf, p.off, p.hl, p.size)
        : ic.publishAt(dsubj, m.subject, '', this.ackBuf, p.ackLen, p.buf, p.off, p.hl, p.size);
    const ap = this.cfg.ackPolicy;
    const now = taskNowNs();
    if (ap === 'explicit' || ap === 'all') this.trackPending(seq, dseq, now);
    else {
      this.adflr = dseq;
      this.asflr = seq;
    }
    if (this.maxpb > 0 && this.needFlowControl(psz)) this.sendFlowControl();
    // ms from the same clock read (nowNs is Date.now() in ns)
    const nowMs = now / 1e6;
    if (this.isPull() && this.dthresh > 0) this.waiting!.last = nowMs;
    this.ldt = now;
    this.lastDeliverAt = nowMs;
    this.markDirty();
    if (ap === 'none' && this.stream.cfg.retention !== 'limits') ackStreamMsg(this.stream, this, seq);
    if (!delivered) this.didNotDeliver(seq);
    return psz;
  }

  private trackPending(sseq: number, dseq: number, now: number): void {
    if (this.ptmr === null) this.armPendingTimer(this.ackWaitMs(0));
    this.pending.track(sseq, dseq, now);
  }

  /** Push interest as seen; the consumers without it are indexed by deliver subject for new subscriptions. */
  private setActive(v: boolean): void {
    this.active = v;
    if (!this.isPull() && !this.closed) interestWatch.setIdle(this, this.cfg.deliverSubject, !v);
  }

  /** server/consumer.go didNotDeliver: nobody got a message. */
  private didNotDeliver(seq: number): void {
    if (!this.isPull()) {
      this.setActive(false);
      this.checkInterest(true);
    } else if (this.pending.has(seq) && !this.rdqi.has(seq)) {
      this.addToRedeliverQueue([seq]);
      this.kick();
    }
  }

  // --- num_pending ----------------------------------------------------------------

  /** Messages left for this consumer (server/consumer.go numPending / streamNumPending). */
  numPending(): number {
    if (!this.npcValid) {
      const store = this.stream.store;
      this.npcLast = store.state().lastSeq;
      if (this.cfg.deliverPolicy === 'last_per_subject' && this.lss !== null) {
        let n = 0;
        for (const ss of store.subjectsState(this.cfg.filterSubject).values()) if (this.sseq <= ss.last) n++;
        this.npc = n;
      } else this.npc = this.sseq > this.npcLast ? 0 : store.filteredState(this.sseq, this.cfg.filterSubject).msgs;
      this.npcValid = true;
    }
    return this.npc < 0 ? 0 : this.npc;
  }

  private addNewToPending(last: number): void {
    if (!this.npcValid || last <= this.npcLast) return;
    const from = Math.max(this.npcLast + 1, this.sseq);
    if (from <= last) this.npc += this.stream.store.filteredState(from, this.cfg.filterSubject).msgs;
    this.npcLast = last;
  }

  // --- StreamConsumer -------------------------------------------------------------

  signal(): void {
    if (this.closed) return;
    const last = this.stream.store.state().lastSeq;
    this.addNewToPending(last);
    if (last > this.maxSeq) this.maxSeq = last;
    if (this.isPull() ? this.waiting!.length > 0 : this.active) this.kick();
  }

  /** server/consumer.go purge */
  purged(firstSeq: number): void {
    if (this.closed) return;
    const sseq = firstSeq;
    if (this.sseq < sseq) this.sseq = sseq;
    if (this.asflr < sseq) {
      this.asflr = sseq - 1;
      this.adflr = this.dseq - 1;
    }
    // the reference terms what a filtered purge took from the pending set (decStreamPending): an ack
    if (this.pending.size > 0) this.lat = nowNs();
    this.pending.clear();
    const rdq = this.rdq;
    this.rdq = [];
    this.rdqi.clear();
    this.addToRedeliverQueue(rdq.filter((s) => s >= this.sseq));
    this.npcValid = false;
    this.maxSeq = Math.max(this.maxSeq, this.stream.store.state().lastSeq);
    this.writeState();
  }

  /** A message left the stream (limits, another consumer's ack): server/consumer.go decStreamPending. */
  msgRemoved(seq: number, subject: string): void {
    if (this.closed) return;
    if (this.npcValid && seq <= this.npcLast && seq >= this.sseq && this.isFilteredMatch(subject)) this.npc--;
    const pdseq = this.pending.dseq(seq);
    if (pdseq < 0) return;
    const dc = this.rdc.get(seq) ?? 1;
    // the reference handles it as a TERM (with its advisory), outside the store's callback
    queueMicrotask(() => {
      if (!this.closed && this.pending.has(seq)) this.processTerm(seq, pdseq, dc);
    });
  }

  /** server/consumer.go needAck: interest/workqueue retention asks whether `seq` is still needed here. */
  needsAck(seq: number, subject: string): boolean {
    if (this.isFiltered()) {
      let subj = subject;
      if (subj === '') {
        const m = this.stream.store.loadMsg(seq);
        if (m === null) return false;
        subj = m.subject;
      }
      if (!this.isFilteredMatch(subj)) return false;
    }
    if (this.cfg.ackPolicy === 'explicit') {
      if (seq <= this.asflr) return false;
      if (seq >= this.sseq) return true;
      return this.pending.has(seq);
    }
    return seq > this.asflr;
  }

  private isFiltered(): boolean {
    const f = this.cfg.filterSubject;
    if (f === '') return false;
    const subs = this.stream.cfg.subjects;
    if (subs.length === 1) return f !== subs[0];
    return true;
  }

  isFilteredMatch(subj: string): boolean {
    const f = this.cfg.filterSubject;
    if (f === '') return true;
    if (!this.filterWC) return subj === f;
    return subjectIsSubsetMatch(subj, f);
  }

  /** The stream stops (deleteStore: it is deleted, and so is the consumer, with its advisory, as server/stream.go stop). */
  async stop(deleteStore: boolean): Promise<void> {
    this.close(deleteStore, deleteStore, false);
    const st = this.store;
    this.store = null;
    if (st === null) return;
    if (deleteStore) await st.delete();
    else {
      st.update(this.stateSnapshot());
      await st.stop();
    }
  }

  /** Delete: advisory, 409 to waiting pull requests, interest retention clean-up, store removed (server/consumer.go delete). */
  delete(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.close(true, true, true);
    const st = this.store;
    this.store = null;
    if (st === null) return Promise.resolve();
    let m = storesBeingRemoved.get(this.stream);
    if (m === undefined) storesBeingRemoved.set(this.stream, (m = new Map()));
    const map = m;
    const done = st
      .delete()
      .catch((e: Error) => {
        this.jsa.js.server.logger.warn(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}' store removal failed: ${e.message}`);
      })
      .then(() => {
        if (map.get(this.name) === done) map.delete(this.name);
      });
    map.set(this.name, done);
    return done;
  }

  /** A store for a consumer created while its predecessor's was being removed. */
  private attachStore(): void {
    if (this.closed || this.store !== null || this.stream.closed) return;
    try {
      this.store = this.stream.store.consumerStore(this.name);
      this.store.setConfig(this.metaJSON());
      this.writeState();
    } catch (e) {
      this.jsa.js.server.logger.warn(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}' store failed: ${(e as Error).message}`);
    }
  }

  private close(dflag: boolean, advisory: boolean, removeFromStream: boolean): void {
    if (this.closed) return;
    if (dflag) {
      if (advisory) this.advisory(`${ADV.deleted}.${this.stream.name}.${this.name}`, this.actionAdvisory('delete'));
      if (this.isPull()) this.releaseAnyPendingRequests();
    }
    this.closed = true;
    this.active = false;
    if (!this.isPull()) interestWatch.setIdle(this, this.cfg.deliverSubject, false);
    const ic = this.jsa.client;
    for (const s of this.subs) ic.unsubscribe(s);
    this.subs = [];
    for (const t of [this.ptmr, this.dtmr, this.hbtmr, this.wtmr, this.delayTmr, this.stateTmr]) if (t !== null) clearTimeout(t);
    this.ptmr = this.dtmr = this.hbtmr = this.wtmr = this.delayTmr = this.stateTmr = null;
    this.held = null;
    interestWatch.delete(this);
    if (removeFromStream && this.stream.consumers.get(this.name) === this) {
      this.stream.consumers.delete(this.name);
      if (dflag && this.stream.cfg.retention === 'interest') this.dropUninterestingMsgs();
    }
    if (this.waiting !== null) this.waiting.clear();
  }

  /** Interest retention: what only this consumer still needed goes (server/consumer.go stopWithFlags). */
  private dropUninterestingMsgs(): void {
    const s = this.stream;
    const st = s.store.state();
    let seq = Math.max(this.asflr, st.firstSeq);
    for (; seq <= st.lastSeq; seq++) {
      if (!checkInterest(s, seq, this)) s.deleteMsg(seq, false);
    }
  }

  private releaseAnyPendingRequests(): void {
    if (this.waiting === null || this.waiting.length === 0) return;
    const hdr = Buffer.from('NATS/1.0 409 Consumer Deleted\r\n\r\n');
    for (const wr of this.waiting.clear()) this.jsa.client.publish(wr.reply, '', hdr, EMPTY);
  }

  // --- acks -------------------------------------------------------------------------

  private readonly onAck = (_sub: Subscription, subject: string, reply: string, _hdr: Buffer | null, msg: Buffer): void => {
    this.processAck(subject, reply, msg);
  };

  /**
   * The ack subscription's handler on the bytes (InternalRawHandler): the
   * ack a client sends per message (empty, +ACK or +OK body, no reply
   * subject) is read where it lies, with no string, view or object made for
   * it; anything else goes to onAck as strings.
   */
  private readonly onAckRaw = (sub: Subscription, src: PubArgSource, buf: Buffer, start: number): void => {
    const hl = src.paHdr > 0 ? src.paHdr : 0;
    if (src.paReplyEnd === src.paReplyStart && isPlainAckAt(buf, start + hl, start + src.paSize) && ackNumsAt(src.paBuf, src.paSubjStart + this.ackPrefix.length, src.paSubjEnd)) {
      if (this.closed) return;
      this.processAckMsg(ACK_NUMS[1]!, ACK_NUMS[2]!, ACK_NUMS[0]!, true);
      if (this.cfg.inactiveThreshold > 0) this.suppressDeletion();
      return;
    }
    const pb = src.paBuf;
    const reply = src.paReplyEnd > src.paReplyStart ? pb.toString('latin1', src.paReplyStart, src.paReplyEnd) : '';
    this.onAck(sub, pb.toString('latin1', src.paSubjStart, src.paSubjEnd), reply, null, buf.subarray(start + hl, start + src.paSize));
  };

  /** server/consumer.go processAck */
  processAck(subject: string, reply: string, msg: Buffer): void {
    if (this.closed) return;
    const info = ackReplyInfo(subject);
    if (info === null) return;
    const { sseq, dseq, dc } = info;
    let skipAckReply = sseq === 0;
    // the common case (an empty or +ACK body) without a string per ack
    const body = isPlainAck(msg) ? '' : msg.toString('latin1');
    if (body === '' || body === '+ACK' || body === '+OK') this.processAckMsg(sseq, dseq, dc, true);
    else if (body.startsWith('+NXT')) {
      this.processAckMsg(sseq, dseq, dc, true);
      this.processNextMsgRequest(reply, msg.subarray(4));
      skipAckReply = true;
    } else if (body.startsWith('-NAK')) this.processNak(sseq, dseq, dc, body);
    else if (body === '+WPI') this.progressUpdate(sseq);
    else if (body === '+TERM') this.processTerm(sseq, dseq, dc);
    if (reply !== '' && !skipAckReply) this.jsa.client.publish(reply, '', null, EMPTY);
    if (this.cfg.inactiveThreshold > 0) this.suppressDeletion();
  }

  /** server/consumer.go processAckMsg */
  private processAckMsg(sseqIn: number, dseqIn: number, dc: number, doSample: boolean): void {
    let sseq = sseqIn;
    let dseq = dseqIn;
    let needSignal = false;
    // the acked sequences matter only to interest and work-queue retention:
    // no array per ack on a limits stream
    const acked: number[] | null = this.stream.cfg.retention !== 'limits' ? [] : null;
    switch (this.cfg.ackPolicy) {
      case 'explicit': {
        const pdseq = this.pending.dseq(sseq);
        const was = pdseq >= 0;
        if (was) {
          if (doSample) this.sampleAck(sseq, dseq, dc, this.pending.ts(sseq));
          if (this.maxp > 0 && this.pending.size >= this.maxp) needSignal = true;
          this.pending.delete(sseq);
          dseq = pdseq;
          acked?.push(sseq);
        }
        if (this.pending.size === 0) {
          this.adflr = this.dseq - 1;
          this.asflr = this.sseq - 1;
        } else if (was && dseq === this.adflr + 1) {
          // (Only for a message that was pending: the reference also moves the
          // floor for an ack of a sequence it never sent, which would let
          // interest retention drop messages still pending here.)
          this.adflr = dseq;
          this.asflr = sseq;
          // the next still pending decides the floor
          const lowest = this.pending.lowestAbove(sseq, this.sseq);
          if (lowest !== 0) {
            const nd = this.pending.dseq(lowest);
            if (nd > 0) {
              this.adflr = nd - 1;
              this.asflr = lowest - 1;
            }
          }
        }
        this.rdc.delete(sseq);
        this.removeFromRedeliverQueue(sseq);
        break;
      }
      case 'all': {
        if (dseq <= this.adflr || sseq <= this.asflr) return;
        if (this.maxp > 0 && this.pending.size >= this.maxp) needSignal = true;
        const from = this.asflr;
        // The floors move as the reference moves them, even past what was
        // delivered (an ack of a sequence never sent); what retention removes
        // below stops at what was delivered, so no undelivered message is lost.
        this.adflr = dseq;
        this.asflr = sseq;
        if (sseq >= this.sseq) sseq = this.sseq - 1;
        if (sseq - from < this.pending.size * 2) {
          for (let s = sseq; s > from; s--) this.forgetPending(s, acked);
        } else {
          for (const s of this.pending.seqs()) if (s <= sseq) this.forgetPending(s, acked);
          for (const s of [...this.rdc.keys()]) if (s <= sseq) this.rdc.delete(s);
        }
        if (acked !== null) {
          acked.length = 0;
          for (let s = from + 1; s <= sseq; s++) acked.push(s);
        }
        break;
      }
      case 'none':
        return;
    }
    this.lat = taskNowNs();
    this.markDirty();
    if (acked !== null) for (const s of acked) ackStreamMsg(this.stream, this, s);
    if (needSignal) this.kick();
  }

  private forgetPending(s: number, acked: number[] | null): void {
    if (this.pending.delete(s)) acked?.push(s);
    this.rdc.delete(s);
    this.removeFromRedeliverQueue(s);
  }

  private processNak(sseq: number, dseq: number, dc: number, body: string): void {
    if (dseq <= this.adflr || dseq > this.dseq) return;
    if (this.pending.size > 0 && !this.pending.has(sseq)) return;
    this.advisory(this.nakEventT, {
      type: 'io.nats.jetstream.advisory.v1.nak',
      id: eventId(),
      timestamp: J.nsToTime(nowNs()),
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: dseq,
      stream_seq: sseq,
      deliveries: dc,
      domain: this.domain(),
    });
    const arg = body.length > 4 ? body.slice(4).trim() : '';
    if (arg !== '') {
      let d: number | null = null;
      if (arg[0] === '{') {
        try {
          const o = J.parseBody(Buffer.from(arg, 'latin1'));
          d = J.int(o, 'delay');
        } catch {
          d = null;
        }
      } else d = parseGoDuration(arg);
      if (d === null) {
        this.jsa.js.server.logger.warn(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}' bad NAK delay value: ${JSON.stringify(arg)}`);
      } else {
        this.removeFromRedeliverQueue(sseq);
        if (this.pending.has(sseq)) {
          // "now - ack_wait" is due now: offset the delay from there
          this.pending.setTs(sseq, nowNs() - this.cfg.ackWait + d);
          this.markDirty();
          if (this.ptmr !== null) this.armPendingTimer(10);
        }
        return;
      }
    }
    if (!this.rdqi.has(sseq)) this.addToRedeliverQueue([sseq]);
    this.kick();
  }

  private processTerm(sseq: number, dseq: number, dc: number): void {
    this.processAckMsg(sseq, dseq, dc, false);
    this.advisory(`${ADV.term}.${this.stream.name}.${this.name}`, {
      type: 'io.nats.jetstream.advisory.v1.terminated',
      id: eventId(),
      timestamp: J.nsToTime(nowNs()),
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: dseq,
      stream_seq: sseq,
      deliveries: dc,
      domain: this.domain(),
    });
  }

  private progressUpdate(seq: number): void {
    if (!this.pending.has(seq)) return;
    const now = nowNs();
    this.pending.setTs(seq, now);
    this.ldt = now;
    this.markDirty();
  }

  private sampleAck(sseq: number, dseq: number, dc: number, deliveredAt: number): void {
    if (this.sfreq <= 0) return;
    if (this.sfreq < 100 && randomInt(100) > this.sfreq) return;
    const now = nowNs();
    this.advisory(this.ackEventT, {
      type: 'io.nats.jetstream.metric.v1.consumer_ack',
      id: eventId(),
      timestamp: J.nsToTime(now),
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: dseq,
      stream_seq: sseq,
      ack_time: now - deliveredAt,
      deliveries: dc,
      domain: this.domain(),
    });
  }

  private suppressDeletion(): void {
    if (this.closed) return;
    if (!this.isPull() && this.dtmr !== null) this.armDeleteTimer(this.dthresh);
    else if (this.isPull()) this.waiting!.last = Date.now();
  }

  // --- redeliveries ------------------------------------------------------------------

  private addToRedeliverQueue(seqs: number[]): void {
    for (const s of seqs) {
      this.rdq.push(s);
      this.rdqi.add(s);
    }
  }

  private removeFromRedeliverQueue(seq: number): void {
    if (!this.rdqi.delete(seq)) return;
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  private ackWaitMs(nextNs: number): number {
    return (nextNs > 0 ? nextNs : this.cfg.ackWait) / 1e6 + 1;
  }

  private armPendingTimer(ms: number): void {
    if (this.ptmr !== null) clearTimeout(this.ptmr);
    this.ptmr = setTimeout(this.checkPending, timerMs(ms));
  }

  /** server/consumer.go checkPending: one pass over the pending set per timer, whatever its size. */
  private readonly checkPending = (): void => this.guard(this.checkPendingBody);

  private readonly checkPendingBody = (): void => {
    this.ptmr = null;
    if (this.closed) return;
    const now = nowNs();
    const ttl = this.cfg.ackWait;
    const bo = this.cfg.backoff;
    let next = bo.length > 0 ? bo[bo.length - 1] : ttl + 1e6;
    const fseq = this.stream.store.state().firstSeq;
    const expired: number[] = [];
    let changed = false;
    for (const seq of this.pending.seqs()) {
      if (seq < fseq) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.removeFromRedeliverQueue(seq);
        changed = true;
        continue;
      }
      const elapsed = now - this.pending.ts(seq);
      let deadline = ttl;
      if (bo.length > 0) {
        let dcI = this.rdc.get(seq) ?? 0;
        let nbi = dcI + 1;
        if (dcI + 1 >= bo.length) {
          dcI = bo.length - 1;
          nbi = dcI;
        }
        deadline = bo[dcI];
        if (bo[nbi] < next) next = bo[nbi];
      }
      if (elapsed >= deadline) {
        if (!this.rdqi.has(seq)) expired.push(seq);
      } else if (deadline - elapsed < next) next = deadline - elapsed;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      this.addToRedeliverQueue(expired);
      const off = now - this.pending.ts(expired[0]!);
      for (const s of expired) this.pending.setTs(s, this.pending.ts(s) + off);
      this.kick();
    }
    if (this.pending.size > 0) this.armPendingTimer(this.ackWaitMs(next));
    if (changed) this.markDirty();
  };

  private notifyDeliveryExceeded(seq: number, dc: number): void {
    this.advisory(this.deliveryExcEventT, {
      type: 'io.nats.jetstream.advisory.v1.max_deliver',
      id: eventId(),
      timestamp: J.nsToTime(nowNs()),
      stream: this.stream.name,
      consumer: this.name,
      stream_seq: seq,
      deliveries: dc,
      domain: this.domain(),
    });
  }

  // --- pull requests -----------------------------------------------------------------

  private readonly onNextReq = (_sub: Subscription, _subject: string, reply: string, _hdr: Buffer | null, msg: Buffer): void => {
    if (reply === '') return;
    this.processNextMsgRequest(reply, msg);
  };

  private sendStatus(reply: string, status: number, description: string): void {
    this.jsa.client.publish(reply, '', Buffer.from(`NATS/1.0 ${status} ${description}\r\n\r\n`), EMPTY);
  }

  /** server/consumer.go processNextMsgRequest */
  processNextMsgRequest(reply: string, msg: Buffer): void {
    if (this.closed) return;
    if (!this.isPull() || this.waiting === null) return this.sendStatus(reply, 409, 'Consumer is push based');
    const req = parseNextRequest(msg);
    if (typeof req === 'string') return this.sendStatus(reply, 400, `Bad Request - ${req}`);
    const now = Date.now();
    const cfg = this.cfg;
    if (cfg.maxBatch > 0 && req.batch > cfg.maxBatch) return this.sendStatus(reply, 409, `Exceeded MaxRequestBatch of ${cfg.maxBatch}`);
    if (req.expires !== 0 && cfg.maxExpires > 0 && req.expires > cfg.maxExpires) {
      return this.sendStatus(reply, 409, `Exceeded MaxRequestExpires of ${goDurationString(cfg.maxExpires)}`);
    }
    if (req.maxBytes > 0 && cfg.maxBytes > 0 && req.maxBytes > cfg.maxBytes) return this.sendStatus(reply, 409, `Exceeded MaxRequestMaxBytes of ${cfg.maxBytes}`);
    const wq = this.waiting;
    if (wq.isFull()) this.processWaiting(false);
    const expires = req.expires !== 0 ? now + req.expires / 1e6 : 0;
    if (req.noWait) {
      const msgsPending = this.numPending() + this.rdq.length;
      if (msgsPending === 0 && expires === 0) {
        wq.last = now;
        return this.sendStatus(reply, 404, 'No Messages');
      }
      if (msgsPending > 0) {
        const { brp } = this.processWaiting(false);
        if (msgsPending < brp) {
          wq.last = now;
          return this.sendStatus(reply, 408, 'Requests Pending');
        }
      }
    }
    const hbMs = req.heartbeat / 1e6;
    const wr: WaitingRequest = {
      reply,
      ...trackDownInterest(this.jsa.account, reply),
      n: req.batch,
      d: 0,
      b: req.maxBytes,
      expires,
      received: now,
      hb: hbMs,
      hbt: hbMs > 0 ? now + hbMs : 0,
      noWait: req.noWait,
    };
    if (!wq.add(wr)) return this.sendStatus(reply, 409, 'Exceeded MaxWaiting');
    if (expires !== 0 || wr.hbt > 0) this.armWaitTimer(Math.min(expires !== 0 ? expires : Infinity, wr.hbt > 0 ? wr.hbt : Infinity));
    this.kick();
  }

  /** The next request that can take a message of `sz` bytes (server/consumer.go nextWaiting). */
  private nextWaiting(sz: number): WaitingRequest | null {
    const wq = this.waiting!;
    for (let wr = wq.peek(); wr !== null; wr = wq.peek()) {
      if (wr.b > 0) {
        if (sz <= wr.b) {
          wr.b -= sz;
          if (wr.b === 0) wr.n = 1;
        } else {
          this.jsa.client.publish(wr.reply, '', pendingStatus(409, 'Message Size Exceeds MaxBytes', wr), EMPTY);
          wq.removeHead();
          continue;
        }
      }
      if ((wr.expires === 0 || taskNowNs() / 1e6 < wr.expires) && wr.acc.sublist.hasInterest(wr.interest)) return wq.pop();
      if (wr.interest !== wr.reply) this.jsa.client.publish(wr.reply, '', pendingStatus(408, 'Interest Expired', wr), EMPTY);
      wq.removeHead();
    }
    return null;
  }

  /** Expire, heartbeat and drop abandoned requests; the earliest next deadline (server/consumer.go processWaiting). */
  private processWaiting(eos: boolean): { expired: number; brp: number; fexp: number } {
    const wq = this.waiting;
    if (wq === null || wq.length === 0) return { expired: 0, brp: 0, fexp: 0 };
    const now = Date.now();
    let expired = 0;
    let brp = 0;
    let fexp = 0;
    wq.filter((wr) => {
      if ((eos && wr.noWait && wr.d > 0) || (wr.expires !== 0 && now >= wr.expires)) {
        this.jsa.client.publish(wr.reply, '', pendingStatus(408, 'Request Timeout', wr), EMPTY);
        expired++;
        return false;
      }
      if (!wr.acc.sublist.hasInterest(wr.interest)) {
        expired++;
        return false;
      }
      brp += wr.n;
      if (wr.hbt > 0) {
        if (now >= wr.hbt) {
          this.sendIdleHeartbeat(wr.reply);
          wr.hbt = now + wr.hb;
        }
        if (fexp === 0 || wr.hbt < fexp) fexp = wr.hbt;
      }
      if (wr.expires !== 0 && (fexp === 0 || wr.expires < fexp)) fexp = wr.expires;
      return true;
    });
    return { expired, brp, fexp };
  }

  /** One timer for the earliest pull request deadline. */
  private armWaitTimer(at: number): void {
    if (this.closed) return;
    if (this.wtmr !== null) {
      if (this.wtmrAt <= at) return;
      clearTimeout(this.wtmr);
    }
    this.wtmrAt = at;
    this.wtmr = setTimeout(this.onWaitTimer, timerMs(at - Date.now()));
  }

  private readonly onWaitTimer = (): void => this.guard(this.onWaitTimerBody);

  private readonly onWaitTimerBody = (): void => {
    this.wtmr = null;
    if (this.closed) return;
    const { fexp } = this.processWaiting(true);
    if (fexp > 0) this.armWaitTimer(fexp);
    this.kick();
  };

  // --- push: interest, heartbeats, flow control ---------------------------------------

  private deliverHasInterest(): boolean {
    return accountHasInterest(this.jsa.account, this.cfg.deliverSubject);
  }

  /**
   * Called by the interest watcher (cheap: nothing to do unless the
   * account's subscriptions changed), and forced after a delivery nobody got.
   */
  checkInterest(force = false, now = false): void {
    if (this.closed || this.isPull()) return;
    const gen = interestGen(this.jsa.account);
    if (gen === this.lastGenid && !force) return;
    this.lastGenid = gen;
    const interest = this.deliverHasInterest();
    if (interest === this.active && (interest || this.dtmr !== null || this.dthresh === 0)) return;
    this.updateDeliveryInterest(interest, now);
  }

  /**
   * server/consumer.go updateDeliveryInterest. With `now` (a subscription
   * was just made) delivery starts at once, before the subscriber's next
   * publish in the same read is stored: the reference's consumer goroutine
   * is woken by the SUB itself, and a KV watcher expects the values as they
   * were when it subscribed.
   */
  private updateDeliveryInterest(interest: boolean, now = false): void {
    if (this.closed || this.isPull()) return;
    const wasActive = this.active;
    this.setActive(interest);
    if (interest && !wasActive) {
      if (now && !this.runScheduled) {
        this.runScheduled = true;
        this.run();
      } else this.kick();
    }
    if (this.dtmr !== null && this.dthresh > 0 && !interest) return;
    this.clearDeleteTimer();
    if (!interest && this.dthresh > 0) this.armDeleteTimer(this.dthresh);
  }

  private armHeartbeat(): void {
    const hb = this.cfg.heartbeat / 1e6;
    if (hb <= 0 || this.closed) return;
    this.lastDeliverAt = Date.now();
    const tick = (): void => {
      this.hbtmr = null;
      if (this.closed) return;
      const now = Date.now();
      const idle = now - this.lastDeliverAt;
      if (idle >= hb - 1) {
        if (this.active) this.sendIdleHeartbeat(this.cfg.deliverSubject);
        this.lastDeliverAt = now;
        this.hbtmr = setTimeout(tick, timerMs(hb));
      } else this.hbtmr = setTimeout(tick, timerMs(hb - idle));
    };
    this.hbtmr = setTimeout(tick, timerMs(hb));
  }

  private sendIdleHeartbeat(subj: string): void {
    let h = `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ${this.dseq - 1}\r\nNats-Last-Stream: ${this.sseq - 1}\r\n`;
    if (this.fcid !== '') h += `Nats-Consumer-Stalled: ${this.fcid}\r\n`;
    const delivered = this.jsa.client.publish(subj, '', Buffer.from(h + '\r\n'), EMPTY);
    if (!delivered && !this.isPull()) this.checkInterest(true);
  }

  private setMaxPendingBytes(limit: number): void {
    this.pblimit = limit;
    this.maxpb = Math.max(1, Math.floor(limit / 16));
  }

  private needFlowControl(sz: number): boolean {
    if (this.maxpb === 0) return false;
    if (this.fcid === '' && this.pbytes > this.maxpb / 2) return true;
    if (this.fcid !== '' && this.pbytes - this.fcsz >= this.maxpb) this.fcsz += sz;
    return false;
  }

  private sendFlowControl(): void {
    if (this.isPull()) return;
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const rb = randomBytes(4);
    let suffix = '';
    for (let i = 0; i < 4; i++) suffix += alphabet[rb[i] % 62];
    const rply = `$JS.FC.${this.stream.name}.${this.name}.${suffix}`;
    this.fcsz = this.pbytes;
    this.fcid = rply;
    this.jsa.client.publish(this.cfg.deliverSubject, rply, Buffer.from('NATS/1.0 100 FlowControl Request\r\n\r\n'), EMPTY);
  }

  private readonly onFlowControl = (_sub: Subscription, subject: string): void => {
    if (this.closed || subject !== this.fcid) return;
    if (this.maxpb < this.pblimit) this.maxpb = Math.min(this.pblimit, this.maxpb * 2);
    this.pbytes -= this.fcsz;
    if (this.pbytes < 0) this.pbytes = 0;
    this.fcid = '';
    this.fcsz = 0;
    this.kick();
  };

  // --- inactivity --------------------------------------------------------------------

  private armDeleteTimer(ms: number): void {
    this.clearDeleteTimer();
    if (this.closed) return;
    this.dtmr = setTimeout(this.deleteNotActive, timerMs(ms));
  }

  private clearDeleteTimer(): void {
    if (this.dtmr !== null) clearTimeout(this.dtmr);
    this.dtmr = null;
  }

  /** server/consumer.go deleteNotActive */
  private readonly deleteNotActive = (): void => this.guard(this.deleteNotActiveBody);

  private readonly deleteNotActiveBody = (): void => {
    this.dtmr = null;
    if (this.closed) return;
    if (!this.isPull()) {
      if (this.deliverHasInterest()) {
        this.setActive(true);
        this.kick();
        return;
      }
    } else {
      const elapsed = Date.now() - this.waiting!.last;
      if (elapsed <= this.cfg.inactiveThreshold / 1e6) {
        this.armDeleteTimer(this.dthresh - elapsed);
        return;
      }
      this.processWaiting(true);
      if (this.waiting!.length > 0) {
        this.armDeleteTimer(this.dthresh);
        return;
      }
    }
    void this.delete();
  };

  /**
   * Event-loop entry points (delivery passes, timers) run here: an error
   * is logged and the consumer carries on, the server never goes down
   * with it.
   */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.jsa.js.server.logger.error(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}': ${(e as Error).stack ?? e}`);
    }
  }

  // --- state ----------------------------------------------------------------------------

  private stateSnapshot(): ConsumerState {
    const pending = new Map<number, { sequence: number; ts: number }>();
    for (const s of this.pending.seqs()) pending.set(s, { sequence: this.pending.dseq(s), ts: this.pending.ts(s) });
    return {
      delivered: { consumerSeq: this.dseq - 1, streamSeq: this.sseq - 1 },
      ackFloor: { consumerSeq: this.adflr, streamSeq: this.asflr },
      pending,
      redelivered: new Map(this.rdc),
    };
  }

  /** The state changed: it reaches the store within STATE_WRITE_MS, once for many changes. */
  private markDirty(): void {
    if (this.store === null || this.stateTmr !== null || this.closed) return;
    this.stateTmr = setTimeout(this.flushState, STATE_WRITE_MS);
  }

  /** Write the state now (a hand-over to another server reads it from the store). */
  saveState(): void {
    if (this.stateTmr !== null) {
      clearTimeout(this.stateTmr);
      this.stateTmr = null;
    }
    this.writeState();
  }

  private readonly flushState = (): void => {
    this.stateTmr = null;
    this.writeState();
  };

  private writeState(): void {
    const st = this.store;
    if (st === null) return;
    try {
      st.update(this.stateSnapshot());
      st.flush((err) => {
        if (err !== null) this.jsa.js.server.logger.error(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}' state write failed: ${err.message}`);
      });
    } catch (e) {
      this.jsa.js.server.logger.error(`JetStream consumer '${this.jsa.name} > ${this.stream.name} > ${this.name}' state write failed: ${(e as Error).message}`);
    }
  }

  // --- info and events ---------------------------------------------------------------------

  /** ConsumerInfo JSON (server/consumer.go info) */
  info(): Record<string, unknown> {
    const delivered: Record<string, unknown> = { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 };
    if (this.ldt !== 0) delivered.last_active = J.nsToTime(this.ldt);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lat !== 0) ackFloor.last_active = J.nsToTime(this.lat);
    // Stored messages whose batch is still being written have not signalled
    // the consumer yet (Stream.commit), but the reference counts them as
    // soon as they are stored (nats.js `jsm - cross account consumers`).
    this.addNewToPending(this.stream.store.state().lastSeq);
    let numWaiting = 0;
    if (this.isPull() && this.waiting !== null) {
      this.processWaiting(false);
      numWaiting = this.waiting.length;
    }
    const o: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: J.nsToTime(this.created),
      config: consumerConfigJSON(this.cfg),
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.rdc.size,
      num_waiting: numWaiting,
      num_pending: this.numPending(),
    };
    if (!this.isPull() && this.active) o.push_bound = true;
    return o;
  }

  private domain(): string | undefined {
    const d = this.jsa.js.domain;
    return d !== '' ? d : undefined;
  }

  private actionAdvisory(action: 'create' | 'delete'): Record<string, unknown> {
    return {
      type: 'io.nats.jetstream.advisory.v1.consumer_action',
      id: eventId(),
      timestamp: J.nsToTime(nowNs()),
      stream: this.stream.name,
      consumer: this.name,
      action,
      domain: this.domain(),
    };
  }

  private advisory(subject: string, body: Record<string, unknown>): void {
    if (!this.jsa.account.sublist.hasInterest(subject)) return;
    this.jsa.client.publish(subject, '', null, Buffer.from(J.toGoJSON(body)));
  }
}

// --- helpers --------------------------------------------------------------------------

/** Push consumers whose deliver subject interest is watched (one timer for all, only while there are any). */
class InterestWatch {
  private readonly set = new Set<Consumer>();
  private timer: NodeJS.Timeout | null = null;

  add(o: Consumer): void {
    this.set.add(o);
    if (this.timer === null) {
      this.timer = setInterval(() => {
        for (const c of this.set) {
          try {
            c.checkInterest();
          } catch {
            // a consumer going away mid-check: the next tick sees it gone
          }
        }
      }, 100);
      this.timer.unref();
    }
  }

  /**
   * A subscription on `subject` was made: the push consumers without
   * interest whose deliver subject it covers look now. Deliver subjects are
   * literal: a literal subscription is one map lookup, a wildcard one walks
   * the consumers without interest; either way not every push consumer per SUB.
   */
  checkNow(subject: string): void {
    if (this.idle.size === 0) return;
    if (!subjectHasWildcard(subject)) {
      const set = this.idle.get(subject);
      if (set !== undefined) for (const c of [...set]) c.checkInterest(false, true);
      return;
    }
    // a wildcard subscription: only deliver subjects under its first token (when literal)
    const dot = subject.indexOf('.');
    const first = dot < 0 ? subject : subject.slice(0, dot);
    const candidates = first === '*' || first === '>' ? [...this.idle.keys()] : [...(this.byFirst.get(first) ?? [])];
    for (const d of candidates) {
      const set = this.idle.get(d);
      if (set !== undefined && subjectIsSubsetMatch(d, subject)) for (const c of [...set]) c.checkInterest(false, true);
    }
  }

  /** first token → deliver subjects in `idle` */
  private readonly byFirst = new Map<string, Set<string>>();

  /** push consumers without interest, by deliver subject */
  private readonly idle = new Map<string, Set<Consumer>>();

  /** a push consumer's interest changed (or it goes away: active true) */
  setIdle(o: Consumer, deliver: string, idle: boolean): void {
    let set = this.idle.get(deliver);
    const dot = deliver.indexOf('.');
    const first = dot < 0 ? deliver : deliver.slice(0, dot);
    if (idle) {
      if (set === undefined) {
        this.idle.set(deliver, (set = new Set()));
        let f = this.byFirst.get(first);
        if (f === undefined) this.byFirst.set(first, (f = new Set()));
        f.add(deliver);
      }
      set.add(o);
    } else if (set !== undefined) {
      set.delete(o);
      if (set.size === 0) {
        this.idle.delete(deliver);
        const f = this.byFirst.get(first);
        if (f !== undefined) {
          f.delete(deliver);
          if (f.size === 0) this.byFirst.delete(first);
        }
      }
    }
  }

  delete(o: Consumer): void {
    this.set.delete(o);
    if (this.set.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

const interestWatch = new InterestWatch();

/** Per stream: consumer names whose store is being removed (a delete's file I/O), until it is gone. */
const storesBeingRemoved = new WeakMap<Stream, Map<string, Promise<void>>>();

/**
 * Subscriptions were added somewhere: push consumers waiting for interest
 * look now rather than at the next poll (the reference is told by its
 * sublist at once, server/consumer.go updateDeliveryInterest).
 */
export function recheckDeliveryInterest(subject: string): void {
  interestWatch.checkNow(subject);
}

function publicConsumers(s: Stream): number {
  let n = 0;
  for (const o of s.consumers.values()) if (!(o instanceof Consumer) || !o.cfg.direct) n++;
  return n;
}

/** server/stream.go partitionUnique */
function partitionUnique(s: Stream, partition: string): boolean {
  for (const o of s.consumers.values()) {
    const f = o.filterSubject;
    if (f === '') return false;
    if (subjectIsSubsetMatch(partition, f) || subjectIsSubsetMatch(f, partition)) return false;
  }
  return true;
}

/** server/stream.go checkInterest: does another consumer still need `seq`? */
export function checkInterest(s: Stream, seq: number, except: StreamConsumer | null): boolean {
  let subj = '';
  const subjects = s.cfg.subjects;
  if (s.consumers.size > 0 && subjects.length > 0 && (subjects.length > 1 || subjectHasWildcard(subjects[0]))) {
    const m = s.store.loadMsg(seq);
    if (m === null) return false;
    subj = m.subject;
  }
  for (const o of s.consumers.values()) if (o !== except && o.needsAck(seq, subj)) return true;
  return false;
}

/** server/stream.go ackMsg: interest/workqueue retention removes what nobody needs any more. */
export function ackStreamMsg(s: Stream, o: StreamConsumer, seq: number): void {
  const r = s.cfg.retention;
  if (r === 'limits' || s.closed) return;
  const st = s.store.state();
  if (seq < st.firstSeq || seq > st.lastSeq) return;
  const remove = r === 'workqueue' ? true : !checkInterest(s, seq, o);
  if (remove) s.deleteMsg(seq, false);
}

/**
 * nowNs, read once per task (a socket read's acks, a delivery pass) rather
 * than per message: a clock read for each delivery, each ack and each
 * pull request check was ~5% of a fetch + ack load's CPU. Times taken in
 * one task (at most a pass of PASS_BUDGET messages) are the same.
 */
function taskNowNs(): number {
  if (taskNs === 0) {
    taskNs = nowNs();
    queueMicrotask(clearTaskNs);
  }
  return taskNs;
}

let taskNs = 0;

function clearTaskNs(): void {
  taskNs = 0;
}

/**
 * The sequences and delivery count in an ack subject (server/consumer.go
 * ackReplyInfo): `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`,
 * exactly nine tokens. Scanned in place rather than split: it runs once per ack.
 */
export function ackReplyInfo(subject: string): { sseq: number; dseq: number; dc: number } | null {
  if (!subject.startsWith('$JS.ACK.')) return null;
  // dot k ends token k; dots 0 and 1 are at 3 and 7
  const dots = ACK_DOTS;
  let at = 7;
  for (let k = 2; k < 8; k++) {
    at = subject.indexOf('.', at + 1);
    if (at < 0) return null;
    dots[k] = at;
  }
  if (subject.indexOf('.', at + 1) >= 0) return null;
  return {
    dc: ackNum(subject, dots[3]! + 1, dots[4]!),
    sseq: ackNum(subject, dots[4]! + 1, dots[5]!),
    dseq: ackNum(subject, dots[5]! + 1, dots[6]!),
  };
}

const ACK_DOTS = new Int32Array(8);

/** server/consumer.go parseAckReplyNum of s[from, to); a bad number is Go's uint64(-1), which no sequence reaches. */
function ackNum(s: string, from: number, to: number): number {
  if (from >= to) return Number.MAX_SAFE_INTEGER;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.MAX_SAFE_INTEGER;
    v = v * 10 + c;
  }
  // past 15 digits the running sum may round differently from a parse of the whole
  return to - from > 15 ? Number(s.slice(from, to)) : v;
}

/** The decimal digits of v (as String(v) prints it) into b at p; returns the end. */
function putUint(b: Buffer, p: number, v: number): number {
  // sequences, counts: small integers, done in int32 arithmetic
  if ((v | 0) !== v || v < 0) return putAscii(b, p, String(v));
  let n = 1;
  for (let t = 10; t <= v; t *= 10) n++;
  let i = p + n;
  do {
    const q = (v / 10) | 0;
    b[--i] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  return p + n;
}

/**
 * The exact decimal value of a nanosecond timestamp (an integer double past
 * 2^53) into b at p; returns the end. String(ts) cost ~0.5 µs a message
 * (V8's shortest round-trip conversion, ~8% of a fetch+ack load's CPU) and
 * printed the shortest digits that parse back to the double, up to 128 ns
 * away from the value the stream stores and reports as the message's time
 * (json.ts nsToTime splits the same way). Seconds and nanoseconds are
 * exact here: s * 1e9 = (s * 1953125) * 2^9 needs at most 53 bits while
 * s < 2^32 (until 2106), so the product and the remainder are computed
 * without rounding.
 *
 * The timestamp is read here, from its holder, and no value past the Smi
 * range is passed to a call: a double argument of a call V8 does not
 * inline is a HeapNumber, and the message's ts and its seconds were ~17 B
 * of garbage per delivery (BENCHMARKS.md, "Session 9").
 */
export function putNs(b: Buffer, p: number, holder: { readonly ts: number }): number {
  const ts = holder.ts;
  if (!Number.isInteger(ts) || ts < 0 || ts >= 2 ** 32 * 1e9) return putAscii(b, p, Number.isInteger(ts) && ts >= 0 ? BigInt(ts).toString() : String(ts));
  let secs = Math.floor(ts / 1e9);
  let frac = ts - secs * 1e9;
  // ts / 1e9 is rounded: its floor can be one off
  if (frac < 0) {
    secs--;
    frac += 1e9;
  } else if (frac >= 1e9) {
    secs++;
    frac -= 1e9;
  }
  if (secs === 0) return putUint(b, p, frac);
  let n = 1;
  for (let t = 10; t <= secs; t *= 10) n++;
  for (let i = p + n - 1; i >= p; i--) {
    const q = Math.floor(secs / 10);
    b[i] = 48 + (secs - q * 10);
    secs = q;
  }
  p += n;
  for (let i = p + 8; i >= p; i--) {
    const q = (frac / 10) | 0;
    b[i] = 48 + (frac - q * 10);
    frac = q;
  }
  return p + 9;
}

function putAscii(b: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p + i] = s.charCodeAt(i);
  return p + s.length;
}

/** An ack body that is empty, `+ACK` or `+OK`. */
function isPlainAck(msg: Buffer): boolean {
  return isPlainAckAt(msg, 0, msg.length);
}

/** isPlainAck of b[from, to) */
function isPlainAckAt(b: Buffer, from: number, to: number): boolean {
  const n = to - from;
  if (n === 0) return true;
  if (b[from] !== 0x2b /* + */) return false;
  if (n === 4) return b[from + 1] === 0x41 && b[from + 2] === 0x43 && b[from + 3] === 0x4b; // ACK
  return n === 3 && b[from + 1] === 0x4f && b[from + 2] === 0x4b; // OK
}

/** ackNumsAt's answer: delivery count, stream sequence, consumer sequence */
export const ACK_NUMS = new Float64Array(3);

/**
 * The numbers of an ack subject's last five tokens, b[from, to) (what
 * follows `$JS.ACK.<stream>.<consumer>.`), into ACK_NUMS as ackReplyInfo
 * reads them: the first three, which must be 1 to 15 digits each, and two
 * more tokens (timestamp, pending) that are not read. false, with nothing
 * decided, for anything else: the caller takes the string path then,
 * which knows the reference's answers to the odd ones.
 */
export function ackNumsAt(b: Buffer, from: number, to: number): boolean {
  let tok = 0;
  let v = 0;
  let len = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? b[i]! : 0x2e;
    if (c === 0x2e) {
      if (len === 0 || tok === 5) return false;
      if (tok < 3) ACK_NUMS[tok] = v;
      tok++;
      v = 0;
      len = 0;
      continue;
    }
    len++;
    if (tok >= 3) continue;
    const d = c - 48;
    if (d < 0 || d > 9 || len > 15) return false;
    v = v * 10 + d;
  }
  return tok === 5;
}

export interface NextRequest {
  batch: number;
  /** ns; 0 = none */
  expires: number;
  maxBytes: number;
  noWait: boolean;
  /** ns */
  heartbeat: number;
}

/** server/consumer.go nextReqFromMsg: a JSON request, a batch number, or one message; a string is the error text. */
export function parseNextRequest(msg: Buffer): NextRequest | string {
  const req = msg.toString('utf8').trim();
  const r: NextRequest = { batch: 1, expires: 0, maxBytes: 0, noWait: false, heartbeat: 0 };
  if (req === '') return r;
  if (req[0] === '{') {
    let o: unknown;
    try {
      o = JSON.parse(req);
    } catch (e) {
      return goJsonSyntaxError(req, e as Error);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'json: cannot unmarshal array into Go value of type server.JSApiConsumerGetNextRequest';
    const m = o as Record<string, unknown>;
    const fields: Array<[keyof NextRequest, string, 'int' | 'int64' | 'bool']> = [
      ['expires', 'expires', 'int64'],
      ['batch', 'batch', 'int'],
      ['maxBytes', 'max_bytes', 'int'],
      ['noWait', 'no_wait', 'bool'],
      ['heartbeat', 'idle_heartbeat', 'int64'],
    ];
    for (const [key, name, kind] of fields) {
      const v = J.field(m, name);
      if (v === undefined || v === null) continue;
      const goType = kind === 'bool' ? 'bool' : kind === 'int64' ? 'time.Duration' : 'int';
      if (kind === 'bool') {
        if (typeof v !== 'boolean') return goTypeError(v, name, goType);
        (r as unknown as Record<string, unknown>)[key] = v;
      } else {
        if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 63) return goTypeError(v, name, goType);
        (r as unknown as Record<string, unknown>)[key] = v;
      }
    }
    if (r.heartbeat > 0 && r.heartbeat * 2 > r.expires) return 'heartbeat value too large';
    return r;
  }
  if (/^[+-]?[0-9]+$/.test(req)) {
    const n = Number(req);
    if (Number.isSafeInteger(n)) r.batch = n;
  }
  return r;
}

function goTypeError(v: unknown, field: string, goType: string): string {
  let what: string;
  if (typeof v === 'string') what = 'string';
  else if (typeof v === 'number') what = `number ${String(v)}`;
  else if (typeof v === 'boolean') what = 'bool';
  else if (Array.isArray(v)) what = 'array';
  else what = 'object';
  return `json: cannot unmarshal ${what} into Go struct field JSApiConsumerGetNextRequest.${field} of type ${goType}`;
}

function goJsonSyntaxError(_req: string, _e: Error): string {
  return 'unexpected end of JSON input';
}

/**
 * A delay Node's timers can take: at least 1 ms, at most 2^31-1 ms (a longer
 * one fires at once: a timer asked for an absurd expires or ack_wait
 * would spin); whoever fires early re-checks and re-arms.
 */
function timerMs(ms: number): number {
  if (!(ms >= 1)) return 1;
  return Math.min(ms, 2 ** 31 - 1);
}

/** A status reply carrying what a pull request had left (Nats-Pending-Messages / -Bytes). */
function pendingStatus(code: number, text: string, wr: WaitingRequest): Buffer {
  return Buffer.from(`NATS/1.0 ${code} ${text}\r\nNats-Pending-Messages: ${wr.n}\r\nNats-Pending-Bytes: ${wr.b}\r\n\r\n`);
}

/** headers_only: the stored headers plus Nats-Msg-Size, no payload (server/consumer.go convertToHeadersOnly). */
function headersOnly(m: MsgView): Buffer {
  const base = m.hl === 0 ? 'NATS/1.0\r\n' : m.buf.toString('latin1', m.off, m.off + m.hl - 2);
  return Buffer.from(`${base}Nats-Msg-Size: ${m.size - m.hl}\r\n\r\n`, 'latin1');
}

/** server/consumer.go createConsumerName: 8 characters of a hash of a nuid */
function createConsumerName(): string {
  return randomId(8, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
}

