// The leafnode wire protocol of nats-server 2.9.10 (server/leafnode.go):
// the INFO a hub sends, the CONNECT a leaf answers with, LS+/LS- interest
// lines and the arguments of LMSG/HMSG. Pure functions over strings and
// buffers; the connection (leaf.ts) decides what they mean.

/** Subjects of this prefix detect loops: each account subscribes its own (server/leafnode.go). */
export const LDS_PREFIX = '$LDS.';

/** The leaf CONNECT (server/leafnode.go leafConnectInfo), as received. */
export interface LeafConnect {
  version: string;
  jwt: string;
  sig: string;
  user: string;
  pass: string;
  tlsRequired: boolean;
  serverId: string;
  domain: string;
  name: string;
  hub: boolean;
  cluster: string;
  headers: boolean;
  jetstream: boolean;
  denyPub: string[];
  gateway: string;
  /** clients send a lang: how a client that dialed the leafnode port is told apart */
  lang: string;
}

export class LeafProtoError extends Error {
  readonly code = 'ERR_TSNATS_LEAF_PROTO';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bool = (v: unknown): boolean => v === true;

export function decodeLeafConnect(text: string): LeafConnect {
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    o = v as Record<string, unknown>;
  } catch (e) {
    throw new LeafProtoError((e as Error).message);
  }
  return {
    version: str(o.version),
    jwt: str(o.jwt),
    sig: str(o.sig),
    user: str(o.user),
    pass: str(o.pass),
    tlsRequired: bool(o.tls_required),
    serverId: str(o.server_id),
    domain: str(o.domain),
    name: str(o.name),
    hub: bool(o.is_hub),
    cluster: str(o.cluster),
    headers: bool(o.headers),
    jetstream: bool(o.jetstream),
    denyPub: Array.isArray(o.deny_pub) ? o.deny_pub.filter((x): x is string => typeof x === 'string') : [],
    gateway: str(o.gateway),
    lang: str(o.lang),
  };
}

/** What a leaf takes from the hub's INFO (server/server.go Info, leafnode fields). */
export interface LeafInfo {
  serverId: string;
  name: string;
  version: string;
  headers: boolean;
  authRequired: boolean;
  tlsRequired: boolean;
  nonce: string;
  cid: number;
  cluster: string;
  domain: string;
  /** null when absent: a server that is not listening for leafnodes on that port */
  leafnodeUrls: string[] | null;
  wsConnectUrls: string[];
  connectInfo: boolean;
  infoOnConnect: boolean;
  remoteAccount: string;
  importPerms: { allow?: string[]; deny?: string[] } | null;
  exportPerms: { allow?: string[]; deny?: string[] } | null;
}

function perms(v: unknown): { allow?: string[]; deny?: string[] } | null {
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const list = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : undefined);
  return { allow: list(o.allow), deny: list(o.deny) };
}

export function decodeLeafInfo(text: string): LeafInfo {
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    o = v as Record<string, unknown>;
  } catch (e) {
    throw new LeafProtoError((e as Error).message);
  }
  const urls = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : null);
  return {
    serverId: str(o.server_id),
    name: str(o.server_name),
    version: str(o.version),
    headers: bool(o.headers),
    authRequired: bool(o.auth_required),
    tlsRequired: bool(o.tls_required),
    nonce: str(o.nonce),
    cid: typeof o.client_id === 'number' ? o.client_id : 0,
    cluster: str(o.cluster),
    domain: str(o.domain),
    leafnodeUrls: urls(o.leafnode_urls),
    wsConnectUrls: urls(o.ws_connect_urls) ?? [],
    connectInfo: bool(o.connect_info),
    infoOnConnect: bool(o.info_on_connect),
    remoteAccount: str(o.remote_account),
    importPerms: perms(o.import),
    exportPerms: perms(o.export),
  };
}

/** One LS+ ("subject", or "subject queue weight"). */
export interface LeafSubArgs {
  subject: string;
  queue: string | null;
  weight: number;
  /** what LS- names it by: "subject" or "subject queue" */
  key: string;
}

function splitBlanks(arg: string): string[] {
  return arg.split(/[ \t\r\n]+/).filter((s) => s.length > 0);
}

/** server/leafnode.go processLeafSub; the error text is the reference's. */
export function parseLeafSub(arg: string): LeafSubArgs | string {
  const a = splitBlanks(arg);
  if (a.length === 1) return { subject: a[0]!, queue: null, weight: 1, key: a[0]! };
  if (a.length === 3) {
    const w = parseSize(a[2]!);
    return { subject: a[0]!, queue: a[1]!, weight: w > 0 ? w : 1, key: `${a[0]} ${a[1]}` };
  }
  return `processLeafSub Parse Error: '${arg}'`;
}

/** LS- carries the key exactly as LS+ registered it: "subject" or "subject queue". */
export function leafUnsubKey(arg: string): string {
  return splitBlanks(arg).join(' ');
}

/** The LS+/LS- line for an interest key with weight n (server/leafnode.go writeLeafSub). */
export function leafSubLine(key: string, n: number): string {
  if (n > 0) return key.includes(' ') ? `LS+ ${key} ${n}\r\n` : `LS+ ${key}\r\n`;
  return `LS- ${key}\r\n`;
}

