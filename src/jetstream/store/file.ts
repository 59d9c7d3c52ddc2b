// The file store: a directory per stream, append-only block files of
// checksummed records, a per-block index file for fast recovery, tombstones
// for interior deletes, a state record for the first/last sequence, and
// group commit (one write, optionally one fdatasync, per event-loop turn).
// The in-memory index, limits and queries are IndexedStore (store/base.ts),
// shared with the memory store. The on-disk format and the recovery and sync
// rules are in docs/jetstream-storage.md. Semantics after
// server/filestore.go of nats-server 2.9.10; the format is our own.

import * as fs from 'node:fs';
import { join, sep } from 'node:path';
import { IndexedStore } from './base.js';
import { clearBit, countSet, nextSet, prevSet, setBit, testBit } from './bitmap.js';
import { crc32, crc32Is } from './crc32.js';
import { goPathError } from '../../logging/gofmt.js';
import { pagedArrayBuffer, pagedBuffer } from './pages.js';
import { decodeSummary, encodeSummary, SUMMARY_FILE, type StoreSummary } from './summary.js';
import { FileConsumerStore, consumerFileName, consumerNameOfFile } from './file-consumer.js';
import {
  storeError,
  StoreError,
  type ConsumerStore,
  type StoreConfig,
  type StoredMsg,
  type MsgView,
  type StoreOptions,
} from './types.js';

// ---- record layout (little endian) ----
//  0 u32 total length | flags
//  4 u64 sequence
// 12 i64 timestamp ns          (state record: the last sequence)
// 20 u16 subject length
// 22 subject, [u32 header length, header] when HDR, payload
// end-8 u32 crc32 of [0, end-8)
// end-4 u32 total length again (lets the tail be checked from the end)
// A message record is exactly fileStoreMsgSize bytes long.
export const REC_HDR = 1 << 31;
export const REC_TOMB = 1 << 30;
export const REC_ERASED = 1 << 29;
export const REC_STATE = 1 << 28;
const FLAGS = REC_HDR | REC_TOMB | REC_ERASED | REC_STATE;
export const REC_MIN = 30;
/** a state record also carries the last message's timestamp (8 bytes of payload) */
const STATE_LEN = 38;
const TWO32 = 0x100000000;

export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/** server/filestore.go defaultSyncInterval */
export const DEFAULT_SYNC_INTERVAL = 2 * 60 * 1000;
/** sealed blocks kept in memory for reads */
const CACHE_BLOCKS = 2;
/** a last block keeps at most about this many written bytes in memory (see slideWindow) */
const WINDOW = 128 * 1024;
/**
 * Without a configured block size, a stream bounded by max_msgs or
 * max_bytes rolls blocks of at most about half of what it holds: a power
 * of two from MIN_ROLL up to DEFAULT_BLOCK_SIZE. A stream keeps up to four
 * block buffers in memory (the last block, two cached, a spare), so a
 * stream holding 3 MiB (the soak's, max_msgs 20,000 of 128 B) kept 16 MiB
 * of 4 MiB buffers; with 2 MiB blocks it keeps half that and fills them
 * twice as soon (BENCHMARKS.md, "Session 11"). A large one reaches full
 * blocks after its first few MiB. Other streams (a KV bucket's
 * per-key history, workqueues, unbounded ones) keep full blocks: sized
 * down, the KV put benchmark's bucket rolled every ~5,000 puts, and its
 * first roll, inside a young server's first 15,000 puts, deoptimized the
 * put path: 13-27% more CPU and twice the p99 there, none at 45,000 puts
 * (BENCHMARKS.md, "Session 11", "Session 12").
 */
const MIN_ROLL = 1024 * 1024;
/** after a failed write, the next batch waits this long (see kick) */
const WRITE_RETRY_MS = 1000;
/** sealed blocks whose per-message columns stay loaded (besides the last block's) */
const COLS_BLOCKS = 4;
/** sealedCols: room for this many more messages in a large block's columns, so that the next block's fit */
const COLS_SLACK = 1024;
/** a sealed block with less than this share of live bytes is rewritten */
const COMPACT_RATIO = 0.5;

/**
 * The fs calls the write path makes, replaceable by tests that simulate
 * ENOSPC/EIO or a power cut (synced sizes).
 */
export const fileIo = {
  write: fs.write as (
    fd: number,
    buf: Buffer,
    off: number,
    len: number,
    pos: number,
    cb: (err: NodeJS.ErrnoException | null, n: number) => void,
  ) => void,
  fdatasync: fs.fdatasync as (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void,
  writeSync: fs.writeSync as (fd: number, buf: Buffer, off: number, len: number, pos: number) => number,
};

interface Block {
  id: number;
  /**
   * no message in this block or a later one has a lower sequence: the next
   * sequence when the block was started (blocks stay sorted by it, with or
   * without messages)
   */
  first: number;
  /** -1 until opened (fdOf) */
  fd: number;
  /**
   * the file is still to be created: by the first write of the batch that
   * holds its first bytes, where a failure (a store directory removed, out
   * of inodes) fails that batch like any write error; thrown from a publish
   * or from the flush callback it stopped the server
   */
  create: boolean;
  /** bytes appended (written or pending) */
  size: number;
  /** bytes the file holds */
  written: number;
  /** bytes known synced (fdatasync done) */
  synced: number;
  /**
   * the block's bytes [base, size) when cached (always for the last block):
   * buf[i] is the file's byte base + i
   */
  buf: Buffer | null;
  /**
   * 0, or for a block that slid its write window while it was the last one
   * (see slideWindow) the offset of buf's first byte; [0, base) is then
   * only in the file
   */
  base: number;
  live: number;
  liveBytes: number;
  /** seqs of the tombstones this block holds */
  tombs: number[];
  /** misses on a block not cached: the second one loads the whole block */
  misses: number;
  compacting: boolean;
  dead: boolean;
  /** seqs erased while a compaction copied them */
  erasedDuring: number[] | null;
  /** every record in buf was verified (written here, or scanned with checksums) */
  checked: boolean;
  /** a view of buf left the store (a read, a compaction): buf is never reused */
  lent: boolean;
  /**
   * buf was read from disk into a pooled buffer: reads copy messages out of
   * it instead of lending views, so that the buffer goes back to the pool when
   * the block leaves the cache. A stream read from the start otherwise leaves
   * a 4 MiB buffer per block for the GC, promoted to the old generation
   * (the block is read for a while) and freed only by a full collection.
   */
  copyOut: boolean;
  /** the records so far, for the index file written when the block is sealed */
  ix: IdxBuilder | null;
  /**
   * bit i set: seq first+i holds a live message. Always in memory (one bit a
   * sequence); what else a block knows per message is in `cols`.
   */
  bits: Uint8Array;
  /** per-message columns, loaded on demand and evicted (see colsOf) */
  cols: Cols | null;
  /** its index file is being written (ix stays until it is) */
  idxWriting: boolean;
  /** the highest timestamp of a message stored in the block (getSeqFromTime) */
  maxTs: number;
}

/**
 * A block's per-sequence columns, indexed by seq - block.first: subject id,
 * time, accounted size (= record length) and offset in the block. Only the
 * last block's stay loaded; a sealed block's are rebuilt from its index file
 * (or its bytes) when a read, a removal or a query needs them.
 */
interface Cols {
  cap: number;
  ts: Float64Array;
  sid: Uint32Array;
  size: Uint32Array;
  off: Uint32Array;
}

function newCols(cap: number): Cols {
  // one ArrayBuffer for the four columns
  const b = pagedArrayBuffer(cap * 20);
  return {
    cap,
    ts: new Float64Array(b, 0, cap),
    sid: new Uint32Array(b, cap * 8, cap),
    size: new Uint32Array(b, cap * 12, cap),
    off: new Uint32Array(b, cap * 16, cap),
  };
}

function growCols(c: Cols, need: number): Cols {
  let cap = c.cap * 2;
  while (cap < need) cap *= 2;
  const n = newCols(cap);
  n.ts.set(c.ts);
  n.sid.set(c.sid);
  n.size.set(c.size);
  n.off.set(c.off);
  return n;
}

interface WriteJob {
  mb: Block;
  /** where the batch began in this block */
  start: number;
  from: number;
  to: number;
}

interface EraseJob {
  mb: Block;
  off: number;
  rec: Buffer;
}

/**
 * A failed file operation as the reference words it (*os.PathError: `open
 * /dir/2.blk: no such file or directory`), which clients get in the
 * PubAck's error; errors without a path (a write on an open fd) as Node has them.
 */
function ioErrorText(err: Error): string {
  const e = err as NodeJS.ErrnoException;
  return e.path !== undefined && e.syscall !== undefined ? goPathError(e.syscall, e.path, e) : err.message;
}

function blkName(id: number): string {
  return `${id}.blk`;
}

function putU64(buf: Buffer, off: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  buf.writeUInt32LE(v - hi * TWO32, off);
  buf.writeUInt32LE(hi >>> 0, off + 4);
}

function getU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 4) * TWO32 + buf.readUInt32LE(off);
}

/** writes a non-message record (tombstone, state) of REC_MIN bytes */
function putMarker(buf: Buffer, off: number, flags: number, seq: number, ts: number): void {
  buf.writeUInt32LE((REC_MIN | flags) >>> 0, off);
  putU64(buf, off + 4, seq);
  putU64(buf, off + 12, ts);
  buf.writeUInt16LE(0, off + 20);
  buf.writeUInt32LE(0, off + 22);
  buf.writeUInt32LE(crc32(buf, off, off + REC_MIN - 8), off + REC_MIN - 8);
  buf.writeUInt32LE(REC_MIN, off + REC_MIN - 4);
}

/** writes a state record: first in seq, last in ts, the last timestamp as payload */
function putState(buf: Buffer, off: number, first: number, last: number, lastTs: number): void {
  buf.writeUInt32LE((STATE_LEN | REC_STATE) >>> 0, off);
  putU64(buf, off + 4, first);
  putU64(buf, off + 12, last);
  buf.writeUInt16LE(0, off + 20);
  putU64(buf, off + 22, lastTs);
  buf.writeUInt32LE(crc32(buf, off, off + STATE_LEN - 8), off + STATE_LEN - 8);
  buf.writeUInt32LE(STATE_LEN, off + STATE_LEN - 4);
}

/** one parsed record (recovery, compaction) */
interface Rec {
  flags: number;
  seq: number;
  ts: number;
  off: number;
  len: number;
  subject: string;
  /** state record: the last message's timestamp */
  x: number;
}

/**
 * Parses the record at `off`; null with a reason in `why` when the bytes
 * there are not a whole valid record.
 */
function parseRec(buf: Buffer, off: number, end: number, why: { r: string }): Rec | null {
  if (end - off < REC_MIN) {
    why.r = 'short record';
    return null;
  }
  const w = buf.readUInt32LE(off);
  const len = (w & ~FLAGS) >>> 0;
  const flags = (w & FLAGS) >>> 0;
  if (len < REC_MIN || len > end - off) {
    why.r = `bad length ${len}`;
    return null;
  }
  if (buf.readUInt32LE(off + len - 4) !== len) {
    why.r = 'bad trailer';
    return null;
  }
  if (crc32(buf, off, off + len - 8) !== buf.readUInt32LE(off + len - 8)) {
    why.r = 'checksum mismatch';
    return null;
  }
  const sl = buf.readUInt16LE(off + 20);
  let need = 22 + sl + 8;
  if (flags & REC_HDR) need += 4;
  if (need > len) {
    why.r = 'bad subject length';
    return null;
  }
  if (flags & REC_HDR && need + buf.readUInt32LE(off + 22 + sl) > len) {
    why.r = 'bad header length';
    return null;
  }
  const seq = getU64(buf, off + 4);
  if (seq <= 0) {
    why.r = 'bad sequence';
    return null;
  }
  return {
    flags,
    seq,
    ts: getU64(buf, off + 12),
    off,
    len,
    subject: sl > 0 ? buf.toString('utf8', off + 22, off + 22 + sl) : '',
    x: flags & REC_STATE && len >= STATE_LEN ? getU64(buf, off + 22) : 0,
  };
}

/**
 * Whether buf[off, off+len) is a sound message record of sequence `seq`:
 * the checks of parseRec (length, trailer, checksum, subject and header
 * lengths) and the ones checkRec adds, without building a Rec or decoding
 * the subject. Run on every message read from a block loaded from disk,
 * where parseRec's object and string per message were ~40% of the check
 * (fetch from a file stream).
 */
