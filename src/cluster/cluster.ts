// The cluster: the route listener, dialing configured and gossiped routes,
// the registry of routes by remote server id (one route per peer), interest
// propagation (RS+/RS- with queue weights), routing of client messages, the
// client connect_urls list, and what monitoring needs. Behaviour follows
// server/route.go and server/server.go of nats-server 2.9.10.

import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import dns from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { ClosedState, Kind, type ClosedReason } from '../client/connection.js';
import type { Client, PubArgSource } from '../client/client.js';
import type { Subscription } from '../client/subscription.js';
import type { Account } from '../accounts/account.js';
import type { SublistResult } from '../subjects/sublist.js';
import type { Server } from '../server/server.js';
import {
  NATS_COMPAT_VERSION,
  DEFAULT_SYSTEM_ACCOUNT,
  type ClusterOptions,
  type Options,
  type RoutePermissions,
  type SubjectPermission,
} from '../config/options.js';
import { comparePasswords } from '../auth/auth.js';
import { Route, RouteType } from './route.js';
import { marshalInfo, routeConnectJSON, routeNonce, subProto, type RouteInfo } from './proto.js';
import { RoutePerms } from './perms.js';
import {
  joinHostPort,
  parseRouteURL,
  parseRouteURLs,
  redactURL,
  routeURLFor,
  urlsEqual,
  withCredentials,
  type RouteURL,
} from './url.js';
import type { RouteInfoProvider } from '../monitor/routes.js';
import { checkPinned, clientHandshake, describeTLS, dnsAltNameMatches, loadRouteTLS, serverOptions, type RouteTLS } from './tls.js';
import { certIdentity, goDomainComponents, goSubjectString } from '../tls/x509.js';
import { shadowSubjects, type Shadow } from './imports.js';

/** server/route.go RouteProtoV2: the route protocol with accounts. */
export const ROUTE_PROTO_V2 = 2;
/** server/const.go DEFAULT_ROUTE_CONNECT / DEFAULT_ROUTE_RECONNECT / DEFAULT_ROUTE_DIAL */
export const ROUTE_CONNECT_DELAY_MS = 1000;
export const ROUTE_RECONNECT_DELAY_MS = 1000;
export const ROUTE_DIAL_TIMEOUT_MS = 1000;

interface Sleeper {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

const NUID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A 22-character random name like the reference's nuid.Next() for dynamic cluster names. */
function dynamicClusterName(): string {
  const b = randomBytes(22);
  let s = '';
  for (let i = 0; i < 22; i++) s += NUID_ALPHABET[b[i] % 62];
  return s;
}

export class ClusterManager implements RouteInfoProvider {
  /** the cluster name: configured, generated, or adopted from a peer */
  name: string;
  /** the name was generated here and may give way to a peer's */
  private dynamic: boolean;
  /** the bound route port */
  port = 0;
  private listener: net.Server | null = null;
  private running = false;

  /** registered routes by rid (one per remote server) */
  private readonly routesById = new Map<number, Route>();
  /** registered routes by remote server id */
  private readonly remotes = new Map<string, Route>();
  /** connections still in the CONNECT/INFO exchange */
  private readonly pending = new Set<Route>();

  private explicit: RouteURL[];
  private readonly routesToSelf = new Set<string>();
  /** first hostname among the configured routes, for TLS names when dialing IPs */
  private tlsName = '';
  private tls: RouteTLS | null;
  private perms: RoutePerms | null;

  private readonly sleepers = new Set<Sleeper>();
  private readonly dials = new Set<net.Socket>();

  /** local interest per account: "subject" or "subject queue" → number of local subscriptions */
  private readonly rm = new Map<Account, Map<string, number>>();
  /** interest announced in exporting accounts for local subscriptions covered by stream imports */
  private readonly shadows = new Map<Subscription, Shadow[]>();
  /**
   * Queue groups of local importers, as the peer's RS+ for them reads
   * ("<exporter> <subject> <queue>"): the local stream import delivery
   * serves such a group, so a publisher here must not also pick a remote
   * member of it (in the reference both are members of one group in the
   * exporter's index and one is picked).
   */
  private readonly shadowQueues = new Map<string, number>();
  /** accounts whose `_R_.<prefix>.>` response interest was announced, with that prefix */
  private readonly respInterest = new Map<Account, string>();

  /** this server's client URLs */
  private ownClientURLs: string[] = [];
  /** other servers' client URLs, reference counted (several routes may report the same) */
  private readonly urlRefs = new Map<string, number>();
  /** INFO connect_urls for clients; null until the first route brought some */
  clientURLs: string[] | null = null;
  /** ms timestamp of the last connect_urls change (server.go lastCURLsUpdate) */
  lastCURLsUpdate = 0;
  private ldm = false;
  /** lame duck mode: clients are no longer offered this server's URLs */
  private offerOwnURLs = true;

  // Route targets of the message being routed: routes added for this
  // sequence number, each with the queue names it must serve.
  private msgSeq = 0;
  private readonly tgts: (Route | null)[] = [];
  private ntgts = 0;
  private readonly accNames = new Map<Account, Buffer>();

  constructor(readonly server: Server) {
    const o = this.opts;
    this.dynamic = o.name === '';
    this.name = this.dynamic ? dynamicClusterName() : o.name;
    this.explicit = parseRouteURLs(server.opts.routes, (text, err) =>
      server.logger.error(`Error parsing route URL ${JSON.stringify(text)}: ${err.message}`),
    );
    for (const u of this.explicit) {
      if (this.tlsName === '' && net.isIP(u.hostname) === 0 && u.hostname !== '') this.tlsName = u.hostname;
    }
    this.tls = o.tls !== undefined ? loadRouteTLS(o.tls) : null;
    this.perms = RoutePerms.from(o.permissions);
    server.reloadHooks.push((plan, old) => {
      if (plan.effects.has('cluster')) this.applyReload(old);
      if (plan.effects.has('accounts')) this.recomputeShadows();
    });
  }

  private get opts(): ClusterOptions {
    return this.server.opts.cluster;
  }

  get isDynamicName(): boolean {
    return this.dynamic;
  }

  // --- lifecycle ------------------------------------------------------------

  /** Bind the route port. Throws when it cannot (the server does not start). */
  async listen(): Promise<void> {
    const o = this.opts;
    if (o.advertise !== '') {
      // Checked before binding: a bad value would otherwise fail every route INFO.
      try {
        parseHostPort(o.advertise, 0);
      } catch (e) {
        throw new Error(`Error setting route INFO with Cluster.Advertise value of ${o.advertise}, err=${(e as Error).message}`);
      }
    }
    const l = await this.bind(o.port === -1 ? 0 : o.port);
    this.listener = l;
    this.port = (l.address() as net.AddressInfo).port;
    // As the reference, a random port is written back to the options (monitoring reads them).
    if (o.port !== this.port) this.server.opts.cluster = { ...o, port: this.port };
    this.running = true;
    for (const ip of localAddresses(true)) this.routesToSelf.add(joinHostPort(ip, this.port));
    this.server.extraPorts.cluster = { scheme: this.tls !== null ? 'tls' : 'nats', host: o.host, port: this.port };
  }

