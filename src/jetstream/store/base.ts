// What the memory and file stores share: the per-subject index, the limits
// (max_msgs, max_bytes, max_msgs_per_subject, max_msg_size, max_age, discard
// old/new), purge/compact/purgeEx and the queries. A store says what it
// keeps per sequence (subject id, time, size: a dense table in memory.ts,
// per-block bitmaps and columns loaded on demand in file.ts) through the
// slot primitives below, where a message's bytes live (putMsg, readMsg,
// dropMsg), and hears when the first sequence moves or everything goes.
// Semantics follow server/memstore.go of nats-server 2.9.10 (the file store
// there agrees on all of them); quirks kept are named where they are.

import { matchLiteral, subjectHasWildcard } from '../../subjects/validate.js';
import { SeqList } from './seqlist.js';
import {
  storeError,
  nowNs,
  type SimpleState,
  type StorageType,
  type StorageUpdateHandler,
  type StoreConfig,
  type StoredMsg,
  type MsgView,
  type StreamState,
  type StreamStore,
  type ConsumerStore,
} from './types.js';

/**
 * A subject's messages. Exact (a SeqList) while few; past the store's
 * `exactMax` only the count and the first and last sequences are kept, and
 * those two may go stale (a bound, not the value) when the message they name
 * is removed: the next question that needs them scans the store's slots from
 * the bound (server/filestore.go keeps per-subject first/last the same way,
 * with a "first needs update" flag). A subject with one message (a KV key)
 * needs neither.
 */
export class SubjectEntry {
  seqs: SeqList | null = null;
  n = 1;
  f: number;
  l: number;
  fStale = false;
  lStale = false;
  constructor(
    readonly id: number,
    readonly name: string,
    seq: number,
  ) {
    this.f = seq;
    this.l = seq;
  }
}

const EMPTY: SimpleState = Object.freeze({ msgs: 0, first: 0, last: 0 }) as SimpleState;
const MAX_TIMER_MS = 0x7fffffff;
/** past this many candidate subjects a wildcard lookup scans the slots instead */
const WC_LIST_MAX = 32;

function isAll(filter: string): boolean {
  return filter === '' || filter === '>';
}

export abstract class IndexedStore implements StreamStore {
  abstract readonly type: StorageType;
  protected cfg: StoreConfig;
  protected closed = false;

  // server/memstore.go: an empty new store reports first 0 / last 0; after a
  // purge first is last+1.
  protected first = 0;
  protected last = 0;
  protected firstTs = 0;
  protected lastTs = 0;
  protected msgs = 0;
  protected bytes = 0;

  protected readonly subjByName = new Map<string, SubjectEntry>();
  protected subjById: (SubjectEntry | undefined)[] = [undefined];
  private freeIds: number[] = [];

  protected scb: StorageUpdateHandler | null = null;
  /** what loadNextMsgView returns, refilled by each view read */
  private readonly view: MsgView = { subject: '', seq: 0, ts: 0, buf: Buffer.alloc(0), off: 0, hl: 0, size: 0 };
  private ageTimer: NodeJS.Timeout | null = null;

  /**
   * @param exactMax a subject keeps its sequences in a list up to this many
   * messages, only count/first/last past it (see SubjectEntry)
   */
  constructor(
    cfg: StoreConfig,
    private readonly exactMax: number,
  ) {
    this.cfg = { ...cfg };
  }

  // ---- what a store keeps per sequence ----
  // `seq` is within [first, last] unless said otherwise; a slot without a
  // live message has subject id 0.