function recOk(buf: Buffer, off: number, len: number, seq: number): boolean {
  if (len < REC_MIN || off + len > buf.length) return false;
  const w = buf.readUInt32LE(off);
  if ((w & ~FLAGS) >>> 0 !== len || (w & (REC_TOMB | REC_ERASED | REC_STATE)) !== 0) return false;
  if (buf.readUInt32LE(off + len - 4) !== len) return false;
  if (getU64(buf, off + 4) !== seq) return false;
  const sl = buf.readUInt16LE(off + 20);
  let need = 22 + sl + 8;
  if (w & REC_HDR) {
    need += 4;
    if (need > len || need + buf.readUInt32LE(off + 22 + sl) > len) return false;
  } else if (need > len) return false;
  return crc32Is(buf, off, off + len - 8, off + len - 8);
}

// ---- index file ----
// "TSIX" u32 version, u32 block size described, u32 crc of the block's last
// record, u32 record count, u32 subject count, subjects (u16 len + bytes),
// records (u8 kind, f64 seq, f64 ts, u32 off, u32 len, u32 subject index,
// f64 extra: a state record's last timestamp),
// u32 crc32 of everything before.
const IDX_MAGIC = 0x58495354; // 'TSIX'
const IDX_VERSION = 2;
const IDX_ENTRY = 37;

/** a zeroed Float64Array of n (see pages.ts: a block's record builder grows to MiBs) */
function f64(n: number): Float64Array {
  return new Float64Array(pagedArrayBuffer(n * 8), 0, n);
}

/**
 * The records of one block as the index file lists them, collected as they
 * are appended (no per-record object; the block is never re-parsed to seal it).
 */
class IdxBuilder {
  n = 0;
  /** per record: flags, seq, ts, off, len, subject index (-1: none), extra */
  a: Float64Array;
  /** names' positions, built on the first add (a decoded index is mostly only read) */
  subj: Map<string, number> | null = null;
  names: string[] = [];

  constructor(cap = 256) {
    this.a = f64(7 * Math.max(cap, 16));
  }

  add(flags: number, seq: number, ts: number, off: number, len: number, subject: string, x = 0): void {
    if ((this.n + 1) * 7 > this.a.length) {
      const b = f64(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    let si = -1;
    if (subject !== '') {
      if (this.subj === null) this.subj = new Map(this.names.map((x, i) => [x, i]));
      si = this.subj.get(subject) ?? -1;
      if (si < 0) {
        si = this.names.length;
        this.names.push(subject);
        this.subj.set(subject, si);
      }
    }
    const o = this.n * 7;
    const a = this.a;
    a[o] = flags;
    a[o + 1] = seq;
    a[o + 2] = ts;
    a[o + 3] = off;
    a[o + 4] = len;
    a[o + 5] = si;
    a[o + 6] = x;
    this.n++;
  }

  /** empty, with room for cap records */
  reset(cap: number): void {
    this.n = 0;
    this.subj = null;
    this.names = [];
    if (this.a.length < cap * 7) this.a = f64(cap * 7);
  }

  /** forget the records at or past a block offset (a failed batch) */
  truncate(size: number): void {
    while (this.n > 0 && this.a[(this.n - 1) * 7 + 3]! >= size) this.n--;
  }

  static of(recs: Rec[]): IdxBuilder {
    const b = new IdxBuilder(recs.length);
    for (const r of recs) b.add(r.flags, r.seq, r.ts, r.off, r.len, r.subject, r.x);
    return b;
  }
}

function encodeIndex(blockSize: number, lastCrc: number, ix: IdxBuilder): Buffer {
  const names = ix.names.map((x) => Buffer.from(x));
  let n = 24;
  for (const nb of names) n += 2 + nb.length;
  n += ix.n * IDX_ENTRY + 4;
  const buf = Buffer.alloc(n);
  buf.writeUInt32LE(IDX_MAGIC, 0);
  buf.writeUInt32LE(IDX_VERSION, 4);
  buf.writeUInt32LE(blockSize, 8);
  buf.writeUInt32LE(lastCrc, 12);
  buf.writeUInt32LE(ix.n, 16);
  buf.writeUInt32LE(names.length, 20);
  let o = 24;
  for (const nb of names) {
    buf.writeUInt16LE(nb.length, o);
    buf.set(nb, o + 2);
    o += 2 + nb.length;
  }
  const a = ix.a;
  for (let i = 0; i < ix.n; i++) {
    const k = i * 7;
    buf.writeUInt8(a[k]! / 0x10000000, o);
    buf.writeDoubleLE(a[k + 1]!, o + 1);
    buf.writeDoubleLE(a[k + 2]!, o + 9);
    buf.writeUInt32LE(a[k + 3]!, o + 17);
    buf.writeUInt32LE(a[k + 4]!, o + 21);
    buf.writeUInt32LE(a[k + 5]! < 0 ? 0xffffffff : a[k + 5]!, o + 25);
    buf.writeDoubleLE(a[k + 6]!, o + 29);
    o += IDX_ENTRY;
  }
  buf.writeUInt32LE(crc32(buf, 0, o), o);
  return buf;
}

/**
 * The records an index file lists, or null when it does not describe this
 * block. Straight into a builder: no object per record (a restart decodes
 * every block's index).
 */
function decodeIndex(buf: Buffer, blockSize: number, lastCrc: number, into: IdxBuilder | null = null): IdxBuilder | null {
  if (buf.length < 28) return null;
  if (buf.readUInt32LE(0) !== IDX_MAGIC || buf.readUInt32LE(4) !== IDX_VERSION) return null;
  if (crc32(buf, 0, buf.length - 4) !== buf.readUInt32LE(buf.length - 4)) return null;
  if (buf.readUInt32LE(8) !== blockSize || buf.readUInt32LE(12) !== lastCrc) return null;
  const count = buf.readUInt32LE(16);
  const ns = buf.readUInt32LE(20);
  const names: string[] = [];
  let o = 24;
  for (let i = 0; i < ns; i++) {
    const l = buf.readUInt16LE(o);
    names.push(buf.toString('utf8', o + 2, o + 2 + l));
    o += 2 + l;
  }
  if (o + count * IDX_ENTRY + 4 !== buf.length) return null;
  const ix = into ?? new IdxBuilder(count);
  ix.reset(count);
  ix.names = names;
  const a = ix.a;
  // a DataView's reads are inlined by V8, Buffer's readDoubleLE is not:
  // this loop runs once per stored message at every restart
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let expect = 0;
  for (let i = 0, k = 0; i < count; i++, o += IDX_ENTRY, k += 7) {
    const si = dv.getUint32(o + 25, true);
    const off = dv.getUint32(o + 17, true);
    const len = dv.getUint32(o + 21, true);
    // records tile the block exactly
    if (off !== expect || len < REC_MIN) return null;
    if (si !== 0xffffffff && si >= ns) return null;
    expect += len;
    a[k] = (dv.getUint8(o) << 28) >>> 0;
    a[k + 1] = dv.getFloat64(o + 1, true);
    a[k + 2] = dv.getFloat64(o + 9, true);
    a[k + 3] = off;
    a[k + 4] = len;
    a[k + 5] = si === 0xffffffff ? -1 : si;
    a[k + 6] = dv.getFloat64(o + 29, true);
  }
  ix.n = count;
  return expect === blockSize ? ix : null;
}

/**
 * Where recovery decodes each block's records: they are only walked once
 * (the last block's are decoded again on its first append, see loadLast),
 * so one array serves every block of every store.
 */
const scratchIx = new IdxBuilder(1024);

/**
 * Index a block's records from its bytes into `recs` (reset first), up to
 * the first record that does not parse (`why` says why); returns where the
 * valid records end.
 */
function scanBlock(buf: Buffer, size: number, recs: IdxBuilder, why: { r: string }): number {
  recs.reset(0);
  let off = 0;
  while (off < size) {
    const r = parseRec(buf, off, size, why);
    if (r === null) break;
    recs.add(r.flags, r.seq, r.ts, r.off, r.len, r.subject, r.x);
    off += r.len;
  }
  return off;
}

/**
 * Where index files are read: one buffer, reused. A fresh buffer per file
 * (readFileSync) left a restart of a 10 M-message stream with hundreds of
 * megabyte-sized buffers for the GC, all resident at once (the peak RSS).
 * The bytes are decoded before the next read.
 */
let idxBuf = Buffer.allocUnsafeSlow(64 * 1024);

function readIdxFile(path: string): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size > idxBuf.length) idxBuf = Buffer.allocUnsafeSlow(Math.max(size, idxBuf.length * 2));
    let n = 0;
    while (n < size) {
      const r = fs.readSync(fd, idxBuf, n, size - n, n);
      if (r === 0) break;
      n += r;
    }
    return idxBuf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A small file whole, into the reused buffer: open, read until short, close
 * (no fstat). A restart of 1,000 streams reads 1,000 summaries and 1,000
 * stream meta files. The bytes are valid until the next read.
 */
export function readSmallFile(path: string): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      if (n === idxBuf.length) {
        const b = Buffer.allocUnsafeSlow(idxBuf.length * 2);
        idxBuf.copy(b, 0, 0, n);
        idxBuf = b;
      }
      const r = fs.readSync(fd, idxBuf, n, idxBuf.length - n, n);
      n += r;
      if (r === 0 || n < idxBuf.length) break;
    }
    return idxBuf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Stores synced every `ms`, one timer for them all: a timer per store was a
 * Timeout object, a timer-list insertion and an unref per stream opened
 * (1,000 of each for a restart of 1,000 streams). A store joins at open and
 * leaves at stop; its first sync may come sooner than `ms` after its open,
 * never later.
 */
const syncGroups = new Map<number, { timer: NodeJS.Timeout; stores: Set<FileStore> }>();

function periodicSync(ms: number, store: FileStore, add: boolean): void {
  let g = syncGroups.get(ms);
  if (add) {
    if (g === undefined) {
      const stores = new Set<FileStore>();
      const timer = setInterval(() => {
        for (const s of stores) s.syncAll();
      }, ms);
      timer.unref();
      g = { timer, stores };
      syncGroups.set(ms, g);
    }
    g.stores.add(store);
  } else if (g !== undefined && g.stores.delete(store) && g.stores.size === 0) {
    clearInterval(g.timer);
    syncGroups.delete(ms);
  }
}

/** an absolute path path.join would leave as it is (bar a trailing separator) */
const NORMAL_ABS_DIR = sep === '/' ? /^\/(?!.*(?:\/\/|\/\.\.?(?:\/|$)))/ : /^$/;

export class FileStore extends IndexedStore {
  readonly type = 'file' as const;
  readonly dir: string;
  private readonly mdir: string;
  private readonly cdir: string;
  private readonly blockSize: number;
  /** see slideWindow */
  private readonly window: number;
  /** a block size was configured: every block rolls there (else see MIN_ROLL) */
  private readonly blockSizeSet: boolean;
  /** the last block rolls past this many bytes */
  private rollAt: number;
  private readonly syncAlways: boolean;
  private readonly log: StoreOptions['log'];

  private blocks: Block[] = [];
  private lmb!: Block;
  /** sealed blocks whose buf is cached, oldest first */
  private cached: Block[] = [];
  /** sealed blocks whose cols are loaded, least recently used first */
  private colsLru: Block[] = [];
  /**
   * Sealed blocks' columns the LRU let go, reused by the next loadCols they
   * fit: a reader going through a stream loads a block's columns (20 B a
   * message, ~0.5 MiB for 4 MiB of 128 B messages) every ~23 k messages,
   * external memory that was garbage a few blocks later (BENCHMARKS.md,
   * "Session 9").
   */
  private colsSpare: Cols | null = null;
  /** a sealed block's record builder, done with once its index file was written (takeIxSpare) */
  private ixSpare: IdxBuilder | null = null;
  /** index in blocks of the block blockIdx found last (sequential access) */
  private hitIdx = 0;
  // recovery: removals applied once every block is read (a tombstone or a
  // state record may speak for a block whose columns are not loaded)
  private pendingTombs: number[] = [];
  private declaredFirst = 0;

