// The route protocol's wire forms, as nats-server 2.9.10 speaks them
// (server/route.go): argument parsing for RMSG/HMSG/LMSG and RS+/RS-/LS+/LS-,
// the encoders for what we send, and the INFO/CONNECT JSON with the
// reference's field order. Pure functions, unit tested on their own.
//
//   RS+ <account> <subject>[ <queue> <weight>]
//   RS- <account> <subject>[ <queue>]
//   LS+ <origin> <account> <subject>[ <queue> <weight>]   (leafnode origin)
//   RMSG <account> <subject> [<reply>] <size>
//   RMSG <account> <subject> + <reply> <queue>... <size>  (queue groups to serve)
//   RMSG <account> <subject> | <queue>... <size>          (same, no reply)
//   HMSG <account> <subject> [...] <hdr size> <total size>
//   LMSG <origin> <account> <subject> [...] <hdr size> <total size>

import type { SubjectPermission } from '../config/options.js';
import { goJsonSyntaxError } from '../protocol/gojson.js';

const SP = 32;
const TAB = 9;
const CR = 13;
const LF = 10;
const PLUS = 43;
const PIPE = 124;

/** Which routed message verb an argument line belongs to. */
export const enum RoutedOp {
  RMSG = 0,
  HMSG = 1,
  LMSG = 2,
}

/**
 * The parsed arguments of a routed message, as offsets into `paBuf` so that
 * the hot path allocates nothing. A Route implements this itself.
 */
export interface RoutedArgs {
  paBuf: Buffer;
  paOriginStart: number;
  paOriginEnd: number;
  paAccStart: number;
  paAccEnd: number;
  paSubjStart: number;
  paSubjEnd: number;
  /** reply range; start === end when there is none */
  paReplyStart: number;
  paReplyEnd: number;
  /** header size, -1 for RMSG */
  paHdr: number;
  paHdbStart: number;
  paHdbEnd: number;
  paSize: number;
  paSzbStart: number;
  paSzbEnd: number;
  /** [start, end) pairs of the queue names the sender asks us to serve */
  paQueues: Int32Array;
  paNumQueues: number;
}

// Scratch for splitting one argument line: [start, end) pairs. Grown when a
// message names unusually many queue groups; never shrunk.
let ARGS = new Int32Array(64);

function splitArgs(buf: Buffer, start: number, end: number): number {
  let n = 0;
  let s = -1;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === SP || b === TAB || b === CR || b === LF) {
      if (s >= 0) {
        n = push(n, s, i);
        s = -1;
      }
    } else if (s < 0) s = i;
  }
  if (s >= 0) n = push(n, s, end);
  return n;
}

function push(n: number, s: number, e: number): number {
  if (2 * n + 2 > ARGS.length) {
    const g = new Int32Array(ARGS.length * 2);
    g.set(ARGS);
    ARGS = g;
  }
  ARGS[2 * n] = s;
  ARGS[2 * n + 1] = e;
  return n + 1;
}