  /**
   * A listener on the cluster host and `port`. With TLS it is a tls.Server:
   * the handshake (client certificate required and verified) completes
   * before a route sees a byte, as in server/route.go createRoute.
   */
  private async bind(port: number): Promise<net.Server> {
    const o = this.opts;
    const onConn = (sock: net.Socket) => this.accept(sock);
    let l: net.Server;
    if (this.tls !== null) {
      const ts = tls.createServer(serverOptions(this.tls), onConn);
      ts.on('tlsClientError', (err: Error, sock: tls.TLSSocket) => {
        const cid = this.server.allocCid();
        this.server.logger.error(`${sock.remoteAddress ?? ''}:${sock.remotePort ?? 0} - rid:${cid} - TLS route handshake error: ${err.message}`);
        sock.destroy();
      });
      l = ts;
    } else {
      l = net.createServer({ noDelay: true }, onConn);
    }
    await new Promise<void>((resolve, reject) => {
      const onErr = (err: Error) => reject(new Error(`Error listening on router port: ${o.port} - ${err.message}`));
      l.once('error', onErr);
      l.listen({ host: o.host, port, backlog: 1024 }, () => {
        l.off('error', onErr);
        resolve();
      });
    });
    l.on('error', (err) => this.server.logger.error(`Error accepting route connection: ${err.message}`));
    return l;
  }

  /**
   * Apply a configuration reload (server/reload.go clusterOption and
   * routesOption): routes added are dialed and routes removed are closed
   * for good; authorization, advertise and no_advertise take effect for
   * the next INFO; TLS material is swapped (turning TLS on or off rebinds
   * the route port); permissions are re-applied to live routes.
   */
  private applyReload(old: Options): void {
    const srv = this.server;
    const log = srv.logger;
    const o = this.opts;
    const next = parseRouteURLs(srv.opts.routes, (text, err) => log.error(`Error parsing route URL ${JSON.stringify(text)}: ${err.message}`));
    const removed = this.explicit.filter((u) => !next.some((n) => urlsEqual(n, u)));
    const added = next.filter((u) => !this.explicit.some((e) => urlsEqual(e, u)));
    this.explicit = next;
    this.tlsName = '';
    for (const u of next) {
      if (this.tlsName === '' && net.isIP(u.hostname) === 0 && u.hostname !== '') this.tlsName = u.hostname;
    }
    for (const u of removed) {
      for (const r of [...this.routesById.values(), ...this.pending]) {
        if (r.url !== null && urlsEqual(r.url, u)) {
          r.noReconnect = true;
          r.close(ClosedState.RouteRemoved);
          log.notice(`Removed route ${redactURL(u)}`);
        }
      }
    }
    for (const u of added) void this.connectToRoute(u, true, true);

    if (JSON.stringify(old.cluster.tls ?? null) !== JSON.stringify(o.tls ?? null)) {
      const wasTLS = this.tls !== null;
      try {
        this.tls = o.tls !== undefined ? loadRouteTLS(o.tls) : null;
      } catch (e) {
        log.error(`Error reloading cluster TLS: ${(e as Error).message}`);
      }
      if (this.tls !== null && this.tls.insecure) {
        log.warn('TLS certificate chain and hostname of solicited routes will not be verified. DO NOT USE IN PRODUCTION!');
      }
      if (wasTLS && this.tls !== null && this.listener instanceof tls.Server) {
        this.listener.setSecureContext(serverOptions(this.tls));
      } else if (wasTLS !== (this.tls !== null)) {
        void this.rebind();
      }
      this.server.extraPorts.cluster = { scheme: this.tls !== null ? 'tls' : 'nats', host: o.host, port: this.port };
    }

    if (JSON.stringify(old.cluster.permissions ?? null) !== JSON.stringify(o.permissions ?? null)) {
      this.reloadPermissions(old.cluster.permissions);
    }
    srv.flushDirty();
  }

  /** Replace the route listener on the same port (TLS turned on or off). */
  private async rebind(): Promise<void> {
    const old = this.listener;
    if (old === null) return;
    this.listener = null;
    await new Promise<void>((r) => old.close(() => r()));
    if (!this.running) return;
    try {
      this.listener = await this.bind(this.port);
    } catch (e) {
      this.server.logger.error((e as Error).message);
    }
  }

  /**
   * server/reload.go reloadClusterPermissions: every route gets the new
   * permissions and our new INFO (so the peer resends interest it may now
   * export to us), RS+ for local interest we may now import, RS- for what we
   * may no longer import, and the peer's interest we may no longer export is
   * dropped.
   */
  private reloadPermissions(oldPerms: RoutePermissions | undefined): void {
    const before = RoutePerms.from(oldPerms);
    const after = RoutePerms.from(this.opts.permissions);
    this.perms = after;
    const info = this.routeInfoLine(false);
    const can = (p: RoutePerms | null, subject: string) => p === null || p.canImport(subject);
    for (const r of this.routesById.values()) {
      r.perms = after;
      for (const [key, e] of [...r.subs]) {
        if (after !== null && !after.canExport(e.sub.subject)) {
          r.subs.delete(key);
          e.sub.closed = true;
          e.acc.sublist.remove(e.sub);
        }
      }
      r.enqueue(info);
      let text = '';
      this.forEachInterest((acc, subject, queue, n) => {
        const now = can(after, subject);
        const then = can(before, subject);
        if (now && !then) text += subProto(true, acc.name, subject, queue, n);
        else if (!now && then) text += subProto(false, acc.name, subject, queue, 0);
      });
      if (text !== '') r.enqueue(Buffer.from(text, 'latin1'));
    }
    for (const r of this.pending) r.perms = after;
  }

  /**
   * An INFO update from a peer changed its export permissions
   * (server/route.go updateRemoteRoutePerms): send the local interest it can
   * now export to us and could not before, if we may import it.
   */
  peerPermissionsChanged(r: Route, oldExport: SubjectPermission | undefined, newExport: SubjectPermission | undefined): void {
    if (JSON.stringify(oldExport ?? null) === JSON.stringify(newExport ?? null)) return;
    const before = RoutePerms.from({ export: oldExport });
    const after = RoutePerms.from({ export: newExport });
    const exp = (p: RoutePerms | null, subject: string) => p === null || p.canExport(subject);
    let text = '';
    this.forEachInterest((acc, subject, queue, n) => {
      if (exp(after, subject) && !exp(before, subject) && (r.perms === null || r.perms.canImport(subject))) {
        text += subProto(true, acc.name, subject, queue, n);
      }
    });
    if (text !== '') r.enqueue(Buffer.from(text, 'latin1'));
  }

  /**
   * Announce and start routing (server/route.go startRouteAcceptLoop):
   * after the client listener, so our client URLs are known.
   */
  startRouting(): void {
    const log = this.server.logger;
    const o = this.opts;
    log.notice(`Cluster name is ${this.name}`);
    if (this.dynamic) log.warn('Cluster name was dynamically generated, consider setting one');
    log.notice(`Listening for route connections on ${joinHostPort(o.host, this.port)}`);
    if (this.tls !== null && this.tls.insecure) {
      log.warn('TLS certificate chain and hostname of solicited routes will not be verified. DO NOT USE IN PRODUCTION!');
    }
    this.ownClientURLs = clientConnectURLs(this.server);
    for (const u of this.explicit) void this.connectToRoute(u, true, true);
  }

