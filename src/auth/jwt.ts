// Operator mode (decentralized JWT authentication), as nats-server 2.9.10
// does it (server/auth.go processClientOrLeafAuthentication, the JWT branch;
// server/accounts.go account claims; server/jwt.go trusted keys).
//
// The trusted keys come from the operator JWT(s) (the operator and its
// signing keys) or from `trusted`. Accounts come from the memory resolver's
// preload (src/accounts/resolver.ts turns them into account configs). A
// client authenticates with a user JWT in CONNECT plus a signature over the
// INFO nonce (or none for bearer tokens); its permissions, allowed
// connection types and expiry come from the user JWT; the account JWT
// brings signing keys, revocations, a connection limit and its own expiry.

import { BlockList, isIP } from 'node:net';
import { decode, fromPublic } from './nkeys.js';
import { nonceSignatureError } from './nonce.js';
import type { JetStreamAccountLimits, JetStreamAccountTiers, Options, Permissions } from '../config/options.js';
import type { Account } from '../accounts/account.js';
import type { Client } from '../client/client.js';
import type { Server } from '../server/server.js';
import { ClosedState, Kind } from '../client/connection.js';
import { ClientPermissions, PermissionRules } from './permissions.js';
import { configureServerAccounts, fetchAccount, knownAccountJWTs } from '../accounts/resolver.js';

/** jwt.NoLimit */
export const NO_LIMIT = -1;
const KNOWN_CONNECTION_TYPES = new Set(['STANDARD', 'WEBSOCKET', 'LEAFNODE', 'LEAFNODE_WS', 'MQTT', 'MQTT_WS']);
/** server/opts.go DEFAULT_ALLOW_RESPONSE_MAX_MSGS / _EXPIRATION */
const DEFAULT_RESP_MAX_MSGS = 1;
const DEFAULT_RESP_EXPIRES_MS = 2 * 60 * 1000;
/** Node's timers take at most a 32-bit signed delay. */
const MAX_TIMER_MS = 2_147_483_647;

type Json = Record<string, unknown>;

/** The decoded claims of a JWT whose signature was verified against its issuer. */
export interface Claims {
  sub: string;
  iss: string;
  name: string;
  /** seconds since the epoch; 0 = none */
  iat: number;
  exp: number;
  nbf: number;
  type: string;
  nats: Json;
}

export class JwtClaimError extends Error {
  readonly code = 'ERR_TSNATS_JWT';
}

/** A user signing key of an account: plain, or scoped with a permission template. */
export interface SigningScope {
  template: Json | null;
}

