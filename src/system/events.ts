// The events a server sends in its system account (server/events.go):
// client CONNECT/DISCONNECT per account, authentication errors, the
// account connection counts (SERVER.CONNS, with a heartbeat while an
// account has connections), STATSZ (periodic, starting fast and backing
// off to 30 s, and on request), SHUTDOWN and LAMEDUCK. It also tracks the
// other servers of the cluster from their STATSZ and SHUTDOWN events, as
// the reference does for "active_servers".

import { nodeOs } from '../server/builtins.js';
import type { Client } from '../client/client.js';
import type { ClosedReason } from '../client/connection.js';
import type { Account } from '../accounts/account.js';
import type { Server } from '../server/server.js';
import { totalSubscriptions } from '../monitor/endpoints.js';
import { goTime } from '../monitor/gofmt.js';
import { goJsonSyntaxErrorBytes } from '../protocol/gojson.js';
import { encode, eventClientInfo, serverInfo, skipServerInfoSeq, typedEvent } from './info.js';
import type { SystemContext } from './context.js';

/** server/events.go eventsHBInterval */
export const EVENTS_HB_INTERVAL_MS = 30_000;
/** server/events.go startStatszTimer: the first STATSZ, then doubling up to the heartbeat */
const FIRST_STATSZ_MS = 250;

const CONNECT_TYPE = 'io.nats.server.advisory.v1.client_connect';
const DISCONNECT_TYPE = 'io.nats.server.advisory.v1.client_disconnect';
const ACCOUNT_CONNS_TYPE = 'io.nats.server.advisory.v1.account_connections';

export const subjects = {
  connect: (acc: string) => `$SYS.ACCOUNT.${acc}.CONNECT`,
  disconnect: (acc: string) => `$SYS.ACCOUNT.${acc}.DISCONNECT`,
  accConnsNew: (acc: string) => `$SYS.ACCOUNT.${acc}.SERVER.CONNS`,
  accConnsOld: (acc: string) => `$SYS.SERVER.ACCOUNT.${acc}.CONNS`,
  shutdown: (id: string) => `$SYS.SERVER.${id}.SHUTDOWN`,
  lameDuck: (id: string) => `$SYS.SERVER.${id}.LAMEDUCK`,
  authError: (id: string) => `$SYS.SERVER.${id}.CLIENT.AUTH.ERR`,
  statsz: (id: string) => `$SYS.SERVER.${id}.STATSZ`,
  connsResp: (id: string) => `$SYS._INBOX_.${id}`,
  accConnsReq: (acc: string) => `$SYS.REQ.ACCOUNT.${acc}.CONNS`,
};

/** A CPU percentage sampled like the reference's pse (the monitor's when it runs). */
class CpuSampler {
  private at = 0;
  private cpuMs = 0;
  private pct = 0;

  sample(): number {
    const now = Date.now();
    if (this.at !== 0 && now - this.at < 1000) return this.pct;
    const u = process.cpuUsage();
    const cpuMs = (u.user + u.system) / 1000;
    const pct = this.at === 0 ? (cpuMs / Math.max(1, process.uptime() * 1000)) * 100 : ((cpuMs - this.cpuMs) / (now - this.at)) * 100;
    this.at = now;
    this.cpuMs = cpuMs;
    this.pct = Math.max(0, Math.round(pct * 10) / 10);
    return this.pct;
  }
}

interface RemoteServer {
  seq: number;
  ltime: number;
}

export class Events {
  private statszTimer: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private cstatsz = FIRST_STATSZ_MS;
  private statszSubject: string | null = null;
  /** other servers seen through their STATSZ (server/events.go internal.servers) */
  readonly servers = new Map<string, RemoteServer>();
  /** accounts with connections: their SERVER.CONNS heartbeat (server/accounts.go ctmr) */
  private readonly hbTimers = new Map<Account, NodeJS.Timeout>();
  private readonly cpu = new CpuSampler();
  /** per account, the client counts other servers reported (server/accounts.go strack) */
  private readonly remoteConns = new Map<Account, Map<string, { conns: number; leafs: number }>>();
  private stopped = false;