  private recovering = false;
  /** the blocks are as the summary file says (opened from it, nothing changed since) */
  private summaryLive = false;
  /** the consumers the summary listed, while no consumer came or went since */
  private summaryConsumers: string[] | null = null;
  /**
   * The last block was recovered but neither read into memory nor indexed
   * for appends: done on its first append (loadLast). A restart of many
   * streams need not read every stream's last block.
   */
  private lastLazy = false;
  /** the block whose buffer the last loadNextMsgView lent a view of: not pooled while that view may be in use */
  private viewBlock: Block | null = null;
  /** readMsg's record, copied out into the StoredMsg it returns */
  private readonly recScratch: MsgView = { subject: '', seq: 0, ts: 0, buf: Buffer.alloc(0), off: 0, hl: 0, size: 0 };
  /** a block buffer no block uses any more (see takeSpare) */
  private spare: Buffer | null = null;
  // group commit
  private cbs: ((err: Error | null) => void)[] = [];
  writeFailures = 0;
  lastWriteError: StoreError | null = null;
  private scheduled = false;
  /** when the last batch failed (0: the last one succeeded); see kick */
  private failedAt = 0;
  private writing = false;
  /** last seq whose record is in a file */
  private flushedLast = 0;
  /** first seq the last state record on disk (or pending) declares */
  private markedFirst = 0;
  /**
   * Tombstones appended since the batch began (re-appended if it fails): the
   * first batchTombN entries, kept by count (see writeNow).
   */
  private readonly batchTombs: number[] = [];
  private batchTombN = 0;
  private erases: EraseJob[] = [];
  private deadBlocks: Block[] = [];
  /** ms between periodic syncs (see periodicSync), 0 = none */
  private syncEvery = 0;
  /** a block file was created since the directory was last synced */
  private dirDirty = true;
  private idle: (() => void)[] = [];
  /** run once the write in flight is done (block swaps) */
  private afterWrite: (() => void)[] = [];
  /** writeNow's blocks with bytes to write, and where each began: kept from batch to batch */
  private readonly nowBlocks: Array<Block | null> = [];
  private readonly nowStarts: number[] = [];
  private consumers = new Map<string, FileConsumerStore>();

  /**
   * Opens (creating or recovering) the store in opts.dir. Recovery reads the
   * block files synchronously: it runs once, before the stream serves.
   */
  constructor(cfg: StoreConfig, opts: StoreOptions) {
    // a subject lists its sequences while it has few (64: a KV bucket's
    // largest history, so trimming a key's oldest revision never scans);
    // past that only its count and first/last are kept
    super(cfg, 64);
    if (!opts.dir) throw storeError('io', 'file store needs a directory');
    this.dir = opts.dir;
    // normalised once; the names below are put together by hand (path.join
    // on every file name was a visible share of a restart of many streams)
    let base = NORMAL_ABS_DIR.test(opts.dir) ? opts.dir : join(opts.dir);
    if (!base.endsWith(sep)) base += sep;
    this.mdir = base + 'msgs';
    this.cdir = base + 'obs';
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.window = opts.windowBytes ?? WINDOW;
    this.blockSizeSet = opts.blockSize !== undefined;
    this.rollAt = this.blockSize;
    this.syncAlways = opts.syncInterval === 'always';
    this.log = opts.log;
    if (!this.openSummary()) {
      fs.mkdirSync(this.mdir, { recursive: true });
      fs.mkdirSync(this.cdir, { recursive: true });
      this.recover();
    }
    // the recovered last block rolls by what the stream holds now
    this.rollAt = this.rollSize();
    const every = typeof opts.syncInterval === 'number' ? opts.syncInterval : DEFAULT_SYNC_INTERVAL;
    if (!this.syncAlways && every > 0) {
      this.syncEvery = every;
      periodicSync(every, this, true);
    }
  }

  /** the async way to open; same as the constructor */
  static async open(cfg: StoreConfig, opts: StoreOptions): Promise<FileStore> {
    return new FileStore(cfg, opts);
  }

  // ---- the shutdown summary (store/summary.ts) ----

  /**
   * Opens from the summary a clean stop left: no block file is opened or
   * read until something needs it. false when there is none that checks out.
   */
  private openSummary(): boolean {
    const path = this.mdir + sep + SUMMARY_FILE;
    let sm: StoreSummary | null;
    try {
      sm = decodeSummary(readSmallFile(path));
    } catch {
      return false;
    }
    if (sm !== null && !this.blocksAsSummarised(sm)) sm = null;
    if (sm === null || sm.blocks.length === 0) {
      this.log?.warn(`JetStream stream '${this.cfg.name}': shutdown summary unusable, recovering from the blocks`);
      try {
        fs.unlinkSync(path);
      } catch {
        // recovery does not read it
      }
      return false;
    }
    this.summaryLive = true;
    this.first = sm.first;
    this.last = sm.last;
    this.firstTs = sm.firstTs;
    this.lastTs = sm.lastTs;
    this.msgs = sm.msgs;
    this.bytes = sm.bytes;
    // indexed loops here: this runs once per stream at a restart, mostly
    // before V8 optimises it, and a for-of then allocates per step
    const bl = sm.blocks;
    for (let i = 0; i < bl.length; i++) {
      const b = bl[i]!;
      this.blocks.push({
        id: b.id,
        first: b.first,
        fd: -1,
        create: false,
        size: b.size,
        written: b.size,
        // a clean stop synced the blocks before it wrote the summary
        synced: b.size,
        buf: null,
        base: 0,
        live: b.live,
        liveBytes: b.liveBytes,
        tombs: b.tombs,
        misses: 0,
        compacting: false,
        dead: false,
        erasedDuring: null,
        checked: false,
        lent: false,
        copyOut: false,
        ix: null,
        bits: b.bits,
        cols: null,
        idxWriting: false,
        maxTs: b.maxTs,
      });
    }
    const subj = sm.subjects;
    for (let i = 0; i < subj.length; i++) {
      const x = subj[i]!;
      this.restoreSubject(x.name, x.n, x.f, x.l, x.fStale, x.lStale, x.seqs);
    }
    this.summaryConsumers = sm.consumers;
    this.lmb = this.blocks[this.blocks.length - 1]!;
    this.lastLazy = true;
    this.flushedLast = this.last;
    this.markedFirst = this.first;
    this.enforceAfterRecovery();
    return true;
  }

  /** every block file is there with the size and mtime the summary says */
  private blocksAsSummarised(sm: StoreSummary): boolean {
    for (let i = 0; i < sm.blocks.length; i++) {
      const b = sm.blocks[i]!;
      const st = fs.statSync(this.mdir + sep + blkName(b.id), { throwIfNoEntry: false });
      if (st === undefined || st.size !== b.size || st.mtimeMs !== b.mtime) return false;
    }
    return true;
  }

  /**
   * The summary stops describing the blocks at the first change on disk: it
   * goes before that change is made (a crash after finds none and recovers
   * from the blocks).
   */
  private dropSummary(): void {
    this.summaryLive = false;
    this.summaryConsumers = null;
    try {
      fs.unlinkSync(join(this.mdir, SUMMARY_FILE));
    } catch {
      // gone already
    }
  }

  /** written by a clean stop, after the blocks are synced */
  private async writeSummary(): Promise<void> {
    for (const mb of this.blocks) {
      // a compaction may still swap a block file: the summary would describe the old one
      if (mb.compacting || mb.size !== mb.written) return;
    }
    if (this.writeFailures > 0) return;
    for (const mb of this.blocks) {
      if (mb.fd >= 0 && mb.synced < mb.written) {
        const ok = await new Promise<boolean>((res) => fileIo.fdatasync(mb.fd, (err) => res(err === null)));
        if (!ok) return;
        mb.synced = mb.written;
      }
    }
    const mtimes: number[] = [];
    let consumers: string[];
    try {
      for (const mb of this.blocks) mtimes.push((await fs.promises.stat(join(this.mdir, blkName(mb.id)))).mtimeMs);
      consumers = this.summaryConsumers ?? this.consumerFiles(await fs.promises.readdir(this.cdir).catch(() => []));
    } catch {
      return;
    }
    const sm: StoreSummary = {
      first: this.first,
      last: this.last,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      msgs: this.msgs,
      bytes: this.bytes,
      blocks: this.blocks.map((b, i) => ({
        id: b.id,
        first: b.first,
        size: b.size,
        mtime: mtimes[i]!,
        live: b.live,
        liveBytes: b.liveBytes,
        maxTs: b.maxTs,
        tombs: b.tombs,
        bits: b.bits,
      })),
      subjects: [...this.subjByName.values()].map((se) => {
        const l = se.seqs;
        const seqs = l === null ? null : Array.from({ length: l.length }, (_, i) => l.at(i));
        return { name: se.name, seqs, n: se.n, f: se.f, l: se.l, fStale: se.fStale, lStale: se.lStale };
      }),
      consumers,
    };
    const path = join(this.mdir, SUMMARY_FILE);
    const tmp = `${path}.tmp`;
    try {
      await fs.promises.writeFile(tmp, encodeSummary(sm));
      await fs.promises.rename(tmp, path);
    } catch {
      // the next open recovers from the blocks
    }
  }

  /** a block's file descriptor, the file opened on first use (blocks from a summary) */
  private fdOf(mb: Block): number {
    if (mb.fd < 0) {
      const path = join(this.mdir, blkName(mb.id));
      if (mb.create) {
        try {
          mb.fd = fs.openSync(path, 'w+');
        } catch (err) {
          // filestore.go newMsgBlockForWrite's words; the file name it
          // prints is already cleared by then, hence the empty quotes
          throw new Error(`Error creating msg block file [""]: ${ioErrorText(err as Error)}`);
        }
        mb.create = false;
      } else mb.fd = fs.openSync(path, 'r+');
    }
    return mb.fd;
  }

  // ---- recovery ----

  private recover(): void {
    this.recovering = true;
    const ids: number[] = [];
    for (const f of fs.readdirSync(this.mdir)) {
      // a compaction cut short by a crash: the block it was rewriting is whole
      if (f.endsWith('.tmp')) fs.rmSync(join(this.mdir, f), { force: true });
      else if (/^\d+\.blk$/.test(f)) ids.push(parseInt(f, 10));
    }
    ids.sort((a, b) => a - b);
    for (const id of ids) this.recoverBlock(id);
    for (const seq of this.pendingTombs) this.removeSeq(seq, false, false);
    this.pendingTombs = [];
    if (this.declaredFirst > 0) this.restoreFirst(this.declaredFirst);
    // the last block takes new records; the empty ones before it go
    const dead = this.blocks.slice(0, -1).filter((mb) => mb.live === 0);
    this.blocks = this.blocks.filter((mb) => !dead.includes(mb));
    this.recovering = false;
    if (this.blocks.length === 0) this.newBlock(1);
    else {
      this.lmb = this.blocks[this.blocks.length - 1]!;
      this.lastLazy = true;
      // columns loaded by the removals above: the last block's are never evicted
      const li = this.colsLru.indexOf(this.lmb);
      if (li >= 0) this.colsLru.splice(li, 1);
    }
    for (const mb of dead) {
      this.colsForget(mb);
      mb.dead = true;
      this.deadBlocks.push(mb);
      // tombstones it held for messages in blocks that stay
      for (const seq of mb.tombs) if (seq >= this.first && seq < mb.first && !this.isLive(seq)) this.appendTomb(seq);
    }
    if (dead.length > 0) this.appendState();
    this.flushedLast = this.last;
    this.markedFirst = this.first;
    this.enforceAfterRecovery();
    if (this.deadBlocks.length > 0 || this.lmb.size > this.lmb.written) this.kick();
  }

