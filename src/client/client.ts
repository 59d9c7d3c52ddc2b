// One client connection: the read path (parser → handler), CONNECT, SUB,
// UNSUB, and the message path from a PUB to every matching subscriber's
// outbound staging. Semantics follow server/client.go of nats-server 2.9.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { Connection, ClosedState, Kind, type ClosedReason } from './connection.js';
import { Subscription } from './subscription.js';
import { ProtocolParser, ParseErrorKind, ParserKind, Op, type ProtocolHandler } from '../protocol/parser.js';
import * as E from '../protocol/errors.js';
import { goJsonSyntaxErrorBytes } from '../protocol/gojson.js';
import { goQuote, goQuoteBytes } from '../protocol/goquote.js';
import { decodeConnect, defaultConnectOptions, type ConnectOptions } from '../protocol/connect.js';
import type { Account } from '../accounts/account.js';
import type { SublistResult } from '../subjects/sublist.js';
import { isValidLiteralSubjectBytes, tailTokensBytes } from '../subjects/validate.js';
import type { Server } from '../server/server.js';
import type { ClientPermissions } from '../auth/permissions.js';
import type { Authenticator } from '../auth/auth.js';
import { processImports, checkReverseEntries, mayImportAt } from '../accounts/imports.js';
import { stallProducer } from './stall.js';
import { copyBytes, copySizeAndPayload, setCopyTarget, sizeFieldLen } from './copy.js';
import { selectMappedSubject } from '../accounts/mapping.js';

const EMPTY = Buffer.alloc(0);
const MSG_PREFIX = Buffer.from('MSG ');
const HMSG_PREFIX = Buffer.from('HMSG ');
const CRLF_LEN = 2;
const SP = 32;
const TAB = 9;
const NO_RESPONDERS_SUFFIX = ' 16 16\r\nNATS/1.0 503\r\n\r\n\r\n';

/** server/util.go parseSize: 1–9 ASCII digits, else -1. */
export function parseSize(buf: Buffer, start: number, end: number): number {
  const l = end - start;
  if (l <= 0 || l > 9) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Split a control line on blanks into at most `max` [start, end) pairs; returns the count or -1 if more. */
function splitArgs(buf: Buffer, start: number, end: number, out: Int32Array, max: number, crlf: boolean): number {
  let n = 0;
  let s = -1;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === SP || b === TAB || (crlf && (b === 13 || b === 10))) {
      if (s >= 0) {
        if (n === max) return -1;
        out[2 * n] = s;
        out[2 * n + 1] = i;
        n++;
        s = -1;
      }
    } else if (s < 0) s = i;
  }
  if (s >= 0) {
    if (n === max) return -1;
    out[2 * n] = s;
    out[2 * n + 1] = end;
    n++;
  }
  return n;
}

function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

const ARGS = new Int32Array(16);

export class Client extends Connection implements ProtocolHandler {
  readonly parser: ProtocolParser;
  account: Account;
  readonly subs = new Map<string, Subscription>();
  opts: ConnectOptions = defaultConnectOptions();
  echo = true;
  headers = false;
  connectReceived = false;
  /** authenticated user name, for monitoring and logs */
  user = '';
  /** nonce sent in INFO when nkey users are configured */
  nonce = '';
  /** set by auth: per-connection permissions checker, null = everything allowed */
  perms: ClientPermissions | null = null;
  /** operator mode: subscription and payload limits of the user JWT and account (server/client.go applyAccountLimits); -1 = the server's */
  jwtMaxSubs = -1;
  jwtMaxPayload = -1;
  /** TLS parameters once the handshake completed (Go's names: "1.3", "TLS_AES_128_GCM_SHA256") */
  tlsVersion = '';
  tlsCipher = '';
  /** the client certificate, when one was presented */
  tlsPeerCertificate: X509Certificate | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  /** a PONG has been sent once; later INFO updates are sent asynchronously */
  firstPongSent = false;
  /**
   * Service latency across routes (server/client.go rrTracking): tracked
   * requests ("….<hash>.T" replies) a route relayed to us, by reply, with
   * the ms time they arrived; our response sends the responder's
   * measurement to the requester's server. null until one arrives.
   */
  rrTracking: Map<string, number> | null = null;

  // The frame being parsed (PUB/HPUB): offsets into paBuf. Kept as fields,
  // not an object, so the hot path allocates nothing.
  paBuf: Buffer = EMPTY;
  paSubjStart = 0;
  paSubjEnd = 0;
  paReplyStart = 0;
  paReplyEnd = 0;
  /** header length, -1 for PUB */
  paHdr = -1;
  paHdbStart = 0;
  paHdbEnd = 0;
  paSize = 0;
  paSzbStart = 0;
  paSzbEnd = 0;

  // Per-connection cache of the last subject published: producers usually
  // repeat subjects, and a byte compare is cheaper than building a string.
  private lastSubj = EMPTY;
  private lastSubjLen = -1;
  private lastGen = -1;
  private lastResult: SublistResult<Subscription> | null = null;
  /** lastSubj's bytes up to the dot after the tokens lastResult depends on; -1: all of it */
  private lastKeyLen = -1;
  /** the number of tokens in lastSubj after lastKeyLen */
  private lastTailToks = 0;
  /** a consumer (client or route) past half of max_pending that this read delivered to (client/stall.ts) */
  stallFor: Connection | null = null;
  private lastAccount: Account | null = null;

  /** `kind` LEAF: a leafnode connection (src/leafnode/), which reads the server-to-server verbs. */
  constructor(server: Server, socket: Socket, cid: number, account: Account, kind: Kind = Kind.CLIENT) {
    super(server, socket, cid, kind);
    this.account = account;
    this.parser = new ProtocolParser(this, kind === Kind.CLIENT ? ParserKind.CLIENT : ParserKind.ROUTER, server.opts.maxControlLine);
  }

  // --- lifecycle --------------------------------------------------------

  /** Who checks this client's credentials: the server's, or the websocket block's (src/websocket). */
  get authenticator(): Authenticator {
    return this.server.auth;
  }