  constructor(private readonly ctx: SystemContext) {}

  start(): void {
    const { srv } = this.ctx;
    const id = srv.serverId;
    this.ctx.subscribe(subjects.accConnsOld('*'), (_s, _subj, _r, _h, msg) => this.remoteConnsUpdate(msg));
    this.ctx.subscribe(subjects.connsResp(id), (_s, _subj, _r, _h, msg) => this.remoteConnsUpdate(msg));
    this.ctx.subscribe(subjects.statsz('*'), (_s, _subj, _r, _h, msg) => this.remoteServerUpdate(msg));
    this.ctx.subscribe(subjects.shutdown('*'), (_s, subject) => this.remoteServerShutdown(subject));
    this.statszTimer = setTimeout(() => this.heartbeatStatsz(), this.cstatsz);
    this.statszTimer.unref();
    this.sweeper = setInterval(() => this.checkRemoteServers(), 3 * EVENTS_HB_INTERVAL_MS);
    this.sweeper.unref();
    // server/server.go setSystemAccount → enableAccountTracking: ask the others for their counts
    for (const acc of srv.accounts.values()) this.enableAccountTracking(acc);
  }

  stop(): void {
    this.stopped = true;
    if (this.statszTimer !== null) clearTimeout(this.statszTimer);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.statszTimer = null;
    this.sweeper = null;
    for (const t of this.hbTimers.values()) clearTimeout(t);
    this.hbTimers.clear();
    for (const acc of this.remoteConns.keys()) {
      acc.remoteClients = 0;
      acc.remoteLeafs = 0;
    }
    this.remoteConns.clear();
  }

  cpuPercent(): number {
    return this.ctx.srv.monitor?.cpuPercent() ?? this.cpu.sample();
  }

  // --- STATSZ --------------------------------------------------------------

  /** server/events.go ServerStats */
  serverStats(): Record<string, unknown> {
    const srv = this.ctx.srv;
    const st = srv.stats;
    let active = 0;
    for (const a of srv.accounts.values()) if (a.numClients > 0) active++;
    const s: Record<string, unknown> = {
      start: goTime(srv.startTime.getTime(), false),
      mem: process.memoryUsage.rss(),
      cores: typeof nodeOs().availableParallelism === 'function' ? nodeOs().availableParallelism() : nodeOs().cpus().length,
      cpu: this.cpuPercent(),
      connections: srv.clients.size,
      total_connections: st.totalConnections,
      active_accounts: active,
      subscriptions: totalSubscriptions(srv),
      sent: { msgs: st.outMsgs, bytes: st.outBytes },
      received: { msgs: st.inMsgs, bytes: st.inBytes },
      slow_consumers: st.slowConsumers,
    };
    const routes: Record<string, unknown>[] = [];
    for (const r of srv.routeInfoProvider?.routes() ?? []) {
      routes.push({
        rid: r.cid,
        sent: { msgs: r.outMsgs, bytes: r.outBytes },
        received: { msgs: r.inMsgs, bytes: r.inBytes },
        pending: r.pendingBytes(),
      });
    }
    if (routes.length > 0) s.routes = routes;
    s.active_servers = 1 + this.servers.size;
    const js = srv.jetstream;
    if (js !== null) s.jetstream = js.varz();
    return s;
  }

  /** server/events.go sendStatsz: {server, statsz} on `subject`. */
  sendStatsz(subject: string): void {
    const body = encode({ server: serverInfo(this.ctx.srv), statsz: this.serverStats() });
    this.ctx.send(subject, '', body);
  }

  private heartbeatStatsz(): void {
    if (this.stopped) return;
    if (this.cstatsz < EVENTS_HB_INTERVAL_MS) {
      this.cstatsz = Math.min(this.cstatsz * 2, EVENTS_HB_INTERVAL_MS);
      this.statszTimer = setTimeout(() => this.heartbeatStatsz(), this.cstatsz);
      this.statszTimer.unref();
    } else {
      // the same interval from now on: the same Timeout, no new object every 30 s
      this.statszTimer?.refresh();
    }
    this.statszSubject ??= subjects.statsz(this.ctx.srv.serverId);
    if (this.othersListen(this.statszSubject)) this.sendStatsz(this.statszSubject);
    else skipServerInfoSeq(this.ctx.srv);
  }

