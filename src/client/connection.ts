// What every connection kind shares: the socket, outbound staging and its
// flush, byte/message counters, the ping timer and closing. Clients
// (client/client.ts) and routes (cluster/) extend it.

import type { Socket } from 'node:net';
import { Outbound, returnSlabs } from './outbound.js';
import { errProto, PING_PROTO } from '../protocol/errors.js';
import type { Server } from '../server/server.js';
import type { ProducerStall, StallGate } from './stall.js';

export const enum Kind {
  CLIENT = 0,
  ROUTER = 1,
  /** a leafnode connection (src/leafnode/) */
  LEAF = 2,
}

/** Why a connection closed, with the reference's texts (server/monitor.go ClosedState.String). */
export const ClosedState = {
  ClientClosed: 'Client Closed',
  AuthenticationTimeout: 'Authentication Timeout',
  AuthenticationViolation: 'Authentication Failure',
  TLSHandshakeError: 'TLS Handshake Failure',
  SlowConsumerPendingBytes: 'Slow Consumer (Pending Bytes)',
  SlowConsumerWriteDeadline: 'Slow Consumer (Write Deadline)',
  WriteError: 'Write Error',
  ReadError: 'Read Error',
  ParseError: 'Parse Error',
  StaleConnection: 'Stale Connection',
  ProtocolViolation: 'Protocol Violation',
  BadClientProtocolVersion: 'Bad Client Protocol Version',
  WrongPort: 'Incorrect Port',
  MaxConnectionsExceeded: 'Maximum Connections Exceeded',
  MaxAccountConnectionsExceeded: 'Maximum Account Connections Exceeded',
  MaxPayloadExceeded: 'Maximum Message Payload Exceeded',
  MaxControlLineExceeded: 'Maximum Control Line Exceeded',
  MaxSubscriptionsExceeded: 'Maximum Subscriptions Exceeded',
  DuplicateRoute: 'Duplicate Route',
  RouteRemoved: 'Route Removed',
  ServerShutdown: 'Server Shutdown',
  AuthenticationExpired: 'Authentication Expired',
  MissingAccount: 'Missing Account',
  Revocation: 'Credentials Revoked',
  NoRespondersRequiresHeaders: 'No Responders Requires Headers',
  ClusterNameConflict: 'Cluster Name Conflict',
  // leafnode-only reasons (leafnode/)
  DuplicateRemoteLeafnodeConnection: 'Duplicate Remote LeafNode Connection',
  MinimumVersionRequired: 'Minimum Version Required',
  // route-only reasons (cluster/)
  WrongGateway: 'Wrong Gateway',
  DuplicateServerName: 'Duplicate Server Name',
} as const;
export type ClosedReason = (typeof ClosedState)[keyof typeof ClosedState];

/** the empty write whose callback marks a backed-up flush as written */
const EMPTY = Buffer.alloc(0);

export abstract class Connection {
  readonly out = new Outbound();
  /** socket.writableLength as of the last flush: an upper bound until the next one */
  pendingBase = 0;
  /**
   * The transport is a plain TCP socket written through writeFn as is: when a
   * flush leaves writableLength at 0 the kernel has copied every byte, so the
   * outbound slabs can be reused (Outbound.recycle). Set by the server.
   */
  reuseOutbound = false;
  /** producers paused until this consumer drains (client/stall.ts), null when none */
  stallGate: StallGate | null = null;
  /** this connection's reads are paused for a slow consumer (client/stall.ts) */
  stall: ProducerStall | null = null;
  /** in the server's dirty list, waiting for a flush */
  dirty = false;
  closed = false;
  closeReason: ClosedReason | '' = '';

  // Counters, read by monitoring. Inbound counts what this connection sent us,
  // outbound what we delivered to it.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  readonly start = new Date();
  /** ms timestamp of the last read, for the ping timer's "recent activity" rule */
  lastActivity = Date.now();
  stop: Date | null = null;
  rttMs = 0;
  protected rttStart = 0;

  /** PINGs sent without PONG */
  pingsOut = 0;
  /** ms timestamp of the last PING the peer sent us */
  lastPingIn = 0;
  protected pingTimer: NodeJS.Timeout | null = null;

  /** write-deadline tracking: when the socket stopped making progress */
  stallSince = 0;
  stallLen = 0;

