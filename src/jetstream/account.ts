// JetStream in one account (server/jetstream.go jsAccount): its streams, its
// limits and usage, its API statistics, and the internal client through
// which its streams subscribe and answer in that account.

import type { Account } from '../accounts/account.js';
import { InternalClient } from '../client/internal.js';
import type { JetStream } from './service.js';
import type { Stream } from './stream.js';
import { apiError, type ApiError } from './errors.js';
import type { StorageType } from './store/types.js';

/** server/jetstream.go JetStreamAccountLimits; -1 = unlimited */
export interface JsAccountLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending: number;
  memoryMaxStreamBytes: number;
  storeMaxStreamBytes: number;
  maxBytesRequired: boolean;
}

export function unlimited(): JsAccountLimits {
  return {
    maxMemory: -1,
    maxStore: -1,
    maxStreams: -1,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: false,
  };
}

/** An account config's `jetstream` value (true, or the limits map of accounts { X { jetstream { … } } }) as limits. */
export function limitsFromConfig(v: unknown): JsAccountLimits | null {
  if (v === undefined || v === false || v === null) return null;
  const l = unlimited();
  if (v === true) return l;
  if (typeof v !== 'object') return null;
  const m = v as Record<string, unknown>;
  const num = (...keys: string[]): number | undefined => {
    for (const k of keys) if (typeof m[k] === 'number') return m[k] as number;
    return undefined;
  };
  l.maxMemory = num('maxMemory', 'max_memory', 'max_mem', 'mem', 'memory') ?? -1;
  l.maxStore = num('maxStore', 'max_store', 'max_file', 'max_disk', 'store', 'disk') ?? -1;
  l.maxStreams = num('maxStreams', 'max_streams', 'streams') ?? -1;
  l.maxConsumers = num('maxConsumers', 'max_consumers', 'consumers') ?? -1;
  l.maxAckPending = num('maxAckPending', 'max_ack_pending') ?? -1;
  l.memoryMaxStreamBytes = num('memoryMaxStreamBytes', 'mem_max_stream_bytes', 'memory_max_stream_bytes') ?? -1;
  l.storeMaxStreamBytes = num('storeMaxStreamBytes', 'disk_max_stream_bytes', 'store_max_stream_bytes') ?? -1;
  l.maxBytesRequired = m.maxBytesRequired === true || m.max_bytes_required === true || m.max_stream_bytes === true || m.max_bytes === true;
  return l;
}

export class JsAccount {
  readonly streams = new Map<string, Stream>();
  readonly client: InternalClient;
  /** bytes stored, per storage type (kept by the stores' update callbacks) */
  memoryUsed = 0;
  storeUsed = 0;
  apiTotal = 0;
  apiErrors = 0;

  constructor(
    readonly js: JetStream,
    readonly account: Account,
    public limits: JsAccountLimits,
  ) {
    this.client = new InternalClient(js.server, account, `JetStream [${account.name}]`);
  }

  get name(): string {
    return this.account.name;
  }

  numConsumers(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.consumers.size;
    return n;
  }

  /** Reserved bytes of streams with max_bytes set, per storage type (server/jetstream.go tieredReservation). */
  reserved(storage: StorageType, except: string | null = null): number {
    let r = 0;
    for (const s of this.streams.values()) {
      if (s.name === except) continue;
      if (s.cfg.storage === storage && s.cfg.maxBytes > 0) r += s.cfg.maxBytes;
    }
    return r;
  }

  /**
   * Before a message is stored (server/stream.go processJetStreamMsg's
   * js.limitsExceeded and jsa.limitsExceeded): the server's and the
   * account's storage limits. null when it fits.
   */
  checkStorageLimits(stream: Stream, size: number): ApiError | null {
    const js = this.js;
    if (stream.cfg.storage === 'memory') {
      if (js.maxMemory > 0 && js.memoryUsed() + size > js.maxMemory) return apiError('JSInsufficientResourcesErr');
      const lim = this.limits.maxMemory;
      if (lim >= 0 && this.memoryUsed + size > lim) return apiError('JSAccountResourcesExceededErr');
    } else {
      if (js.maxStore > 0 && js.storeUsed() + size > js.maxStore) return apiError('JSInsufficientResourcesErr');
      const lim = this.limits.maxStore;
      if (lim >= 0 && this.storeUsed + size > lim) return apiError('JSAccountResourcesExceededErr');
    }
    return null;
  }

  /** Close the internal client (after the streams stopped). */
  close(): void {
    this.client.closeInternal();
  }
}