  /** the live message's subject id at seq, 0 when none (any seq) */
  protected abstract sidAt(seq: number): number;
  /** a live message's timestamp */
  protected abstract tsAt(seq: number): number;
  /** a live message's accounted size */
  protected abstract sizeAt(seq: number): number;
  /** the first live seq in [from, to], 0 when none */
  protected abstract nextLive(from: number, to: number): number;
  /** the last live seq in [from, to], 0 when none */
  protected abstract prevLive(from: number, to: number): number;
  /** live messages in [from, to] */
  protected abstract countLive(from: number, to: number): number;
  /** the first live seq in [from, to] on subject id sid, 0 when none */
  protected abstract nextWithSid(sid: number, from: number, to: number): number;
  /** the last live seq in [from, to] on subject id sid, 0 when none */
  protected abstract prevWithSid(sid: number, from: number, to: number): number;
  /** live messages in [from, to] on subject id sid */
  protected abstract countWithSid(sid: number, from: number, to: number): number;
  /** the first live seq whose timestamp is >= ts, 0 when none */
  protected abstract seqAtTime(ts: number): number;
  /** sequences [from, to] were taken without messages (skips, storeRawMsg gaps) */
  protected takeSeqs(_from: number, _to: number, _ts: number): void {}
  /** every slot goes; the next message gets `next` */
  protected abstract resetSlots(next: number): void;

  // ---- what a store provides ----

  /** accounted size of a message (memStoreMsgSize / fileStoreMsgSize) */
  protected abstract msgSize(subject: string, hdr: Buffer | null, data: Buffer): number;
  /** keep the message and its slot (subject id, time, size) */
  protected abstract putMsg(
    seq: number,
    sid: number,
    subject: string,
    hdr: Buffer | null,
    data: Buffer,
    size: number,
    ts: number,
  ): void;
  /** null when the bytes turned out bad (the store then drops the message) */
  protected abstract readMsg(seq: number, subject: string): StoredMsg | null;
  /** readMsg into `into`, lending the store's bytes until the next view read (loadNextMsgView) */
  protected abstract readView(seq: number, subject: string, into: MsgView): MsgView | null;
  /**
   * forget a live message (its slot reads 0 after; secure: overwrite the
   * bytes). `interior` is false when the message is the first one: its
   * removal is implied by the first sequence moving.
   */
  protected abstract dropMsg(seq: number, size: number, secure: boolean, interior: boolean): void;
  /** the first sequence moved forward (after removals) */
  protected onFirstMoved(): void {}
  /** everything is about to go (purge, compact past the end) */
  protected onPurgeAll(): void {}
  /** sequence taken without a message */
  protected onSkip(_seq: number): void {}

  abstract flush(cb: (err: Error | null) => void): void;
  abstract flushed(): boolean;
  abstract consumerStore(name: string): ConsumerStore;
  abstract consumerNames(): string[];
  abstract stop(): Promise<void>;
  abstract delete(): Promise<void>;

  // ---- subjects ----

  private addSubject(name: string, seq: number): SubjectEntry {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.subjById.length;
    const se = new SubjectEntry(id, name, seq);
    this.subjById[id] = se;
    this.subjByName.set(name, se);
    return se;
  }

  private dropSubject(se: SubjectEntry): void {
    this.subjByName.delete(se.name);
    this.subjById[se.id] = undefined;
    this.freeIds.push(se.id);
  }

  private clearSubjects(): void {
    this.subjByName.clear();
    this.subjById = [undefined];
    this.freeIds = [];
  }

  private subjPush(se: SubjectEntry, seq: number): void {
    const l = se.seqs;
    if (l !== null) {
      l.push(seq);
      if (l.length > this.exactMax) {
        // too many to list: count and bounds from here on
        se.n = l.length;
        se.f = l.first();
        se.l = seq;
        se.fStale = se.lStale = false;
        se.seqs = null;
      }
      return;
    }
    if (se.n === 1 && this.exactMax > 1 && !se.fStale && !se.lStale) {
      se.seqs = new SeqList(se.f);
      se.seqs.push(seq);
      return;
    }
    se.n++;
    se.l = seq;
    se.lStale = false;
  }

