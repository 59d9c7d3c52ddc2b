// The websocket listener (server/websocket.go startWebsocketServer,
// wsUpgrade, createWSClient): an HTTP/1.1 endpoint that behaves like the
// reference's net/http server on that port, upgrades valid requests on any
// path, and runs each upgraded connection as a NATS client whose protocol
// travels in websocket frames. wss when the block has a tls section.

import net from 'node:net';
import { Authenticator } from '../auth/auth.js';
import { ClosedState } from '../client/connection.js';
import type { Options, WebsocketOptions } from '../config/options.js';
import type { Server } from '../server/server.js';
import { TLSManager } from '../tls/tls.js';
import { serverHandshake } from '../tls/handshake.js';
import { DEFAULT_MAX_INFLATE, FrameReader, OP_PONG } from './frame.js';
import { OriginPolicy, wsUpgrade, type UpgradeOK } from './handshake.js';
import { MAX_HEADER_BYTES, HttpParseError, checkPartialHead, errorResponse, findHeadEnd, headerTooLarge, parseRequestHead } from './http.js';
import { WsClient, isWebsocketClient } from './client.js';
import { WsSocket } from './socket.js';
import { goListenError } from '../logging/gofmt.js';

/** The listener could not start; the message is the reference's fatal text. */
export class WebsocketStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebsocketStartError';
  }
}

function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's http.Request.RemoteAddr */
function remoteAddr(sock: net.Socket): string {
  return joinHostPort(sock.remoteAddress ?? '', sock.remotePort ?? 0);
}

/** net/http tlsRecordHeaderLooksLikeHTTP: a plain HTTP request on the wss port. */
function looksLikeHTTP(b: Buffer): boolean {
  const s = b.subarray(0, 5).toString('latin1');
  return s === 'GET /' || s === 'HEAD ' || s === 'POST ' || s === 'PUT /' || s === 'OPTIO';
}

const NO_TIMEOUT = 0x7fffffff;

export class WebsocketServer {
  private listener: net.Server | null = null;
  private tlsMgr: TLSManager | null = null;
  /** connections still in the HTTP phase (closed on stop; upgraded ones are clients) */
  private readonly httpConns = new Set<net.Socket>();
  private origins: OriginPolicy;
  private wsAuth: Authenticator | null = null;
  /** the options wsAuth was built from: rebuilt when a reload replaced them */
  private wsAuthOpts: Options | null = null;
  private accepting = false;
  /** the bound port */
  port = 0;
  host = '';
  scheme: 'ws' | 'wss' = 'ws';

  constructor(private readonly server: Server) {
    this.origins = this.buildOrigins();
  }

  private get wo(): WebsocketOptions {
    return this.server.opts.websocket!;
  }

  /** Whether c is one of the clients this kind of listener accepts (server INFO: no client connect_urls for them). */
  isClient(c: unknown): boolean {
    return isWebsocketClient(c);
  }

  private buildOrigins(): OriginPolicy {
    const o = this.server.opts.websocket;
    return new OriginPolicy(o?.sameOrigin ?? false, o?.allowedOrigins ?? [], (m) => this.server.logger.error(m));
  }

  /**
   * server/websocket.go wsConfigAuth: user, token or no_auth_user in the
   * websocket block replace the server's for websocket clients (users and
   * nkeys stay the server's).
   */
  private configureAuth(): void {
    const srv = this.server;
    const wo = this.wo;
    this.wsAuthOpts = srv.opts;
    const override = !!(wo.username || wo.token || wo.noAuthUser);
    if (!override) {
      this.wsAuth = null;
      return;
    }
    const auth = this.wsAuth ?? new Authenticator(srv);
    auth.configure({
      ...srv.opts,
      username: wo.username ?? '',
      password: wo.password ?? '',
      authorization: wo.token ?? '',
      noAuthUser: wo.noAuthUser ?? '',
    });
    this.wsAuth = auth;
  }