/** server/util.go parseSize over a string: digits only, at most 9, else -1. */
export function parseSize(s: string): number {
  if (s.length === 0 || s.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Where the arguments of an LMSG/HMSG from a leaf lie, as offsets into the read buffer. */
export interface LeafMsgArgs {
  paBuf: Buffer;
  paSubjStart: number;
  paSubjEnd: number;
  paReplyStart: number;
  paReplyEnd: number;
  paHdr: number;
  paHdbStart: number;
  paHdbEnd: number;
  paSize: number;
  paSzbStart: number;
  paSzbEnd: number;
  /** queue names as [start, end) pairs */
  paQueues: Int32Array;
  paNumQueues: number;
}

const TOK = new Int32Array(2 * 64);

/**
 * server/leafnode.go processLeafMsgArgs / processLeafHeaderMsgArgs:
 * "subj [reply] [hdr] size", or "subj (+ reply | |) q1 q2 ... [hdr] size".
 * Returns null, or the reference's error text.
 */
export function parseLeafMsgArgs(withHdr: boolean, buf: Buffer, start: number, end: number, t: LeafMsgArgs): string | null {
  let n = 0;
  let s = -1;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b === 32 || b === 9 || b === 13 || b === 10) {
      if (s >= 0) {
        if (n < 64) {
          TOK[2 * n] = s;
          TOK[2 * n + 1] = i;
        }
        n++;
        s = -1;
      }
    } else if (s < 0) s = i;
  }
  if (s >= 0) {
    if (n < 64) {
      TOK[2 * n] = s;
      TOK[2 * n + 1] = end;
    }
    n++;
  }
  const name = withHdr ? 'processLeafHeaderMsgArgs' : 'processLeafMsgArgs';
  const argText = (): string => `[${Array.from({ length: Math.min(n, 64) }, (_, k) => buf.toString('latin1', TOK[2 * k], TOK[2 * k + 1])).join(' ')}]`;
  if (n > 64) return `${name} Parse Error: '${argText()}'`;
  const min = withHdr ? 3 : 2;
  if (n < min) return `${name} Parse Error: '${argText()}'`;
  t.paBuf = buf;
  t.paSubjStart = TOK[0]!;
  t.paSubjEnd = TOK[1]!;
  t.paReplyStart = t.paReplyEnd = 0;
  t.paNumQueues = 0;
  const sizeAt = n - 1;
  const hdrAt = withHdr ? n - 2 : -1;
  if (n === min || n === min + 1) {
    if (n === min + 1) {
      t.paReplyStart = TOK[2];
      t.paReplyEnd = TOK[3];
    }
  } else {
    const is = TOK[2]!;
    if (TOK[3]! - is !== 1) return `${name} Bad or Missing Reply Indicator: '${buf.toString('latin1', is, TOK[3])}'`;
    let q0: number;
    if (buf[is] === 0x2b) {
      t.paReplyStart = TOK[4]!;
      t.paReplyEnd = TOK[5]!;
      q0 = 3;
    } else if (buf[is] === 0x7c) {
      q0 = 2;
    } else {
      return `${name} Bad or Missing Reply Indicator: '${buf.toString('latin1', is, TOK[3])}'`;
    }
    const qEnd = withHdr ? n - 2 : n - 1;
    if (t.paQueues.length < 2 * (qEnd - q0)) t.paQueues = new Int32Array(2 * (qEnd - q0) * 2);
    for (let k = q0; k < qEnd; k++) {
      t.paQueues[2 * t.paNumQueues] = TOK[2 * k]!;
      t.paQueues[2 * t.paNumQueues + 1] = TOK[2 * k + 1]!;
      t.paNumQueues++;
    }
  }
  t.paSzbStart = TOK[2 * sizeAt]!;
  t.paSzbEnd = TOK[2 * sizeAt + 1]!;
  t.paSize = parseSize(buf.toString('latin1', t.paSzbStart, t.paSzbEnd));
  if (withHdr) {
    t.paHdbStart = TOK[2 * hdrAt]!;
    t.paHdbEnd = TOK[2 * hdrAt + 1]!;
    t.paHdr = parseSize(buf.toString('latin1', t.paHdbStart, t.paHdbEnd));
    if (t.paHdr < 0) return `${name} Bad or Missing Header Size: '${buf.toString('latin1', start, end)}'`;
  } else {
    t.paHdr = -1;
    t.paHdbStart = t.paHdbEnd = 0;
  }
  if (t.paSize < 0) return `${name} Bad or Missing Size: '${argText()}'`;
  if (withHdr && t.paHdr > t.paSize) return `${name} Header Size larger then TotalSize: '${buf.toString('latin1', start, end)}'`;
  return null;
}

/** Is `v` at least major.minor.update (server/server.go versionAtLeast)? */
export function versionAtLeast(v: string, major: number, minor: number, update: number): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (m === null) return false;
  const a = [Number(m[1]), Number(m[2]), Number(m[3])];
  const b = [major, minor, update];
  for (let i = 0; i < 3; i++) {
    if (a[i]! > b[i]!) return true;
    if (a[i]! < b[i]!) return false;
  }
  return true;
}