  readonly host: string;
  readonly port: number;
  /** "ip:port - cid:N", the reference's log prefix */
  logPrefix: string;

  protected writeFn: (b: Buffer) => void;

  constructor(
    readonly server: Server,
    /** the transport; replaced once by setSocket after a TLS upgrade */
    public socket: Socket,
    readonly cid: number,
    readonly kind: Kind,
  ) {
    this.host = socket.remoteAddress ?? '';
    this.port = socket.remotePort ?? 0;
    this.logPrefix = this.connLabel();
    this.writeFn = (b: Buffer) => {
      socket.write(b);
    };
  }

  /**
   * "ip:port - cid:N" ("rid" for routes), the start of every log line about
   * this connection. Websocket clients override it ("wid", X-Forwarded-For).
   */
  protected connLabel(): string {
    return `${this.host}:${this.port} - ${this.kind === Kind.ROUTER ? 'rid' : this.kind === Kind.LEAF ? 'lid' : 'cid'}:${this.cid}`;
  }

  /**
   * Continue on another transport: the TLS socket wrapping the accepted one
   * after the NATS TLS upgrade (the INFO went out in plain text first).
   */
  protected setSocket(s: Socket): void {
    this.socket = s;
    this.writeFn = (b: Buffer) => {
      s.write(b);
    };
  }

  /** Stage a protocol frame and schedule a flush. */
  enqueue(b: Buffer): void {
    if (this.closed) return;
    this.out.append(b);
    this.afterStage();
  }

  /** After bytes were staged: enforce max_pending, schedule the flush. */
  afterStage(): void {
    if (this.pendingBase + this.out.staged > this.server.opts.maxPending && this.kind === Kind.CLIENT) {
      this.pendingBase = this.socket.writableLength;
      if (this.pendingBase + this.out.staged > this.server.opts.maxPending) {
        this.slowConsumer(ClosedState.SlowConsumerPendingBytes);
        return;
      }
    }
    if (!this.dirty) {
      this.dirty = true;
      this.server.markDirty(this);
    }
  }

  protected slowConsumer(reason: ClosedReason): void {
    this.server.stats.slowConsumers++;
    this.onSlowConsumer();
    if (reason === ClosedState.SlowConsumerPendingBytes) {
      this.server.logger.notice(
        `${this.logPrefix} - Slow Consumer Detected: MaxPending of ${this.server.opts.maxPending} Exceeded`,
      );
    } else {
      // server/client.go handleWriteTimeout reports the chunks and bytes its
      // write attempted: here what is pending, in the reference's 64 KiB buffers.
      const pending = this.out.staged + (this.socket.destroyed ? 0 : this.socket.writableLength);
      this.server.logger.notice(
        `${this.logPrefix} - Slow Consumer Detected: WriteDeadline of ${goDuration(this.server.opts.writeDeadlineMs)} exceeded with ${Math.ceil(pending / 65536)} chunks of ${pending} total bytes.`,
      );
    }
    // What is staged can never be written in time: drop it and cut the connection.
    this.out.reset();
    this.close(reason, true);
  }

  /** Hook for per-account slow consumer counters. */
  protected onSlowConsumer(): void {}

  /** Write everything staged with as few socket writes as possible. */
  flush(): void {
    this.dirty = false;
    if (this.closed && this.socket.destroyed) {
      this.out.reset();
      return;
    }
    const sock = this.socket;
    if (this.out.multi) {
      sock.cork();
      this.out.drain(this.writeFn);
      sock.uncork();
    } else {
      this.out.drain(this.writeFn);
    }
    const pending = sock.writableLength;
    if (!this.reuseOutbound) this.out.release();
    else if (pending === 0) this.out.recycle();
    else {
      // Backed up: the slabs behind this flush are reusable once the socket
      // has written them; writes complete in order, so an empty write's
      // callback says when (at most once per 64 KiB slab filled).
      const spent = this.out.takeSpent();
      if (spent !== null) sock.write(EMPTY, () => returnSlabs(spent));
    }
    this.pendingBase = pending;
    if (pending > sock.writableHighWaterMark) {
      if (this.stallSince === 0) {
        this.stallSince = Date.now();
        this.stallLen = pending;
        this.server.watchStalled(this);
      }
    }
  }

