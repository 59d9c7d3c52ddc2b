// Decoding the JSON options of a $SYS.REQ request the way Go's
// encoding/json fills the reference's *EventOptions structs: unknown keys
// are ignored, keys match case-insensitively, the last duplicate wins, and
// a value of the wrong type is reported with Go's text ("json: cannot
// unmarshal string into Go struct field ConnzEventOptions.limit of type
// int") after the rest was decoded. Syntax errors use Go's scanner texts.

import { goJsonSyntaxErrorBytes } from '../protocol/gojson.js';

export type FieldType = 'bool' | 'int' | 'uint64' | 'string' | 'strings' | 'sortopt' | 'connstate' | 'bytes';

export type FieldSpec = Readonly<Record<string, FieldType>>;

/** server/events.go EventFilterOptions */
export const FILTER_FIELDS: FieldSpec = { server_name: 'string', cluster: 'string', host: 'string', tags: 'strings', domain: 'string' };

export class OptionsError extends Error {}

const GO_TYPE: Record<FieldType, string> = {
  bool: 'bool',
  int: 'int',
  uint64: 'uint64',
  string: 'string',
  strings: '[]string',
  sortopt: 'server.SortOpt',
  connstate: 'server.ConnState',
  bytes: '[]uint8',
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // 'string' | 'number'
}

/** The decoded value, or the Go "cannot unmarshal" value description when it does not fit. */
function convert(t: FieldType, v: unknown, raw: string): { ok: true; value: unknown } | { ok: false; what: string; elem?: boolean } {
  if (v === null) return { ok: true, value: undefined };
  const k = kindOf(v);
  switch (t) {
    case 'bool':
      return k === 'bool' ? { ok: true, value: v } : { ok: false, what: k === 'number' ? 'number' : k };
    case 'string':
    case 'sortopt':
      return k === 'string' ? { ok: true, value: v } : { ok: false, what: k === 'number' ? 'number' : k };
    case 'int':
    case 'uint64':
    case 'connstate': {
      if (k !== 'number') return { ok: false, what: k };
      // Go parses the literal: a fraction, an exponent or an out-of-range value does not fit an integer
      if (!/^-?\d+$/.test(raw)) return { ok: false, what: `number ${raw}` };
      const n = Number(raw);
      if (t === 'uint64' && raw.startsWith('-')) return { ok: false, what: `number ${raw}` };
      if (!Number.isSafeInteger(n)) return { ok: false, what: `number ${raw}` };
      return { ok: true, value: n };
    }
    case 'strings': {
      if (k !== 'array') return { ok: false, what: k === 'number' ? 'number' : k };
      const out: string[] = [];
      for (const e of v as unknown[]) {
        if (e === null) continue;
        if (typeof e !== 'string') return { ok: false, what: kindOf(e) === 'number' ? 'number' : kindOf(e), elem: true };
        out.push(e);
      }
      return { ok: true, value: out };
    }
    case 'bytes': {
      // []byte is base64 in Go's JSON
      if (k !== 'string') return { ok: false, what: k === 'number' ? 'number' : k };
      return { ok: true, value: Buffer.from(v as string, 'base64').toString('latin1') };
    }
  }
}

/** The raw text of each top-level value of a JSON object, for Go's "number 1.5" texts. */
function rawValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  // JSON.parse's reviver cannot see the source text; re-stringify numbers instead:
  // JS prints integral doubles without a fraction, so 1.0 and 1e2 are told apart below.
  const re = /"((?:[^"\\]|\\.)*)"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.set(JSON.parse(`"${m[1]}"`) as string, m[2]!);
  return out;
}

/**
 * Decode `msg` into the fields of `spec` (plus the filter fields).
 * Throws OptionsError with Go's text.
 */
export function decodeOptions(msg: Buffer, structName: string, spec: FieldSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (msg.length === 0) return out;
  const syntax = goJsonSyntaxErrorBytes(msg);
  if (syntax !== null) throw new OptionsError(syntax);
  const text = msg.toString('utf8');
  const v = JSON.parse(text) as unknown;
  if (v === null) return out;
  const k = kindOf(v);
  if (k !== 'object') throw new OptionsError(`json: cannot unmarshal ${k === 'number' ? 'number' : k} into Go value of type server.${structName}`);
  const all: Record<string, FieldType> = { ...spec, ...FILTER_FIELDS };
  const names = Object.keys(all);
  const raws = rawValues(text);
  let firstErr: string | null = null;
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const name = all[key] !== undefined ? key : names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (name === undefined) continue;
    const t = all[name]!;
    const r = convert(t, value, raws.get(key) ?? String(value));
    if (r.ok) {
      if (r.value === undefined) delete out[name];
      else out[name] = r.value;
    } else if (firstErr === null) {
      // an element of the wrong type is reported with the element's type ([]string → string)
      firstErr = `json: cannot unmarshal ${r.what} into Go struct field ${structName}.${name} of type ${r.elem === true ? 'string' : GO_TYPE[t]}`;
    }
  }
  if (firstErr !== null) throw new OptionsError(firstErr);
  return out;
}

export const str = (o: Record<string, unknown>, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
export const bool = (o: Record<string, unknown>, k: string): boolean => o[k] === true;
export const int = (o: Record<string, unknown>, k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);
export const strs = (o: Record<string, unknown>, k: string): string[] => (Array.isArray(o[k]) ? (o[k] as string[]) : []);
