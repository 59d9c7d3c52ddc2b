// The monitoring listener: HTTP or HTTPS on http_host:http_port (or
// https_port), under http_base_path, answering like nats-server 2.9.10's
// (server/server.go startMonitoring and its http.ServeMux): exact-path
// endpoints, 404 "404 page not found" for anything else, a 301 to the clean
// path for paths with "//" or dot segments, JSONP with ?callback=, and the
// same Content-Type headers and error texts.
//
// tsnats extras on the same port: /metrics (Prometheus), /dashboard and
// /dashboard/data. An optional monitoring_token protects every endpoint
// except /healthz (so liveness probes need no secret).

import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path/posix';
import type { Server } from '../server/server.js';
import { NATS_COMPAT_VERSION } from '../config/options.js';
import { TSNATS_VERSION } from '../version.js';
import { goJSON, goJSONBig } from './gofmt.js';
import { goListenError } from '../logging/gofmt.js';
import { BadRequest, ConnState, decodeState, pathUnescape, Query } from './query.js';
import { connz } from './connz.js';
import {
  accountz,
  accstatz,
  gatewayz,
  healthz,
  healthzParams,
  jsz,
  jszParams,
  leafz,
  routez,
  subsz,
  varz,
  type MonitorState,
} from './endpoints.js';
import { Metrics } from './metrics.js';
import { MonitorStartError } from './errors.js';
import { DashboardSampler } from './dashboard.js';
import { DASHBOARD_CSP, dashboardHTML, escapeHTML } from './dashboard-page.js';

/** Endpoint paths (server/server.go), before the base path is applied. */
export const PATHS = {
  root: '/',
  varz: '/varz',
  connz: '/connz',
  routez: '/routez',
  gatewayz: '/gatewayz',
  leafz: '/leafz',
  subsz: '/subsz',
  subscriptionsz: '/subscriptionsz',
  stacksz: '/stacksz',
  accountz: '/accountz',
  accstatz: '/accstatz',
  jsz: '/jsz',
  healthz: '/healthz',
  ipqueuesz: '/ipqueuesz',
  metrics: '/metrics',
  dashboard: '/dashboard',
  dashboardData: '/dashboard/data',
} as const;

const JSON_TYPE = 'application/json';
const JSONP_TYPE = 'application/javascript';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, q: Query) => void | Promise<void>;

/** server/opts.go normalizeBasePath */
export function normalizeBasePath(p: string): string {
  if (p === '') return '/';
  if (p[0] !== '/') p = '/' + p;
  return path.normalize(p).replace(/(.)\/$/, '$1');
}