  async shutdown(): Promise<void> {
    this.running = false;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleepers.clear();
    for (const d of this.dials) d.destroy();
    this.dials.clear();
    const l = this.listener;
    this.listener = null;
    const closing = l !== null ? new Promise<void>((r) => l.close(() => r())) : Promise.resolve();
    for (const r of [...this.pending, ...this.routesById.values()]) {
      r.noReconnect = true;
      r.close(ClosedState.ServerShutdown);
    }
    this.server.flushDirty();
    await closing;
  }

  /**
   * Routes learn that we are in lame duck mode (server/server.go
   * sendLDMToRoutes); our clients are offered the other nodes only, now and
   * in later updates (sendLDMToClients; none with no_advertise).
   */
  enterLameDuck(): void {
    this.ldm = true;
    const line = this.routeInfoLine(false);
    this.ldm = false;
    for (const r of this.routesById.values()) r.enqueue(line);
    this.offerOwnURLs = false;
    if (this.clientURLs !== null) this.clientURLs = this.opts.noAdvertise ? [] : [...this.urlRefs.keys()];
    this.server.flushDirty();
  }

  // --- connections ------------------------------------------------------------

  private accept(sock: net.Socket): void {
    if (!this.running) {
      sock.destroy();
      return;
    }
    sock.setNoDelay(true);
    if (this.tls !== null && sock instanceof tls.TLSSocket && !this.pinnedOK(sock, this.tls)) return;
    this.createRoute(sock, null);
  }

  /** pinned_certs (server/client.go doTLSHandshake, matchesPinnedCert): the handshake fails otherwise. */
  private pinnedOK(sock: tls.TLSSocket, t: RouteTLS): boolean {
    const err = checkPinned(t, sock);
    if (err === null) return true;
    const cid = this.server.allocCid();
    this.server.logger.error(`${unmapIPv4(sock.remoteAddress ?? '')}:${sock.remotePort ?? 0} - rid:${cid} - TLS route handshake error: ${err}`);
    sock.destroy();
    return false;
  }

  private createRoute(sock: net.Socket, url: RouteURL | null): Route {
    const srv = this.server;
    const cid = srv.allocCid();
    let rtype = RouteType.Implicit;
    if (url !== null) {
      const hp = url.hostPort.toLowerCase();
      if (this.explicit.some((e) => e.hostPort.toLowerCase() === hp)) rtype = RouteType.Explicit;
    }
    const r = new Route(srv, this, sock, cid, url, rtype, this.perms);
    // A plain TCP socket hands each write to the kernel as is (Connection.reuseOutbound).
    r.reuseOutbound = !(sock instanceof tls.TLSSocket);
    sock.on('data', (chunk: Buffer) => r.onData(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (r.closed) return;
      if (srv.logger.debugEnabled) srv.logger.debug(`${r.logPrefix} - read error: ${err.message}`);
      r.close(err.code === 'EPIPE' ? ClosedState.WriteError : ClosedState.ReadError, true);
      srv.flushDirty();
    });
    sock.on('end', () => {
      if (!r.closed) {
        r.close(ClosedState.ClientClosed);
        srv.flushDirty();
      }
    });
    sock.on('close', () => {
      if (!r.closed) {
        r.close(ClosedState.ClientClosed, true);
        srv.flushDirty();
      }
    });
    this.pending.add(r);
    this.liveChanged();
    if (sock instanceof tls.TLSSocket && srv.logger.debugEnabled) {
      srv.logger.debug(`${r.logPrefix} - TLS handshake complete`);
      srv.logger.debug(`${r.logPrefix} - ${describeTLS(sock)}`);
    }
    const authTimeout = url === null && this.authRequired ? this.authTimeoutMs() : 0;
    let connect: Buffer | null = null;
    if (url !== null) {
      const json = routeConnectJSON({
        user: url.user ?? '',
        pass: url.pass ?? '',
        tlsRequired: this.tls !== null,
        headers: !srv.opts.noHeaderSupport,
        name: srv.serverId,
        cluster: this.name,
        dynamic: this.dynamic,
      });
      connect = Buffer.from(`CONNECT ${json}\r\n`);
      if (srv.logger.traceEnabled) r.traceOut('CONNECT', json.replace(/("pass":")[^"]*"/, '$1[REDACTED]"'));
    }
    r.begin(this.routeInfoLine(true), connect, authTimeout);
    srv.logger.notice(`${r.logPrefix} - Route connection created`);
    return r;
  }

  private get authRequired(): boolean {
    return (this.opts.username ?? '') !== '';
  }

  /** cluster authorization timeout; by default the TLS timeout + 1s with TLS, else 2s (server/opts.go). */
  private authTimeoutMs(): number {
    const o = this.opts;
    if (o.authTimeoutSet === true || this.tls === null) return o.authTimeoutMs;
    return this.tls.timeoutMs + 1000;
  }

  /**
   * server/auth.go isRouterAuthorized: with `verify_and_map` or
   * `verify_cert_and_check_known_urls` the peer's certificate decides (a
   * DNS name matching a configured route host, or an email, DNS name, URI
   * or subject equal to the cluster user), else user/password.
   */
  isRouterAuthorized(r: Route, user: string, pass: string): boolean {
    const t = this.tls;
    if (t !== null && (t.verifyAndMap || t.checkKnownUrls)) return this.certAuthorized(r, t);
    const o = this.opts;
    const u = o.username ?? '';
    if (u === '') return true;
    if (u !== user) return false;
    return comparePasswords(o.password ?? '', pass);
  }

  private certAuthorized(r: Route, t: RouteTLS): boolean {
    const log = this.server.logger;
    const debug = (m: string) => {
      if (log.debugEnabled) log.debug(`${r.logPrefix} - ${m}`);
    };
    const sock = r.socket;
    const der = sock instanceof tls.TLSSocket ? (sock.getPeerX509Certificate()?.raw ?? null) : null;
    if (der === null) {
      debug('User required in cert, no peer certificates found');
      return false;
    }
    let id;
    try {
      id = certIdentity(der);
    } catch {
      debug('User required in cert, none found');
      return false;
    }
    // The reference's callback for routes: a DNS name may match a route
    // host, and any candidate may equal the cluster user; the distinguished
    // name step of checkClientTLSCertSubject never matches (empty user).
    const name = this.opts.username ?? '';
    const hosts = this.explicit.map((u) => u.hostname);
    const ok = (cand: string, dns: boolean) =>
      cand !== '' && ((t.checkKnownUrls && dns && dnsAltNameMatches(cand, hosts)) || (t.verifyAndMap && name === cand));
    for (const e of id.emails) if (ok(e, false)) return debug(`Using email found in cert for auth [""]`), true;
    for (const d of id.dnsNames) if (ok(d, true)) return debug(`Using SAN found in cert for auth [""]`), true;
    for (const u of id.uris) if (ok(u, false)) return debug(`Using URI found in cert for auth [""]`), true;
    const rdn = goSubjectString(id.subject);
    const dcs = goDomainComponents(id.subject);
    if (dcs.length > 0 && ok(`${rdn},${dcs}`, false)) return debug(`Using RDNSequence for auth [""]`), true;
    if (ok(rdn, false)) return debug(`Using certificate subject for auth [""]`), true;
    debug(`User in cert [${JSON.stringify(rdn)}], not found`);
    return false;
  }

  /** Dial a route until it works, or per connect_retries (server/route.go connectToRoute). */
  private async connectToRoute(url: RouteURL, tryForEver: boolean, firstConnect: boolean): Promise<void> {
    const srv = this.server;
    const log = srv.logger;
    let attempts = 0;
    while (this.running) {
      if (tryForEver && !this.routeStillValid(url)) return;
      let address: { host: string; port: number } | null = null;
      let err: Error | null = null;
      try {
        address = await this.resolve(url);
      } catch (e) {
        err = e as Error;
      }
      if (!this.running) return;
      if (err === null && address === null) return; // every address is ourself
      let sock: net.Socket | null = null;
      if (err === null) {
        const a = address!;
        if (log.debugEnabled) log.debug(`Trying to connect to route on ${url.hostPort} (${joinHostPort(a.host, a.port)})`);
        try {
          sock = await this.dial(a.host, a.port);
        } catch (e) {
          err = e as Error;
        }
      }
      if (!this.running) {
        sock?.destroy();
        return;
      }
      if (err !== null || sock === null) {
        attempts++;
        const msg = `Error trying to connect to route (attempt ${attempts}): ${err?.message ?? 'unknown error'}`;
        if (this.shouldReportConnectErr(firstConnect, attempts)) log.error(msg);
        else log.debug(msg);
        if (!tryForEver) {
          const retries = this.opts.connectRetries;
          if (retries <= 0 || attempts > retries) return;
        }
        await this.sleep(ROUTE_CONNECT_DELAY_MS);
        continue;
      }
      if (tryForEver && !this.routeStillValid(url)) {
        sock.destroy();
        return;
      }
      const rtls = this.tls;
      if (rtls !== null) {
        const tsock = await this.tlsHandshake(sock, url);
        if (tsock === null) return;
        if (!this.pinnedOK(tsock, rtls)) {
          if (this.running) void this.reconnectToRoute(url, this.explicit.some((x) => urlsEqual(x, url)) ? RouteType.Explicit : RouteType.Implicit);
          return;
        }
        sock = tsock;
      }
      this.createRoute(sock, url);
      return;
    }
  }

  /** TLS client handshake; on failure the route is retried as a closed route would be. */
  private async tlsHandshake(sock: net.Socket, url: RouteURL): Promise<tls.TLSSocket | null> {
    const log = this.server.logger;
    if (log.debugEnabled) log.debug(`${sock.remoteAddress}:${sock.remotePort} - Starting TLS route client handshake`);
    try {
      return await clientHandshake(sock, this.tls!, url.hostname, this.tlsName);
    } catch (e) {
      const cid = this.server.allocCid();
      log.error(`${sock.remoteAddress ?? url.hostname}:${sock.remotePort ?? url.port} - rid:${cid} - TLS route handshake error: ${(e as Error).message}`);
      sock.destroy();
      if (this.running) {
        const hp = url.hostPort.toLowerCase();
        const explicit = this.explicit.some((x) => x.hostPort.toLowerCase() === hp);
        void this.reconnectToRoute(url, explicit ? RouteType.Explicit : RouteType.Implicit);
      }
      return null;
    }
  }

  private dial(host: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      this.dials.add(s);
      const addr = joinHostPort(host, port);
      const timer = setTimeout(() => {
        s.destroy();
        finish(new Error(`dial tcp ${addr}: i/o timeout`));
      }, ROUTE_DIAL_TIMEOUT_MS);
      let done = false;
      const finish = (err: Error | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.dials.delete(s);
        s.off('connect', onConnect);
        s.off('error', onError);
        if (err !== null) reject(err);
        else resolve(s);
      };
      const onConnect = () => {
        s.setNoDelay(true);
        finish(null);
      };
      const onError = (e: NodeJS.ErrnoException) => {
        s.destroy();
        finish(new Error(`dial tcp ${addr}: ${dialErrorText(e)}`));
      };
      s.once('connect', onConnect);
      s.once('error', onError);
    });
  }