  /**
   * Whether anyone but our own `$SYS.SERVER.*.STATSZ` subscription (which
   * ignores this server's messages) would get a message on `subject`: a
   * client, a route or leafnode, an importing account. An idle server that
   * nobody watches then builds no STATSZ every 30 s (whose garbage grew its
   * RSS over an idle hour, issue 19); the sequence number still advances
   * as if it had been sent, and nothing else could have seen it.
   */
  private othersListen(subject: string): boolean {
    const r = this.ctx.sysAcc.sublist.match(subject);
    if (r.qsubs.length > 0) return true;
    for (const s of r.psubs) if (s.client !== this.ctx.client) return true;
    return false;
  }

  // --- other servers ---------------------------------------------------------

  /** server/events.go remoteServerUpdate */
  private remoteServerUpdate(msg: Buffer): void {
    const si = parseServerInfo(msg, 'server');
    if (si === null || si.id === this.ctx.srv.serverId) return;
    this.updateRemoteServer(si.id, si.seq);
  }

  /** server/events.go updateRemoteServer: a new server gets our STATSZ at once. */
  private updateRemoteServer(id: string, seq: number): void {
    const su = this.servers.get(id);
    if (su === undefined) {
      this.servers.set(id, { seq, ltime: Date.now() });
      this.sendStatsz(subjects.statsz(this.ctx.srv.serverId));
      return;
    }
    if (seq <= su.seq) {
      this.ctx.srv.logger.error(`Received out of order remote server update from: ${JSON.stringify(id)}`);
      return;
    }
    su.seq = seq;
    su.ltime = Date.now();
  }

  private remoteServerShutdown(subject: string): void {
    const toks = subject.split('.');
    if (toks.length < 4) return;
    this.forgetServer(toks[2]!);
  }

  /** server/events.go checkRemoteServers: a server silent for 5 heartbeats is gone. */
  private checkRemoteServers(): void {
    const now = Date.now();
    for (const [id, su] of this.servers) {
      if (now - su.ltime > 5 * EVENTS_HB_INTERVAL_MS) {
        if (this.ctx.srv.logger.debugEnabled) this.ctx.srv.logger.debug(`Detected orphan remote server: ${JSON.stringify(id)}`);
        this.forgetServer(id);
      }
    }
  }

