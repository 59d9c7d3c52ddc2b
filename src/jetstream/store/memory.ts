// The memory store: messages live in the sequence table (one Buffer per
// message holding header then payload). Everything else (limits, index,
// queries) is IndexedStore (store/base.ts). server/memstore.go semantics.

import { randomFillSync } from 'node:crypto';
import { IndexedStore } from './base.js';
import { MemoryConsumerStore } from './consumer.js';
import { memStoreMsgSize, storeError, type ConsumerStore, type StoreConfig, type StoredMsg } from './types.js';

const SLAB = 128 * 1024;
/** messages larger than this get a buffer of their own */
const BIG = 16 * 1024;

export class MemoryStore extends IndexedStore {
  readonly type = 'memory' as const;
  private consumers = new Map<string, MemoryConsumerStore>();

  constructor(cfg: StoreConfig) {
    super(cfg, true);
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

  protected putMsg(_seq: number, idx: number, _subject: string, hdr: Buffer | null, data: Buffer): void {
    const hl = hdr === null ? 0 : hdr.length;
    const n = 4 + hl + data.length;
    let buf: Buffer;
    let off: number;
    if (n > BIG) {
      buf = Buffer.allocUnsafeSlow(n);
      off = 0;
    } else {
      if (this.slabOff + n > this.slab.length) {
        this.slab = Buffer.allocUnsafeSlow(SLAB);
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

  protected readMsg(seq: number, idx: number, subject: string): StoredMsg {
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

  protected dropMsg(_seq: number, idx: number, secure: boolean): void {
    const buf = this.table.objs![idx];
    // erase: whoever still holds a loaded view sees the bytes overwritten
    if (secure && buf) {
      const off = this.table.aux[idx]!;
      const name = this.subjById[this.table.subj[idx]!]!.name;
      randomFillSync(buf, off + 4, this.bodyLen(idx, name.length));
    }
    this.table.objs![idx] = null;
  }

  flush(cb: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => cb(storeError('closed')));
      return;
    }
    queueMicrotask(() => cb(null));
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
