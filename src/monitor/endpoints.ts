// The JSON documents of the monitoring endpoints other than /connz: /varz,
// /subsz, /routez, /accountz, /accstatz, /gatewayz, /leafz, /jsz, /healthz.
// Field names, order, types and omitempty rules follow server/monitor.go of
// nats-server 2.9.10; features tsnats does not serve (gateways, leaf nodes,
// JetStream) answer with the documents the reference emits when they are off.

import { nodeOs } from '../server/builtins.js';
import type { Server } from '../server/server.js';
import type { JszOptions } from '../server/features.js';
import type { Account } from '../accounts/account.js';
import type { AccountConfig, SubjectPermission } from '../config/options.js';
import { DEFAULT_SYSTEM_ACCOUNT, NATS_COMPAT_VERSION, PROTO, TLS_TIMEOUT_MS } from '../config/options.js';
import { Kind } from '../client/connection.js';
import { Sublist, type SublistStats, type SubLike } from '../subjects/sublist.js';
import { isValidLiteralSubject, matchLiteral } from '../subjects/validate.js';
import { BadRequest, type Query } from './query.js';
import { goRTT, goTime, myUptime, nowMs, protoText } from './gofmt.js';
import type { MonitoredRoute } from './routes.js';
import type { Subscription } from '../client/subscription.js';

/** server/monitor.go DefaultSubListSize */
export const DEFAULT_SUB_LIST_SIZE = 1024;

/** What the endpoint builders need from the monitor besides the server. */
export interface MonitorState {
  readonly srv: Server;
  /** per-path request counters (varz http_req_stats) */
  readonly reqStats: Map<string, number>;
  /** CPU percent of this process, sampled like the reference's pse */
  cpuPercent(): number;
}

// ---------------------------------------------------------------------------
// shared numbers

/** Name of the system account, when one exists. */
export function systemAccountName(srv: Server): string {
  const o = srv.opts;
  const name = o.systemAccount !== '' ? o.systemAccount : o.noSystemAccount ? '' : DEFAULT_SYSTEM_ACCOUNT;
  return name !== '' && srv.accounts.has(name) ? name : '';
}

/** Total subscriptions over every account (varz "subscriptions"). */
export function totalSubscriptions(srv: Server): number {
  let n = 0;
  for (const a of srv.accounts.values()) n += a.sublist.count();
  return n;
}

export function numRoutes(srv: Server): number {
  return srv.routeInfoProvider?.numRoutes() ?? 0;
}

function subjectPermJSON(p: SubjectPermission | undefined): Record<string, unknown> | undefined {
  if (p === undefined) return undefined;
  const o: Record<string, unknown> = {};
  if (p.allow !== undefined && p.allow.length > 0) o.allow = p.allow;
  if (p.deny !== undefined && p.deny.length > 0) o.deny = p.deny;
  return o;
}

function sublistStatsJSON(st: SublistStats): Record<string, number> {
  return {
    num_subscriptions: st.numSubs,
    num_cache: st.numCache,
    num_inserts: st.numInserts,
    num_removes: st.numRemoves,
    num_matches: st.numMatches,
    cache_hit_rate: st.cacheHitRate,
    max_fanout: st.maxFanout,
    avg_fanout: st.avgFanout,
  };
}

function nowUTC(): string {
  return goTime(nowMs(), true);
}

/** host:port, as Go's url.URL.Host of a route URL. */
function urlHost(u: string): string {
  try {
    const parsed = new URL(u);
    return parsed.host;
  } catch {
    return u;
  }
}

// ---------------------------------------------------------------------------
// /varz