  private recoverBlock(id: number): void {
    const path = join(this.mdir, blkName(id));
    const fd = fs.openSync(path, 'r+');
    const size = fs.fstatSync(fd).size;
    let recs: IdxBuilder | null = null;
    let buf: Buffer | null = null;
    if (size >= REC_MIN) {
      try {
        const tail = Buffer.alloc(8);
        fs.readSync(fd, tail, 0, 8, size - 8);
        const idx = readIdxFile(join(this.mdir, `${id}.idx`));
        if (tail.readUInt32LE(4) >= REC_MIN) recs = decodeIndex(idx, size, tail.readUInt32LE(0), scratchIx);
      } catch {
        recs = null;
      }
    }
    let good = size;
    if (recs === null) {
      buf = pagedBuffer(size);
      if (size > 0) fs.readSync(fd, buf, 0, size, 0);
      recs = scratchIx;
      const why = { r: '' };
      const off = scanBlock(buf, size, recs, why);
      if (off < size) {
        good = off;
        this.log?.warn(
          `JetStream stream '${this.cfg.name}' block ${id}: ${why.r} at offset ${off}, dropped ${size - off} bytes`,
        );
        fs.ftruncateSync(fd, off);
      }
      try {
        fs.unlinkSync(join(this.mdir, `${id}.idx`));
      } catch {
        // none, or stale: rewritten when the block is sealed or the store stops
      }
    }
    const mb: Block = {
      id,
      first: this.last + 1,
      fd,
      create: false,
      size: good,
      written: good,
      synced: good,
      buf: null,
      base: 0,
      live: 0,
      liveBytes: 0,
      tombs: [],
      misses: 0,
      compacting: false,
      dead: false,
      erasedDuring: null,
      ix: null,
      checked: buf !== null,
      lent: false,
      copyOut: false,
      bits: new Uint8Array((recs.n >> 3) + 1),
      cols: null,
      idxWriting: false,
      maxTs: 0,
    };
    this.blocks.push(mb);
    const a = recs.a;
    const names = recs.names;
    for (let i = 0, k = 0; i < recs.n; i++, k += 7) {
      const flags = a[k]!;
      const seq = a[k + 1]!;
      const ts = a[k + 2]!;
      if (flags & REC_STATE) {
        // a state record: first in seq, last in ts (removals below first wait
        // for the end of recovery, like tombstones)
        if (seq > this.declaredFirst) this.declaredFirst = seq;
        if (ts > this.last) this.restoreLast(ts, a[k + 6]! || this.lastTs);
      } else if (flags & REC_TOMB) {
        mb.tombs.push(seq);
        if (seq > this.last) this.restoreLast(seq, ts);
        else this.pendingTombs.push(seq);
      } else if (flags & REC_ERASED) {
        if (seq > this.last) this.restoreLast(seq, ts);
      } else if (seq > this.last) {
        const si = a[k + 5]!;
        const len = a[k + 4]!;
        this.restoreMsg(seq, ts, si < 0 ? '' : names[si]!, len);
        mb.bits = setBit(mb.bits, seq - mb.first);
        if (ts > mb.maxTs) mb.maxTs = ts;
        mb.live++;
        mb.liveBytes += len;
      } else {
        this.log?.warn(`JetStream stream '${this.cfg.name}' block ${id}: sequence ${seq} out of order, ignored`);
      }
    }
    if (buf !== null && good > 0) {
      // scanned: the index is rewritten now so the next open need not scan
      this.writeIndex(mb, good, buf.readUInt32LE(good - 8), recs, true);
    }
  }

  /**
   * The recovered last block, made ready for appends: its bytes in memory and
   * its records in a builder, from its index file when that still describes
   * it, else from the bytes (checksummed).
   */
  private loadLast(): void {
    this.lastLazy = false;
    const mb = this.lmb;
    if (mb.buf === null) this.loadCache(mb);
    const buf = mb.buf!;
    const size = mb.size;
    let ix: IdxBuilder | null = null;
    if (size >= REC_MIN) {
      try {
        ix = decodeIndex(readIdxFile(join(this.mdir, `${mb.id}.idx`)), size, buf.readUInt32LE(size - 8));
      } catch {
        ix = null;
      }
    }
    if (ix === null) {
      ix = new IdxBuilder();
      const why = { r: '' };
      let off = 0;
      while (off < size) {
        const r = parseRec(buf, off, size, why);
        if (r === null) break;
        ix.add(r.flags, r.seq, r.ts, r.off, r.len, r.subject, r.x);
        off += r.len;
      }
      // a record that does not check out: no index for this block (the next open scans it)
      if (off < size) ix = null;
    }
    mb.ix = ix;
  }

  // ---- blocks ----

  private newBlock(id: number): Block {
    const rollAt = (this.rollAt = this.rollSize());
    const mb: Block = {
      id,
      first: this.last + 1,
      fd: -1,
      create: true,
      size: 0,
      written: 0,
      synced: 0,
      // a stream that fills blocks gets whole ones at once (no regrowth copies)
      buf: id > 1 ? this.takeSpare(rollAt) : pagedBuffer(Math.min(rollAt, 64 * 1024)),
      base: 0,
      live: 0,
      liveBytes: 0,
      tombs: [],
      misses: 0,
      compacting: false,
      dead: false,
      erasedDuring: null,
      ix: this.takeIxSpare(),
      checked: true,
      lent: false,
      copyOut: false,
      bits: new Uint8Array(128),
      cols: newCols(1024),
      idxWriting: false,
      maxTs: 0,
    };
    const old = this.blocks.length > 0 ? this.lmb : null;
    this.blocks.push(mb);
    this.lmb = mb;
    this.dirDirty = true;
    // the sealed block's columns become evictable
    if (old !== null && old.cols !== null) this.colsTouch(old);
    return mb;
  }

  /** room for n more bytes in the last block (rolling to a new block when full) */
  private room(n: number): Block {
    if (this.lastLazy) this.loadLast();
    let mb = this.lmb;
    if (mb.size > 0 && mb.size + n > this.rollAt) {
      this.seal(mb);
      mb = this.newBlock(mb.id + 1);
    }
    const need = mb.size - mb.base + n;
    if (mb.buf!.length < need) {
      let cap = mb.buf!.length * 2;
      while (cap < need) cap *= 2;
      const nb = pagedBuffer(Math.max(need, Math.min(cap, Math.max(this.rollAt, need))));
      mb.buf!.copy(nb, 0, 0, mb.size - mb.base);
      mb.buf = nb;
    }
    return mb;
  }

  /** the last block is full: it stays cached until written, then like any other */
  private seal(mb: Block): void {
    this.cacheAdd(mb);
  }

  private cacheAdd(mb: Block): void {
    this.cached.push(mb);
    while (this.cached.length > CACHE_BLOCKS) {
      const i = this.cached.findIndex((b) => b.written === b.size && b !== this.lmb);
      if (i < 0) break;
      const [old] = this.cached.splice(i, 1);
      this.dropBuf(old!);
    }
  }

  /**
   * A full cache gives up its least recently used sealed block before a
   * block is loaded, and the load reuses that buffer: a reader going through
   * a stream keeps CACHE_BLOCKS block buffers. Evicting after the load (as
   * cacheAdd does for a block just written) kept one more, the spare, 4 MiB
   * at the default block size (BENCHMARKS.md, "Session 9").
   */
  private evictForLoad(): void {
    const cached = this.cached;
    if (cached.length < CACHE_BLOCKS) return;
    const i = cached.findIndex((b) => b.written === b.size && b !== this.lmb);
    if (i < 0) return;
    const [old] = cached.splice(i, 1);
    this.dropBuf(old!);
  }

  /**
   * A block gives up its buffer; the next block takes it (takeSpare) unless
   * something outside the store may still hold a view of it.
   */
  private dropBuf(mb: Block): void {
    const b = mb.buf;
    mb.buf = null;
    mb.base = 0;
    if (b === null || mb.lent || mb === this.viewBlock || mb.compacting) return;
    if (b.length === this.poolSize(b.length)) this.spare = b;
  }

  /** the buffer size blocks of up to n bytes get (and the spare holds) */
  private poolSize(n: number): number {
    if (!this.sizedToStream()) return this.blockSize;
    let s = MIN_ROLL;
    while (s < n && s < this.blockSize) s *= 2;
    return s;
  }

  /** where the next block rolls (see MIN_ROLL) */
  private rollSize(): number {
    return this.sizedToStream() ? this.poolSize(this.bytes / 2) : this.blockSize;
  }

  /** blocks follow what the stream holds: no configured size, and limits that bound it */
  private sizedToStream(): boolean {
    return !this.blockSizeSet && (this.cfg.maxMsgs > 0 || this.cfg.maxBytes > 0);
  }

  /**
   * A whole block's buffer, reused when one is spare: a stream that only
   * takes writes (an object store put) would otherwise fault in fresh pages
   * for every block it fills, a third of the server's CPU time in a put of
   * 1 MiB objects (the reference pools its block buffers the same way).
   */
  private takeSpare(n: number): Buffer {
    const b = this.spare;
    if (b !== null && b.length >= n) {
      this.spare = null;
      return b;
    }
    return pagedBuffer(this.poolSize(n));
  }

  private loadCache(mb: Block): Buffer {
    const sealed = mb !== this.lmb;
    if (sealed && mb.size <= this.blockSize && this.spare === null) this.evictForLoad();
    const buf = !sealed
      ? pagedBuffer(Math.max(mb.size, Math.min(this.rollAt, 64 * 1024)))
      : mb.size <= this.blockSize
        ? this.takeSpare(mb.size)
        : pagedBuffer(mb.size);
    mb.copyOut = sealed;
    if (mb.size > 0) fs.readSync(this.fdOf(mb), buf, 0, mb.size, 0);
    // erases not yet on disk (a recovered last block loaded late)
    for (const x of this.erases) if (x.mb === mb) x.rec.copy(buf, x.off);
    mb.buf = buf;
    mb.base = 0;
    if (mb !== this.lmb) this.cacheAdd(mb);
    return buf;
  }

  /**
   * After a batch is written: a last block that wrote WINDOW bytes since its
   * window's start drops the older three quarters of them from memory,
   * moving the rest and what is still to be written ([written, size)) to
   * the start of its buffer. Readers of the
   * block's older records read them from the file (readRec). Without it a
   * last block kept every byte written to it until it rolled, up to the
   * block size: a KV bucket taking a put now and then (the JetStream soak's,
   * ~4 MiB in 10 minutes) grew the server's RSS all the way, for bytes
   * nobody read again. server/filestore.go likewise keeps a last block's
   * cache as the bytes from an offset on (cache.off) and lets it go when
   * nobody reads it.
   * A block some reader needed below its window twice is loaded whole again
   * (unwindow) and keeps all its bytes from then on: a consumer lagging a
   * little behind a busy stream would otherwise read every message with a
   * syscall of its own. The block keeps an index of its records (ix) while
   * windowed, so nothing needs its bytes at once.
   */
  private slideWindow(mb: Block): void {
    const old = mb.buf;
    if (old === null || mb.written - mb.base < this.window || mb.misses >= 2 || mb.ix === null) return;
    // The newest quarter of the window stays: consumers and watchers read
    // a message right after it is written, and a window that kept nothing
    // written sent them to the file, twice, and so had the block loaded
    // whole again at once. (The window need not start on a record: one
    // that straddles it is read from the file.)
    const to = mb.written - (this.window >> 2);
    const from = to - mb.base;
    const n = mb.size - to;
    if (!mb.lent) {
      old.copyWithin(0, from, from + n);
    } else {
      // a reader may still hold a view of the old bytes: a buffer of its own
      const nb = pagedBuffer(n + this.window);
      old.copy(nb, 0, from, from + n);
      mb.buf = nb;
      mb.lent = false;
    }
    mb.base = to;
  }

  /** a windowed block's bytes, all in memory again (see slideWindow) */
  private unwindow(mb: Block): Buffer {
    const old = mb.buf!;
    const base = mb.base;
    const n = mb.size - base;
    let buf: Buffer;
    const fd = this.fdOf(mb);
    if (!mb.lent && old.length >= mb.size) {
      buf = old;
      buf.copyWithin(base, 0, n);
    } else {
      // a last block gets room to grow, as newBlock gives it
      buf = pagedBuffer(mb === this.lmb ? Math.max(mb.size, this.rollAt) : mb.size);
      old.copy(buf, base, 0, n);
    }
    // [0, base) is written (a window starts below where a batch's write ended)
    try {
      fs.readSync(fd, buf, 0, base, 0);
    } catch (err) {
      // the window stays as it was
      if (buf === old) buf.copyWithin(0, base, base + n);
      throw err;
    }
    // erases still to be written below the window
    for (const x of this.erases) if (x.mb === mb && x.off < base) x.rec.copy(buf, x.off);
    mb.buf = buf;
    mb.base = 0;
    mb.lent = false;
    return buf;
  }

  /**
   * the checksum of a block's last record (an index file's check of the
   * block's tail); -1 when the file cannot be read (no index then)
   */
  private tailCrc(mb: Block): number {
    const at = mb.size - 8 - mb.base;
    if (mb.buf !== null && at >= 0) return mb.buf.readUInt32LE(at);
    // (below a window the tail is written)
    const tail = Buffer.allocUnsafe(8);
    try {
      fs.readSync(this.fdOf(mb), tail, 0, 8, mb.size - 8);
    } catch {
      return -1;
    }
    return tail.readUInt32LE(0);
  }

