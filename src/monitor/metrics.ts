// /metrics: Prometheus text exposition with the metric names
// prometheus-nats-exporter produces from /varz, /connz, /routez and /subsz
// (namespace "gnatsd", subsystem = endpoint, label server_id), so dashboards
// and alerts built on the exporter work against tsnats without it.
//
// Nothing is counted per message: every metric has a collect() callback that
// reads the server's own counters when Prometheus scrapes. One scrape builds
// one snapshot, shared by all callbacks of that scrape.
//
// Exported names (see docs/monitoring.md):
//   gnatsd_varz_server_id{server_id,value} 1, gnatsd_varz_server_name{...},
//   gnatsd_varz_version{...}, and one gauge per numeric /varz field:
//   gnatsd_varz_<field> for proto port max_connections max_subscriptions
//   ping_interval ping_max http_port https_port auth_timeout max_control_line
//   max_payload max_pending tls_timeout write_deadline mem cores gomaxprocs cpu
//   connections total_connections routes remotes leafnodes in_msgs out_msgs
//   in_bytes out_bytes slow_consumers subscriptions
//   gnatsd_connz_{num_connections,total,offset,limit,pending_bytes,subscriptions}
//   (gauges) and gnatsd_connz_{in_msgs,out_msgs,in_bytes,out_bytes} (counters),
//   summed over the default /connz page (first 1024 connections by cid), as
//   the exporter computes them
//   gnatsd_routez_{server_id,server_name}{server_id,value} 1,
//   gnatsd_routez_num_routes, and per route gnatsd_routez_route_info{server_id,
//   rid,remote_id,remote_name,account,ip,compression} 1 plus
//   gnatsd_routez_route_{rtt_seconds,subscriptions,uptime_seconds,in_msgs,
//   out_msgs,in_bytes,out_bytes}{server_id,rid}
//   gnatsd_subsz_{num_subscriptions,num_cache,num_inserts,num_removes,
//   num_matches,cache_hit_rate,max_fanout,avg_fanout}
//   JetStream, from /jsz?consumers=true&config=true as the exporter's jsz
//   collector ("all") names them (namespace "jetstream"):
//   jetstream_server_{jetstream_disabled,total_streams,total_consumers,
//   total_messages,total_message_bytes,max_memory,max_storage}{server_id,
//   server_name,cluster,domain,meta_leader,is_meta_leader},
//   jetstream_stream_{total_messages,total_bytes,first_seq,last_seq,
//   consumer_count}{...,account,account_id,stream_name,stream_leader,
//   is_stream_leader}, jetstream_consumer_{delivered_consumer_seq,
//   delivered_stream_seq,num_ack_pending,num_redelivered,num_waiting,
//   num_pending,ack_floor_stream_seq,ack_floor_consumer_seq}{...,
//   consumer_name,consumer_leader,is_consumer_leader,consumer_desc,
//   consumer_created}

import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Server } from '../server/server.js';
import { jsz, varz, type MonitorState } from './endpoints.js';
import { DEFAULT_CONN_LIST_SIZE, pendingBytes } from './connz.js';
import { Sublist, type SublistStats, type SubLike } from '../subjects/sublist.js';
import type { MonitoredRoute } from './routes.js';

/** Numeric /varz fields the exporter turns into gnatsd_varz_<field> gauges. */
export const VARZ_NUMERIC_FIELDS = [
  'proto',
  'port',
  'max_connections',
  'max_subscriptions',
  'ping_interval',
  'ping_max',
  'http_port',
  'https_port',
  'auth_timeout',
  'max_control_line',
  'max_payload',
  'max_pending',
  'tls_timeout',
  'write_deadline',
  'mem',
  'cores',
  'gomaxprocs',
  'cpu',
  'connections',
  'total_connections',
  'routes',
  'remotes',
  'leafnodes',
  'in_msgs',
  'out_msgs',
  'in_bytes',
  'out_bytes',
  'slow_consumers',
  'subscriptions',
] as const;

const VARZ_LABEL_FIELDS = ['server_id', 'server_name', 'version'] as const;

const SUBSZ_FIELDS: ReadonlyArray<[string, keyof SublistStats]> = [
  ['num_subscriptions', 'numSubs'],
  ['num_cache', 'numCache'],
  ['num_inserts', 'numInserts'],
  ['num_removes', 'numRemoves'],
  ['num_matches', 'numMatches'],
  ['cache_hit_rate', 'cacheHitRate'],
  ['max_fanout', 'maxFanout'],
  ['avg_fanout', 'avgFanout'],
];

