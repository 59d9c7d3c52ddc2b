// Service latency tracking (server/accounts.go ServiceLatency; the
// `latency { sampling, subject }` of a service export). A sampled request
// through a service import gets a response mapping that remembers the
// requester and the time; when the response comes back the server
// publishes a io.nats.server.metric.v1.service_latency result on the
// export's subject in the exporting account. Requests without a reply are
// reported as 400 Bad Request.
//
// Across routes: the reply of a tracked request ends in ".<hash>.T", the
// hash of the requester's server name (server/events.go getHash). When the
// responder is on another server, that server measures the responder's
// part (M2) and sends it to $SYS.LATENCY.M2.<hash>; this server merges it
// with its own measurement (M1), whichever arrives last sends the result.

import { nodeCrypto } from '../server/builtins.js';
import { getHashSize } from '../server/node-hash.js';
import type { Client } from '../client/client.js';
import { Kind, type Connection } from '../client/connection.js';
import type { ServiceExport, ServiceImport, ResponseTracking } from '../accounts/account.js';
import { goTime } from '../monitor/gofmt.js';
import type { SystemContext } from './context.js';
import { encode } from './info.js';

const SERVICE_LATENCY_TYPE = 'io.nats.server.metric.v1.service_latency';

/** server/events.go getHash: 8 characters of the name's SHA-256. */
export function getHash(name: string, size = 8): string {
  return getHashSize(name, size);
}

/** The header fields of a message, by Go's canonical MIME key. */
function parseHeaders(block: string): Map<string, string[]> {
  const h = new Map<string, string[]>();
  const lines = block.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const k = line.indexOf(':');
    if (k <= 0) continue;
    const key = canonical(line.slice(0, k).trim());
    const v = line.slice(k + 1).trim();
    const list = h.get(key);
    if (list === undefined) h.set(key, [v]);
    else list.push(v);
  }
  return h;
}

/** textproto.CanonicalMIMEHeaderKey */
function canonical(k: string): string {
  return k
    .toLowerCase()
    .split('-')
    .map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1) : p))
    .join('-');
}

