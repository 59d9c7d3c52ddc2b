// Query-string handling with Go's semantics (net/url ParseQuery, Values.Get)
// and the reference's parameter decoders (server/monitor.go decodeBool,
// decodeInt, decodeUint64, decodeState, decodeSubs), including their exact
// 400 error texts, so scripts that probe the API see the same answers.

import { goQuote } from '../protocol/errors.js';

/** A 400 answer the reference gives for a bad parameter. */
export class BadRequest extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

/** Parsed query: first value per key, as Go's url.Values.Get returns it. */
export class Query {
  private readonly values = new Map<string, string[]>();

  constructor(raw: string) {
    if (raw === '') return;
    for (const part of raw.split('&')) {
      // Go 1.17+: a pair with a semicolon is rejected (and skipped).
      if (part === '' || part.includes(';')) continue;
      const eq = part.indexOf('=');
      const k = queryUnescape(eq < 0 ? part : part.slice(0, eq));
      const v = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
      if (k === null || v === null) continue;
      const list = this.values.get(k);
      if (list === undefined) this.values.set(k, [v]);
      else list.push(v);
    }
  }

  get(key: string): string {
    const l = this.values.get(key);
    return l === undefined ? '' : l[0];
  }

  /** decodeBool: strconv.ParseBool, "" = false. */
  bool(key: string): boolean {
    const s = this.get(key);
    if (s === '') return false;
    const v = parseGoBool(s);
    if (v === null) {
      throw new BadRequest(`Error decoding boolean for '${key}': strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
    }
    return v;
  }

  /** decodeInt: strconv.Atoi, "" = 0. */
  int(key: string): number {
    const s = this.get(key);
    if (s === '') return 0;
    const r = parseGoInt(s, true);
    if (typeof r === 'string') throw new BadRequest(`Error decoding int for '${key}': strconv.Atoi: parsing ${goQuote(s)}: ${r}`);
    return r;
  }

  /** decodeUint64: strconv.ParseUint(s, 10, 64), "" = 0. */
  uint64(key: string): number {
    const s = this.get(key);
    if (s === '') return 0;
    const r = parseGoInt(s, false);
    if (typeof r === 'string') {
      throw new BadRequest(`Error decoding uint64 for '${key}': strconv.ParseUint: parsing ${goQuote(s)}: ${r}`);
    }
    return r;
  }

  /** decodeSubs: "detail" (any case) or a boolean. */
  subs(): { subs: boolean; detail: boolean } {
    if (this.get('subs').toLowerCase() === 'detail') return { subs: false, detail: true };
    return { subs: this.bool('subs'), detail: false };
  }
}

export const enum ConnState {
  Open = 0,
  Closed = 1,
  All = 2,
}

/** decodeState: open | closed | any | all, case-insensitive. */
export function decodeState(q: Query): ConnState {
  const s = q.get('state');
  if (s === '') return ConnState.Open;
  switch (s.toLowerCase()) {
    case 'open':
      return ConnState.Open;
    case 'closed':
      return ConnState.Closed;
    case 'any':
    case 'all':
      return ConnState.All;
  }
  throw new BadRequest(`Error decoding state for ${s}`);
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** url.QueryUnescape: '+' is a space, %XX must be two hex digits. null on a bad escape. */
export function queryUnescape(s: string): string | null {
  if (!s.includes('%') && !s.includes('+')) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === 0x25) {
      if (i + 2 >= src.length) return null;
      const h = hexVal(src[i + 1]);
      const l = hexVal(src[i + 2]);
      if (h < 0 || l < 0) return null;
      out[n++] = (h << 4) | l;
      i += 2;
    } else if (c === 0x2b) out[n++] = 0x20;
    else out[n++] = c;
  }
  return out.toString('utf8', 0, n);
}

/** url.PathUnescape-like decoding of the request path; null when malformed. */
export function pathUnescape(s: string): string | null {
  if (!s.includes('%')) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === 0x25) {
      if (i + 2 >= src.length) return null;
      const h = hexVal(src[i + 1]);
      const l = hexVal(src[i + 2]);
      if (h < 0 || l < 0) return null;
      out[n++] = (h << 4) | l;
      i += 2;
    } else out[n++] = c;
  }
  return out.toString('utf8', 0, n);
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | null {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
  }
  return null;
}

const INT64_MAX = 9223372036854775807n;
const UINT64_MAX = 18446744073709551615n;

/**
 * strconv.Atoi (signed) or ParseUint base 10: the number, or Go's error
 * reason ("invalid syntax" / "value out of range").
 */
export function parseGoInt(s: string, signed: boolean): number | string {
  let i = 0;
  let neg = false;
  if (signed && (s[0] === '+' || s[0] === '-')) {
    neg = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) return 'invalid syntax';
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return 'invalid syntax';
  }
  const big = BigInt(s.slice(i));
  if (signed) {
    if (neg ? big > INT64_MAX + 1n : big > INT64_MAX) return 'value out of range';
  } else if (big > UINT64_MAX) return 'value out of range';
  const n = Number(big);
  return neg ? -n : n;
}