interface ConnzSums {
  numConnections: number;
  total: number;
  pendingBytes: number;
  subscriptions: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

interface Snapshot {
  varz: Record<string, unknown>;
  /** /jsz?consumers=true&config=true, made on first use in the scrape */
  jsz?: Record<string, unknown>;
  connz: ConnzSums;
  subsz: SublistStats;
  routes: MonitoredRoute[];
  now: number;
}

/** Sums of the default /connz page: the first 1024 open connections by cid. */
function connzSums(srv: Server): ConnzSums {
  const s: ConnzSums = {
    numConnections: 0,
    total: srv.clients.size,
    pendingBytes: 0,
    subscriptions: 0,
    inMsgs: 0,
    outMsgs: 0,
    inBytes: 0,
    outBytes: 0,
  };
  // Clients are registered in cid order, so the map's order is the page's.
  for (const c of srv.clients.values()) {
    if (s.numConnections === DEFAULT_CONN_LIST_SIZE) break;
    s.numConnections++;
    s.pendingBytes += pendingBytes(c);
    s.subscriptions += c.subs.size;
    s.inMsgs += c.inMsgs;
    s.outMsgs += c.outMsgs;
    s.inBytes += c.inBytes;
    s.outBytes += c.outBytes;
  }
  return s;
}

// prom-client (and the OpenTelemetry API it pulls in) is loaded when the
// first Metrics is made, that is on the first /metrics scrape (Monitor's lazy
// getter), not at startup: it was ~15 % of a cold start, and a server
// restart's time shows in clients' reconnect counts.
let prom: typeof PromClient | null = null;
function promClient(): typeof PromClient {
  prom ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return prom;
}

export class Metrics {
  readonly registry: PromClient.Registry;
  private snap: Snapshot | null = null;

  constructor(private readonly m: MonitorState) {
    const { Registry } = promClient();
    this.registry = new Registry();
    this.defineVarz();
    this.defineConnz();
    this.defineRoutez();
    this.defineSubsz();
    this.defineJsz();
  }

