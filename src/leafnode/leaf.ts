// One leafnode connection (server/leafnode.go), accepted on the leafnode
// port (we are the hub) or dialed to a remote (we are the leaf). It is a
// Client bound to one account: credentials are checked the way a client's
// are, and messages it brings in cross imports like a client's. What it
// speaks is the server-to-server part: CONNECT/INFO, LS+/LS- interest,
// LMSG/HMSG messages without account (the connection's account applies).
// Registration, interest bookkeeping and routing decisions belong to the
// LeafnodeManager.

import type { Socket } from 'node:net';
import { Kind, ClosedState, type ClosedReason } from '../client/connection.js';
import { Client, setPubArgs, type PubArgSource } from '../client/client.js';
import { Subscription } from '../client/subscription.js';
import { Op, ParseErrorKind } from '../protocol/parser.js';
import * as E from '../protocol/errors.js';
import type { Account } from '../accounts/account.js';
import type { Server } from '../server/server.js';
import { mayImport, processImports } from '../accounts/imports.js';
import { subjectIsLiteral } from '../subjects/validate.js';
import {
  LDS_PREFIX,
  decodeLeafConnect,
  decodeLeafInfo,
  leafSubLine,
  leafUnsubKey,
  parseLeafMsgArgs,
  parseLeafSub,
  type LeafMsgArgs,
} from './proto.js';
import type { LeafPerms } from './perms.js';
import type { LeafnodeManager } from './manager.js';
import type { RemoteLeaf } from './remote.js';

/** the reply prefix of JetStream deliveries, whose replies may carry the stored subject */
const JS_ACK = Buffer.from('$JS.ACK.', 'latin1');
const CRLF = Buffer.from('\r\n');

export class LeafConnection extends Client implements LeafMsgArgs {
  /** set when we dialed it: the remote entry that reconnects */
  readonly remote: RemoteLeaf | null;
  /** we play the spoke: we dialed a hub, or the peer said it is the hub */
  isSpoke: boolean;
  remoteServer = '';
  remoteCluster = '';
  /** remoteCluster as bytes for the LMSG of routes, null when it has none */
  originBytes: Buffer | null = null;
  remoteDomain = '';
  remoteId = '';
  infoReceived = false;
  /** the hub accepted its credentials (it gets a DISCONNECT event when it goes) */
  authorized = false;
  /** over websocket (ws:// remote, or accepted on the websocket port) */
  isWebsocket = false;
  /** CONNECT processed (hub) or the connect process finished (leaf): interest flows */
  registered = false;
  /** leafnode permissions, null = everything allowed */
  lperms: LeafPerms | null = null;
  /**
   * Interest we announced to the other side, keyed as LS+ names it
   * ("subject" or "subject queue") with its weight (server/leafnode.go smap).
   */
  readonly smap = new Map<string, number>();

  // message-target bookkeeping (LeafnodeManager.addTarget)
  tgtSeq = -1;
  tgtQs = '';

  paQueues = new Int32Array(16);
  paNumQueues = 0;
  /**
   * While a decoded JetStream delivery is handed on: the subject it came
   * with (its deliver subject) and the stored subject. Routes and other
   * leafs get it back as it came (server/client.go processMsgResults).
   */
  paDeliver = '';
  paStored = '';

  private connectTimer: NodeJS.Timeout | null = null;

  constructor(
    server: Server,
    readonly mgr: LeafnodeManager,
    socket: Socket,
    cid: number,
    account: Account,
    remote: RemoteLeaf | null,
  ) {
    super(server, socket, cid, account, Kind.LEAF);
    this.remote = remote;
    this.isSpoke = remote !== null && !remote.cfg.hub;
    this.echo = false;
  }

  setRemoteCluster(name: string): void {
    this.remoteCluster = name;
    this.originBytes = name === '' ? null : Buffer.from(name, 'latin1');
  }

  get solicited(): boolean {
    return this.remote !== null;
  }

