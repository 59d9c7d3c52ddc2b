// The memory store: messages live in a dense sequence table (SeqTable:
// subject id, time, size and where the bytes are, per sequence). Everything
// else (limits, subject index, queries) is IndexedStore (store/base.ts).
// server/memstore.go semantics.

import { randomFillSync } from 'node:crypto';
import { IndexedStore } from './base.js';
import { MemoryConsumerStore } from './consumer.js';
import { pagedArrayBuffer, pagedBuffer } from './pages.js';
import { memStoreMsgSize, storeError, type ConsumerStore, type MsgView, type StoreConfig, type StoredMsg } from './types.js';

const SLAB = 128 * 1024;
/** messages larger than this get a buffer of their own */
const BIG = 16 * 1024;

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
    const b = pagedArrayBuffer(cap * 20);
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


export class MemoryStore extends IndexedStore {
  readonly type = 'memory' as const;
  private consumers = new Map<string, MemoryConsumerStore>();

  private readonly table = new SeqTable(true);

  constructor(cfg: StoreConfig) {
    // every subject's sequences listed: the messages are in memory anyway
    super(cfg, Infinity);
  }

  // ---- slots: the dense table ----

  protected sidAt(seq: number): number {
    const i = seq - this.table.base;
    return i >= 0 && i < this.table.cap ? this.table.subj[i]! : 0;
  }

  protected tsAt(seq: number): number {
    return this.table.ts[seq - this.table.base]!;
  }

  protected sizeAt(seq: number): number {
    return this.table.size[seq - this.table.base]!;
  }

  protected nextLive(from: number, to: number): number {
    const t = this.table;
    for (let s = from; s <= to; s++) if (t.subj[s - t.base] !== 0) return s;
    return 0;
  }

  protected prevLive(from: number, to: number): number {
    const t = this.table;
    for (let s = to; s >= from; s--) if (t.subj[s - t.base] !== 0) return s;
    return 0;
  }

  protected countLive(from: number, to: number): number {
    const t = this.table;
    let n = 0;
    for (let s = from; s <= to; s++) if (t.subj[s - t.base] !== 0) n++;
    return n;
  }

  protected nextWithSid(sid: number, from: number, to: number): number {
    const t = this.table;
    for (let s = from; s <= to; s++) if (t.subj[s - t.base] === sid) return s;
    return 0;
  }

  protected prevWithSid(sid: number, from: number, to: number): number {
    const t = this.table;
    for (let s = to; s >= from; s--) if (t.subj[s - t.base] === sid) return s;
    return 0;
  }

  protected countWithSid(sid: number, from: number, to: number): number {
    const t = this.table;
    let n = 0;
    for (let s = from; s <= to; s++) if (t.subj[s - t.base] === sid) n++;
    return n;
  }