/** server/util.go parseSize: 1–9 ASCII digits, else -1. */
export function parseSizeBytes(buf: Buffer, start: number, end: number): number {
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

/** Go's `%s` of a [][]byte: "[a b c]". */
function argList(buf: Buffer, n: number): string {
  const parts: string[] = [];
  for (let k = 0; k < n; k++) parts.push(buf.toString('latin1', ARGS[2 * k], ARGS[2 * k + 1]));
  return '[' + parts.join(' ') + ']';
}

const FN_NAMES = ['processRoutedMsgArgs', 'processRoutedHeaderMsgArgs', 'processRoutedOriginClusterMsgArgs'];

/**
 * Parse the argument line of RMSG/HMSG/LMSG into `pa`. Returns null, or the
 * error text the reference logs before closing the route (server/route.go).
 */
export function parseRoutedArgs(op: RoutedOp, buf: Buffer, start: number, end: number, pa: RoutedArgs): string | null {
  const n = splitArgs(buf, start, end);
  const fn = FN_NAMES[op];
  // LMSG carries the origin cluster first; the rest is laid out as HMSG.
  const off = op === RoutedOp.LMSG ? 1 : 0;
  const hdr = op !== RoutedOp.RMSG;
  // fixed arguments: [origin] account subject [hdr] size
  const fixed = 2 + off + (hdr ? 2 : 1);
  pa.paBuf = buf;
  pa.paNumQueues = 0;
  pa.paReplyStart = pa.paReplyEnd = 0;
  pa.paHdr = -1;
  if (n < fixed) return `${fn} Parse Error: '${argList(buf, n)}'`;
  const a = off; // index of the account
  if (n === fixed || n === fixed + 1) {
    if (n === fixed + 1) {
      pa.paReplyStart = ARGS[2 * (a + 2)];
      pa.paReplyEnd = ARGS[2 * (a + 2) + 1];
    }
  } else {
    // The argument after the subject marks a queue list: '+' with a reply, '|' without.
    const ms = ARGS[2 * (a + 2)];
    const me = ARGS[2 * (a + 2) + 1];
    const mark = me - ms === 1 ? buf[ms] : 0;
    let q: number;
    if (mark === PLUS) {
      pa.paReplyStart = ARGS[2 * (a + 3)];
      pa.paReplyEnd = ARGS[2 * (a + 3) + 1];
      q = a + 4;
    } else if (mark === PIPE) {
      q = a + 3;
    } else {
      return `${fn} Bad or Missing Reply Indicator: '${buf.toString('latin1', ms, me)}'`;
    }
    const qe = n - (hdr ? 2 : 1);
    let nq = qe - q;
    if (nq < 0) nq = 0;
    if (pa.paQueues.length < 2 * nq) pa.paQueues = new Int32Array(Math.max(2 * nq, pa.paQueues.length * 2));
    for (let k = 0; k < nq; k++) {
      pa.paQueues[2 * k] = ARGS[2 * (q + k)];
      pa.paQueues[2 * k + 1] = ARGS[2 * (q + k) + 1];
    }
    pa.paNumQueues = nq;
  }
  pa.paSzbStart = ARGS[2 * (n - 1)];
  pa.paSzbEnd = ARGS[2 * (n - 1) + 1];
  pa.paSize = parseSizeBytes(buf, pa.paSzbStart, pa.paSzbEnd);
  if (hdr) {
    pa.paHdbStart = ARGS[2 * (n - 2)];
    pa.paHdbEnd = ARGS[2 * (n - 2) + 1];
    pa.paHdr = parseSizeBytes(buf, pa.paHdbStart, pa.paHdbEnd);
    if (pa.paHdr < 0) return `${fn} Bad or Missing Header Size: '${buf.toString('latin1', start, end)}'`;
  }
  if (pa.paSize < 0) return `${fn} Bad or Missing Size: '${argList(buf, n)}'`;
  if (hdr && pa.paHdr > pa.paSize) {
    return `${fn} Header Size larger then TotalSize: '${buf.toString('latin1', start, end)}'`;
  }
  if (off === 1) {
    pa.paOriginStart = ARGS[0];
    pa.paOriginEnd = ARGS[1];
  } else {
    pa.paOriginStart = pa.paOriginEnd = 0;
  }
  pa.paAccStart = ARGS[2 * a];
  pa.paAccEnd = ARGS[2 * a + 1];
  pa.paSubjStart = ARGS[2 * (a + 1)];
  pa.paSubjEnd = ARGS[2 * (a + 1) + 1];
  return null;
}

/** A parsed RS+ / LS+. */
export interface RemoteSubArgs {
  origin: string | null;
  account: string;
  subject: string;
  queue: string | null;
  /** queue weight; 0 when there is no queue (or the weight did not parse) */
  weight: number;
  /**
   * The key the sender uses for this interest: the argument line without the
   * origin and the weight. RS-/LS- carry exactly this text.
   */
  key: string;
}

/** server/client.go splitArg: fields separated by blanks, CR or LF. */
function splitFields(text: string): string[] {
  const out: string[] = [];
  let s = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === SP || c === TAB || c === CR || c === LF) {
      if (s >= 0) {
        out.push(text.slice(s, i));
        s = -1;
      }
    } else if (s < 0) s = i;
  }
  if (s >= 0) out.push(text.slice(s));
  return out;
}

