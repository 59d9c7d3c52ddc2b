// One route: a connection to another server of the cluster, speaking the
// 2.x route protocol of nats-server 2.9.10 (server/route.go). The read side
// handles CONNECT/INFO, interest (RS+/RS-/LS+/LS-) and routed messages
// (RMSG/HMSG/LMSG); the write side stages RS+/RS- and RMSG/HMSG frames with
// the same slab staging clients use. Topology decisions (registration,
// duplicates, gossip, reconnects) belong to the ClusterManager.

import type { Socket } from 'node:net';
import { Connection, ClosedState, Kind, type ClosedReason } from '../client/connection.js';
import { Subscription } from '../client/subscription.js';
import type { Client, PubArgSource } from '../client/client.js';
import { ProtocolParser, ParserKind, ParseErrorKind, Op, type ProtocolHandler } from '../protocol/parser.js';
import * as E from '../protocol/errors.js';
import type { Account, ServiceImport } from '../accounts/account.js';
import { addResponseImport, mayImportAt, removeResponseImport } from '../accounts/imports.js';
import { selectMappedSubject } from '../accounts/mapping.js';
import { matchLiteral } from '../subjects/validate.js';
import { ReAddressed } from './imports.js';
import type { SublistResult } from '../subjects/sublist.js';
import type { Server } from '../server/server.js';
import type { SubjectPermission } from '../config/options.js';
import {
  decodePeerConnect,
  decodeRouteInfo,
  parseRemoteSub,
  parseRemoteUnsub,
  parseRoutedArgs,
  parseSizeBytes,
  RoutedOp,
  subProto,
  leafOriginSubProto,
  type RoutedArgs,
} from './proto.js';
import type { RouteURL } from './url.js';
import type { RoutePerms } from './perms.js';
import type { ClusterManager } from './cluster.js';
import type { MonitoredRoute, MonitoredSub } from '../monitor/routes.js';
import { copyBytes, copySizeAndPayload, setCopyTarget, sizeFieldLen } from '../client/copy.js';

export const enum RouteType {
  /** learned from gossip */
  Implicit = 0,
  /** configured in `routes` */
  Explicit = 1,
}

/** What a route keeps about one interest the peer registered with RS+/LS+. */
interface RemoteSub {
  sub: Subscription;
  acc: Account;
}

const EMPTY = Buffer.alloc(0);
const RMSG_PREFIX = Buffer.from('RMSG ');
const HMSG_PREFIX = Buffer.from('HMSG ');
const LMSG_PREFIX = Buffer.from('LMSG ');
const SP = 32;
const PLUS = 0x2b;
const PIPE = 0x7c;

/** The reference's error for a client that dials the route port (server/errors.go). */
export const ERR_CLIENT_CONNECTED_TO_ROUTE_PORT = 'attempted to connect to route port';

// Scratch for picking a local queue member of a routed message: grown, never shrunk.
let localMembers: Subscription[] = [];

export class Route extends Connection implements ProtocolHandler, RoutedArgs, PubArgSource, MonitoredRoute {
  readonly parser: ProtocolParser;
  /** we dialed it (configured or gossiped URL) */
  didSolicit: boolean;
  url: RouteURL | null;
  routeType: RouteType;
  /** set when a duplicate of this route was dropped: reconnect if this one goes too */
  retry = false;
  /** suppress the reconnect on close (shutdown, route to self, removed) */
  noReconnect = false;

  // what the peer told us
  remoteId = '';
  remoteName = '';
  /** the peer runs JetStream (its route INFO says so, server/route.go c.route.jetstream) */
  remoteJetStream = false;
  lnoc = false;
  /** both sides support headers: HMSG may be sent */
  headers = false;
  remoteAuthRequired = false;
  remoteTlsRequired = false;
  remoteImport: SubjectPermission | undefined;
  remoteExport: SubjectPermission | undefined;
  connectURLs: string[] = [];
  /** the peer's leafnode URL from its INFO, '' when it has none */
  leafnodeURL = '';
  infoReceived = false;
  connectReceived = false;
  verbose = false;
  /** in the manager's registry (after the INFO exchange) */
  registered = false;

  /** cluster permissions (replaced on reload) */
  perms: RoutePerms | null;
  /** interest of the peer, keyed as RS- names it: "<account> <subject>[ <queue>]" */
  readonly subs = new Map<string, RemoteSub>();

  // Per-message route target bookkeeping (see ClusterManager.addTarget): the
  // message sequence this route was last added for and the queue names
  // ("q1 q2 ") it is asked to serve.
  tgtSeq = -1;
  tgtQs: Buffer = Buffer.allocUnsafe(64);
  tgtQsLen = 0;

  // The routed message being parsed; offsets into paBuf (RoutedArgs).
  paBuf: Buffer = EMPTY;
  paOriginStart = 0;
  paOriginEnd = 0;
  paAccStart = 0;
  paAccEnd = 0;
  paSubjStart = 0;
  paSubjEnd = 0;
  paReplyStart = 0;
  paReplyEnd = 0;
  paHdr = -1;
  paHdbStart = 0;
  paHdbEnd = 0;
  paSize = 0;
  paSzbStart = 0;
  paSzbEnd = 0;
  paQueues = new Int32Array(16);
  paNumQueues = 0;
  /** the frame being read is a PUB/HPUB, which routes parse and drop */
  private paIgnored = false;

