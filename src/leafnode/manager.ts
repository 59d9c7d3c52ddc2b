// Leafnodes (server/leafnode.go of nats-server 2.9.10): the listener that
// accepts leaf connections (we are their hub), the remotes we dial (we are
// a leaf), the CONNECT/INFO exchange on both sides, the registry of
// established connections, loop and permission handling, URL gossip and
// the monitoring figures. What each connection is told lives in
// interest.ts, where messages go in routing.ts. Loaded by the Server only
// when a leafnodes {} block configures a port or remotes.

import net from 'node:net';
import os from 'node:os';
import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import type { Subscription } from '../client/subscription.js';
import type { Client, PubArgSource } from '../client/client.js';
import type { SublistResult } from '../subjects/sublist.js';
import { ClosedState, type ClosedReason } from '../client/connection.js';
import { NATS_COMPAT_VERSION, type LeafnodeOptions, type SubjectPermission } from '../config/options.js';
import { LeafConnection } from './leaf.js';
import { versionAtLeast, type LeafConnect, type LeafInfo } from './proto.js';
import { LeafPerms, mergeDeny } from './perms.js';
import { RemoteLeaf, dial, isWSURL, joinHostPort, type LeafURL } from './remote.js';
import { FrameReader, OP_PONG, WsClientSocket, wsUpgrade, type WsUpgraded } from './ws.js';
import { authenticateLeaf, leafUserPermissions, signWithCreds } from './auth.js';
import { WsSocket } from '../websocket/socket.js';
import { leafzOf, type LeafzOptions } from './monitor.js';
import { LeafInterest } from './interest.js';
import { LeafRouter } from './routing.js';
import { clientHandshake, loadRouteTLS, type RouteTLS } from '../cluster/tls.js';
import { TLSManager, goCipherName, goTLSVersion } from '../tls/tls.js';
import { serverHandshake } from '../tls/handshake.js';
import { spkiSha256 } from '../tls/x509.js';
import type tls from 'node:tls';

/** server/leafnode.go: back-off after a loop, a permission violation, the same cluster name. */
export const RECONNECT_DELAY_AFTER_LOOP_MS = 30_000;
export const RECONNECT_DELAY_AFTER_PERM_VIOLATION_MS = 30_000;
/** server/const.go DEFAULT_LEAFNODE_INFO_WAIT, connectProcessTimeout */
const INFO_WAIT_MS = 1000;
const CONNECT_PROCESS_TIMEOUT_MS = 2000;
const DIAL_TIMEOUT_MS = 1000;
/** server/jetstream_api.go denyAllClientJs */
const DENY_ALL_CLIENT_JS = ['$JS.API.>', '$KV.>', '$OBJ.>'];
/** server/jetstream_api.go denyAllJs */
const DENY_ALL_JS = ['$JSC.>', '$NRG.>', '$JS.API.>', '$KV.>', '$OBJ.>'];
/** server/jetstream_api.go generateJSMappingTable: `$JS.<domain>.API.<key>` -> value (logged in this order) */
const JS_DOMAIN_MAPPINGS: ReadonlyArray<[string, string]> = [
  ['INFO', '$JS.API.INFO'],
  ['STREAM.>', '$JS.API.STREAM.>'],
  ['CONSUMER.>', '$JS.API.CONSUMER.>'],
  ['DIRECT.>', '$JS.API.DIRECT.>'],
  ['META.>', '$JS.API.META.>'],
  ['SERVER.>', '$JS.API.SERVER.>'],
  ['ACCOUNT.>', '$JS.API.ACCOUNT.>'],
  ['$KV.>', '$KV.>'],
  ['$OBJ.>', '$OBJ.>'],
];

export class LeafnodeManager {
  /** registered leaf connections by cid */
  readonly leafs = new Map<number, LeafConnection>();
  /** connections still in the CONNECT/INFO exchange */
  private readonly pending = new Set<LeafConnection>();
  /** registered leaf connections per account */
  private readonly byAccount = new Map<Account, Set<LeafConnection>>();
  readonly remotes: RemoteLeaf[] = [];
  private listener: net.Server | null = null;
  private readonly dials = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;
  /** TLS of the leafnode listener (leafnodes { tls {} }), null without */
  private tls: TLSManager | null = null;
  /** per remote: its tls {} block loaded, or null for the defaults */
  private readonly remoteTLS = new Map<RemoteLeaf, RouteTLS | null>();
  /** sockets of handshake_first remotes: TLS is up before the hub's INFO */
  private readonly tlsFirst = new WeakSet<net.Socket>();
  /** the bound leafnode port */
  port = 0;
  /** host:port the INFO advertises (leafnode_urls) */
  private infoHostPort = '';
  /** leafnode URLs of the cluster's other servers, reference counted (server.go leafURLsMap) */
  private readonly gossiped = new Map<string, number>();


  /** what each leaf connection is told (LS+/LS-) */
  readonly interest: LeafInterest;
  /** which leaf connections a message goes to */
  readonly router: LeafRouter;

  constructor(readonly server: Server) {
    this.interest = new LeafInterest(server, this.byAccount);
    this.router = new LeafRouter(server, this.byAccount, this.interest);
  }

  // The hooks the server, routes and leaf connections call.
  subAdded(acc: Account, sub: Subscription): void {
    this.interest.subAdded(acc, sub);
  }

  subsRemoved(acc: Account, subs: Subscription[]): void {
    this.interest.subsRemoved(acc, subs);
  }

  leafSubChanged(from: LeafConnection, acc: Account, sub: Subscription, delta: number): void {
    this.interest.leafSubChanged(from, acc, sub, delta);
  }

  routeSubChanged(acc: Account, sub: Subscription, delta: number): void {
    this.interest.routeSubChanged(acc, sub, delta);
  }

  ldsSubject(acc: Account): string {
    return this.interest.ldsSubject(acc);
  }

