// Data behind /dashboard: a one-second sampler of the server's totals kept in
// a ring (the last ten minutes), and, while someone watches the dashboard,
// per-connection message rates for the "top connections" table. The sampler
// only reads counters the core already keeps; nothing here runs per message.

import type { Server } from '../server/server.js';
import type { Client } from '../client/client.js';
import { pendingBytes, selectTop } from './connz.js';
import { numRoutes, totalSubscriptions } from './endpoints.js';
import { myUptime } from './gofmt.js';
import { NATS_COMPAT_VERSION } from '../config/options.js';

export const SAMPLE_INTERVAL_MS = 1000;
/** samples kept: ten minutes at one per second */
export const HISTORY = 600;
/** per-connection rates are tracked while the data endpoint was polled this recently */
const WATCH_WINDOW_MS = 15_000;
const TOP_N = 10;

/** One second of history: totals at `t` and per-second rates since the previous sample. */
export interface Sample {
  t: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  inMsgsRate: number;
  outMsgsRate: number;
  inBytesRate: number;
  outBytesRate: number;
  connections: number;
  subscriptions: number;
  slowConsumers: number;
  routes: number;
  leafnodes: number;
}

export interface TopConn {
  cid: number;
  name: string;
  addr: string;
  pending_bytes: number;
  subscriptions: number;
  in_msgs: number;
  out_msgs: number;
  /** messages per second in + out, over the last sample interval */
  msgs_rate: number;
}

interface ConnMark {
  msgs: number;
  rate: number;
}

export class DashboardSampler {
  private readonly ring: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastWatched = 0;
  private marks = new Map<number, ConnMark>();
  private marksAt = 0;

  constructor(private readonly srv: Server) {}

  start(): void {
    if (this.timer !== null) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Take one sample now (the timer calls this every second). */
  sample(): void {
    const srv = this.srv;
    const st = srv.stats;
    const t = Date.now();
    const prev = this.ring.length > 0 ? this.ring[this.ring.length - 1] : null;
    const dt = prev !== null ? (t - prev.t) / 1000 : 0;
    const rate = (cur: number, old: number | undefined) => (prev !== null && dt > 0 ? Math.max(0, (cur - (old ?? 0)) / dt) : 0);
    const s: Sample = {
      t,
      inMsgs: st.inMsgs,
      outMsgs: st.outMsgs,
      inBytes: st.inBytes,
      outBytes: st.outBytes,
      inMsgsRate: rate(st.inMsgs, prev?.inMsgs),
      outMsgsRate: rate(st.outMsgs, prev?.outMsgs),
      inBytesRate: rate(st.inBytes, prev?.inBytes),
      outBytesRate: rate(st.outBytes, prev?.outBytes),
      connections: srv.clients.size,
      subscriptions: totalSubscriptions(srv),
      slowConsumers: st.slowConsumers,
      routes: numRoutes(srv),
      leafnodes: srv.leafnodes !== null ? srv.leafnodes.numLeafs : 0,
    };
    this.ring.push(s);
    if (this.ring.length > HISTORY) this.ring.shift();
    if (t - this.lastWatched <= WATCH_WINDOW_MS) this.markConnections(t);
    else if (this.marks.size > 0) this.marks = new Map();
  }

  /** Per-connection message totals, to turn into rates on the next sample. */
  private markConnections(t: number): void {
    const dt = this.marksAt > 0 ? (t - this.marksAt) / 1000 : 0;
    const old = this.marks;
    const next = new Map<number, ConnMark>();
    for (const c of this.srv.clients.values()) {
      const msgs = c.inMsgs + c.outMsgs;
      const o = old.get(c.cid);
      next.set(c.cid, { msgs, rate: o !== undefined && dt > 0 ? Math.max(0, (msgs - o.msgs) / dt) : 0 });
    }
    this.marks = next;
    this.marksAt = t;
  }

  /** The JSON the dashboard polls: samples newer than `since`, current totals and top connections. */
  data(since: number): Record<string, unknown> {
    const now = Date.now();
    if (now - this.lastWatched > WATCH_WINDOW_MS) {
      // just started watching: begin per-connection marks now
      this.lastWatched = now;
      this.markConnections(now);
    }
    this.lastWatched = now;
    const srv = this.srv;
    const samples = this.ring.filter((s) => s.t > since);
    const clients = [...srv.clients.values()];
    const byPending = selectTop(clients.slice(), TOP_N, (a, b) => pendingBytes(b) - pendingBytes(a) || a.cid - b.cid);
    const rateOf = (c: Client) => this.marks.get(c.cid)?.rate ?? 0;
    const byRate = selectTop(clients, TOP_N, (a, b) => rateOf(b) - rateOf(a) || a.cid - b.cid);
    const last = this.ring.length > 0 ? this.ring[this.ring.length - 1] : null;
    return {
      now,
      server: {
        id: srv.serverId,
        name: srv.serverName,
        version: NATS_COMPAT_VERSION,
        uptime: myUptime(now - srv.startTime.getTime()),
      },
      totals: {
        in_msgs: srv.stats.inMsgs,
        out_msgs: srv.stats.outMsgs,
        in_bytes: srv.stats.inBytes,
        out_bytes: srv.stats.outBytes,
        connections: srv.clients.size,
        total_connections: srv.stats.totalConnections,
        subscriptions: totalSubscriptions(srv),
        slow_consumers: srv.stats.slowConsumers,
        routes: numRoutes(srv),
        leafnodes: srv.leafnodes !== null ? srv.leafnodes.numLeafs : 0,
      },
      rates: {
        in_msgs: last?.inMsgsRate ?? 0,
        out_msgs: last?.outMsgsRate ?? 0,
        in_bytes: last?.inBytesRate ?? 0,
        out_bytes: last?.outBytesRate ?? 0,
      },
      interval_ms: SAMPLE_INTERVAL_MS,
      samples: samples.map((s) => [
        s.t,
        round2(s.inMsgsRate),
        round2(s.outMsgsRate),
        round2(s.inBytesRate),
        round2(s.outBytesRate),
        s.connections,
        s.subscriptions,
        s.slowConsumers,
        s.routes,
        s.leafnodes,
      ]),
      sample_fields: ['t', 'in_msgs_rate', 'out_msgs_rate', 'in_bytes_rate', 'out_bytes_rate', 'connections', 'subscriptions', 'slow_consumers', 'routes', 'leafnodes'],
      top_pending: byPending.map((c) => topConn(c, rateOf(c))),
      top_rate: byRate.filter((c) => rateOf(c) > 0).map((c) => topConn(c, rateOf(c))),
    };
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function topConn(c: Client, rate: number): TopConn {
  return {
    cid: c.cid,
    name: c.opts.name,
    addr: c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`,
    pending_bytes: pendingBytes(c),
    subscriptions: c.subs.size,
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    msgs_rate: round2(rate),
  };
}
