// The common parts of the system account's messages (server/events.go):
// the ServerInfo header every event and answer carries, the TypedEvent ids,
// ClientInfo of a connection, and the data/error envelope of the $SYS.REQ
// answers (ServerAPIResponse).

import type { Server } from '../server/server.js';
import type { Client } from '../client/client.js';
import { Kind } from '../client/connection.js';
import { NATS_COMPAT_VERSION } from '../config/options.js';
import { goJSONBig, goTime, nowMs } from '../monitor/gofmt.js';
import { decodeUserClaims, type Claims } from '../auth/jwt.js';
import { randomBytesSync } from '../server/server-id.js';

/** the sequence of the ServerInfo headers a server sends (server/events.go internal.seq) */
const seqs = new WeakMap<Server, number>();

/**
 * server/events.go ServerInfo, as internalSendLoop fills it for each
 * message: name, host, id, cluster, domain, ver, tags, seq, jetstream, time.
 */
/** A ServerInfo sequence number goes by without a message (a STATSZ heartbeat nobody would get). */
export function skipServerInfoSeq(srv: Server): void {
  seqs.set(srv, (seqs.get(srv) ?? 0) + 1);
}

export function serverInfo(srv: Server): Record<string, unknown> {
  const o = srv.opts;
  const si: Record<string, unknown> = { name: srv.serverName, host: o.host === '' ? '0.0.0.0' : o.host, id: srv.serverId };
  if (srv.clusterName !== '') si.cluster = srv.clusterName;
  si.ver = NATS_COMPAT_VERSION;
  if (o.tags.length > 0) si.tags = o.tags;
  const seq = (seqs.get(srv) ?? 0) + 1;
  seqs.set(srv, seq);
  si.seq = seq;
  si.jetstream = srv.jetstream !== null;
  si.time = goTime(nowMs(), true);
  return si;
}

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PRE_LEN = 12;
const SEQ_LEN = 10;
const MAX_SEQ = 62 ** SEQ_LEN;

/** Event ids shaped like the reference's (a NUID: 12 random characters, 10 of sequence). */
export class EventIds {
  private pre = '';
  private seq = 0;
  private inc = 0;

  constructor() {
    this.reset();
  }

  private reset(): void {
    // As the nuid package: a prefix of random bytes mod 62, a random start
    // and increment. Not node:crypto's randomInt: this runs at start-up (see
    // randomBytesSync).
    const b = randomBytesSync(PRE_LEN + 7);
    let p = '';
    for (let i = 0; i < PRE_LEN; i++) p += DIGITS[b[i]! % 62];
    this.pre = p;
    let seq = 0;
    for (let i = PRE_LEN; i < PRE_LEN + 5; i++) seq = seq * 256 + b[i]!;
    this.seq = seq; // < 2^40
    this.inc = 33 + (((b[PRE_LEN + 5]! << 8) | b[PRE_LEN + 6]!) % 300);
  }

  next(): string {
    this.seq += this.inc;
    if (this.seq >= MAX_SEQ) this.reset();
    let n = this.seq;
    let s = '';
    for (let i = 0; i < SEQ_LEN; i++) {
      s = DIGITS[n % 62]! + s;
      n = Math.floor(n / 62);
    }
    return this.pre + s;
  }
}

/** server/events.go TypedEvent: type, id, timestamp. */
export function typedEvent(type: string, id: string, timeMs: number): Record<string, unknown> {
  return { type, id, timestamp: goTime(timeMs, true) };
}

/** The user JWT's claims, null when it does not decode (the client authenticated with it, so it does). */
function userClaims(token: string): Claims | null {
  try {
    return decodeUserClaims(token);
  } catch {
    return null;
  }
}

/** server/client.go getRawAuthUser (a token is not revealed, unlike the reference). */
function rawAuthUser(c: Client): string {
  const o = c.opts;
  if (o.nkey !== '') return o.nkey;
  if (o.user !== '') return o.user;
  if (o.jwt !== '') return c.user;
  if (o.auth_token !== '') return '[REDACTED]';
  return '';
}

/**
 * server/events.go ClientInfo of a connect/disconnect/auth error event, in
 * the struct's field order with its omitempty rules. `stopMs` adds rtt and
 * stop (disconnects and auth errors).
 */
export function eventClientInfo(c: Client, stopMs: number | null): Record<string, unknown> {
  const o = c.opts;
  const ci: Record<string, unknown> = { start: goTime(c.start.getTime(), false) };
  if (c.host !== '') ci.host = c.host;
  if (c.cid !== 0) ci.id = c.cid;
  ci.acc = c.account.name;
  const user = rawAuthUser(c);
  if (user !== '') ci.user = user;
  if (o.name !== '') ci.name = o.name;
  if (o.lang !== '') ci.lang = o.lang;
  if (o.version !== '') ci.ver = o.version;
  if (stopMs !== null) {
    if (c.rttMs > 0) ci.rtt = Math.round(c.rttMs * 1e6);
    ci.stop = goTime(stopMs, true);
  }
  if (o.jwt !== '') {
    ci.jwt = o.jwt;
    // server/events.go issuerForClient: the signing key that issued the user, else its account (both the JWT's issuer)
    const claims = userClaims(o.jwt);
    ci.issuer_key = claims?.iss ?? c.account.name;
    if (claims !== null && claims.name !== '') ci.name_tag = claims.name;
    const tags = claims?.nats.tags;
    if (Array.isArray(tags) && tags.length > 0) ci.tags = tags;
  }
  // server/client.go kindString, clientTypeString: a leafnode has no client type
  if (c.kind === Kind.LEAF) {
    ci.kind = 'Leafnode';
  } else {
    ci.kind = 'Client';
    ci.client_type = 'nats';
  }
  return ci;
}

/**
 * The Go encoding of a message body (HTML-safe escaping as encoding/json);
 * JetStream documents may hold uint64 figures beyond 2^53 (bigint).
 */
export function encode(v: unknown): Buffer {
  return Buffer.from(goJSONBig(v, 0), 'utf8');
}

/** server/events.go ServerAPIResponse: {server, data} or {server, error}. */
export function apiResponse(srv: Server, data: unknown, error: { code: number; description?: string } | null, dataNull = false): Record<string, unknown> {
  const r: Record<string, unknown> = { server: serverInfo(srv) };
  // a handler that failed after returning a typed nil leaves "data":null beside the error (Go's interface holding a nil pointer)
  if (error === null || dataNull) r.data = error === null ? data : null;
  if (error !== null) r.error = error;
  return r;
}