function pick(h: Map<string, string[]>, keys: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of keys) {
    const v = h.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * server/accounts.go shouldSample: null = not sampled; otherwise the
 * tracing headers that decided it ({} when sampling by percentage).
 */
export function shouldSample(sampling: number, hdrBlock: string): Record<string, string[]> | null {
  if (sampling < 0) return null;
  if (sampling >= 100) return {};
  if (sampling > 0 && nodeCrypto().randomInt(100) <= sampling) return {};
  if (hdrBlock === '') return null;
  const h = parseHeaders(hdrBlock);
  const uber = h.get('Uber-Trace-Id');
  if (uber !== undefined) {
    const tk = uber[0]!.split(':');
    if (tk.length === 4 && tk[3]!.length > 0 && tk[3]!.length <= 2) {
      const n = parseInt(tk[3]!.length === 1 ? `0${tk[3]}` : tk[3]!, 16);
      if (!Number.isNaN(n) && (n & 1) === 1) {
        const out: Record<string, string[]> = { 'Uber-Trace-Id': uber };
        for (const [k, v] of h) if (k.startsWith('Uberctx-')) out[k] = v;
        return out;
      }
    }
    return null;
  }
  const b3 = ['X-B3-Sampled', 'X-B3-Traceid', 'X-B3-Parentspanid', 'X-B3-Spanid'];
  const sampled = h.get('X-B3-Sampled');
  if (sampled !== undefined && sampled[0] === '1') return pick(h, b3);
  if (sampled !== undefined && sampled[0] === '0') return null;
  if (h.has('X-B3-Traceid')) return pick(h, b3);
  const single = h.get('B3');
  if (single !== undefined) {
    const tk = single[0]!.split('-');
    if ((tk.length > 2 && tk[2] === '0') || (tk.length === 1 && tk[0] === '0')) return null;
    return { B3: single };
  }
  const tp = h.get('Traceparent');
  if (tp !== undefined) {
    const tk = tp[0]!.split('-');
    if (tk.length === 4 && tk[3] === '01') return pick(h, ['Traceparent', 'Tracestate']);
    return null;
  }
  return null;
}

/** server/client.go getClientInfo(detailed) for a latency result. */
function latencyClientInfo(ctx: SystemContext, c: Client, detailed: boolean): Record<string, unknown> {
  const ci: Record<string, unknown> = {};
  if (detailed) {
    ci.start = goTime(c.start.getTime(), false);
    if (c.host !== '') ci.host = c.host;
    ci.id = c.cid;
  }
  ci.acc = c.account.name;
  if (detailed) {
    const o = c.opts;
    const user = o.nkey !== '' ? o.nkey : o.user !== '' ? o.user : o.jwt !== '' ? c.user : '';
    if (user !== '') ci.user = user;
    if (o.name !== '') ci.name = o.name;
    if (o.lang !== '') ci.lang = o.lang;
    if (o.version !== '') ci.ver = o.version;
  }
  const rtt = Math.round(c.rttMs * 1e6);
  if (rtt > 0) ci.rtt = rtt;
  if (detailed) {
    ci.server = ctx.srv.serverName;
    if (ctx.srv.clusterName !== '') ci.cluster = ctx.srv.clusterName;
    ci.kind = 'Client';
    ci.client_type = 'nats';
  }
  return ci;
}

interface Measurement {
  status: number;
  description?: string;
  requestor?: Record<string, unknown>;
  responder?: Record<string, unknown>;
  header?: Record<string, string[]>;
  startMs: number;
  service: number;
  system: number;
  total: number;
}

export class LatencyTracker {
  /** tracked responses from another server, waiting for its M2, by reply */
  private readonly awaiting = new Map<string, { se: ServiceExport; m1: Measurement }>();

  constructor(private readonly ctx: SystemContext) {}

  start(): void {
    this.ctx.subscribe(`$SYS.LATENCY.M2.${this.ctx.hash}`, (_s, _subj, _r, _h, msg) => this.remoteLatencyUpdate(msg));
  }

  stop(): void {
    this.awaiting.clear();
  }

  /** Whether a request through `si` is sampled; the response mapping's reply gets our suffix then. */
  sample(se: ServiceExport, hdrBlock: string): Record<string, string[]> | null {
    const l = se.latency;
    if (l === null) return null;
    return shouldSample(l.sampling, hdrBlock);
  }

  suffix(): string {
    return `.${this.ctx.hash}.T`;
  }

  /** server/accounts.go sendBadRequestTrackingLatency: a tracked request without a reply. */
  badRequest(se: ServiceExport, requestor: Client, share: boolean, header: Record<string, string[]>): void {
    const req = latencyClientInfo(this.ctx, requestor, share);
    const rtt = typeof req.rtt === 'number' ? req.rtt / 1e6 : 0;
    this.send(se, { status: 400, description: 'Bad Request', requestor: req, header, startMs: Date.now() - rtt, service: 0, system: 0, total: 0 });
  }

  /**
   * server/accounts.go sendTrackingLatency: the response to a tracked
   * request reached the requester's account. A responder behind a route
   * has its part measured by its own server (M2).
   */
  response(rsi: ServiceImport, responder: Connection): void {
    const t = rsi.tracking;
    const se = rsi.se;
    if (t === null || se === null || se.latency === null) return;
    const now = Date.now();
    const serviceNs = (now - t.ts) * 1e6;
    const req = latencyClientInfo(this.ctx, t.rc, rsi.share);
    const reqRtt = typeof req.rtt === 'number' ? req.rtt : 0;
    const local = responder.kind === Kind.CLIENT;
    const resp = local ? latencyClientInfo(this.ctx, responder as Client, true) : undefined;
    const respRtt = resp !== undefined && typeof resp.rtt === 'number' ? resp.rtt : 0;
    const m: Measurement = {
      status: 200,
      requestor: req,
      startMs: t.ts - reqRtt / 1e6,
      service: Math.max(0, serviceNs - respRtt),
      system: 0,
      total: reqRtt + serviceNs,
      header: Object.keys(t.header).length > 0 ? t.header : undefined,
    };
    if (resp !== undefined) m.responder = resp;
    if (local) {
      this.send(se, m);
      return;
    }
    // wait for the responder's server, unless its M2 came first
    const m2 = t.m2 as Measurement | null;
    if (m2 !== null) {
      merge(m, m2);
      this.send(se, m);
      return;
    }
    t.m1 = m;
    // the response mapping may go before the M2 arrives: keep what it needs
    if (this.awaiting.size >= 4096) this.awaiting.delete(this.awaiting.keys().next().value as string);
    this.awaiting.set(rsi.from, { se, m1: m });
  }

  /** server/accounts.go sendBackendErrorTrackingLatency: no responder (503) or none in time (504). */
  backendError(rsi: ServiceImport, timeout: boolean): void {
    const t = rsi.tracking;
    const se = rsi.se;
    if (t === null || se === null || se.latency === null || t.delivered) return;
    t.delivered = true;
    const req = latencyClientInfo(this.ctx, t.rc, rsi.share);
    const reqRtt = typeof req.rtt === 'number' ? req.rtt : 0;
    this.send(se, {
      status: timeout ? 504 : 503,
      description: timeout ? 'Service Timeout' : 'Service Unavailable',
      requestor: req,
      header: Object.keys(t.header).length > 0 ? t.header : undefined,
      startMs: t.ts - reqRtt / 1e6,
      service: 0,
      system: 0,
      total: 0,
    });
  }

  /**
   * server/client.go processInboundClientMsg (rrTracking): a client of ours
   * answered a tracked request relayed by a route; the requester's server
   * (named by the reply's hash token) gets our measurement (M2).
   */
  remoteResponse(responder: Client, reply: string, startMs: number): void {
    const toks = reply.split('.');
    if (toks.length < 3) return;
    const resp = latencyClientInfo(this.ctx, responder, true);
    const rtt = typeof resp.rtt === 'number' ? resp.rtt : 0;
    const service = Math.max(0, (Date.now() - startMs) * 1e6 - rtt);
    const m2 = {
      // the reference marshals the zero TypedEvent of M2
      type: '',
      id: '',
      timestamp: '0001-01-01T00:00:00Z',
      status: 200,
      responder: resp,
      start: goTime(startMs, true),
      service: Math.round(service),
      system: 0,
      total: Math.round(service + rtt),
    };
    this.ctx.send(`$SYS.LATENCY.M2.${toks[toks.length - 2]}`, '', encode({ account: responder.account.name, req_id: reply, m2 }));
  }

  /** server/accounts.go sendReplyInterestLostTrackLatency: 408 Request Timeout. */
  interestLost(rsi: ServiceImport): void {
    const t = rsi.tracking;
    const se = rsi.se;
    if (t === null || se === null || se.latency === null) return;
    const req = latencyClientInfo(this.ctx, t.rc, rsi.share);
    const reqRtt = typeof req.rtt === 'number' ? req.rtt : 0;
    this.send(se, {
      status: 408,
      description: 'Request Timeout',
      requestor: req,
      header: Object.keys(t.header).length > 0 ? t.header : undefined,
      startMs: t.ts - reqRtt / 1e6,
      service: 0,
      system: 0,
      total: 0,
    });
  }

  /** server/events.go remoteLatencyUpdate: the responder's server's measurement. */
  private remoteLatencyUpdate(msg: Buffer): void {
    let rl: { account?: unknown; req_id?: unknown; m2?: unknown };
    try {
      rl = JSON.parse(msg.toString('utf8')) as typeof rl;
    } catch (e) {
      this.ctx.srv.logger.error(`Error unmarshalling remote latency measurement: ${(e as Error).message}`);
      return;
    }
    if (rl === null || typeof rl !== 'object' || typeof rl.account !== 'string' || typeof rl.req_id !== 'string') return;
    const acc = this.ctx.srv.accounts.get(rl.account);
    if (acc === undefined) {
      this.ctx.srv.logger.warn(`Could not lookup account ${JSON.stringify(rl.account)} for latency measurement`);
      return;
    }
    const m2 = fromJSON(rl.m2);
    if (m2 === null) return;
    const w = this.awaiting.get(rl.req_id);
    if (w !== undefined) {
      this.awaiting.delete(rl.req_id);
      merge(w.m1, m2);
      this.send(w.se, w.m1);
      return;
    }
    // the measurement came before the response: the response merges it
    const t = acc.responses?.get(rl.req_id)?.tracking ?? null;
    if (t !== null) t.m2 = m2;
  }

  private send(se: ServiceExport, m: Measurement): void {
    const l = se.latency;
    if (l === null) return;
    const now = Date.now();
    const out: Record<string, unknown> = {
      type: SERVICE_LATENCY_TYPE,
      id: this.ctx.ids.next(),
      timestamp: goTime(now, true),
      status: m.status,
    };
    if (m.description !== undefined) out.description = m.description;
    if (m.requestor !== undefined) out.requestor = m.requestor;
    if (m.responder !== undefined) out.responder = m.responder;
    if (m.header !== undefined && Object.keys(m.header).length > 0) out.header = m.header;
    out.start = goTime(m.startMs, true);
    out.service = Math.round(m.service);
    out.system = Math.round(m.system);
    out.total = Math.round(m.total);
    // the result is published in the exporting account (sendInternalAccountMsg)
    this.ctx.send(l.subject, '', encode(out), null, se.account);
  }
}

/** server/accounts.go ServiceLatency.merge: m2's service time and responder, the rest is system time. */
function merge(m1: Measurement, m2: Measurement): void {
  const rtt = m2.responder !== undefined && typeof m2.responder.rtt === 'number' ? m2.responder.rtt : 0;
  m1.system = Math.max(0, m1.service - (m2.service + rtt));
  m1.service = Math.max(0, m2.service);
  m1.responder = m2.responder;
}

function fromJSON(v: unknown): Measurement | null {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const num = (k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);
  const start = typeof o.start === 'string' ? Date.parse(o.start) : NaN;
  return {
    status: num('status'),
    responder: o.responder !== null && typeof o.responder === 'object' ? (o.responder as Record<string, unknown>) : undefined,
    startMs: Number.isNaN(start) ? Date.now() : start,
    service: num('service'),
    system: num('system'),
    total: num('total'),
  };
}

export type { ResponseTracking };
