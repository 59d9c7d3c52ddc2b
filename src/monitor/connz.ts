// /connz (server/monitor.go Connz, monitor_sort_opts.go). Filtering, counting
// and error texts follow the reference, quirks included; the page is built
// from references to live clients, and with a small page out of many
// connections only offset+limit entries are kept (bounded heap) instead of
// sorting every connection, so a poll stays cheap with tens of thousands of
// clients.

import { nodeCrypto } from '../server/builtins.js';
import type { TLSSocket } from 'node:tls';
import type { Client } from '../client/client.js';
import type { Subscription } from '../client/subscription.js';
import type { ClosedClientInfo, Server } from '../server/server.js';
import { DEFAULT_GLOBAL_ACCOUNT } from '../config/options.js';
import { BadRequest, ConnState } from './query.js';
import { goRTT, goTime, myUptime, nowMs, protoText } from './gofmt.js';

/** server/monitor.go DefaultConnListSize */
export const DEFAULT_CONN_LIST_SIZE = 1024;

/** Every sort key of server/monitor_sort_opts.go. */
export const SORT_OPTIONS = [
  'cid',
  'start',
  'subs',
  'pending',
  'msgs_to',
  'msgs_from',
  'bytes_to',
  'bytes_from',
  'last',
  'idle',
  'uptime',
  'stop',
  'reason',
] as const;
export type SortOpt = (typeof SORT_OPTIONS)[number];

export interface ConnzOptions {
  sort?: string;
  /** auth=1: include authorized_user, account, jwt... */
  auth?: boolean;
  subs?: boolean;
  subsDetail?: boolean;
  offset?: number;
  limit?: number;
  cid?: number;
  state?: ConnState;
  user?: string;
  acc?: string;
  mqttClient?: string;
}

/**
 * Closed connections whose subscription details stick to every later answer.
 * server/monitor.go Connz copies a closed entry before decorating it only
 * when subs=1 or auth=1; a subs=detail request without them writes the
 * details into the stored entry itself, so from then on that connection is
 * listed with subscriptions_list_detail whatever the query. Reproduced, since
 * tools see it.
 */
const stickyDetail = new WeakSet<ClosedClientInfo>();

/** One row being considered for the page: an open client, or a closed one. */
interface Row {
  readonly c: Client;
  /** null for open connections */
  readonly closed: ClosedClientInfo | null;
}

/** Pending bytes of an open client: staged plus what the socket still holds. */
export function pendingBytes(c: Client): number {
  return c.out.staged + (c.socket.destroyed ? 0 : c.socket.writableLength);
}

function numSubs(r: Row): number {
  return r.closed === null ? r.c.subs.size : (r.closed.subs?.length ?? 0);
}

function accountOf(c: Client): string {
  return c.account.name;
}

/** Comparator for a sort option: negative when a comes first. Ties go by cid. */
function comparator(sort: SortOpt, nowMs: number): (a: Row, b: Row) => number {
  const byCid = (a: Row, b: Row) => a.c.cid - b.c.cid;
  const desc = (key: (r: Row) => number) => (a: Row, b: Row) => key(b) - key(a) || a.c.cid - b.c.cid;
  const asc = (key: (r: Row) => number) => (a: Row, b: Row) => key(a) - key(b) || a.c.cid - b.c.cid;
  switch (sort) {
    case 'cid':
    case 'start':
      return byCid;
    case 'subs':
      return desc(numSubs);
    case 'pending':
      return desc((r) => (r.closed === null ? pendingBytes(r.c) : 0));
    case 'msgs_to':
      return desc((r) => r.c.outMsgs);
    case 'msgs_from':
      return desc((r) => r.c.inMsgs);
    case 'bytes_to':
      return desc((r) => r.c.outBytes);
    case 'bytes_from':
      return desc((r) => r.c.inBytes);
    case 'last':
      return desc((r) => r.c.lastActivity);
    case 'idle':
      // monitor_sort_opts.go byIdle compares LastActivity - Start (how long
      // the connection was active), not the idle time; descending.
      return desc((r) => r.c.lastActivity - r.c.start.getTime());
    case 'uptime':
      // byUptime is ascending: youngest first.
      return asc((r) => (r.c.stop !== null ? r.c.stop.getTime() : nowMs) - r.c.start.getTime());
    case 'stop':
      return desc((r) => (r.c.stop !== null ? r.c.stop.getTime() : 0));
    case 'reason':
      return (a, b) => {
        const ra = a.closed?.reason ?? '';
        const rb = b.closed?.reason ?? '';
        return ra < rb ? -1 : ra > rb ? 1 : a.c.cid - b.c.cid;
      };
  }
}

/**
 * The first k rows of `rows` in `cmp` order. With k much smaller than the
 * row count a bounded max-heap keeps only k candidates (O(n log k)); else a
 * plain sort.
 */
