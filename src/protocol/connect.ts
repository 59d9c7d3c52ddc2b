// CONNECT decoding as the reference does it: json.Unmarshal(arg, &c.opts)
// into server/client.go ClientOpts, with Go 1.19's encoding/json (the
// reference's build). What that means, and JSON.parse would not do:
//
//  - the whole text is syntax-checked first (gojson.ts); a syntax error wins
//    over any type error and nothing is decoded;
//  - members are applied in document order, so of duplicate keys each one is
//    applied in turn (the last good one stays); `null` leaves a field alone;
//  - a value of the wrong type does not stop decoding: the first such error
//    is remembered, later fields are still set, and Unmarshal returns it, so
//    the whole CONNECT fails (the client is closed, the text logged);
//  - keys match field names exactly, else case-insensitively with Unicode
//    simple folding (encoding/json fold.go: "ſ" U+017F matches "s", the
//    Kelvin sign U+212A matches "k"); escapes in keys are decoded first;
//  - the int field (protocol) takes only a literal strconv.ParseInt accepts:
//    no fraction, no exponent, within int64 ("number 1.0" in the error);
//    a number into any other field is just "number";
//  - ClientOpts also has import/export (*SubjectPermission, for routes and
//    leafnodes): a client's values there are type-checked but not kept;
//    errors inside name the innermost struct, with the whole path
//    ("SubjectPermission.import.allow"), a Go quirk;
//  - strings decode invalid UTF-8 byte by byte to U+FFFD, lone surrogate
//    escapes to U+FFFD.

import { goJsonSyntaxErrorBytes } from './gojson.js';
import { decodeRuneGo } from './goquote.js';

/** Fields of CONNECT (server/client.go ClientOpts); names as on the wire. */
export interface ConnectOptions {
  echo: boolean;
  verbose: boolean;
  pedantic: boolean;
  tls_required: boolean;
  nkey: string;
  jwt: string;
  sig: string;
  auth_token: string;
  user: string;
  pass: string;
  name: string;
  lang: string;
  version: string;
  protocol: number;
  account: string;
  new_account: boolean;
  headers: boolean;
  no_responders: boolean;
}

// server/client.go defaultOpts: a client that never sends CONNECT, or omits a
// field, is verbose and pedantic.
export function defaultConnectOptions(): ConnectOptions {
  return {
    echo: true,
    verbose: true,
    pedantic: true,
    tls_required: false,
    nkey: '',
    jwt: '',
    sig: '',
    auth_token: '',
    user: '',
    pass: '',
    name: '',
    lang: '',
    version: '',
    protocol: 0,
    account: '',
    new_account: false,
    headers: false,
    no_responders: false,
  };
}

export class ConnectParseError extends Error {
  readonly code = 'ERR_CONNECT_JSON';
}

const enum T {
  Bool,
  Str,
  Int,
  /** *SubjectPermission */
  Perm,
  /** []string */
  StrList,
}

/** Go's Type.String() of each kind, for "of type …" */
const GO_TYPE = ['bool', 'string', 'int', 'server.SubjectPermission', '[]string'];

const CLIENT_OPTS = new Map<string, T>([
  ['echo', T.Bool],
  ['verbose', T.Bool],
  ['pedantic', T.Bool],
  ['tls_required', T.Bool],
  ['nkey', T.Str],
  ['jwt', T.Str],
  ['sig', T.Str],
  ['auth_token', T.Str],
  ['user', T.Str],
  ['pass', T.Str],
  ['name', T.Str],
  ['lang', T.Str],
  ['version', T.Str],
  ['protocol', T.Int],
  ['account', T.Str],
  ['new_account', T.Bool],
  ['headers', T.Bool],
  ['no_responders', T.Bool],
  ['import', T.Perm],
  ['export', T.Perm],
]);

const SUBJECT_PERMISSION = new Map<string, T>([
  ['allow', T.StrList],
  ['deny', T.StrList],
]);

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Decode the CONNECT JSON in b[start, end) onto `into` as Go's
 * json.Unmarshal into ClientOpts does; throws ConnectParseError with Go's
 * error text when Unmarshal would return an error.
 */
export function decodeConnect(b: Buffer, start: number, end: number, into: ConnectOptions): void {
  const syntax = goJsonSyntaxErrorBytes(b, start, end);
  if (syntax !== null) throw new ConnectParseError(syntax);
  const d = new Decoder(b, start, end, into);
  d.top();
  if (d.err !== null) throw new ConnectParseError(d.err);
}