  /** The auth timeout; websocket clients may have their own (websocket.authorization.timeout). */
  protected authTimeoutMs(): number {
    return this.server.authTimeoutMs();
  }

  /**
   * The connection type allowed_connection_types is checked against
   * (jwt.ConnectionTypeStandard); websocket clients report "WEBSOCKET".
   */
  get connectionType(): string {
    return 'STANDARD';
  }

  /** Send INFO and arm the timers of a new connection. */
  begin(authRequired: boolean, infoJSON: string): void {
    this.sendInfo(infoJSON);
    this.activate(authRequired);
    this.server.flushDirty();
  }

  sendInfo(infoJSON: string): void {
    this.enqueue(Buffer.from(`INFO ${infoJSON} \r\n`));
  }

  /**
   * Arm the timers of a new connection. On a TLS connection this happens
   * once the handshake completed (server/server.go createClient).
   */
  activate(authRequired: boolean): void {
    if (this.closed) return;
    // server/server.go createClient arms the ping timer before any CONNECT.
    this.startPingTimer();
    if (authRequired) {
      this.parser.awaitingConnect = true;
      this.authTimer = setTimeout(() => this.authTimeout(), this.authTimeoutMs());
    }
  }

  /** The TLS upgrade started: from now on the connection runs on `sock`. */
  useTLSSocket(sock: TLSSocket): void {
    this.setSocket(sock);
  }

  /** The handshake completed: record what /connz and the auth checks need. */
  tlsEstablished(sock: TLSSocket, version: string, cipher: string): void {
    this.tlsVersion = version;
    this.tlsCipher = cipher;
    this.tlsPeerCertificate = sock.getPeerX509Certificate() ?? null;
  }

  onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.parser.parse(chunk);
    this.server.flushDirty();
    if (this.stallFor !== null) this.checkStall();
  }

  /**
   * A read that filled the read buffer: libuv reads this socket again right
   * away, so the flush waits for the end of the batch (server.flushSoon).
   * As Go's writeLoop coalesces what a readLoop produced, this turns one
   * write per read per subscriber into one per batch of up to 32 reads.
   */
  onDataMore(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.parser.parse(chunk);
    this.server.flushSoon();
    if (this.stallFor !== null) this.checkStall();
  }

  /** A consumer this read delivered to is over half of max_pending: wait for it (client/stall.ts). */
  private checkStall(): void {
    const consumer = this.stallFor!;
    this.stallFor = null;
    stallProducer(this, consumer);
  }

  private authTimeout(): void {
    this.authTimer = null;
    if (this.closed) return;
    this.sendErr(E.ERR_AUTH_TIMEOUT);
    this.server.logger.debug(`${this.logPrefix} - ${E.ERR_AUTH_TIMEOUT}`);
    this.close(ClosedState.AuthenticationTimeout);
    this.server.flushDirty();
  }

  protected clearAuthTimer(): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
  }

  /** -ERR 'Authorization Violation' and close (server/client.go authViolation). */
  authViolation(): void {
    const srv = this.server;
    srv.logger.error(`${this.logPrefix} - ${srv.auth.violationLogText(this)}`);
    this.sendErr(E.ERR_AUTH_VIOLATION);
    this.close(ClosedState.AuthenticationViolation);
    srv.system?.authError(this);
  }

  protected override onClosed(reason: ClosedReason): void {
    this.clearAuthTimer();
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) s.closed = true;
    if (subs.length > 0) {
      const acc = this.account;
      acc.sublist.removeBatch(subs);
      this.server.subsRemoved(acc, subs);
      // Responses still pending towards these reply subjects lose their requester.
      if (acc.rrMap !== null) for (const s of subs) checkReverseEntries(acc, s.subject);
    }
    this.server.removeClient(this, reason, subs);
  }

  protected override onSlowConsumer(): void {
    this.account.slowConsumers++;
  }

  // --- ProtocolHandler ----------------------------------------------------

  onNoConnect(): boolean {
    // server/parser.go: with no_auth_user configured a client may skip CONNECT.
    if (this.authenticator.applyNoAuthUser(this)) {
      this.clearAuthTimer();
      this.connectReceived = true;
      this.parser.awaitingConnect = false;
      return true;
    }
    this.authViolation();
    return false;
  }

  onControl(op: Op, buf: Buffer, start: number, end: number): boolean {
    switch (op) {
      case Op.SUB:
        return this.processSub(buf, start, end);
      case Op.UNSUB:
        return this.processUnsub(buf, start, end);
      case Op.CONNECT:
        return this.processConnect(buf, start, end);
      case Op.INFO:
        // Clients may send INFO; the reference parses and ignores it.
        return this.checkJSON(buf, start, end);
      case Op.ERR: {
        const text = latin1(buf, start, end);
        this.server.logger.error(`${this.logPrefix} - Client Error ${text}`);
        this.close(ClosedState.ParseError);
        return false;
      }
      default:
        // route-only verbs never reach a client parser
        return this.onParseError(ParseErrorKind.UNKNOWN_OP, '', 0, 0, 0), false;
    }
  }

  onPing(): boolean {
    if (this.server.logger.traceEnabled) {
      this.traceIn('PING');
      this.traceOut('PONG');
    }
    this.enqueue(E.PONG_PROTO);
    this.lastPingIn = Date.now();
    if (this.connectReceived && !this.firstPongSent) {
      this.firstPongSent = true;
      // server/client.go processPing: a client that speaks protocol 1 gets an
      // updated INFO before its first PONG if the cluster changed meanwhile.
      if (this.opts.protocol >= 1) this.server.maybeSendInfoUpdate(this);
    }
    return !this.closed;
  }

  onPong(): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('PONG');
    this.gotPong();
    return true;
  }

  onParseError(kind: ParseErrorKind, snippet: string, argLen: number, refState: number, index: number): void {
    if (this.closed) return;
    if (kind === ParseErrorKind.MAX_CONTROL_LINE) {
      this.sendErr(E.ERR_MAX_CONTROL_LINE);
      this.server.logger.error(
        `${this.logPrefix} - ${E.ERR_MAX_CONTROL_LINE}: State ${refState}, max_control_line ${this.parser.maxControlLine}, Buffer len ${argLen} (snip: ${snippet}...)`,
      );
      this.close(ClosedState.MaxControlLineExceeded);
      return;
    }
    this.sendErr(E.ERR_UNKNOWN_PROTOCOL);
    this.server.logger.error(`${this.logPrefix} - Client parser ERROR, state=${refState}, i=${index}: proto='${snippet}...'`);
    // server/client.go readLoop closes a connection whose parse failed as a protocol violation
    this.close(ClosedState.ProtocolViolation);
  }

  /** A protocol error the reference answers by closing without an -ERR (logged). */
  private protocolViolation(msg: string): false {
    this.server.logger.error(`${this.logPrefix} - ${msg}`);
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  private checkJSON(buf: Buffer, start: number, end: number): boolean {
    const err = goJsonSyntaxErrorBytes(buf, start, end);
    return err === null ? true : this.protocolViolation(err);
  }

  // --- CONNECT ------------------------------------------------------------

  private processConnect(buf: Buffer, start: number, end: number): boolean {
    const srv = this.server;
    const text = buf.toString('utf8', start, end);
    if (srv.logger.traceEnabled) this.traceIn('CONNECT', redactPass(text));
    this.clearAuthTimer();
    this.rttMs = Math.max(1, Date.now() - this.start.getTime());
    const opts = this.opts;
    try {
      decodeConnect(buf, start, end, opts);
    } catch (e) {
      return this.protocolViolation((e as Error).message);
    }
    this.connectReceived = true;
    this.parser.awaitingConnect = false;
    this.echo = opts.echo;
    this.headers = opts.headers;
    this.updateLogPrefix();

    if (!this.authenticator.authenticate(this)) {
      // operator mode answers and closes a client over its account's connection limit itself
      if (!this.closed) this.authViolation();
      return false;
    }
    // server/auth.go isClientAuthorized: the CONNECT event once authenticated
    srv.system?.clientConnected(this);
    // server/client.go: account designation in CONNECT is refused outside operator mode.
    if (opts.new_account || opts.account !== '') {
      this.authViolation();
      return false;
    }
    if (opts.protocol < 0 || opts.protocol > 1) {
      this.sendErr(E.ERR_BAD_CLIENT_PROTOCOL);
      srv.logger.error(`${this.logPrefix} - ${E.ERR_BAD_CLIENT_PROTOCOL}`);
      this.close(ClosedState.BadClientProtocolVersion);
      return false;
    }
    if (opts.no_responders && !this.headers) {
      this.sendErr(E.ERR_NO_RESPONDERS_REQUIRES_HEADERS);
      srv.logger.error(`${this.logPrefix} - ${E.ERR_NO_RESPONDERS_REQUIRES_HEADERS}`);
      this.close(ClosedState.NoRespondersRequiresHeaders);
      return false;
    }
    if (opts.verbose) this.sendOK();
    // server/client.go: the first PING timer is short, with jitter.
    this.startPingTimer();
    return true;
  }

  private startPingTimer(): void {
    let d = this.server.opts.pingIntervalMs;
    if (d > 2000) d = 2000;
    d += Math.floor(Math.random() * (d / 5));
    this.setPingTimer(d);
  }

  private updateLogPrefix(): void {
    const o = this.opts;
    let ncs = '';
    if (o.version !== '') ncs = 'v' + o.version;
    if (o.lang !== '') ncs = ncs === '' ? o.lang : `${ncs}:${o.lang}`;
    if (o.name !== '') ncs = ncs === '' ? o.name : `${ncs}:${o.name}`;
    const base = this.connLabel();
    this.logPrefix = ncs === '' ? base : `${base} - ${goQuote(ncs)}`; // server/client.go: %q
  }

  sendOK(): void {
    if (this.server.logger.traceEnabled) this.traceOut('OK');
    this.enqueue(E.OK_PROTO);
  }

  // --- SUB / UNSUB ----------------------------------------------------------

  private processSub(buf: Buffer, start: number, end: number): boolean {
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn('SUB', latin1(buf, start, end));
    const n = splitArgs(buf, start, end, ARGS, 3, true);
    let subject: string;
    let queue: string | null = null;
    let sid: string;
    if (n === 2) {
      subject = latin1(buf, ARGS[0], ARGS[1]);
      sid = latin1(buf, ARGS[2], ARGS[3]);
    } else if (n === 3) {
      subject = latin1(buf, ARGS[0], ARGS[1]);
      queue = latin1(buf, ARGS[2], ARGS[3]);
      sid = latin1(buf, ARGS[4], ARGS[5]);
    } else {
      return this.protocolViolation(`processSub Parse Error: ${goQuoteBytes(buf, start, end)}`);
    }
    this.subscribe(subject, queue, sid);
    return !this.closed;
  }

  /** SUB semantics shared by the wire and internal callers. Returns the subscription or null. */
  subscribe(subject: string, queue: string | null, sid: string): Subscription | null {
    const srv = this.server;
    // server/client.go processSubEx: the "_sys_" queue group is reserved.
    if ((queue !== null && queue === SYS_QUEUE_GROUP) || (this.perms !== null && !this.perms.canSubscribe(subject, queue))) {
      this.sendErr(E.errPermSubscribe(subject, queue));
      srv.logger.error(
        queue === null
          ? `${this.logPrefix} - Subscription Violation - ${this.authUserDesc()}, Subject ${E.goQuoteLog(subject)}, SID ${sid}`
          : `${this.logPrefix} - Subscription Violation - ${this.authUserDesc()}, Subject ${E.goQuoteLog(subject)}, Queue: ${E.goQuoteLog(queue)}, SID ${sid}`,
      );
      return null;
    }
    const maxSubs = this.jwtMaxSubs >= 0 ? this.jwtMaxSubs : srv.opts.maxSubs > 0 ? srv.opts.maxSubs : -1;
    if (maxSubs >= 0 && this.subs.size >= maxSubs) {
      srv.logger.error(`${this.logPrefix} - ${E.ERR_MAX_SUBSCRIPTIONS}`);
      this.sendErr(E.ERR_MAX_SUBSCRIPTIONS);
      return null;
    }
    const existing = this.subs.get(sid);
    if (existing !== undefined) {
      if (this.opts.verbose) this.sendOK();
      return existing;
    }
    const sub = new Subscription(this, subject, queue, sid);
    if (!this.account.sublist.insert(sub)) {
      this.sendErr(E.ERR_INVALID_SUBJECT);
      return null;
    }
    this.subs.set(sid, sub);
    if (this.opts.verbose) this.sendOK();
    srv.subAdded(this.account, sub);
    return sub;
  }

  private authUserDesc(): string {
    return this.server.auth.authUserDescription(this);
  }

  private processUnsub(buf: Buffer, start: number, end: number): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('UNSUB', latin1(buf, start, end));
    const n = splitArgs(buf, start, end, ARGS, 2, true);
    let max = -1;
    if (n === 2) max = parseSize(buf, ARGS[2], ARGS[3]);
    else if (n !== 1) return this.protocolViolation(`processUnsub Parse Error: ${goQuoteBytes(buf, start, end)}`);
    const sid = latin1(buf, ARGS[0], ARGS[1]);
    const sub = this.subs.get(sid);
    let remove = false;
    if (sub !== undefined) {
      if (max > 0 && max > sub.nm) sub.max = max;
      else remove = true;
    }
    if (this.opts.verbose) this.sendOK();
    if (remove) this.unsubscribe(sub!);
    return true;
  }

  unsubscribe(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    if (this.server.logger.traceEnabled) this.server.logger.trace(`${this.logPrefix} - <-> [DELSUB ${sub.sid}]`);
    this.subs.delete(sub.sid);
    const acc = this.account;
    acc.sublist.remove(sub);
    this.server.subsRemoved(acc, [sub]);
    if (acc.rrMap !== null) checkReverseEntries(acc, sub.subject);
  }

  // --- PUB / HPUB -----------------------------------------------------------

  onMsgArgs(op: Op, buf: Buffer, start: number, end: number): number {
    const trace = this.server.logger.traceEnabled;
    if (op === Op.PUB) {
      if (trace) this.traceIn('PUB', latin1(buf, start, end));
      const n = splitArgs(buf, start, end, ARGS, 3, false);
      if (n === 2) {
        this.paReplyStart = this.paReplyEnd = 0;
        this.paSzbStart = ARGS[2];
        this.paSzbEnd = ARGS[3];
      } else if (n === 3) {
        this.paReplyStart = ARGS[2];
        this.paReplyEnd = ARGS[3];
        this.paSzbStart = ARGS[4];
        this.paSzbEnd = ARGS[5];
      } else {
        this.protocolViolation(`processPub Parse Error: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
      this.paHdr = -1;
      this.paSize = parseSize(buf, this.paSzbStart, this.paSzbEnd);
      if (this.paSize < 0) {
        this.protocolViolation(`processPub Bad or Missing Size: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
    } else if (op === Op.HPUB) {
      if (trace) this.traceIn('HPUB', latin1(buf, start, end));
      if (!this.headers) {
        this.protocolViolation('message headers not supported');
        return -1;
      }
      const n = splitArgs(buf, start, end, ARGS, 4, false);
      let hi: number;
      if (n === 3) {
        this.paReplyStart = this.paReplyEnd = 0;
        hi = 2;
      } else if (n === 4) {
        this.paReplyStart = ARGS[2];
        this.paReplyEnd = ARGS[3];
        hi = 4;
      } else {
        this.protocolViolation(`processHeaderPub Parse Error: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
      this.paHdbStart = ARGS[hi];
      this.paHdbEnd = ARGS[hi + 1];
      this.paSzbStart = ARGS[hi + 2];
      this.paSzbEnd = ARGS[hi + 3];
      this.paHdr = parseSize(buf, this.paHdbStart, this.paHdbEnd);
      this.paSize = parseSize(buf, this.paSzbStart, this.paSzbEnd);
      if (this.paHdr < 0) {
        this.protocolViolation(`processHeaderPub Bad or Missing Header Size: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
      if (this.paSize < 0) {
        this.protocolViolation(`processHeaderPub Bad or Missing Total Size: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
      if (this.paHdr > this.paSize) {
        this.protocolViolation(`processHeaderPub Header Size larger then TotalSize: ${goQuoteBytes(buf, start, end)}`);
        return -1;
      }
    } else {
      this.onParseError(ParseErrorKind.UNKNOWN_OP, '', 0, 0, 0);
      return -1;
    }
    this.paBuf = buf;
    this.paSubjStart = ARGS[0];
    this.paSubjEnd = ARGS[1];
    const maxPayload = this.jwtMaxPayload >= 0 ? this.jwtMaxPayload : this.server.opts.maxPayload;
    if (this.paSize > maxPayload) {
      this.server.logger.error(`${this.logPrefix} - maximum payload exceeded: ${this.paSize} vs ${maxPayload}`);
      this.sendErr(E.ERR_MAX_PAYLOAD);
      this.close(ClosedState.MaxPayloadExceeded);
      return -1;
    }
    if (this.opts.pedantic && !isValidLiteralSubjectBytes(buf, ARGS[0], ARGS[1])) {
      this.sendErr(E.ERR_INVALID_PUBLISH_SUBJECT);
    }
    return this.paSize;
  }

  /**
   * The payload of this PUB/HPUB ends in a later read: the reference's
   * clonePubArg re-runs processPub, which sends the pedantic error again
   * (server/parser.go; docs/intended-differences.md, timing-dependent).
   */
  onMsgSpans(): void {
    if (this.opts.pedantic && !isValidLiteralSubjectBytes(this.paBuf, this.paSubjStart, this.paSubjEnd)) {
      this.sendErr(E.ERR_INVALID_PUBLISH_SUBJECT);
    }
  }

  onPub(buf: Buffer, lineStart: number, lineEnd: number, T: Int32Array, n: number, size: number, payloadStart: number): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('PUB', latin1(buf, lineStart, lineEnd));
    this.paBuf = buf;
    this.paSubjStart = T[0];
    this.paSubjEnd = T[1];
    if (n === 3) {
      this.paReplyStart = T[2];
      this.paReplyEnd = T[3];
      this.paSzbStart = T[4];
      this.paSzbEnd = T[5];
    } else {
      this.paReplyStart = this.paReplyEnd = 0;
      this.paSzbStart = T[2];
      this.paSzbEnd = T[3];
    }
    this.paHdr = -1;
    this.paSize = size;
    const maxPayload = this.jwtMaxPayload >= 0 ? this.jwtMaxPayload : this.server.opts.maxPayload;
    if (size > maxPayload) {
      this.server.logger.error(`${this.logPrefix} - maximum payload exceeded: ${size} vs ${maxPayload}`);
      this.sendErr(E.ERR_MAX_PAYLOAD);
      this.close(ClosedState.MaxPayloadExceeded);
      return false;
    }
    if (this.opts.pedantic && !isValidLiteralSubjectBytes(buf, T[0], T[1])) {
      this.sendErr(E.ERR_INVALID_PUBLISH_SUBJECT);
    }
    return this.onMsg(buf, payloadStart);
  }

  onMsg(buf: Buffer, start: number): boolean {
    const size = this.paSize;
    if (this.server.logger.traceEnabled) {
      this.server.logger.trace(`${this.logPrefix} - <<- MSG_PAYLOAD: [${JSON.stringify(buf.toString('latin1', start, start + size))}]`);
    }
    this.inMsgs++;
    this.inBytes += size;
    const srv = this.server;
    srv.stats.inMsgs++;
    srv.stats.inBytes += size;
    const acc = this.account;
    acc.inMsgs++;
    acc.inBytes += size;

    // server/parser.go: the account's subject mappings pick the subject first.
    if (acc.mappings !== null) this.applyMapping(acc);

    // server/client.go processInboundClientMsg: the gateway reply prefix is
    // not a subject clients may publish to, then the publish permissions,
    // then reply subjects reserved for the server.
    const pb = this.paBuf;
    const ss = this.paSubjStart;
    if (pb[ss] === UNDERSCORE && hasPrefix(pb, ss, this.paSubjEnd, GW_REPLY_PREFIX, false)) {
      this.pubPermissionViolation(latin1(pb, ss, this.paSubjEnd));
      return !this.closed;
    }
    const perms = this.perms;
    if (perms !== null && perms.rules.checksPublish) {
      const subj = latin1(pb, ss, this.paSubjEnd);
      if (!perms.canPublish(subj)) {
        this.pubPermissionViolation(subj);
        return !this.closed;
      }
    }
    const rs = this.paReplyStart;
    const re = this.paReplyEnd;
    if (re > rs && (pb[rs] === UNDERSCORE || pb[rs] === DOLLAR) && isReservedReply(pb, rs, re)) {
      this.replySubjectViolation(latin1(pb, rs, re));
      return !this.closed;
    }
    if (this.opts.verbose) this.sendOK();
    // server/client.go processInboundClientMsg: our response to a tracked request of another server
    const rrt = this.rrTracking;
    if (rrt !== null && rrt.size > 0) {
      const subj = latin1(pb, ss, this.paSubjEnd);
      const t0 = rrt.get(subj);
      if (t0 !== undefined) {
        rrt.delete(subj);
        srv.system?.latencyRemoteResponse(this, subj, t0);
      }
    }

    const r = this.matchSubject();
    let delivered = false;
    if (r.psubs.length > 0 || r.qsubs.length > 0) delivered = this.processMsgResults(r, buf, start);
    // importGate first: a byte lookup rules out most subjects without a call
    if (acc.importGate[pb[ss]!] !== 0 && mayImportAt(acc, pb, ss, this.paSubjEnd)) {
      const reply = re > rs ? latin1(pb, rs, re) : '';
      delivered = processImports(this, acc, latin1(pb, ss, this.paSubjEnd), reply, buf, start, false, null) || delivered;
    }
    if (srv.routesActive) delivered = srv.routeMessage(this, buf, start, r) || delivered;
    if (!delivered && this.paReplyEnd > this.paReplyStart && this.opts.no_responders) this.sendNoResponders();
    return !this.closed;
  }

  private trackRemoteReply(reply: string): void {
    const rrt = (this.rrTracking ??= new Map());
    if (rrt.size >= 1024) {
      // server/client.go pruneRemoteTracking: forget requests never answered
      const cutoff = Date.now() - 2 * 60 * 1000;
      for (const [k, t] of rrt) if (t < cutoff) rrt.delete(k);
    }
    rrt.set(reply, Date.now());
  }

  private pubPermissionViolation(subject: string): void {
    this.sendErr(E.errPermPublish(subject));
    this.server.logger.error(`${this.logPrefix} - Publish Violation - ${this.authUserDesc()}, Subject ${E.goQuoteLog(subject)}`);
  }

  /** Re-address the message being processed to its mapped subject (server/accounts.go selectMappedSubject). */
  private applyMapping(acc: Account): void {
    const pb = this.paBuf;
    const subject = latin1(pb, this.paSubjStart, this.paSubjEnd);
    const mapped = selectMappedSubject(acc.mappings!, subject, this.server.clusterName);
    if (mapped === null) return;
    if (this.server.logger.traceEnabled) this.traceIn('MAPPING', `${subject} -> ${mapped}`);
    const reply = this.paReplyEnd > this.paReplyStart ? latin1(pb, this.paReplyStart, this.paReplyEnd) : '';
    const hdb = this.paHdr >= 0 ? latin1(pb, this.paHdbStart, this.paHdbEnd) : '';
    const szb = latin1(pb, this.paSzbStart, this.paSzbEnd);
    setPubArgs(this, mapped, reply, hdb, szb);
  }

  private replySubjectViolation(reply: string): void {
    this.sendErr(E.errPermPublishReply(reply));
    this.server.logger.error(`${this.logPrefix} - Publish Violation - ${this.authUserDesc()}, Reply ${E.goQuoteLog(reply)}`);
  }

  /**
   * Deliver the message being processed into `acc`, re-addressed as
   * `subject` / `reply` and with `hdr` as its header block when given, to
   * that account's local subscribers (stream and service imports, service
   * responses). `nested` runs while the re-addressed message is in place
   * (imports chained in `acc`). The publisher's own arguments are restored.
   */
  deliverAs(
    acc: Account,
    subject: string,
    reply: string,
    hdr: Buffer | null,
    buf: Buffer,
    start: number,
    nested: ((buf: Buffer, start: number) => boolean) | null,
    /** the subject subscribers are matched on when it is not the one the MSG line carries (a JetStream delivery through a stream import) */
    match: string = subject,
  ): boolean {
    const oBuf = this.paBuf;
    const oSubjS = this.paSubjStart;
    const oSubjE = this.paSubjEnd;
    const oRepS = this.paReplyStart;
    const oRepE = this.paReplyEnd;
    const oHdr = this.paHdr;
    const oHdbS = this.paHdbStart;
    const oHdbE = this.paHdbEnd;
    const oSize = this.paSize;
    const oSzbS = this.paSzbStart;
    const oSzbE = this.paSzbEnd;
    let pbuf = buf;
    let pstart = start;
    let hdrLen = oHdr;
    let size = oSize;
    if (hdr !== null) {
      const body = buf.subarray(start + (oHdr > 0 ? oHdr : 0), start + oSize);
      pbuf = Buffer.concat([hdr, body]);
      pstart = 0;
      hdrLen = hdr.length;
      size = pbuf.length;
    }
    // The arguments as a publisher would have sent them: "subj reply hdr size".
    const hdrText = hdrLen > 0 ? String(hdrLen) : '';
    const sizeText = String(size);
    setPubArgs(this, subject, reply, hdrText, sizeText);
    this.paHdr = hdrLen > 0 ? hdrLen : -1;
    this.paSize = size;
    try {
      const r = acc.sublist.match(match);
      let delivered = r.psubs.length > 0 || r.qsubs.length > 0 ? this.deliverLocal(r, pbuf, pstart) : false;
      if (nested !== null) {
        // imports and routes go on with the subject that routes it
        if (match !== subject) setPubArgs(this, match, reply, hdrText, sizeText);
        if (nested(pbuf, pstart)) delivered = true;
      }
      return delivered;
    } finally {
      this.paBuf = oBuf;
      this.paSubjStart = oSubjS;
      this.paSubjEnd = oSubjE;
      this.paReplyStart = oRepS;
      this.paReplyEnd = oRepE;
      this.paHdr = oHdr;
      this.paHdbStart = oHdbS;
      this.paHdbEnd = oHdbE;
      this.paSize = oSize;
      this.paSzbStart = oSzbS;
      this.paSzbEnd = oSzbE;
    }
  }

  /** processMsgResults for cross-account deliveries: local subscribers only. */
  private deliverLocal(r: SublistResult<Subscription>, buf: Buffer, start: number): boolean {
    let delivered = false;
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.client.kind === Kind.CLIENT && this.deliverMsg(sub, buf, start)) delivered = true;
    }
    const qsubs = r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const members = qsubs[g];
      const l = members.length;
      if (l === 0) continue;
      const first = l > 1 ? Math.floor(Math.random() * l) : 0;
      for (let k = 0; k < l; k++) {
        const sub = members[(first + k) % l];
        if (sub.client.kind === Kind.CLIENT && this.deliverMsg(sub, buf, start)) {
          delivered = true;
          break;
        }
      }
    }
    return delivered;
  }

  /** Match the current frame's subject, via the last-subject cache when possible. */
  private matchSubject(): SublistResult<Subscription> {
    const buf = this.paBuf;
    const s = this.paSubjStart;
    const n = this.paSubjEnd - s;
    const acc = this.account;
    const sl = acc.sublist;
    if (this.lastGen === sl.genid && this.lastAccount === acc) {
      const last = this.lastSubj;
      const ln = this.lastSubjLen;
      const m = n < ln ? n : ln;
      let i = 0;
      while (i < m && last[i] === buf[s + i]) i++;
      if (i === n && n === ln) return this.lastResult!;
      // The same first tokens, up to and with the dot after them, and as
      // many tokens after: the same result (Sublist.lastMatchKeyTokens).
      // Saves a string, a cache miss and a trie walk per JetStream ack.
      const kl = this.lastKeyLen;
      if (kl > 0 && i > kl && tailTokensBytes(buf, s + kl + 1, s + n) === this.lastTailToks) return this.lastResult!;
    }
    const r = sl.match(latin1(buf, s, s + n));
    if (this.lastSubj.length < n) this.lastSubj = Buffer.allocUnsafe(Math.max(64, n));
    buf.copy(this.lastSubj, 0, s, s + n);
    this.lastSubjLen = n;
    this.lastGen = sl.genid;
    this.lastResult = r;
    this.lastAccount = acc;
    this.lastKeyLen = -1;
    const k = sl.lastMatchKeyTokens;
    if (k > 0) {
      // the dot that ends token k, then what comes after it
      let p = s - 1;
      for (let t = 0; t < k && p < s + n; t++) p = dotAfter(buf, p + 1, s + n);
      if (p < s + n) {
        this.lastKeyLen = p - s;
        this.lastTailToks = tailTokensBytes(buf, p + 1, s + n);
      }
    }
    return r;
  }

  /** Deliver to plain subscribers and one member of each queue group. */
  protected processMsgResults(r: SublistResult<Subscription>, buf: Buffer, start: number): boolean {
    let delivered = false;
    const psubs = r.psubs;
    if (psubs.length > 1) {
      // Fan-out: writeMsg may reuse the frame it built for the previous
      // subscriber of this message (fanFrame), only while fanKey is this
      // message's key.
      const outer = fanKey;
      fanKey = ++fanSeq;
      try {
        for (let i = 0; i < psubs.length; i++) {
          const sub = psubs[i];
          if (sub.client.kind !== Kind.CLIENT) continue; // routes are handled by routeMessage
          if (this.deliverMsg(sub, buf, start)) delivered = true;
        }
      } finally {
        fanKey = outer;
      }
    } else if (psubs.length === 1) {
      const sub = psubs[0];
      if (sub.client.kind === Kind.CLIENT && this.deliverMsg(sub, buf, start)) delivered = true;
    }
    const qsubs = r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const members = qsubs[g];
      const l = members.length;
      if (l === 0) continue;
      const first = l > 1 ? Math.floor(Math.random() * l) : 0;
      let leafMember: Subscription | null = null;
      let k = 0;
      for (; k < l; k++) {
        const sub = members[(first + k) % l];
        if (sub.client.kind !== Kind.CLIENT) {
          // A member behind a leafnode is only a fallback: local members
          // come first (server/client.go processMsgResults).
          if (sub.client.kind === Kind.LEAF) {
            leafMember ??= sub;
            continue;
          }
          // A member on another server (server/client.go processMsgResults
          // picks among local and remote members alike): the route gets the
          // message with this group's name; routeMessage sends it below.
          this.server.routeQueueTarget(sub);
          break;
        }
        if (this.deliverMsg(sub, buf, start)) {
          delivered = true;
          break;
        }
      }
      if (k === l && leafMember !== null) this.server.routeQueueTarget(leafMember);
    }
    return delivered;
  }

  /**
   * Stage one MSG/HMSG for `sub` (server/client.go deliverMsg + msgHeader).
   * Returns false when the subscription must not get it (echo off, closed,
   * auto-unsubscribe limit passed).
   */
  deliverMsg(sub: Subscription, buf: Buffer, start: number): boolean {
    const target = sub.client as Client;
    if (sub.closed || target.closed) return false;
    if (target === this && !this.echo) return false;
    // A wildcard subscription wider than a subscribe deny does not get the
    // denied subjects (server/client.go checkDenySub).
    const tp = target.perms;
    if (tp !== null && tp.filtersDelivery && tp.deniesDelivery(latin1(this.paBuf, this.paSubjStart, this.paSubjEnd))) return false;
    if (sub.max > 0) {
      sub.nm++;
      if (sub.nm > sub.max) {
        target.unsubscribe(sub);
        return false;
      }
      target.writeMsg(this, sub, buf, start);
      if (sub.nm === sub.max) target.unsubscribe(sub);
      return true;
    }
    sub.nm++;
    target.writeMsg(this, sub, buf, start);
    return true;
  }

  /**
   * Write "MSG subj sid [reply] size\r\npayload\r\n" (or HMSG) into this
   * client's staging. `src` is the publishing client, or a route relaying a
   * message from another server.
   */
  writeMsg(src: PubArgSource, sub: Subscription, buf: Buffer, start: number): void {
    const pbuf = src.paBuf;
    const subjS = src.paSubjStart;
    const subjE = src.paSubjEnd;
    const repS = src.paReplyStart;
    const repE = src.paReplyEnd;
    const perms = this.perms;
    if (perms !== null) {
      // Also for messages relayed by routes, which do not go through deliverMsg.
      if (perms.filtersDelivery && perms.deniesDelivery(latin1(pbuf, subjS, subjE))) return;
      // allow_responses: the reply subject of what we deliver may be answered.
      if (perms.replies !== null && repE > repS) perms.trackReply(latin1(pbuf, repS, repE));
    }
    // server/client.go deliverMsg → trackRemoteReply: a tracked request relayed by another server
    if (repE - repS > 15 && pbuf[repE - 1] === 0x54 && pbuf[repE - 2] === 0x2e && (src as unknown as Connection).kind === Kind.ROUTER) {
      if (this.server.system !== null) this.trackRemoteReply(latin1(pbuf, repS, repE));
    }
    const hasHdr = src.paHdr > 0;
    const withHdr = hasHdr && this.headers;
    let payStart = start;
    let payLen = src.paSize;
    let sizeStr: string | null = null;
    if (hasHdr && !withHdr) {
      // Strip headers for a subscriber that did not ask for them; the size changes.
      payStart += src.paHdr;
      payLen -= src.paHdr;
      sizeStr = String(payLen);
    }
    const sid = sub.sidBytes;
    const subjLen = subjE - subjS;
    const repLen = repE - repS;
    const sizeLen = sizeFieldLen(src, withHdr, sizeStr);
    const total =
      (withHdr ? 5 : 4) + subjLen + sid.length + (repLen > 0 ? repLen + 1 : 0) + sizeLen + CRLF_LEN + payLen + CRLF_LEN;

    const out = this.out;
    const dst = out.reserve(total);
    const view = out.view;
    setCopyTarget(view);
    let p = out.pos;
    const fc = fanFrame;
    const fk = fanKey;
    if (fk !== 0 && fc.key === fk && fc.total === total && fc.withHdr === withHdr && sizeStr === null && sameBytes(fc.sid, sid)) {
      // The same frame was just built for another subscriber of this message
      // (fan-out, equal sids): one copy instead of building it again.
      p = copyFrame(fc.view, fc.slab, fc.pos, total, view, dst, p);
    } else {
      const prefix = withHdr ? HMSG_PREFIX : MSG_PREFIX;
      for (let i = 0; i < prefix.length; i++) dst[p++] = prefix[i];
      p = copyBytes(pbuf, subjS, subjE, dst, p);
      p = copyBytes(sid, 0, sid.length, dst, p);
      if (repLen > 0) {
        p = copyBytes(pbuf, repS, repE, dst, p);
        dst[p++] = SP;
      }
      p = copySizeAndPayload(src, withHdr, sizeStr, buf, payStart, payLen, dst, p);
      if (fk !== 0 && sizeStr === null) {
        fc.key = fk;
        fc.slab = dst;
        fc.view = view;
        fc.pos = p - total;
        fc.total = total;
        fc.withHdr = withHdr;
        fc.sid = sid;
      }
    }
    out.commit(total);
    if (this.server.logger.traceEnabled) {
      this.traceOut(withHdr ? 'HMSG' : 'MSG', dst.toString('latin1', p - total + (withHdr ? 5 : 4), p - payLen - 4));
    }
    this.outMsgs++;
    this.outBytes += payLen;
    const srv = this.server;
    srv.stats.outMsgs++;
    srv.stats.outBytes += payLen;
    const acc = this.account;
    acc.outMsgs++;
    acc.outBytes += payLen;
    this.afterStage();
    // Past half of max_pending a publishing client waits for us once its read is done.
    if (this.pendingBase + out.staged > srv.opts.maxPending / 2 && src instanceof Client) src.stallFor = this;
  }

  /** HMSG with a 503 status to the requester's own reply subscription (server/client.go). */
  private sendNoResponders(): void {
    const reply = latin1(this.paBuf, this.paReplyStart, this.paReplyEnd);
    const r = this.account.sublist.match(reply);
    for (const sub of r.psubs) {
      if (sub.client === this) {
        this.enqueue(Buffer.from(`HMSG ${reply} ${sub.sid}${NO_RESPONDERS_SUFFIX}`, 'latin1'));
        return;
      }
    }
  }
}

/**
 * The last MSG frame built during a fan-out (Client#processMsgResults): for
 * the message whose key is fanKey (0: no fan-out in progress), where it lies
 * in which slab, and what it depends on besides the message (sid, headers).
 * The slab region stays intact until the end of the read: flushes and slab
 * recycling happen only after the delivery loop.
 */
interface FanFrame {
  key: number;
  slab: Buffer;
  view: DataView;
  pos: number;
  total: number;
  withHdr: boolean;
  sid: Buffer;
}
const fanFrame: FanFrame = { key: 0, slab: EMPTY, view: new DataView(new ArrayBuffer(0)), pos: 0, total: 0, withHdr: false, sid: EMPTY };
let fanKey = 0;
let fanSeq = 0;

/** The index of the first '.' in buf[from, end), or end. */
function dotAfter(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] !== 0x2e) i++;
  return i;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copy one whole frame from another slab (its view sv) into dst at d. */
function copyFrame(sv: DataView, src: Buffer, s: number, n: number, dv: DataView, dst: Buffer, d: number): number {
  if (n >= 512) {
    src.copy(dst, d, s, s + n);
    return d + n;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) dv.setUint32(d + i, sv.getUint32(s + i, true), true);
  for (; i < n; i++) dst[d + i] = src[s + i];
  return d + n;
}

/** server/client.go removePassFromTrace: never log a password. */
function redactPass(text: string): string {
  if (!text.includes('pass')) return text;
  return text.replace(/("?\s*pass\S*?"?\s*[:=]\s*"?)(([^",\r\n}])*)/, '$1[REDACTED]');
}

/**
 * The parsed arguments of the message being delivered, as offsets into
 * paBuf: what writeMsg reads from a publishing Client or a Route.
 */
export interface PubArgSource {
  readonly paBuf: Buffer;
  readonly paSubjStart: number;
  readonly paSubjEnd: number;
  readonly paReplyStart: number;
  readonly paReplyEnd: number;
  /** header length, -1 (or 0) when there is no header */
  readonly paHdr: number;
  readonly paHdbStart: number;
  readonly paHdbEnd: number;
  readonly paSize: number;
  readonly paSzbStart: number;
  readonly paSzbEnd: number;
}

export type { ClientPermissions } from '../auth/permissions.js';

/** PubArgSource's offset fields, writable: what setPubArgs lays out. */
export type PubArgLayout = { -readonly [K in Exclude<keyof PubArgSource, 'paHdr' | 'paSize'>]: PubArgSource[K] };

/**
 * Point `t` at a fresh "subject reply hdr size" argument buffer, laid out as
 * a publisher would have sent it (mappings, imports and routed
 * re-addressing all build MSG lines from it). `hdb`/`szb` are the header and
 * size fields as text ('' for no header).
 */
export function setPubArgs(t: PubArgLayout, subject: string, reply: string, hdb: string, szb: string): void {
  const sl = subject.length;
  const rl = reply.length;
  t.paBuf = Buffer.from(`${subject} ${reply} ${hdb} ${szb}`, 'latin1');
  t.paSubjStart = 0;
  t.paSubjEnd = sl;
  t.paReplyStart = rl > 0 ? sl + 1 : 0;
  t.paReplyEnd = rl > 0 ? sl + 1 + rl : 0;
  t.paHdbStart = sl + rl + 2;
  t.paHdbEnd = t.paHdbStart + hdb.length;
  t.paSzbStart = t.paHdbEnd + 1;
  t.paSzbEnd = t.paSzbStart + szb.length;
}


const UNDERSCORE = 0x5f;
const DOLLAR = 0x24;
/** server/client.go sysGroup */
const SYS_QUEUE_GROUP = '_sys_';
const GW_REPLY_PREFIX = '_GR_.';
const SERVICE_REPLY_PREFIX = '_R_.';
const JS_ACK_PREFIX = '$JS.ACK.';

/** buf[s, e) starts with `prefix` (and, unless `orEqual`, is longer than it). */
function hasPrefix(buf: Buffer, s: number, e: number, prefix: string, orEqual: boolean): boolean {
  const n = prefix.length;
  if (e - s < n || (!orEqual && e - s === n)) return false;
  for (let i = 0; i < n; i++) if (buf[s + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** server/client.go isReservedReply: service import replies, JetStream acks, gateway replies. */
function isReservedReply(buf: Buffer, s: number, e: number): boolean {
  return (
    hasPrefix(buf, s, e, SERVICE_REPLY_PREFIX, true) ||
    hasPrefix(buf, s, e, JS_ACK_PREFIX, false) ||
    hasPrefix(buf, s, e, GW_REPLY_PREFIX, false)
  );
}