export function selectTop<T>(rows: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  const n = rows.length;
  if (k <= 0) return [];
  if (k * 4 >= n) return rows.sort(cmp).slice(0, k);
  // heap[0] is the worst of the kept rows
  const heap: T[] = [];
  const worse = (i: number, j: number) => cmp(heap[i], heap[j]) > 0;
  const swap = (i: number, j: number) => {
    const t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
  };
  const down = (i: number) => {
    const len = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < len && worse(l, m)) m = l;
      if (r < len && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let idx = 0; idx < n; idx++) {
    const row = rows[idx];
    if (heap.length < k) {
      heap.push(row);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (cmp(row, heap[0]) < 0) {
      heap[0] = row;
      down(0);
    }
  }
  return heap.sort(cmp);
}

export type ConnzResult = Record<string, unknown>;

/** Build /connz. Throws BadRequest with the reference's texts. */
export function connz(srv: Server, o: ConnzOptions): ConnzResult {
  let sort: SortOpt = 'cid';
  if (o.sort !== undefined && o.sort !== '') {
    if (!(SORT_OPTIONS as readonly string[]).includes(o.sort)) throw new BadRequest(`invalid sorting option: ${o.sort}`);
    sort = o.sort as SortOpt;
  }
  const auth = o.auth === true;
  const subs = o.subs === true;
  const subsDet = o.subsDetail === true;
  const offset = Math.max(0, o.offset ?? 0);
  let limit = o.limit ?? 0;
  if (limit <= 0) limit = DEFAULT_CONN_LIST_SIZE;
  const state = o.state ?? ConnState.Open;
  const user = o.user ?? '';
  const acc = o.acc ?? '';
  const mqttCID = o.mqttClient ?? '';
  if (sort === 'stop' && state !== ConnState.Closed) throw new BadRequest('sort by stop only valid on closed connections');
  if (sort === 'reason' && state !== ConnState.Closed) throw new BadRequest('sort by reason only valid on closed connections');
  const cid = o.cid ?? 0;
  if (cid > 0) limit = 1;

  const now = nowMs();
  const nowStr = goTime(now, true);

  if (acc !== '' && srv.lookupAccount(acc) === undefined) {
    // The reference returns its half-built answer when the account is unknown.
    return { server_id: '', now: nowStr, num_connections: 0, total: 0, offset, limit, connections: null };
  }

  // Open clients of the account (or all), counted before other filters.
  let openTotal = 0;
  if (acc === '') openTotal = srv.clients.size;
  else for (const c of srv.clients.values()) if (accountOf(c) === acc) openTotal++;

  let closed: ClosedClientInfo[] = [];
  let total = 0;
  if (state === ConnState.Open) total = openTotal;
  else {
    closed = srv.closedClients;
    total = state === ConnState.All ? openTotal + closed.length : closed.length;
  }
  if (acc !== '' && closed.length > 0) {
    // server.go saveClosedClient keeps "" as the account of $G clients, so a
    // closed $G client never matches an account filter.
    const kept = closed.filter((cc) => closedAccount(cc) === acc);
    total -= closed.length - kept.length;
    closed = kept;
  }

  const rows: Row[] = [];
  if (cid > 0) {
    if (state === ConnState.Closed || state === ConnState.All) {
      const cc = closed.find((x) => x.client.cid === cid);
      closed = cc === undefined ? [] : [cc];
    } else {
      const c = srv.clients.get(cid);
      if (c !== undefined) rows.push({ c, closed: null });
    }
  } else if (state === ConnState.Open || state === ConnState.All) {
    for (const c of srv.clients.values()) {
      if (acc !== '' && accountOf(c) !== acc) continue;
      if (user !== '' && c.opts.user !== user) continue;
      if (mqttCID !== '') continue; // no MQTT clients: none has that client id
      rows.push({ c, closed: null });
    }
  }
  for (const cc of closed) {
    if (acc !== '' && closedAccount(cc) !== acc) continue;
    if (user !== '' && cc.client.opts.user !== user) continue;
    if (mqttCID !== '') continue;
    rows.push({ c: cc.client, closed: cc });
  }

  const result: ConnzResult = {
    server_id: srv.serverId,
    now: nowStr,
    num_connections: 0,
    total,
    offset,
    limit,
    connections: [] as unknown[],
  };
  if (rows.length === 0) return result;

  const end = Math.min(offset + limit, rows.length);
  const start = Math.min(offset, end);
  const page = selectTop(rows, end, comparator(sort, now)).slice(start, end);
  if (subsDet && !subs && !auth) {
    for (const r of rows) if (r.closed !== null && (r.closed.subs?.length ?? 0) > 0) stickyDetail.add(r.closed);
  }
  const conns = page.map((r) => connInfo(r, now, auth, subs, subsDet));
  result.num_connections = conns.length;
  result.connections = conns;
  return result;
}

function closedAccount(cc: ClosedClientInfo): string {
  const name = cc.client.account.name;
  return name === DEFAULT_GLOBAL_ACCOUNT ? '' : name;
}

/** Go's tls version names (server/ciphersuites.go tlsVersion). */
function tlsVersionName(p: string | null): string {
  switch (p) {
    case 'TLSv1':
      return '1.0';
    case 'TLSv1.1':
      return '1.1';
    case 'TLSv1.2':
      return '1.2';
    case 'TLSv1.3':
      return '1.3';
  }
  return p === null ? '' : `Unknown [${p}]`;
}

function isTLS(sock: unknown): sock is TLSSocket {
  return (sock as { encrypted?: boolean }).encrypted === true && typeof (sock as TLSSocket).getProtocol === 'function';
}

/** pkix.Name.String(): RDNs in reverse order, comma separated. */
function goSubject(subject: string): string {
  return subject.split('\n').filter(Boolean).reverse().join(',');
}

function peerCerts(sock: TLSSocket): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cert = sock.getPeerCertificate(true);
  const seen = new Set<unknown>();
  while (cert !== undefined && cert !== null && cert.raw !== undefined && !seen.has(cert)) {
    seen.add(cert);
    try {
      const x = new (nodeCrypto().X509Certificate)(cert.raw);
      const spki = x.publicKey.export({ type: 'spki', format: 'der' });
      out.push({
        subject: goSubject(x.subject),
        spki_sha256: sha256hex(spki),
        cert_sha256: sha256hex(cert.raw),
      });
    } catch {
      break;
    }
    const next = (cert as { issuerCertificate?: typeof cert }).issuerCertificate;
    if (next === undefined || next === cert) break;
    cert = next;
  }
  return out;
}