  /**
   * An IP is used as is; a name is resolved and one address picked at
   * random, skipping our own route addresses (server/server.go getRandomIP).
   * Resolves to null when every address is ourself.
   */
  private async resolve(url: RouteURL): Promise<{ host: string; port: number } | null> {
    if (url.port === 0) throw new Error(`address ${url.hostPort}: missing port in address`);
    if (net.isIP(url.hostname) !== 0) return { host: url.hostname, port: url.port };
    let ips: string[];
    try {
      ips = (await dns.lookup(url.hostname, { all: true })).map((a) => a.address);
    } catch (e) {
      throw new Error(`lookup for host ${JSON.stringify(url.hostname)}: ${(e as Error).message}`);
    }
    ips = ips.filter((ip) => !this.routesToSelf.has(joinHostPort(ip, url.port)));
    if (ips.length === 0) return null;
    return { host: ips[Math.floor(Math.random() * ips.length)], port: url.port };
  }

  private shouldReportConnectErr(firstConnect: boolean, attempts: number): boolean {
    const o = this.server.opts;
    const every = firstConnect ? o.connectErrorReports : o.reconnectErrorReports;
    return attempts === 1 || (every > 0 && attempts % every === 0);
  }

  private routeStillValid(url: RouteURL): boolean {
    return this.explicit.some((e) => urlsEqual(e, url));
  }

  /** A delay that shutdown cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s: Sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(s);
          resolve();
        }, ms),
        resolve,
      };
      this.sleepers.add(s);
    });
  }

  /**
   * server/route.go reConnectToRoute: a random delay below 100ms (so two
   * servers that dropped a duplicate pair do not collide again), plus the
   * reconnect delay for configured routes, which are retried forever.
   */
  private async reconnectToRoute(url: RouteURL, rtype: RouteType): Promise<void> {
    const explicit = rtype === RouteType.Explicit;
    let delay = Math.floor(Math.random() * 100);
    if (explicit) delay += ROUTE_RECONNECT_DELAY_MS;
    await this.sleep(delay);
    if (!this.running) return;
    await this.connectToRoute(url, explicit, false);
  }

  // --- the INFO / CONNECT exchange ----------------------------------------------

