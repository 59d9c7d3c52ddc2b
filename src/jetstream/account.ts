// JetStream in one account (server/jetstream.go jsAccount): its streams, its
// limits and usage, its API statistics, and the internal client through
// which its streams subscribe and answer in that account.

import type { Account } from '../accounts/account.js';
import { InternalClient } from '../client/internal.js';
import type { JetStream } from './service.js';
import type { Stream } from './stream.js';
import { apiError, type ApiError } from './errors.js';
import type { StorageType } from './store/types.js';
import type { JetStreamAccountLimits, JetStreamAccountTiers } from '../config/options.js';

export type JsAccountLimits = JetStreamAccountLimits;

/**
 * The limits that apply to streams of one replica: the untiered limits, or
 * the R1 tier of a tiered account JWT (server/jetstream.go selectLimits).
 * null when the account has no JetStream.
 */
export function limitsFromTiers(tiers: JetStreamAccountTiers | null | undefined): JsAccountLimits | null {
  if (tiers === null || tiers === undefined) return null;
  const t = tiers[''] ?? tiers['R1'];
  return t === undefined ? null : { ...t };
}

/**
 * The tier map of an account whose limits are tiered (no '' tier: a JWT's
 * tiered_limits), whose account info lists tiers; null for untiered limits.
 */
export function tieredOnly(tiers: JetStreamAccountTiers | null | undefined): JetStreamAccountTiers | null {
  if (tiers === null || tiers === undefined || tiers[''] !== undefined) return null;
  return Object.keys(tiers).length > 0 ? tiers : null;
}

export class JsAccount {
  readonly streams = new Map<string, Stream>();
  /** all tiers' limits when they are tiered (account info shows them by tier); null = one untiered set */
  tiers: JetStreamAccountTiers | null = null;
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