/**
 * Parse an RS+ (hasOrigin false) or LS+ argument line (server/route.go
 * processRemoteSub). Returns the error text on bad input.
 */
export function parseRemoteSub(arg: string, hasOrigin: boolean): RemoteSubArgs | string {
  const args = splitFields(arg);
  const off = hasOrigin ? 1 : 0;
  let queue: string | null = null;
  let weight = 0;
  if (args.length === 2 + off) {
    // plain
  } else if (args.length === 4 + off) {
    queue = args[2 + off];
    weight = Math.max(0, parseSizeString(args[3 + off]));
  } else {
    return `processRemoteSub Parse Error: '${arg}'`;
  }
  const origin = hasOrigin ? args[0] : null;
  // The key is the line after the origin, minus the trailing weight.
  let key = hasOrigin ? arg.slice(origin!.length + off) : arg;
  if (queue !== null) key = key.slice(0, key.length - args[3 + off].length - 1);
  return { origin, account: args[off], subject: args[1 + off], queue, weight, key };
}

/** RS- / LS- arguments: account, subject and an optional queue (server/route.go parseUnsubProto). */
export function parseRemoteUnsub(arg: string): { account: string; subject: string; queue: string | null } | string {
  const args = splitFields(arg);
  if (args.length === 2) return { account: args[0], subject: args[1], queue: null };
  if (args.length === 3) return { account: args[0], subject: args[1], queue: args[2] };
  return `processRemoteUnsub parse error: '${arg}'`;
}