function sha256hex(b: Buffer): string {
  return nodeCrypto().createHash('sha256').update(b).digest('hex');
}

function subDetail(s: Subscription, cid: number, account: string | null): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (account !== null && account !== '') d.account = account;
  d.subject = protoText(s.subject);
  if (s.queue !== null && s.queue !== '') d.qgroup = protoText(s.queue);
  d.sid = protoText(s.sid);
  d.msgs = s.nm;
  if (s.max > 0) d.max = s.max;
  d.cid = cid;
  return d;
}

/** ConnInfo (server/monitor.go), field order and omitempty as the reference. */
function connInfo(r: Row, now: number, auth: boolean, subs: boolean, subsDet: boolean): Record<string, unknown> {
  const c = r.c;
  const cc = r.closed;
  // A closed connection is frozen at its close time (server.go saveClosedClient).
  const at = cc !== null && c.stop !== null ? c.stop.getTime() : now;
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: 'Client',
    type: 'nats',
    ip: c.port !== 0 ? c.host : '',
    port: c.port,
    start: goTime(c.start.getTime(), false),
    last_activity: goTime(c.lastActivity, false),
  };
  if (cc !== null && c.stop !== null) {
    ci.stop = goTime(c.stop.getTime(), true);
    ci.reason = cc.reason;
  }
  ci.rtt = goRTT(c.rttMs);
  ci.uptime = myUptime(at - c.start.getTime());
  ci.idle = myUptime(at - c.lastActivity);
  ci.pending_bytes = cc === null ? pendingBytes(c) : 0;
  ci.in_msgs = c.inMsgs;
  ci.out_msgs = c.outMsgs;
  ci.in_bytes = c.inBytes;
  ci.out_bytes = c.outBytes;
  ci.subscriptions = numSubs(r);
  const co = c.opts;
  if (co.name !== '') ci.name = co.name;
  if (co.lang !== '') ci.lang = co.lang;
  if (co.version !== '') ci.version = co.version;
  const sock = c.socket as unknown;
  if (cc === null && isTLS(sock) && !sock.destroyed) {
    const v = tlsVersionName(sock.getProtocol());
    if (v !== '') ci.tls_version = v;
    const cipher = sock.getCipher();
    if (cipher) ci.tls_cipher_suite = cipher.standardName ?? cipher.name;
    if (auth) {
      const pcs = peerCerts(sock);
      if (pcs.length > 0) ci.tls_peer_certs = pcs;
    }
  }
  if (auth) {
    const u = cc === null ? c.user : c.opts.user;
    if (u !== '') ci.authorized_user = u;
    const an = c.account.name;
    if (an !== DEFAULT_GLOBAL_ACCOUNT && an !== '') ci.account = an;
  }
  // Subscriptions: live ones for open clients, the close-time snapshot otherwise.
  const list: readonly Subscription[] = cc === null ? [...c.subs.values()] : (cc.subs ?? []);
  if (list.length > 0) {
    // Closed snapshots carry the account (server.go newSubDetail), live ones do not.
    const accName = cc === null ? null : c.account.name;
    if (subsDet) {
      ci.subscriptions_list_detail = list.map((s) => subDetail(s, c.cid, accName));
    } else {
      if (subs) ci.subscriptions_list = list.map((s) => protoText(s.subject));
      if (cc !== null && stickyDetail.has(cc)) ci.subscriptions_list_detail = list.map((s) => subDetail(s, c.cid, accName));
    }
  }
  if (auth && co.jwt !== '') ci.jwt = co.jwt;
  return ci;
}