  /** Text exposition of every metric, read from the server now. */
  async text(): Promise<string> {
    try {
      return await this.registry.metrics();
    } finally {
      this.snap = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The numbers of the current scrape. All collect() callbacks of one scrape
   * run in the same tick, so the snapshot is dropped on the next one: an
   * embedder calling registry.metrics() directly also gets fresh values.
   */
  private snapshot(): Snapshot {
    if (this.snap !== null) return this.snap;
    const srv = this.m.srv;
    const routes: MonitoredRoute[] = [];
    if (srv.routeInfoProvider) for (const r of srv.routeInfoProvider.routes()) routes.push(r);
    const snap: Snapshot = {
      varz: varz(this.m),
      connz: connzSums(srv),
      subsz: Sublist.aggregateStats([...srv.accounts.values()].map((a) => a.sublist as unknown as Sublist<SubLike>)),
      routes,
      now: Date.now(),
    };
    this.snap = snap;
    setImmediate(() => {
      if (this.snap === snap) this.snap = null;
    });
    return snap;
  }

  private get serverId(): string {
    return this.m.srv.serverId;
  }

  private defineVarz(): void {
    const self = this;
    for (const field of VARZ_LABEL_FIELDS) {
      new (promClient().Gauge)({
        name: `gnatsd_varz_${field}`,
        help: field,
        labelNames: ['server_id', 'value'],
        registers: [this.registry],
        collect() {
          this.reset();
          this.set({ server_id: self.serverId, value: String(self.snapshot().varz[field] ?? '') }, 1);
        },
      });
    }
    for (const field of VARZ_NUMERIC_FIELDS) {
      new (promClient().Gauge)({
        name: `gnatsd_varz_${field}`,
        help: field,
        labelNames: ['server_id'],
        registers: [this.registry],
        collect() {
          this.reset();
          const v = self.snapshot().varz[field];
          // omitempty fields (max_subscriptions) are absent from /varz when unset
          if (typeof v === 'number') this.set({ server_id: self.serverId }, v);
        },
      });
    }
  }

  private defineConnz(): void {
    const self = this;
    const gauges: Array<[string, (s: Snapshot) => number]> = [
      ['num_connections', (s) => s.connz.numConnections],
      ['total', (s) => s.connz.total],
      ['offset', () => 0],
      ['limit', () => DEFAULT_CONN_LIST_SIZE],
      ['pending_bytes', (s) => s.connz.pendingBytes],
      ['subscriptions', (s) => s.connz.subscriptions],
    ];
    for (const [name, get] of gauges) {
      new (promClient().Gauge)({
        name: `gnatsd_connz_${name}`,
        help: name,
        labelNames: ['server_id'],
        registers: [this.registry],
        collect() {
          this.reset();
          this.set({ server_id: self.serverId }, get(self.snapshot()));
        },
      });
    }
    const counters: Array<[string, (s: Snapshot) => number]> = [
      ['in_bytes', (s) => s.connz.inBytes],
      ['out_bytes', (s) => s.connz.outBytes],
      ['in_msgs', (s) => s.connz.inMsgs],
      ['out_msgs', (s) => s.connz.outMsgs],
    ];
    for (const [name, get] of counters) {
      new (promClient().Counter)({
        name: `gnatsd_connz_${name}`,
        help: name,
        labelNames: ['server_id'],
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc({ server_id: self.serverId }, get(self.snapshot()));
        },
      });
    }
  }

  private defineRoutez(): void {
    const self = this;
    for (const field of ['server_id', 'server_name'] as const) {
      new (promClient().Gauge)({
        name: `gnatsd_routez_${field}`,
        help: field,
        labelNames: ['server_id', 'value'],
        registers: [this.registry],
        collect() {
          this.reset();
          const srv = self.m.srv;
          this.set({ server_id: self.serverId, value: field === 'server_id' ? srv.serverId : srv.serverName }, 1);
        },
      });
    }
    new (promClient().Gauge)({
      name: 'gnatsd_routez_num_routes',
      help: 'num_routes',
      labelNames: ['server_id'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.set({ server_id: self.serverId }, self.snapshot().routes.length);
      },
    });
    new (promClient().Gauge)({
      name: 'gnatsd_routez_route_info',
      help: 'route_info',
      labelNames: ['server_id', 'rid', 'remote_id', 'remote_name', 'account', 'ip', 'compression'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of self.snapshot().routes) {
          this.set(
            { server_id: self.serverId, rid: String(r.cid), remote_id: r.remoteId, remote_name: '', account: '', ip: r.host, compression: '' },
            1,
          );
        }
      },
    });
    const perRoute: Array<[string, string, (r: MonitoredRoute, now: number) => number | null]> = [
      ['route_rtt_seconds', 'rtt_seconds', (r) => (r.rttMs > 0 ? r.rttMs / 1000 : null)],
      ['route_subscriptions', 'subscriptions', (r) => r.numSubs()],
      // the exporter parses the whole-second uptime string
      ['route_uptime_seconds', 'uptime_seconds', (r, now) => Math.floor((now - r.start.getTime()) / 1000) || null],
      ['route_in_msgs', 'in_msgs', (r) => r.inMsgs],
      ['route_out_msgs', 'out_msgs', (r) => r.outMsgs],
      ['route_in_bytes', 'in_bytes', (r) => r.inBytes],
      ['route_out_bytes', 'out_bytes', (r) => r.outBytes],
    ];
    for (const [name, help, get] of perRoute) {
      new (promClient().Gauge)({
        name: `gnatsd_routez_${name}`,
        help,
        labelNames: ['server_id', 'rid'],
        registers: [this.registry],
        collect() {
          this.reset();
          const s = self.snapshot();
          for (const r of s.routes) {
            const v = get(r, s.now);
            if (v !== null) this.set({ server_id: self.serverId, rid: String(r.cid) }, v);
          }
        },
      });
    }
  }

  private defineSubsz(): void {
    const self = this;
    for (const [name, key] of SUBSZ_FIELDS) {
      new (promClient().Gauge)({
        name: `gnatsd_subsz_${name}`,
        help: name,
        labelNames: ['server_id'],
        registers: [this.registry],
        collect() {
          this.reset();
          this.set({ server_id: self.serverId }, self.snapshot().subsz[key]);
        },
      });
    }
  }

  private jszDoc(): Record<string, unknown> {
    const snap = this.snapshot();
    snap.jsz ??= jsz(this.m.srv, {
      account: '',
      accounts: true,
      streams: true,
      consumers: true,
      config: true,
      leaderOnly: false,
      offset: 0,
      limit: 0,
    });
    return snap.jsz;
  }