/** What the server keeps of a (valid) account JWT. */
export interface JwtAccountInfo {
  readonly pub: string;
  readonly name: string;
  readonly issuer: string;
  readonly tags: string[];
  readonly jwt: string;
  /** seconds; 0 = never */
  readonly expires: number;
  readonly signingKeys: Map<string, SigningScope>;
  readonly revocations: Map<string, number>;
  readonly disallowBearer: boolean;
  /** limits.conn, jwt.NoLimit = -1 */
  readonly maxConnections: number;
  /** limits.leaf: leafnode connections of the account */
  readonly maxLeafnodes: number;
  readonly maxSubs: number;
  readonly maxPayload: number;
  /** JetStream limits by tier from the claims' limits ('' = untiered); null = not enabled */
  readonly jetstream: JetStreamAccountTiers | null;
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : dflt;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

/** jwt.Decode: structure, header and the issuer's signature. Throws JwtClaimError. */
export function decodeClaims(token: string): Claims {
  // jwt.Decode's first check, with its text
  if (token.split('.').length !== 3) throw new JwtClaimError('expected 3 chunks');
  let raw: Json;
  try {
    raw = decode<Json>(token) as unknown as Json;
  } catch (e) {
    throw new JwtClaimError((e as Error).message);
  }
  // A version 1 JWT (jwt/v2 decoder.go: `type` at the top level) keeps its
  // claims under `nats` too; only type, tags and issuer_account sat beside
  // them, and the v1 migration (decoder_account.go etc.) moves them in.
  const v1 = typeof raw.type === 'string';
  const nats = { ...(obj(raw.nats) ?? {}) };
  if (v1) {
    nats.type = raw.type;
    if (raw.tags !== undefined) nats.tags = raw.tags;
    if (raw.issuer_account !== undefined) nats.issuer_account = raw.issuer_account;
    // decoder_user.go loadUser: a v1 user's subs/data/payload default to
    // unlimited (a v2 user's to 0).
    if (raw.type === 'user') {
      for (const k of ['subs', 'data', 'payload']) if (nats[k] === undefined) nats[k] = NO_LIMIT;
    }
  }
  return {
    sub: str(raw.sub),
    iss: str(raw.iss),
    name: str(raw.name),
    iat: num(raw.iat, 0),
    exp: num(raw.exp, 0),
    nbf: num(raw.nbf, 0),
    type: str(nats.type),
    nats,
  };
}

function isPublicKey(key: string, prefix: string): boolean {
  if (!key.startsWith(prefix)) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/** ClaimsData.Validate time checks: "claim is expired", "claim is not yet valid". */
export function timeProblem(c: Claims, nowSec = Math.floor(Date.now() / 1000)): string | null {
  if (c.exp > 0 && nowSec > c.exp) return 'claim is expired';
  if (c.nbf > 0 && nowSec < c.nbf) return 'claim is not yet valid';
  return null;
}

/** jwt.DecodeUserClaims + Validate (blocking problems). Throws JwtClaimError. */
export function decodeUserClaims(token: string): Claims {
  const c = decodeClaims(token);
  if (c.type !== 'user') throw new JwtClaimError('not user claim');
  if (!isPublicKey(c.sub, 'U')) throw new JwtClaimError(`subject is not a user public key`);
  if (!isPublicKey(c.iss, 'A')) throw new JwtClaimError(`issuer is not an account public key`);
  const ia = str(c.nats.issuer_account);
  if (ia !== '' && !isPublicKey(ia, 'A')) throw new JwtClaimError('account_id is not an account public key');
  return c;
}

/** Operator JWT → the keys it makes trusted: its subject and signing keys. */
export function operatorTrustedKeys(token: string): string[] {
  const c = decodeClaims(token);
  if (c.type !== 'operator') throw new JwtClaimError('not operator claim');
  const keys = [c.sub];
  for (const sk of Array.isArray(c.nats.signing_keys) ? c.nats.signing_keys : []) {
    const k = typeof sk === 'string' ? sk : str(obj(sk)?.key);
    if (k !== '') keys.push(k);
  }
  return keys;
}

/** The trusted keys of a configuration (server/server.go configureTrustedKeys). */
export function trustedKeysOf(opts: Options): Set<string> | null {
  if (opts.trustedOperators.length > 0) {
    const keys = new Set<string>();
    for (const op of opts.trustedOperators) {
      try {
        for (const k of operatorTrustedKeys(op)) keys.add(k);
      } catch {
        // the config loader already refused invalid operator JWTs
      }
    }
    return keys;
  }
  if (opts.trustedKeys.length > 0) return new Set(opts.trustedKeys);
  return null;
}

/**
 * Decode and check an account JWT the way fetchAccount/verifyAccountClaims
 * does: an account claim about `pub`, issued by a trusted key, not expired.
 * Returns the reason when it is not usable.
 */
export function accountInfoFromJWT(pub: string, token: string, trusted: ReadonlySet<string>): JwtAccountInfo | string {
  let c: Claims;
  try {
    c = decodeClaims(token);
  } catch (e) {
    return (e as Error).message;
  }
  if (c.type !== 'account') return 'not account claim';
  if (c.sub !== pub) return 'account validation failed';
  if (!trusted.has(c.iss)) return 'account validation failed';
  if (timeProblem(c) !== null) return 'account validation failed';
  const n = c.nats;
  // AccountClaims.Validate: an import that is not valid (its activation token
  // included) makes the whole account JWT invalid.
  for (const i of Array.isArray(n.imports) ? n.imports : []) {
    const o = obj(i);
    if (o === null || importClaimProblems(pub, o).length > 0) return 'account validation failed';
  }
  const signingKeys = new Map<string, SigningScope>();
  for (const sk of Array.isArray(n.signing_keys) ? n.signing_keys : []) {
    if (typeof sk === 'string') signingKeys.set(sk, { template: null });
    else {
      const o = obj(sk);
      const key = str(o?.key);
      if (key !== '') signingKeys.set(key, { template: obj(o?.template) ?? {} });
    }
  }
  const revocations = new Map<string, number>();
  for (const [k, v] of Object.entries(obj(n.revocations) ?? {})) revocations.set(k, num(v, 0));
  const limits = obj(n.limits) ?? {};
  return {
    pub,
    name: c.name,
    issuer: c.iss,
    tags: strings(n.tags),
    jwt: token,
    expires: c.exp,
    signingKeys,
    revocations,
    disallowBearer: limits.disallow_bearer === true || n.disallow_bearer === true,
    // As the reference: a limit missing from the claims is 0, not unlimited.
    maxConnections: num(limits.conn, 0),
    maxLeafnodes: num(limits.leaf, 0),
    maxSubs: num(limits.subs, 0),
    maxPayload: num(limits.payload, 0),
    jetstream: jetStreamFromClaims(limits),
  };
}

/** One jwt.JetStreamLimits as the server keeps it; 0 (or missing) bytes/ack pending mean unlimited (-1). */
function jetStreamTier(l: Json): JetStreamAccountLimits {
  const unlimited = (v: unknown): number => {
    const n = num(v, 0);
    return n > 0 ? n : -1;
  };
  return {
    maxMemory: num(l.mem_storage, 0),
    maxStore: num(l.disk_storage, 0),
    maxStreams: num(l.streams, 0),
    maxConsumers: num(l.consumer, 0),
    maxAckPending: unlimited(l.max_ack_pending),
    memoryMaxStreamBytes: unlimited(l.mem_max_stream_bytes),
    storeMaxStreamBytes: unlimited(l.disk_max_stream_bytes),
    maxBytesRequired: l.max_bytes_required === true,
  };
}

/**
 * server/accounts.go updateAccountClaimsWithRefresh with jwt
 * OperatorLimits.IsJSEnabled: JetStream is on when memory or disk storage
 * is non-zero, in the untiered limits or (when tiered_limits is present) in
 * any tier; untiered limits with storage win over the tiers.
 */
export function jetStreamFromClaims(limits: Json): JetStreamAccountTiers | null {
  const enabled = (l: Json): boolean => num(l.mem_storage, 0) !== 0 || num(l.disk_storage, 0) !== 0;
  const tiered = obj(limits.tiered_limits);
  const tiers = tiered === null ? [] : Object.entries(tiered).map(([k, v]) => [k, obj(v) ?? {}] as const);
  const on = tiers.length > 0 ? tiers.some(([, l]) => enabled(l)) : enabled(limits);
  if (!on) return null;
  if (enabled(limits)) return { '': jetStreamTier(limits) };
  const out: JetStreamAccountTiers = {};
  for (const [k, l] of tiers) out[k] = jetStreamTier(l);
  return out;
}

/** jwt Subject.Validate: blocking problems of an export/import subject. */
function subjectProblems(v: string): string[] {
  const out: string[] = [];
  if (v === '') out.push('subject cannot be empty');
  if (v.includes(' ')) out.push(`subject ${JSON.stringify(v)} cannot have spaces`);
  return out;
}

/** jwt Subject.IsContainedIn: `s` lies within `other` (token-wise, `*` and a final `>` in `other`). */
export function subjectContainedIn(s: string, other: string): boolean {
  const o = other.split('.');
  const m = s.split('.');
  if (m.length > o.length && o[o.length - 1] !== '>') return false;
  if (m.length < o.length) return false;
  for (let i = 0; i < o.length; i++) {
    const tok = o[i]!;
    if (i === o.length - 1 && tok === '>') return true;
    if (tok !== m[i] && tok !== '*') return false;
  }
  return true;
}

/** The fields of an activation JWT (jwt.ActivationClaims) the server reads. */
export interface ActivationClaims {
  sub: string;
  iss: string;
  issuerAccount: string;
  iat: number;
  exp: number;
  nbf: number;
  /** the import subject the activation grants */
  subject: string;
  kind: string;
}

/** jwt.DecodeActivationClaims. Throws JwtClaimError. */
export function decodeActivationClaims(token: string): ActivationClaims {
  const c = decodeClaims(token);
  if (c.type !== 'activation') throw new JwtClaimError('not activation claim');
  return {
    sub: c.sub,
    iss: c.iss,
    issuerAccount: str(c.nats.issuer_account),
    iat: c.iat,
    exp: c.exp,
    nbf: c.nbf,
    subject: str(c.nats.subject),
    kind: str(c.nats.kind ?? c.nats.type),
  };
}

/** jwt Import.Validate(importer): blocking problems; time checks of the token excluded. */
export function importClaimProblems(importer: string, i: Json): string[] {
  return importClaimIssues(importer, i)
    .filter((x) => x.blocking)
    .map((x) => x.text);
}

/** A jwt ValidationIssue: blocking, or a warning. */
interface Issue {
  text: string;
  blocking: boolean;
}

/** jwt Import.Validate(importer): every issue, warnings included, in the library's order. */
function importClaimIssues(importer: string, i: Json): Issue[] {
  const issues: Issue[] = [];
  const out = {
    push: (...t: string[]) => {
      for (const text of t) issues.push({ text, blocking: true });
    },
  };
  const type = str(i.type);
  const subject = str(i.subject);
  const to = str(i.to);
  const local = str(i.local_subject);
  if (type !== 'service' && type !== 'stream') out.push(`invalid import type: ${JSON.stringify(type)}`);
  if (str(i.account) === '') out.push('account to import from is not specified');
  if (to !== '') issues.push({ text: 'the field to has been deprecated (use LocalSubject instead)', blocking: false });
  out.push(...subjectProblems(subject));
  if (local !== '' && to !== '') out.push('Local Subject replaces To');
  if (i.share === true && type !== 'service') out.push(`sharing information (for latency tracking) is only valid for services: ${JSON.stringify(subject)}`);
  const token = str(i.token);
  if (token === '') return issues;
  let act: ActivationClaims;
  try {
    act = decodeActivationClaims(token);
  } catch {
    out.push(`import ${JSON.stringify(subject)} contains an invalid activation token`);
    return issues;
  }
  const account = str(i.account);
  if (!(act.iss === account || act.issuerAccount === account)) out.push(`activation token doesn't match account for import ${JSON.stringify(subject)}`);
  if (act.sub !== importer) out.push(`activation token doesn't match account it is being included in, ${JSON.stringify(subject)}`);
  if (act.kind !== type) out.push(`mismatch between token import type ${act.kind} and type of import ${type}`);
  if (act.kind !== 'service' && act.kind !== 'stream') out.push(`invalid import type: ${JSON.stringify(act.kind)}`);
  out.push(...subjectProblems(act.subject));
  if (act.issuerAccount !== '' && !isPublicKey(act.issuerAccount, 'A')) out.push('account_id is not an account public key');
  const subj = type === 'service' && to !== '' ? to : subject;
  if (!subjectContainedIn(subj, act.subject)) {
    out.push(`activation token import subject ${JSON.stringify(act.subject)} doesn't match import ${JSON.stringify(subject)}`);
  }
  return issues;
}

/**
 * server/server.go checkResolvePreloads and the operator warnings of
 * Start: a preloaded account JWT whose validation (time checks included)
 * has a blocking issue is logged with all its issues; trusted operators
 * without a system account are warned about. Warning texts, in order.
 */
export function operatorStartupWarnings(opts: Options): string[] {
  if (opts.trustedOperators.length === 0) return [];
  const out: string[] = [];
  if (opts.systemAccount === '') out.push('Trusted Operators should utilize a System Account');
  for (const [pub, token] of Object.entries(opts.resolverPreload)) {
    let c: Claims;
    try {
      c = decodeClaims(token);
    } catch {
      continue;
    }
    const issues: Issue[] = [];
    const tp = timeProblem(c);
    if (tp !== null) issues.push({ text: tp, blocking: true });
    for (const i of Array.isArray(c.nats.imports) ? c.nats.imports : []) {
      const o = obj(i);
      if (o === null) issues.push({ text: 'null import is not allowed', blocking: true });
      else issues.push(...importClaimIssues(c.sub, o));
    }
    if (!issues.some((x) => x.blocking)) continue;
    out.push(`Account [${pub}] has validation issues:`);
    for (const x of issues) out.push(`  - ${x.text}`);
  }
  return out;
}

/**
 * server/accounts.go checkActivation: the import's activation token is
 * valid for `importer`, issued by the exporter (or one of `issuers`, its
 * signing keys, on its behalf), not expired nor revoked by the export.
 * Returns the activation when it is, null when not.
 */
export function checkActivation(
  exporter: string,
  issuers: ReadonlySet<string>,
  importer: string,
  claim: { type: string; subject: string; to: string; token: string } | undefined,
  revoked: ReadonlyMap<string, number> | null,
  logError: (msg: string) => void,
): ActivationClaims | null {
  if (claim === undefined || claim.token === '') return null;
  const imp: Json = { type: claim.type, subject: claim.subject, account: exporter, token: claim.token };
  if (claim.to !== '') imp.to = claim.to;
  if (importClaimProblems(importer, imp).length > 0) return null;
  let act: ActivationClaims;
  try {
    act = decodeActivationClaims(claim.token);
  } catch {
    return null;
  }
  // isIssuerClaimTrusted
  if (act.issuerAccount !== '') {
    if (act.issuerAccount !== exporter) {
      logError(
        `Invalid issuer account ${JSON.stringify(act.issuerAccount)} in activation claim (subject: ${JSON.stringify(act.subject)} - type: ${JSON.stringify(act.kind)}) for account ${JSON.stringify(exporter)}`,
      );
      return null;
    }
    if (!issuers.has(act.iss)) return null;
  }
  const now = Math.floor(Date.now() / 1000);
  if (act.exp > 0 && now > act.exp) return null;
  if (act.nbf > 0 && act.nbf > now) return null;
  if (act.exp !== 0 && act.exp <= now) return null;
  if (revoked !== null && isRevoked(revoked, act.sub, act.iat)) return null;
  return act;
}

/** server/accounts.go isRevoked */
export function isRevoked(revocations: ReadonlyMap<string, number>, subject: string, issuedAt: number): boolean {
  if (revocations.size === 0) return false;
  const t = revocations.get(subject);
  if (t === undefined || t < issuedAt) {
    const all = revocations.get('*');
    if (all === undefined || all < issuedAt) return false;
  }
  return true;
}

/** server/auth.go buildInternalNkeyUser: the permissions a user JWT carries. */
export function permissionsFromUserClaims(n: Json): Permissions | undefined {
  let p: Permissions | undefined;
  const pub = obj(n.pub);
  const sub = obj(n.sub);
  const pubAllow = strings(pub?.allow);
  const pubDeny = strings(pub?.deny);
  const subAllow = strings(sub?.allow);
  const subDeny = strings(sub?.deny);
  if (pubAllow.length > 0 || pubDeny.length > 0) {
    p = {};
    p.publish = {};
    if (pubAllow.length > 0) p.publish.allow = pubAllow;
    if (pubDeny.length > 0) p.publish.deny = pubDeny;
  }
  if (subAllow.length > 0 || subDeny.length > 0) {
    p ??= {};
    p.subscribe = {};
    if (subAllow.length > 0) p.subscribe.allow = subAllow;
    if (subDeny.length > 0) p.subscribe.deny = subDeny;
  }
  const resp = obj(n.resp);
  if (resp !== null) {
    p ??= {};
    // jwt ResponsePermission: max messages, ttl in nanoseconds.
    const max = num(resp.max, 0);
    const ttlMs = Math.trunc(num(resp.ttl, 0) / 1e6);
    p.response = {
      maxMsgs: max === 0 ? DEFAULT_RESP_MAX_MSGS : max,
      expiresMs: ttlMs === 0 ? DEFAULT_RESP_EXPIRES_MS : ttlMs,
    };
    // server/auth.go validateResponsePermissions: publish allow gets an
    // empty list so only responses may be published when nothing else is.
    p.publish ??= {};
    p.publish.allow ??= [];
  }
  return p;
}

/** Go's time.Time %v of a Unix time, in the local zone: 2026-11-27 05:34:02 +0000 UTC. */
export function goTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const offs = `${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
  const zone = off === 0 ? 'UTC' : offs;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${offs} ${zone}`;
}

/** The "Trusted Operators" notice lines of server startup (server/server.go). */
export function trustedOperatorLines(opts: Options): string[] {
  if (opts.trustedOperators.length === 0) return [];
  const out = ['Trusted Operators'];
  for (const token of opts.trustedOperators) {
    let raw: Json;
    try {
      raw = decode<Json>(token) as unknown as Json;
    } catch {
      continue;
    }
    out.push(`  System  : ${JSON.stringify(str(raw.aud))}`);
    out.push(`  Operator: ${JSON.stringify(str(raw.name))}`);
    out.push(`  Issued  : ${goTime(num(raw.iat, 0))}`);
    const exp = num(raw.exp, 0);
    out.push(`  Expires : ${exp === 0 ? 'Never' : goTime(exp)}`);
  }
  return out;
}

/** server/auth.go validateSrc: the client address must be in one of the `src` CIDRs, when listed. */
export function validateSrc(n: Json, host: string): boolean {
  const src = typeof n.src === 'string' ? n.src.split(',').map((x) => x.trim()).filter((x) => x !== '') : strings(n.src);
  if (src.length === 0) return true;
  const ip = host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
  const fam = isIP(ip);
  if (fam === 0) return false;
  for (const cidr of src) {
    const slash = cidr.indexOf('/');
    if (slash < 0) return false;
    const addr = cidr.slice(0, slash);
    const prefix = Number(cidr.slice(slash + 1));
    const af = isIP(addr);
    if (af === 0 || !/^\d+$/.test(cidr.slice(slash + 1)) || prefix > (af === 4 ? 32 : 128)) return false;
    const bl = new BlockList();
    bl.addSubnet(addr, prefix, af === 4 ? 'ipv4' : 'ipv6');
    if (af === fam && bl.check(ip, fam === 4 ? 'ipv4' : 'ipv6')) return true;
    if (af === 6 && fam === 4 && bl.check(`::ffff:${ip}`, 'ipv6')) return true;
  }
  return false;
}

/** Wall-clock fields of `d` in the time zone `tz` (the local one when undefined); throws for an unknown zone. */
function wallClock(d: Date, tz: string | undefined): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(d);
  const f = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return Date.UTC(f('year'), f('month') - 1, f('day'), f('hour'), f('minute'), f('second'), d.getMilliseconds());
}

