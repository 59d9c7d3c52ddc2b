// Consumer state stores and the JSON form of a consumer's state on disk.

import type { ConsumerState, ConsumerStore } from './types.js';

/** The JSON form (Maps become [seq, ...] arrays). */
export interface ConsumerStateJson {
  delivered: { consumer_seq: number; stream_seq: number };
  ack_floor: { consumer_seq: number; stream_seq: number };
  /** [stream seq, consumer seq, ts] */
  pending: [number, number, number][];
  /** [stream seq, count] */
  redelivered: [number, number][];
}

export function consumerStateToJson(s: ConsumerState): ConsumerStateJson {
  const pending: [number, number, number][] = [];
  for (const [seq, p] of s.pending) pending.push([seq, p.sequence, p.ts]);
  const redelivered: [number, number][] = [];
  for (const [seq, n] of s.redelivered) redelivered.push([seq, n]);
  return {
    delivered: { consumer_seq: s.delivered.consumerSeq, stream_seq: s.delivered.streamSeq },
    ack_floor: { consumer_seq: s.ackFloor.consumerSeq, stream_seq: s.ackFloor.streamSeq },
    pending,
    redelivered,
  };
}

export function consumerStateFromJson(j: ConsumerStateJson): ConsumerState {
  const pending = new Map<number, { sequence: number; ts: number }>();
  for (const [seq, cseq, ts] of j.pending ?? []) pending.set(seq, { sequence: cseq, ts });
  const redelivered = new Map<number, number>();
  for (const [seq, n] of j.redelivered ?? []) redelivered.set(seq, n);
  return {
    delivered: { consumerSeq: j.delivered?.consumer_seq ?? 0, streamSeq: j.delivered?.stream_seq ?? 0 },
    ackFloor: { consumerSeq: j.ack_floor?.consumer_seq ?? 0, streamSeq: j.ack_floor?.stream_seq ?? 0 },
    pending,
    redelivered,
  };
}

/** A deep copy, so a stored state does not change under the caller's later edits. */
export function cloneConsumerState(s: ConsumerState): ConsumerState {
  return {
    delivered: { ...s.delivered },
    ackFloor: { ...s.ackFloor },
    pending: new Map([...s.pending].map(([k, v]) => [k, { ...v }])),
    redelivered: new Map(s.redelivered),
  };
}

/** Memory streams keep consumer state in memory only (server/memstore.go consumerMemStore). */
export class MemoryConsumerStore implements ConsumerStore {
  private cfg: string | null = null;
  private st: ConsumerState | null = null;

  constructor(private readonly onDelete: () => void) {}

  setConfig(cfgJson: string): void {
    this.cfg = cfgJson;
  }
  getConfig(): string | null {
    return this.cfg;
  }
  update(state: ConsumerState): void {
    this.st = cloneConsumerState(state);
  }
  state(): ConsumerState | null {
    return this.st === null ? null : cloneConsumerState(this.st);
  }
  flush(cb: (err: Error | null) => void): void {
    queueMicrotask(() => cb(null));
  }
  async stop(): Promise<void> {}
  async delete(): Promise<void> {
    this.st = null;
    this.cfg = null;
    this.onDelete();
  }
}