/** net/http cleanPath: path.Clean, keeping a trailing slash. */
function cleanPath(p: string): string {
  if (p === '') return '/';
  if (p[0] !== '/') p = '/' + p;
  let np = path.normalize(p);
  if (np.length > 1 && np.endsWith('/')) np = np.slice(0, -1);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export { MonitorStartError };

export class Monitor implements MonitorState {
  readonly reqStats = new Map<string, number>();
  private metricsInstance: Metrics | null = null;
  readonly dashboard: DashboardSampler;
  private httpServer: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private routesTable = new Map<string, Handler>();
  private basePath = '/';
  private boundPort = 0;
  private secureListener = false;
  /** digest of the configured monitoring token, recomputed when a reload changes it */
  private tokenCache: { token: string; digest: Buffer } | null = null;
  private cpuLast = { at: 0, cpuMs: 0, pct: 0 };

  constructor(readonly srv: Server) {
    this.dashboard = new DashboardSampler(srv);
  }

  /** The Prometheus registry behind /metrics, made on first use (metrics.ts: prom-client loads lazily). */
  get metrics(): Metrics {
    this.metricsInstance ??= new Metrics(this);
    return this.metricsInstance;
  }

  /** The port the monitor listens on (0 when not started). */
  get port(): number {
    return this.boundPort;
  }

  get secure(): boolean {
    return this.secureListener;
  }

  /** http(s)://host:port<base> for this monitor, with a loopback host for wildcard binds. */
  url(): string {
    let host = this.httpHost();
    if (host === '0.0.0.0' || host === '' || host === '::') host = '127.0.0.1';
    const base = this.basePath === '/' ? '' : this.basePath;
    return `${this.secureListener ? 'https' : 'http'}://${joinHostPort(host, this.boundPort)}${base}`;
  }

  private httpHost(): string {
    const o = this.srv.opts;
    return o.httpHost !== '' ? o.httpHost : o.host;
  }

  /**
   * Start listening if http_port or https_port is set (server.go
   * StartMonitoring). Throws with the reference's messages on a bad setup.
   */
  async start(): Promise<boolean> {
    const o = this.srv.opts;
    if (o.httpPort !== 0 && o.httpsPort !== 0) {
      throw new MonitorStartError(`can't specify both HTTP (${o.httpPort}) and HTTPs (${o.httpsPort}) ports`);
    }
    if (o.httpPort === 0 && o.httpsPort === 0) return false;
    const secure = o.httpPort === 0;
    let server: http.Server;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res);
    if (secure) {
      const tc = o.tlsConfig;
      if (tc === undefined || !tc.certFile || !tc.keyFile) throw new MonitorStartError('TLS cert and key required for HTTPS');
      try {
        server = https.createServer(
          {
            cert: readFileSync(tc.certFile),
            key: readFileSync(tc.keyFile),
            ca: tc.caFile ? readFileSync(tc.caFile) : undefined,
            // the monitor never asks browsers for a client certificate
            requestCert: false,
            maxHeaderSize: 1 << 20,
          },
          handler,
        );
      } catch (e) {
        throw new MonitorStartError(`error loading the TLS certificate: ${(e as Error).message}`);
      }
    } else {
      server = http.createServer({ maxHeaderSize: 1 << 20 }, handler);
    }
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    const host = this.httpHost();
    const wanted = secure ? o.httpsPort : o.httpPort;
    const port = wanted === -1 ? 0 : wanted;
    const hp = joinHostPort(host, port);
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: NodeJS.ErrnoException) =>
        reject(new MonitorStartError(`can't listen to the monitor port: ${goListenError(hp, e)}`));
      server.once('error', onErr);
      server.listen({ host, port }, () => {
        server.off('error', onErr);
        resolve();
      });
    });
    server.on('error', (e) => this.srv.logger.error(`monitoring: ${e.message}`));
    server.on('clientError', (err: NodeJS.ErrnoException, sock: Socket) => {
      if (err.code !== 'ECONNRESET' && sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
      else sock.destroy();
    });
    this.httpServer = server;
    this.secureListener = secure;
    this.boundPort = (server.address() as { port: number }).port;
    this.basePath = normalizeBasePath(o.httpBasePath);
    this.buildRoutes();
    this.dashboard.start();
    this.srv.logger.notice(`Starting ${secure ? 'https' : 'http'} monitor on ${joinHostPort(host, this.boundPort)}`);
    return true;
  }

  /** Stop listening and drop open HTTP connections. */
  async stop(): Promise<void> {
    this.dashboard.stop();
    const server = this.httpServer;
    this.httpServer = null;
    if (server === null) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** CPU percent over roughly the last second, like the reference's pse sampler. */
  cpuPercent(): number {
    const now = Date.now();
    const last = this.cpuLast;
    if (last.at !== 0 && now - last.at < 1000) return last.pct;
    const u = process.cpuUsage();
    const cpuMs = (u.user + u.system) / 1000;
    let pct: number;
    if (last.at === 0) {
      const up = process.uptime() * 1000;
      pct = up > 0 ? Math.floor((cpuMs / up) * 1000) / 10 : 0;
    } else {
      pct = Math.floor(((cpuMs - last.cpuMs) / (now - last.at)) * 1000) / 10;
    }
    this.cpuLast = { at: now, cpuMs, pct: Math.max(0, pct) };
    return this.cpuLast.pct;
  }

  private count(p: string): void {
    this.reqStats.set(p, (this.reqStats.get(p) ?? 0) + 1);
  }

  private buildRoutes(): void {
    const t = new Map<string, Handler>();
    const add = (p: string, h: Handler) => t.set(path.join(this.basePath, p), h);
    add(PATHS.varz, (req, res, q) => {
      this.count(PATHS.varz);
      this.respond(req, res, q, this.srv.jetstream !== null ? goJSONBig(varz(this)) : goJSON(varz(this)));
    });
    add(PATHS.connz, (req, res, q) => {
      const sort = q.get('sort');
      const auth = q.bool('auth');
      const { subs, detail } = q.subs();
      const offset = q.int('offset');
      const limit = q.int('limit');
      const cid = q.uint64('cid');
      const state: ConnState = decodeState(q);
      this.count(PATHS.connz);
      const doc = connz(this.srv, {
        sort,
        auth,
        subs,
        subsDetail: detail,
        offset,
        limit,
        cid,
        state,
        user: q.get('user'),
        acc: q.get('acc'),
        mqttClient: q.get('mqtt_client'),
      });
      this.respond(req, res, q, goJSON(doc));
    });
    add(PATHS.routez, (req, res, q) => {
      const { subs, detail } = q.subs();
      this.count(PATHS.routez);
      this.respond(req, res, q, goJSON(routez(this.srv, subs, detail)));
    });
    const subszHandler: Handler = (req, res, q) => {
      this.count(PATHS.subsz);
      const subs = q.bool('subs');
      const offset = q.int('offset');
      const limit = q.int('limit');
      const test = Buffer.from(q.get('test'), 'utf8').toString('latin1');
      const doc = subsz(this.srv, { subs, offset, limit, test, acc: q.get('acc') });
      this.respond(req, res, q, goJSON(doc));
    };
    add(PATHS.subsz, subszHandler);
    add(PATHS.subscriptionsz, subszHandler);
    add(PATHS.gatewayz, (req, res, q) => {
      this.count(PATHS.gatewayz);
      q.bool('accs');
      this.respond(req, res, q, goJSON(gatewayz(this.srv)));
    });
    add(PATHS.leafz, (req, res, q) => {
      this.count(PATHS.leafz);
      const subs = q.bool('subs');
      this.respond(req, res, q, goJSON(leafz(this.srv, subs, q.get('acc'))));
    });
    add(PATHS.accountz, (req, res, q) => {
      this.count(PATHS.accountz);
      this.respond(req, res, q, goJSON(accountz(this.srv, q.get('acc'))));
    });
    add(PATHS.accstatz, (req, res, q) => {
      this.count(PATHS.accstatz);
      const unused = q.bool('unused');
      this.respond(req, res, q, goJSON(accstatz(this.srv, unused)));
    });
    add(PATHS.jsz, (req, res, q) => {
      this.count(PATHS.jsz);
      // JetStream documents may hold uint64 figures beyond 2^53 (bigint)
      this.respond(req, res, q, goJSONBig(jsz(this.srv, jszParams(q))));
    });
    add(PATHS.healthz, (req, res, q) => {
      this.count(PATHS.healthz);
      const { jsEnabled, opts } = healthzParams(q);
      if (jsEnabled) this.srv.logger.warn('Healthcheck: js-enabled deprecated, use js-enabled-only instead');
      const hs = healthz(this.srv, opts);
      const body = goJSON(hs, 0);
      if (hs.error !== undefined) {
        this.srv.logger.warn(`Healthcheck failed: ${JSON.stringify(hs.error)}`);
        // The reference writes the 503 status before setting Content-Type,
        // so Go sniffs the body and sends text/plain.
        this.respond(req, res, q, body, 503, TEXT_TYPE);
        return;
      }
      this.respond(req, res, q, body);
    });
    add(PATHS.stacksz, (req, res, q) => this.respond(req, res, q, stacks()));
    add(PATHS.ipqueuesz, (req, res, q) => {
      q.bool('all');
      // no internal queues: the reference's empty map, with its 3-space indent
      this.respond(req, res, q, '{}');
    });
    add(PATHS.metrics, async (_req, res) => {
      const text = await this.metrics.text();
      send(res, 200, { 'Content-Type': this.metrics.contentType }, text);
    });
    add(PATHS.dashboard, (_req, res) => {
      send(res, 200, { 'Content-Type': HTML_TYPE, 'Content-Security-Policy': DASHBOARD_CSP, 'Cache-Control': 'no-store' }, dashboardHTML(this.srv.serverName));
    });
    add(PATHS.dashboardData, (_req, res, q) => {
      const since = Number(q.get('since'));
      const doc = this.dashboard.data(Number.isFinite(since) ? since : 0);
      send(res, 200, { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store' }, JSON.stringify(doc));
    });
    this.routesTable = t;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const rawPath = qi < 0 ? raw : raw.slice(0, qi);
    const rawQuery = qi < 0 ? '' : raw.slice(qi + 1);
    const p = pathUnescape(rawPath);
    if (p === null || !p.startsWith('/')) {
      send(res, 400, { 'Content-Type': TEXT_TYPE, Connection: 'close' }, '400 Bad Request');
      return;
    }
    // http.ServeMux: redirect to the clean path (query kept).
    const clean = cleanPath(p);
    if (clean !== p && req.method !== 'CONNECT') {
      const loc = clean + (rawQuery !== '' ? '?' + rawQuery : '');
      const headers: http.OutgoingHttpHeaders = { Location: loc };
      let body = '';
      if (req.method === 'GET' || req.method === 'HEAD') headers['Content-Type'] = HTML_TYPE;
      if (req.method === 'GET') body = `<a href="${escapeHTML(loc)}">Moved Permanently</a>.\n\n`;
      send(res, 301, headers, body);
      return;
    }
    const q = new Query(rawQuery);
    let h = this.routesTable.get(p);
    if (h === undefined && p === this.basePath) h = (rq, rs, qq) => this.root(rq, rs, qq);
    // With the default base path "/" the root pattern catches every path,
    // and the root handler answers 404 for anything but "/".
    if (h === undefined) {
      notFound(res);
      return;
    }
    const want = this.tokenDigest();
    if (want !== null && p !== path.join(this.basePath, PATHS.healthz) && !authorized(req, q, want)) {
      send(
        res,
        401,
        { 'Content-Type': TEXT_TYPE, 'WWW-Authenticate': 'Bearer realm="nats-monitoring"', 'X-Content-Type-Options': 'nosniff' },
        'Unauthorized: monitoring token required\n',
      );
      return;
    }
    try {
      const r = h(req, res, q);
      if (r instanceof Promise) r.catch((e: unknown) => this.fail(res, e));
    } catch (e) {
      this.fail(res, e);
    }
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    if (e instanceof BadRequest) {
      send(res, e.status, { 'Content-Type': TEXT_TYPE }, e.message);
      return;
    }
    this.srv.logger.error(`monitoring: ${(e as Error)?.stack ?? String(e)}`);
    if (!res.headersSent) send(res, 500, { 'Content-Type': TEXT_TYPE }, 'Internal Server Error');
    else res.destroy();
  }

  /** The token in force (options are read per request, so a reload applies). */
  private tokenDigest(): Buffer | null {
    const token = this.srv.opts.monitoringToken;
    if (token === undefined || token === '') return null;
    if (this.tokenCache === null || this.tokenCache.token !== token) this.tokenCache = { token, digest: digest(token) };
    return this.tokenCache.digest;
  }

  /** ResponseHandler (server/monitor.go): JSON, or JSONP with ?callback=. */
  private respond(
    _req: http.IncomingMessage,
    res: http.ServerResponse,
    q: Query,
    body: string,
    status = 200,
    fixedType?: string,
  ): void {
    const cb = q.get('callback');
    if (cb !== '') send(res, status, { 'Content-Type': fixedType ?? JSONP_TYPE }, `${cb}(${body})`);
    else send(res, status, { 'Content-Type': fixedType ?? JSON_TYPE }, body);
  }

  /** The index page (server/monitor.go HandleRoot): links to every endpoint. */
  private root(_req: http.IncomingMessage, res: http.ServerResponse, _q: Query): void {
    this.count(PATHS.root);
    const b = (p: string) => escapeHTML(path.join(this.basePath, p));
    const links: Array<[string, string]> = [
      [PATHS.varz, 'General'],
      [PATHS.jsz, 'JetStream'],
      [PATHS.connz, 'Connections'],
      [PATHS.accountz, 'Accounts'],
      [PATHS.accstatz, 'Account Stats'],
      [PATHS.subsz, 'Subscriptions'],
      [PATHS.routez, 'Routes'],
      [PATHS.leafz, 'LeafNodes'],
      [PATHS.gatewayz, 'Gateways'],
      [PATHS.healthz, 'Health Probe'],
    ];
    const html = `<html lang="en">
	<head>
	<title>tsnats monitoring</title>
	<style type="text/css">
		body { font-family: ui-sans-serif,system-ui,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif; font-size: 18px; margin-left: 32px }
		h1 { font-size: 28px; font-weight: 600; color: rgb(39 170 225); margin-bottom: 0 }
		a { display:block; margin-left: 7px; padding-bottom: 6px; color: rgb(72 72 92); text-decoration: none }
		a:hover { font-weight: 600; color: rgb(59 50 202) }
		a.help { display:inline; font-weight: 600; color: rgb(59 50 202); font-size: 20px }
		a.last { padding-bottom: 16px }
		span.version { display:block; font-size: 14px; color: rgb(72 72 92); margin: 4px 0 16px 7px }
	</style>
	</head>
	<body>
	<h1>tsnats</h1>
	<span class='version'>v${NATS_COMPAT_VERSION} (tsnats ${escapeHTML(TSNATS_VERSION)})</span>
	<br/>
${links.map(([p, label]) => `\t<a href=.${b(p)}>${label}</a>`).join('\n')}
	<a href=.${b(PATHS.metrics)}>Prometheus Metrics</a>
	<a href=.${b(PATHS.dashboard)} class=last>Dashboard</a>
    <a href=https://docs.nats.io/running-a-nats-service/nats_admin/monitoring class="help">Help</a>
  </body>
</html>`;
    send(res, 200, { 'Content-Type': HTML_TYPE }, html);
  }
}

/** Bearer token in Authorization, or ?token= for browsers opening a page. */
function authorized(req: http.IncomingMessage, q: Query, want: Buffer): boolean {
  const h = req.headers.authorization;
  let given: string | null = null;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    if (m) given = m[1];
  }
  if (given === null && q.get('token') !== '') given = q.get('token');
  if (given === null) return false;
  return timingSafeEqual(digest(given), want);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function send(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: string): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Length': buf.length });
  res.end(buf);
}

/** http.NotFound */
function notFound(res: http.ServerResponse): void {
  send(res, 404, { 'Content-Type': TEXT_TYPE, 'X-Content-Type-Options': 'nosniff' }, '404 page not found\n');
}

/** /stacksz: the JavaScript stack and libuv handles of this process (Go prints goroutine stacks). */
function stacks(): string {
  const report = process.report?.getReport() as unknown as
    | { javascriptStack?: { message?: string; stack?: string[] }; libuv?: Array<{ type: string; is_active: boolean; address?: string }> }
    | undefined;
  if (report === undefined) return '';
  const js = report.javascriptStack;
  const lines = [`javascript: ${js?.message ?? ''}`, ...(js?.stack ?? []).map((s) => `\t${s}`), ''];
  const handles = new Map<string, number>();
  for (const h of report.libuv ?? []) {
    if (!h.is_active) continue;
    handles.set(h.type, (handles.get(h.type) ?? 0) + 1);
  }
  lines.push('active libuv handles:');
  for (const [t, n] of [...handles.entries()].sort()) lines.push(`\t${t}: ${n}`);
  return lines.join('\n') + '\n';
}