/** jwt UserLimits.Validate: connect-time windows that do not parse, a zone that does not load. */
function timesProblem(n: Json): string | null {
  for (const tr of Array.isArray(n.times) ? n.times : []) {
    const o = obj(tr);
    if (clockSeconds(o?.start) === null || clockSeconds(o?.end) === null) return 'invalid time range';
  }
  const loc = str(n.times_location);
  if (loc !== '') {
    try {
      wallClock(new Date(), loc);
    } catch {
      return 'could not parse time zone';
    }
  }
  return null;
}

/** Go's time.Parse("15:04:05"): seconds into the day, null when it does not parse. */
function clockSeconds(v: unknown): number | null {
  const m = typeof v === 'string' ? /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(v) : null;
  if (m === null) return null;
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const s = Number(m[3]);
  if (h > 23 || mi > 59 || s > 59) return null;
  return h * 3600 + mi * 60 + s;
}

/**
 * server/jwt.go validateTimes: with connect-time windows (`times`, in
 * `locale` or the server's zone) the login must fall inside one of them.
 * Returns null when it does not, else how long the window still lasts in
 * ms (0 = no windows).
 */
export function validateTimes(n: Json, now = new Date()): number | null {
  const times = Array.isArray(n.times) ? n.times : [];
  if (times.length === 0) return 0;
  // jwt UserLimits.Locale is `times_location` in the JSON
  const locale = str(n.times_location);
  let wall: number;
  try {
    wall = wallClock(now, locale === '' ? undefined : locale);
  } catch {
    return null;
  }
  const day = wall - (wall % 86_400_000);
  for (const tr of times) {
    const o = obj(tr);
    const start = clockSeconds(o?.start);
    const end = clockSeconds(o?.end);
    if (start === null || end === null) return null;
    const startAt = day + start * 1000;
    // a window that starts after it ends runs into the next day
    const endAt = day + (start > end ? 86_400_000 : 0) + end * 1000;
    if (startAt < wall && endAt > wall) return endAt - wall;
  }
  return null;
}