  /** the block holding seq (binary search on first sequences) */
  private blockOf(seq: number): Block | null {
    const i = this.blockIdx(seq);
    return i < 0 ? null : this.blocks[i]!;
  }

  /** index in blocks of the block holding seq, -1 when before the first */
  private blockIdx(seq: number): number {
    const bl = this.blocks;
    const n = bl.length;
    // readers and removals mostly stay in a block, or step to the next one
    let h = this.hitIdx;
    for (let k = 0; k < 2 && h < n; k++, h++) {
      if (bl[h]!.first <= seq && (h + 1 === n || bl[h + 1]!.first > seq)) {
        this.hitIdx = h;
        return h;
      }
    }
    let lo = 0;
    let hi = n - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (bl[mid]!.first <= seq) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (ans >= 0) this.hitIdx = ans;
    return ans;
  }

  // ---- per-message columns, loaded on demand ----

  /** the block's columns, loaded if need be; keeps the LRU order */
  private colsOf(mb: Block): Cols {
    const c = mb.cols;
    if (c === null) return this.loadCols(mb);
    const lru = this.colsLru;
    if (mb !== this.lmb && lru[lru.length - 1] !== mb) this.colsTouch(mb);
    return c;
  }

  /** mb's columns were used: most recent in the LRU; the least recent beyond COLS_BLOCKS go */
  private colsTouch(mb: Block): void {
    if (mb === this.lmb) return;
    const lru = this.colsLru;
    const i = lru.indexOf(mb);
    if (i >= 0) lru.splice(i, 1);
    lru.push(mb);
    while (lru.length > COLS_BLOCKS) {
      const old = lru.shift()!;
      if (old === this.lmb) continue;
      // nothing keeps a block's columns across loading another's (callers take them per block)
      const sp = this.colsSpare;
      if (old.cols !== null && (sp === null || old.cols.cap > sp.cap)) this.colsSpare = old.cols;
      old.cols = null;
    }
  }

  private colsForget(mb: Block): void {
    mb.cols = null;
    const i = this.colsLru.indexOf(mb);
    if (i >= 0) this.colsLru.splice(i, 1);
  }

  /**
   * Rebuilds a block's columns from its records: the last block's builder,
   * else its index file when it still describes the block, else its bytes
   * (checksummed; the index is then written again). Subject ids come from
   * the names: a name no longer indexed only names deleted messages.
   */
  private loadCols(mb: Block): Cols {
    const bl = this.blocks;
    const k = bl.indexOf(mb);
    const end = k >= 0 && k + 1 < bl.length ? bl[k + 1]!.first - 1 : this.last;
    const n = Math.max(0, end - mb.first + 1);
    const sealed = mb !== this.lmb;
    const lim = sealed ? Math.max(1, n) : Math.max(64, Math.ceil(n * 1.25));
    const c = sealed ? this.sealedCols(lim) : newCols(lim);
    const ix = this.blockRecords(mb);
    if (ix !== null) {
      const sids = ix.names.map((x) => this.subjByName.get(x)?.id ?? 0);
      const a = ix.a;
      for (let r = 0, o = 0; r < ix.n; r++, o += 7) {
        if (a[o]! & (REC_TOMB | REC_ERASED | REC_STATE)) continue;
        const i = a[o + 1]! - mb.first;
        if (i < 0 || i >= lim) continue;
        const si = a[o + 5]!;
        c.sid[i] = si < 0 ? 0 : sids[si]!;
        c.ts[i] = a[o + 2]!;
        c.off[i] = a[o + 3]!;
        c.size[i] = a[o + 4]!;
      }
    }
    mb.cols = c;
    if (mb !== this.lmb) this.colsTouch(mb);
    return c;
  }

  /**
   * Columns for a sealed block of n sequences: the spare ones if they fit
   * (zeroed, as new ones are: readers check the live bitmap first, but a
   * slot without a record keeps nothing of another block's), else new ones
   * with room for the next blocks' few more messages.
   */
  private sealedCols(n: number): Cols {
    const sp = this.colsSpare;
    if (sp !== null && sp.cap >= n && sp.cap <= n + (n >> 2) + COLS_SLACK) {
      this.colsSpare = null;
      new Uint8Array(sp.ts.buffer, 0, sp.cap * 20).fill(0);
      return sp;
    }
    return newCols(n < COLS_SLACK * 4 ? n : n + COLS_SLACK);
  }

  /** a block's records (see loadCols); null when its bytes cannot be read */
  private blockRecords(mb: Block): IdxBuilder | null {
    if (mb.ix !== null) return mb.ix;
    const size = mb.size;
    if (size < REC_MIN) {
      scratchIx.reset(0);
      return scratchIx;
    }
    try {
      const ix = decodeIndex(readIdxFile(join(this.mdir, `${mb.id}.idx`)), size, this.tailCrc(mb), scratchIx);
      if (ix !== null) return ix;
    } catch {
      // no index file: from the bytes
    }
    let buf: Buffer;
    try {
      // (a windowed block keeps its index until it is written whole: only
      // an unwindowed one or one whose bytes are all in the file gets here)
      buf = mb.buf !== null && mb.base === 0 ? mb.buf : this.readWhole(mb);
    } catch (err) {
      this.log?.error(`JetStream stream '${this.cfg.name}' block ${mb.id}: read failed: ${(err as Error).message}`);
      return null;
    }
    const recs = scratchIx;
    const off = scanBlock(buf, size, recs, { r: '' });
    if (off === size && mb.written === size && !mb.compacting) this.writeIndex(mb, size, buf.readUInt32LE(size - 8), recs);
    return recs;
  }

  // ---- IndexedStore slots: the blocks' bitmaps and columns ----

  protected sidAt(seq: number): number {
    const mb = this.blockOf(seq);
    if (mb === null) return 0;
    const i = seq - mb.first;
    if (!testBit(mb.bits, i)) return 0;
    return this.colsOf(mb).sid[i]!;
  }

  protected tsAt(seq: number): number {
    const mb = this.blockOf(seq)!;
    return this.colsOf(mb).ts[seq - mb.first]!;
  }

  protected sizeAt(seq: number): number {
    const mb = this.blockOf(seq)!;
    return this.colsOf(mb).size[seq - mb.first]!;
  }

  // span's answer (no array per call: the scans run per message read)
  private spanLo = 0;
  private spanHi = 0;

  /** the bits of block k that cover [from, to] into spanLo..spanHi; false when none live */
  private span(k: number, from: number, to: number): boolean {
    const bl = this.blocks;
    const mb = bl[k]!;
    const lo = Math.max(from, mb.first);
    const hi = k + 1 < bl.length ? Math.min(to, bl[k + 1]!.first - 1) : to;
    if (hi < lo || mb.live === 0) return false;
    this.spanLo = lo - mb.first;
    this.spanHi = hi - mb.first;
    return true;
  }

  protected nextLive(from: number, to: number): number {
    const bl = this.blocks;
    for (let k = Math.max(0, this.blockIdx(from)); k < bl.length && bl[k]!.first <= to; k++) {
      if (!this.span(k, from, to)) continue;
      const r0 = this.spanLo;
      const r1 = this.spanHi;
      const j = nextSet(bl[k]!.bits, r0, r1);
      if (j >= 0) return bl[k]!.first + j;
    }
    return 0;
  }

  protected prevLive(from: number, to: number): number {
    const bl = this.blocks;
    for (let k = this.blockIdx(to); k >= 0; k--) {
      if (this.span(k, from, to)) {
        const r0 = this.spanLo;
        const r1 = this.spanHi;
        const j = prevSet(bl[k]!.bits, r0, r1);
        if (j >= 0) return bl[k]!.first + j;
      }
      if (bl[k]!.first <= from) break;
    }
    return 0;
  }

  protected countLive(from: number, to: number): number {
    const bl = this.blocks;
    let n = 0;
    for (let k = Math.max(0, this.blockIdx(from)); k < bl.length && bl[k]!.first <= to; k++) {
      if (!this.span(k, from, to)) continue;
      const r0 = this.spanLo;
      const r1 = this.spanHi;
      const mb = bl[k]!;
      // a whole block: its count
      if (r0 === 0 && (k + 1 < bl.length ? r1 === bl[k + 1]!.first - 1 - mb.first : r1 >= this.last - mb.first)) {
        n += mb.live;
      } else n += countSet(mb.bits, r0, r1);
    }
    return n;
  }

  protected nextWithSid(sid: number, from: number, to: number): number {
    return this.scanSid(sid, from, to, true);
  }

  protected prevWithSid(sid: number, from: number, to: number): number {
    const bl = this.blocks;
    for (let k = this.blockIdx(to); k >= 0; k--) {
      if (this.span(k, from, to)) {
        const r0 = this.spanLo;
        const r1 = this.spanHi;
        const mb = bl[k]!;
        const c = this.colsOf(mb);
        for (let j = prevSet(mb.bits, r0, r1); j >= 0; j = j > r0 ? prevSet(mb.bits, r0, j - 1) : -1) {
          if (c.sid[j] === sid) return mb.first + j;
        }
      }
      if (bl[k]!.first <= from) break;
    }
    return 0;
  }

  protected countWithSid(sid: number, from: number, to: number): number {
    return this.scanSid(sid, from, to, false);
  }

  /**
   * The live messages of subject `sid` in [from, to], in sequence order:
   * the first one's sequence (0: none) when `first`, else how many.
   */
  private scanSid(sid: number, from: number, to: number, first: boolean): number {
    const bl = this.blocks;
    let n = 0;
    for (let k = Math.max(0, this.blockIdx(from)); k < bl.length && bl[k]!.first <= to; k++) {
      if (!this.span(k, from, to)) continue;
      const r0 = this.spanLo;
      const r1 = this.spanHi;
      const mb = bl[k]!;
      const c = this.colsOf(mb);
      for (let j = nextSet(mb.bits, r0, r1); j >= 0; j = j < r1 ? nextSet(mb.bits, j + 1, r1) : -1) {
        if (c.sid[j] !== sid) continue;
        if (first) return mb.first + j;
        n++;
      }
    }
    return n;
  }

  protected seqAtTime(ts: number): number {
    const bl = this.blocks;
    const to = this.last;
    for (let k = Math.max(0, this.blockIdx(this.first)); k < bl.length; k++) {
      const mb = bl[k]!;
      if (mb.maxTs < ts) continue;
      if (!this.span(k, this.first, to)) continue;
      const r0 = this.spanLo;
      const r1 = this.spanHi;
      const c = this.colsOf(mb);
      for (let j = nextSet(mb.bits, r0, r1); j >= 0; j = j < r1 ? nextSet(mb.bits, j + 1, r1) : -1) {
        if (c.ts[j]! >= ts) return mb.first + j;
      }
    }
    return 0;
  }

  protected resetSlots(_next: number): void {
    // onPurgeAll dropped every block but a fresh last one
  }

  /** seq is live in mb (a record compaction would copy) */
  private liveIn(mb: Block, seq: number): boolean {
    return seq >= mb.first && seq <= this.last && testBit(mb.bits, seq - mb.first);
  }

  /** a block lost its last message */
  private killBlock(mb: Block): void {
    if (mb === this.lmb || mb.dead) return;
    mb.dead = true;
    const i = this.blocks.indexOf(mb);
    if (i >= 0) this.blocks.splice(i, 1);
    const ci = this.cached.indexOf(mb);
    if (ci >= 0) this.cached.splice(ci, 1);
    this.colsForget(mb);
    if (!this.recovering) {
      // its tombstones still speak for messages in other blocks
      for (const seq of mb.tombs) if (seq >= this.first && seq < mb.first) this.appendTomb(seq);
      // and the sequences it held must not be forgotten
      this.appendState();
    }
    this.deadBlocks.push(mb);
    this.kick();
  }

  // ---- IndexedStore hooks ----