  // account + subject match cache for routed messages (server/client.go
  // getAccAndResultFromCache keeps a per-route cache for the same reason).
  private lastAccName = Buffer.allocUnsafe(32);
  private lastAccLen = -1;
  private lastAcc: Account | null = null;
  private lastSubj = Buffer.allocUnsafe(64);
  private lastSubjLen = -1;
  private lastGen = -1;
  private lastResult: SublistResult<Subscription> | null = null;
  private lastResultAcc: Account | null = null;

  private authTimer: NodeJS.Timeout | null = null;
  /** bytes handed to the kernel at the last write-deadline check */
  private sentMark = -1;

  constructor(
    server: Server,
    readonly mgr: ClusterManager,
    socket: Socket,
    cid: number,
    url: RouteURL | null,
    routeType: RouteType,
    perms: RoutePerms | null,
  ) {
    super(server, socket, cid, Kind.ROUTER);
    this.didSolicit = url !== null;
    this.url = url;
    this.routeType = routeType;
    this.perms = perms;
    this.parser = new ProtocolParser(this, ParserKind.ROUTER, server.opts.maxControlLine);
  }

  /**
   * Start the protocol (server/route.go createRoute): arm the first PING,
   * the auth timer of an inbound route that must authenticate, and send
   * CONNECT (when we dialed) followed by our INFO.
   */
  begin(infoLine: Buffer, connectLine: Buffer | null, authTimeoutMs: number): void {
    // First PING after a second, with up to 20% jitter (server/client.go setFirstPingTimer).
    let d = this.server.opts.pingIntervalMs;
    if (d > 1000) d = 1000;
    d += Math.floor(Math.random() * (d / 5));
    this.setPingTimer(d);
    if (authTimeoutMs > 0) {
      this.parser.awaitingConnect = true;
      this.authTimer = setTimeout(() => this.authTimeout(), authTimeoutMs);
    }
    if (connectLine !== null) {
      if (this.server.logger.debugEnabled) this.server.logger.debug(`${this.logPrefix} - Route connect msg sent`);
      this.enqueue(connectLine);
    }
    this.enqueue(infoLine);
    this.server.flushDirty();
  }

  onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.parser.parse(chunk);
    this.server.flushDirty();
  }

  private authTimeout(): void {
    this.authTimer = null;
    if (this.closed) return;
    this.sendErr(E.ERR_AUTH_TIMEOUT);
    this.server.logger.debug(`${this.logPrefix} - ${E.ERR_AUTH_TIMEOUT}`);
    this.close(ClosedState.AuthenticationTimeout);
    this.server.flushDirty();
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
  }

  /** server/client.go authViolation, as it reads for a route. */
  authViolation(user: string): void {
    const srv = this.server;
    if (srv.auth.hasUsers()) srv.logger.error(`${this.logPrefix} - authentication error - User ${JSON.stringify(user)}`);
    else srv.logger.error(`${this.logPrefix} - authentication error`);
    this.sendErr(E.ERR_AUTH_VIOLATION);
    this.close(ClosedState.AuthenticationViolation);
  }

  /** Close after a protocol error the reference logs and answers with nothing. */
  private protocolError(msg: string): false {
    this.server.logger.error(`${this.logPrefix} - ${msg}`);
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  protected override onClosed(reason: ClosedReason): void {
    this.clearAuthTimer();
    this.parser.stop();
    this.mgr.routeClosed(this, reason);
  }

  /** Remove every interest of the peer from the account sublists (server/route.go removeRemoteSubs). */
  removeRemoteSubs(): void {
    if (this.subs.size === 0) return;
    const byAcc = new Map<Account, Subscription[]>();
    for (const { sub, acc } of this.subs.values()) {
      sub.closed = true;
      let l = byAcc.get(acc);
      if (l === undefined) byAcc.set(acc, (l = []));
      l.push(sub);
    }
    this.subs.clear();
    const ln = this.server.leafnodes;
    for (const [acc, list] of byAcc) {
      if (ln !== null) for (const sub of list) ln.routeSubChanged(acc, sub, sub.queue !== null ? -sub.queueWeight : -1);
      if (this.server.logger.debugEnabled) {
        this.server.logger.debug(`${this.logPrefix} - Removing ${list.length} subscriptions for account ${JSON.stringify(acc.name)}`);
      }
      acc.sublist.removeBatch(list);
    }
  }

  // --- monitoring (MonitoredRoute) --------------------------------------------

  get isConfigured(): boolean {
    return this.routeType === RouteType.Explicit;
  }

  /** the peer's import permissions from its INFO (as /routez shows them) */
  get importPermissions(): SubjectPermission | undefined {
    return this.remoteImport;
  }

  get exportPermissions(): SubjectPermission | undefined {
    return this.remoteExport;
  }

  pendingBytes(): number {
    return this.out.staged + this.socket.writableLength;
  }

  *subscriptions(): Iterable<MonitoredSub> {
    for (const e of this.subs.values()) yield e.sub;
  }

  numSubs(): number {
    return this.subs.size;
  }

  // --- ProtocolHandler ----------------------------------------------------

  onNoConnect(): boolean {
    // An inbound route that must authenticate sent something before CONNECT.
    this.authViolation('');
    return false;
  }

  onControl(op: Op, buf: Buffer, start: number, end: number): boolean {
    switch (op) {
      case Op.RSUB:
        return this.processRemoteSub(buf, start, end, false);
      case Op.LSUB:
        return this.processRemoteSub(buf, start, end, true);
      case Op.RUNSUB:
      case Op.LUNSUB:
      case Op.UNSUB:
        // server/parser.go hands a route's UNSUB to processRemoteUnsub too.
        return this.processRemoteUnsub(op, buf, start, end);
      case Op.CONNECT:
        return this.processConnect(buf.toString('utf8', start, end));
      case Op.INFO:
        return this.processInfo(buf.toString('utf8', start, end));
      case Op.ERR: {
        const text = buf.toString('latin1', start, end);
        this.server.logger.error(`${this.logPrefix} - Route Error ${text}`);
        this.close(ClosedState.ParseError);
        return false;
      }
      case Op.ASUB:
      case Op.AUNSUB:
      case Op.SUB:
        // A+/A- are gateway-only and SUB client-only: server/parser.go
        // parses them on a route and does nothing.
        return true;
      default:
        return true;
    }
  }

  onPing(): boolean {
    if (this.server.logger.traceEnabled) {
      this.traceIn('PING');
      this.traceOut('PONG');
    }
    this.enqueue(E.PONG_PROTO);
    this.lastPingIn = Date.now();
    return !this.closed;
  }

  onPong(): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('PONG');
    this.gotPong();
    return true;
  }

  onParseError(_kind: ParseErrorKind, snippet: string, _argLen: number, refState = 0, index = 0): void {
    if (this.closed) return;
    this.sendErr(E.ERR_UNKNOWN_PROTOCOL);
    this.server.logger.error(`${this.logPrefix} - Router parser ERROR, state=${refState}, i=${index}: proto='${snippet}...'`);
    this.close(ClosedState.ProtocolViolation);
  }

  // --- CONNECT / INFO -------------------------------------------------------

  private processConnect(text: string): boolean {
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn('CONNECT', redactPass(text));
    this.clearAuthTimer();
    let pc;
    try {
      pc = decodePeerConnect(text);
    } catch (e) {
      return this.protocolError((e as Error).message);
    }
    this.connectReceived = true;
    this.parser.awaitingConnect = false;
    this.verbose = pc.verbose;
    // server/client.go processConnect: authentication, then the account
    // designation check, then the route-specific part (processRouteConnect).
    if (!this.mgr.isRouterAuthorized(this, pc.user, pc.pass)) {
      this.authViolation(pc.user);
      return false;
    }
    if (pc.newAccount || pc.account !== '') {
      this.authViolation(pc.user);
      return false;
    }
    if (pc.lang !== '') {
      // Clients send "lang"; routes never do.
      this.sendErr(ERR_CLIENT_CONNECTED_TO_ROUTE_PORT);
      srv.logger.error(`${this.logPrefix} - ${ERR_CLIENT_CONNECTED_TO_ROUTE_PORT}`);
      this.close(ClosedState.WrongPort);
      // The reference logs the returned error once more on its way out.
      srv.logger.error(`${this.logPrefix} - ${ERR_CLIENT_CONNECTED_TO_ROUTE_PORT}`);
      return false;
    }
    if (pc.gateway !== '') {
      const txt = `Rejecting connection from gateway ${JSON.stringify(pc.gateway)} on the Route port`;
      srv.logger.error(`${this.logPrefix} - ${txt}`);
      this.sendErr(txt);
      this.close(ClosedState.WrongGateway);
      srv.logger.error(`${this.logPrefix} - wrong gateway`);
      return false;
    }
    if (!this.mgr.checkPeerClusterName(this, pc.cluster, pc.dynamic)) return false;
    this.remoteId = pc.name;
    this.lnoc = pc.lnoc;
    this.headers = !srv.opts.noHeaderSupport && pc.headers;
    return !this.closed;
  }

  private processInfo(text: string): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('INFO', text);
    let info;
    try {
      info = decodeRouteInfo(text);
    } catch (e) {
      return this.protocolError((e as Error).message);
    }
    this.mgr.processRouteInfo(this, info);
    return !this.closed;
  }

  // --- interest -------------------------------------------------------------

  private processRemoteSub(buf: Buffer, start: number, end: number, hasOrigin: boolean): boolean {
    const srv = this.server;
    const arg = buf.toString('latin1', start, end);
    if (srv.logger.traceEnabled) this.traceIn(hasOrigin ? 'LS+' : 'RS+', arg);
    const p = parseRemoteSub(arg, hasOrigin);
    if (typeof p === 'string') return this.protocolError(p);
    const acc = srv.lookupAccount(p.account);
    if (acc === undefined) {
      this.mgr.unknownAccount(this, p.account, `Unknown account ${JSON.stringify(p.account)} for remote subject ${JSON.stringify(p.subject)}`);
      return true;
    }
    if (this.perms !== null && !this.perms.canExport(p.subject)) {
      if (srv.logger.debugEnabled) {
        srv.logger.debug(`${this.logPrefix} - Can not export ${JSON.stringify(p.subject)}, ignoring remote subscription request`);
      }
      return true;
    }
    const existing = this.subs.get(p.key);
    if (existing === undefined) {
      const sub = new Subscription(this, p.subject, p.queue, p.key);
      if (p.queue !== null) sub.queueWeight = p.weight;
      if (p.origin !== null) sub.origin = p.origin;
      if (!acc.sublist.insert(sub)) {
        srv.logger.error(`${this.logPrefix} - Could not insert subscription: invalid subject`);
        this.sendErr('Invalid Subscription');
        return !this.closed;
      }
      this.subs.set(p.key, { sub, acc });
      // Leafnodes we are the hub of hear of the cluster's interest (server/route.go processRemoteSub: updateLeafNodes).
      const ln = srv.leafnodes;
      if (ln !== null) ln.routeSubChanged(acc, sub, p.queue !== null ? p.weight : 1);
    } else if (p.queue !== null) {
      // A queue group's RS+ repeats with the peer's new member count.
      const delta = p.weight - existing.sub.queueWeight;
      existing.sub.queueWeight = p.weight;
      existing.acc.sublist.updateRemoteQSub(existing.sub);
      const ln = srv.leafnodes;
      if (ln !== null && delta !== 0) ln.routeSubChanged(existing.acc, existing.sub, delta);
    }
    if (this.verbose) this.enqueue(E.OK_PROTO);
    return true;
  }

  private processRemoteUnsub(op: Op, buf: Buffer, start: number, end: number): boolean {
    const srv = this.server;
    const arg = buf.toString('latin1', start, end);
    if (srv.logger.traceEnabled && op !== Op.UNSUB) this.traceIn(op === Op.RUNSUB ? 'RS-' : 'LS-', arg);
    const p = parseRemoteUnsub(arg);
    if (typeof p === 'string') return this.protocolError(p);
    const acc = srv.lookupAccount(p.account);
    if (acc === undefined) {
      if (srv.logger.debugEnabled) {
        srv.logger.debug(`${this.logPrefix} - Unknown account ${JSON.stringify(p.account)} for subject ${JSON.stringify(p.subject)}`);
      }
      return true;
    }
    // RS- carries exactly the key the RS+ registered.
    const entry = this.subs.get(arg);
    if (entry !== undefined) {
      this.subs.delete(arg);
      entry.sub.closed = true;
      entry.acc.sublist.remove(entry.sub);
      const ln = srv.leafnodes;
      if (ln !== null) ln.routeSubChanged(entry.acc, entry.sub, entry.sub.queue !== null ? -entry.sub.queueWeight : -1);
    }
    if (this.verbose) this.enqueue(E.OK_PROTO);
    return true;
  }

  /** Send RS+ (n > 0, with the queue weight) or RS- for one interest of ours. */
  sendInterest(accName: string, subject: string, queue: string | null, n: number, origin: string | null = null): void {
    if (this.closed) return;
    if (this.perms !== null && !this.perms.canImport(subject)) return;
    const line = origin !== null && this.lnoc ? leafOriginSubProto(n > 0, origin, accName, subject, queue, n) : subProto(n > 0, accName, subject, queue, n);
    if (this.server.logger.traceEnabled) this.traceOut(line.slice(0, -2));
    this.enqueue(Buffer.from(line, 'latin1'));
  }

  // --- routed messages --------------------------------------------------------

  onMsgArgs(op: Op, buf: Buffer, start: number, end: number): number {
    const trace = this.server.logger.traceEnabled;
    let rop: RoutedOp;
    switch (op) {
      case Op.RMSG:
        rop = RoutedOp.RMSG;
        break;
      case Op.HMSG:
        rop = RoutedOp.HMSG;
        break;
      case Op.LMSG:
        rop = RoutedOp.LMSG;
        break;
      default:
        return this.pubOnRoute(op, buf, start, end);
    }
    if (trace) this.traceIn(rop === RoutedOp.RMSG ? 'RMSG' : rop === RoutedOp.HMSG ? 'HMSG' : 'LMSG', buf.toString('latin1', start, end));
    const err = parseRoutedArgs(rop, buf, start, end, this);
    if (err !== null) {
      this.protocolError(err);
      return -1;
    }
    this.paIgnored = false;
    return this.paSize;
  }

  /**
   * PUB/HPUB on a route: the reference parses them like a client's and then
   * drops the message (no account). Only the framing errors close the route.
   */
  private pubOnRoute(op: Op, buf: Buffer, start: number, end: number): number {
    const text = buf.toString('latin1', start, end);
    const args = text.split(/[ \t]+/).filter((s) => s.length > 0);
    this.paIgnored = true;
    this.paBuf = buf;
    if (op === Op.PUB) {
      if (this.server.logger.traceEnabled) this.traceIn('PUB', text);
      if (args.length !== 2 && args.length !== 3) return this.protocolError(`processPub Parse Error: ${E.goQuote(text)}`), -1;
      const size = sizeOf(args[args.length - 1]);
      if (size < 0) return this.protocolError(`processPub Bad or Missing Size: ${E.goQuote(text)}`), -1;
      this.paSize = size;
      this.paSubjStart = start;
      this.paSubjEnd = start + args[0].length;
      return size;
    }
    if (op === Op.HPUB) {
      if (this.server.logger.traceEnabled) this.traceIn('HPUB', text);
      if (!this.headers) return this.protocolError('message headers not supported'), -1;
      if (args.length !== 3 && args.length !== 4) return this.protocolError(`processHeaderPub Parse Error: ${E.goQuote(text)}`), -1;
      const hdr = sizeOf(args[args.length - 2]);
      const size = sizeOf(args[args.length - 1]);
      if (hdr < 0) return this.protocolError(`processHeaderPub Bad or Missing Header Size: ${E.goQuote(text)}`), -1;
      if (size < 0) return this.protocolError(`processHeaderPub Bad or Missing Total Size: ${E.goQuote(text)}`), -1;
      if (hdr > size) return this.protocolError(`processHeaderPub Header Size larger then TotalSize: ${E.goQuote(text)}`), -1;
      this.paSize = size;
      this.paSubjStart = start;
      this.paSubjEnd = start + args[0].length;
      return size;
    }
    this.onParseError(ParseErrorKind.UNKNOWN_OP, '', 0);
    return -1;
  }

  onMsg(buf: Buffer, start: number): boolean {
    const size = this.paSize;
    const srv = this.server;
    if (srv.logger.traceEnabled) {
      srv.logger.trace(`${this.logPrefix} - <<- MSG_PAYLOAD: [${JSON.stringify(buf.toString('latin1', start, start + size))}]`);
    }
    this.inMsgs++;
    this.inBytes += size;
    srv.stats.inMsgs++;
    srv.stats.inBytes += size;
    if (this.verbose) this.enqueue(E.OK_PROTO);
    if (this.paIgnored) {
      if (srv.logger.debugEnabled) {
        const subj = this.paBuf.toString('latin1', this.paSubjStart, this.paSubjEnd);
        srv.logger.debug(`${this.logPrefix} - Unknown account "" for routed message on subject: ${JSON.stringify(subj)}`);
      }
      return true;
    }
    const acc = this.lookupAccount();
    if (acc === null) return true;
    acc.inMsgs++;
    acc.inBytes += size;
    const r = this.matchSubject(acc);
    // A JetStream delivery: local clients get the stored subject the reply
    // carries after its last '@' and the reply without it; routes and leafs
    // get the message as it came (server/client.go processMsgResults).
    let local: PubArgSource = this;
    const rs = this.paReplyStart;
    if (this.paReplyEnd - rs > JS_ACK.length && this.paBuf.compare(JS_ACK, 0, JS_ACK.length, rs, rs + JS_ACK.length) === 0) {
      local = this.jsDecoded();
    }
    if (r.psubs.length > 0 || r.qsubs.length > 0) {
      this.processMsgResults(acc, r, buf, start, local);
      // Leafnodes we are the hub of get what the cluster routes to us (server/client.go processMsgResults).
      const ln = srv.leafnodes;
      if (ln !== null) {
        const origin = this.paOriginEnd > this.paOriginStart ? this.paBuf.toString('latin1', this.paOriginStart, this.paOriginEnd) : '';
        ln.fromRoute(this, acc, r, buf, start, origin);
      }
    }
    if (acc.crossAccount) this.processRoutedImports(acc, buf, start, local);
    return !this.closed;
  }

  /** The message as local clients see it when its $JS.ACK reply carries a stored subject after '@'. */
  private jsDecoded(): PubArgSource {
    const reply = this.paBuf.toString('latin1', this.paReplyStart, this.paReplyEnd);
    const li = reply.lastIndexOf('@');
    if (li === -1 || li === reply.length - 1) return this;
    return new ReAddressed(reply.slice(li + 1), reply.slice(0, li), this);
  }

  private lookupAccount(): Account | null {
    const buf = this.paBuf;
    const s = this.paAccStart;
    const n = this.paAccEnd - s;
    if (n === this.lastAccLen && this.lastAcc !== null) {
      const last = this.lastAccName;
      let i = 0;
      while (i < n && last[i] === buf[s + i]) i++;
      if (i === n) return this.lastAcc;
    }
    const name = buf.toString('latin1', s, s + n);
    const acc = this.server.lookupAccount(name);
    if (acc === undefined) {
      if (this.server.logger.debugEnabled) {
        this.server.logger.debug(
          `${this.logPrefix} - Unknown account ${JSON.stringify(name)} for routed message on subject: ${JSON.stringify(buf.toString('latin1', this.paSubjStart, this.paSubjEnd))}`,
        );
      }
      return null;
    }
    if (this.lastAccName.length < n) this.lastAccName = Buffer.allocUnsafe(n * 2);
    buf.copy(this.lastAccName, 0, s, s + n);
    this.lastAccLen = n;
    this.lastAcc = acc;
    return acc;
  }

  private matchSubject(acc: Account): SublistResult<Subscription> {
    const buf = this.paBuf;
    const s = this.paSubjStart;
    const n = this.paSubjEnd - s;
    const sl = acc.sublist;
    if (n === this.lastSubjLen && this.lastGen === sl.genid && this.lastResultAcc === acc) {
      const last = this.lastSubj;
      let i = 0;
      while (i < n && last[i] === buf[s + i]) i++;
      if (i === n) return this.lastResult!;
    }
    const r = sl.match(buf.toString('latin1', s, s + n));
    if (this.lastSubj.length < n) this.lastSubj = Buffer.allocUnsafe(Math.max(64, n * 2));
    buf.copy(this.lastSubj, 0, s, s + n);
    this.lastSubjLen = n;
    this.lastGen = sl.genid;
    this.lastResult = r;
    this.lastResultAcc = acc;
    return r;
  }

  /**
   * Deliver a message from the peer (server/client.go processMsgResults for
   * a ROUTER source): every local plain subscriber; queue groups only when
   * the peer named them, preferring a local member and falling back to a
   * member behind another route. Nothing is relayed to routes otherwise: the
   * cluster is a full mesh and the sender reached every interested server.
   */
  private processMsgResults(acc: Account, r: SublistResult<Subscription>, buf: Buffer, start: number, local: PubArgSource): void {
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.client.kind === Kind.CLIENT) this.deliverLocal(sub, buf, start, local);
    }
    const nq = this.paNumQueues;
    if (nq === 0) return;
    const qsubs = r.qsubs;
    const mgr = this.mgr;
    let relayed = false;
    for (let g = 0; g < qsubs.length; g++) {
      const members = qsubs[g];
      const l = members.length;
      if (l === 0 || !this.queueRequested(members[0].queue!)) continue;
      let rsub: Subscription | null = null;
      // server/client.go processMsgResults: without a local member, a leafnode member is preferred to a route
      let lsub: Subscription | null = null;
      let nl = 0;
      for (let k = 0; k < l; k++) {
        const sub = members[k];
        const kind = sub.client.kind;
        if (kind === Kind.CLIENT) {
          if (nl === localMembers.length) localMembers.push(sub);
          else localMembers[nl] = sub;
          nl++;
        } else if (kind === Kind.LEAF) {
          if (lsub === null) lsub = sub;
        } else if (rsub === null) {
          rsub = sub;
        }
      }
      let done = false;
      if (nl > 0) {
        const first = nl > 1 ? Math.floor(Math.random() * nl) : 0;
        for (let k = 0; k < nl; k++) {
          if (this.deliverLocal(localMembers[(first + k) % nl], buf, start, local)) {
            done = true;
            break;
          }
        }
        for (let k = 0; k < nl; k++) localMembers[k] = undefined as unknown as Subscription;
      }
      // A local importer's member of this group (the reference's shadow
      // subscription) counts as local: processRoutedImports serves it.
      const ln = this.server.leafnodes;
      if (!done && lsub !== null && ln !== null && ln.addRoutedQueueTarget(lsub)) continue;
      if (!done && rsub !== null && !mgr.hasShadowQueue(rsub.sid)) {
        mgr.addTarget(rsub.client as Route, rsub.queue);
        relayed = true;
      }
    }
    if (relayed) mgr.dispatch(this, acc, buf, start);
  }

  /** Is `queue` one of the groups named in the RMSG? Byte compare, no allocation. */
  private queueRequested(queue: string): boolean {
    const buf = this.paBuf;
    const q = this.paQueues;
    const ql = queue.length;
    outer: for (let k = 0; k < this.paNumQueues; k++) {
      const s = q[2 * k];
      if (q[2 * k + 1] - s !== ql) continue;
      for (let i = 0; i < ql; i++) if (buf[s + i] !== queue.charCodeAt(i)) continue outer;
      return true;
    }
    return false;
  }

  /**
   * What a routed message in `acc` owes to other accounts (see
   * cluster/imports.ts): a response on this server's `_R_` prefix goes back
   * to the requester's account, and local importers of a stream get it on
   * their own subject, as the reference's shadow subscriptions would.
   * Service imports are not crossed for a routed request: the requester's
   * server did that (server/client.go processServiceImport).
   */
  private processRoutedImports(acc: Account, buf: Buffer, start: number, local: PubArgSource): void {
    // Only responses and stream imports apply here. Every account imports the
    // system account's $SYS.REQ subjects (crossAccount), and a string per
    // routed message for nothing halved routed pub/sub.
    if (acc.streamImporters === null && (acc.respPrefix === null || !mayImportAt(acc, this.paBuf, this.paSubjStart, this.paSubjEnd))) return;
    const subject = this.paBuf.toString('latin1', this.paSubjStart, this.paSubjEnd);
    const prefix = acc.respPrefix;
    if (prefix !== null && subject.startsWith(prefix)) {
      const rsi = acc.responses?.get(subject);
      if (rsi !== undefined && !rsi.invalid) this.routedResponse(acc, rsi, buf, start);
    }
    const importers = acc.streamImporters;
    if (importers === null) return;
    const reply = this.paReplyEnd > this.paReplyStart ? this.paBuf.toString('latin1', this.paReplyStart, this.paReplyEnd) : '';
    for (let i = 0; i < importers.length; i++) {
      const im = importers[i]!;
      if (im.invalid || !matchLiteral(subject, im.from)) continue;
      const dsubj = im.tr !== null ? im.tr.transformSubject(subject) : im.usePub ? subject : im.to;
      const r = im.importer.sublist.match(dsubj);
      if (r.psubs.length === 0 && r.qsubs.length === 0) continue;
      // a JetStream delivery keeps its stored subject (server/client.go processMsgResults swaps the roles for a remapped shadow sub)
      const src = local !== this ? local : new ReAddressed(dsubj, reply, this);
      for (const sub of r.psubs) if (sub.client.kind === Kind.CLIENT) this.deliverLocal(sub, buf, start, src);
      // A shadow queue subscription keeps its group: served when the sender named it.
      for (const members of r.qsubs) {
        if (members.length === 0 || !this.queueRequested(members[0]!.queue!)) continue;
        this.deliverToOneLocal(members, buf, start, src);
      }
    }
  }

  /**
   * A response published on another server to a `_R_` reply this server
   * made for a request that crossed a service import: delivered in the
   * requester's account on its own reply subject, locally and to routes
   * with interest there (server/client.go processServiceImport for a
   * response, pmrMsgImportedFromService), then forgotten unless the
   * export streams or chunks its responses.
   */
  private routedResponse(owner: Account, rsi: ServiceImport, buf: Buffer, start: number): void {
    // service latency: the response to a tracked request (src/system/latency.ts waits for the responder's M2)
    const tr = rsi.tracking;
    if (tr !== null && !tr.delivered) {
      tr.delivered = true;
      this.server.system?.latencyResponse(rsi, this);
    }
    const dest = rsi.acc;
    let to = rsi.to;
    if (dest.mappings !== null) {
      const mapped = selectMappedSubject(dest.mappings, to, this.server.clusterName);
      if (mapped !== null) to = mapped;
    }
    // A response that itself carries a reply gets one in the requester's
    // account that maps back to it (server/client.go processServiceImport:
    // setupResponseServiceImport), announced like any response prefix.
    let nrr = '';
    let back: ServiceImport | null = null;
    if (this.paReplyEnd > this.paReplyStart) {
      const reply = this.paBuf.toString('latin1', this.paReplyStart, this.paReplyEnd);
      if (reply.startsWith('$JS.ACK.')) {
        nrr = reply;
      } else {
        back = addResponseImport(dest, owner, reply, rsi);
        nrr = back.from;
        this.mgr.announceResponses(dest);
      }
    }
    const src = new ReAddressed(to, nrr, this);
    const r = dest.sublist.match(to);
    let delivered = false;
    for (const sub of r.psubs) if (sub.client.kind === Kind.CLIENT && this.deliverLocal(sub, buf, start, src)) delivered = true;
    const mgr = this.mgr;
    for (const members of r.qsubs) {
      if (members.length === 0) continue;
      if (this.deliverToOneLocal(members, buf, start, src)) {
        delivered = true;
        continue;
      }
      const remote = members.find((m) => m.client.kind === Kind.ROUTER && m.client !== this && !(m.client as Route).closed);
      if (remote !== undefined) mgr.addTarget(remote.client as Route, remote.queue);
    }
    for (const sub of r.psubs) if (sub.client.kind === Kind.ROUTER && sub.client !== this) mgr.addTarget(sub.client as Route, null);
    if (mgr.dispatch(src, dest, buf, start)) delivered = true;
    if (rsi.rt !== 'singleton' && delivered) rsi.ts = Date.now();
    if (!delivered || rsi.rt === 'singleton' || this.paSize === 0) removeResponseImport(owner, rsi);
    if (!delivered && back !== null) removeResponseImport(dest, back);
  }

  /** Deliver to one local member of a queue group, picked at random. */
  private deliverToOneLocal(members: Subscription[], buf: Buffer, start: number, src: PubArgSource): boolean {
    const l = members.length;
    const first = l > 1 ? Math.floor(Math.random() * l) : 0;
    for (let k = 0; k < l; k++) {
      const sub = members[(first + k) % l]!;
      if (sub.client.kind === Kind.CLIENT && this.deliverLocal(sub, buf, start, src)) return true;
    }
    return false;
  }

  /** One local delivery with the auto-unsubscribe rules of server/client.go deliverMsg. */
  private deliverLocal(sub: Subscription, buf: Buffer, start: number, src: PubArgSource = this): boolean {
    const target = sub.client as Client;
    if (sub.closed || target.closed) return false;
    sub.nm++;
    if (sub.max > 0) {
      if (sub.nm > sub.max) {
        target.unsubscribe(sub);
        return false;
      }
      target.writeMsg(src, sub, buf, start);
      if (sub.nm === sub.max) target.unsubscribe(sub);
      return true;
    }
    target.writeMsg(src, sub, buf, start);
    return true;
  }

  /** Add a queue name to this route's list for the current message. */
  appendTargetQueue(queue: string): void {
    const need = this.tgtQsLen + queue.length + 1;
    if (need > this.tgtQs.length) {
      const nb = Buffer.allocUnsafe(Math.max(need, this.tgtQs.length * 2));
      this.tgtQs.copy(nb, 0, 0, this.tgtQsLen);
      this.tgtQs = nb;
    }
    this.tgtQsLen += this.tgtQs.write(queue, this.tgtQsLen, 'latin1');
    this.tgtQs[this.tgtQsLen++] = SP;
  }

  /**
   * Stage "RMSG <acc> <subj> [+ <reply> <queues> | | <queues> | <reply>] <size>"
   * (or HMSG) and the payload (server/client.go msgHeaderForRouteOrLeaf).
   * Headers are stripped, and the size adjusted, for a peer without headers.
   */
  writeRoutedMsg(src: PubArgSource, accName: Buffer, buf: Buffer, start: number, origin: Buffer | null = null): void {
    // A JetStream delivery (an internal client's publishAs, or one a leaf
    // decoded): routed by its deliver subject, the stored subject after '@'
    // in the reply (server/client.go processMsgResults, sendToRoutesOrLeafs).
    const jsDeliver = (src as JsDelivery).paDeliver;
    if (jsDeliver !== undefined && jsDeliver !== '' && src.paReplyEnd > src.paReplyStart) src = jsEncoded(src as JsDelivery, jsDeliver);
    const pbuf = src.paBuf;
    const subjS = src.paSubjStart;
    const subjE = src.paSubjEnd;
    const repS = src.paReplyStart;
    const repE = src.paReplyEnd;
    const hasHdr = src.paHdr > 0;
    // A leaf cluster's message goes as "LMSG <origin> ..." to a peer that
    // said lnoc, always with a header size, 0 without headers.
    const lmsg = origin !== null && this.lnoc;
    const withHdr = hasHdr && (lmsg || this.headers);
    let payStart = start;
    let payLen = src.paSize;
    let sizeStr: string | null = null;
    if (hasHdr && !withHdr) {
      payStart += src.paHdr;
      payLen -= src.paHdr;
      sizeStr = String(payLen);
    } else if (lmsg && !hasHdr) {
      sizeStr = '0 ' + pbuf.toString('latin1', src.paSzbStart, src.paSzbEnd);
    }
    const subjLen = subjE - subjS;
    const repLen = repE - repS;
    const qsLen = this.tgtQsLen;
    const sizeLen = sizeFieldLen(src, withHdr, sizeStr);
    let mid: number;
    if (qsLen > 0) mid = (repLen > 0 ? 2 + repLen + 1 : 2) + qsLen;
    else mid = repLen > 0 ? repLen + 1 : 0;
    const head = 5 + (lmsg ? origin.length + 1 : 0) + accName.length + 1 + subjLen + 1 + mid + sizeLen;
    const total = head + 2 + payLen + 2;

    const out = this.out;
    const dst = out.reserve(total);
    setCopyTarget(out.view);
    let p = out.pos;
    const prefix = lmsg ? LMSG_PREFIX : withHdr ? HMSG_PREFIX : RMSG_PREFIX;
    for (let i = 0; i < 5; i++) dst[p++] = prefix[i];
    if (lmsg) {
      p = copyBytes(origin, 0, origin.length, dst, p);
      dst[p++] = SP;
    }
    p = copyBytes(accName, 0, accName.length, dst, p);
    dst[p++] = SP;
    p = copyBytes(pbuf, subjS, subjE, dst, p);
    dst[p++] = SP;
    if (qsLen > 0) {
      if (repLen > 0) {
        dst[p++] = PLUS;
        dst[p++] = SP;
        p = copyBytes(pbuf, repS, repE, dst, p);
        dst[p++] = SP;
      } else {
        dst[p++] = PIPE;
        dst[p++] = SP;
      }
      p = copyBytes(this.tgtQs, 0, qsLen, dst, p);
    } else if (repLen > 0) {
      p = copyBytes(pbuf, repS, repE, dst, p);
      dst[p++] = SP;
    }
    p = copySizeAndPayload(src, withHdr, sizeStr, buf, payStart, payLen, dst, p);
    out.commit(total);
    if (this.server.logger.traceEnabled) this.traceOut(dst.toString('latin1', p - total, p - total + head));
    this.outMsgs++;
    this.outBytes += payLen;
    if (this.pendingBase + out.staged > this.maxPendingHard && this.overPendingCap()) return;
    this.afterStage();
    // server/client.go deliverMsg: a publishing client whose message finds
    // a route past half of max_pending waits for it (stalledWait, any
    // consumer kind); a route relaying to another route never does.
    if (this.pendingBase + out.staged > this.server.opts.maxPending / 2 && (src as Partial<Client>).kind === Kind.CLIENT) {
      (src as Client).stallFor = this;
    }
  }

  /**
   * The reference has no pending limit on routes (server/client.go
   * queueOutbound cuts CLIENT connections only): publishers are stalled
   * instead (above) and a peer that takes nothing for a whole write
   * deadline is closed (checkWriteDeadline). This cap, four times
   * max_pending, is only a last resort against a peer that keeps reading a
   * trickle while many publishers push: it is not reached otherwise.
   */
  private get maxPendingHard(): number {
    return 4 * this.server.opts.maxPending;
  }

  /**
   * server/client.go handleWriteTimeout: a route is closed as a slow
   * consumer only when nothing at all could be written within the write
   * deadline; a route that makes any progress stays up however much is
   * pending (a client is cut either way). Progress is what the socket
   * handed to the kernel, not the pending size, which producers refill.
   */
  protected override madeProgress(pending: number): boolean {
    const sent = this.socket.bytesWritten - pending;
    if (sent === this.sentMark) return false;
    this.sentMark = sent;
    return true;
  }

  private overPendingCap(): boolean {
    this.pendingBase = this.socket.writableLength;
    const cap = this.maxPendingHard;
    if (this.pendingBase + this.out.staged <= cap) return false;
    this.server.stats.slowConsumers++;
    this.server.logger.notice(`${this.logPrefix} - Slow Consumer Detected: MaxPending of ${cap} Exceeded`);
    this.out.reset();
    this.close(ClosedState.SlowConsumerPendingBytes, true);
    return true;
  }
}

/** A source carrying a JetStream delivery: the subject it is routed by, and the stored message's subject. */
interface JsDelivery extends PubArgSource {
  readonly paDeliver?: string;
  readonly paStored?: string;
}

const JS_ACK = Buffer.from('$JS.ACK.', 'latin1');

/** "<deliver subject>" with reply "<reply>@<stored subject>", as the reference routes a JetStream delivery. */
function jsEncoded(src: JsDelivery, deliver: string): PubArgSource {
  const reply = src.paBuf.toString('latin1', src.paReplyStart, src.paReplyEnd);
  return new ReAddressed(deliver, `${reply}@${src.paStored!}`, src);
}

function sizeOf(s: string): number {
  return parseSizeBytes(Buffer.from(s, 'latin1'), 0, s.length);
}

/** server/client.go removePassFromTrace: never log a password. */
function redactPass(text: string): string {
  if (!text.includes('pass')) return text;
  return text.replace(/("?\s*pass\S*?"?\s*[:=]\s*"?)(([^",\r\n}])*)/, '$1[REDACTED]');
}
