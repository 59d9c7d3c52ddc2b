// Go's `flag` package command line syntax, which nats-server uses:
//
//   -name  --name          boolean flags only (never consume the next arg)
//   -name=value --name=value
//   -name value --name value   non-boolean flags (value may start with '-')
//   --                      ends the flags; so does the first non-flag
//                           argument, and a lone '-'
//
// Numbers parse like strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes,
// leading-0 octal, '_' digit separators. Booleans like strconv.ParseBool.
// Error texts are the flag package's.

import { goQuote } from '../logging/gofmt.js';
import { FlagError } from './errors.js';

export type FlagKind = 'bool' | 'int' | 'string';

export interface FlagDef {
  /** every spelling, without dashes */
  names: readonly string[];
  kind: FlagKind;
  /** the variable the flag writes; aliases share it and the last one wins */
  key: string;
}

export type FlagValue = boolean | number | string;

export interface GoFlagResult {
  /** final value of every variable some flag wrote */
  values: Map<string, FlagValue>;
  /** the names of the flags that were given, in command line order (repeats kept) */
  given: string[];
  /** the arguments after the flags */
  args: string[];
}

type NumResult = { value: bigint } | { error: 'parse error' | 'value out of range' };

// strconv.underscoreOK: '_' only between digits (or after a base prefix).
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(s[1].toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1].toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    const lc = c.toLowerCase();
    if ((c >= '0' && c <= '9') || (hex && lc >= 'a' && lc <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const MAX_UINT64 = (1n << 64n) - 1n;

function parseUint(s: string, s0: string): NumResult {
  if (s === '') return { error: 'parse error' };
  let base = 10n;
  let digits = s;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1].toLowerCase() : '';
    if (p === 'b') base = 2n;
    else if (p === 'o') base = 8n;
    else if (p === 'x') base = 16n;
    else base = 8n;
    digits = base === 8n && p !== 'o' ? s.slice(1) : s.slice(2);
  }
  let n = 0n;
  let underscores = false;
  for (const c of digits) {
    let d: bigint;
    const lc = c.toLowerCase();
    if (c === '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = BigInt(c.charCodeAt(0) - 48);
    } else if (lc >= 'a' && lc <= 'z') {
      d = BigInt(lc.charCodeAt(0) - 87);
    } else {
      return { error: 'parse error' };
    }
    if (d >= base) return { error: 'parse error' };
    n = n * base + d;
    if (n > MAX_UINT64) return { error: 'value out of range' };
  }
  if (underscores && !underscoreOK(s0)) return { error: 'parse error' };
  return { value: n };
}

/** strconv.ParseInt(s, 0, 64) */
export function parseGoInt(s: string): NumResult {
  if (s === '') return { error: 'parse error' };
  let neg = false;
  let body = s;
  if (s[0] === '+') body = s.slice(1);
  else if (s[0] === '-') {
    neg = true;
    body = s.slice(1);
  }
  const u = parseUint(body, s);
  if ('error' in u) return u;
  const cutoff = 1n << 63n;
  if (!neg && u.value >= cutoff) return { error: 'value out of range' };
  if (neg && u.value > cutoff) return { error: 'value out of range' };
  return { value: neg ? -u.value : u.value };
}

/** strconv.ParseBool */
export function parseGoBool(s: string): boolean | undefined {
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
  return undefined;
}

/** flag.FlagSet.Parse over `argv` (without the program name). Throws FlagError. */
export function parseGoFlags(defs: readonly FlagDef[], argv: readonly string[]): GoFlagResult {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) for (const n of d.names) byName.set(n, d);
  const values = new Map<string, FlagValue>();
  const given: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const s = argv[i];
    if (s.length < 2 || s[0] !== '-') break;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        i++;
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') {
      throw new FlagError('FLAG_BAD_SYNTAX', `bad flag syntax: ${s}`);
    }
    i++;
    let value = '';
    let hasValue = false;
    const eq = name.indexOf('=', 1);
    if (eq >= 0) {
      value = name.slice(eq + 1);
      hasValue = true;
      name = name.slice(0, eq);
    }
    const def = byName.get(name);
    if (!def) throw new FlagError('FLAG_UNDEFINED', `flag provided but not defined: -${name}`, name);
    if (def.kind === 'bool') {
      let b = true;
      if (hasValue) {
        const parsed = parseGoBool(value);
        if (parsed === undefined) {
          throw new FlagError('FLAG_INVALID_BOOL', `invalid boolean value ${goQuote(value)} for -${name}: parse error`, name);
        }
        b = parsed;
      }
      values.set(def.key, b);
    } else {
      if (!hasValue && i < argv.length) {
        value = argv[i];
        hasValue = true;
        i++;
      }
      if (!hasValue) throw new FlagError('FLAG_NEEDS_ARGUMENT', `flag needs an argument: -${name}`, name);
      if (def.kind === 'int') {
        const r = parseGoInt(value);
        if ('error' in r) {
          throw new FlagError('FLAG_INVALID_VALUE', `invalid value ${goQuote(value)} for flag -${name}: ${r.error}`, name);
        }
        values.set(def.key, Number(r.value));
      } else {
        values.set(def.key, value);
      }
    }
    given.push(name);
  }
  return { values, given, args: argv.slice(i) };
}