function parseSizeString(s: string): number {
  if (s.length === 0 || s.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * "RS+ <account> <subject>[ <queue> <weight>]\r\n" (sub) or
 * "RS- <account> <subject>[ <queue>]\r\n" (unsub), as route.go
 * addRouteSubOrUnsubProtoToBuf writes them. A weight of 0 writes no digits,
 * as the reference's loop does.
 */
export function subProto(sub: boolean, account: string, subject: string, queue: string | null, weight: number): string {
  let s = (sub ? 'RS+ ' : 'RS- ') + account + ' ' + subject;
  if (queue !== null && queue.length > 0) {
    s += ' ' + queue;
    if (sub) s += ' ' + (weight > 0 ? String(weight) : '');
  }
  return s + '\r\n';
}

/**
 * LS+ <origin> <account> <subject>[ <queue> <weight>] / LS- <account>
 * <subject>[ <queue>]: interest of a leaf cluster, to a route that said
 * `lnoc` (server/route.go addRouteSubOrUnsubProtoToBuf; the LS- names no
 * origin).
 */
export function leafOriginSubProto(sub: boolean, origin: string, account: string, subject: string, queue: string | null, weight: number): string {
  const rs = subProto(sub, account, subject, queue, weight);
  return sub ? 'LS+ ' + origin + rs.slice(3) : 'LS-' + rs.slice(3);
}

/** What we send in a route CONNECT (server/route.go connectInfo, same field order). */
export interface RouteConnectInfo {
  user: string;
  pass: string;
  tlsRequired: boolean;
  headers: boolean;
  name: string;
  cluster: string;
  dynamic: boolean;
}

export function routeConnectJSON(ci: RouteConnectInfo): string {
  const o: Record<string, unknown> = { echo: true, verbose: false, pedantic: false };
  if (ci.user !== '') o.user = ci.user;
  if (ci.pass !== '') o.pass = ci.pass;
  o.tls_required = ci.tlsRequired;
  o.headers = ci.headers;
  o.name = ci.name;
  o.cluster = ci.cluster;
  if (ci.dynamic) o.cluster_dynamic = true;
  o.lnoc = true;
  return JSON.stringify(o);
}

/** The CONNECT a route peer sends, decoded the way the reference reads it. */
export interface PeerConnect {
  verbose: boolean;
  pedantic: boolean;
  user: string;
  pass: string;
  tlsRequired: boolean;
  headers: boolean;
  name: string;
  lang: string;
  cluster: string;
  dynamic: boolean;
  lnoc: boolean;
  gateway: string;
  account: string;
  newAccount: boolean;
}

const CONNECT_FIELDS: Record<string, [keyof PeerConnect, 'string' | 'boolean']> = {
  verbose: ['verbose', 'boolean'],
  pedantic: ['pedantic', 'boolean'],
  user: ['user', 'string'],
  pass: ['pass', 'string'],
  tls_required: ['tlsRequired', 'boolean'],
  headers: ['headers', 'boolean'],
  name: ['name', 'string'],
  lang: ['lang', 'string'],
  cluster: ['cluster', 'string'],
  cluster_dynamic: ['dynamic', 'boolean'],
  lnoc: ['lnoc', 'boolean'],
  gateway: ['gateway', 'string'],
  account: ['account', 'string'],
  new_account: ['newAccount', 'boolean'],
};

/**
 * Decode a route CONNECT. Keys match case-insensitively and unknown keys
 * are ignored, as Go's encoding/json does; a wrong-typed known key is an
 * error. Throws Error with a Go-like message.
 */
export function decodePeerConnect(text: string): PeerConnect {
  const pc: PeerConnect = {
    verbose: false,
    pedantic: false,
    user: '',
    pass: '',
    tlsRequired: false,
    headers: false,
    name: '',
    lang: '',
    cluster: '',
    dynamic: false,
    lnoc: false,
    gateway: '',
    account: '',
    newAccount: false,
  };
  const obj = parseJSONObject(text, 'server.clientOpts');
  const target = pc as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const f = CONNECT_FIELDS[k.toLowerCase()];
    if (f === undefined || v === null) continue;
    if (typeof v !== f[1]) {
      throw new Error(`json: cannot unmarshal ${jsonType(v)} into Go struct field clientOpts.${k.toLowerCase()} of type ${f[1] === 'boolean' ? 'bool' : 'string'}`);
    }
    target[f[0]] = v;
  }
  return pc;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function parseJSONObject(text: string, goType: string): Record<string, unknown> {
  // Go's error text for malformed JSON: the reference logs it as is.
  const syntax = goJsonSyntaxError(text);
  if (syntax !== null) throw new Error(syntax);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  if (obj === null) return {};
  if (typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error(`json: cannot unmarshal ${jsonType(obj)} into Go value of type ${goType}`);
  }
  return obj as Record<string, unknown>;
}

/**
 * The route INFO fields (server/server.go Info) in the struct's order; the
 * order matters because the reference re-marshals a peer's INFO when it
 * gossips it to the other routes.
 */
export interface RouteInfo {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  git_commit?: string;
  go: string;
  host: string;
  port: number;
  headers: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  tls_available?: boolean;
  max_payload: number;
  jetstream?: boolean;
  ip?: string;
  client_id?: number;
  client_ip?: string;
  nonce?: string;
  cluster?: string;
  cluster_dynamic?: boolean;
  domain?: string;
  connect_urls?: string[];
  ws_connect_urls?: string[];
  ldm?: boolean;
  import?: SubjectPermission;
  export?: SubjectPermission;
  lnoc?: boolean;
  info_on_connect?: boolean;
  connect_info?: boolean;
  gateway?: string;
  gateway_urls?: string[];
  gateway_url?: string;
  gateway_cmd?: number;
  gateway_cmd_payload?: string;
  gateway_nrp?: boolean;
  gateway_iom?: boolean;
  leafnode_urls?: string[];
  remote_account?: string;
}

type FieldKind = 'string' | 'number' | 'boolean' | 'strings' | 'perm';

// Field name, JSON kind and whether Go omits it when empty (omitempty).
const INFO_FIELDS: [keyof RouteInfo, FieldKind, boolean][] = [
  ['server_id', 'string', false],
  ['server_name', 'string', false],
  ['version', 'string', false],
  ['proto', 'number', false],
  ['git_commit', 'string', true],
  ['go', 'string', false],
  ['host', 'string', false],
  ['port', 'number', false],
  ['headers', 'boolean', false],
  ['auth_required', 'boolean', true],
  ['tls_required', 'boolean', true],
  ['tls_verify', 'boolean', true],
  ['tls_available', 'boolean', true],
  ['max_payload', 'number', false],
  ['jetstream', 'boolean', true],
  ['ip', 'string', true],
  ['client_id', 'number', true],
  ['client_ip', 'string', true],
  ['nonce', 'string', true],
  ['cluster', 'string', true],
  ['cluster_dynamic', 'boolean', true],
  ['domain', 'string', true],
  ['connect_urls', 'strings', true],
  ['ws_connect_urls', 'strings', true],
  ['ldm', 'boolean', true],
  ['import', 'perm', true],
  ['export', 'perm', true],
  ['lnoc', 'boolean', true],
  ['info_on_connect', 'boolean', true],
  ['connect_info', 'boolean', true],
  ['gateway', 'string', true],
  ['gateway_urls', 'strings', true],
  ['gateway_url', 'string', true],
  ['gateway_cmd', 'number', true],
  ['gateway_cmd_payload', 'string', true],
  ['gateway_nrp', 'boolean', true],
  ['gateway_iom', 'boolean', true],
  ['leafnode_urls', 'strings', true],
  ['remote_account', 'string', true],
];

const INFO_INDEX = new Map(INFO_FIELDS.map((f) => [f[0] as string, f]));

/** Serialize an INFO the way json.Marshal(Info) does: struct order, omitempty. */
export function marshalInfo(info: RouteInfo): string {
  const o: Record<string, unknown> = {};
  const src = info as unknown as Record<string, unknown>;
  for (const [name, kind, omit] of INFO_FIELDS) {
    let v = src[name];
    if (v === undefined) {
      if (omit) continue;
      v = kind === 'number' ? 0 : kind === 'boolean' ? false : kind === 'string' ? '' : null;
    }
    if (omit && isEmpty(v, kind)) continue;
    if (kind === 'perm') v = marshalPerm(v as SubjectPermission);
    o[name] = v;
  }
  return JSON.stringify(o);
}

function isEmpty(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return v === '';
    case 'number':
      return v === 0;
    case 'boolean':
      return v === false;
    case 'strings':
      return !Array.isArray(v) || v.length === 0;
    case 'perm':
      return v === null;
  }
}

/** SubjectPermission {allow,deny} with Go's omitempty. */
export function marshalPerm(p: SubjectPermission): Record<string, string[]> {
  const o: Record<string, string[]> = {};
  if (p.allow !== undefined && p.allow.length > 0) o.allow = p.allow;
  if (p.deny !== undefined && p.deny.length > 0) o.deny = p.deny;
  return o;
}

/**
 * Decode a peer's INFO into the Info fields the reference knows; unknown keys
 * (2.10+ additions such as route_pool_size or compression) are dropped, as
 * Go's decoder drops them. Throws on JSON or type errors.
 */
export function decodeRouteInfo(text: string): RouteInfo {
  const obj = parseJSONObject(text, 'server.Info');
  const info = {
    server_id: '',
    server_name: '',
    version: '',
    proto: 0,
    go: '',
    host: '',
    port: 0,
    headers: false,
    max_payload: 0,
  } as RouteInfo;
  const target = info as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const f = INFO_INDEX.get(k.toLowerCase());
    if (f === undefined || v === null) continue;
    const [name, kind] = f;
    if (!hasKind(v, kind)) {
      throw new Error(`json: cannot unmarshal ${jsonType(v)} into Go struct field Info.${name} of type ${goKind(kind)}`);
    }
    target[name] = kind === 'perm' ? decodePerm(v as Record<string, unknown>) : v;
  }
  return info;
}

function hasKind(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' || x === null);
    case 'perm':
      return typeof v === 'object' && !Array.isArray(v);
  }
}

function goKind(kind: FieldKind): string {
  switch (kind) {
    case 'string':
      return 'string';
    case 'number':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'strings':
      return '[]string';
    case 'perm':
      return 'server.SubjectPermission';
  }
}

function decodePerm(v: Record<string, unknown>): SubjectPermission {
  const p: SubjectPermission = {};
  for (const [k, val] of Object.entries(v)) {
    const key = k.toLowerCase();
    if ((key === 'allow' || key === 'deny') && Array.isArray(val)) {
      p[key] = val.filter((x): x is string => typeof x === 'string');
    }
  }
  return p;
}

/**
 * base64url (no padding) of 11 random bytes: the 15-character nonce the
 * reference puts in every route INFO (server/nkey.go nonceLen).
 */
export function routeNonce(random: (n: number) => Buffer): string {
  return random(11).toString('base64url');
}