  /** The route INFO line we send (server/route.go startRouteAcceptLoop + createRoute). */
  routeInfoLine(withNonce: boolean): Buffer {
    const srv = this.server;
    const o = this.opts;
    let host = o.host;
    let port = this.port;
    let ip: string | undefined;
    if (o.advertise !== '') {
      try {
        const hp = parseHostPort(o.advertise, this.port);
        host = hp.host;
        port = hp.port;
        ip = `nats-route://${joinHostPort(host, port)}/`;
      } catch (e) {
        // Only a reload can get here (start refuses a bad value): keep routing.
        srv.logger.error(`Error setting route INFO with Cluster.Advertise value of ${o.advertise}, err=${(e as Error).message}`);
      }
    }
    const info: RouteInfo = {
      server_id: srv.serverId,
      server_name: srv.serverName,
      version: NATS_COMPAT_VERSION,
      proto: ROUTE_PROTO_V2,
      go: `node${process.version.slice(1)}`,
      host,
      port,
      headers: !srv.opts.noHeaderSupport,
      auth_required: this.authRequired,
      tls_required: this.tls !== null,
      tls_verify: this.tls !== null,
      max_payload: srv.opts.maxPayload,
      jetstream: srv.opts.jetstream ? true : undefined,
      ip,
      nonce: withNonce ? routeNonce(randomBytes) : undefined,
      cluster: this.name,
      cluster_dynamic: this.dynamic,
      connect_urls: o.noAdvertise ? undefined : this.ownClientURLs,
      ldm: this.ldm,
      import: o.permissions?.import,
      export: o.permissions?.export,
      lnoc: true,
    };
    // server/route.go: this server's leafnode URL, for the cluster's leafs to reconnect to
    const lnURL = srv.leafnodes !== null ? srv.leafnodes.advertisedURL : '';
    if (lnURL !== '') info.leafnode_urls = [lnURL];
    return Buffer.from(`INFO ${marshalInfo(info)} \r\n`);
  }

  /**
   * The cluster name a peer's CONNECT carries (server/route.go
   * processRouteConnect): a generated name gives way to a configured one,
   * or to the greater of two generated ones; otherwise the route is refused.
   */
  checkPeerClusterName(r: Route, cluster: string, dynamic: boolean): boolean {
    if (cluster === this.name) return true;
    if (this.dynamic && (!dynamic || this.name < cluster)) {
      this.setClusterName(cluster);
      if (!dynamic) this.dynamic = false;
      this.removeAllRoutesExcept(r);
      return true;
    }
    const txt = `Rejecting connection, cluster name ${JSON.stringify(cluster)} does not match ${JSON.stringify(this.name)}`;
    this.server.logger.error(`${r.logPrefix} - ${txt}`);
    r.sendErr(txt);
    r.close(ClosedState.ClusterNameConflict);
    this.server.logger.error(`${r.logPrefix} - cluster name from remote server conflicts`);
    return false;
  }

  private setClusterName(name: string): void {
    this.name = name;
    this.server.logger.notice(`Cluster name updated to ${name}`);
  }

  private removeAllRoutesExcept(keep: Route): void {
    for (const r of [...this.routesById.values()]) {
      if (r !== keep) r.close(ClosedState.ClusterNameConflict);
    }
  }

  /** A peer's INFO (server/route.go processRouteInfo). */
  processRouteInfo(r: Route, info: RouteInfo): void {
    const srv = this.server;
    const log = srv.logger;
    if (r.closed) return;
    if (info.server_id === srv.serverId) {
      // A route to ourself: closing it also stops the reconnects.
      r.remoteId = info.server_id;
      r.close(ClosedState.DuplicateRoute);
      return;
    }
    if (info.cluster !== undefined && info.cluster !== '' && info.cluster !== this.name) {
      if (this.dynamic && (info.cluster_dynamic !== true || this.name < info.cluster)) {
        this.setClusterName(info.cluster);
        this.removeAllRoutesExcept(r);
      } else {
        r.close(ClosedState.ClusterNameConflict);
        return;
      }
    }
    if (r.infoReceived) {
      // An INFO on an established route: about another server (gossip), or
      // an update from the peer itself.
      if (r.remoteId !== '' && r.remoteId !== info.server_id) {
        this.processImplicitRoute(info);
        return;
      }
      if (info.ldm === true) {
        if (r.connectURLs.length > 0 && !this.opts.noAdvertise) this.removeConnectURLs(r.connectURLs);
      } else {
        const oldExport = r.remoteExport;
        r.remoteImport = info.import;
        r.remoteExport = info.export;
        this.peerPermissionsChanged(r, oldExport, info.export);
      }
      return;
    }
    if (!r.didSolicit && info.server_name === srv.serverName) {
      log.error(`${r.logPrefix} - Remote server has a duplicate name: ${JSON.stringify(info.server_name)}`);
      r.close(ClosedState.DuplicateServerName);
      return;
    }
    r.infoReceived = true;
    r.headers = !srv.opts.noHeaderSupport && info.headers;
    r.remoteId = info.server_id;
    r.remoteName = info.server_name;
    r.remoteJetStream = info.jetstream === true;
    r.remoteAuthRequired = info.auth_required === true;
    r.remoteTlsRequired = info.tls_required === true;
    r.lnoc = info.lnoc === true;
    r.remoteImport = info.import;
    r.remoteExport = info.export;
    if (r.url === null) r.url = routeURLFor(info.host, info.port);

    const [added, sendInfo] = this.addRoute(r, info);
    if (!added) {
      if (log.debugEnabled) log.debug(`${r.logPrefix} - Detected duplicate remote route ${JSON.stringify(info.server_id)}`);
      r.close(ClosedState.DuplicateRoute);
      return;
    }
    if (log.debugEnabled) log.debug(`${r.logPrefix} - Registering remote route ${JSON.stringify(info.server_id)}`);
    this.sendSubsToRoute(r);
    if (sendInfo) {
      // Tell the other routes about the newcomer so they connect to it.
      if (info.ip === undefined || info.ip === '') info.ip = `nats-route://${joinHostPort(unmapIPv4(r.host), info.port)}/`;
      this.forwardNewRouteInfo(info);
    }
    if (!this.opts.noAdvertise) this.addConnectURLs(info.connect_urls ?? []);
    // The peer's leafnode URL goes to our leafs (server/route.go addLeafNodeURL).
    if (info.leafnode_urls !== undefined && info.leafnode_urls.length === 1) {
      r.leafnodeURL = info.leafnode_urls[0]!;
      if (srv.leafnodes !== null) srv.leafnodes.addGossipURL(r.leafnodeURL);
    }
  }

  /**
   * Register a route unless the peer already has one (server/route.go
   * addRoute). The first registered connection stays; the duplicate is
   * closed by the caller, and the survivor is marked to reconnect should it
   * drop too (both sides may have picked opposite connections).
   */
  private addRoute(r: Route, info: RouteInfo): [boolean, boolean] {
    if (!this.running) return [false, false];
    const existing = this.remotes.get(r.remoteId);
    if (existing === undefined) {
      this.routesById.set(r.cid, r);
      this.remotes.set(r.remoteId, r);
      this.pending.delete(r);
      r.registered = true;
      r.connectURLs = info.connect_urls ?? [];
      return [true, this.routesById.size > 1];
    }
    if (r.didSolicit) {
      // Keep the dialing information: the survivor now reconnects as we would have.
      existing.didSolicit = true;
      existing.url = r.url;
      existing.routeType = r.routeType;
    }
    existing.retry = true;
    return [false, false];
  }