export function varz(m: MonitorState): Record<string, unknown> {
  const srv = m.srv;
  const o = srv.opts;
  const now = nowMs();
  const v: Record<string, unknown> = {
    server_id: srv.serverId,
    server_name: srv.serverName,
    version: NATS_COMPAT_VERSION,
    proto: PROTO,
    go: `node${process.version.slice(1)}`,
    host: o.host,
    port: srv.port,
  };
  if (srv.auth.required()) v.auth_required = true;
  if (o.tls) v.tls_required = true;
  if (o.tls && o.tlsConfig?.verify) v.tls_verify = true;
  const urls = srv.routeInfoProvider?.connectURLs?.() ?? [];
  if (urls.length > 0) v.connect_urls = urls;
  v.max_connections = o.maxConn;
  if (o.maxSubs !== 0) v.max_subscriptions = o.maxSubs;
  // time.Duration fields are nanoseconds in the reference's JSON
  v.ping_interval = o.pingIntervalMs * 1e6;
  v.ping_max = o.maxPingsOut;
  v.http_host = o.httpHost !== '' ? o.httpHost : o.host;
  v.http_port = o.httpPort;
  v.http_base_path = o.httpBasePath === '/' ? '' : o.httpBasePath;
  v.https_port = o.httpsPort;
  v.auth_timeout = o.authTimeoutMs / 1000;
  v.max_control_line = o.maxControlLine;
  v.max_payload = o.maxPayload;
  v.max_pending = o.maxPending;
  v.cluster = clusterVarz(srv);
  v.gateway = {};
  v.leaf = srv.leafnodes !== null ? srv.leafnodes.varz() : {};
  v.mqtt = {};
  v.websocket = websocketVarz(srv);
  // server/monitor.go JetStreamVarz: config and stats while JetStream runs, else every field omitted
  v.jetstream = srv.jetstream !== null ? srv.jetstream.varz() : {};
  v.tls_timeout = (o.tlsConfig?.timeoutMs ?? TLS_TIMEOUT_MS) / 1000;
  v.write_deadline = o.writeDeadlineMs * 1e6;
  v.start = goTime(srv.startTime.getTime(), false);
  v.now = goTime(now, true);
  v.uptime = myUptime(now - srv.startTime.getTime());
  v.mem = process.memoryUsage.rss();
  const os = nodeOs();
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  v.cores = cores;
  v.gomaxprocs = cores;
  v.cpu = m.cpuPercent();
  v.connections = srv.clients.size;
  v.total_connections = srv.stats.totalConnections;
  v.routes = numRoutes(srv);
  v.remotes = srv.routeInfoProvider?.numRemotes() ?? 0;
  v.leafnodes = srv.leafnodes !== null ? srv.leafnodes.numLeafs : 0;
  v.in_msgs = srv.stats.inMsgs;
  v.out_msgs = srv.stats.outMsgs;
  v.in_bytes = srv.stats.inBytes;
  v.out_bytes = srv.stats.outBytes;
  v.slow_consumers = srv.stats.slowConsumers;
  v.subscriptions = totalSubscriptions(srv);
  // Go marshals maps with sorted keys
  const stats: Record<string, number> = {};
  for (const k of [...m.reqStats.keys()].sort()) stats[k] = m.reqStats.get(k)!;
  v.http_req_stats = stats;
  v.config_load_time = goTime(srv.configTime.getTime(), false);
  if (o.tags.length > 0) v.tags = o.tags;
  const jwts = o.trustedOperators.filter((t) => t.startsWith('eyJ'));
  if (jwts.length > 0) v.trusted_operators_jwt = jwts;
  const sys = systemAccountName(srv);
  if (sys !== '') v.system_account = sys;
  return v;
}

function clusterVarz(srv: Server): Record<string, unknown> {
  const c = srv.opts.cluster;
  const out: Record<string, unknown> = {};
  if (c.port === 0) {
    // clustering off: the reference still lists configured route URLs
    if (srv.opts.routes.length > 0) out.urls = srv.opts.routes.map(urlHost);
    return out;
  }
  // server/monitor.go createVarz: info.Cluster, the name in use (a generated one, or the one it gave way to)
  const name = srv.clusterName;
  if (name !== '') out.name = name;
  if (c.host !== '') out.addr = c.host;
  out.cluster_port = c.port;
  if (c.authTimeoutMs > 0) out.auth_timeout = c.authTimeoutMs / 1000;
  if (srv.opts.routes.length > 0) out.urls = srv.opts.routes.map(urlHost);
  const tlsTimeout = (c.tls?.timeoutMs ?? TLS_TIMEOUT_MS) / 1000;
  if (tlsTimeout > 0) out.tls_timeout = tlsTimeout;
  if (c.tls !== undefined) {
    out.tls_required = true;
    out.tls_verify = true;
  }
  return out;
}

