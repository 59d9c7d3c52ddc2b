// What the memory and file stores share: the sequence table, the
// per-subject index, the limits (max_msgs, max_bytes, max_msgs_per_subject,
// max_msg_size, max_age, discard old/new), purge/compact/purgeEx and the
// queries. A store only says where a message's bytes live (putMsg, readMsg,
// dropMsg) and hears when the first sequence moves or everything goes.
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
  type StreamState,
  type StreamStore,
  type ConsumerStore,
} from './types.js';

/**
 * Per-sequence columns for the sequences from `base` on. A slot whose subj is
 * 0 holds no message (deleted, skipped or never stored). The table slides
 * forward as the first sequence moves, so its size follows the live range,
 * not the stream's history.
 */
export class SeqTable {
  base = 1;
  cap: number;
  /** subject id (1-based), 0 = no message */
  subj: Uint32Array;
  /** ns; kept after a delete so the column stays ordered for getSeqFromTime */
  ts: Float64Array;
  /** accounted bytes (memStoreMsgSize / fileStoreMsgSize) */
  size: Uint32Array;
  /** store-specific: memory = header length, file = offset in block */
  aux: Uint32Array;
  /** memory store: the message bytes (header then payload) */
  objs: (Buffer | null)[] | null;

  /**
   * Empty until the first sequence arrives (or reserve): a restart creates
   * a table per stream, and an allocation of the default size only to
   * replace it with the recovered size cost more than the recovery itself.
   */
  constructor(withObjs: boolean, cap = 0) {
    this.cap = cap;
    [this.ts, this.subj, this.size, this.aux] = SeqTable.columns(cap);
    this.objs = withObjs ? new Array<Buffer | null>(cap).fill(null) : null;
  }

  /**
   * The four numeric columns over one ArrayBuffer: each ArrayBuffer costs V8
   * tens of microseconds (external memory accounting), and a restart creates
   * a table per stream.
   */
  private static columns(cap: number): [Float64Array, Uint32Array, Uint32Array, Uint32Array] {
    const b = new ArrayBuffer(cap * 20);
    return [
      new Float64Array(b, 0, cap),
      new Uint32Array(b, cap * 8, cap),
      new Uint32Array(b, cap * 12, cap),
      new Uint32Array(b, cap * 16, cap),
    ];
  }

  /** make `seq` addressable; slots below `keepFrom` may be dropped */
  ensure(seq: number, keepFrom: number): void {
    if (seq - this.base < this.cap) return;
    const from = Math.min(keepFrom, seq);
    const drop = from - this.base;
    const live = seq - from + 1;
    // slide when a quarter or more is dead (amortised O(1) per append), grow
    // by half otherwise: capacity stays within 1x-2x of the live range
    if (live <= this.cap && drop * 4 >= this.cap) {
      const n = this.cap - drop;
      this.subj.copyWithin(0, drop);
      this.subj.fill(0, n);
      this.ts.copyWithin(0, drop);
      this.ts.fill(0, n);
      this.size.copyWithin(0, drop);
      this.size.fill(0, n);
      this.aux.copyWithin(0, drop);
      this.aux.fill(0, n);
      if (this.objs !== null) {
        this.objs.copyWithin(0, drop);
        this.objs.fill(null, n);
      }
    } else {
      let cap = Math.max(64, Math.ceil(this.cap * 1.5));
      while (cap < live + (live >> 2)) cap = Math.ceil(cap * 1.5);
      const keep = this.cap - drop;
      const [ts, subj, size, aux] = SeqTable.columns(cap);
      subj.set(this.subj.subarray(drop));
      ts.set(this.ts.subarray(drop));
      size.set(this.size.subarray(drop));
      aux.set(this.aux.subarray(drop));
      this.subj = subj;
      this.ts = ts;
      this.size = size;
      this.aux = aux;
      if (this.objs !== null) {
        const objs = new Array<Buffer | null>(cap).fill(null);
        for (let i = 0; i < keep; i++) objs[i] = this.objs[drop + i]!;
        this.objs = objs;
      }
      this.cap = cap;
    }
    this.base = from;
  }

  /** room for n sequences from the first one stored: only while nothing is */
  reserve(n: number): void {
    if (n <= this.cap) return;
    this.cap = Math.ceil(n * 1.25);
    [this.ts, this.subj, this.size, this.aux] = SeqTable.columns(this.cap);
    if (this.objs !== null) this.objs = new Array<Buffer | null>(this.cap).fill(null);
  }