  private forwardNewRouteInfo(info: RouteInfo): void {
    info.nonce = undefined;
    // Note: no space before CRLF here, unlike the INFO sent on connect (server/route.go InfoProto).
    const line = Buffer.from(`INFO ${marshalInfo(info)}\r\n`);
    for (const r of this.routesById.values()) {
      if (r.remoteId !== info.server_id) r.enqueue(line);
    }
  }

  /** Connect to a server a peer told us about (server/route.go processImplicitRoute). */
  private processImplicitRoute(info: RouteInfo): void {
    const id = info.server_id;
    if (id === this.server.serverId) return;
    if (this.remotes.has(id)) return;
    if (this.hasThisRouteConfigured(info)) return;
    let url: RouteURL;
    try {
      url = parseRouteURL(info.ip ?? '');
    } catch (e) {
      this.server.logger.error(`Error parsing URL from INFO: ${(e as Error).message}`);
      return;
    }
    if (info.auth_required === true) url = withCredentials(url, this.opts.username ?? '', this.opts.password ?? '');
    void this.connectToRoute(url, false, true);
  }

  private hasThisRouteConfigured(info: RouteInfo): boolean {
    const hp = joinHostPort(info.host, info.port).toLowerCase();
    return this.explicit.some((u) => u.hostPort.toLowerCase() === hp);
  }

  /** A route closed: forget its interest and URLs, then reconnect if it is ours to redial. */
  routeClosed(r: Route, reason: ClosedReason): void {
    const srv = this.server;
    const log = srv.logger;
    log.notice(`${r.logPrefix} - Router connection closed: ${reason}`);
    r.removeRemoteSubs();
    if (r.registered && r.connectURLs.length > 0 && !this.opts.noAdvertise) this.removeConnectURLs(r.connectURLs);
    if (r.registered && r.leafnodeURL !== '' && srv.leafnodes !== null && this.running) srv.leafnodes.removeGossipURL(r.leafnodeURL);
    this.routesById.delete(r.cid);
    if (this.remotes.get(r.remoteId) === r) this.remotes.delete(r.remoteId);
    this.pending.delete(r);
    r.registered = false;
    this.liveChanged();
    if (r.noReconnect || !this.running) return;
    // An implicit route we dialed is retried (per connect_retries), as is
    // the survivor of a duplicate pair (server/client.go reconnect).
    const retryImplicit = r.retry || (r.didSolicit && r.routeType === RouteType.Implicit);
    if (!r.didSolicit && !retryImplicit) return;
    const url = r.url;
    if (url === null) return;
    if (r.remoteId !== '' && this.remotes.has(r.remoteId)) {
      if (log.debugEnabled) log.debug(`Not attempting reconnect for solicited route, already connected to "${r.remoteId}"`);
    } else if (r.remoteId === srv.serverId) {
      if (log.debugEnabled) log.debug(`Detected route to self, ignoring ${JSON.stringify(redactURL(url))}`);
    } else if (r.routeType !== RouteType.Implicit || retryImplicit) {
      if (log.debugEnabled) log.debug(`Attempting reconnect for solicited route "${redactURL(url)}"`);
      void this.reconnectToRoute(url, r.routeType);
    }
  }

  private liveChanged(): void {
    this.server.setRouting('cluster', this.routesById.size + this.pending.size > 0);
  }

  /** RS+ from a peer for an account we do not have. */
  unknownAccount(r: Route, name: string, msg: string): void {
    // Go peers always announce their system account's interest; tsnats may
    // not host one, which is not worth an error line per subscription.
    const sys = this.server.opts.systemAccount !== '' ? this.server.opts.systemAccount : DEFAULT_SYSTEM_ACCOUNT;
    if (name === sys) {
      if (this.server.logger.debugEnabled) this.server.logger.debug(`${r.logPrefix} - ${msg}`);
    } else {
      this.server.logger.error(`${r.logPrefix} - ${msg}`);
    }
  }

  // --- interest ----------------------------------------------------------------

  /** A local subscription was added (server/route.go updateRouteSubscriptionMap, +1). */
  subAdded(acc: Account, sub: Subscription): void {
    if (sub.client.kind !== Kind.CLIENT) return;
    this.updateInterest(acc, sub.subject, sub.queue, 1);
    if (acc.streamImports.length > 0) this.addShadows(acc, sub);
  }

  /**
   * A subscription covered by stream imports is also interest in the
   * exporting accounts, on the subjects of the reference's shadow
   * subscriptions (server/client.go addShadowSub: updateRemoteSubscription).
   */
  private addShadows(acc: Account, sub: Subscription): void {
    const list = shadowSubjects(acc, sub.subject);
    if (list.length === 0) return;
    this.shadows.set(sub, list);
    for (const sh of list) {
      this.updateInterest(sh.acc, sh.subject, sub.queue, 1);
      if (sub.queue !== null) {
        const k = `${sh.acc.name} ${sh.subject} ${sub.queue}`;
        this.shadowQueues.set(k, (this.shadowQueues.get(k) ?? 0) + 1);
      }
    }
  }

  private removeShadows(sub: Subscription): void {
    const list = this.shadows.get(sub);
    if (list === undefined) return;
    this.shadows.delete(sub);
    for (const sh of list) {
      this.updateInterest(sh.acc, sh.subject, sub.queue, -1);
      if (sub.queue !== null) {
        const k = `${sh.acc.name} ${sh.subject} ${sub.queue}`;
        const n = (this.shadowQueues.get(k) ?? 0) - 1;
        if (n > 0) this.shadowQueues.set(k, n);
        else this.shadowQueues.delete(k);
      }
    }
  }

  /** Imports changed on a reload: shadow interest follows the new ones. */
  private recomputeShadows(): void {
    for (const sub of [...this.shadows.keys()]) this.removeShadows(sub);
    for (const c of this.server.clients.values()) {
      if (c.closed || c.account.streamImports.length === 0) continue;
      for (const sub of c.subs.values()) if (!sub.closed) this.addShadows(c.account, sub);
    }
    this.server.flushDirty();
  }

  /**
   * A message crossed a service import into `acc` (a request into the
   * exporter, or a response back into the requester's account). As
   * server/client.go processServiceImport hands it to processMsgResults,
   * servers with interest in `acc` get it too: every route with a plain
   * match, and a remote member of each queue group with no local member
   * (the local delivery already served groups that have one). Also makes
   * sure the exporter's `_R_.<prefix>.>` response interest is known to the
   * routes before the request goes out (server/accounts.go newServiceReply
   * subscribes it when the prefix is created). Returns whether a route got it.
   */
  routeImported(c: Client, acc: Account, subject: string, buf: Buffer, start: number): boolean {
    this.announceResponses(acc);
    if (this.routesById.size === 0) return false;
    // The publisher's own message may have route targets collected already
    // (queue members behind routes, sent after the imports): set them aside.
    const saved = this.ntgts > 0 ? this.takeTargets() : null;
    // A JetStream delivery crossing an import is routed by the import's subject (server/client.go processServiceImport).
    const js = c as { paDeliver?: string };
    const deliver = js.paDeliver;
    if (deliver !== undefined && deliver !== '') js.paDeliver = subject;
    try {
      return this.routeImportedTo(c, acc, subject, buf, start);
    } finally {
      if (deliver !== undefined && deliver !== '') js.paDeliver = deliver;
      if (saved !== null) this.putTargets(saved);
    }
  }

