// The JetStream documents of the monitoring endpoints, as nats-server 2.9.10
// builds them (server/monitor.go Jsz, accountDetail, updateJszVarz;
// server/jetstream.go usageStats): pure functions over a narrow read-only
// view of the running JetStream, so that the monitor never reaches into
// streams and the runtime decides how its figures are kept.
//
// Field order follows the reference's structs (JSInfo, JetStreamStats,
// AccountDetail, StreamDetail), since Go marshals in declaration order.
// uint64 values that can exceed 2^53 (a reservation of -1 read as uint64)
// are bigint: serialize with goJSONBig (monitor/gofmt.ts).

import type { JetStreamAccountTiers } from '../config/options.js';
import type { JszOptions } from '../server/features.js';

/** server/jetstream.go JetStreamConfig as /jsz and /varz show it. */
export interface JsConfigView {
  maxMemory: number;
  maxStore: number;
  storeDir: string;
  domain: string;
  /** set when the reference would have CompressOK (both limits configured) */
  compressOk?: boolean;
}

/** One consumer: its ConsumerInfo JSON, config included. */
export interface JsConsumerView {
  info(): Record<string, unknown>;
}

/** One stream. */
export interface JsStreamView {
  readonly name: string;
  /** creation time, Go time.Time JSON (RFC 3339, UTC) */
  readonly created: string;
  /** StreamConfig JSON */
  config(): Record<string, unknown>;
  /** StreamState JSON and its totals */
  state(): { json: Record<string, unknown>; msgs: number; bytes: number; consumers: number };
  /** public consumers (not the internal ones of mirrors/sources) */
  consumers(): Iterable<JsConsumerView>;
  /** StreamSourceInfo JSON of the mirror, if any */
  mirror?(): Record<string, unknown> | undefined;
  /** StreamSourceInfo JSON of the sources, if any */
  sources?(): Record<string, unknown>[] | undefined;
}

/** One JetStream-enabled account. */
export interface JsAccountView {
  /** account name (its public key in operator mode) */
  readonly name: string;
  /** the JWT's name, shown as `name` when set (server/accounts.go nameTag) */
  readonly nameTag?: string;
  readonly memoryUsed: number;
  readonly storeUsed: number;
  readonly apiTotal: number;
  readonly apiErrors: number;
  /** the account's limits by tier: `reserved_*` of its detail come from tier '' */
  readonly limits: JetStreamAccountTiers;
  streams(): Iterable<JsStreamView>;
}

/** The server's JetStream. */
export interface JetStreamView {
  readonly serverId: string;
  /** a stream's `cluster` on a lone server is {name: cluster name (omitted when empty), leader: server name} */
  readonly serverName: string;
  readonly clusterName: string;
  readonly config: JsConfigView;
  /** bytes reserved by streams with max_bytes, server-wide */
  readonly reservedMemory: number;
  readonly reservedStore: number;
  /** server-wide API counters (server/jetstream.go js.apiTotal/apiErrors) */
  readonly apiTotal: number;
  readonly apiErrors: number;
  /** in-flight API requests; shown only when non-zero */
  readonly apiInflight?: number;
  /** raft groups; 0 on a lone server */
  readonly haAssets?: number;
  /** clustered: the meta group's MetaClusterInfo JSON */
  readonly meta?: () => Record<string, unknown>;
  accounts(): Iterable<JsAccountView>;
}

/** Go's uint64(int64): a negative value wraps. */
export function uint64(n: number): number | bigint {
  if (n >= 0) return n;
  return (1n << 64n) + BigInt(Math.trunc(n));
}

/** JetStreamConfig JSON */
export function configJSON(c: JsConfigView): Record<string, unknown> {
  const o: Record<string, unknown> = { max_memory: c.maxMemory, max_storage: c.maxStore };
  if (c.storeDir !== '') o.store_dir = c.storeDir;
  if (c.domain !== '') o.domain = c.domain;
  if (c.compressOk) o.compress_ok = true;
  return o;
}

function apiJSON(total: number, errors: number, inflight = 0): Record<string, unknown> {
  const o: Record<string, unknown> = { total, errors };
  if (inflight !== 0) o.inflight = inflight;
  return o;
}

/** server/jetstream.go usageStats: JetStreamStats JSON */
export function statsJSON(js: JetStreamView): Record<string, unknown> {
  let memory = 0;
  let storage = 0;
  let accounts = 0;
  for (const a of js.accounts()) {
    memory += a.memoryUsed;
    storage += a.storeUsed;
    accounts++;
  }
  return {
    memory,
    storage,
    reserved_memory: uint64(js.reservedMemory),
    reserved_storage: uint64(js.reservedStore),
    accounts,
    ha_assets: js.haAssets ?? 0,
    api: apiJSON(js.apiTotal, js.apiErrors, js.apiInflight ?? 0),
  };
}

