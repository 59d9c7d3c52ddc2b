// The file store's shutdown summary: what a clean stop knew about the
// stream (counts, first/last, per block its sequence range, live counts and
// live bitmap, per subject its count and bounds), so that the next open
// reads one small file and stats the block files instead of reading every
// block's index. It describes the blocks only until the store changes
// anything on disk: the store deletes it before its first write after an
// open (store/file.ts dropSummary), so a crash after that finds no summary
// and recovers from the blocks. A summary that does not check out
// (checksum, version, a block file whose size or mtime differs: changed
// behind the store's back) is ignored the same way.
// Layout in docs/jetstream-storage.md.

import { crc32 } from './crc32.js';

export const SUMMARY_FILE = 'summary.dat';
const MAGIC = 0x55535354; // 'TSSU'
const VERSION = 2;

export interface BlockSummary {
  id: number;
  first: number;
  size: number;
  /** the block file's mtime (ms) when the summary was written: a file changed since is noticed at open */
  mtime: number;
  live: number;
  liveBytes: number;
  maxTs: number;
  tombs: number[];
  bits: Uint8Array;
}

export interface SubjectSummary {
  name: string;
  /** listed sequences (few messages), else null and n/f/l */
  seqs: number[] | null;
  n: number;
  f: number;
  l: number;
  fStale: boolean;
  lStale: boolean;
}

export interface StoreSummary {
  first: number;
  last: number;
  firstTs: number;
  lastTs: number;
  msgs: number;
  bytes: number;
  blocks: BlockSummary[];
  subjects: SubjectSummary[];
  /** the consumers whose state files the store holds */
  consumers: string[];
}

class Writer {
  buf = Buffer.allocUnsafe(4096);
  o = 0;
  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(b, 0, 0, this.o);
    this.buf = b;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.o++] = v;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.o);
    this.o += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.o);
    this.o += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.o);
    this.o += b.length;
  }
}

/**
 * Where decoded bitmaps live: slices of a shared slab, each copied out of
 * the file's bytes (which are reused), instead of an ArrayBuffer each — a
 * restart of 1,000 streams allocated 1,000 small backing stores here. A
 * bitmap that grows past its slice is replaced (bitmap.ts setBit), so
 * slices never overlap in use.
 */
const SLAB_SIZE = 16 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

function bitsCopy(src: Buffer): Uint8Array {
  const n = src.length;
  if (n > SLAB_SIZE / 4) return new Uint8Array(src);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + n);
  b.set(src);
  slabUsed += n;
  return b;
}

class Reader {
  o = 0;
  // DataView reads are inlined by V8, Buffer's readDoubleLE is not
  private readonly dv: DataView;
  constructor(private readonly buf: Buffer) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }
  private need(n: number): void {
    if (this.o + n > this.buf.length) throw new Error('summary truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.o++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.o, true);
    this.o += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.o, true);
    this.o += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.o, this.o + n);
    this.o += n;
    return b;
  }
}

export function encodeSummary(s: StoreSummary): Buffer {
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(VERSION);
  for (const v of [s.first, s.last, s.firstTs, s.lastTs, s.msgs, s.bytes]) w.f64(v);
  w.u32(s.blocks.length);
  for (const b of s.blocks) {
    for (const v of [b.id, b.first, b.size, b.mtime, b.live, b.liveBytes, b.maxTs]) w.f64(v);
    w.u32(b.tombs.length);
    for (const t of b.tombs) w.f64(t);
    w.bytes(b.bits);
  }
  w.u32(s.subjects.length);
  for (const x of s.subjects) {
    w.bytes(Buffer.from(x.name));
    if (x.seqs !== null) {
      w.u8(0);
      w.u32(x.seqs.length);
      for (const q of x.seqs) w.f64(q);
    } else {
      w.u8(1);
      w.f64(x.n);
      w.f64(x.f);
      w.f64(x.l);
      w.u8((x.fStale ? 1 : 0) | (x.lStale ? 2 : 0));
    }
  }
  w.u32(s.consumers.length);
  for (const c of s.consumers) w.bytes(Buffer.from(c));
  w.u32(crc32(w.buf, 0, w.o));
  return Buffer.from(w.buf.subarray(0, w.o));
}

/** null when the bytes are not a whole summary of this version */
export function decodeSummary(buf: Buffer): StoreSummary | null {
  if (buf.length < 12 || crc32(buf, 0, buf.length - 4) !== buf.readUInt32LE(buf.length - 4)) return null;
  try {
    const r = new Reader(buf.subarray(0, buf.length - 4));
    if (r.u32() !== MAGIC || r.u32() !== VERSION) return null;
    const s: StoreSummary = {
      first: r.f64(),
      last: r.f64(),
      firstTs: r.f64(),
      lastTs: r.f64(),
      msgs: r.f64(),
      bytes: r.f64(),
      blocks: [],
      subjects: [],
      consumers: [],
    };
    for (let i = r.u32(); i > 0; i--) {
      const b: BlockSummary = {
        id: r.f64(),
        first: r.f64(),
        size: r.f64(),
        mtime: r.f64(),
        live: r.f64(),
        liveBytes: r.f64(),
        maxTs: r.f64(),
        tombs: [],
        bits: new Uint8Array(0),
      };
      for (let k = r.u32(); k > 0; k--) b.tombs.push(r.f64());
      b.bits = bitsCopy(r.bytes());
      s.blocks.push(b);
    }
    for (let i = r.u32(); i > 0; i--) {
      const name = r.bytes().toString('utf8');
      const mode = r.u8();
      if (mode === 0) {
        const seqs: number[] = [];
        for (let k = r.u32(); k > 0; k--) seqs.push(r.f64());
        if (seqs.length === 0) return null;
        s.subjects.push({ name, seqs, n: seqs.length, f: 0, l: 0, fStale: false, lStale: false });
      } else {
        const n = r.f64();
        const f = r.f64();
        const l = r.f64();
        const fl = r.u8();
        s.subjects.push({ name, seqs: null, n, f, l, fStale: (fl & 1) !== 0, lStale: (fl & 2) !== 0 });
      }
    }
    for (let i = r.u32(); i > 0; i--) s.consumers.push(r.bytes().toString('utf8'));
    return s;
  } catch {
    return null;
  }
}