function websocketVarz(srv: Server): Record<string, unknown> {
  const ws = srv.opts.websocket;
  const out: Record<string, unknown> = {};
  if (ws === undefined) return out;
  if (ws.host !== '') out.host = ws.host;
  if (ws.port !== 0) out.port = ws.port;
  if (ws.advertise) out.advertise = ws.advertise;
  if (ws.noAuthUser) out.no_auth_user = ws.noAuthUser;
  if (ws.jwtCookie) out.jwt_cookie = ws.jwtCookie;
  if (ws.handshakeTimeoutMs > 0) out.handshake_timeout = ws.handshakeTimeoutMs * 1e6;
  if (ws.authTimeoutMs !== undefined && ws.authTimeoutMs > 0) out.auth_timeout = ws.authTimeoutMs / 1000;
  if (ws.noTls) out.no_tls = true;
  if (ws.tls?.verifyAndMap) out.tls_map = true;
  if (ws.tls?.pinnedCerts !== undefined && ws.tls.pinnedCerts.length > 0) out.tls_pinned_certs = ws.tls.pinnedCerts;
  if (ws.sameOrigin) out.same_origin = true;
  if (ws.allowedOrigins.length > 0) out.allowed_origins = ws.allowedOrigins;
  if (ws.compression) out.compression = true;
  return out;
}

// ---------------------------------------------------------------------------
// /subsz

export interface SubszOptions {
  subs: boolean;
  offset: number;
  limit: number;
  acc: string;
  test: string;
}

/** A client-held subscription as the sublist stores it. */
function isLocalSub(s: SubLike): s is Subscription {
  const c = (s as Subscription).client;
  return c !== undefined && c !== null && c.kind === Kind.CLIENT;
}