  private subjRemove(se: SubjectEntry, seq: number): void {
    if (se.seqs !== null) {
      se.seqs.remove(seq);
      return;
    }
    se.n--;
    if (se.n === 0) return;
    if (seq === se.f) {
      se.f = seq + 1;
      se.fStale = true;
    }
    if (seq === se.l) {
      se.l = seq - 1;
      se.lStale = true;
    }
  }

  protected subjCount(se: SubjectEntry): number {
    return se.seqs !== null ? se.seqs.length : se.n;
  }

  protected subjFirst(se: SubjectEntry): number {
    if (se.seqs !== null) return se.seqs.first();
    if (se.fStale) {
      const s = this.nextWithSid(se.id, se.f, se.lStale ? this.last : se.l);
      if (s !== 0) {
        se.f = s;
        se.fStale = false;
      }
    }
    return se.f;
  }

  protected subjLast(se: SubjectEntry): number {
    if (se.seqs !== null) return se.seqs.last();
    if (se.lStale) {
      const s = this.prevWithSid(se.id, Math.max(se.f, this.first), se.l);
      if (s !== 0) {
        se.l = s;
        se.lStale = false;
      }
    }
    return se.l;
  }

  /** the subject's first seq >= start, 0 when none */
  private subjNext(se: SubjectEntry, start: number): number {
    if (se.seqs !== null) {
      const i = se.seqs.lowerBound(start);
      return i < se.seqs.length ? se.seqs.at(i) : 0;
    }
    const f = this.subjFirst(se);
    if (start <= f) return f;
    const l = this.subjLast(se);
    if (start > l) return 0;
    return this.nextWithSid(se.id, start, l);
  }

  /** the subject's messages from seq on */
  private subjCountFrom(se: SubjectEntry, seq: number): number {
    if (se.seqs !== null) return se.seqs.length - se.seqs.lowerBound(seq);
    if (seq <= this.subjFirst(se)) return se.n;
    const l = this.subjLast(se);
    if (seq > l) return 0;
    return this.countWithSid(se.id, seq, l);
  }

  /** subject entries a filter selects (literal: at most one) */
  protected matching(filter: string): SubjectEntry[] {
    if (isAll(filter)) return [...this.subjByName.values()];
    if (!subjectHasWildcard(filter)) {
      const se = this.subjByName.get(filter);
      return se === undefined ? [] : [se];
    }
    const out: SubjectEntry[] = [];
    for (const se of this.subjByName.values()) if (matchLiteral(se.name, filter)) out.push(se);
    return out;
  }