/** The key folded for matching (ASCII lower case, ſ→s, K→k), or null when it can match no field. */
function foldKey(k: string): string | null {
  let simple = true;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) {
      simple = false;
      break;
    }
  }
  if (simple) return k;
  let out = '';
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x80) out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : k[i];
    else if (c === 0x17f) out += 's';
    else if (c === 0x212a) out += 'k';
    else return null;
  }
  return out;
}

/** Decodes text already known to be valid JSON (so no syntax checks here). */
class Decoder {
  i: number;
  /** the first type error (Go's savedError) */
  err: string | null = null;
  /** the bytes as latin1 (one char per byte): ASCII strings are sliced from it */
  private readonly text: string;
  private readonly base: number;
  /** Go's errorContext: the innermost struct and the field path */
  private struct = '';
  private path: string[] = [];

  constructor(
    private readonly b: Buffer,
    start: number,
    private readonly end: number,
    private readonly into: ConnectOptions,
  ) {
    this.i = start;
    this.base = start;
    this.text = b.toString('latin1', start, end);
  }

  private skipWs(): void {
    const b = this.b;
    while (this.i < this.end) {
      const c = b[this.i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.i++;
    }
  }

  /** Go's UnmarshalTypeError text, saved when it is the first. */
  private typeError(value: string, goType: string): void {
    if (this.err !== null) return;
    this.err =
      this.path.length === 0
        ? `json: cannot unmarshal ${value} into Go value of type ${goType}`
        : `json: cannot unmarshal ${value} into Go struct field ${this.struct}.${this.path.join('.')} of type ${goType}`;
  }

  top(): void {
    this.skipWs();
    const c = this.b[this.i];
    if (c === 0x7b) this.object(CLIENT_OPTS, 'ClientOpts', true);
    else if (c === 0x6e) this.i += 4; // null: nothing to do
    else this.mismatch(c, 'server.ClientOpts');
  }

  /** A value that cannot go where it is: the type error, then skip it. */
  private mismatch(c: number, goType: string): void {
    if (c === 0x22) this.typeError('string', goType);
    else if (c === 0x74 || c === 0x66) this.typeError('bool', goType);
    else if (c === 0x7b) this.typeError('object', goType);
    else if (c === 0x5b) this.typeError('array', goType);
    else this.typeError('number', goType);
    this.skipValue();
  }

  private object(fields: Map<string, T>, structName: string, keep: boolean): void {
    const b = this.b;
    const depth = this.path.length;
    const outerStruct = this.struct;
    this.i++; // {
    this.skipWs();
    if (b[this.i] === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      this.skipWs();
      const key = this.string();
      this.skipWs();
      this.i++; // :
      this.skipWs();
      // an exact match is its own fold: one lookup covers both of Go's steps
      const fieldName = foldKey(key);
      const kind = fieldName === null ? undefined : fields.get(fieldName);
      if (kind === undefined) {
        this.skipValue();
      } else {
        this.path.push(fieldName!);
        this.struct = structName;
        this.field(kind, fieldName!, keep);
        // encoding/json resets the error context after each member
        this.path.length = depth;
        this.struct = outerStruct;
      }
      this.skipWs();
      if (b[this.i++] === 0x7d) return; // else ','
    }
  }

  private field(kind: T, name: string, keep: boolean): void {
    const b = this.b;
    const c = b[this.i];
    if (c === 0x6e) {
      // null: a bool, string or int keeps its value; a pointer or slice becomes nil (not kept here)
      this.i += 4;
      return;
    }
    const target = this.into as unknown as Record<string, unknown>;
    switch (kind) {
      case T.Bool:
        if (c === 0x74 || c === 0x66) {
          if (keep) target[name] = c === 0x74;
          this.i += c === 0x74 ? 4 : 5;
        } else this.mismatch(c, 'bool');
        return;
      case T.Str:
        if (c === 0x22) {
          const s = this.string();
          if (keep) target[name] = s;
        } else this.mismatch(c, 'string');
        return;
      case T.Int:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          const s = this.numberText();
          const n = parseInt64(s);
          if (n === null) this.typeError(`number ${s}`, 'int');
          else if (keep) target[name] = n;
        } else this.mismatch(c, 'int');
        return;
      case T.Perm:
        if (c === 0x7b) this.object(SUBJECT_PERMISSION, 'SubjectPermission', false);
        else this.mismatch(c, GO_TYPE[T.Perm]);
        return;
      case T.StrList:
        if (c !== 0x5b) {
          this.mismatch(c, GO_TYPE[T.StrList]);
          return;
        }
        this.i++; // [
        this.skipWs();
        if (b[this.i] === 0x5d) {
          this.i++;
          return;
        }
        for (;;) {
          this.skipWs();
          const e = b[this.i];
          // elements keep the slice's error context (no path entry of their own)
          if (e === 0x22) this.string();
          else if (e === 0x6e) this.i += 4;
          else this.mismatch(e, 'string');
          this.skipWs();
          if (b[this.i++] === 0x5d) return; // else ','
        }
    }
  }

