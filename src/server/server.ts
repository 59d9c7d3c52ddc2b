// The Server: listeners, the client registry, accounts, lifecycle and the
// embedding API. One Node.js thread runs everything; all state is touched
// from the event loop only.

import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { newServerId } from './server-id.js';
import { nodeOs } from './builtins.js';
import { defaultOptions, NATS_COMPAT_VERSION, PROTO, DEFAULT_GLOBAL_ACCOUNT, type Options } from '../config/options.js';
import { nullLogger, type Logger } from '../logging/types.js';
import { Account } from '../accounts/account.js';
import { Client } from '../client/client.js';
import { adoptWithSharedReadBuffer } from '../client/readbuf.js';
import { ClosedState, type ClosedReason, type Connection } from '../client/connection.js';
import type { Subscription } from '../client/subscription.js';
import type { SublistResult } from '../subjects/sublist.js';
import { Authenticator } from '../auth/auth.js';
import { configureServerAccounts, resolverStartLines } from '../accounts/resolver.js';
import { operatorStartupWarnings, trustedOperatorLines } from '../auth/jwt.js';
import { TLSManager, RateCounter, goCipherName, goTLSVersion } from '../tls/tls.js';
import { serverHandshake, detectTLS } from '../tls/handshake.js';
import { TLS_TIMEOUT_MS, AUTH_TIMEOUT_MS } from '../config/options.js';
import * as E from '../protocol/errors.js';
import { TSNATS_VERSION } from '../version.js';
import { planReload, type ReloadPlan } from '../config/reload.js';
import type { Monitor } from '../monitor/monitor.js';
import type { RouteInfoProvider } from '../monitor/routes.js';
import type { ClusterManager } from '../cluster/cluster.js';
import type { LeafnodeManager } from '../leafnode/manager.js';
import { Kind } from '../client/connection.js';
import type { WebsocketServer } from '../websocket/index.js';
import { getJetStreamFactory, getSystemFactory, type JetStreamService, type SystemService } from './features.js';
import { getHash } from './node-hash.js';

export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
  totalConnections: number;
}

/** What /connz keeps about a closed connection. */
export interface ClosedClientInfo {
  client: Client;
  reason: ClosedReason;
  /** the subscriptions it held when it closed (connz subs=1 on closed connections) */
  subs?: readonly Subscription[];
}

export class Server {
  opts: Options;
  logger: Logger;
  readonly serverId: string;
  readonly stats: ServerStats = {
    inMsgs: 0,
    inBytes: 0,
    outMsgs: 0,
    outBytes: 0,
    slowConsumers: 0,
    totalConnections: 0,
  };
  readonly clients = new Map<number, Client>();
  readonly accounts = new Map<string, Account>();
  globalAccount: Account;
  /** the system account ($SYS by default); null with no_sys_acc */
  systemAccount: Account | null = null;
  readonly auth: Authenticator;
  /** the client listener's TLS setup; null without a tls block */
  tls: TLSManager | null = null;
  private tlsRate: RateCounter | null = null;
  /** bounded ring of closed clients for /connz?state=closed */
  readonly closedClients: ClosedClientInfo[] = [];
  startTime = new Date();
  configTime = new Date();
  /** routes or leafnodes may want client messages (routeMessage): set through setRouting */
  routesActive = false;
  private clusterRouting = false;
  private leafRouting = false;
  /** leafnode connections (leafnodes {} block); null when not configured */
  leafnodes: LeafnodeManager | null = null;
  /** JetStream, when enabled and registered (server/features.ts); null otherwise */
  jetstream: JetStreamService | null = null;
  /** the system account's events and requests (server/features.ts); null without a system account */
  system: SystemService | null = null;
  /** the monitoring listener, when http_port or https_port is set */
  monitor: Monitor | null = null;
  /** set by the cluster module: what /routez, /varz and /metrics report about routes */
  routeInfoProvider: RouteInfoProvider | null = null;
  /** routes to the other servers of the cluster; null when cluster.port is 0 */
  cluster: ClusterManager | null = null;
  lameDuck = false;
  /** the websocket listener (websocket {} block); null when not configured */
  websocket: WebsocketServer | null = null;

  private listener: net.Server | null = null;
  private boundPort = 0;
  private nextCid = 1;
  private dirtyList: Connection[] = [];
  private stalled = new Set<Connection>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private running = false;
  private shutdownPromise: Promise<void> | null = null;
  private resolveShutdownSignal!: () => void;
  /** resolves when shutdown starts, to cut lame-duck waits short */
  private readonly shutdownSignal = new Promise<void>((r) => (this.resolveShutdownSignal = r));