/** the `jetstream` section of /varz with JetStream running (server/monitor.go updateJszVarz) */
export function jetStreamVarz(js: JetStreamView): Record<string, unknown> {
  const o: Record<string, unknown> = { config: configJSON(js.config), stats: statsJSON(js) };
  if (js.meta !== undefined) o.meta = js.meta();
  return o;
}

/** server/monitor.go accountDetail */
export function accountDetail(
  js: Pick<JetStreamView, 'serverName' | 'clusterName'>,
  a: JsAccountView,
  streams: boolean,
  consumers: boolean,
  config: boolean,
): Record<string, unknown> {
  const d: Record<string, unknown> = {
    name: a.nameTag !== undefined && a.nameTag !== '' ? a.nameTag : a.name,
    id: a.name,
    memory: a.memoryUsed,
    storage: a.storeUsed,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 0,
    ha_assets: 0,
    api: apiJSON(a.apiTotal, a.apiErrors),
  };
  const untiered = a.limits[''];
  if (untiered !== undefined) {
    d.reserved_memory = uint64(untiered.maxMemory);
    d.reserved_storage = uint64(untiered.maxStore);
  }
  if (streams) {
    const list: Record<string, unknown>[] = [];
    const cluster: Record<string, unknown> = {};
    if (js.clusterName !== '') cluster.name = js.clusterName;
    if (js.serverName !== '') cluster.leader = js.serverName;
    for (const s of a.streams()) list.push(streamDetail(s, cluster, consumers, config));
    if (list.length > 0) d.stream_detail = list;
  }
  return d;
}

/** server/monitor.go StreamDetail */
function streamDetail(s: JsStreamView, cluster: Record<string, unknown>, consumers: boolean, config: boolean): Record<string, unknown> {
  // server/jetstream_cluster.go clusterInfo: a stream without a raft group
  const sd: Record<string, unknown> = { name: s.name, created: s.created, cluster: { ...cluster } };
  if (config) sd.config = s.config();
  sd.state = s.state().json;
  if (consumers) {
    const list: Record<string, unknown>[] = [];
    for (const c of s.consumers()) {
      const info = { ...c.info() };
      if (!config) delete info.config;
      list.push(info);
    }
    if (list.length > 0) sd.consumer_detail = list;
  }
  const mirror = s.mirror?.();
  if (mirror !== undefined) sd.mirror = mirror;
  const sources = s.sources?.();
  if (sources !== undefined && sources.length > 0) sd.sources = sources;
  return sd;
}

/**
 * server/monitor.go Jsz with JetStream running (a lone server is always the
 * leader). `now` is the Go time JSON of the request.
 */
export function jsz(js: JetStreamView, opts: JszOptions, now: string): Record<string, unknown> {
  const limit = opts.limit === 0 ? 1024 : opts.limit;
  const wantConsumers = opts.consumers;
  const wantStreams = opts.streams || wantConsumers;
  const wantAccounts = opts.accounts || wantStreams;

  let accounts = [...js.accounts()];
  let nStreams = 0;
  let nConsumers = 0;
  let messages = 0;
  let bytes = 0;
  let filterIdx = -1;
  accounts.forEach((a, i) => {
    if (a.name === opts.account) filterIdx = i;
    for (const s of a.streams()) {
      const st = s.state();
      nStreams++;
      messages += st.msgs;
      bytes += st.bytes;
      nConsumers += st.consumers;
    }
  });

  if (filterIdx !== -1) accounts = [accounts[filterIdx]!];
  else if (wantAccounts) {
    if (opts.offset !== 0) {
      // Go's strings.Compare: byte order
      accounts.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      accounts = opts.offset > accounts.length ? [] : accounts.slice(opts.offset);
    }
    if (limit > 0 && limit < accounts.length) accounts = accounts.slice(0, limit);
  } else accounts = [];

  const out: Record<string, unknown> = {
    server_id: js.serverId,
    now,
    config: configJSON(js.config),
    ...statsJSON(js),
    streams: nStreams,
    consumers: nConsumers,
    messages,
    bytes,
  };
  if (js.meta !== undefined) out.meta_cluster = js.meta();
  if (accounts.length > 0) {
    out.account_details = accounts.map((a) => accountDetail(js, a, wantStreams, wantConsumers, opts.config));
  }
  return out;
}