  routeMessage(c: Client, buf: Buffer, start: number, r: SublistResult<Subscription>): boolean {
    return this.router.routeMessage(c, buf, start, r);
  }

  addQueueTarget(sub: Subscription): void {
    this.router.addQueueTarget(sub);
  }

  addRoutedQueueTarget(sub: Subscription): boolean {
    return this.router.addRoutedQueueTarget(sub);
  }

  fromRoute(src: PubArgSource, acc: Account, r: SublistResult<Subscription>, buf: Buffer, start: number, origin: string): void {
    this.router.fromRoute(src, acc, r, buf, start, origin);
  }

  routeImported(c: Client, acc: Account, subject: string, buf: Buffer, start: number): boolean {
    return this.router.routeImported(c, acc, subject, buf, start);
  }

  deliverFromLeaf(src: LeafConnection, acc: Account, r: SublistResult<Subscription>, buf: Buffer, start: number): void {
    this.router.deliverFromLeaf(src, acc, r, buf, start);
  }

  private get opts(): LeafnodeOptions {
    return this.server.opts.leafnode!;
  }

  // --- lifecycle ------------------------------------------------------------

  async start(): Promise<void> {
    this.running = true;
    const o = this.opts;
    if (o.tls !== undefined) this.tls = new TLSManager(o.tls);
    if (o.port !== 0) await this.listen();
    this.server.reloadHooks.push(() => this.applyReload());
    for (const cfg of o.remotes) {
      const r = new RemoteLeaf(cfg);
      this.remotes.push(r);
      void this.connectToRemote(r, true);
    }
  }

  private async listen(): Promise<void> {
    const o = this.opts;
    const log = this.server.logger;
    const l = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
    const port = o.port === -1 ? 0 : o.port;
    await new Promise<void>((resolve, reject) => {
      const onErr = (err: Error): void => reject(new Error(`Error listening on leafnode port: ${o.port} - ${err.message}`));
      l.once('error', onErr);
      l.listen({ host: o.host, port }, () => {
        l.off('error', onErr);
        resolve();
      });
    });
    l.on('error', (err) => log.error(`Error accepting leafnode connection: ${err.message}`));
    this.listener = l;
    this.port = (l.address() as net.AddressInfo).port;
    log.notice(`Listening for leafnode connections on ${joinHostPort(o.host, this.port)}`);
    this.server.extraPorts.leafnode = { scheme: 'nats-leaf', host: o.host, port: this.port };
    if (o.advertise !== '') {
      this.infoHostPort = advertiseHostPort(o.advertise, this.port);
      log.notice(`Advertise address for leafnode is set to ${this.infoHostPort}`);
    } else {
      let host = o.host;
      if (host === '0.0.0.0' || host === '::' || host === '') host = firstNonLocalIP() ?? '127.0.0.1';
      this.infoHostPort = joinHostPort(host, this.port);
    }
  }