  private defineJsz(): void {
    const self = this;
    const serverLabels = ['server_id', 'server_name', 'cluster', 'domain', 'meta_leader', 'is_meta_leader'];
    const streamLabels = [...serverLabels, 'account', 'account_id', 'stream_name', 'stream_leader', 'is_stream_leader'];
    const consumerLabels = [...streamLabels, 'consumer_name', 'consumer_leader', 'is_consumer_leader', 'consumer_desc', 'consumer_created'];
    const serverOf = (doc: Record<string, unknown>): Record<string, string> => {
      const meta = obj(doc.meta_cluster);
      const name = self.m.srv.serverName;
      const leader = str(meta?.leader);
      return {
        server_id: self.serverId,
        server_name: name,
        cluster: str(meta?.name),
        domain: str(obj(doc.config)?.domain),
        meta_leader: leader,
        // no meta group (a lone server): the exporter counts it as the leader
        is_meta_leader: meta === undefined || leader === name ? 'true' : 'false',
      };
    };
    const streamsOf = function* (doc: Record<string, unknown>) {
      const server = serverOf(doc);
      for (const a of arr(doc.account_details)) {
        for (const st of arr(a.stream_detail)) {
          const leader = str(obj(st.cluster)?.leader);
          const labels: Record<string, string> = {
            ...server,
            account: str(a.name),
            account_id: str(a.id),
            stream_name: str(st.name),
            stream_leader: leader,
            is_stream_leader: st.cluster === undefined || leader === server.server_name ? 'true' : 'false',
          };
          yield { labels, st };
        }
      }
    };
    const serverGauges: Array<[string, (d: Record<string, unknown>) => number]> = [
      ['jetstream_disabled', (d) => (d.disabled === true ? 1 : 0)],
      ['max_memory', (d) => num(obj(d.config)?.max_memory)],
      ['max_storage', (d) => num(obj(d.config)?.max_storage)],
      ['total_streams', (d) => num(d.streams)],
      ['total_consumers', (d) => num(d.consumers)],
      ['total_messages', (d) => num(d.messages)],
      ['total_message_bytes', (d) => num(d.bytes)],
    ];
    for (const [name, get] of serverGauges) {
      new (promClient().Gauge)({
        name: `jetstream_server_${name}`,
        help: name,
        labelNames: serverLabels,
        registers: [this.registry],
        collect() {
          this.reset();
          const doc = self.jszDoc();
          this.set(serverOf(doc), get(doc));
        },
      });
    }
    const streamGauges: Array<[string, string]> = [
      ['total_messages', 'messages'],
      ['total_bytes', 'bytes'],
      ['first_seq', 'first_seq'],
      ['last_seq', 'last_seq'],
      ['consumer_count', 'consumer_count'],
    ];
    for (const [name, field] of streamGauges) {
      new (promClient().Gauge)({
        name: `jetstream_stream_${name}`,
        help: name,
        labelNames: streamLabels,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const { labels, st } of streamsOf(self.jszDoc())) this.set(labels, num(obj(st.state)?.[field]));
        },
      });
    }
    const consumerGauges: Array<[string, (c: Record<string, unknown>) => number]> = [
      ['delivered_consumer_seq', (c) => num(obj(c.delivered)?.consumer_seq)],
      ['delivered_stream_seq', (c) => num(obj(c.delivered)?.stream_seq)],
      ['num_ack_pending', (c) => num(c.num_ack_pending)],
      ['num_redelivered', (c) => num(c.num_redelivered)],
      ['num_waiting', (c) => num(c.num_waiting)],
      ['num_pending', (c) => num(c.num_pending)],
      ['ack_floor_stream_seq', (c) => num(obj(c.ack_floor)?.stream_seq)],
      ['ack_floor_consumer_seq', (c) => num(obj(c.ack_floor)?.consumer_seq)],
    ];
    for (const [name, get] of consumerGauges) {
      new (promClient().Gauge)({
        name: `jetstream_consumer_${name}`,
        help: name,
        labelNames: consumerLabels,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const { labels, st } of streamsOf(self.jszDoc())) {
            for (const c of arr(st.consumer_detail)) {
              const leader = str(obj(c.cluster)?.leader);
              this.set(
                {
                  ...labels,
                  consumer_name: str(c.name),
                  consumer_leader: leader,
                  is_consumer_leader: c.cluster === undefined || leader === labels.server_name ? 'true' : 'false',
                  consumer_desc: str(obj(c.config)?.description),
                  consumer_created: rfc3339Local(str(c.created)),
                },
                get(c),
              );
            }
          }
        },
      });
    }
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function arr(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => obj(x) !== undefined) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/** Go's t.Local().Format(time.RFC3339) of a JSON time: local time, whole seconds, offset or Z. */
function rfc3339Local(s: string): string {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`;
}