  /**
   * server/events.go remoteConnsUpdate + accounts.go updateRemoteServer:
   * another server's count for an account we know. The counts add up to
   * the account's cluster-wide connections, which the next login is checked
   * against (config and JWT accounts alike, auth.ts and auth/jwt.ts). In
   * 2.9.10 an update that puts the account over its limit disconnects no
   * client: updateRemoteServer picks the newest clients into a variable that
   * shadows the one it returns (only excess leafnodes would go), so
   * connected clients stay, as here.
   */
  private remoteConnsUpdate(msg: Buffer): void {
    const srv = this.ctx.srv;
    if (msg.length === 0) {
      srv.logger.error('SYSTEM - No message body provided');
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(msg.toString('utf8')) as Record<string, unknown>;
    } catch {
      // the reference's internal client logs Go's scanner text
      srv.logger.error(`SYSTEM - Error unmarshalling account connection event message: ${goJsonSyntaxErrorBytes(msg) ?? 'invalid JSON'}`);
      return;
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return;
    const si = parseServerInfo(msg, 'server');
    const acc = typeof m.acc === 'string' ? srv.accounts.get(m.acc) : undefined;
    if (acc === undefined || si === null) return;
    if (si.id === srv.serverId) {
      srv.logger.error('SYSTEM - Processing our own account connection event message: ignored');
      return;
    }
    const conns = typeof m.conns === 'number' && Number.isSafeInteger(m.conns) && m.conns >= 0 ? m.conns : 0;
    const leafs = typeof m.leafnodes === 'number' && Number.isSafeInteger(m.leafnodes) && m.leafnodes >= 0 ? m.leafnodes : 0;
    let track = this.remoteConns.get(acc);
    if (track === undefined) this.remoteConns.set(acc, (track = new Map()));
    const prev = track.get(si.id);
    acc.remoteClients += conns - (prev?.conns ?? 0);
    acc.remoteLeafs += leafs - (prev?.leafs ?? 0);
    track.set(si.id, { conns, leafs });
    this.updateRemoteServer(si.id, si.seq);
    // server/accounts.go updateRemoteServer: over the leafnode limit cluster-wide, our newest leafs go.
    // (Clients over max_connections stay: its list of clients to close is
    // shadowed there and never used; remote counts only refuse new logins.)
    if (acc.maxLeafnodes >= 0 && acc.numLeafs + acc.remoteLeafs > acc.maxLeafnodes) {
      srv.leafnodes?.closeNewest(acc, acc.numLeafs + acc.remoteLeafs - acc.maxLeafnodes);
    }
  }

  /** server/accounts.go removeRemoteServer: a server that went away counts no clients. */
  private forgetServer(id: string): void {
    this.servers.delete(id);
    for (const [acc, track] of this.remoteConns) {
      const n = track.get(id);
      if (n === undefined) continue;
      acc.remoteClients -= n.conns;
      acc.remoteLeafs -= n.leafs;
      track.delete(id);
    }
  }

  // --- account connections -----------------------------------------------------

  /** accounts whose counts we asked the other servers for */
  private readonly tracked = new WeakSet<Account>();

  /** Accounts registered since (a reload, a resolver's new JWT): server/server.go registerAccountNoLock tracks each. */
  trackNewAccounts(): void {
    for (const acc of this.ctx.srv.accounts.values()) if (!this.tracked.has(acc)) this.enableAccountTracking(acc);
  }

  /** server/events.go enableAccountTracking: ask the other servers for their counts of `acc`. */
  enableAccountTracking(acc: Account): void {
    this.tracked.add(acc);
    const srv = this.ctx.srv;
    const body = encode({ server: serverInfo(srv), acc: acc.name });
    this.ctx.send(subjects.accConnsReq(acc.name), subjects.connsResp(srv.serverId), body);
  }

  /** server/events.go accConnsUpdate: SERVER.CONNS on the old and new subjects. */
  accountConnsChanged(acc: Account): void {
    if (this.stopped) return;
    this.sendAccConnsUpdate(acc, [subjects.accConnsOld(acc.name), subjects.accConnsNew(acc.name)]);
  }

  /** server/events.go sendAccConnsUpdate; the heartbeat runs while the account has connections. */
  sendAccConnsUpdate(acc: Account, to: string[]): void {
    const srv = this.ctx.srv;
    const ev = typedEvent(ACCOUNT_CONNS_TYPE, this.ctx.ids.next(), Date.now());
    const stat = accountStat(acc, srv);
    const t = this.hbTimers.get(acc);
    if (stat.total_conns === 0) {
      if (t !== undefined) clearTimeout(t);
      this.hbTimers.delete(acc);
    } else if (t !== undefined) {
      // a connection storm re-arms one timer per account, not a new one per event
      t.refresh();
    } else {
      const nt = setTimeout(() => {
        this.hbTimers.delete(acc);
        this.accountConnsChanged(acc);
      }, EVENTS_HB_INTERVAL_MS);
      nt.unref();
      this.hbTimers.set(acc, nt);
    }
    for (const subject of to) this.ctx.send(subject, '', encode({ ...ev, server: serverInfo(srv), ...stat }));
  }

  // --- client events -------------------------------------------------------------

  /** events built since start (what unheard events do not cost) */
  built = 0;

  /**
   * Nobody would get an event on `subject`: no subscriber in the system
   * account, no route or leafnode to carry it, no account importing the
   * system account's streams. A server whose system account nobody watches
   * then spends nothing on client events (the reference builds them all).
   */
  private unheard(subject: string): boolean {
    const { srv, sysAcc } = this.ctx;
    if (srv.routesActive || sysAcc.streamImporters !== null) return false;
    const r = sysAcc.sublist.match(subject);
    return r.psubs.length === 0 && r.qsubs.length === 0;
  }

  /** server/events.go accountConnectEvent (not for the global account). */
  clientConnected(c: Client): void {
    const srv = this.ctx.srv;
    if (c.account === srv.globalAccount) return;
    if (this.unheard(subjects.connect(c.account.name))) return;
    this.built++;
    const ev = typedEvent(CONNECT_TYPE, this.ctx.ids.next(), Date.now());
    const m = { ...ev, server: serverInfo(srv), client: eventClientInfo(c, null) };
    this.ctx.send(subjects.connect(c.account.name), '', encode(m));
  }

  /** server/events.go accountDisconnectEvent (not for the global account). */
  clientClosed(c: Client, reason: ClosedReason): void {
    const srv = this.ctx.srv;
    if (c.account === srv.globalAccount) return;
    if (this.unheard(subjects.disconnect(c.account.name))) return;
    this.built++;
    this.ctx.send(subjects.disconnect(c.account.name), '', encode(this.disconnectMsg(c, reason)));
  }

  /** server/events.go sendAuthErrorEvent: a DisconnectEventMsg on CLIENT.AUTH.ERR. */
  authError(c: Client): void {
    const subject = subjects.authError(this.ctx.srv.serverId);
    if (this.unheard(subject)) return;
    this.built++;
    this.ctx.send(subject, '', encode(this.disconnectMsg(c, 'Authentication Failure')));
  }

  private disconnectMsg(c: Client, reason: string): Record<string, unknown> {
    const now = Date.now();
    return {
      ...typedEvent(DISCONNECT_TYPE, this.ctx.ids.next(), now),
      server: serverInfo(this.ctx.srv),
      client: eventClientInfo(c, now),
      // the client's view: what it sent is what the server received
      sent: { msgs: c.inMsgs, bytes: c.inBytes },
      received: { msgs: c.outMsgs, bytes: c.outBytes },
      reason,
    };
  }

  // --- lifecycle ---------------------------------------------------------------------

  /** nats-server 2.10's LAMEDUCK event: the ServerInfo alone. */
  lameDuck(): void {
    this.ctx.send(subjects.lameDuck(this.ctx.srv.serverId), '', encode(serverInfo(this.ctx.srv)));
  }

  /** server/events.go sendShutdownEvent: the ServerInfo alone. */
  shutdown(): void {
    this.ctx.send(subjects.shutdown(this.ctx.srv.serverId), '', encode(serverInfo(this.ctx.srv)));
    this.stop();
  }
}

/** server/events.go Account.statz (AccountStat): local clients and leafnodes */
export function accountStat(acc: Account, srv: Server): {
  acc: string;
  conns: number;
  leafnodes: number;
  total_conns: number;
  sent: { msgs: number; bytes: number };
  received: { msgs: number; bytes: number };
  slow_consumers: number;
} {
  const leafs = srv.leafnodes?.numLeafsOf(acc) ?? 0;
  return {
    acc: acc.name,
    conns: acc.numClients,
    leafnodes: acc.numLeafs,
    total_conns: acc.numClients + acc.numLeafs,
    sent: { msgs: acc.outMsgs, bytes: acc.outBytes },
    received: { msgs: acc.inMsgs, bytes: acc.inBytes },
    slow_consumers: acc.slowConsumers,
  };
}

/** The id and seq of a message's ServerInfo (under `key`), or null when it has none. */
function parseServerInfo(msg: Buffer, key: string): { id: string; seq: number } | null {
  if (msg.length === 0) return null;
  try {
    const m = JSON.parse(msg.toString('utf8')) as Record<string, unknown>;
    const si = m[key] as Record<string, unknown> | undefined;
    if (si === null || typeof si !== 'object') return null;
    if (typeof si.id !== 'string' || typeof si.seq !== 'number') return null;
    return { id: si.id, seq: si.seq };
  } catch {
    return null;
  }
}