  /** binary search: the ts column stays ordered (deleted and skipped slots keep a time) */
  protected seqAtTime(ts: number): number {
    const t = this.table;
    let lo = this.first;
    let hi = this.last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (t.ts[mid - t.base]! < ts) lo = mid + 1;
      else hi = mid;
    }
    while (lo <= this.last && t.subj[lo - t.base] === 0) lo++;
    return lo <= this.last ? lo : 0;
  }

  protected override takeSeqs(from: number, to: number, ts: number): void {
    const t = this.table;
    t.ensure(to, this.msgs > 0 ? this.first : from);
    for (let s = from; s <= to; s++) if (s >= t.base) t.ts[s - t.base] = ts;
  }

  protected resetSlots(next: number): void {
    this.table.reset(next);
  }

  protected msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return memStoreMsgSize(subject, hdr, data);
  }

  // Messages are copied into shared slabs (one allocation per SLAB bytes,
  // not one Buffer object per message: far less for the GC to trace). A
  // slab is freed by the GC once no stored message (and no loaded view)
  // refers to it. Layout per message: u32 header length, header, payload.
  private slab: Buffer = Buffer.alloc(0);
  private slabOff = 0;

  protected putMsg(seq: number, sid: number, _subject: string, hdr: Buffer | null, data: Buffer, size: number, ts: number): void {
    const t = this.table;
    t.ensure(seq, this.msgs > 0 ? this.first : seq);
    const idx = seq - t.base;
    t.subj[idx] = sid;
    t.ts[idx] = ts;
    t.size[idx] = size;
    const hl = hdr === null ? 0 : hdr.length;
    const n = 4 + hl + data.length;
    let buf: Buffer;
    let off: number;
    if (n > BIG) {
      // its own malloc'd buffer: a mapping per message (pages.ts) costs ~0.1 ms,
      // as much as copying an object store's 128 KiB chunk ten times
      buf = Buffer.allocUnsafeSlow(n);
      off = 0;
    } else {
      if (this.slabOff + n > this.slab.length) {
        this.slab = pagedBuffer(SLAB);
        this.slabOff = 0;
      }
      buf = this.slab;
      off = this.slabOff;
      this.slabOff += n;
    }
    buf[off] = hl & 0xff;
    buf[off + 1] = (hl >>> 8) & 0xff;
    buf[off + 2] = (hl >>> 16) & 0xff;
    buf[off + 3] = hl >>> 24;
    if (hl > 0) buf.set(hdr!, off + 4);
    buf.set(data, off + 4 + hl);
    this.table.objs![idx] = buf;
    this.table.aux[idx] = off;
  }

  /** header + payload length, from the accounted size (memStoreMsgSize) */
  private bodyLen(idx: number, subjectLength: number): number {
    return this.table.size[idx]! - subjectLength - 16;
  }

  protected readMsg(seq: number, subject: string): StoredMsg {
    const idx = seq - this.table.base;
    const buf = this.table.objs![idx]!;
    const off = this.table.aux[idx]!;
    const hl = buf.readUInt32LE(off);
    const end = off + 4 + this.bodyLen(idx, subject.length);
    return {
      subject,
      seq,
      ts: this.table.ts[idx]!,
      hdr: hl === 0 ? null : buf.subarray(off + 4, off + 4 + hl),
      data: buf.subarray(off + 4 + hl, end),
    };
  }

  protected readView(seq: number, subject: string, into: MsgView): MsgView {
    const idx = seq - this.table.base;
    const buf = this.table.objs![idx]!;
    const off = this.table.aux[idx]!;
    into.subject = subject;
    into.seq = seq;
    into.ts = this.table.ts[idx]!;
    into.buf = buf;
    into.off = off + 4;
    into.hl = buf.readUInt32LE(off);
    into.size = this.bodyLen(idx, subject.length);
    return into;
  }

  protected dropMsg(seq: number, _size: number, secure: boolean): void {
    const idx = seq - this.table.base;
    const buf = this.table.objs![idx];
    // erase: whoever still holds a loaded view sees the bytes overwritten
    if (secure && buf) {
      const off = this.table.aux[idx]!;
      const name = this.subjById[this.table.subj[idx]!]!.name;
      randomFillSync(buf, off + 4, this.bodyLen(idx, name.length));
    }
    this.table.objs![idx] = null;
    this.table.subj[idx] = 0;
  }

  flush(cb: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => cb(storeError('closed')));
      return;
    }
    queueMicrotask(() => cb(null));
  }

  flushed(): boolean {
    return !this.closed;
  }

  consumerStore(name: string): ConsumerStore {
    if (this.closed) throw storeError('closed');
    let cs = this.consumers.get(name);
    if (cs === undefined) {
      cs = new MemoryConsumerStore(() => this.consumers.delete(name));
      this.consumers.set(name, cs);
    }
    return cs;
  }

  consumerNames(): string[] {
    return [...this.consumers.keys()];
  }

  async stop(): Promise<void> {
    this.close();
  }

  async delete(): Promise<void> {
    if (!this.closed) this.purge();
    this.close();
    this.consumers.clear();
  }
}
