// JSON as the reference reads and writes it: Go's encoding/json decoding
// rules for request bodies (field names matched case-insensitively, unknown
// fields ignored, a wrong type is an error, null leaves the zero value) and
// Go's output (HTML-safe escaping, time.Time as RFC 3339 with trimmed
// nanoseconds, the zero time as 0001-01-01T00:00:00Z).

import { goJSON } from '../monitor/gofmt.js';

export class JsonDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonDecodeError';
  }
}

/** compact Go JSON */
export function toGoJSON(v: unknown): string {
  return goJSON(v, 0);
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's time.Time MarshalJSON (UTC) for a nanosecond timestamp; 0 is the zero time. */
export function nsToTime(ns: number): string {
  if (ns === 0) return ZERO_TIME;
  const secs = Math.floor(ns / 1e9);
  const frac = ns - secs * 1e9;
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  if (frac <= 0) return base + 'Z';
  const digits = String(Math.round(frac)).padStart(9, '0').replace(/0+$/, '');
  return `${base}.${digits}Z`;
}

/** RFC 3339 (with fraction) to ns; NaN when it does not parse. */
export function timeToNs(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (m === null) return NaN;
  const ms = Date.parse(m[1] + (m[3] === 'Z' ? 'Z' : m[3]));
  if (Number.isNaN(ms)) return NaN;
  const frac = m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0'));
  if (m[1].startsWith('0001-01-01T00:00:00') && frac === 0) return 0;
  return ms * 1e6 + frac;
}

/** Parse a request body as Go would into a map; an empty body is {}. */
export function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new JsonDecodeError('invalid JSON');
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new JsonDecodeError('invalid JSON');
  return v as Record<string, unknown>;
}

/** objects whose keys are all in lower case, distinct: field() reads them directly (see folded) */
const FOLDED = new WeakSet<object>();

/**
 * `o`'s fields by lower-case name, the last of names equal but for case
 * winning, as field() decides: for decoders that look up many fields of one
 * object. field() on it is one property read instead of a pass over every
 * key (a restart decodes each stream's config: ~30 lookups of ~20 keys).
 */
export function folded(o: Record<string, unknown>): Record<string, unknown> {
  // not an object (a malformed file or request): field() decides as it always did
  if (typeof o !== 'object' || o === null) return o;
  let lower = true;
  // for-in: no key array (a JSON object has no inherited enumerable keys)
  for (const k in o) {
    if (NOT_PLAIN_LOWER.test(k) && k !== k.toLowerCase()) {
      lower = false;
      break;
    }
  }
  // keys already in lower case (what clients and tsnats' own files send)
  // cannot differ by case alone: the object itself will do
  if (lower) {
    FOLDED.add(o);
    return o;
  }
  const f = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(o)) f[k.toLowerCase()] = o[k];
  FOLDED.add(f);
  return f;
}

/** a key toLowerCase might change (it allocates even when it changes nothing) */
const NOT_PLAIN_LOWER = /[^a-z0-9_]/;

/**
 * Field lookup as encoding/json decodes: keys match a field
 * case-insensitively and, in document order, the last one wins.
 */
export function field(o: Record<string, unknown>, name: string): unknown {
  if (FOLDED.has(o)) {
    if (Object.hasOwn(o, name)) return o[name];
    const l = name.toLowerCase();
    return l !== name && Object.hasOwn(o, l) ? o[l] : undefined;
  }
  const lname = name.toLowerCase();
  let v: unknown = undefined;
  for (const k of Object.keys(o)) if (k === name || k.toLowerCase() === lname) v = o[k];
  return v;
}

function bad(name: string): never {
  throw new JsonDecodeError(`json: cannot unmarshal into field ${name}`);
}

export function str(o: Record<string, unknown>, name: string, def = ''): string {
  const v = field(o, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') bad(name);
  return v;
}

export function bool(o: Record<string, unknown>, name: string, def = false): boolean {
  const v = field(o, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') bad(name);
  return v;
}

/** an integer field; `min`/`max` are the Go type's range */
export function int(o: Record<string, unknown>, name: string, def = 0, min = -(2 ** 63), max = 2 ** 63): number {
  const v = field(o, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(name);
  return v;
}

export const uint = (o: Record<string, unknown>, name: string, def = 0): number => int(o, name, def, 0);
export const int32 = (o: Record<string, unknown>, name: string, def = 0): number => int(o, name, def, -(2 ** 31), 2 ** 31 - 1);

export function strings(o: Record<string, unknown>, name: string): string[] | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) bad(name);
  for (const s of v) if (typeof s !== 'string') bad(name);
  return v as string[];
}

export function obj(o: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) bad(name);
  return v as Record<string, unknown>;
}

/** one of an enum's JSON strings (the reference's UnmarshalJSON rejects anything else) */
export function oneOf<T extends string>(o: Record<string, unknown>, name: string, values: readonly T[], def: T): T {
  const v = field(o, name);
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) bad(name);
  return v as T;
}

/** a time.Time field: RFC 3339 text; undefined when absent */
export function time(o: Record<string, unknown>, name: string): number | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') bad(name);
  const ns = timeToNs(v);
  if (Number.isNaN(ns)) bad(name);
  return ns;
}