/** jwt UserClaims.HasEmptyPermissions: no permission or limit field set at all. */
export function hasEmptyPermissions(n: Json): boolean {
  for (const k of ['pub', 'sub']) {
    const p = obj(n[k]);
    if (p !== null && (strings(p.allow).length > 0 || strings(p.deny).length > 0)) return false;
  }
  const resp = obj(n.resp);
  if (resp !== null && (num(resp.max, 0) !== 0 || num(resp.ttl, 0) !== 0)) return false;
  for (const k of ['subs', 'data', 'payload']) if (num(n[k], 0) !== 0) return false;
  if (strings(n.src).length > 0 || (Array.isArray(n.times) && n.times.length > 0) || str(n.times_location) !== '') return false;
  if (n.bearer_token === true || strings(n.allowed_connection_types).length > 0) return false;
  return true;
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoteList(list: string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

let fakePtr = 0xc000100000;

/**
 * Operator-mode authentication for one configuration. Built by the
 * Authenticator when trusted keys are configured.
 */
export class OperatorAuth {
  readonly trustedKeys: ReadonlySet<string>;
  /** valid account JWTs by account public key */
  readonly accounts = new Map<string, JwtAccountInfo>();
  private readonly pinned: ReadonlySet<string> | null;
  private readonly accTimers = new Map<string, NodeJS.Timeout>();
  private readonly expiredAccounts = new Set<string>();
  /** accounts clients logged in to (the reference registers accounts lazily; its cache resolver updates only those) */
  readonly loadedAccounts = new Set<string>();
  /** preloaded (or fetched) account JWTs that are not usable, with the reason */
  private readonly unusable = new Map<string, string>();
  /** client expiry timers */
  private readonly userTimers = new WeakMap<Client, NodeJS.Timeout>();
  private readonly ptrs = new WeakMap<Account, number>();

  constructor(
    private readonly server: Server,
    opts: Options,
    trusted: ReadonlySet<string>,
  ) {
    this.trustedKeys = trusted;
    this.pinned = opts.resolverPinnedAccounts.length > 0 ? new Set(opts.resolverPinnedAccounts) : null;
    for (const [pub, token] of Object.entries(knownAccountJWTs(server, opts))) {
      const info = accountInfoFromJWT(pub, token, trusted);
      if (typeof info !== 'string') this.accounts.set(pub, info);
      else this.unusable.set(pub, info);
    }
  }

  /**
   * server/server.go lookupAccount: a known account, else the resolver's
   * (URL resolvers fetch it now), else why not: "account missing", or
   * the validation error of its JWT.
   */
  private lookupAccount(pub: string): JwtAccountInfo | string {
    const known = this.accounts.get(pub);
    if (known !== undefined) return known;
    const bad = this.unusable.get(pub);
    if (bad !== undefined) return bad;
    const r = this.server.opts.resolver;
    if (r === undefined || r.type === 'memory') return 'account missing';
    // fetched meanwhile (an import of another account, the system account), or pushed to a NATS resolver
    const token = knownAccountJWTs(this.server)[pub];
    let info: JwtAccountInfo | string;
    if (token !== undefined) {
      info = accountInfoFromJWT(pub, token, this.trustedKeys);
      if (typeof info !== 'string' && this.server.lookupAccount(pub) === undefined) configureServerAccounts(this.server);
    } else if (r.type === 'url') {
      info = fetchAccount(this.server, pub, this.trustedKeys);
    } else {
      // the reference asks the other servers and gives up after 1.9 s; a lone server has nobody to ask
      info = 'fetching jwt timed out';
    }
    if (typeof info === 'string') return info;
    this.accounts.set(pub, info);
    this.armExpiry(info, Math.floor(Date.now() / 1000));
    return info;
  }

  /**
   * server/server.go LookupAccount for the server's own use (a leafnode
   * remote's local account): the registered account, or one the resolver
   * has now; else the lookup error's text.
   */
  resolveAccount(pub: string): Account | string {
    const info = this.lookupAccount(pub);
    if (typeof info === 'string') return info;
    return this.server.lookupAccount(pub) ?? 'account missing';
  }

  /**
   * A NATS resolver stored new claims for a registered account
   * (server/accounts.go updateAccountClaimsWithRefresh): new logins use
   * them; connected clients over the connection limit are closed (newest
   * first), the others get the account's limits again, and revoked users or
   * bearer users the account no longer allows are disconnected.
   */
  accountUpdated(pub: string): void {
    const srv = this.server;
    const token = knownAccountJWTs(srv)[pub];
    if (token === undefined) return;
    const info = accountInfoFromJWT(pub, token, this.trustedKeys);
    if (typeof info === 'string') return;
    this.accounts.set(pub, info);
    this.unusable.delete(pub);
    const old = this.accTimers.get(pub);
    if (old !== undefined) clearTimeout(old);
    this.accTimers.delete(pub);
    this.expiredAccounts.delete(pub);
    this.armExpiry(info, Math.floor(Date.now() / 1000));
    const acc = srv.lookupAccount(pub);
    if (acc === undefined) return;
    acc.jetstreamLimits = info.jetstream;
    // server/accounts.go updateAccountClaimsWithRefresh: leafnodes over the new limit go, newest first.
    acc.maxLeafnodes = info.maxLeafnodes;
    if (info.maxLeafnodes !== NO_LIMIT && acc.numLeafs + acc.remoteLeafs > info.maxLeafnodes) {
      srv.leafnodes?.closeNewest(acc, acc.numLeafs + acc.remoteLeafs - info.maxLeafnodes);
    }
    const clients = [...srv.clients.values()].filter((c): c is Client => !c.closed && c.account === acc && (c as Client).connectReceived);
    clients.sort((a, b) => b.start.getTime() - a.start.getTime());
    for (const [i, c] of clients.entries()) {
      if (info.maxConnections !== NO_LIMIT && i >= info.maxConnections) {
        const text = 'maximum account active connections exceeded';
        c.sendErr(text);
        srv.logger.error(`${c.logPrefix} - ${text}`);
        c.close(ClosedState.MaxAccountConnectionsExceeded);
        continue;
      }
      let juc: Claims | null = null;
      try {
        juc = c.opts.jwt === '' ? null : decodeUserClaims(c.opts.jwt);
      } catch {
        juc = null;
      }
      if (juc === null) continue;
      this.applyLimits(c, juc.nats, info);
      if (info.revocations.size === 0 && !info.disallowBearer) continue;
      if (juc.nats.bearer_token === true && info.disallowBearer) {
        if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - Bearer User JWT not allowed`);
        c.authViolation();
        continue;
      }
      if (isRevoked(info.revocations, juc.sub, juc.iat)) {
        c.sendErr('User Authentication Revoked');
        if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - User Authentication Revoked`);
        c.close(ClosedState.Revocation);
      }
    }
    srv.flushDirty();
  }

  /**
   * The NATS resolver deleted the account's JWT (server/accounts.go
   * removeCb): its clients are told their account expired and closed, and
   * it takes no more logins.
   */
  accountDeleted(pub: string): void {
    const t = this.accTimers.get(pub);
    if (t !== undefined) clearTimeout(t);
    this.accounts.delete(pub);
    this.accountExpired(pub);
  }

  /** Arm the account expiry timers (server/accounts.go checkExpiration). */
  start(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const info of this.accounts.values()) this.armExpiry(info, now);
  }

  private armExpiry(info: JwtAccountInfo, now: number): void {
    if (info.expires === 0) return;
    if (info.expires <= now) {
      this.expiredAccounts.add(info.pub);
      return;
    }
    const t = setTimeout(() => this.accountExpired(info.pub), Math.min((info.expires - now) * 1000, MAX_TIMER_MS));
    t.unref();
    this.accTimers.set(info.pub, t);
  }

  stop(): void {
    for (const t of this.accTimers.values()) clearTimeout(t);
    this.accTimers.clear();
  }

  isAccountExpired(pub: string): boolean {
    return this.expiredAccounts.has(pub);
  }

  /** server/accounts.go expiredTimeout: every client of the account is told and closed. */
  private accountExpired(pub: string): void {
    this.accTimers.delete(pub);
    this.expiredAccounts.add(pub);
    const srv = this.server;
    const acc = srv.lookupAccount(pub);
    if (acc === undefined) return;
    for (const c of [...srv.clients.values()]) {
      if (c.closed || c.account !== acc || !(c as Client).connectReceived) continue;
      expireClient(c as Client, 'Account Authentication Expired');
    }
    srv.flushDirty();
  }

  /**
   * The JWT branch of processClientOrLeafAuthentication. Returns true when
   * authenticated (the client is bound to its account and permissions),
   * false for an authorization violation, and 'closed' when the client was
   * already answered and closed (account connection limit).
   */
  authenticate(c: Client): boolean | 'closed' {
    const co = c.opts;
    const srv = this.server;
    const debug = (msg: string): void => {
      if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - ${msg}`);
    };
    if (co.jwt === '') {
      debug('Authentication requires a user JWT');
      return false;
    }
    let juc: Claims;
    try {
      juc = decodeUserClaims(co.jwt);
    } catch (e) {
      debug(`User JWT not valid: ${(e as Error).message}`);
      return false;
    }
    const tp = timeProblem(juc) ?? timesProblem(juc.nats);
    if (tp !== null) {
      debug(`User JWT no longer valid: ${tp}`);
      return false;
    }
    const n = juc.nats;
    // server/auth.go convertAllowedConnectionTypes
    const declared = strings(n.allowed_connection_types).map((t) => t.toUpperCase());
    const known = declared.filter((t) => KNOWN_CONNECTION_TYPES.has(t));
    if (known.length !== declared.length) {
      const unknown = declared.find((t) => !KNOWN_CONNECTION_TYPES.has(t)) ?? '';
      debug(`invalid connection types ["${unknown}"]`);
      if (known.length === 0) return false;
    }
    if (known.length > 0 && !known.includes(c.connectionType)) {
      debug('Connection type not allowed');
      return false;
    }
    const ia = str(n.issuer_account);
    const issuer = ia !== '' ? ia : juc.iss;
    if (this.pinned !== null && !this.pinned.has(issuer)) {
      debug(`Account ${issuer} not listed as operator pinned account`);
      return false;
    }
    const found = this.lookupAccount(issuer);
    const info = typeof found === 'string' ? undefined : found;
    const acc = info === undefined ? undefined : srv.lookupAccount(issuer);
    if (info === undefined || acc === undefined) {
      debug(`Account JWT lookup error: ${typeof found === 'string' ? found : 'account missing'}`);
      return false;
    }
    this.loadedAccounts.add(acc.name);
    if (!this.trustedKeys.has(info.issuer)) {
      debug('Account JWT not signed by trusted operator');
      return false;
    }
    let userClaims: Json = n;
    if (juc.iss !== info.pub) {
      const scope = info.signingKeys.get(juc.iss);
      if (scope === undefined) {
        debug('User JWT issuer is not known');
        return false;
      }
      if (scope.template !== null) {
        if (!hasEmptyPermissions(n)) {
          debug('User JWT is not valid: scoped users require no permissions or limits set');
          return false;
        }
        userClaims = { ...n, ...scope.template };
      }
    }
    if (this.expiredAccounts.has(info.pub)) {
      debug('Account JWT has expired');
      return false;
    }
    const bearer = n.bearer_token === true;
    if (bearer && info.disallowBearer) {
      debug('Account does not allow bearer token');
      return false;
    }
    if (!bearer) {
      const err = nonceSignatureError(juc.sub, c.nonce, co.sig);
      if (err !== null) {
        debug(err);
        return false;
      }
    }
    if (isRevoked(info.revocations, juc.sub, juc.iat)) {
      debug('User authentication revoked');
      return false;
    }
    if (!validateSrc(userClaims, c.host)) {
      srv.logger.error(`${c.logPrefix} - Bad src Ip ${c.host}`);
      return false;
    }
    const validFor = validateTimes(userClaims);
    if (validFor === null) {
      srv.logger.error(`${c.logPrefix} - Outside connect times`);
      return false;
    }

    // RegisterNkeyUser → registerWithAccount: the account connection limit,
    // for a leafnode its leafnode limit (server/client.go registerWithAccount).
    acc.maxLeafnodes = info.maxLeafnodes;
    const over =
      c.kind === Kind.LEAF
        ? info.maxLeafnodes !== NO_LIMIT && acc.numLeafs + acc.remoteLeafs >= info.maxLeafnodes
        : info.maxConnections !== NO_LIMIT && c.account !== acc && acc.numClients + acc.remoteClients >= info.maxConnections;
    if (over) {
      const text = 'maximum account active connections exceeded';
      srv.logger.error(`${c.logPrefix} - ${text}`);
      c.sendErr(text);
      c.close(ClosedState.MaxAccountConnectionsExceeded);
      return 'closed';
    }
    const perms = permissionsFromUserClaims(userClaims);
    c.user = juc.sub;
    srv.moveClientToAccount(c, acc);
    this.applyLimits(c, userClaims, info);
    c.perms = perms === undefined ? null : new ClientPermissions(new PermissionRules(perms, (m) => srv.logger.error(m)));

    // server/client.go setExpiration: whole seconds until exp, or the end of
    // the connect-time window when that comes first.
    this.clearUserTimer(c);
    if (juc.exp > 0 || validFor > 0) {
      let ms = juc.exp > 0 ? Math.max(0, juc.exp - Math.floor(Date.now() / 1000)) * 1000 : validFor;
      if (juc.exp > 0 && validFor > 0 && validFor < ms) ms = validFor;
      const t = setTimeout(() => {
        this.userTimers.delete(c);
        if (!c.closed) {
          expireClient(c, 'User Authentication Expired');
          srv.flushDirty();
        }
      }, Math.min(ms, MAX_TIMER_MS));
      t.unref();
      this.userTimers.set(c, t);
    }

    if (srv.logger.debugEnabled) {
      let ptr = this.ptrs.get(acc);
      if (ptr === undefined) {
        ptr = fakePtr += 0x400;
        this.ptrs.set(acc, ptr);
      }
      debug(
        `Authenticated JWT: Client ${JSON.stringify(juc.sub)} (claim-name: ${JSON.stringify(juc.name)}, claim-tags: ${goQuoteList(strings(n.tags))}) ` +
          `signed with ${JSON.stringify(juc.iss)} by Account ${JSON.stringify(issuer)} (claim-name: ${JSON.stringify(info.name)}, claim-tags: ${goQuoteList(info.tags)}) ` +
          `signed with ${JSON.stringify(info.issuer)} has mappings false accused 0x${ptr.toString(16)}`,
      );
    }
    return true;
  }

  /** server/client.go applyAccountLimits: user JWT, then account, then server limits. */
  private applyLimits(c: Client, userClaims: Json, info: JwtAccountInfo): void {
    applyAccountLimits(c, num(userClaims.payload, 0), num(userClaims.subs, 0), info.maxPayload, info.maxSubs);
  }

  /** Drop a client's expiry timer (closed, or re-authenticated). */
  clearUserTimer(c: Client): void {
    const t = this.userTimers.get(c);
    if (t !== undefined) {
      clearTimeout(t);
      this.userTimers.delete(c);
    }
  }
}

/**
 * server/client.go applyAccountLimits: the user's payload and subscription
 * limits, lowered to the account's, then to the server's (logging when the
 * server's override a set limit). -1 = no limit.
 */
export function applyAccountLimits(c: Client, userPay: number, userSubs: number, accPay: number, accSubs: number): void {
  const srv = c.server;
  const o = srv.opts;
  const lim = { pay: userPay, subs: userSubs };
  const minLimit = (key: 'pay' | 'subs', limit: number): boolean => {
    const v = lim[key];
    if (v !== NO_LIMIT) {
      if (limit !== NO_LIMIT && limit < v) {
        lim[key] = limit;
        return true;
      }
    } else if (limit !== NO_LIMIT) {
      lim[key] = limit;
      return true;
    }
    return false;
  };
  minLimit('pay', accPay);
  minLimit('subs', accSubs);
  let wasUnlimited = lim.pay === NO_LIMIT;
  if (minLimit('pay', o.maxPayload === 0 ? NO_LIMIT : o.maxPayload) && !wasUnlimited) {
    srv.logger.error(`${c.logPrefix} - Max Payload set to ${o.maxPayload} from server overrides account or user config`);
  }
  wasUnlimited = lim.subs === NO_LIMIT;
  if (minLimit('subs', o.maxSubs === 0 ? NO_LIMIT : o.maxSubs) && !wasUnlimited) {
    srv.logger.error(`${c.logPrefix} - Max Subscriptions set to ${o.maxSubs} from server overrides account or user config`);
  }
  c.jwtMaxPayload = lim.pay === NO_LIMIT ? Number.MAX_SAFE_INTEGER : lim.pay;
  c.jwtMaxSubs = lim.subs;
}

/** server/client.go authExpired / accountAuthExpired: -ERR, a debug line, close. */
function expireClient(c: Client, text: string): void {
  const srv = c.server;
  c.sendErr(text);
  if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - ${text}`);
  c.close(ClosedState.AuthenticationExpired);
}