  reset(base: number): void {
    this.base = base;
    if (this.cap > 4096) {
      this.cap = 1024;
      [this.ts, this.subj, this.size, this.aux] = SeqTable.columns(1024);
      if (this.objs !== null) this.objs = new Array<Buffer | null>(1024).fill(null);
      return;
    }
    this.subj.fill(0);
    this.ts.fill(0);
    this.size.fill(0);
    this.aux.fill(0);
    this.objs?.fill(null);
  }
}

export interface SubjectEntry {
  id: number;
  name: string;
  seqs: SeqList;
}

const EMPTY: SimpleState = Object.freeze({ msgs: 0, first: 0, last: 0 }) as SimpleState;
const MAX_TIMER_MS = 0x7fffffff;
/** past this many candidate subjects a wildcard lookup scans the table instead */
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

  protected readonly table: SeqTable;
  protected readonly subjByName = new Map<string, SubjectEntry>();
  protected subjById: (SubjectEntry | undefined)[] = [undefined];
  private freeIds: number[] = [];

  protected scb: StorageUpdateHandler | null = null;
  private ageTimer: NodeJS.Timeout | null = null;

  constructor(cfg: StoreConfig, withObjs: boolean) {
    this.cfg = { ...cfg };
    this.table = new SeqTable(withObjs);
  }

  // ---- what a store provides ----

  /** accounted size of a message (memStoreMsgSize / fileStoreMsgSize) */
  protected abstract msgSize(subject: string, hdr: Buffer | null, data: Buffer): number;
  /** keep the message's bytes; table columns subj/ts/size are already set */
  protected abstract putMsg(seq: number, idx: number, subject: string, hdr: Buffer | null, data: Buffer, size: number): void;
  /** null when the bytes turned out bad (the store then drops the message) */
  protected abstract readMsg(seq: number, idx: number, subject: string): StoredMsg | null;
  /**
   * forget a message's bytes (secure: overwrite them). `interior` is false
   * when the message is the first one: its removal is implied by the first
   * sequence moving.
   */
  protected abstract dropMsg(seq: number, idx: number, secure: boolean, interior: boolean): void;
  /** the first sequence moved forward (after removals) */
  protected onFirstMoved(): void {}
  /** everything is about to go (purge, compact past the end) */
  protected onPurgeAll(): void {}
  /** sequence taken without a message */
  protected onSkip(_seq: number): void {}

  abstract flush(cb: (err: Error | null) => void): void;
  abstract consumerStore(name: string): ConsumerStore;
  abstract consumerNames(): string[];
  abstract stop(): Promise<void>;
  abstract delete(): Promise<void>;

  // ---- subjects ----

  private addSubject(name: string, seq: number): SubjectEntry {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.subjById.length;
    const se: SubjectEntry = { id, name, seqs: new SeqList(seq) };
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
    const asl = se !== undefined && maxp > 0 && se.seqs.length >= maxp;
    if (cfg.discard === 'new') {
      // server/memstore.go storeRawMsg: the limit checks compare the raw
      // header+payload length, and max_bytes is refused at >=.
      if (asl && cfg.discardNewPerSubject) throw storeError('max-msgs-per-subject');
      if (cfg.maxMsgs > 0 && this.msgs >= cfg.maxMsgs && !asl) throw storeError('max-msgs');
      if (cfg.maxBytes > 0 && this.bytes + raw >= cfg.maxBytes) {
        if (!asl) throw storeError('max-bytes');
        const fi = se!.seqs.first() - this.table.base;
        if (this.table.size[fi]! < raw) throw storeError('max-bytes');
      }
    }
    const size = this.msgSize(subject, hdr, data);

    const t = this.table;
    t.ensure(seq, this.msgs > 0 ? this.first : seq);
    const idx = seq - t.base;
    if (se === undefined) se = this.addSubject(subject, seq);
    else se.seqs.push(seq);
    t.subj[idx] = se.id;
    t.ts[idx] = ts;
    t.size[idx] = size;
    // a gap left by storeRawMsg keeps the ts column ordered
    for (let s = this.last + 1; s < seq; s++) if (s >= t.base) t.ts[s - t.base] = ts;
    this.putMsg(seq, idx, subject, hdr, data, size);

    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;

    if (maxp > 0 && se.seqs.length > maxp) {
      while (se.seqs.length > maxp) this.removeSeq(se.seqs.first(), false);
    }
    this.enforceMsgAndBytes();
    if (this.ageTimer === null && cfg.maxAge > 0) this.armAge();
    if (this.scb !== null) this.scb(1, size, seq, subject);
  }

  skipMsg(): number {
    if (this.closed) throw storeError('closed');
    const seq = this.last + 1;
    const now = nowNs();
    const t = this.table;
    t.ensure(seq, this.msgs > 0 ? this.first : seq);
    t.ts[seq - t.base] = now;
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

  /** a message found on disk, in sequence order; returns its table index */
  protected restoreMsg(seq: number, ts: number, subject: string, size: number): number {
    const t = this.table;
    t.ensure(seq, this.msgs > 0 ? this.first : seq);
    const idx = seq - t.base;
    let se = this.subjByName.get(subject);
    if (se === undefined) se = this.addSubject(subject, seq);
    else se.seqs.push(seq);
    t.subj[idx] = se.id;
    t.ts[idx] = ts;
    t.size[idx] = size;
    for (let s = this.last + 1; s < seq; s++) if (s >= t.base) t.ts[s - t.base] = ts;
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = ts;
    }
    this.msgs++;
    this.bytes += size;
    this.last = seq;
    this.lastTs = ts;
    return idx;
  }

  /** a sequence known to have been taken (a tombstone or skip past the last) */
  protected restoreLast(seq: number, ts: number): void {
    if (seq <= this.last) return;
    const t = this.table;
    t.ensure(seq, this.msgs > 0 ? this.first : seq);
    for (let s = this.last + 1; s <= seq; s++) if (s >= t.base) t.ts[s - t.base] = ts;
    this.last = seq;
    this.lastTs = ts;
    if (this.msgs === 0) {
      this.first = seq + 1;
      this.firstTs = 0;
    }
  }

  /** everything below `first` is gone; `last` was taken */
  protected restoreFirst(first: number, last: number, lastTs: number): void {
    while (this.msgs > 0 && this.first < first) this.removeSeq(this.first, false, false);
    if (last > this.last) this.restoreLast(last, lastTs || this.lastTs);
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
        while (se.seqs.length > maxp) this.removeSeq(se.seqs.first(), false);
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
        while (se.seqs.length > maxp) this.removeSeq(se.seqs.first(), false);
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
    const t = this.table;
    const idx = seq - t.base;
    const sid = t.subj[idx]!;
    if (sid === 0) return false;
    const se = this.subjById[sid]!;
    const size = t.size[idx]!;
    const isFirst = seq === this.first;
    this.dropMsg(seq, idx, secure, !isFirst);
    t.subj[idx] = 0;
    this.msgs--;
    this.bytes -= size;
    se.seqs.remove(seq);
    if (se.seqs.length === 0) this.dropSubject(se);
    if (isFirst) this.advanceFirst();
    if (notify && this.scb !== null) this.scb(-1, -size, seq, se.name);
    return true;
  }

  private advanceFirst(): void {
    const t = this.table;
    if (this.msgs > 0) {
      for (let s = this.first + 1; s <= this.last; s++) {
        const i = s - t.base;
        if (t.subj[i] !== 0) {
          this.first = s;
          this.firstTs = t.ts[i]!;
          this.onFirstMoved();
          return;
        }
      }
    }
    this.first = this.last + 1;
    this.firstTs = 0;
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
    this.table.reset(next);
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
      while (purged < todo && se.seqs.length > 0 && se.seqs.first() <= bound) {
        this.removeSeq(se.seqs.first(), false);
        purged++;
      }
      return purged;
    }
    const t = this.table;
    const cache = new Uint8Array(this.subjById.length);
    for (let s = ss.first; s <= bound && purged < todo; s++) {
      const sid = t.subj[s - t.base]!;
      if (sid === 0) continue;
      let m = cache[sid]!;
      if (m === 0) m = cache[sid] = matchLiteral(this.subjById[sid]!.name, subject) ? 1 : 2;
      if (m === 1 && this.removeSeq(s, false)) purged++;
    }
    return purged;
  }

  // ---- reading ----

  protected live(seq: number): number {
    if (this.msgs === 0 || seq < this.first || seq > this.last) return -1;
    const idx = seq - this.table.base;
    return this.table.subj[idx] === 0 ? -1 : idx;
  }

  private read(seq: number, idx: number): StoredMsg | null {
    return this.readMsg(seq, idx, this.subjById[this.table.subj[idx]!]!.name);
  }

  loadMsg(seq: number): StoredMsg | null {
    if (this.closed) throw storeError('closed');
    const idx = this.live(seq);
    return idx < 0 ? null : this.read(seq, idx);
  }

  loadNextMsg(filter: string, start: number): StoredMsg | null {
    if (this.closed) throw storeError('closed');
    for (;;) {
      const seq = this.nextSeq(filter, start);
      if (seq === 0) return null;
      const m = this.read(seq, seq - this.table.base);
      if (m !== null) return m;
      start = seq + 1;
    }
  }

  /** the first live seq >= start matching filter, 0 when none */
  protected nextSeq(filter: string, start: number): number {
    if (this.msgs === 0) return 0;
    if (start < this.first) start = this.first;
    if (start > this.last) return 0;
    const t = this.table;
    if (isAll(filter)) {
      for (let s = start; s <= this.last; s++) if (t.subj[s - t.base] !== 0) return s;
      return 0;
    }
    if (!subjectHasWildcard(filter)) {
      const se = this.subjByName.get(filter);
      if (se === undefined) return 0;
      // a consumer reading in order mostly finds its next message at `start` itself
      if (t.subj[start - t.base] === se.id) return start;
      const i = se.seqs.lowerBound(start);
      return i < se.seqs.length ? se.seqs.at(i) : 0;
    }
    const cands = this.matching(filter);
    if (cands.length <= WC_LIST_MAX) {
      let best = 0;
      for (const se of cands) {
        const i = se.seqs.lowerBound(start);
        if (i < se.seqs.length) {
          const s = se.seqs.at(i);
          if (best === 0 || s < best) best = s;
        }
      }
      return best;
    }
    const cache = new Uint8Array(this.subjById.length);
    for (let s = start; s <= this.last; s++) {
      const sid = t.subj[s - t.base]!;
      if (sid === 0) continue;
      let m = cache[sid]!;
      if (m === 0) m = cache[sid] = matchLiteral(this.subjById[sid]!.name, filter) ? 1 : 2;
      if (m === 1) return s;
    }
    return 0;
  }

  loadLastMsg(subject: string): StoredMsg | null {
    if (this.closed) throw storeError('closed');
    if (this.msgs === 0) return null;
    let seq = 0;
    if (isAll(subject)) {
      seq = this.lastLive();
    } else {
      for (const se of this.matching(subject)) if (se.seqs.last() > seq) seq = se.seqs.last();
    }
    return seq === 0 ? null : this.read(seq, seq - this.table.base);
  }

  private lastLive(): number {
    if (this.msgs === 0) return 0;
    const t = this.table;
    for (let s = this.last; s >= this.first; s--) if (t.subj[s - t.base] !== 0) return s;
    return 0;
  }

  getSeqFromTime(ts: number): number {
    if (this.msgs === 0) return this.last + 1;
    const t = this.table;
    let lo = this.first;
    let hi = this.last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (t.ts[mid - t.base]! < ts) lo = mid + 1;
      else hi = mid;
    }
    while (lo <= this.last && t.subj[lo - t.base] === 0) lo++;
    return lo;
  }

  filteredState(seq: number, subject: string): SimpleState {
    if (this.msgs === 0) return { ...EMPTY };
    if (seq < this.first) seq = this.first;
    if (seq > this.last) return { ...EMPTY };
    if (isAll(subject)) {
      if (seq <= this.first) return { msgs: this.msgs, first: this.first, last: this.lastLive() };
      const t = this.table;
      const out = { msgs: 0, first: 0, last: 0 };
      for (let s = seq; s <= this.last; s++) {
        if (t.subj[s - t.base] !== 0) {
          out.msgs++;
          if (out.first === 0) out.first = s;
          out.last = s;
        }
      }
      return out;
    }
    const out = { msgs: 0, first: 0, last: 0 };
    for (const se of this.matching(subject)) {
      const i = se.seqs.lowerBound(seq);
      const n = se.seqs.length - i;
      if (n <= 0) continue;
      out.msgs += n;
      const f = se.seqs.at(i);
      if (out.first === 0 || f < out.first) out.first = f;
      const l = se.seqs.last();
      if (l > out.last) out.last = l;
    }
    return out;
  }

  subjectsState(filter: string): Map<string, SimpleState> {
    const out = new Map<string, SimpleState>();
    for (const se of this.matching(filter)) {
      out.set(se.name, { msgs: se.seqs.length, first: se.seqs.first(), last: se.seqs.last() });
    }
    return out;
  }

  subjectsTotals(filter: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const se of this.matching(filter)) out.set(se.name, se.seqs.length);
    return out;
  }

  deletedSeqs(): number[] {
    const out: number[] = [];
    if (this.msgs === 0) return out;
    const t = this.table;
    for (let s = this.first + 1; s < this.last; s++) if (t.subj[s - t.base] === 0) out.push(s);
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