export function subsz(srv: Server, o: SubszOptions): Record<string, unknown> {
  let offset = o.offset;
  if (offset < 0) offset = 0;
  let limit = o.limit;
  if (limit <= 0) limit = DEFAULT_SUB_LIST_SIZE;
  const test = o.test !== '';
  if (test && !isValidLiteralSubject(o.test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${o.test}`);
  }
  const lists: Account[] = [];
  for (const a of srv.accounts.values()) if (o.acc === '' || a.name === o.acc) lists.push(a);
  const stats = sublistStatsJSON(Sublist.aggregateStats(lists.map((a) => a.sublist as unknown as Sublist<SubLike>)));
  if (!o.subs) return stats;

  // Only the page is materialised: matching rows are counted and skipped
  // until the offset, then kept until the limit.
  const details: Record<string, unknown>[] = [];
  let seen = 0;
  const end = offset + limit;
  for (const a of lists) {
    for (const s of a.sublist.all()) {
      if (!isLocalSub(s)) continue;
      if (test && !matchLiteral(o.test, s.subject)) continue;
      if (seen >= offset && seen < end) details.push(subDetailWithAccount(s, a.name));
      seen++;
    }
  }
  // server/monitor.go HandleSubsz prints only the stats when the page is empty.
  if (details.length === 0) return stats;
  return {
    server_id: srv.serverId,
    now: nowUTC(),
    ...stats,
    // the reference reports the page length as "total"
    total: details.length,
    offset,
    limit,
    subscriptions_list: details,
  };
}

function subDetailWithAccount(s: Subscription, account: string): Record<string, unknown> {
  const d: Record<string, unknown> = { account, subject: protoText(s.subject) };
  if (s.queue !== null && s.queue !== '') d.qgroup = protoText(s.queue);
  d.sid = protoText(s.sid);
  d.msgs = s.nm;
  if (s.max > 0) d.max = s.max;
  d.cid = s.client.cid;
  return d;
}

// ---------------------------------------------------------------------------
// /routez

export function routez(srv: Server, subs: boolean, detail: boolean): Record<string, unknown> {
  const now = nowMs();
  const routes: MonitoredRoute[] = [];
  const p = srv.routeInfoProvider;
  if (p) for (const r of p.routes()) routes.push(r);
  const out: Record<string, unknown> = { server_id: srv.serverId, now: goTime(now, true) };
  const perms = srv.opts.cluster.permissions;
  if (perms?.import !== undefined) out.import = subjectPermJSON(perms.import);
  if (perms?.export !== undefined) out.export = subjectPermJSON(perms.export);
  out.num_routes = routes.length;
  out.routes = routes.map((r) => routeInfo(r, now, subs, detail));
  return out;
}

function routeInfo(r: MonitoredRoute, now: number, subs: boolean, detail: boolean): Record<string, unknown> {
  const ri: Record<string, unknown> = {
    rid: r.cid,
    remote_id: r.remoteId,
    did_solicit: r.didSolicit,
    is_configured: r.isConfigured,
    ip: r.host,
    port: r.port,
    start: goTime(r.start.getTime(), false),
    last_activity: goTime(r.lastActivity, false),
    rtt: goRTT(r.rttMs),
    uptime: myUptime(now - r.start.getTime()),
    idle: myUptime(now - r.lastActivity),
  };
  const imp = subjectPermJSON(r.importPermissions);
  if (imp !== undefined) ri.import = imp;
  const exp = subjectPermJSON(r.exportPermissions);
  if (exp !== undefined) ri.export = exp;
  ri.pending_size = r.pendingBytes();
  ri.in_msgs = r.inMsgs;
  ri.out_msgs = r.outMsgs;
  ri.in_bytes = r.inBytes;
  ri.out_bytes = r.outBytes;
  ri.subscriptions = r.numSubs();
  if (r.numSubs() > 0) {
    if (detail) {
      const list: Record<string, unknown>[] = [];
      for (const s of r.subscriptions()) {
        const d: Record<string, unknown> = { subject: protoText(s.subject) };
        if (s.queue !== null && s.queue !== '') d.qgroup = protoText(s.queue);
        d.sid = protoText(s.sid);
        d.msgs = s.nm;
        if (s.max > 0) d.max = s.max;
        d.cid = r.cid;
        list.push(d);
      }
      ri.subscriptions_list_detail = list;
    } else if (subs) {
      const list: string[] = [];
      for (const s of r.subscriptions()) list.push(protoText(s.subject));
      ri.subscriptions_list = list;
    }
  }
  return ri;
}

// ---------------------------------------------------------------------------
// /accountz and /accstatz

export function accountz(srv: Server, acc: string): Record<string, unknown> {
  const out: Record<string, unknown> = { server_id: srv.serverId, now: nowUTC() };
  const sys = systemAccountName(srv);
  if (sys !== '') out.system_account = sys;
  if (acc === '') {
    out.accounts = [...srv.accounts.keys()];
    return out;
  }
  const a = srv.accounts.get(acc);
  if (a === undefined) throw new BadRequest(`Account ${acc} does not exist`);
  out.account_detail = accountInfo(srv, a, sys);
  return out;
}

function accountInfo(srv: Server, a: Account, sys: string): Record<string, unknown> {
  const cfg = srv.opts.accounts.find((x) => x.name === a.name);
  // Accounts are registered when the configuration is loaded; an account
  // that tracks its own update time (JWT accounts) reports that instead.
  const updated = (a as { updated?: unknown }).updated;
  const info: Record<string, unknown> = {
    account_name: a.name,
    update_time: goTime(updated instanceof Date ? updated.getTime() : srv.configTime.getTime(), false),
  };
  if (a.name === sys) info.is_system = true;
  info.expired = false;
  info.complete = true;
  info.jetstream_enabled = srv.jetstream !== null && srv.jetstream.accountEnabled(a.name);
  info.leafnode_connections = srv.leafnodes !== null ? srv.leafnodes.numLeafsOf(a) : 0;
  info.client_connections = a.numClients;
  info.subscriptions = a.sublist.count();
  if (cfg !== undefined) {
    const mappings = mappingsJSON(cfg);
    if (mappings !== undefined) info.mappings = mappings;
    const exports = exportsJSON(cfg);
    if (exports.length > 0) info.exports = exports;
    const imports = importsJSON(cfg);
    if (imports.length > 0) info.imports = imports;
  }
  info.sublist_stats = sublistStatsJSON(a.sublist.stats());
  return info;
}

function mappingsJSON(cfg: AccountConfig): Record<string, unknown> | undefined {
  if (cfg.mappings === undefined || cfg.mappings.length === 0) return undefined;
  const m: Record<string, unknown> = {};
  for (const mp of cfg.mappings) {
    m[mp.subject] = mp.destinations.map((d) => {
      const o: Record<string, unknown> = { subject: d.subject, weight: d.weight };
      if (d.cluster) o.cluster = d.cluster;
      return o;
    });
  }
  return m;
}

const RESPONSE_TYPE_NAMES: Record<string, string> = { singleton: 'Singleton', stream: 'Streamed', chunked: 'Chunked' };

function exportsJSON(cfg: AccountConfig): Record<string, unknown>[] {
  const services: Record<string, unknown>[] = [];
  const streams: Record<string, unknown>[] = [];
  for (const e of cfg.exports) {
    if (e.service !== undefined) {
      const x: Record<string, unknown> = { subject: e.service, type: 'service' };
      x.response_type = RESPONSE_TYPE_NAMES[e.responseType ?? 'singleton'] ?? 'Singleton';
      if (e.latency !== undefined) {
        x.service_latency = { sampling: e.latency.sampling === 0 ? 'headers' : e.latency.sampling, results: e.latency.subject };
      }
      if (e.accountTokenPosition !== undefined && e.accountTokenPosition > 0) x.account_token_position = e.accountTokenPosition;
      if (e.accounts !== undefined && e.accounts.length > 0) x.approved_accounts = [...e.accounts];
      services.push(x);
    } else if (e.stream !== undefined) {
      const x: Record<string, unknown> = { subject: e.stream, type: 'stream' };
      if (e.accountTokenPosition !== undefined && e.accountTokenPosition > 0) x.account_token_position = e.accountTokenPosition;
      if (e.accounts !== undefined && e.accounts.length > 0) x.approved_accounts = [...e.accounts];
      streams.push(x);
    }
  }
  return [...services, ...streams];
}

function importsJSON(cfg: AccountConfig): Record<string, unknown>[] {
  const streams: Record<string, unknown>[] = [];
  const services: Record<string, unknown>[] = [];
  for (const i of cfg.imports) {
    if (i.stream !== undefined) {
      let to = i.to ?? i.stream.subject;
      if (i.prefix !== undefined && i.prefix !== '') {
        to = (i.prefix.endsWith('.') ? i.prefix : i.prefix + '.') + i.stream.subject;
      }
      const x: Record<string, unknown> = { subject: i.stream.subject, account: i.stream.account };
      if (to !== '') x.local_subject = to;
      x.type = 'stream';
      x.invalid = false;
      x.share = false;
      x.tracking = false;
      streams.push(x);
    } else if (i.service !== undefined) {
      // server/accounts.go: "from" is the local subject, "to" the exporter's
      const from = i.to !== undefined && i.to !== '' ? i.to : i.service.subject;
      const x: Record<string, unknown> = { subject: from, account: i.service.account };
      if (i.service.subject !== '') x.to = i.service.subject;
      x.type = 'service';
      x.invalid = false;
      x.share = i.share === true;
      x.tracking = false;
      services.push(x);
    }
  }
  return [...streams, ...services];
}

export function accstatz(srv: Server, unused: boolean): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  for (const a of srv.accounts.values()) {
    if (!unused && a.numClients === 0) continue;
    list.push({
      acc: a.name,
      conns: a.numClients,
      leafnodes: srv.leafnodes !== null ? srv.leafnodes.numLeafsOf(a) : 0,
      total_conns: a.numClients + (srv.leafnodes !== null ? srv.leafnodes.numLeafsOf(a) : 0),
      sent: { msgs: a.outMsgs, bytes: a.outBytes },
      received: { msgs: a.inMsgs, bytes: a.inBytes },
      slow_consumers: a.slowConsumers,
    });
  }
  return { server_id: srv.serverId, now: nowUTC(), account_statz: list };
}

// ---------------------------------------------------------------------------
// features that are off: /gatewayz, /leafz, /jsz

export function gatewayz(srv: Server): Record<string, unknown> {
  return { server_id: srv.serverId, now: nowUTC(), outbound_gateways: {}, inbound_gateways: {} };
}

export function leafz(srv: Server, subscriptions = false, account = ''): Record<string, unknown> {
  if (srv.leafnodes !== null) return srv.leafnodes.leafz({ subscriptions, account });
  return { server_id: srv.serverId, now: nowUTC(), leafnodes: 0, leafs: null };
}

/** /jsz query parameters, decoded in the reference's order (server/monitor.go HandleJsz). */
export function jszParams(q: Query): JszOptions {
  const accounts = q.bool('accounts');
  const streams = q.bool('streams');
  const consumers = q.bool('consumers');
  const config = q.bool('config');
  const offset = q.int('offset');
  const limit = q.int('limit');
  const leaderOnly = q.bool('leader-only');
  return { account: q.get('acc'), accounts, streams, consumers, config, leaderOnly, offset, limit };
}

/**
 * /jsz (server/monitor.go Jsz): from JetStream while it runs, else the
 * reference's disabled document. A bare boolean is leader-only (the
 * $SYS.REQ.SERVER.*.JSZ handler asks for the disabled document that way).
 */
export function jsz(srv: Server, opts: JszOptions | boolean): Record<string, unknown> {
  const leaderOnly = typeof opts === 'boolean' ? opts : opts.leaderOnly;
  const js = srv.jetstream;
  // errSkipZreq wrapped: "filtered response: not leader"
  if (leaderOnly && (js === null || typeof opts === 'boolean' || !js.isLeader())) throw new BadRequest('filtered response: not leader');
  if (js !== null && typeof opts !== 'boolean') return js.jsz(opts);
  return {
    server_id: srv.serverId,
    now: nowUTC(),
    disabled: true,
    config: { max_memory: 0, max_storage: 0 },
    memory: 0,
    storage: 0,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 0,
    ha_assets: 0,
    api: { total: 0, errors: 0 },
    streams: 0,
    consumers: 0,
    messages: 0,
    bytes: 0,
  };
}

// ---------------------------------------------------------------------------
// /healthz

export interface HealthStatus {
  status: string;
  error?: string;
}

/** server/monitor.go HealthzOptions (js-enabled, deprecated, counts as js-enabled-only). */
export interface HealthzOptions {
  jsEnabledOnly: boolean;
  jsServerOnly: boolean;
}

/** server/monitor.go healthz */
export function healthz(srv: Server, opts: HealthzOptions = { jsEnabledOnly: false, jsServerOnly: false }): HealthStatus {
  if (!srv.isRunning) {
    return { status: 'error', error: 'failed to be ready for connections after 1ms: server' };
  }
  // JetStream not configured: nothing more to check
  if (!srv.opts.jetstream) return { status: 'ok' };
  const js = srv.jetstream;
  // configured but not running (failed to start, or no JetStream in this build): NewJSNotEnabledError
  if (js === null) return { status: 'unavailable', error: 'JetStream not enabled (10076)' };
  if (opts.jsEnabledOnly) return { status: 'ok' };
  // a lone server has no meta group; the runtime reports its own problems
  const err = js.healthError();
  if (err !== null) return { status: 'unavailable', error: err };
  return { status: 'ok' };
}

/** Parameters /healthz validates, in the reference's order. */
export function healthzParams(q: Query): { jsEnabled: boolean; opts: HealthzOptions } {
  const jsEnabled = q.bool('js-enabled');
  const jsEnabledOnly = q.bool('js-enabled-only');
  const jsServerOnly = q.bool('js-server-only');
  return { jsEnabled, opts: { jsEnabledOnly: jsEnabledOnly || jsEnabled, jsServerOnly } };
}
