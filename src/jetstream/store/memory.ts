// The memory store: messages live in the sequence table (one Buffer per
// message holding header then payload). Everything else (limits, index,
// queries) is IndexedStore (store/base.ts). server/memstore.go semantics.

import { randomFillSync } from 'node:crypto';
import { IndexedStore } from './base.js';
import { MemoryConsumerStore } from './consumer.js';
import { memStoreMsgSize, storeError, type ConsumerStore, type StoreConfig, type StoredMsg } from './types.js';

export class MemoryStore extends IndexedStore {
  readonly type = 'memory' as const;
  private consumers = new Map<string, MemoryConsumerStore>();

  constructor(cfg: StoreConfig) {
    super(cfg, true);
  }

  protected msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return memStoreMsgSize(subject, hdr, data);
  }

  protected putMsg(_seq: number, idx: number, _subject: string, hdr: Buffer | null, data: Buffer): void {
    const hl = hdr === null ? 0 : hdr.length;
    // one copy: the caller's buffers are usually views into a socket read
    const buf = Buffer.allocUnsafe(hl + data.length);
    if (hl > 0) buf.set(hdr!, 0);
    buf.set(data, hl);
    this.table.objs![idx] = buf;
    this.table.aux[idx] = hl;
  }

  protected readMsg(seq: number, idx: number, subject: string): StoredMsg {
    const buf = this.table.objs![idx]!;
    const hl = this.table.aux[idx]!;
    return {
      subject,
      seq,
      ts: this.table.ts[idx]!,
      hdr: hl === 0 ? null : buf.subarray(0, hl),
      data: buf.subarray(hl),
    };
  }

  protected dropMsg(_seq: number, idx: number, secure: boolean): void {
    const buf = this.table.objs![idx];
    // erase: whoever still holds a loaded view sees the bytes overwritten
    if (secure && buf) randomFillSync(buf);
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