  constructor(opts: Partial<Options> = {}, logger: Logger = nullLogger) {
    this.opts = { ...defaultOptions(), ...opts };
    this.logger = logger;
    this.serverId = newServerId();
    this.globalAccount = new Account(DEFAULT_GLOBAL_ACCOUNT, this.opts.subjectCacheSize);
    this.accounts.set(this.globalAccount.name, this.globalAccount);
    configureServerAccounts(this);
    this.auth = new Authenticator(this);
    this.auth.configure(this.opts);
    this.configureTLS();
  }

  /** The cluster name ("" when not clustered): configured, generated, or adopted from a peer. */
  get clusterName(): string {
    return this.cluster !== null ? this.cluster.name : this.opts.cluster.name;
  }

  get serverName(): string {
    return this.opts.serverName !== '' ? this.opts.serverName : this.serverId;
  }

  /** The port clients connect to (the real one when started with port -1 or 0). */
  get port(): number {
    return this.boundPort;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** nats://host:port for clients on this machine. */
  clientURL(): string {
    let host = this.opts.host;
    if (host === '0.0.0.0' || host === '' || host === '::') host = '127.0.0.1';
    if (host.includes(':')) host = `[${host}]`;
    return `nats://${host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const o = this.opts;
    const log = this.logger;
    if (o.cluster.port !== 0 && this.cluster === null) {
      // The cluster module is loaded only when clustering is configured
      // (~14 ms of start-up on the bench machine, like monitoring and websocket below).
      this.cluster = new (await import('../cluster/cluster.js')).ClusterManager(this);
      this.routeInfoProvider = this.cluster;
    }
    log.notice('Starting nats-server');
    log.notice(`  Version:  ${NATS_COMPAT_VERSION}`);
    log.notice(`  Git:      [not set]`);
    log.debug(`  Go build: tsnats ${TSNATS_VERSION} on node ${process.version}`);
    if (this.clusterName !== '') log.notice(`  Cluster:  ${this.clusterName}`);
    log.notice(`  Name:     ${this.serverName}`);
    if (o.jetstream) log.notice(`  Node:     ${getHash(this.serverName)}`);
    log.notice(`  ID:       ${this.serverId}`);
    this.auth.logWarnings();
    const sys = this.systemAccount;
    if (sys !== null && !o.accounts.some((a) => a.name === sys.name)) log.debug(`Created system account: "${sys.name}"`);
    if (o.configFile !== '') log.notice(`Using configuration file: ${o.configFile}`);
    for (const line of trustedOperatorLines(o)) log.notice(line);
    for (const line of operatorStartupWarnings(o)) log.warn(line);
    this.startTime = new Date();
    // The reference starts monitoring before the client listener (server.go Start).
    // The monitoring and websocket modules are loaded only when configured:
    // each is ~15 ms of start-up on the bench machine.
    const monitor = o.httpPort !== 0 || o.httpsPort !== 0 ? new (await import('../monitor/monitor.js')).Monitor(this) : null;
    if (monitor !== null && (await monitor.start())) {
      this.monitor = monitor;
      // server/server.go PortsInfo: the monitoring listener goes in the ports file too.
      const mh = o.httpHost !== '' ? o.httpHost : o.host;
      this.extraPorts.monitoring = { scheme: monitor.secure ? 'https' : 'http', host: mh, port: monitor.port };
    }
    for (const line of resolverStartLines(this)) log.notice(line);

    // The reference sets up its system account (events, $SYS requests)
    // before JetStream and the listeners (server.go Start → setSystemAccount).
    const sysFactory = this.systemAccount !== null ? getSystemFactory() : null;
    if (sysFactory !== null && this.system === null) {
      this.system = await sysFactory(this);
      this.system.start();
    }

    // The reference enables JetStream before its client listener (server.go Start).
    if (o.jetstream && this.systemAccount?.jetstreamLimits != null && Object.keys(this.systemAccount.jetstreamLimits).length > 0) {
      throw new Error('Not allowed to enable JetStream on the system account');
    }
    const jsFactory = o.jetstream ? getJetStreamFactory() : null;
    if (jsFactory !== null) {
      const js = await jsFactory(this);
      try {
        await js.start();
      } catch (e) {
        // server/server.go Start: Fatalf("Can't start JetStream: %v")
        throw new Error(jetStreamStartError(e));
      }
      this.jetstream = js;
    }

    // The reference starts websocket before the route and client listeners.
    if (o.websocket !== undefined && o.websocket.port !== 0) {
      const ws = new (await import('../websocket/index.js')).WebsocketServer(this);
      await ws.start();
      this.websocket = ws;
    }
    // The reference starts its leafnode listener and remotes before the
    // route and client listeners (server.go Start); the module is loaded only when configured.
    const lo = o.leafnode;
    if (lo !== undefined && (lo.port !== 0 || lo.remotes.length > 0) && this.leafnodes === null) {
      const ln = new (await import('../leafnode/manager.js')).LeafnodeManager(this);
      this.leafnodes = ln;
      await ln.start();
    }
    // The route port is bound first so that a failure leaves no client
    // listener behind; routing itself starts once clients can connect.
    if (this.cluster !== null) await this.cluster.listen();

    const listener = net.createServer({ noDelay: true, pauseOnConnect: false }, (sock) => this.acceptClient(sock));
    listener.maxConnections = Number.MAX_SAFE_INTEGER;
    const port = o.port === -1 ? 0 : o.port;
    await new Promise<void>((resolve, reject) => {
      const onErr = (err: Error) => reject(err);
      listener.once('error', onErr);
      listener.listen({ host: o.host, port, backlog: 4096 }, () => {
        listener.off('error', onErr);
        resolve();
      });
    });
    listener.on('error', (err) => log.error(`Error accepting client connection: ${err.message}`));
    this.listener = listener;
    const addr = listener.address() as net.AddressInfo;
    this.boundPort = addr.port;
    this.running = true;
    log.notice(`Listening for client connections on ${hostPort(o.host, this.boundPort)}`);
    this.writePortsFile();
    log.notice('Server is ready');
    if (this.cluster !== null) this.cluster.startRouting();
  }

  /**
   * Lame duck mode (server/server.go lameDuckMode): stop accepting, tell
   * clients with INFO ldm, wait the grace period, then close the clients
   * spread over the rest of lame_duck_duration, and shut down.
   */
  async lameDuckMode(): Promise<void> {
    if (!this.running || this.lameDuck || this.listener === null) return;
    this.logger.notice('Entering lame duck mode, stop accepting new clients');
    this.lameDuck = true;
    const listener = this.listener;
    this.listener = null;
    // close() stops accepting at once; its callback would wait for every
    // connection to end, which is what lame duck mode is about to do.
    listener.close();
    if (this.websocket !== null) this.websocket.stopAccepting();
    const clients = [...this.clients.values()];
    if (clients.length === 0) {
      await this.shutdown();
      return;
    }
    const o = this.opts;
    const grace = Math.abs(o.lameDuckGracePeriodMs);
    let dur = o.lameDuckDurationMs - grace;
    if (dur <= 0) dur = 1000;
    let si = dur / clients.length;
    let batch = 1;
    if (si < 1) {
      si = 1;
      batch = Math.floor(clients.length / dur);
    } else if (si > 1000) {
      si = 1000;
    }
    this.onLameDuck();
    this.system?.lameDuck();
    for (const c of clients) {
      if (c.opts.protocol >= 1 && !c.closed) {
        c.enqueue(Buffer.from(`INFO ${this.clientInfoJSON(c, false)} \r\n`));
      }
    }
    this.flushDirty();
    await this.sleepUnlessShutdown(grace);
    if (!this.running) return;
    this.logger.notice('Closing existing clients');
    for (let i = 0; i < clients.length; i++) {
      clients[i].close(ClosedState.ServerShutdown);
      this.flushDirty();
      if (i === clients.length - 1) break;
      if (batch === 1 || i % batch === 0) {
        const v = Math.max(si / 2, Math.random() * si);
        await this.sleepUnlessShutdown(v);
        if (!this.running) return;
      }
    }
    await this.shutdown();
  }

  /** Hook: routes learn about lame duck (cluster module). */
  protected onLameDuck(): void {
    if (this.cluster !== null) this.cluster.enterLameDuck();
  }

  private sleepUnlessShutdown(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      void this.shutdownSignal.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The listening ports, as written to the ports file (server/server.go Ports). */
  portsInfo(): { nats: string[]; monitoring?: string[]; cluster?: string[]; websocket?: string[] } {
    const urls = (scheme: string, host: string, port: number) => {
      if (host === '0.0.0.0' || host === '' || host === '::') return localUrls(scheme, port);
      return [`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`];
    };
    const out: { nats: string[]; monitoring?: string[]; cluster?: string[]; websocket?: string[] } = {
      nats: urls('nats', this.opts.host, this.boundPort),
    };
    for (const [key, p] of Object.entries(this.extraPorts)) {
      (out as Record<string, string[]>)[key] = urls(p.scheme, p.host, p.port);
    }
    return out;
  }

  /** Other listeners (monitoring, cluster, websocket) register their ports here. */
  readonly extraPorts: Record<string, { scheme: string; host: string; port: number }> = {};

  private portsFile = '';

  /** Write <ports_file_dir>/nats-server_<pid>.ports, the name tools (and nats.js' test launcher) look for. */
  writePortsFile(): void {
    const dir = this.opts.portsFileDir;
    if (dir === '') return;
    const file = path.join(dir, `nats-server_${process.pid}.ports`);
    try {
      fs.writeFileSync(file, JSON.stringify(this.portsInfo()));
      this.portsFile = file;
    } catch (e) {
      this.logger.error(`Error writing ports file (${file}): ${(e as Error).message}`);
    }
  }

  private removePortsFile(): void {
    if (this.portsFile === '') return;
    try {
      fs.unlinkSync(this.portsFile);
    } catch {
      // already gone
    }
    this.portsFile = '';
  }

  /**
   * Hooks other modules register to apply a reload (cluster routes, TLS
   * contexts, the monitor). Called after the new options are in place.
   */
  readonly reloadHooks: Array<(plan: ReloadPlan, old: Options) => void> = [];

  /**
   * Apply new options to the running server (SIGHUP). Throws ReloadError,
   * with the reference's text, when a change cannot be applied; the running
   * configuration is then untouched.
   */
  reload(next: Options): ReloadPlan {
    // server/reload.go: a random websocket port (-1) means the one in use;
    // setBaselineOptions: no websocket host means 0.0.0.0.
    if (next.websocket !== undefined && this.opts.websocket !== undefined) {
      const w = next.websocket;
      if (w.port === -1 || (w.host === '' && w.port !== 0)) {
        next.websocket = { ...w, port: w.port === -1 ? this.opts.websocket.port : w.port, host: w.host === '' ? '0.0.0.0' : w.host };
      }
    }
    const plan = planReload(this.opts, next, { jetstream: this.jetstream !== null });
    const old = this.opts;
    if (next.port === 0 || next.port === -1) next.port = old.port;
    if (next.cluster.port === 0 || next.cluster.port === -1) next.cluster.port = old.cluster.port;
    this.opts = next;
    const fx = plan.effects;
    if (fx.has('tls')) this.reloadTLS();
    if (fx.has('auth') || fx.has('accounts')) this.reloadAuthorization();
    if (fx.has('limits')) {
      for (const c of this.clients.values()) c.parser.maxControlLine = next.maxControlLine;
      if (next.maxConn > 0 && this.clients.size > next.maxConn) {
        // server/reload.go maxConnOption: close the newest connections beyond the limit
        const excess = [...this.clients.values()].sort((a, b) => b.cid - a.cid).slice(0, this.clients.size - next.maxConn);
        for (const c of excess) {
          c.sendErr(E.ERR_MAX_CONNECTIONS);
          c.close(ClosedState.MaxConnectionsExceeded);
        }
      }
    }
    if (fx.has('files')) this.writePortsFile();
    for (const hook of this.reloadHooks) hook(plan, old);
    for (const line of plan.logLines) this.logger.notice(line);
    const jsStopping = plan.jetstream !== undefined ? this.reloadJetStream(plan.jetstream) : null;
    this.configTime = new Date();
    this.flushDirty();
    // The reference disables JetStream synchronously inside the reload: its
    // shutdown lines come before this one.
    if (jsStopping !== null) void jsStopping.then(() => this.logger.notice('Reloaded server configuration'));
    else this.logger.notice('Reloaded server configuration');
    return plan;
  }

  /**
   * server/reload.go applyOptions: JetStream turned off (DisableJetStream)
   * or on again (restartJetStream) by a reload. Returns the shutdown when
   * turning off. Starting is asynchronous; a failure is logged as a warning
   * and JetStream stays off.
   */
  private reloadJetStream(enable: boolean): Promise<void> | null {
    if (!enable) {
      const js = this.jetstream;
      this.jetstream = null;
      if (js === null) return null;
      return js.shutdown().catch((e: Error) => this.logger.error(`JetStream shutdown: ${e.message}`));
    }
    if (this.jetstream !== null) return null;
    const factory = getJetStreamFactory();
    if (factory === null) return null;
    this.logger.notice('Restarting JetStream');
    void (async () => {
      const js = await factory(this);
      await js.start();
      if (this.running && this.opts.jetstream && this.jetstream === null) this.jetstream = js;
      else await js.shutdown();
    })().catch((e: unknown) => this.logger.warn(jetStreamStartError(e)));
    return null;
  }

  /**
   * server/reload.go reloadAuthorization: re-check every client against the
   * new users; close those that no longer authenticate and drop
   * subscriptions their new permissions refuse.
   */
  private reloadAuthorization(): void {
    this.auth.reloadAuthorization();
  }

  /** Build the client listener's TLS setup from the options (throws TLSConfigError). */
  private configureTLS(): void {
    const tc = this.opts.tlsConfig;
    this.tls = tc !== undefined ? new TLSManager(tc) : null;
    const rate = tc?.rateLimit ?? 0;
    this.tlsRate = rate > 0 ? new RateCounter(rate) : null;
  }

  /**
   * Re-read the client TLS certificate, key and CA files (or apply a new tls
   * block): new connections use them, established ones keep their session.
   * Throws TLSConfigError, keeping the previous setup, when the files are bad.
   */
  reloadTLS(): void {
    const tc = this.opts.tlsConfig;
    if (tc !== undefined && this.tls !== null) {
      this.tls.reload(tc);
      const rate = tc.rateLimit ?? 0;
      this.tlsRate = rate > 0 ? new RateCounter(rate) : null;
    } else {
      this.configureTLS();
    }
  }

  /** Close every connection and listener; resolves when all sockets are gone. */
  shutdown(): Promise<void> {
    if (this.shutdownPromise !== null) return this.shutdownPromise;
    this.shutdownPromise = this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    if (this.running) this.logger.notice('Initiating Shutdown...');
    // server/server.go Shutdown: the SHUTDOWN event goes out while routes are still up.
    const sys = this.system;
    this.system = null;
    sys?.shutdown();
    this.running = false;
    this.resolveShutdownSignal();
    this.removePortsFile();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const listener = this.listener;
    this.listener = null;
    const closing = listener ? new Promise<void>((r) => listener.close(() => r())) : Promise.resolve();
    // Routes first: closing clients would otherwise send an RS- per subject.
    const routesClosing = this.cluster !== null ? this.cluster.shutdown() : Promise.resolve();
    if (this.websocket !== null) this.websocket.stop();
    const leafsClosing = this.leafnodes !== null ? this.leafnodes.shutdown() : Promise.resolve();
    for (const c of [...this.clients.values()]) {
      c.close(ClosedState.ServerShutdown, true);
    }
    this.dirtyList.length = 0;
    this.stalled.clear();
    const monitor = this.monitor;
    this.monitor = null;
    const js = this.jetstream;
    this.jetstream = null;
    await Promise.all([closing, routesClosing, leafsClosing, monitor?.stop(), js?.shutdown()]);
    this.logger.notice('Server Exiting..');
  }

  // --- connections ------------------------------------------------------

  private acceptClient(sock: net.Socket): void {
    if (!this.running) {
      sock.destroy();
      return;
    }
    // Plain connections read into one shared buffer instead of a new Buffer
    // per read (client/readbuf.ts); TLS keeps the stream's 'data' events.
    let dataEvents = true;
    if (this.tls === null) {
      const moved = adoptWithSharedReadBuffer(sock, false, (buf, n) => (n === buf.length ? c.onDataMore(buf) : c.onData(buf.subarray(0, n))));
      if (moved !== null) {
        sock = moved;
        dataEvents = false;
      }
    }
    sock.setNoDelay(true);
    const cid = this.nextCid++;
    const c = new Client(this, sock, cid, this.globalAccount);
    this.stats.totalConnections++;
    if (this.logger.debugEnabled) this.logger.debug(`${c.logPrefix} - Client connection created`);
    const auth = this.auth;
    const authRequired = auth.required();
    c.nonce = auth.nonceRequired() ? auth.newNonce() : '';
    const tls = this.tls;
    if (tls !== null && tls.config.handshakeFirst === true) {
      // TLS before anything else (nats-server 2.10 handshake_first): INFO follows the handshake.
      if (!this.admitTLS(c)) return;
      this.startClientTLS(c, sock, authRequired, true);
      return;
    }
    if (tls === null) this.wireClientSocket(c, sock, dataEvents);
    c.reuseOutbound = !dataEvents;
    c.sendInfo(this.clientInfoJSON(c, auth.infoAuthRequired()));
    if (!this.registerClient(c)) return;
    if (tls === null) {
      c.activate(authRequired);
      this.flushDirty();
      return;
    }
    // The INFO goes out in plain text; then the client starts the handshake.
    this.flushDirty();
    if (!this.opts.allowNonTLS) {
      if (!this.admitTLS(c)) return;
      this.startClientTLS(c, sock, authRequired, false);
      return;
    }
    // allow_non_tls: the first byte tells whether the client speaks TLS.
    const onEarlyClose = (): void => {
      if (!c.closed) c.close(ClosedState.ClientClosed, true);
    };
    sock.on('error', onEarlyClose);
    sock.on('close', onEarlyClose);
    detectTLS(sock, this.tlsTimeoutMs(), (isTLS, first) => {
      sock.off('error', onEarlyClose);
      sock.off('close', onEarlyClose);
      if (c.closed) return;
      if (isTLS) {
        if (this.admitTLS(c)) this.startClientTLS(c, sock, authRequired, false);
        return;
      }
      this.wireClientSocket(c, sock);
      c.activate(authRequired);
      if (first !== null) c.onData(first);
      sock.resume();
      this.flushDirty();
    });
  }

  /** Add a new client to the registry, or refuse it when max_connections is reached. */
  registerClient(c: Client): boolean {
    const maxConn = this.opts.maxConn;
    if (maxConn > 0 && this.clients.size >= maxConn) {
      this.logger.error(`${c.logPrefix} - ${E.ERR_MAX_CONNECTIONS}`);
      c.sendErr(E.ERR_MAX_CONNECTIONS);
      c.close(ClosedState.MaxConnectionsExceeded);
      this.flushDirty();
      return false;
    }
    this.clients.set(c.cid, c);
    c.account.numClients++;
    this.system?.accountConnsChanged(c.account);
    return true;
  }

  /** The read side of a client's transport: data to the parser, errors and EOF close it. */
  private wireClientSocket(c: Client, sock: net.Socket, dataEvents = true): void {
    if (dataEvents) sock.on('data', (chunk: Buffer) => c.onData(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!c.closed) {
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.logger.error(`${c.logPrefix} - read error: ${err.message}`);
        c.close(err.code === 'EPIPE' ? ClosedState.WriteError : ClosedState.ReadError, true);
      }
    });
    sock.on('end', () => {
      if (!c.closed) c.close(ClosedState.ClientClosed);
    });
    sock.on('close', () => {
      if (!c.closed) c.close(ClosedState.ClientClosed, true);
    });
  }

  private tlsTimeoutMs(): number {
    const t = this.opts.tlsConfig?.timeoutMs ?? 0;
    return t > 0 ? t : TLS_TIMEOUT_MS;
  }

  /** tls { connection_rate_limit }: refuse handshakes beyond the rate (server/server.go createClient). */
  private admitTLS(c: Client): boolean {
    if (this.tlsRate === null || this.tlsRate.allow()) return true;
    c.sendErr('Connection throttling is active. Please try again later.');
    c.close(ClosedState.MaxConnectionsExceeded);
    this.flushDirty();
    return false;
  }

  /**
   * Server side of the client TLS handshake (server/client.go
   * doTLSHandshake): under the tls timeout, peer verified and pinned; the
   * auth timer starts only afterwards.
   */
  private startClientTLS(c: Client, raw: net.Socket, authRequired: boolean, handshakeFirst: boolean): void {
    const log = this.logger;
    if (log.debugEnabled) log.debug(`${c.logPrefix} - Starting TLS client connection handshake`);
    const setup = this.tls!.setup;
    const timeoutMs = this.tlsTimeoutMs();
    const tlsSock = serverHandshake(raw, setup, timeoutMs, {
      onSecure: (sock) => {
        if (c.closed) {
          sock.destroy();
          return;
        }
        const version = goTLSVersion(sock.getProtocol());
        const cipher = goCipherName(sock);
        c.tlsEstablished(sock, version, cipher);
        if (log.debugEnabled) {
          log.debug(`${c.logPrefix} - TLS handshake complete`);
          log.debug(`${c.logPrefix} - TLS version ${version}, cipher suite ${cipher}`);
        }
        this.wireClientSocket(c, sock);
        if (handshakeFirst) {
          c.sendInfo(this.clientInfoJSON(c, this.auth.infoAuthRequired()));
          if (!this.registerClient(c)) return;
        }
        c.activate(authRequired);
        this.flushDirty();
      },
      onError: (text) => {
        if (c.closed) return;
        log.error(`${c.logPrefix} - TLS handshake error: ${text}`);
        c.close(ClosedState.TLSHandshakeError, true);
      },
      onTimeout: () => {
        if (c.closed) return;
        log.error(`${c.logPrefix} - TLS handshake timeout`);
        log.error(`${c.logPrefix} - TLS handshake error: read tcp ${hostPort(raw.localAddress ?? '', raw.localPort ?? 0)}->${hostPort(c.host, c.port)}: i/o timeout`);
        c.close(ClosedState.TLSHandshakeError, true);
      },
    });
    c.useTLSSocket(tlsSock);
  }

  /** The INFO a client gets on connect (server/server.go Info, field order as the reference). */
  clientInfoJSON(c: Client, authRequired: boolean): string {
    const o = this.opts;
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: NATS_COMPAT_VERSION,
      proto: PROTO,
      go: `node${process.version.slice(1)}`,
      host: o.host,
      port: this.boundPort,
      headers: true,
    };
    if (authRequired) info.auth_required = true;
    // server/server.go NewServer: tls_required unless allow_non_tls, which advertises tls_available.
    const tc = o.tlsConfig;
    if (tc !== undefined) {
      if (!o.allowNonTLS) info.tls_required = true;
      if (tc.verify || tc.verifyAndMap) info.tls_verify = true;
      if (o.allowNonTLS) info.tls_available = true;
    }
    info.max_payload = o.maxPayload;
    // server/server.go Info.JetStream (omitempty): JetStream is running here
    if (this.jetstream !== null) info.jetstream = true;
    info.client_id = c.cid;
    info.client_ip = c.host;
    if (c.nonce !== '') info.nonce = c.nonce;
    // server/server.go Info: cluster, then connect_urls once routes brought some.
    const cn = this.clusterName;
    if (cn !== '') info.cluster = cn;
    // Websocket clients get the cluster's websocket URLs (none are gossiped yet), not the client ones.
    const urls = this.cluster !== null && !(this.websocket !== null && this.websocket.isClient(c)) ? this.cluster.clientURLs : null;
    if (urls !== null && urls.length > 0) info.connect_urls = urls;
    if (this.lameDuck) info.ldm = true;
    info.tsnats = TSNATS_VERSION;
    return JSON.stringify(info);
  }

  removeClient(c: Client, reason: ClosedReason, subs?: readonly Subscription[]): void {
    const registered = this.clients.delete(c.cid);
    if (registered) c.account.numClients--;
    const sys = this.system;
    if (sys !== null && registered) {
      // server/accounts.go removeClient (no update for the global account), then saveClosedClient's DISCONNECT
      if (c.account !== this.globalAccount) sys.accountConnsChanged(c.account);
      sys.clientClosed(c, reason);
    }
    if (this.logger.debugEnabled) this.logger.debug(`${c.logPrefix} - Client connection closed: ${reason}`);
    const max = this.opts.maxClosedClients;
    if (max > 0) {
      this.closedClients.push({ client: c, reason, subs });
      if (this.closedClients.length > max) this.closedClients.shift();
    }
    this.stalled.delete(c);
  }

  lookupAccount(name: string): Account | undefined {
    return this.accounts.get(name);
  }

  moveClientToAccount(c: Client, acc: Account): void {
    if (c.account === acc) return;
    const registered = this.clients.has(c.cid);
    if (registered) {
      c.account.numClients--;
      acc.numClients++;
    }
    const old = c.account;
    c.account = acc;
    if (registered && this.system !== null) {
      if (old !== this.globalAccount) this.system.accountConnsChanged(old);
      this.system.accountConnsChanged(acc);
    }
  }

  authTimeoutMs(): number {
    const o = this.opts;
    // server/opts.go getDefaultAuthTimeout: with TLS and no explicit auth
    // timeout, the TLS timeout plus one second; 0 means the default.
    const ms = o.authTimeoutMs;
    const explicit = ms > 0 && (o.authTimeoutSet === true || ms !== AUTH_TIMEOUT_MS);
    if (explicit) return ms;
    return o.tlsConfig !== undefined ? this.tlsTimeoutMs() + 1000 : AUTH_TIMEOUT_MS;
  }

  // --- the write path ---------------------------------------------------

  markDirty(c: Connection): void {
    this.dirtyList.push(c);
  }

  private flushScheduled = false;
  private readonly flushImmediate = (): void => {
    this.flushScheduled = false;
    this.flushDirty();
  };

  /** Flush after the current batch of socket reads (the check phase of this loop iteration). */
  flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushImmediate);
  }

  /** Flush every connection that got bytes since the last flush. */
  flushDirty(): void {
    const list = this.dirtyList;
    // flush() may mark further connections dirty (e.g. a close); loop by index.
    for (let i = 0; i < list.length; i++) list[i].flush();
    list.length = 0;
  }

  watchStalled(c: Connection): void {
    this.stalled.add(c);
    // The sweep runs only while some connection is stalled: an idle server
    // has no timer waking it (and allocating) four times a second.
    if (this.sweepTimer === null && this.running) {
      this.sweepTimer = setInterval(() => this.sweepStalled(), 250);
      this.sweepTimer.unref();
    }
  }

  private sweepStalled(): void {
    const now = Date.now();
    for (const c of this.stalled) {
      if (!c.checkWriteDeadline(now)) this.stalled.delete(c);
    }
    this.flushDirty();
    if (this.stalled.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  // --- hooks for the cluster module ---------------------------------------

  /** A client subscription was added: routes learn the interest (RS+), leafnodes too (LS+). */
  subAdded(acc: Account, sub: Subscription): void {
    // push consumers waiting for a deliver subject learn of it at once
    if (this.jetstream !== null) this.jetstream.subscriptionsAdded(sub.subject);
    if (this.cluster !== null) this.cluster.subAdded(acc, sub);
    if (this.leafnodes !== null) this.leafnodes.subAdded(acc, sub);
  }

  /** Client subscriptions went away: routes learn when interest ends (RS-) or a queue weight drops. */
  subsRemoved(acc: Account, subs: Subscription[]): void {
    if (this.cluster !== null) this.cluster.subsRemoved(acc, subs);
    if (this.leafnodes !== null) this.leafnodes.subsRemoved(acc, subs);
  }

  /** Forward a client's message to routes and leafnodes with interest; true if any got it. */
  routeMessage(c: Client, buf: Buffer, start: number, r: SublistResult<Subscription>): boolean {
    let sent = this.cluster !== null ? this.cluster.routeMessage(c, buf, start, r) : false;
    if (this.leafnodes !== null && this.leafnodes.routeMessage(c, buf, start, r)) sent = true;
    return sent;
  }

  /** A client's queue selection picked a member behind a route or a leafnode (routeMessage sends it). */
  routeQueueTarget(sub: Subscription): void {
    if (sub.client.kind === Kind.LEAF) {
      if (this.leafnodes !== null) this.leafnodes.addQueueTarget(sub);
    } else if (this.cluster !== null) this.cluster.addQueueTarget(sub);
  }

  /**
   * Whether client messages must go through routeMessage: the cluster
   * module says when it has routes, the leafnode module when it has leafs.
   */
  setRouting(from: 'cluster' | 'leaf', active: boolean): void {
    if (from === 'cluster') this.clusterRouting = active;
    else this.leafRouting = active;
    this.routesActive = this.clusterRouting || this.leafRouting;
  }

  /** Send an updated INFO before the first PONG when the topology changed since connect. */
  maybeSendInfoUpdate(c: Client): void {
    if (this.cluster !== null) this.cluster.maybeSendInfoUpdate(c);
  }

  /** The next connection id; clients and routes share the sequence, as in the reference. */
  allocCid(): number {
    return this.nextCid++;
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** For a wildcard listen address: one URL per local interface address, as the reference does. */
function localUrls(scheme: string, port: number): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(nodeOs().networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      out.push(`${scheme}://${a.address}:${port}`);
    }
  }
  if (out.length === 0) out.push(`${scheme}://127.0.0.1:${port}`);
  return out;
}

/** "Can't start JetStream: <reason>", whether or not the runtime's error already says so. */
function jetStreamStartError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.startsWith("Can't start JetStream: ") ? msg : `Can't start JetStream: ${msg}`;
}