  async shutdown(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.dials) s.destroy();
    this.dials.clear();
    const l = this.listener;
    this.listener = null;
    const closing = l !== null ? new Promise<void>((r) => l.close(() => r())) : Promise.resolve();
    for (const c of [...this.pending, ...this.leafs.values()]) c.close(ClosedState.ServerShutdown, true);
    this.server.flushDirty();
    await closing;
  }

  /** A delay that shutdown cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (!this.running) return resolve();
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Reload: remotes and the listener stay; new credentials apply to new connections. */
  private applyReload(): void {
    // TLS is the only part of the block that reloads (config/reload.ts):
    // new connections use the new files, established ones keep their session.
    const o = this.opts;
    try {
      if (o.tls !== undefined && this.tls !== null) this.tls.reload(o.tls);
    } catch (e) {
      this.server.logger.error(`leafnode: error reloading TLS configuration: ${(e as Error).message}`);
    }
    // Remotes are the same (in any order): each takes its new tls {} block.
    for (const r of this.remotes) {
      const n = o.remotes.find((x) => x.urls.join(' ') === r.cfg.urls.join(' ') && (x.account || '$G') === (r.cfg.account || '$G'));
      if (n !== undefined && n !== r.cfg) r.cfg.tls = n.tls;
    }
    this.remoteTLS.clear();
  }

  authTimeoutMs(): number {
    const ms = this.opts.authTimeoutMs;
    if (ms > 0) return ms;
    const t = this.opts.tls?.timeoutMs ?? 0;
    return this.opts.tls !== undefined ? (t > 0 ? t : 2000) + 1000 : 2000;
  }

  /** The cluster name we present: configured, or the server name for a leaf-only server (server/server.go NewServer). */
  get clusterName(): string {
    const cn = this.server.clusterName;
    if (cn !== '') return cn;
    const o = this.server.opts;
    return this.opts.remotes.length > 0 && o.cluster.port === 0 ? o.serverName : '';
  }

  // --- accepting (hub side) -----------------------------------------------------

  private accept(sock: net.Socket): void {
    const srv = this.server;
    if (!this.running) {
      sock.destroy();
      return;
    }
    const c = new LeafConnection(srv, this, sock, srv.allocCid(), srv.globalAccount, null);
    const tm = this.tls;
    if (tm === null) this.wire(c, sock);
    srv.stats.totalConnections++;
    srv.logger.notice(`${c.logPrefix} - Leafnode connection created `);
    c.nonce = srv.auth.newNonce();
    this.pending.add(c);
    // tls { handshake_first } (nats-server 2.10): the handshake comes before the INFO.
    const first = tm !== null && tm.config.handshakeFirst === true;
    if (!first) {
      c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, true, false)} \r\n`));
      srv.flushDirty();
    }
    if (tm === null) {
      // Leafnodes always send CONNECT: it binds them to their account.
      c.activate(true);
      srv.flushDirty();
      return;
    }
    // The INFO goes out in plain text, then the leaf starts the handshake (server/leafnode.go createLeafNode).
    const log = srv.logger;
    if (log.debugEnabled) log.debug(`${c.logPrefix} - Starting TLS leafnode server handshake`);
    const timeoutMs = tm.config.timeoutMs > 0 ? tm.config.timeoutMs : 2000;
    sock.on('error', () => {});
    const ts = serverHandshake(sock, tm.setup, timeoutMs, {
      onSecure: (s) => {
        if (c.closed) {
          s.destroy();
          return;
        }
        c.tlsEstablished(s, goTLSVersion(s.getProtocol()), goCipherName(s));
        this.wire(c, s);
        if (first) c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, true, false)} \r\n`));
        c.activate(true);
        srv.flushDirty();
      },
      onError: (text) => {
        if (c.closed) return;
        log.error(`${c.logPrefix} - TLS leafnode handshake error: ${text}`);
        c.close(ClosedState.TLSHandshakeError, true);
      },
      onTimeout: () => {
        if (c.closed) return;
        log.error(`${c.logPrefix} - TLS leafnode handshake error: i/o timeout`);
        c.close(ClosedState.TLSHandshakeError, true);
      },
    });
    c.useTLSSocket(ts);
  }

  private wire(c: LeafConnection, sock: net.Socket): () => void {
    const onData = (chunk: Buffer): void => c.onData(chunk);
    const onError = (err: NodeJS.ErrnoException): void => {
      if (c.closed) return;
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.server.logger.error(`${c.logPrefix} - read error: ${err.message}`);
      c.close(err.code === 'EPIPE' ? ClosedState.WriteError : ClosedState.ReadError, true);
    };
    const onEnd = (): void => {
      if (!c.closed) c.close(ClosedState.ClientClosed);
    };
    const onClose = (): void => {
      if (!c.closed) c.close(ClosedState.ClientClosed, true);
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('end', onEnd);
    sock.on('close', onClose);
    return () => {
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('end', onEnd);
      sock.off('close', onClose);
    };
  }

  /**
   * The dialing side's TLS handshake. As the reference (server/leafnode.go
   * doTLSClientHandshake gets opts.LeafNode.TLSPinnedCerts) the leafnode
   * listener's pinned_certs apply to the hubs a remote dials too.
   */
  private async dialTLS(sock: net.Socket, t: RouteTLS | null, host: string): Promise<tls.TLSSocket> {
    const ts = await clientHandshake(sock, t ?? defaultClientTLS(), host, '');
    const pinned = this.opts.tls?.pinnedCerts;
    if (pinned !== undefined && pinned.length > 0) {
      const cert = ts.getPeerX509Certificate();
      if (cert === undefined || !pinned.some((p) => p.toLowerCase() === spkiSha256(cert))) {
        ts.destroy();
        throw new Error('certificate not pinned');
      }
    }
    return ts;
  }

  /** The leaf side of the TLS upgrade after the hub's first INFO (server/leafnode.go leafNodeResumeConnectProcess). */
  private async upgradeTLS(c: LeafConnection, r: RemoteLeaf): Promise<boolean> {
    const srv = this.server;
    const raw = c.socket;
    const unwire = this.unwire.get(c);
    unwire?.();
    let t = this.remoteTLS.get(r);
    if (t === undefined) {
      t = r.cfg.tls !== undefined ? loadRouteTLS(r.cfg.tls) : null;
      this.remoteTLS.set(r, t);
    }
    const u = r.cur!;
    if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - Starting TLS leafnode client handshake`);
    let ts: tls.TLSSocket;
    try {
      ts = await this.dialTLS(raw, t, u.hostname);
    } catch (e) {
      srv.logger.error(`${c.logPrefix} - TLS leafnode handshake error: ${(e as Error).message}`);
      c.close(ClosedState.TLSHandshakeError, true);
      return false;
    }
    if (c.closed) {
      ts.destroy();
      return false;
    }
    c.useTLSSocket(ts);
    c.tlsEstablished(ts, goTLSVersion(ts.getProtocol()), goCipherName(ts));
    this.unwire.set(c, this.wire(c, ts));
    return true;
  }

  private readonly unwire = new WeakMap<LeafConnection, () => void>();

  /** The leafnode INFO (server/leafnode.go startLeafNodeAcceptLoop, sendPermsAndAccountInfo). */
  private infoJSON(c: LeafConnection, withNonce: boolean, connectInfo: boolean): string {
    const srv = this.server;
    const o = this.opts;
    const [host, portText] = splitHostPort(this.infoHostPort);
    const info: Record<string, unknown> = {
      server_id: srv.serverId,
      server_name: srv.serverName,
      version: NATS_COMPAT_VERSION,
      proto: 1,
      go: `node${process.version.slice(1)}`,
      host,
      port: Number(portText),
      headers: !srv.opts.noHeaderSupport,
      auth_required: true,
    };
    if (o.tls !== undefined) {
      info.tls_required = true;
      if (o.tls.verify === true) info.tls_verify = true;
    }
    info.max_payload = srv.opts.maxPayload;
    if (srv.opts.jetstream) info.jetstream = true;
    info.ip = this.infoHostPort;
    const cn = srv.clusterName;
    if (cn !== '') info.cluster = cn;
    info.client_id = c.cid;
    if (withNonce) info.nonce = c.nonce;
    if (srv.opts.jetstreamDomain !== '') info.domain = srv.opts.jetstreamDomain;
    info.info_on_connect = true;
    if (connectInfo) {
      info.connect_info = true;
      const ex = this.exportInfo.get(c);
      if (ex !== undefined) {
        if (ex.imp !== undefined) info.import = ex.imp;
        if (ex.exp !== undefined) info.export = ex.exp;
      }
    }
    info.leafnode_urls = this.leafnodeURLs();
    if (connectInfo) info.remote_account = c.account.name;
    return JSON.stringify(info);
  }

  /** What leafnode_urls lists: this server's URL (unless no_advertise) and the cluster's. */
  private leafnodeURLs(): string[] {
    const out = this.opts.noAdvertise || this.infoHostPort === '' ? [] : [this.infoHostPort];
    for (const u of this.gossiped.keys()) if (!out.includes(u)) out.push(u);
    return out;
  }

  /** The URL routes tell the cluster about ('' without a listener or with no_advertise). */
  get advertisedURL(): string {
    return this.opts.noAdvertise ? '' : this.infoHostPort;
  }

  /** A route brought another server's leafnode URL: tell our leafs (server/server.go addLeafNodeURL). */
  addGossipURL(url: string): void {
    const n = this.gossiped.get(url) ?? 0;
    this.gossiped.set(url, n + 1);
    if (n === 0 && url !== this.infoHostPort) this.sendAsyncInfo();
  }

  removeGossipURL(url: string): void {
    const n = this.gossiped.get(url);
    if (n === undefined) return;
    if (n > 1) {
      this.gossiped.set(url, n - 1);
      return;
    }
    this.gossiped.delete(url);
    if (url !== this.infoHostPort) this.sendAsyncInfo();
  }

  /** server/leafnode.go sendAsyncLeafNodeInfo: the leafs we accepted learn the new URL list. */
  private sendAsyncInfo(): void {
    if (this.listener === null) return;
    for (const c of this.leafs.values()) {
      if (c.solicited) continue;
      c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, false, false)} \r\n`));
    }
    this.server.flushDirty();
  }

  /** The leaf user's permissions as sent back in the INFO: import = subscribe, export = publish. */
  private readonly exportInfo = new WeakMap<LeafConnection, { imp?: SubjectPermission; exp?: SubjectPermission }>();

  /** The leaf CONNECT on the hub (server/leafnode.go processLeafNodeConnect). */
  processConnect(c: LeafConnection, lc: LeafConnect): boolean {
    const srv = this.server;
    const log = srv.logger;
    if (lc.lang !== '') {
      const txt = 'attempted to connect to leaf node port';
      c.sendErr(txt);
      log.error(`${c.logPrefix} - ${txt}`);
      c.close(ClosedState.WrongPort);
      return false;
    }
    if (!authenticateLeaf(this.server, this.opts, c)) {
      if (!c.closed) c.authViolation();
      return false;
    }
    c.authorized = true;
    const cn = srv.clusterName;
    if (cn !== '' && lc.cluster !== '' && lc.cluster === cn) {
      const txt = 'remote leafnode has same cluster name';
      c.sendErr(txt);
      log.error(`${c.logPrefix} - ${txt}`);
      c.close(ClosedState.ClusterNameConflict);
      return false;
    }
    if (lc.gateway !== '') {
      const txt = `Rejecting connection from gateway ${JSON.stringify(lc.gateway)} on the leafnode port`;
      log.error(`${c.logPrefix} - ${txt}`);
      c.sendErr(txt);
      c.close(ClosedState.WrongGateway);
      return false;
    }
    const mv = this.opts.minVersion;
    if (mv !== '') {
      const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(mv);
      if (m !== null && !versionAtLeast(lc.version, Number(m[1]), Number(m[2]), Number(m[3]))) {
        // The INFO keeps a recent remote from giving up before we close (server/leafnode.go).
        c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, false, true)} \r\n`));
        const txt = `connection rejected since minimum version required is ${JSON.stringify(mv)}`;
        c.sendErr(txt);
        log.error(`${c.logPrefix} - ${txt}`);
        srv.flushDirty();
        const t = setTimeout(() => {
          this.timers.delete(t);
          c.close(ClosedState.MinimumVersionRequired);
          srv.flushDirty();
        }, 5000);
        this.timers.add(t);
        return true;
      }
    }
    c.echo = false;
    c.headers = !srv.opts.noHeaderSupport && lc.headers;
    c.remoteServer = lc.name;
    if (lc.hub) c.isSpoke = true;
    if (lc.cluster !== '') c.setRemoteCluster(lc.cluster);
    c.remoteDomain = lc.domain;
    c.startPings();
    // The user's permissions, swapped: what the leaf may subscribe to is
    // what we may deliver to it (server/leafnode.go processLeafNodeConnect).
    const up = leafUserPermissions(this.server, this.opts, c);
    let perms: LeafPerms | null = up !== null ? new LeafPerms(up.subscribe, up.publish) : null;
    if (up !== null) this.exportInfo.set(c, { imp: up.subscribe, exp: up.publish });
    if (lc.denyPub.length > 0) perms = (perms ?? new LeafPerms(undefined, undefined)).withDenies(lc.denyPub, []);
    c.lperms = perms;
    this.register(c, true);
    if (c.closed) return false;
    c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, false, true)} \r\n`));
    this.interest.initSmapAndSendSubs(c);
    return !c.closed;
  }

  // --- soliciting (leaf side) ------------------------------------------------------

  /** server/leafnode.go connectToRemoteLeafNode */
  private async connectToRemote(r: RemoteLeaf, firstConnect: boolean): Promise<void> {
    const srv = this.server;
    const log = srv.logger;
    if (r.connectDelayMs > 0) {
      await this.sleep(r.connectDelayMs);
      r.connectDelayMs = 0;
    }
    let attempts = 0;
    while (this.running && !r.removed) {
      const u = r.pickNextURL();
      if (log.debugEnabled) log.debug(`Trying to connect as leafnode to remote server on ${JSON.stringify(u.hostPort)}`);
      let sock: net.Socket | null = null;
      let err: Error | null = null;
      try {
        sock = await dial(u.hostname, u.port, DIAL_TIMEOUT_MS, this.dials);
      } catch (e) {
        err = e as Error;
      }
      if (!this.running || r.removed) {
        sock?.destroy();
        return;
      }
      if (sock === null) {
        attempts++;
        const msg = `Error trying to connect as leafnode to remote server ${JSON.stringify(u.hostPort)} (attempt ${attempts}): ${err?.message ?? 'unknown error'}`;
        const every = firstConnect ? srv.opts.connectErrorReports : srv.opts.reconnectErrorReports;
        if (attempts === 1 || (every > 0 && attempts % every === 0)) log.error(msg);
        else log.debug(msg);
        await this.sleep(this.opts.reconnectIntervalMs);
        continue;
      }
      if (isWSURL(u)) {
        const up = await this.solicitWebsocket(r, sock, u);
        if (up === null) {
          if (this.running && !r.removed) await this.sleep(this.opts.reconnectIntervalMs);
          continue;
        }
        this.createSolicited(r, up.raw, u, up.ws);
        return;
      }
      if (r.cfg.tls?.handshakeFirst === true) {
        // tls { handshake_first } (nats-server 2.10): TLS before the hub's INFO, no upgrade after it.
        const ts = await this.handshakeFirst(r, sock, u);
        if (ts === null) {
          if (this.running && !r.removed) await this.sleep(this.opts.reconnectIntervalMs);
          continue;
        }
        this.createSolicited(r, ts, u, null);
        return;
      }
      this.createSolicited(r, sock, u, null);
      return;
    }
  }

  /**
   * TLS for wss:// first, then the HTTP upgrade on /leafnode
   * (server/leafnode.go leafNodeSolicitWSConnection). null on failure, logged.
   */
  private async solicitWebsocket(r: RemoteLeaf, sock: net.Socket, u: LeafURL): Promise<{ raw: net.Socket; ws: WsUpgraded } | null> {
    const log = this.server.logger;
    let raw: net.Socket = sock;
    try {
      if (r.tls) {
        let t = this.remoteTLS.get(r);
        if (t === undefined) {
          t = r.cfg.tls !== undefined ? loadRouteTLS(r.cfg.tls) : null;
          this.remoteTLS.set(r, t);
        }
        raw = await this.dialTLS(sock, t, u.hostname);
      }
      const ws = await wsUpgrade(raw, u.hostPort, r.cfg.wsNoMasking === true, r.cfg.wsCompression === true, 2000);
      return { raw, ws };
    } catch (e) {
      log.error(`Error soliciting websocket connection: ${(e as Error).message}`);
      raw.destroy();
      return null;
    }
  }

  /** The TLS handshake of a handshake_first remote, right after the dial; null on failure, logged. */
  private async handshakeFirst(r: RemoteLeaf, sock: net.Socket, u: LeafURL): Promise<tls.TLSSocket | null> {
    let t = this.remoteTLS.get(r);
    if (t === undefined) {
      t = r.cfg.tls !== undefined ? loadRouteTLS(r.cfg.tls) : null;
      this.remoteTLS.set(r, t);
    }
    try {
      const ts = await this.dialTLS(sock, t, u.hostname);
      this.tlsFirst.add(ts);
      return ts;
    } catch (e) {
      this.server.logger.error(`TLS leafnode handshake error: ${(e as Error).message}`);
      sock.destroy();
      return null;
    }
  }

  /** Reads of a leaf connection over websocket: frames decoded, pings answered. */
  private wireWs(c: LeafConnection, raw: net.Socket, mask: boolean, sendControl: (op: number, p: Buffer) => void, closeReply: (p: Buffer) => void): (chunk: Buffer) => void {
    const srv = this.server;
    const reader = new FrameReader(mask, Math.max(64 * 1024 * 1024, 2 * srv.opts.maxPayload + 4096));
    const onData = (chunk: Buffer): void => {
      if (c.closed) return;
      const r = reader.read(chunk);
      for (const p of r.pongs) sendControl(OP_PONG, p);
      for (const b of r.bufs) {
        if (c.closed) return;
        c.onData(b);
      }
      if (c.closed) return;
      if (r.error !== null) {
        srv.logger.error(`${c.logPrefix} - read error: ${r.error}`);
        c.close(ClosedState.ReadError, true);
        return;
      }
      if (r.closeReply !== null) {
        closeReply(r.closeReply);
        c.close(ClosedState.ClientClosed);
        srv.flushDirty();
      }
    };
    raw.on('data', onData);
    raw.on('error', (err: NodeJS.ErrnoException) => {
      if (c.closed) return;
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') srv.logger.error(`${c.logPrefix} - read error: ${err.message}`);
      c.close(err.code === 'EPIPE' ? ClosedState.WriteError : ClosedState.ReadError, true);
    });
    raw.on('end', () => {
      if (!c.closed) c.close(ClosedState.ClientClosed);
    });
    raw.on('close', () => {
      if (!c.closed) c.close(ClosedState.ClientClosed, true);
    });
    return onData;
  }

  /** A leaf connection that came in on the websocket port's /leafnode (src/websocket listener). */
  acceptWebsocket(raw: net.Socket, compress: boolean, mask: boolean): void {
    const srv = this.server;
    if (!this.running) {
      raw.destroy();
      return;
    }
    const ws = new WsSocket(raw, { compress, browser: false, noCompFrag: false, clientIP: '' });
    const c = new LeafConnection(srv, this, ws as unknown as net.Socket, srv.allocCid(), srv.globalAccount, null);
    ws.owner = c;
    c.isWebsocket = true;
    this.wireWs(c, raw, mask, (op, p) => ws.sendControl(op, p), (p) => ws.setCloseReply(p));
    srv.stats.totalConnections++;
    srv.logger.debug(`${c.logPrefix} - Leafnode compression=${compress}`);
    srv.logger.notice(`${c.logPrefix} - Leafnode connection created `);
    c.nonce = srv.auth.newNonce();
    this.pending.add(c);
    c.enqueue(Buffer.from(`INFO ${this.infoJSON(c, true, false)} \r\n`));
    c.activate(true);
    srv.flushDirty();
  }

  private createSolicited(r: RemoteLeaf, sock: net.Socket, u: LeafURL, wsUp: WsUpgraded | null): void {
    const srv = this.server;
    // server/leafnode.go createLeafNode: LookupAccount, which in operator mode
    // fetches an account not known yet from the resolver (a URL resolver, or
    // one a JWT was pushed to); a failure closes and retries later.
    let acc = srv.lookupAccount(r.localAccount);
    let why = 'account not found';
    if (acc === undefined && srv.auth.operator !== null) {
      const got = srv.auth.operator.resolveAccount(r.localAccount);
      if (typeof got === 'string') why = got;
      else acc = got;
    }
    const c0 = srv.allocCid();
    if (acc === undefined) {
      sock.destroy();
      srv.logger.error(`Unable to lookup account ${r.localAccount} for solicited leafnode connection: ${why}`);
      this.scheduleReconnect(r);
      return;
    }
    let c: LeafConnection;
    let feed: ((chunk: Buffer) => void) | null = null;
    if (wsUp !== null) {
      const ws = new WsClientSocket(sock, wsUp.mask, wsUp.compress);
      c = new LeafConnection(srv, this, ws as unknown as net.Socket, c0, acc, r);
      ws.owner = c;
      c.isWebsocket = true;
      feed = this.wireWs(c, sock, false, (op, p) => ws.sendControl(op, p), () => {});
      srv.logger.debug(`${c.logPrefix} - Leafnode compression=${wsUp.compress} masking=${wsUp.mask}`);
    } else {
      c = new LeafConnection(srv, this, sock, c0, acc, r);
      this.unwire.set(c, this.wire(c, sock));
      if (this.tlsFirst.has(sock)) {
        const ts = sock as tls.TLSSocket;
        c.tlsEstablished(ts, goTLSVersion(ts.getProtocol()), goCipherName(ts));
      }
    }
    c.lperms = r.perms;
    srv.stats.totalConnections++;
    srv.logger.notice(`${c.logPrefix} - Leafnode connection created for account: ${acc.name} `);
    this.pending.add(c);
    // The hub's INFO must come soon (server/leafnode.go DEFAULT_LEAFNODE_INFO_WAIT).
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!c.closed && !c.infoReceived) {
        srv.logger.error(`${c.logPrefix} - read tcp ${joinHostPort(sock.localAddress ?? '', sock.localPort ?? 0)}->${joinHostPort(c.host, c.port)}: i/o timeout`);
        c.close(ClosedState.ReadError, true);
      }
    }, INFO_WAIT_MS);
    this.timers.add(t);
    if (feed !== null && wsUp !== null && wsUp.rest.length > 0) feed(wsUp.rest);
  }

  /** The hub's INFO on a connection we dialed, or an update on any (server/leafnode.go processLeafnodeInfo). */
  processInfo(c: LeafConnection, info: LeafInfo): void {
    const srv = this.server;
    const r = c.remote;
    let first = false;
    if (!c.infoReceived) {
      c.infoReceived = true;
      first = true;
      if (r !== null && (info.cid === 0 || info.leafnodeUrls === null)) {
        srv.logger.error(`${c.logPrefix} - attempted to connect to wrong port`);
        c.close(ClosedState.WrongPort);
        return;
      }
      c.nonce = info.nonce;
      if (info.tlsRequired && r !== null) r.tls = true;
      c.headers = !srv.opts.noHeaderSupport && info.headers;
      c.remoteServer = info.name !== '' ? info.name : info.serverId;
      c.remoteId = info.serverId;
      c.remoteDomain = info.domain;
      c.setRemoteCluster(info.cluster);
    }
    if (r !== null && info.leafnodeUrls !== null && info.leafnodeUrls.length > 0) r.updateURLs(info.leafnodeUrls);
    if (r !== null && (info.importPerms !== null || info.exportPerms !== null)) {
      const pub = mergeDeny(info.exportPerms ?? undefined, r.cfg.denyExports);
      const sub = mergeDeny(info.importPerms ?? undefined, r.cfg.denyImports);
      c.lperms = new LeafPerms(pub, sub);
    }
    if (first && r !== null) {
      const resume = (): void => {
        if (!this.sendConnect(c, r)) return;
        if (!info.infoOnConnect) this.finishConnect(c);
        else c.armConnectTimeout(CONNECT_PROCESS_TIMEOUT_MS);
      };
      // Over websocket, or with handshake_first, the TLS handshake came first.
      if (r.tls && !c.isWebsocket && !this.tlsFirst.has(c.socket as tls.TLSSocket)) {
        void this.upgradeTLS(c, r).then((ok) => {
          if (ok) resume();
        });
        return;
      }
      resume();
    }
    if (info.connectInfo && r !== null) this.finishConnect(c);
  }

  /** server/leafnode.go sendLeafConnect */
  private sendConnect(c: LeafConnection, r: RemoteLeaf): boolean {
    const srv = this.server;
    const cinfo: Record<string, unknown> = { version: NATS_COMPAT_VERSION };
    if (r.cfg.credentials !== '') {
      if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - Authenticating with credentials file ${JSON.stringify(r.cfg.credentials)}`);
      const signed = signWithCreds(r.cfg.credentials, c.nonce);
      if (typeof signed === 'string') {
        srv.logger.error(`${c.logPrefix} - ${signed}`);
        c.close(ClosedState.WriteError);
        return false;
      }
      cinfo.jwt = signed.jwt;
      cinfo.sig = signed.sig;
    } else {
      const u = r.cur;
      if (u !== null && u.hasUser) {
        cinfo.user = u.user;
        cinfo.pass = u.pass;
      } else if (r.username !== '') {
        cinfo.user = r.username;
        cinfo.pass = r.password;
      }
    }
    cinfo.tls_required = r.tls;
    cinfo.server_id = srv.serverId;
    if (srv.opts.jetstreamDomain !== '') cinfo.domain = srv.opts.jetstreamDomain;
    cinfo.name = srv.serverName;
    if (r.cfg.hub) cinfo.is_hub = true;
    const cn = this.clusterName;
    if (cn !== '') cinfo.cluster = cn;
    if (c.headers) cinfo.headers = true;
    if (srv.jetstream !== null && srv.jetstream.accountEnabled(c.account.name)) cinfo.jetstream = true;
    if (r.cfg.denyImports.length > 0) cinfo.deny_pub = r.cfg.denyImports;
    const text = JSON.stringify(cinfo);
    if (srv.logger.traceEnabled) c.traceOut('CONNECT', text.replace(/("pass":")([^"]*)"/, '$1[REDACTED]"'));
    c.enqueue(Buffer.from(`CONNECT ${text}\r\n`, 'utf8'));
    if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - Remote leafnode connect msg sent`);
    srv.flushDirty();
    return true;
  }

  /** server/leafnode.go leafNodeFinishConnectProcess */
  private finishConnect(c: LeafConnection): void {
    if (c.registered || c.closed) return;
    c.clearConnectTimeout();
    this.register(c, false);
    if (c.closed) return;
    this.interest.initSmapAndSendSubs(c);
    c.startPings();
    this.server.flushDirty();
  }

  /** A connection closed: forget its interest, and dial again if it is ours to redial. */
  leafClosed(c: LeafConnection, reason: ClosedReason, subs: Subscription[]): void {
    const srv = this.server;
    this.pending.delete(c);
    const wasRegistered = this.leafs.delete(c.cid);
    if (wasRegistered) {
      const set = this.byAccount.get(c.account);
      set?.delete(c);
      if (set !== undefined && set.size === 0) this.byAccount.delete(c.account);
      c.account.numLeafs--;
      this.routingChanged();
    }
    // server/accounts.go removeClient (no update for the global account), server.go saveClosedClient's DISCONNECT
    const sys = srv.system;
    if (sys !== null) {
      if (wasRegistered && c.account !== srv.globalAccount) sys.accountConnsChanged(c.account);
      if (wasRegistered || c.authorized) sys.clientClosed(c, reason);
    }
    srv.logger.notice(`${c.logPrefix} - Leafnode connection closed: ${reason} account: ${c.account.name}`);
    if (srv.logger.traceEnabled) for (const s of subs) srv.logger.trace(`${c.logPrefix} - <-> [DELSUB ${s.sid}]`);
    for (const s of subs) this.leafSubChanged(c, c.account, s, s.queue !== null ? -s.queueWeight : -1);
    srv.flushDirty();
    const r = c.remote;
    if (r !== null) {
      r.connected = false;
      if (this.running && !r.removed) this.scheduleReconnect(r);
    }
  }

  /** server/leafnode.go reConnectToRemoteLeafNode: wait the reconnect interval, then dial again. */
  private scheduleReconnect(r: RemoteLeaf): void {
    void this.sleep(this.opts.reconnectIntervalMs).then(() => {
      if (this.running && !r.removed) void this.connectToRemote(r, false);
    });
  }

  /** Set the delay before the next attempt of a connection we dialed; returns it (server/leafnode.go setLeafConnectDelayIfSoliciting). */
  delayReconnect(c: LeafConnection, ms: number): number {
    if (c.remote !== null) c.remote.connectDelayMs = ms;
    return ms;
  }

  /** server/leafnode.go handleLeafNodeLoop */
  loopDetected(c: LeafConnection, sendErr: boolean): void {
    const delay = this.delayReconnect(c, RECONNECT_DELAY_AFTER_LOOP_MS);
    const txt = `Loop detected for leafnode account=${JSON.stringify(c.account.name)}. Delaying attempt to reconnect for ${goDur(delay)}`;
    if (sendErr) c.sendErr(txt);
    this.server.logger.error(`${c.logPrefix} - ${txt}`);
    c.close(ClosedState.ProtocolViolation);
    this.server.flushDirty();
  }

  /** server/leafnode.go leafPermViolation: a spoke ignores it, a hub answers and closes. */
  permViolation(c: LeafConnection, pub: boolean, subject: string): void {
    if (c.isSpoke) return;
    this.delayReconnect(c, RECONNECT_DELAY_AFTER_PERM_VIOLATION_MS);
    const action = pub ? 'Publish' : 'Subscription';
    c.sendErr(`Permissions Violation for ${action} to ${JSON.stringify(subject)}`);
    this.server.logger.error(`${c.logPrefix} - ${action} Violation on ${JSON.stringify(subject)} - Check other side configuration`);
    c.close(ClosedState.ProtocolViolation);
  }

  // --- registry ---------------------------------------------------------------------

  /** server/leafnode.go addLeafNodeConnection */
  private register(c: LeafConnection, checkForDup: boolean): void {
    const srv = this.server;
    const acc = c.account;
    let old: LeafConnection | null = null;
    if (checkForDup && c.remoteServer !== '') {
      for (const ol of this.leafs.values()) {
        if (!ol.solicited && ol.remoteServer === c.remoteServer && ol.remoteCluster === c.remoteCluster && ol.account === acc) {
          old = ol;
          break;
        }
      }
    }
    this.pending.delete(c);
    this.leafs.set(c.cid, c);
    let set = this.byAccount.get(acc);
    if (set === undefined) this.byAccount.set(acc, (set = new Set()));
    set.add(c);
    acc.numLeafs++;
    c.registered = true;
    // server/accounts.go addClient: SERVER.CONNS with the leaf counted; on
    // the hub, server/auth.go isClientAuthorized's CONNECT event follows.
    const sys = srv.system;
    if (sys !== null) {
      sys.accountConnsChanged(acc);
      if (!c.solicited) sys.clientConnected(c);
    }
    if (c.remote !== null) c.remote.connected = true;
    if (old !== null) {
      const txt = ClosedState.DuplicateRemoteLeafnodeConnection;
      old.sendErr(txt);
      srv.logger.error(`${old.logPrefix} - ${txt}`);
      old.close(ClosedState.DuplicateRemoteLeafnodeConnection);
      srv.logger.warn(`${c.logPrefix} - Replacing connection from same server`);
    }
    this.jetStreamDenies(c);
    this.routingChanged();
  }

  /**
   * The JetStream API stays on each side of a leaf connection; only the
   * domain-prefixed API (`$JS.<domain>.API.>`) crosses it, and a server's own
   * domain never goes out through a leaf whose other side is another domain
   * (server/leafnode.go addLeafNodeConnection). tsnats never extends a
   * JetStream domain (no clustered JetStream): a shared system account gets
   * the denies of a domain that is not extended.
   */
  private jetStreamDenies(c: LeafConnection): void {
    const srv = this.server;
    const o = srv.opts;
    const acc = c.account;
    const sys = srv.systemAccount;
    const domain = o.jetstreamDomain;
    const log = srv.logger;
    const base = c.lperms ?? new LeafPerms(undefined, undefined);
    const mismatch = domain !== c.remoteDomain || (!o.jetstream && domain === '' && o.jetstreamExtHint !== 'will_extend') || sys === null;
    if (mismatch || acc === sys) {
      if (acc === sys) {
        log.notice(`${c.logPrefix} - System Account Connected from ${c.remoteCluster === '' ? c.remoteServer : `${c.remoteServer}/${c.remoteCluster}`}`);
        log.notice(`${c.logPrefix} - JetStream Not Extended, adding denies [${DENY_ALL_JS.join(' ')}]`);
        c.lperms = base.withDenies(DENY_ALL_JS, DENY_ALL_JS);
      } else {
        log.notice(`${c.logPrefix} - JetStream Not Extended, adding deny [${DENY_ALL_CLIENT_JS.join(' ')}] for account ${JSON.stringify(acc.name)}`);
        c.lperms = base.withDenies(DENY_ALL_CLIENT_JS, DENY_ALL_CLIENT_JS);
      }
    } else {
      log.notice(`${c.logPrefix} - Adding deny [${DENY_ALL_CLIENT_JS.join(' ')}] for account ${JSON.stringify(acc.name)}`);
      c.lperms = base.withDenies(DENY_ALL_CLIENT_JS, DENY_ALL_CLIENT_JS);
    }
    if (domain === '' || acc === sys || !o.jetstream) return;
    // The mapping itself is the JetStream API's own subscription on $JS.<domain>.API.> (jetstream/api.ts).
    for (const [src, dest] of JS_DOMAIN_MAPPINGS) {
      log.notice(`${c.logPrefix} - Adding JetStream Domain Mapping ${JSON.stringify(`$JS.${domain}.API.${src}`)} -> ${dest} to account ${JSON.stringify(acc.name)}`);
    }
    if (mismatch) {
      const own = `$JS.${domain}.API.>`;
      c.lperms = c.lperms.withDenies([own], []);
      log.notice(`${c.logPrefix} - Adding deny ${JSON.stringify(own)} for outgoing messages to account ${JSON.stringify(acc.name)}`);
    }
  }

  /**
   * The account is over its leafnode limit cluster-wide (server/accounts.go
   * updateRemoteServer): close our `n` newest leaf connections of it.
   */
  closeNewest(acc: Account, n: number): void {
    const set = this.byAccount.get(acc);
    if (set === undefined || n <= 0) return;
    const newest = [...set].slice(-n);
    for (const c of newest) c.maxAccountConnExceeded();
    this.server.flushDirty();
  }

  private routingChanged(): void {
    this.server.setRouting('leaf', this.leafs.size > 0);
  }


  // --- interest ------------------------------------------------------------------------














  // --- messages ------------------------------------------------------------------






  // --- monitoring ------------------------------------------------------------------

  /** /leafz (server/monitor.go Leafz) */
  leafz(opts: LeafzOptions): Record<string, unknown> {
    return leafzOf(this.server, [...this.leafs.values()], opts);
  }

  /** /varz "leaf" (server/monitor.go LeafNodeOptsVarz) */
  varz(): Record<string, unknown> {
    const o = this.opts;
    const out: Record<string, unknown> = {};
    if (o.host !== '') out.host = o.host;
    if (this.port !== 0) out.port = this.port;
    const t = this.authTimeoutMs() / 1000;
    if (t !== 0) out.auth_timeout = t;
    out.tls_timeout = o.tls !== undefined && o.tls.timeoutMs > 0 ? o.tls.timeoutMs / 1000 : 2;
    if (o.tls !== undefined) {
      out.tls_required = true;
      if (o.tls.verify) out.tls_verify = true;
    }
    if (o.remotes.length > 0) {
      // server/monitor.go: the URLs' host:port only
      out.remotes = this.remotes.map((r) => ({ local_account: r.localAccount, urls: r.configured.map((u) => u.hostPort) }));
    }
    return out;
  }

  get numLeafs(): number {
    return this.leafs.size;
  }

  /** leaf connections bound to `acc` (/accountz leafnode_connections, /accstatz leafnodes) */
  numLeafsOf(acc: Account): number {
    return this.byAccount.get(acc)?.size ?? 0;
  }
}

let defaultTLS: RouteTLS | null = null;

/** No tls {} on the remote but the hub requires TLS: the system's trust roots (Go's default tls.Config). */
function defaultClientTLS(): RouteTLS {
  defaultTLS ??= loadRouteTLS({ verify: false, verifyAndMap: false, insecure: false, timeoutMs: 2000 });
  return defaultTLS;
}

function firstNonLocalIP(): string | null {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

function advertiseHostPort(adv: string, port: number): string {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(adv);
  if (m === null) return adv;
  return joinHostPort(m[1]!, m[2] !== undefined ? Number(m[2]) : port);
}

function splitHostPort(hp: string): [string, string] {
  const i = hp.lastIndexOf(':');
  let host = hp.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return [host, hp.slice(i + 1)];
}

function goDur(ms: number): string {
  if (ms % 1000 === 0) {
    const s = ms / 1000;
    if (s >= 60) return `${Math.floor(s / 60)}m${s % 60}s`;
    return `${s}s`;
  }
  return `${ms}ms`;
}