  /** Called by the server's deadline sweep for connections whose socket is backed up. */
  checkWriteDeadline(now: number): boolean {
    if (this.closed) return false;
    const pending = this.socket.writableLength;
    if (pending <= this.socket.writableHighWaterMark) {
      this.stallSince = 0;
      return false;
    }
    if (this.madeProgress(pending)) {
      // restart the clock
      this.stallSince = now;
      return true;
    }
    if (now - this.stallSince > this.server.opts.writeDeadlineMs) {
      this.stallSince = 0;
      this.slowConsumer(ClosedState.SlowConsumerWriteDeadline);
      return false;
    }
    return true;
  }

  /**
   * Whether the backed-up socket made progress since the last deadline
   * check (`pending`: its writableLength now). A client: its pending size
   * shrank below the smallest seen.
   */
  protected madeProgress(pending: number): boolean {
    if (pending >= this.stallLen) return false;
    this.stallLen = pending;
    return true;
  }

  sendErr(text: string): void {
    if (this.server.logger.traceEnabled) this.traceOut('-ERR', `'${text}'`);
    this.enqueue(errProto(text));
  }

  traceIn(op: string, arg?: string): void {
    this.server.logger.trace(`${this.logPrefix} - <<- [${arg === undefined ? op : op + ' ' + arg}]`);
  }

  traceOut(op: string, arg?: string): void {
    this.server.logger.trace(`${this.logPrefix} - ->> [${arg === undefined ? op : op + ' ' + arg}]`);
  }

  // --- ping timer -------------------------------------------------------

  protected setPingTimer(ms: number): void {
    this.clearPingTimer();
    this.pingTimer = setTimeout(() => this.onPingTimer(), ms);
  }

  protected clearPingTimer(): void {
    if (this.pingTimer !== null) {
      clearTimeout(this.pingTimer);
      this.pingTimer = null;
    }
  }

  /** server/client.go processPingTimer: skip the PING when the peer was active recently. */
  protected onPingTimer(): void {
    this.pingTimer = null;
    if (this.closed) return;
    const interval = this.server.opts.pingIntervalMs;
    const now = Date.now();
    const send = now - this.lastActivity >= interval && now - this.lastPingIn >= interval;
    // server/client.go: an RTT older than an hour (or never measured) forces
    // a PING, which is why every client gets one ~2s after connecting.
    const needRTT = this.rttMs === 0 || now - this.rttStart > 3_600_000;
    if (send || needRTT) {
      if (this.pingsOut + 1 > this.server.opts.maxPingsOut) {
        this.server.logger.debug(`${this.logPrefix} - Stale Client Connection - Closing`);
        this.sendErr('Stale Connection');
        this.close(ClosedState.StaleConnection);
        return;
      }
      this.sendPing();
    }
    this.setPingTimer(interval);
  }

  sendPing(): void {
    this.pingsOut++;
    this.rttStart = Date.now();
    if (this.server.logger.traceEnabled) this.traceOut('PING');
    this.enqueue(PING_PROTO);
    this.server.flushDirty();
  }

  /** A PONG arrived. */
  gotPong(): void {
    this.pingsOut = 0;
    if (this.rttStart !== 0) this.rttMs = Date.now() - this.rttStart;
  }

  // --- closing ----------------------------------------------------------

  /**
   * Close the connection: flush what is staged (an -ERR must reach the
   * peer), end the socket, and let the subclass clean up its state.
   */
  close(reason: ClosedReason, immediate = false): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.stop = new Date();
    this.clearPingTimer();
    if (this.stallGate !== null) this.stallGate.open();
    if (this.stall !== null) this.stall.cancel();
    const sock = this.socket;
    if (!immediate && !sock.destroyed) {
      this.out.drain(this.writeFn);
      // Like the reference's closeConnection: flush, then close the socket
      // outright once the bytes are out (a peer still writing gets a reset,
      // not a half-open connection that swallows its next frames).
      sock.end(() => sock.destroy());
      // A peer that never reads would hold the socket open forever.
      setTimeout(() => sock.destroy(), 2000).unref();
    } else {
      this.out.reset();
      sock.destroy();
    }
    this.onClosed(reason);
  }

  /** Subclass cleanup: subscriptions, registries, logging. */
  protected abstract onClosed(reason: ClosedReason): void;
}

/** Go's time.Duration String() for whole milliseconds and above (e.g. "10s", "1m0s", "500ms"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = Math.round(rest * 1000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