  override get connectionType(): string {
    return this.isWebsocket ? 'LEAFNODE_WS' : 'LEAFNODE';
  }

  protected override authTimeoutMs(): number {
    return this.mgr.authTimeoutMs();
  }

  /** Stop waiting for the hub's second INFO (server/leafnode.go connectProcessTimeout). */
  armConnectTimeout(ms: number): void {
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      if (this.closed || this.registered) return;
      if (this.server.logger.debugEnabled) this.server.logger.debug(`${this.logPrefix} - Stale Leaf Node Connection - Closing`);
      this.sendErr('Stale Leaf Node Connection - Closing');
      this.close(ClosedState.StaleConnection);
      this.server.flushDirty();
    }, ms);
  }

  clearConnectTimeout(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  /** First PING after a second at most (server/client.go setFirstPingTimer). */
  startPings(): void {
    let d = this.server.opts.pingIntervalMs;
    if (d > 1000) d = 1000;
    d += Math.floor(Math.random() * (d / 5));
    this.setPingTimer(d);
  }

  protected override onClosed(reason: ClosedReason): void {
    this.clearAuthTimer();
    this.clearConnectTimeout();
    this.parser.stop();
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) s.closed = true;
    if (subs.length > 0) this.account.sublist.removeBatch(subs);
    this.mgr.leafClosed(this, reason, subs);
  }

  // --- ProtocolHandler ----------------------------------------------------

  override onNoConnect(): boolean {
    this.authViolation();
    return false;
  }

  override onControl(op: Op, buf: Buffer, start: number, end: number): boolean {
    switch (op) {
      case Op.LSUB:
        return this.processLeafSub(buf.toString('latin1', start, end));
      case Op.LUNSUB:
        return this.processLeafUnsub(buf.toString('latin1', start, end));
      case Op.CONNECT:
        return this.processLeafConnect(buf.toString('utf8', start, end));
      case Op.INFO:
        return this.processLeafInfo(buf.toString('utf8', start, end));
      case Op.ERR:
        return this.processErr(buf.toString('latin1', start, end));
      case Op.SUB:
      case Op.UNSUB:
        // server/parser.go: client verbs a leaf connection does not process; it is closed.
        return this.protocolError(`${op === Op.SUB ? 'SUB' : 'UNSUB'} not supported on a leafnode connection`);
      default:
        this.onParseError(ParseErrorKind.UNKNOWN_OP, '', 0, 0, 0);
        return false;
    }
  }

  override onPing(): boolean {
    if (this.server.logger.traceEnabled) {
      this.traceIn('PING');
      this.traceOut('PONG');
    }
    this.enqueue(E.PONG_PROTO);
    this.lastPingIn = Date.now();
    return !this.closed;
  }

  override onParseError(_kind: ParseErrorKind, snippet: string, _argLen: number, refState: number, index: number): void {
    if (this.closed) return;
    this.sendErr(E.ERR_UNKNOWN_PROTOCOL);
    this.server.logger.error(`${this.logPrefix} - Leafnode parser ERROR, state=${refState}, i=${index}: proto='${snippet}...'`);
    this.close(ClosedState.ProtocolViolation);
  }

  /** -ERR from the other side (server/client.go processErr, leafProcessErr). */
  private processErr(text: string): boolean {
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn('-ERR', text);
    srv.logger.error(`${this.logPrefix} - Leafnode Error ${text}`);
    if (text.includes('remote leafnode has same cluster name')) {
      const delay = this.mgr.delayReconnect(this, 30_000);
      srv.logger.error(`${this.logPrefix} - Leafnode connection dropped with same cluster name error. Delaying attempt to reconnect for ${delay / 1000}s`);
    } else if (text.includes('Loop detected')) {
      this.mgr.loopDetected(this, false);
      return false;
    }
    this.close(ClosedState.ParseError);
    return false;
  }

  private protocolError(msg: string): false {
    this.server.logger.error(`${this.logPrefix} - ${msg}`);
    this.close(ClosedState.ProtocolViolation);
    return false;
  }

  // --- CONNECT / INFO -------------------------------------------------------

  private processLeafConnect(text: string): boolean {
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn('CONNECT', text.replace(/("pass"\s*:\s*")([^"]*)"/, '$1[REDACTED]"'));
    if (this.solicited) return true;
    let lc;
    try {
      lc = decodeLeafConnect(text);
    } catch (e) {
      return this.protocolError((e as Error).message);
    }
    this.clearAuthTimer();
    this.connectReceived = true;
    this.parser.awaitingConnect = false;
    // The credentials are checked like a client's (server/auth.go processClientOrLeafAuthentication).
    const o = this.opts;
    o.user = lc.user;
    o.pass = lc.pass;
    o.jwt = lc.jwt;
    o.sig = lc.sig;
    o.lang = lc.lang;
    // the leaf's server name and version: its name and ver in the system account's events
    o.name = lc.name;
    o.version = lc.version;
    this.remoteId = lc.serverId;
    return this.mgr.processConnect(this, lc);
  }

  private processLeafInfo(text: string): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('INFO', text);
    let info;
    try {
      info = decodeLeafInfo(text);
    } catch (e) {
      return this.protocolError((e as Error).message);
    }
    this.mgr.processInfo(this, info);
    return !this.closed;
  }

  // --- interest -------------------------------------------------------------

  /** LS+ (server/leafnode.go processLeafSub). */
  private processLeafSub(arg: string): boolean {
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn('LS+', arg);
    const p = parseLeafSub(arg);
    if (typeof p === 'string') return this.protocolError(p);
    const acc = this.account;
    const lds = p.subject.startsWith(LDS_PREFIX);
    if (lds && p.subject === this.mgr.ldsSubject(acc)) {
      this.mgr.loopDetected(this, true);
      return false;
    }
    const c0 = p.subject.charCodeAt(0);
    const exempt = (c0 === 0x24 || c0 === 0x5f) && (lds || p.subject.startsWith('$GR.') || p.subject.startsWith('_GR_.'));
    if (!exempt && this.lperms !== null && subjectIsLiteral(p.subject) && !this.lperms.canPublish(p.subject)) {
      this.mgr.permViolation(this, false, p.subject);
      if (srv.logger.debugEnabled) srv.logger.debug(`${this.logPrefix} - Permissions Violation for Subscription to ${JSON.stringify(p.subject)}`);
      return !this.closed;
    }
    const maxSubs = srv.opts.maxSubs;
    const existing = this.subs.get(p.key);
    if (existing === undefined && maxSubs > 0 && this.subs.size >= maxSubs) {
      srv.logger.error(`${this.logPrefix} - ${E.ERR_MAX_SUBSCRIPTIONS}`);
      this.sendErr(E.ERR_MAX_SUBSCRIPTIONS);
      return true;
    }
    let delta = 1;
    let sub: Subscription;
    if (existing === undefined) {
      sub = new Subscription(this, p.subject, p.queue, p.key);
      if (p.queue !== null) sub.queueWeight = p.weight;
      // server/leafnode.go processLeafSub: the interest of a leaf cluster carries its name.
      if (this.remoteCluster !== '') sub.origin = this.remoteCluster;
      if (!acc.sublist.insert(sub)) {
        srv.logger.error(`${this.logPrefix} - Could not insert subscription: invalid subject`);
        this.sendErr('Invalid Subscription');
        return !this.closed;
      }
      this.subs.set(p.key, sub);
      if (p.queue !== null) delta = p.weight;
    } else if (p.queue !== null) {
      sub = existing;
      delta = p.weight - existing.queueWeight;
      existing.queueWeight = p.weight;
      acc.sublist.updateRemoteQSub(existing);
    } else {
      return true;
    }
    this.mgr.leafSubChanged(this, acc, sub, delta);
    return true;
  }

  /** LS- (server/leafnode.go processLeafUnsub). */
  private processLeafUnsub(arg: string): boolean {
    if (this.server.logger.traceEnabled) this.traceIn('LS-', arg);
    const key = leafUnsubKey(arg);
    const sub = this.subs.get(key);
    if (sub === undefined) return true;
    this.subs.delete(key);
    sub.closed = true;
    const acc = this.account;
    acc.sublist.remove(sub);
    if (this.server.logger.traceEnabled) this.server.logger.trace(`${this.logPrefix} - <-> [DELSUB ${key}]`);
    this.mgr.leafSubChanged(this, acc, sub, sub.queue !== null ? -sub.queueWeight : -1);
    return true;
  }

  /** Send LS+ (n > 0) or LS- for an interest key. */
  sendSubUpdate(key: string, n: number): void {
    if (this.closed) return;
    const line = leafSubLine(key, n);
    if (this.server.logger.traceEnabled) this.traceOut(line.slice(0, 3), line.slice(4, -2));
    this.enqueue(Buffer.from(line, 'latin1'));
  }

  // --- messages ---------------------------------------------------------------

  override onMsgArgs(op: Op, buf: Buffer, start: number, end: number): number {
    let withHdr: boolean;
    // A PUB on a leaf connection is taken as an LMSG, as the reference's parser does.
    if (op === Op.LMSG || op === Op.PUB) withHdr = false;
    else if (op === Op.HMSG || op === Op.HPUB) withHdr = true;
    else {
      this.onParseError(ParseErrorKind.UNKNOWN_OP, buf.toString('latin1', start, Math.min(end, start + 32)), 0, 0, 0);
      return -1;
    }
    if (this.server.logger.traceEnabled) this.traceIn(withHdr ? 'HMSG' : 'LMSG', buf.toString('latin1', start, end));
    const err = parseLeafMsgArgs(withHdr, buf, start, end, this);
    if (err !== null) {
      this.protocolError(err);
      return -1;
    }
    const maxPayload = this.server.opts.maxPayload;
    if (this.paSize > maxPayload) {
      this.server.logger.error(`${this.logPrefix} - maximum payload exceeded: ${this.paSize} vs ${maxPayload}`);
      this.sendErr(E.ERR_MAX_PAYLOAD);
      this.close(ClosedState.MaxPayloadExceeded);
      return -1;
    }
    return this.paSize;
  }

  override onMsgSpans(): void {}

  /** A message from the other side (server/leafnode.go processInboundLeafMsg). */
  override onMsg(buf: Buffer, start: number): boolean {
    const size = this.paSize;
    const srv = this.server;
    if (srv.logger.traceEnabled) {
      srv.logger.trace(`${this.logPrefix} - <<- MSG_PAYLOAD: [${JSON.stringify(buf.toString('latin1', start, start + size))}]`);
    }
    this.inMsgs++;
    this.inBytes += size;
    srv.stats.inMsgs++;
    srv.stats.inBytes += size;
    const acc = this.account;
    acc.inMsgs++;
    acc.inBytes += size;
    const subject = this.paBuf.toString('latin1', this.paSubjStart, this.paSubjEnd);
    // A JetStream delivery from the other side: routed by the deliver
    // subject, delivered with the stored subject the reply carries after its
    // last '@' (server/client.go processMsgResults, JetStream encoded replies).
    // Only replies that start with $JS.ACK. are looked at (no string otherwise).
    let reply: string | null = null;
    let stored: string | null = null;
    const rs = this.paReplyStart;
    if (this.paReplyEnd - rs > JS_ACK.length && this.paBuf.compare(JS_ACK, 0, JS_ACK.length, rs, rs + JS_ACK.length) === 0) {
      reply = this.paBuf.toString('latin1', rs, this.paReplyEnd);
      const li = reply.lastIndexOf('@');
      if (li !== -1 && li < reply.length - 1) {
        stored = reply.slice(li + 1);
        reply = reply.slice(0, li);
      }
    }
    const r = acc.sublist.match(subject);
    if (stored !== null) {
      const pb = this.paBuf;
      const hdb = this.paHdr > 0 ? pb.toString('latin1', this.paHdbStart, this.paHdbEnd) : '';
      setPubArgs(this, stored, reply!, hdb, pb.toString('latin1', this.paSzbStart, this.paSzbEnd));
      this.paDeliver = subject;
      this.paStored = stored;
    }
    if (r.psubs.length > 0 || r.qsubs.length > 0) this.mgr.deliverFromLeaf(this, acc, r, buf, start);
    this.paDeliver = '';
    if (acc.crossAccount && mayImport(acc, subject)) {
      if (reply === null) reply = this.paReplyEnd > this.paReplyStart ? this.paBuf.toString('latin1', this.paReplyStart, this.paReplyEnd) : '';
      processImports(this, acc, subject, reply, buf, start, false, null, stored);
    }
    return !this.closed;
  }

  /** server/client.go maxAccountConnExceeded */
  maxAccountConnExceeded(): void {
    const text = 'maximum account active connections exceeded';
    this.sendErr(text);
    this.server.logger.error(`${this.logPrefix} - ${text}`);
    this.close(ClosedState.MaxAccountConnectionsExceeded);
  }

  /** Is `queue` one of the groups the LMSG named? */
  queueRequested(queue: string): boolean {
    const buf = this.paBuf;
    const q = this.paQueues;
    const ql = queue.length;
    outer: for (let k = 0; k < this.paNumQueues; k++) {
      const s = q[2 * k]!;
      if (q[2 * k + 1]! - s !== ql) continue;
      for (let i = 0; i < ql; i++) if (buf[s + i] !== queue.charCodeAt(i)) continue outer;
      return true;
    }
    return false;
  }

  /**
   * Stage "LMSG subj [+ reply q.. | | q.. | reply] size" (HMSG with the
   * header size when both sides speak headers) and the payload
   * (server/client.go msgHeaderForRouteOrLeaf). Returns false when the
   * leaf's permissions refuse the subject.
   */
  writeLeafMsg(src: PubArgSource, buf: Buffer, start: number): boolean {
    if (this.closed) return false;
    const pbuf = src.paBuf;
    let subj = pbuf.toString('latin1', src.paSubjStart, src.paSubjEnd);
    if (this.lperms !== null && !this.lperms.canPublish(subj)) {
      if (this.server.logger.debugEnabled) this.server.logger.debug(`${this.logPrefix} - Not permitted to deliver to ${JSON.stringify(subj)}`);
      return false;
    }
    let reply = src.paReplyEnd > src.paReplyStart ? pbuf.toString('latin1', src.paReplyStart, src.paReplyEnd) : '';
    // A JetStream delivery: routed by its deliver subject, the stored subject after '@' in the reply (server/client.go processMsgResults).
    const js = src as { paDeliver?: string; paStored?: string };
    if (js.paDeliver !== undefined && js.paDeliver !== '' && reply !== '') {
      reply = `${reply}@${js.paStored!}`;
      subj = js.paDeliver;
    }
    const hasHdr = src.paHdr > 0;
    const withHdr = hasHdr && this.headers;
    let payStart = start;
    let payLen = src.paSize;
    if (hasHdr && !withHdr) {
      payStart += src.paHdr;
      payLen -= src.paHdr;
    }
    let line = (withHdr ? 'HMSG ' : 'LMSG ') + subj + ' ';
    const qs = this.tgtQs;
    if (qs !== '') line += (reply !== '' ? `+ ${reply} ` : '| ') + qs;
    else if (reply !== '') line += reply + ' ';
    line += withHdr ? `${src.paHdr} ${payLen}` : String(payLen);
    if (this.server.logger.traceEnabled) this.traceOut(line);
    this.enqueue(Buffer.from(line + '\r\n', 'latin1'));
    this.enqueue(buf.subarray(payStart, payStart + payLen));
    this.enqueue(CRLF);
    this.outMsgs++;
    this.outBytes += payLen;
    return true;
  }
}