  /** Interest in `acc`'s `_R_.<prefix>.>` once it has a response prefix (server/accounts.go newServiceReply). */
  announceResponses(acc: Account): void {
    const prefix = acc.respPrefix;
    if (prefix === null || this.respInterest.get(acc) === prefix) return;
    const old = this.respInterest.get(acc);
    if (old !== undefined) this.updateInterest(acc, old + '>', null, -1);
    this.respInterest.set(acc, prefix);
    this.updateInterest(acc, prefix + '>', null, 1);
  }

  private takeTargets(): Array<{ rt: Route; qs: Buffer }> {
    const out: Array<{ rt: Route; qs: Buffer }> = [];
    for (let i = 0; i < this.ntgts; i++) {
      const rt = this.tgts[i]!;
      this.tgts[i] = null;
      out.push({ rt, qs: Buffer.from(rt.tgtQs.subarray(0, rt.tgtQsLen)) });
    }
    this.ntgts = 0;
    this.msgSeq++;
    return out;
  }

  private putTargets(saved: Array<{ rt: Route; qs: Buffer }>): void {
    this.msgSeq++;
    for (const { rt, qs } of saved) {
      rt.tgtSeq = this.msgSeq;
      if (rt.tgtQs.length < qs.length) rt.tgtQs = Buffer.allocUnsafe(qs.length * 2);
      qs.copy(rt.tgtQs, 0);
      rt.tgtQsLen = qs.length;
      this.tgts[this.ntgts++] = rt;
    }
  }

  private routeImportedTo(c: Client, acc: Account, subject: string, buf: Buffer, start: number): boolean {
    const r = acc.sublist.match(subject);
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.client.kind === Kind.ROUTER) this.addTarget(sub.client as Route, null);
    }
    for (const members of r.qsubs) {
      let remote: Subscription[] | null = null;
      let local = false;
      for (const m of members) {
        if (m.client.kind === Kind.CLIENT) {
          local = true;
          break;
        }
        if (m.client.kind === Kind.ROUTER && !(m.client as Route).closed) (remote ??= []).push(m);
      }
      if (local || remote === null) continue;
      const pick = remote[Math.floor(Math.random() * remote.length)]!;
      this.addTarget(pick.client as Route, pick.queue);
    }
    return this.dispatch(c, acc, buf, start);
  }

  /**
   * Interest a leafnode connection brought, when we are its hub: the rest
   * of the cluster hears of it like of a local subscription (server/leafnode.go
   * processLeafSub: updateRouteSubscriptionMap). `delta` is the weight change.
   */
  leafInterest(acc: Account, subject: string, queue: string | null, delta: number, origin: string | null): void {
    this.updateInterest(acc, subject, queue, delta, origin);
  }

  /**
   * Local subscriptions went away. Queue subscriptions of one group are
   * folded into a single weight update, as a closing client's are in the
   * reference (server/client.go closeConnection).
   */
  subsRemoved(acc: Account, subs: Subscription[]): void {
    if (this.shadows.size > 0) for (const s of subs) this.removeShadows(s);
    if (subs.length === 1) {
      const s = subs[0];
      if (s.client.kind === Kind.CLIENT) this.updateInterest(acc, s.subject, s.queue, -1);
      return;
    }
    let queues: Map<string, { subject: string; queue: string; n: number }> | null = null;
    for (const s of subs) {
      if (s.client.kind !== Kind.CLIENT) continue;
      if (s.queue === null) {
        this.updateInterest(acc, s.subject, null, -1);
        continue;
      }
      queues ??= new Map();
      const key = s.subject + ' ' + s.queue;
      const e = queues.get(key);
      if (e === undefined) queues.set(key, { subject: s.subject, queue: s.queue, n: 1 });
      else e.n++;
    }
    if (queues !== null) for (const e of queues.values()) this.updateInterest(acc, e.subject, e.queue, -e.n);
  }

  /**
   * Count local interest per subject (and queue). Plain subjects are sent on
   * 0→1 (RS+) and 1→0 (RS-); a queue group's RS+ repeats on every change
   * with the new weight, and RS- when the last member goes.
   */
  private updateInterest(acc: Account, subject: string, queue: string | null, delta: number, origin: string | null = null): void {
    let m = this.rm.get(acc);
    if (m === undefined) {
      m = new Map();
      this.rm.set(acc, m);
    }
    const key = queue === null ? subject : subject + ' ' + queue;
    const cur = m.get(key);
    let n: number;
    let update = queue !== null;
    if (cur !== undefined) {
      n = cur + delta;
      if (n <= 0) {
        m.delete(key);
        n = 0;
        update = true;
      } else {
        m.set(key, n);
      }
    } else if (delta > 0) {
      n = delta;
      m.set(key, n);
      update = true;
    } else {
      return;
    }
    if (!update || this.routesById.size === 0) return;
    // The update a leaf cluster's interest caused names that cluster to
    // routes that understand it (LS+/LS-, server/route.go
    // addRouteSubOrUnsubProtoToBuf); the entry itself is shared with local
    // interest, as the reference's acc.rm is.
    for (const r of this.routesById.values()) r.sendInterest(acc.name, subject, queue, n, origin);
  }

  /** Every local interest entry: account, subject, queue (null for plain) and its weight. */
  private forEachInterest(fn: (acc: Account, subject: string, queue: string | null, n: number) => void): void {
    for (const [acc, m] of this.rm) {
      for (const [key, n] of m) {
        const sp = key.indexOf(' ');
        fn(acc, sp < 0 ? key : key.slice(0, sp), sp < 0 ? null : key.slice(sp + 1), n);
      }
    }
  }

  /** The whole local interest, when a route registers (server/route.go sendSubsToRoute). */
  private sendSubsToRoute(r: Route): void {
    let text = '';
    this.forEachInterest((acc, subject, queue, n) => {
      if (r.perms !== null && !r.perms.canImport(subject)) return;
      const line = subProto(true, acc.name, subject, queue, n);
      if (this.server.logger.traceEnabled) r.traceOut(line.slice(0, -2));
      text += line;
    });
    if (text !== '') r.enqueue(Buffer.from(text, 'latin1'));
    if (this.server.logger.debugEnabled) this.server.logger.debug(`${r.logPrefix} - Sent local subscriptions to route`);
  }

  // --- message routing ------------------------------------------------------------

  /** Add `route` as a destination of the current message, serving `queue` if given. */
  addTarget(route: Route, queue: string | null): void {
    if (route.tgtSeq !== this.msgSeq) {
      route.tgtSeq = this.msgSeq;
      route.tgtQsLen = 0;
      this.tgts[this.ntgts++] = route;
    }
    if (queue !== null) route.appendTargetQueue(queue);
  }

  /** A client's message picked a queue member behind a route. */
  addQueueTarget(sub: Subscription): void {
    if (this.hasShadowQueue(sub.sid)) return;
    this.addTarget(sub.client as Route, sub.queue);
  }

  /**
   * Does a local importer's queue subscription shadow the group of this
   * remote queue sub? (A remote sub's sid is the key its RS+ registered:
   * "<account> <subject> <queue>".)
   */
  hasShadowQueue(remoteSid: string): boolean {
    return this.shadowQueues.size > 0 && this.shadowQueues.has(remoteSid);
  }

  /**
   * Forward a client's message: one RMSG per route with interest, carrying
   * the queue groups that route must serve (collected by the client's queue
   * selection). Returns true if any route got it.
   */
  routeMessage(c: Client, buf: Buffer, start: number, r: SublistResult<Subscription>): boolean {
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.client.kind === Kind.ROUTER) this.addTarget(sub.client as Route, null);
    }
    return this.dispatch(c, c.account, buf, start);
  }

  /** Write the current message to every collected route target and reset the collection. */
  dispatch(src: PubArgSource, acc: Account, buf: Buffer, start: number, origin: Buffer | null = null): boolean {
    const n = this.ntgts;
    this.msgSeq++;
    if (n === 0) return false;
    let name = this.accNames.get(acc);
    if (name === undefined) {
      name = Buffer.from(acc.name, 'latin1');
      this.accNames.set(acc, name);
    }
    let sent = 0;
    const tgts = this.tgts;
    for (let i = 0; i < n; i++) {
      const rt = tgts[i]!;
      tgts[i] = null;
      if (rt.closed) continue;
      rt.writeRoutedMsg(src, name, buf, start, origin);
      sent++;
    }
    this.ntgts = 0;
    if (sent > 0) {
      const size = src.paSize;
      const st = this.server.stats;
      st.outMsgs += sent;
      st.outBytes += sent * size;
      acc.outMsgs += sent;
      acc.outBytes += sent * size;
    }
    return sent > 0;
  }

  // --- client connect URLs ------------------------------------------------------

  private addConnectURLs(urls: string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = (this.urlRefs.get(u) ?? 0) + 1;
      this.urlRefs.set(u, n);
      if (n === 1) changed = true;
    }
    if (changed) this.connectURLsChanged();
  }

  private removeConnectURLs(urls: string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.urlRefs.get(u);
      if (n === undefined) continue;
      if (n === 1) {
        this.urlRefs.delete(u);
        changed = true;
      } else {
        this.urlRefs.set(u, n - 1);
      }
    }
    if (changed) this.connectURLsChanged();
  }

  /** server/server.go updateServerINFOAndSendINFOToClients. */
  private connectURLsChanged(): void {
    this.clientURLs = this.offerOwnURLs ? [...this.ownClientURLs, ...this.urlRefs.keys()] : [...this.urlRefs.keys()];
    this.lastCURLsUpdate = Date.now();
    const srv = this.server;
    if (!srv.isRunning) return;
    for (const c of srv.clients.values()) {
      // Only clients past their first PONG: the others get it then (maybeSendInfoUpdate).
      if (c.opts.protocol >= 1 && c.firstPongSent && !c.closed) this.sendClientInfo(c);
    }
    srv.flushDirty();
  }

  private sendClientInfo(c: Client): void {
    const srv = this.server;
    c.enqueue(Buffer.from(`INFO ${srv.clientInfoJSON(c, srv.auth.required() && srv.opts.noAuthUser === '')} \r\n`));
  }

  /** Before a client's first PONG: INFO again if the URLs changed since it connected. */
  maybeSendInfoUpdate(c: Client): void {
    if (this.lastCURLsUpdate !== 0 && this.lastCURLsUpdate >= c.start.getTime()) this.sendClientInfo(c);
  }

  // --- monitoring ------------------------------------------------------------

  /** RouteInfoProvider: the registered routes (/routez, /metrics). */
  routes(): Iterable<Route> {
    return this.routesById.values();
  }

  /** RouteInfoProvider: /varz "routes". */
  numRoutes(): number {
    return this.routesById.size;
  }

  /** RouteInfoProvider: /varz "remotes". */
  numRemotes(): number {
    return this.remotes.size;
  }

  /** RouteInfoProvider: /varz "connect_urls". */
  connectURLs(): string[] {
    return this.clientURLs ?? [];
  }
}