  async start(): Promise<void> {
    const srv = this.server;
    const log = srv.logger;
    const wo = this.wo;
    this.origins = this.buildOrigins();
    this.configureAuth();
    const host = wo.host === '' ? '0.0.0.0' : wo.host;
    const port = wo.port === -1 ? 0 : wo.port;
    // With a tls block the listener is wss, whatever no_tls says.
    if (wo.tls !== undefined) this.tlsMgr = new TLSManager(wo.tls);
    this.scheme = this.tlsMgr !== null ? 'wss' : 'ws';
    const listener = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
    listener.maxConnections = Number.MAX_SAFE_INTEGER;
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: NodeJS.ErrnoException) => {
        reject(new WebsocketStartError(`Unable to listen for websocket connections: ${goListenError(joinHostPort(host, port), e)}`));
      };
      listener.once('error', onErr);
      listener.listen({ host, port, backlog: 4096 }, () => {
        listener.off('error', onErr);
        resolve();
      });
    });
    listener.on('error', (e) => log.error(`websocket listener error: ${e.message}`));
    this.listener = listener;
    this.accepting = true;
    this.host = host;
    this.port = (listener.address() as net.AddressInfo).port;
    // As the reference: a random port becomes the configured one, so a
    // reload with "port: -1" or with the actual port both match.
    // setBaselineOptions: no host means 0.0.0.0 (as /varz then shows).
    if (wo.port !== this.port || wo.host !== host) srv.opts.websocket = { ...wo, host, port: this.port };
    log.notice(`Listening for websocket clients on ${this.scheme}://${host}:${this.port}`);
    if (this.scheme === 'ws') log.warn('Websocket not configured with TLS. DO NOT USE IN PRODUCTION!');
    srv.extraPorts.websocket = { scheme: this.scheme, host, port: this.port };
    srv.reloadHooks.push(() => this.onReload());
  }

  /**
   * The authenticator for websocket clients: the websocket block's when it
   * overrides the server's, else null. Rebuilt on first use after a reload,
   * so the server's re-check of connected clients already sees the new one.
   */
  authenticator(): Authenticator | null {
    if (this.server.opts !== this.wsAuthOpts && this.server.opts.websocket !== undefined) this.configureAuth();
    return this.wsAuth;
  }

  private onReload(): void {
    if (this.server.opts.websocket === undefined) return;
    this.origins = this.buildOrigins();
    this.configureAuth();
    const tc = this.wo.tls;
    if (this.tlsMgr !== null && tc !== undefined) {
      try {
        this.tlsMgr.reload(tc);
      } catch (e) {
        this.server.logger.error(`websocket: error reloading TLS configuration: ${(e as Error).message}`);
      }
    }
  }

  /** Lame duck mode: no new websocket connections (established clients stay). */
  stopAccepting(): void {
    this.accepting = false;
    const l = this.listener;
    this.listener = null;
    for (const s of this.httpConns) s.destroy();
    this.httpConns.clear();
    // close() stops accepting at once; its callback would also wait for the
    // upgraded connections, which the server closes as clients.
    if (l !== null) l.close();
  }

  /** Shutdown: the listener and connections still in the HTTP phase (clients are closed by the server). */
  stop(): void {
    this.stopAccepting();
  }

  // --- accepting ------------------------------------------------------------

  private accept(raw: net.Socket): void {
    if (!this.accepting || !this.server.isRunning) {
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    this.httpConns.add(raw);
    raw.on('close', () => this.httpConns.delete(raw));
    raw.on('error', () => {});
    if (this.tlsMgr === null) {
      this.serveHttp(raw, raw, false);
      return;
    }
    this.startTLS(raw);
  }

  /** wss: the TLS handshake first (net/http conn.serve), under the handshake timeout. */
  private startTLS(raw: net.Socket): void {
    const log = this.server.logger;
    const addr = remoteAddr(raw);
    raw.once('data', (first: Buffer) => {
      if (looksLikeHTTP(first)) {
        raw.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
        return;
      }
      raw.pause();
      raw.unshift(first);
      const to = this.wo.handshakeTimeoutMs > 0 ? this.wo.handshakeTimeoutMs : NO_TIMEOUT;
      const tsock = serverHandshake(raw, this.tlsMgr!.setup, to, {
        onSecure: (sock) => this.serveHttp(raw, sock, true),
        onError: (text) => {
          log.error(`websocket: TLS handshake error from ${addr}: ${text}`);
          raw.destroy();
        },
        onTimeout: () => {
          const local = joinHostPort(raw.localAddress ?? '', raw.localPort ?? 0);
          log.error(`websocket: TLS handshake error from ${addr}: read tcp ${local}->${addr}: i/o timeout`);
          raw.destroy();
        },
      });
      tsock.on('error', () => {});
    });
  }

  /**
   * The HTTP phase: read request heads (keep-alive after refusals, as
   * net/http), answer errors, upgrade a valid websocket request.
   * `raw` is the TCP socket, `sock` the one to talk on (TLS for wss).
   */
  private serveHttp(raw: net.Socket, sock: net.Socket, isTLS: boolean): void {
    const srv = this.server;
    const log = srv.logger;
    const addr = remoteAddr(raw);
    let buf: Buffer = Buffer.alloc(0);
    let skip = 0;
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    const timeoutMs = this.wo.handshakeTimeoutMs;
    // net/http ReadTimeout (= handshake_timeout): the deadline to read a request; none when 0.
    const arm = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          if (!done) finish(true);
        }, timeoutMs);
        timer.unref();
      }
    };
    const finish = (destroy: boolean) => {
      done = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      sock.off('data', onData);
      if (destroy) sock.destroy();
    };
    const reply = (text: string, close: boolean) => {
      if (close) {
        finish(false);
        sock.end(text);
        setTimeout(() => sock.destroy(), 2000).unref();
      } else {
        sock.write(text);
      }
    };
    const onData = (chunk: Buffer) => {
      if (done) return;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (!done && buf.length > 0) {
        const end = findHeadEnd(buf);
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) {
            reply(headerTooLarge().response, true);
            return;
          }
          try {
            checkPartialHead(buf);
          } catch (e) {
            if (!(e instanceof HttpParseError)) throw e;
            reply(e.response, true);
          }
          return;
        }
        if (end > MAX_HEADER_BYTES) {
          reply(headerTooLarge().response, true);
          return;
        }
        const head = buf.subarray(0, end);
        buf = buf.subarray(end);
        let req;
        try {
          req = parseRequestHead(head);
        } catch (e) {
          if (!(e instanceof HttpParseError)) throw e;
          reply(e.response, true);
          return;
        }
        const res = wsUpgrade(req, { compression: this.wo.compression, jwtCookie: this.wo.jwtCookie ?? '', origins: this.origins }, isTLS);
        if ('status' in res) {
          log.error(`${addr} - websocket handshake error: ${res.reason}`);
          const close = req.close || req.chunked;
          reply(errorResponse(req, res.status), close);
          if (close) return;
          // The handler did not read the body: net/http discards it to keep the connection.
          const n = Math.min(req.contentLength, buf.length);
          buf = buf.subarray(n);
          skip = req.contentLength - n;
          arm();
          continue;
        }
        // Upgrade: the connection is hijacked; bytes already buffered are an error.
        finish(false);
        if (buf.length > 0 || skip > 0) {
          log.error('websocket: response.WriteHeader on hijacked connection from github.com/nats-io/nats-server/server.wsReturnHTTPError (websocket.go:865)');
          log.error('websocket: response.Write on hijacked connection from fmt.Fprintln (print.go:285)');
          log.error(`${addr} - websocket handshake error: client sent data before handshake is complete`);
          sock.destroy();
          return;
        }
        this.httpConns.delete(raw);
        this.upgraded(raw, sock, res);
        return;
      }
    };
    sock.on('data', onData);
    sock.on('error', () => finish(true));
    arm();
  }

  private upgraded(raw: net.Socket, sock: net.Socket, up: UpgradeOK): void {
    const srv = this.server;
    const log = srv.logger;
    if (!srv.isRunning || !this.accepting) {
      sock.destroy();
      return;
    }
    sock.write(up.response);
    if (up.kind === 'leaf') {
      if (srv.leafnodes !== null && srv.opts.leafnode !== undefined && srv.opts.leafnode.port !== 0) {
        this.httpConns.delete(raw);
        srv.leafnodes.acceptWebsocket(sock, up.compress, !up.noMasking);
        return;
      }
      // Without a leafnode port the reference says so and closes.
      log.error('Not configured to accept leaf node connections');
      sock.destroy();
      return;
    }
    if (up.kind === 'mqtt') {
      log.error(`${remoteAddr(raw)} - MQTT over websocket is not supported by tsnats`);
      sock.destroy();
      return;
    }
    this.createClient(sock, up);
  }

  /** server/websocket.go createWSClient */
  private createClient(sock: net.Socket, up: UpgradeOK): void {
    const srv = this.server;
    const log = srv.logger;
    const ws = new WsSocket(sock, { compress: up.compress, browser: up.browser, noCompFrag: up.noCompFrag, clientIP: up.clientIP });
    const c = new WsClient(srv, ws, srv.allocCid(), srv.globalAccount);
    const override = this.authenticator() !== null;
    c.setAuthOverride(() => this.authenticator(), this.wo.authTimeoutMs ?? 0);
    srv.stats.totalConnections++;
    if (log.debugEnabled) log.debug(`${c.logPrefix} - Client connection created`);
    const auth = srv.auth;
    const infoAuth = auth.infoAuthRequired() || override;
    const authRequired = auth.required() || override;
    c.nonce = auth.nonceRequired() ? auth.newNonce() : '';
    // If CONNECT brings no JWT, the cookie's is used (client.go processConnect).
    if (up.cookieJwt !== '') c.opts.jwt = up.cookieJwt;
    this.wire(c, sock, !up.noMasking);
    c.sendInfo(srv.clientInfoJSON(c, infoAuth));
    if (!srv.registerClient(c)) return;
    c.activate(authRequired);
    srv.flushDirty();
  }

  /** The read side: frames → the client's parser; control frames; errors and EOF close it. */
  private wire(c: WsClient, sock: net.Socket, mask: boolean): void {
    const srv = this.server;
    const log = srv.logger;
    // room for a max_payload message and its protocol line, at least the default
    const reader = new FrameReader(mask, Math.max(DEFAULT_MAX_INFLATE, 2 * srv.opts.maxPayload + 4096));
    sock.on('data', (chunk: Buffer) => {
      if (c.closed) return;
      const r = reader.read(chunk);
      // Control replies are queued ahead of the data of the same read (the reference's ws.frames).
      for (const p of r.pongs) c.ws.sendControl(OP_PONG, p);
      for (const b of r.bufs) {
        if (c.closed) return;
        c.onData(b);
      }
      if (c.closed) return;
      if (r.error !== null) {
        log.error(`${c.logPrefix} - read error: ${r.error}`);
        c.close(ClosedState.ReadError, true);
        return;
      }
      if (r.closeReply !== null) {
        c.ws.setCloseReply(r.closeReply);
        c.close(ClosedState.ClientClosed);
        srv.flushDirty();
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!c.closed) {
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') log.error(`${c.logPrefix} - read error: ${err.message}`);
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
}