  /** The literal text of a number at i. */
  private numberText(): string {
    const b = this.b;
    const s = this.i;
    while (this.i < this.end) {
      const c = b[this.i];
      if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) this.i++;
      else break;
    }
    return this.text.slice(s - this.base, this.i - this.base);
  }

  /** Skips any valid JSON value at i (iteratively: nesting may be 10000 deep). */
  private skipValue(): void {
    const b = this.b;
    let depth = 0;
    for (;;) {
      const c = b[this.i];
      if (c === 0x22) {
        this.skipString();
      } else if (c === 0x7b || c === 0x5b) {
        depth++;
        this.i++;
      } else if (c === 0x7d || c === 0x5d) {
        depth--;
        this.i++;
      } else if (c === 0x2c || c === 0x3a || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        this.i++;
      } else {
        // number or literal
        this.i++;
        while (this.i < this.end) {
          const d = b[this.i];
          if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) break;
          this.i++;
        }
      }
      if (depth === 0) return;
    }
  }

  private skipString(): void {
    const b = this.b;
    this.i++;
    for (;;) {
      const c = b[this.i++];
      if (c === 0x22) return;
      if (c === 0x5c) this.i++;
    }
  }

  /** A string at i, decoded as Go's unquote does. */
  private string(): string {
    const b = this.b;
    const s = ++this.i;
    // common case: printable ASCII without escapes
    for (;;) {
      const c = b[this.i];
      if (c === 0x22) {
        this.i++;
        return this.text.slice(s - this.base, this.i - 1 - this.base);
      }
      if (c === 0x5c || c >= 0x80) break;
      this.i++;
    }
    let out = this.text.slice(s - this.base, this.i - this.base);
    // from here: runs of plain bytes that are well-formed UTF-8 decode in one
    // call; escapes and invalid bytes one at a time
    let run = this.i;
    for (;;) {
      const c = b[this.i];
      if (c !== 0x22 && c !== 0x5c) {
        if (c < 0x80) {
          this.i++;
          continue;
        }
        const d = decodeRuneGo(b, this.i, this.end);
        if (d >>> 21 > 1) {
          this.i += d >>> 21;
          continue;
        }
      }
      if (run < this.i) out += b.toString('utf8', run, this.i);
      if (c === 0x22) {
        this.i++;
        return out;
      }
      if (c !== 0x5c) {
        out += '\ufffd'; // a byte that starts no well-formed sequence
        this.i++;
        run = this.i;
        continue;
      }
      const e = b[this.i + 1];
      this.i += 2;
      switch (e) {
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          let r = this.hex4();
          if (r >= 0xd800 && r < 0xe000) {
            // a surrogate pair, else U+FFFD (the next escape is then read on its own)
            if (r < 0xdc00 && b[this.i] === 0x5c && b[this.i + 1] === 0x75) {
              const save = this.i;
              this.i += 2;
              const r2 = this.hex4();
              if (r2 >= 0xdc00 && r2 < 0xe000) {
                out += String.fromCharCode(r, r2);
                run = this.i;
                break;
              }
              this.i = save;
            }
            r = 0xfffd;
          }
          out += String.fromCharCode(r);
          break;
        }
        default:
          out += String.fromCharCode(e); // " \ /
      }
      run = this.i;
    }
  }

  private hex4(): number {
    const n = parseInt(this.text.slice(this.i - this.base, this.i + 4 - this.base), 16);
    this.i += 4;
    return n;
  }
}

/** strconv.ParseInt(s, 10, 64) of a JSON number literal, or null when Go refuses it. */
function parseInt64(s: string): number | null {
  for (let k = s.charCodeAt(0) === 0x2d ? 1 : 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return null; // fraction or exponent
  }
  if (s.length < 16) return Number(s) + 0; // + 0: "-0" is 0
  const v = BigInt(s);
  if (v > INT64_MAX || v < INT64_MIN) return null;
  return Number(v);
}