/** server/util.go parseHostPort: "host[:port]", a missing, 0 or -1 port means `defaultPort`. */
export function parseHostPort(hostPort: string, defaultPort: number): { host: string; port: number } {
  let host = hostPort.trim();
  let port = defaultPort;
  const m = /^\[([^\]]*)\](?::(.*))?$/.exec(host);
  let portText: string | undefined;
  if (m !== null) {
    host = m[1];
    portText = m[2];
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0 && host.indexOf(':') === i) {
      portText = host.slice(i + 1);
      host = host.slice(0, i);
    }
  }
  if (portText !== undefined) {
    const p = Number(portText.trim());
    if (!Number.isInteger(p)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(portText)}: invalid syntax`);
    if (p !== 0 && p !== -1) port = p;
  }
  return { host, port };
}

/**
 * The URLs clients may use to reach this server (server/server.go
 * getClientConnectURLs): client_advertise, else host:port, else for a
 * wildcard host every global unicast address of this machine.
 */
export function clientConnectURLs(srv: Server): string[] {
  const o = srv.opts;
  if (o.clientAdvertise !== '') {
    const hp = parseHostPort(o.clientAdvertise, srv.port);
    return [joinHostPort(hp.host, hp.port)];
  }
  const host = o.host;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const urls: string[] = [];
    for (const ip of localAddresses(false)) {
      if (!isGlobalUnicast(ip)) continue;
      urls.push(joinHostPort(ip, srv.port));
    }
    if (urls.length === 0) srv.logger.error(`Address ${JSON.stringify(host)} can not be resolved properly`);
    return urls;
  }
  return [joinHostPort(host, srv.port)];
}

/** Go's net.IP.IsGlobalUnicast for the addresses an interface reports. */
function isGlobalUnicast(ip: string): boolean {
  if (net.isIPv4(ip)) {
    if (ip.startsWith('127.') || ip.startsWith('169.254.') || ip === '0.0.0.0') return false;
    const first = Number(ip.split('.')[0]);
    return first < 224;
  }
  const l = ip.toLowerCase();
  if (l === '::1' || l === '::' || l.startsWith('fe80:') || l.startsWith('ff')) return false;
  return true;
}

/** Addresses of this machine's interfaces; loopback too when `withLoopback`. */
export function localAddresses(withLoopback: boolean): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!withLoopback && a.internal) continue;
      out.push(a.address);
    }
  }
  return out;
}

/** "::ffff:1.2.3.4" → "1.2.3.4" (a dual-stack listener reports IPv4 peers mapped). */
function unmapIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function dialErrorText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connect: connection refused';
    case 'EHOSTUNREACH':
      return 'connect: no route to host';
    case 'ENETUNREACH':
      return 'connect: network is unreachable';
    case 'ETIMEDOUT':
      return 'i/o timeout';
    default:
      return e.message;
  }
}