  // ---- storing ----

  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts = 0): [number, number] {
    if (this.closed) throw storeError('closed');
    const seq = this.last + 1;
    if (!ts) ts = nowNs();
    this.store(subject, hdr, data, seq, ts);
    return [seq, ts];
  }

  storeRawMsg(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: number): void {
    if (this.closed) throw storeError('closed');
    if (seq <= this.last) throw storeError('sequence-mismatch');
    this.store(subject, hdr, data, seq, ts || nowNs());
  }

  private store(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: number): void {
    const cfg = this.cfg;
    if (hdr !== null && hdr.length === 0) hdr = null;
    const raw = (hdr === null ? 0 : hdr.length) + data.length;
    if (cfg.maxMsgSize > 0 && raw > cfg.maxMsgSize) throw storeError('too-large');
    let se = this.subjByName.get(subject);
    const maxp = cfg.maxMsgsPerSubject;
    // "at subject limit": storing will replace this subject's oldest
    const asl = se !== undefined && maxp > 0 && this.subjCount(se) >= maxp;
    if (cfg.discard === 'new') {
      // server/memstore.go storeRawMsg: the limit checks compare the raw
      // header+payload length, and max_bytes is refused at >=.
      if (asl && cfg.discardNewPerSubject) throw storeError('max-msgs-per-subject');
      if (cfg.maxMsgs > 0 && this.msgs >= cfg.maxMsgs && !asl) throw storeError('max-msgs');
      if (cfg.maxBytes > 0 && this.bytes + raw >= cfg.maxBytes) {
        if (!asl) throw storeError('max-bytes');
        if (this.sizeAt(this.subjFirst(se!)) < raw) throw storeError('max-bytes');
      }
    }
    const size = this.msgSize(subject, hdr, data);

    // a gap left by storeRawMsg
    if (seq > this.last + 1) this.takeSeqs(this.last + 1, seq - 1, ts);
    if (se === undefined) se = this.addSubject(subject, seq);
    else this.subjPush(se, seq);
    this.putMsg(seq, se.id, subject, hdr, data, size, ts);

    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;

    if (maxp > 0) while (this.subjCount(se) > maxp) this.removeSeq(this.subjFirst(se), false);
    this.enforceMsgAndBytes();
    if (this.ageTimer === null && cfg.maxAge > 0) this.armAge();
    if (this.scb !== null) this.scb(1, size, seq, subject);
  }

  skipMsg(): number {
    if (this.closed) throw storeError('closed');
    const seq = this.last + 1;
    const now = nowNs();
    this.takeSeqs(seq, seq, now);
    this.last = seq;
    this.lastTs = now;
    if (this.msgs === 0) {
      // server/memstore.go SkipMsg: an empty store's first moves past it
      this.first = seq + 1;
      this.firstTs = 0;
    }
    this.onSkip(seq);
    return seq;
  }

  // ---- recovery (file store): rebuild the index without limits or callbacks ----

  /** a message found on disk, in sequence order; returns its subject id */
  protected restoreMsg(seq: number, ts: number, subject: string, size: number): number {
    let se = this.subjByName.get(subject);
    if (se === undefined) se = this.addSubject(subject, seq);
    else this.subjPush(se, seq);
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;
    return se.id;
  }

  /**
   * A subject as a clean shutdown summarised it (store/summary.ts): its
   * listed sequences, or its count and bounds.
   */
  protected restoreSubject(name: string, n: number, f: number, l: number, fStale: boolean, lStale: boolean, seqs: number[] | null): void {
    const se = this.addSubject(name, seqs !== null ? seqs[0]! : f);
    if (seqs !== null) {
      for (let i = 1; i < seqs.length; i++) this.subjPush(se, seqs[i]!);
      return;
    }
    se.n = n;
    se.f = f;
    se.l = l;
    se.fStale = fStale;
    se.lStale = lStale;
  }

  /** a sequence known to have been taken (a tombstone or skip past the last) */
  protected restoreLast(seq: number, ts: number): void {
    if (seq <= this.last) return;
    this.takeSeqs(this.last + 1, seq, ts);
    this.last = seq;
    this.lastTs = ts;
    if (this.msgs === 0) {
      this.first = seq + 1;
      this.firstTs = 0;
    }
  }

  /** everything below `first` is gone */
  protected restoreFirst(first: number): void {
    while (this.msgs > 0 && this.first < first) this.removeSeq(this.first, false, false);
    if (this.msgs === 0 && this.first < first) {
      this.first = first;
      this.firstTs = 0;
    }
  }

  /** after recovery: limits that a changed config or the clock now demand */
  protected enforceAfterRecovery(): void {
    const maxp = this.cfg.maxMsgsPerSubject;
    if (maxp > 0) {
      for (const se of [...this.subjByName.values()]) {
        while (this.subjCount(se) > maxp) this.removeSeq(this.subjFirst(se), false);
      }
    }
    this.enforceMsgAndBytes();
    if (this.cfg.maxAge > 0) this.expire();
  }

  // ---- limits ----

  private enforceMsgAndBytes(): void {
    const cfg = this.cfg;
    if (cfg.maxMsgs > 0) while (this.msgs > cfg.maxMsgs) this.removeSeq(this.first, false);
    if (cfg.maxBytes > 0) while (this.bytes > cfg.maxBytes && this.msgs > 0) this.removeSeq(this.first, false);
  }

  private armAge(): void {
    if (this.msgs === 0 || this.closed) return;
    const now = Date.now() * 1e6;
    const ms = Math.max(0, (this.firstTs + this.cfg.maxAge - now) / 1e6);
    this.ageTimer = setTimeout(this.expire, Math.min(Math.ceil(ms), MAX_TIMER_MS));
    this.ageTimer.unref();
  }

  /** removes what max_age expired, then re-arms for the new oldest message */
  protected expire = (): void => {
    this.ageTimer = null;
    if (this.closed || this.cfg.maxAge <= 0) return;
    const min = Date.now() * 1e6 - this.cfg.maxAge;
    while (this.msgs > 0 && this.firstTs <= min) this.removeSeq(this.first, false);
    this.armAge();
  };

  private stopAge(): void {
    if (this.ageTimer !== null) {
      clearTimeout(this.ageTimer);
      this.ageTimer = null;
    }
  }

  updateConfig(cfg: StoreConfig): void {
    const oldMaxp = this.cfg.maxMsgsPerSubject;
    this.cfg = { ...cfg };
    const maxp = cfg.maxMsgsPerSubject;
    if (maxp > 0 && (oldMaxp <= 0 || maxp < oldMaxp)) {
      for (const se of [...this.subjByName.values()]) {
        while (this.subjCount(se) > maxp) this.removeSeq(this.subjFirst(se), false);
      }
    }
    this.enforceMsgAndBytes();
    this.stopAge();
    if (cfg.maxAge > 0) this.expire();
  }

  // ---- removal ----

  /** the one removal path; false when seq holds no message */
  protected removeSeq(seq: number, secure: boolean, notify = true): boolean {
    if (this.msgs === 0 || seq < this.first || seq > this.last) return false;
    const sid = this.sidAt(seq);
    if (sid === 0) return false;
    const se = this.subjById[sid]!;
    const size = this.sizeAt(seq);
    const isFirst = seq === this.first;
    this.dropMsg(seq, size, secure, !isFirst);
    this.msgs--;
    this.bytes -= size;
    this.subjRemove(se, seq);
    if (this.subjCount(se) === 0) this.dropSubject(se);
    if (isFirst) this.advanceFirst();
    if (notify && this.scb !== null) this.scb(-1, -size, seq, se.name);
    return true;
  }

  private advanceFirst(): void {
    const s = this.msgs > 0 ? this.nextLive(this.first + 1, this.last) : 0;
    if (s !== 0) {
      this.first = s;
      this.firstTs = this.tsAt(s);
    } else {
      this.first = this.last + 1;
      this.firstTs = 0;
    }
    this.onFirstMoved();
  }

  removeMsg(seq: number): boolean {
    if (this.closed) throw storeError('closed');
    return this.removeSeq(seq, false);
  }

  eraseMsg(seq: number): boolean {
    if (this.closed) throw storeError('closed');
    return this.removeSeq(seq, true);
  }

  purge(): number {
    if (this.closed) throw storeError('closed');
    const purged = this.msgs;
    const bytes = this.bytes;
    this.wipe(this.last + 1);
    if (this.scb !== null && purged > 0) this.scb(-purged, -bytes, 0, '');
    return purged;
  }

  /** everything goes; the next message gets `next` */
  private wipe(next: number): void {
    this.onPurgeAll();
    this.resetSlots(next);
    this.clearSubjects();
    this.first = next;
    this.last = Math.max(this.last, next - 1);
    this.firstTs = 0;
    this.msgs = 0;
    this.bytes = 0;
    this.onFirstMoved();
  }

  compact(seq: number): number {
    if (this.closed) throw storeError('closed');
    if (seq <= 0) return this.purge();
    let purged = 0;
    let bytes = 0;
    if (seq > this.last) {
      // server/memstore.go Compact past the end: purge, and the next
      // message gets seq.
      purged = this.msgs;
      bytes = this.bytes;
      this.wipe(seq);
      this.last = seq - 1;
    } else {
      const before = this.bytes;
      while (this.msgs > 0 && this.first < seq) {
        this.removeSeq(this.first, false, false);
        purged++;
      }
      bytes = before - this.bytes;
      if (this.msgs === 0 && this.first < seq) this.first = seq;
    }
    if (this.scb !== null && purged > 0) this.scb(-purged, -bytes, 0, '');
    return purged;
  }

  purgeEx(subject: string, seq: number, keep: number): number {
    if (this.closed) throw storeError('closed');
    if (seq > 1 && keep > 0) throw storeError('purge-arg-mismatch');
    if (isAll(subject)) {
      if (keep === 0 && seq <= 1) return this.purge();
      if (seq > 1) return this.compact(seq);
      if (keep >= this.msgs) return 0;
      // server/memstore.go PurgeEx: keeps from last-keep+1, counting
      // interior deletes as kept
      return this.compact(this.last - keep + 1);
    }
    const ss = this.filteredState(1, subject);
    if (ss.msgs === 0) return 0;
    let todo = ss.msgs;
    if (keep > 0) {
      if (keep >= ss.msgs) return 0;
      todo -= keep;
    }
    const bound = seq > 1 ? seq - 1 : ss.last;
    let purged = 0;
    if (!subjectHasWildcard(subject)) {
      const se = this.subjByName.get(subject)!;
      while (purged < todo && this.subjCount(se) > 0 && this.subjFirst(se) <= bound) {
        this.removeSeq(this.subjFirst(se), false);
        purged++;
      }
      return purged;
    }
    const cache = new Uint8Array(this.subjById.length);
    for (let s = this.nextLive(ss.first, bound); s !== 0 && purged < todo; s = s < bound ? this.nextLive(s + 1, bound) : 0) {
      const sid = this.sidAt(s);
      if (sid === 0) continue;
      let m = cache[sid]!;
      if (m === 0) m = cache[sid] = matchLiteral(this.subjById[sid]!.name, subject) ? 1 : 2;
      if (m === 1 && this.removeSeq(s, false)) purged++;
    }
    return purged;
  }

  // ---- reading ----

  /** seq holds a live message */
  protected isLive(seq: number): boolean {
    return this.msgs > 0 && seq >= this.first && seq <= this.last && this.sidAt(seq) !== 0;
  }

  private read(seq: number): StoredMsg | null {
    const sid = this.sidAt(seq);
    return sid === 0 ? null : this.readMsg(seq, this.subjById[sid]!.name);
  }

  loadMsg(seq: number): StoredMsg | null {
    if (this.closed) throw storeError('closed');
    if (this.msgs === 0 || seq < this.first || seq > this.last) return null;
    return this.read(seq);
  }

  loadNextMsg(filter: string, start: number): StoredMsg | null {
    if (this.closed) throw storeError('closed');
    for (;;) {
      const seq = this.nextSeq(filter, start);
      if (seq === 0) return null;
      const m = this.read(seq);
      if (m !== null) return m;
      start = seq + 1;
    }
  }

  loadNextMsgView(filter: string, start: number): MsgView | null {
    if (this.closed) throw storeError('closed');
    for (;;) {
      const seq = this.nextSeq(filter, start);
      if (seq === 0) return null;
      const sid = this.sidAt(seq);
      if (sid !== 0) {
        const v = this.readView(seq, this.subjById[sid]!.name, this.view);
        if (v !== null) return v;
      }
      start = seq + 1;
    }
  }

  /** the first live seq >= start matching filter, 0 when none */
  protected nextSeq(filter: string, start: number): number {
    if (this.msgs === 0) return 0;
    if (start < this.first) start = this.first;
    if (start > this.last) return 0;
    if (isAll(filter)) return this.nextLive(start, this.last);
    if (!subjectHasWildcard(filter)) {
      const se = this.subjByName.get(filter);
      if (se === undefined) return 0;
      // a consumer reading in order mostly finds its next message at `start` itself
      if (this.sidAt(start) === se.id) return start;
      return this.subjNext(se, start);
    }
    const cands = this.matching(filter);
    if (cands.length <= WC_LIST_MAX) {
      let best = 0;
      for (const se of cands) {
        const s = this.subjNext(se, start);
        if (s !== 0 && (best === 0 || s < best)) best = s;
      }
      return best;
    }
    const cache = new Uint8Array(this.subjById.length);
    const last = this.last;
    for (let s = this.nextLive(start, last); s !== 0; s = s < last ? this.nextLive(s + 1, last) : 0) {
      const sid = this.sidAt(s);
      if (sid === 0) continue;
      let m = cache[sid]!;
      if (m === 0) m = cache[sid] = matchLiteral(this.subjById[sid]!.name, filter) ? 1 : 2;
      if (m === 1) return s;
    }
    return 0;
  }

  loadLastMsg(subject: string): StoredMsg | null {
    const seq = this.lastSeqOf(subject);
    return seq === 0 ? null : this.read(seq);
  }

  lastSeqOf(subject: string): number {
    if (this.closed) throw storeError('closed');
    if (this.msgs === 0) return 0;
    if (isAll(subject)) return this.lastLive();
    let seq = 0;
    for (const se of this.matching(subject)) {
      const l = this.subjLast(se);
      if (l > seq) seq = l;
    }
    return seq;
  }

  private lastLive(): number {
    return this.msgs === 0 ? 0 : this.prevLive(this.first, this.last);
  }

  getSeqFromTime(ts: number): number {
    if (this.msgs === 0) return this.last + 1;
    const s = this.seqAtTime(ts);
    return s === 0 ? this.last + 1 : s;
  }

  filteredState(seq: number, subject: string): SimpleState {
    if (this.msgs === 0) return { ...EMPTY };
    if (seq < this.first) seq = this.first;
    if (seq > this.last) return { ...EMPTY };
    if (isAll(subject)) {
      if (seq <= this.first) return { msgs: this.msgs, first: this.first, last: this.lastLive() };
      const n = this.countLive(seq, this.last);
      if (n === 0) return { ...EMPTY };
      return { msgs: n, first: this.nextLive(seq, this.last), last: this.prevLive(seq, this.last) };
    }
    const out = { msgs: 0, first: 0, last: 0 };
    for (const se of this.matching(subject)) {
      const n = this.subjCountFrom(se, seq);
      if (n <= 0) continue;
      out.msgs += n;
      const f = this.subjNext(se, seq);
      if (out.first === 0 || f < out.first) out.first = f;
      const l = this.subjLast(se);
      if (l > out.last) out.last = l;
    }
    return out;
  }

  subjectsState(filter: string): Map<string, SimpleState> {
    const out = new Map<string, SimpleState>();
    for (const se of this.matching(filter)) {
      out.set(se.name, { msgs: this.subjCount(se), first: this.subjFirst(se), last: this.subjLast(se) });
    }
    return out;
  }

  subjectsTotals(filter: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const se of this.matching(filter)) out.set(se.name, this.subjCount(se));
    return out;
  }

  deletedSeqs(): number[] {
    const out: number[] = [];
    if (this.msgs === 0) return out;
    const last = this.last;
    for (let s = this.first; s < last; ) {
      const n = this.nextLive(s + 1, last);
      const end = n === 0 ? last + 1 : n;
      for (let d = s + 1; d < end && d < last; d++) out.push(d);
      if (n === 0) break;
      s = n;
    }
    return out;
  }

  state(): StreamState {
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      firstSeq: this.first,
      firstTs: this.firstTs,
      lastSeq: this.last,
      lastTs: this.lastTs,
      numSubjects: this.subjByName.size,
      numDeleted: this.msgs > 0 && this.last > this.first ? this.last - this.first + 1 - this.msgs : 0,
    };
  }

  registerStorageUpdates(cb: StorageUpdateHandler): void {
    this.scb = cb;
  }

  protected close(): void {
    this.closed = true;
    this.stopAge();
  }
}