  protected msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    // server/filestore.go fileStoreMsgSize, with the subject's UTF-8 length
    const sl = Buffer.byteLength(subject);
    // checked before anything changes: the record has a u16 subject length
    if (sl > 0xffff) throw storeError('too-large', 'subject too long');
    return 22 + sl + (hdr === null ? 0 : 4 + hdr.length) + data.length + 8;
  }

  protected putMsg(seq: number, sid: number, subject: string, hdr: Buffer | null, data: Buffer, size: number, ts: number): void {
    const mb = this.room(size);
    const buf = mb.buf!;
    const off = mb.size;
    // where the record goes in buf (off in the file)
    const at = off - mb.base;
    buf.writeUInt32LE((hdr === null ? size : size | REC_HDR) >>> 0, at);
    putU64(buf, at + 4, seq);
    putU64(buf, at + 12, ts);
    let o = at + 22;
    // short ASCII subjects (nearly all) are copied inline: cheaper than a
    // native string write per message
    let sl = subject.length;
    if (sl <= 64) {
      for (let i = 0; i < sl; i++) {
        const c = subject.charCodeAt(i);
        if (c > 127) {
          sl = buf.write(subject, o, 'utf8');
          break;
        }
        buf[o + i] = c;
      }
    } else sl = buf.write(subject, o, 'utf8');
    buf.writeUInt16LE(sl, at + 20);
    o += sl;
    if (hdr !== null) {
      buf.writeUInt32LE(hdr.length, o);
      o += 4;
      buf.set(hdr, o);
      o += hdr.length;
    }
    buf.set(data, o);
    o += data.length;
    buf.writeUInt32LE(crc32(buf, at, o), o);
    buf.writeUInt32LE(size, o + 4);
    mb.size = off + size;
    mb.ix?.add(hdr === null ? 0 : REC_HDR >>> 0, seq, ts, off, size, subject);
    mb.live++;
    mb.liveBytes += size;
    const i = seq - mb.first;
    mb.bits = setBit(mb.bits, i);
    let c = mb.cols ?? this.loadCols(mb);
    if (i >= c.cap) c = mb.cols = growCols(c, i + 1);
    c.sid[i] = sid;
    c.ts[i] = ts;
    c.size[i] = size;
    c.off[i] = off;
    if (ts > mb.maxTs) mb.maxTs = ts;
    this.kick();
  }

  protected readMsg(seq: number, subject: string): StoredMsg | null {
    const r = this.readRec(seq, subject, false, this.recScratch);
    if (r === null) return null;
    const { buf, off, hl, size } = r;
    const d = off + hl;
    // a copied message without headers is its copy (one object less per read)
    return { subject, seq, ts: r.ts, hdr: hl === 0 ? null : buf.subarray(off, d), data: d === 0 && size === buf.length ? buf : buf.subarray(d, off + size) };
  }

  protected readView(seq: number, subject: string, into: MsgView): MsgView | null {
    return this.readRec(seq, subject, true, into);
  }

  /**
   * Finds seq's record and fills `into` with where its headers and payload
   * are. `view`: the reader is done with the bytes before its next view
   * read, so a block's pooled buffer is lent rather than copied from.
   */
  private readRec(seq: number, subject: string, view: boolean, into: MsgView): MsgView | null {
    // the previous view is done with: its block may be evicted (and its buffer reused) by this read's load
    if (view) this.viewBlock = null;
    const mb = this.blockOf(seq)!;
    const c = this.colsOf(mb);
    const ci = seq - mb.first;
    const off = c.off[ci]!;
    const len = c.size[ci]!;
    let buf = mb.buf;
    // where the record is in buf (a block not cached has base 0)
    let base = off - mb.base;
    if (buf === null || base < 0) {
      // Not in memory: the block is not cached, or the record is below the
      // last block's write window. Bytes from disk are checked before use:
      // an index file only vouches for a block's tail, not for every record
      // in it.
      try {
        if (++mb.misses >= 2) {
          buf = buf === null ? this.loadCache(mb) : this.unwindow(mb);
          base = off;
        } else {
          buf = Buffer.allocUnsafe(len);
          fs.readSync(this.fdOf(mb), buf, 0, len, off);
          base = 0;
        }
      } catch (err) {
        this.log?.error(`JetStream stream '${this.cfg.name}' block ${mb.id}: read failed: ${(err as Error).message}`);
        return null;
      }
      if (!this.checkRec(mb, buf, base, seq, len, off)) return null;
    } else if (!mb.checked) {
      if (!this.checkRec(mb, buf, base, seq, len, off)) return null;
    } else {
      // keep the LRU order
      const ci = this.cached.indexOf(mb);
      if (ci >= 0 && ci !== this.cached.length - 1) {
        this.cached.splice(ci, 1);
        this.cached.push(mb);
      }
    }
    const w = buf.readUInt32LE(base);
    const sl = buf.readUInt16LE(base + 20);
    let o = base + 22 + sl;
    let end = base + len - 8;
    // The store reuses a pooled buffer, and the last block's as its window
    // slides (in place unless lent: a buffer of its own per slide was
    // garbage at 1.5x the write rate that waited for a full GC, 4-5 MiB more
    // external memory in the soak). Readers keep no view of them: a view read's bytes are
    // used before the store is called again (publishAt), a slide comes in a
    // later turn (doFlush), and others get a copy.
    const own = mb.copyOut || mb === this.lmb;
    if (buf === mb.buf && own && view) {
      // A view of the pooled buffer instead of a copy: cacheAdd does not
      // pool this buffer again until the next view read.
      this.viewBlock = mb;
    } else if (buf === mb.buf && own) {
      const b = Buffer.allocUnsafe(end - o);
      buf.copy(b, 0, o, end);
      buf = b;
      o = 0;
      end = b.length;
    }
    let hl = 0;
    if (w & REC_HDR) {
      hl = buf.readUInt32LE(o);
      o += 4;
    }
    if (buf === mb.buf && this.viewBlock !== mb) mb.lent = true;
    into.subject = subject;
    into.seq = seq;
    into.ts = c.ts[ci]!;
    into.buf = buf;
    into.off = o;
    into.hl = hl;
    into.size = end - o;
    return into;
  }

  /** a record read from disk must be the message the index says; otherwise it is dropped */
  private checkRec(mb: Block, buf: Buffer, base: number, seq: number, len: number, off: number): boolean {
    if (recOk(buf, base, len, seq)) return true;
    // the reason, for the log (rare: corruption)
    const why = { r: '' };
    const r = parseRec(buf, base, base + len, why);
    this.log?.error(
      `JetStream stream '${this.cfg.name}' block ${mb.id}: message ${seq} at offset ${off} is corrupt (${r === null ? why.r : 'not the record expected'}), dropped`,
    );
    this.removeSeq(seq, false);
    return false;
  }

  protected dropMsg(seq: number, size: number, secure: boolean, interior: boolean): void {
    const mb = this.blockOf(seq);
    if (mb === null) return;
    const i = seq - mb.first;
    clearBit(mb.bits, i);
    mb.live--;
    mb.liveBytes -= size;
    if (this.recovering) return;
    // before appendTomb: a block roll there may evict these columns
    const off = secure ? this.colsOf(mb).off[i]! : 0;
    if (interior) this.appendTomb(seq);
    if (secure) this.erase(mb, seq, off, size);
    if (mb.live === 0) this.killBlock(mb);
    // a front removal: `first` moves past seq once this returns
    else this.maybeCompact(mb, interior ? this.first : seq + 1);
  }

  /**
   * A sealed, written block mostly deleted is rewritten in the background,
   * unless it has no hole: it is the stream's first block and every sequence
   * from `first` (the stream's first once the removal in progress is done)
   * to its end is live. Such a block is being drained from its head by the
   * limits (max_msgs, max_bytes, max_age, max_msgs_per_subject when the
   * subject's oldest is the stream's) and goes whole soon; compacting it as
   * it drained copied, synced and re-indexed half of it again and again: a
   * third of the server's CPU per message for a stream at its limits
   * (BENCHMARKS.md, session 7).
   * server/filestore.go removeMsg likewise compacts on out-of-order deletes only.
   */
  private maybeCompact(mb: Block, first: number): void {
    if (
      mb !== this.lmb &&
      !mb.compacting &&
      !mb.dead &&
      mb.written === mb.size &&
      mb.liveBytes < mb.size * COMPACT_RATIO &&
      mb.size >= REC_MIN * 8 &&
      !this.solidFrom(mb, first)
    ) {
      mb.compacting = true;
      setImmediate(() => this.compactBlock(mb));
    }
  }

  /** mb is the first block and every sequence from `first` to its end is live */
  private solidFrom(mb: Block, first: number): boolean {
    const bl = this.blocks;
    return bl.length > 1 && bl[0] === mb && mb.live === bl[1]!.first - first;
  }

  protected override onFirstMoved(): void {
    if (!this.recovering) this.kick();
  }

  protected override onPurgeAll(): void {
    for (const mb of this.blocks.slice()) {
      if (mb !== this.lmb) {
        mb.live = 0;
        this.killBlockQuiet(mb);
      }
    }
    this.lmb.live = 0;
    this.lmb.liveBytes = 0;
    this.lmb.tombs = [];
    // the last block may hold old messages: start a fresh one so they go
    const old = this.lmb;
    if (old.size > 0) {
      this.newBlock(old.id + 1);
      this.killBlockQuiet(old);
    }
    this.kick();
  }

  /** after onPurgeAll the state record (written at flush) covers everything */
  private killBlockQuiet(mb: Block): void {
    if (mb.dead) return;
    mb.dead = true;
    const i = this.blocks.indexOf(mb);
    if (i >= 0) this.blocks.splice(i, 1);
    const ci = this.cached.indexOf(mb);
    if (ci >= 0) this.cached.splice(ci, 1);
    this.colsForget(mb);
    this.deadBlocks.push(mb);
  }

  protected override onSkip(seq: number): void {
    this.appendTomb(seq);
  }

  // ---- records that are not messages ----

  private appendTomb(seq: number): void {
    const mb = this.room(REC_MIN);
    putMarker(mb.buf!, mb.size - mb.base, REC_TOMB, seq, this.lastTs);
    mb.ix?.add(REC_TOMB, seq, this.lastTs, mb.size, REC_MIN, '');
    mb.size += REC_MIN;
    mb.tombs.push(seq);
    this.batchTombs[this.batchTombN++] = seq;
    this.kick();
  }

  /** records first/last when they moved without a message record saying so */
  private appendState(): void {
    const mb = this.room(STATE_LEN);
    putState(mb.buf!, mb.size - mb.base, this.first, this.last, this.lastTs);
    mb.ix?.add(REC_STATE, this.first, this.last, mb.size, STATE_LEN, '', this.lastTs);
    mb.size += STATE_LEN;
    this.markedFirst = this.first;
  }

  /** rewrites a record in place as an erased one of the same length */
  private erase(mb: Block, seq: number, off: number, len: number): void {
    const rec = Buffer.alloc(len);
    rec.writeUInt32LE((len | REC_ERASED) >>> 0, 0);
    putU64(rec, 4, seq);
    rec.writeUInt32LE(crc32(rec, 0, len - 8), len - 8);
    rec.writeUInt32LE(len, len - 4);
    // (below a slid window the record is only in the file)
    if (mb.buf !== null && off >= mb.base) rec.copy(mb.buf, off - mb.base);
    // written, or maybe on its way in the write in flight: rewrite on disk too
    if (off < mb.written || this.writing) this.erases.push({ mb, off, rec });
    if (mb.compacting) (mb.erasedDuring ??= []).push(seq);
    this.kick();
  }

  // ---- group commit ----

  /** something is pending: write it in the next turn of the event loop */
  private kick(): void {
    if (this.summaryLive) this.dropSummary();
    if (!this.scheduled && !this.writing && !this.closed) {
      this.scheduled = true;
      // After a failed batch what it left (tombstones, erases, the state
      // record) is pending at once again: retried every turn, a disk that
      // stays full or a removed store directory spun the event loop and
      // wrote thousands of log lines a second. Retry within a second instead;
      // a publish in that time waits for that retry for its answer.
      const wait = this.failedAt === 0 ? 0 : this.failedAt + WRITE_RETRY_MS - Date.now();
      if (wait > 0) setTimeout(this.doFlush, wait);
      else setImmediate(this.doFlush);
    }
  }

  flush(cb: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => cb(storeError('closed')));
      return;
    }
    if (this.flushed()) {
      queueMicrotask(() => cb(null));
      return;
    }
    this.cbs.push(cb);
    this.kick();
  }

  flushed(): boolean {
    // The turn's batch is already written: the doFlush that putMsg
    // scheduled runs before the stream's commit, which asks this. Going on
    // at once (as with the memory store) instead of after an empty doFlush
    // one event-loop turn later takes that turn out of every PubAck's
    // latency.
    if (this.closed || this.writing || this.scheduled || this.syncAlways || this.cbs.length > 0 || !this.nothingPending()) return false;
    this.flushedLast = this.last;
    return true;
  }

  /** nothing appended, erased or dropped is waiting to be written */
  private nothingPending(): boolean {
    if (this.first !== this.markedFirst || this.erases.length > 0 || this.deadBlocks.length > 0) return false;
    for (const mb of this.blocks) if (mb.written < mb.size) return false;
    return true;
  }

  private doFlush = (): void => {
    this.scheduled = false;
    if (this.writing) return;
    if (this.first !== this.markedFirst) this.appendState();
    if (!this.syncAlways) return this.writeNow();
    // sync always: every batch ends in a sync, also one with nothing to write
    const jobs: WriteJob[] = [];
    for (const mb of this.blocks) if (mb.written < mb.size) jobs.push({ mb, start: mb.written, from: mb.written, to: mb.size });
    const erases = this.erases;
    this.erases = [];
    const dead = this.deadBlocks;
    this.deadBlocks = [];
    const cbs = this.cbs;
    this.cbs = [];
    this.writing = true;
    const batchLast = this.last;
    const tombs = this.takeBatchTombs();
    const touched = new Set<Block>();
    let i = 0;
    let e = 0;
    const fail = (err: Error): void => this.batchFailed(err, jobs, tombs, erases.slice(e), dead, cbs);
    const done = (): void => {
      this.batchWritten(batchLast, dead);
      for (const mb of touched) this.touchedWritten(mb);
      this.batchDone(cbs);
    };
    const sync = (): void => {
      if (this.dirDirty) {
        // a new block file's name must survive a power cut too
        this.dirDirty = false;
        return fs.open(this.mdir, 'r', (err, dfd) => {
          if (err) return fail(err);
          fs.fsync(dfd, (err2) => fs.close(dfd, () => (err2 ? fail(err2) : sync())));
        });
      }
      const list = [...touched].filter((mb) => !mb.dead);
      let k = 0;
      const next = (err: NodeJS.ErrnoException | null): void => {
        if (err) return fail(err);
        if (k > 0) list[k - 1]!.synced = list[k - 1]!.written;
        if (k === list.length) return done();
        const fd = fdFor(list[k++]!);
        if (fd !== null) fileIo.fdatasync(fd, next);
      };
      next(null);
    };
    /** the block's fd, or null after failing the batch (its file could not be created or opened) */
    const fdFor = (mb: Block): number | null => {
      try {
        return this.fdOf(mb);
      } catch (err) {
        fail(err as Error);
        return null;
      }
    };
    // a block append is in flight (erase writes come back through writeNext too)
    let inJob = false;
    const writeNext = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return fail(err);
      if (inJob) {
        inJob = false;
        const j = jobs[i]!;
        j.mb.written = j.from + n;
        if (j.mb.written < j.to) {
          // short write: continue where it stopped
          j.from = j.mb.written;
          inJob = true;
          return fileIo.write(j.mb.fd, j.mb.buf!, j.from - j.mb.base, j.to - j.from, j.from, writeNext);
        }
        i++;
      }
      if (i < jobs.length) {
        const j = jobs[i]!;
        const fd = fdFor(j.mb);
        if (fd === null) return;
        touched.add(j.mb);
        inJob = true;
        return fileIo.write(fd, j.mb.buf!, j.from - j.mb.base, j.to - j.from, j.from, writeNext);
      }
      if (e < erases.length) {
        const x = erases[e]!;
        if (x.mb.dead) {
          e++;
          return writeNext(null, 0);
        }
        const fd = fdFor(x.mb);
        if (fd === null) return; // x is queued again with the rest
        e++;
        touched.add(x.mb);
        return fileIo.write(fd, x.rec, 0, x.rec.length, x.off, (er) => writeNext(er, 0));
      }
      sync();
    };
    writeNext(null, 0);
  };

  /**
   * The batch of a store that does not sync always, written at once, one
   * write per block per event-loop turn: handing it to libuv's thread pool
   * costs a thread hop each way (about 0.3 ms here) inside every PubAck's
   * latency, while pwrite(2) only copies into the page cache, and a kill -9
   * after it loses nothing. (With sync always the writes and the fdatasync
   * go to the pool, in doFlush: a sync can take milliseconds and must not
   * stop the event loop.) It runs without that path's closures, job list
   * and Set, which were ~1 KB of garbage per batch, i.e. per message for a
   * publisher that waits for each ack (a KV put; BENCHMARKS.md,
   * "Session 12").
   */
  private writeNow(): void {
    // written by index, not emptied with length = 0, which frees their backing stores (see AckBatch in stream.ts)
    const blocks = this.nowBlocks;
    const starts = this.nowStarts;
    let nb = 0;
    for (const mb of this.blocks) {
      if (mb.written < mb.size) {
        blocks[nb] = mb;
        starts[nb++] = mb.written;
      }
    }
    const erases = this.erases;
    if (erases.length > 0) this.erases = [];
    const dead = this.deadBlocks;
    if (dead.length > 0) this.deadBlocks = [];
    const cbs = this.cbs;
    if (cbs.length > 0) this.cbs = [];
    if (nb === 0 && erases.length === 0 && dead.length === 0) {
      this.flushedLast = this.last;
      for (const cb of cbs) cb(null);
      this.drained();
      return;
    }
    this.writing = true;
    const batchLast = this.last;
    let k = 0;
    let e = 0;
    try {
      for (; k < nb; k++) {
        const mb = blocks[k]!;
        const fd = this.fdOf(mb);
        while (mb.written < mb.size) {
          const n = fileIo.writeSync(fd, mb.buf!, mb.written - mb.base, mb.size - mb.written, mb.written);
          if (n <= 0) throw new Error('write returned no progress');
          mb.written += n;
        }
      }
      for (; e < erases.length; e++) {
        const x = erases[e]!;
        if (!x.mb.dead) fileIo.writeSync(this.fdOf(x.mb), x.rec, 0, x.rec.length, x.off);
      }
    } catch (err) {
      const jobs: WriteJob[] = [];
      for (let i = 0; i < nb; i++) jobs.push({ mb: blocks[i]!, start: starts[i]!, from: blocks[i]!.written, to: blocks[i]!.size });
      blocks.fill(null);
      this.batchFailed(err as Error, jobs, this.takeBatchTombs(), erases.slice(e), dead, cbs);
      return;
    }
    // tombstones of this batch are written: a later failure has no need of them
    this.batchTombN = 0;
    this.batchWritten(batchLast, dead);
    for (let i = 0; i < nb; i++) {
      this.touchedWritten(blocks[i]!);
      blocks[i] = null;
    }
    for (const x of erases) this.touchedWritten(x.mb);
    this.batchDone(cbs);
  }

  /** the batch's tombstones, for rollback; later ones start a new list */
  private takeBatchTombs(): number[] {
    const t = this.batchTombs.slice(0, this.batchTombN);
    this.batchTombN = 0;
    return t;
  }

  /** a batch's bytes are in the files (and synced when the store syncs always) */
  private batchWritten(batchLast: number, dead: Block[]): void {
    this.writing = false;
    this.failedAt = 0;
    this.flushedLast = Math.max(this.flushedLast, batchLast);
    for (const mb of dead) this.removeBlockFiles(mb);
  }

  /** a block the batch wrote to: once sealed and whole on disk, its index is written, and it may be compacted */
  private touchedWritten(mb: Block): void {
    if (mb === this.lmb) this.slideWindow(mb);
    else if (mb.written === mb.size && !mb.dead) {
      this.sealedWritten(mb);
      this.maybeCompact(mb, this.first);
    }
  }

  private batchDone(cbs: Array<(err: Error | null) => void>): void {
    for (const cb of cbs) cb(null);
    if (this.cbs.length > 0 || this.batchTombN > 0 || this.lmb.written < this.lmb.size) this.kick();
    this.drained();
  }

  private batchFailed(
    err: Error,
    jobs: WriteJob[],
    tombs: number[],
    erases: EraseJob[],
    dead: Block[],
    cbs: Array<(err: Error | null) => void>,
  ): void {
    this.writing = false;
    this.rollback(jobs, tombs, erases, dead);
    const all = cbs.concat(this.cbs);
    this.cbs = [];
    const se = err instanceof StoreError ? err : storeError('io', ioErrorText(err));
    // a batch the store started on its own may fail with nobody waiting:
    // the stream checks this count before it acks what it stored earlier
    this.writeFailures++;
    this.lastWriteError = se;
    this.failedAt = Date.now();
    this.log?.error(`JetStream stream '${this.cfg.name}' write failed: ${se.message}`);
    for (const cb of all) cb(se);
    this.drained();
  }

  /**
   * A batch failed: what it held is dropped (messages past the last written
   * one leave the index, their sequences will be reused); tombstones and
   * erases for older messages are queued again.
   */
  private rollback(jobs: WriteJob[], tombs: number[], erases: EraseJob[], dead: Block[]): void {
    const keep = this.flushedLast;
    for (const j of jobs) {
      // bytes the failed batch got into the file go too
      j.mb.size = j.mb.written = j.start;
      j.mb.ix?.truncate(j.start);
      // At once, not through the thread pool: the next batch is written to
      // this offset, and a truncate landing after that write cut the next
      // acknowledged message off the file (the intermittent failure of
      // filestore-recovery's "a failed write" test). Failures only, so rare.
      try {
        fs.ftruncateSync(this.fdOf(j.mb), j.mb.size);
      } catch {
        // the next write overwrites what is left; recovery drops a torn tail
      }
    }
    // anything appended while the batch was in flight goes as well
    for (const mb of this.blocks) {
      if (mb.size > mb.written) {
        mb.size = mb.written;
        mb.ix?.truncate(mb.size);
      }
    }
    this.batchTombN = 0;
    // drop the lost messages, newest first
    for (let s = this.last; s > keep; s--) {
      if (this.isLive(s)) this.removeSeq(s, false, true, true);
    }
    if (this.last > keep) {
      this.last = keep;
      const p = this.msgs > 0 ? this.prevLive(this.first, keep) : 0;
      if (p !== 0) this.lastTs = this.tsAt(p);
    }
    if (this.msgs === 0 && this.first > this.last + 1) this.first = this.last + 1;
    this.markedFirst = -1;
    // empty blocks created by the lost batch go
    while (this.blocks.length > 1 && this.lmb.size === 0) {
      const mb = this.blocks.pop()!;
      mb.dead = true;
      this.removeBlockFiles(mb);
      this.lmb = this.blocks[this.blocks.length - 1]!;
      // the last block again: its columns are never evicted
      const li = this.colsLru.indexOf(this.lmb);
      if (li >= 0) this.colsLru.splice(li, 1);
      if (this.lmb.buf === null) this.loadCache(this.lmb);
    }
    if (this.lmb.first > this.last + 1) this.lmb.first = this.last + 1;
    for (const s of tombs) if (s <= keep && !this.isLive(s)) this.appendTomb(s);
    for (const x of erases) this.erases.push(x);
    for (const mb of dead) this.deadBlocks.push(mb);
  }

  protected override removeSeq(seq: number, secure: boolean, notify = true, lost = false): boolean {
    if (!lost) return super.removeSeq(seq, secure, notify);
    // a lost message: no tombstone, its bytes are already gone
    const was = this.recovering;
    this.recovering = true;
    try {
      return super.removeSeq(seq, false, notify);
    } finally {
      this.recovering = was;
    }
  }

  private sealedWritten(mb: Block): void {
    if (mb.compacting || mb.dead || !mb.buf || mb.ix === null || mb.idxWriting) return;
    const ix = mb.ix;
    // (read from the file when the block sealed with its window past its
    // tail; unreadable: no index file, the block keeps its builder and a
    // restart scans it)
    const crc = this.tailCrc(mb);
    if (crc < 0) return;
    mb.idxWriting = true;
    // the builder serves loadCols until the file is there to read
    this.writeIndex(mb, mb.size, crc, ix, false, () => {
      mb.idxWriting = false;
      if (mb.ix === ix && mb !== this.lmb) {
        mb.ix = null;
        this.ixSpare = ix;
      }
    });
  }

  /**
   * The record builder of a new last block: the one of a sealed block whose
   * index file is written, at the size it grew to. A fresh builder doubles
   * its array ~9 times while a 4 MiB block fills (to 3.5 MiB when a limit's
   * tombstones share the block), leaving each smaller array to the GC: a
   * stream at max_msgs took 2.10 instead of 1.95 µs per stored message and
   * peaked at 47 instead of 23 MiB of ArrayBuffers (BENCHMARKS.md,
   * "Session 10").
   */
  private takeIxSpare(): IdxBuilder {
    const ix = this.ixSpare;
    if (ix === null) return new IdxBuilder();
    this.ixSpare = null;
    ix.reset(0);
    return ix;
  }

  /** size: the bytes ix describes; lastCrc: the checksum of their last record */
  private writeIndex(mb: Block, size: number, lastCrc: number, ix: IdxBuilder, sync = false, done?: () => void): void {
    if (size < REC_MIN) return;
    const idx = encodeIndex(size, lastCrc, ix);
    const path = join(this.mdir, `${mb.id}.idx`);
    if (sync) {
      try {
        fs.writeFileSync(path, idx);
      } catch (err) {
        this.log?.warn(`JetStream stream '${this.cfg.name}' index ${mb.id}: ${(err as Error).message}`);
      }
      return;
    }
    // a hint only: checked against the block's tail before it is trusted
    fs.writeFile(path, idx, () => done?.());
  }

  private removeBlockFiles(mb: Block): void {
    if (this.summaryLive) this.dropSummary();
    if (mb.fd >= 0) {
      const fd = mb.fd;
      mb.fd = -1;
      fs.close(fd, () => {});
    }
    // A limit removes the first block while the last one fills: its buffer
    // is the next block's. A fresh 4 MiB buffer per block, its pages faulted
    // in and the old one left to the GC, made a stream at max_msgs take 2.6
    // instead of 1.95 µs per stored message, with 65-80 instead of 23 MiB of
    // ArrayBuffers at the peak (BENCHMARKS.md, "Session 10").
    this.dropBuf(mb);
    this.colsForget(mb);
    fs.unlink(join(this.mdir, blkName(mb.id)), () => {});
    fs.unlink(join(this.mdir, `${mb.id}.idx`), () => {});
  }

  /** @internal the periodic sync (periodicSync) */
  syncAll(): void {
    if (this.writing || this.closed) return;
    for (const mb of this.blocks) {
      if (mb.synced < mb.written) {
        const w = mb.written;
        fileIo.fdatasync(this.fdOf(mb), (err) => {
          if (!err) mb.synced = Math.max(mb.synced, w);
        });
      }
    }
  }

  private drained(): void {
    if (!this.writing && this.afterWrite.length > 0) {
      const a = this.afterWrite;
      this.afterWrite = [];
      for (const f of a) f();
    }
    if (this.writing || this.scheduled || this.idle.length === 0) return;
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }

  /** resolves when no write is in flight or scheduled */
  private whenIdle(): Promise<void> {
    if (!this.writing && !this.scheduled) return Promise.resolve();
    return new Promise((res) => this.idle.push(res));
  }

  // ---- compaction of mostly deleted blocks ----

  private compactBlock(mb: Block): void {
    if (mb.dead || this.closed) {
      mb.compacting = false;
      return;
    }
    if (this.summaryLive) this.dropSummary();
    let src: Buffer;
    try {
      if (mb.buf !== null && mb.base === 0) {
        mb.lent = true;
        src = mb.buf;
      } else src = mb.size > 0 ? this.readWhole(mb) : Buffer.alloc(0);
    } catch {
      mb.compacting = false;
      return;
    }
    const out = pagedBuffer(mb.liveBytes + mb.tombs.length * REC_MIN + REC_MIN + STATE_LEN);
    // the highest sequence the block records: if what carried it goes, a
    // tombstone keeps it (a skip or a deleted last message may be the only
    // trace of the last sequence)
    let maxSeq = 0;
    let maxTs = 0;
    let keptMax = 0;
    const moved: [number, number][] = [];
    const tombs: number[] = [];
    let lastState: Rec | null = null;
    let o = 0;
    const why = { r: '' };
    for (let off = 0; off < mb.size; ) {
      const r = parseRec(src, off, mb.size, why);
      if (r === null) break;
      off += r.len;
      if (r.flags & REC_STATE) {
        lastState = r;
        continue;
      }
      if (r.seq > maxSeq) {
        maxSeq = r.seq;
        maxTs = r.ts;
      }
      if (r.flags & REC_ERASED) continue;
      if (r.flags & REC_TOMB) {
        // still needed while the message it deletes sits in another block
        if (r.seq >= this.first && r.seq < mb.first && o + r.len <= out.length) {
          src.copy(out, o, r.off, r.off + r.len);
          o += r.len;
          tombs.push(r.seq);
          if (r.seq > keptMax) keptMax = r.seq;
        }
        continue;
      }
      if (this.liveIn(mb, r.seq) && o + r.len <= out.length) {
        src.copy(out, o, r.off, r.off + r.len);
        moved.push([r.seq, o]);
        o += r.len;
        if (r.seq > keptMax) keptMax = r.seq;
      }
    }
    if (maxSeq > keptMax) {
      putMarker(out, o, REC_TOMB, maxSeq, maxTs);
      o += REC_MIN;
      tombs.push(maxSeq);
    }
    // the block's last state record: front removals are known only from it
    // (its last sequence predates every later block, so it stays valid here)
    if (lastState !== null) {
      src.copy(out, o, lastState.off, lastState.off + lastState.len);
      o += lastState.len;
    }
    const data = out.subarray(0, o);
    const tmp = join(this.mdir, `${mb.id}.blk.tmp`);
    const path = join(this.mdir, blkName(mb.id));
    mb.erasedDuring = null;
    fs.writeFile(tmp, data, (err) => {
      if (err || mb.dead || this.closed) {
        mb.compacting = false;
        fs.unlink(tmp, () => {});
        return;
      }
      fs.open(tmp, 'r+', (err2, fd) => {
        if (err2) {
          mb.compacting = false;
          return;
        }
        fs.fdatasync(fd, () => {
          if (mb.dead || this.closed) {
            fs.close(fd, () => {});
            fs.unlink(tmp, () => {});
            mb.compacting = false;
            return;
          }
          fs.rename(tmp, path, (err3) => {
            if (err3 || mb.dead || this.closed) {
              fs.close(fd, () => {});
              mb.compacting = false;
              return;
            }
            // not while a write is in flight: it may target this block's fd
            this.whenNotWriting(() => this.swapBlock(mb, fd, data, moved, tombs));
          });
        });
      });
    });
  }

  private whenNotWriting(f: () => void): void {
    if (!this.writing) f();
    else this.afterWrite.push(f);
  }

  private swapBlock(mb: Block, fd: number, data: Buffer, moved: [number, number][], tombs: number[]): void {
    if (mb.dead || this.closed) {
      fs.close(fd, () => {});
      mb.compacting = false;
      return;
    }
    // erases queued for the old layout: what they erase was not copied
    this.erases = this.erases.filter((x) => x.mb !== mb);
    const old = mb.fd;
    mb.fd = fd;
    if (old >= 0) fs.close(old, () => {});
    mb.size = mb.written = mb.synced = data.length;
    mb.tombs = tombs;
    mb.buf = mb.buf !== null ? Buffer.from(data) : null;
    mb.base = 0;
    const c = mb.cols;
    if (c !== null) {
      for (const [seq, off] of moved) {
        const i = seq - mb.first;
        if (i >= 0 && i < c.cap) c.off[i] = off;
      }
    }
    // erased while copying: the copy still holds the bytes
    for (const seq of mb.erasedDuring ?? []) {
      const m = moved.find((x) => x[0] === seq);
      if (m !== undefined) {
        const len = data.readUInt32LE(m[1]) & ~FLAGS;
        this.erase(mb, seq, m[1], len);
      }
    }
    mb.erasedDuring = null;
    mb.compacting = false;
    mb.checked = true;
    const recs: Rec[] = [];
    const why = { r: '' };
    for (let off = 0; off < data.length; ) {
      const r = parseRec(data, off, data.length, why);
      if (r === null) break;
      recs.push(r);
      off += r.len;
    }
    // A builder kept from before the compaction (its index write was still
    // pending when the compaction began) holds the old layout's offsets: the
    // next column load would take them over the new file's, find other bytes
    // at them and drop the messages as lost (found by the lazy-index model
    // test once it let index writes finish between operations).
    mb.ix = null;
    if (data.length >= REC_MIN) this.writeIndex(mb, data.length, data.readUInt32LE(data.length - 8), IdxBuilder.of(recs));
    // nothing left worth keeping (a block of stale tombstones)
    // (its max-sequence tombstone is carried by the state record killBlock writes)
    if (mb.live === 0 && tombs.every((t) => t >= mb.first)) this.killBlock(mb);
  }

  private readWhole(mb: Block): Buffer {
    const buf = pagedBuffer(mb.size);
    fs.readSync(this.fdOf(mb), buf, 0, mb.size, 0);
    return buf;
  }

  // ---- consumers ----

  consumerStore(name: string): ConsumerStore {
    if (this.closed) throw storeError('closed');
    let cs = this.consumers.get(name);
    // A consumer that stopped (its stream's leadership moved to another
    // server) closed its store; the state the group sends on must still
    // reach the disk: a fresh instance, from what the stop wrote.
    if (cs !== undefined && cs.isStopped()) cs = undefined;
    if (cs === undefined) {
      // a consumer the summary does not list: it no longer says which there are
      if (this.summaryConsumers !== null && !this.summaryConsumers.includes(name)) this.dropSummary();
      cs = new FileConsumerStore(join(this.cdir, consumerFileName(name)), this.syncAlways, () => {
        this.consumers.delete(name);
        if (this.summaryConsumers !== null) this.dropSummary();
      });
      this.consumers.set(name, cs);
    }
    return cs;
  }

  consumerNames(): string[] {
    // a restart asks each stream once, before any consumer is open
    if (this.consumers.size === 0 && this.summaryConsumers !== null && this.summaryConsumers.length === 0) return [];
    const names = new Set(this.consumers.keys());
    if (this.summaryConsumers !== null) {
      for (const n of this.summaryConsumers) names.add(n);
    } else {
      try {
        for (const n of this.consumerFiles(fs.readdirSync(this.cdir))) names.add(n);
      } catch {
        // no directory: no consumers
      }
    }
    return [...names].sort();
  }

  private consumerFiles(files: string[]): string[] {
    const out: string[] = [];
    for (const f of files) {
      const n = consumerNameOfFile(f);
      if (n !== null) out.push(n);
    }
    return out;
  }

  // ---- life cycle ----

  async stop(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((res) => this.flush(() => res()));
    await this.whenIdle();
    this.close();
    if (this.syncEvery > 0) periodicSync(this.syncEvery, this, false);
    for (const cs of this.consumers.values()) await cs.stop();
    this.consumers.clear();
    // the last block's index, so the next open need not scan it
    const mb = this.lmb;
    const crc = mb.buf !== null && mb.ix !== null && mb.size === mb.written && mb.size >= REC_MIN ? this.tailCrc(mb) : -1;
    if (crc >= 0) await fs.promises.writeFile(join(this.mdir, `${mb.id}.idx`), encodeIndex(mb.size, crc, mb.ix!)).catch(() => {});
    await this.writeSummary();
    for (const b of this.blocks) {
      if (b.fd >= 0) {
        try {
          fs.closeSync(b.fd);
        } catch {
          // already closed
        }
        b.fd = -1;
      }
      b.buf = null;
    }
  }

  async delete(): Promise<void> {
    await this.stop();
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  /** test hook: blocks whose per-message columns are loaded */
  loadedColumnBlocks(): number {
    let k = 0;
    for (const mb of this.blocks) if (mb.cols !== null) k++;
    return k;
  }

  /** test hook: where the last block's bytes in memory start (see slideWindow) and the buffer holding them */
  lastWindow(): { base: number; size: number; buf: Buffer | null } {
    const mb = this.lmb;
    return { base: mb.base, size: mb.size, buf: mb.buf };
  }

  /** test hook: bytes per block known synced (power-loss simulation) */
  syncedSizes(): Map<string, number> {
    const m = new Map<string, number>();
    // a block whose file the next write creates has none yet
    for (const mb of this.blocks) if (!mb.create) m.set(join(this.mdir, blkName(mb.id)), mb.synced);
    return m;
  }
}
