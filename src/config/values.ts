// Shared machinery for mapping conf nodes onto Options: typed access that
// fails the way the reference does, and the error/warning collector.
//
// nats-server reads values with Go type assertions (`v.(int64)`); a wrong
// type panics, and a deferred recover in the enclosing parse function turns
// the panic into `file:line:col: interface conversion: interface {} is
// string, not int64` and abandons the rest of that function. TypeMismatch
// plays the panic; `recovering()` plays the deferred recover.

import type { ConfNode, ConfPosition } from './conf.js';
import { formatIssue, type ConfigIssue } from './errors.js';

/** Go's name for the dynamic type of a conf value (as %T prints it). */
export function goType(n: ConfNode | undefined): string {
  if (n === undefined) return '<nil>';
  switch (n.kind) {
    case 'string':
      return 'string';
    case 'integer':
      return 'int64';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'datetime':
      return 'time.Time';
    case 'array':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
  }
}

/** An approximation of Go's %v for conf values, used in a few error texts. */
export function goValue(n: ConfNode | undefined): string {
  if (n === undefined) return '<nil>';
  switch (n.kind) {
    case 'string':
      return n.value;
    case 'integer':
    case 'float':
      return String(n.value);
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'datetime':
      return n.value.toISOString().replace(/\.000Z$/, ' +0000 UTC').replace('T', ' ');
    case 'array':
      return '[' + n.value.map(goValue).join(' ') + ']';
    case 'map':
      return (
        'map[' +
        [...n.value.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => `${k}:${goValue(v)}`)
          .join(' ') +
        ']'
      );
  }
}

/** Go's %q for a string (ASCII-printable kept, the usual escapes otherwise). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** A failed type assertion or nil dereference: the reference's recovered panic. */
export class TypeMismatch extends Error {
  readonly code = 'E_CONF_TYPE';
  constructor(
    readonly at: ConfPosition | undefined,
    reason: string,
  ) {
    super(reason);
    this.name = 'TypeMismatch';
  }
}

export const NIL_DEREF = 'runtime error: invalid memory address or nil pointer dereference';

function mismatch(n: ConfNode, want: string): TypeMismatch {
  return new TypeMismatch(n, `interface conversion: interface {} is ${goType(n)}, not ${want}`);
}

export function asString(n: ConfNode): string {
  if (n.kind !== 'string') throw mismatch(n, 'string');
  return n.value;
}

export function asInt(n: ConfNode): number {
  if (n.kind !== 'integer') throw mismatch(n, 'int64');
  return n.value;
}

export function asBool(n: ConfNode): boolean {
  if (n.kind !== 'bool') throw mismatch(n, 'bool');
  return n.value;
}

export function asArray(n: ConfNode): ConfNode[] {
  if (n.kind !== 'array') throw mismatch(n, '[]interface {}');
  return n.value;
}

export function asMap(n: ConfNode): Map<string, ConfNode> {
  if (n.kind !== 'map') throw mismatch(n, 'map[string]interface {}');
  return n.value;
}

/** Collects located errors and warnings the way ProcessConfigFile does. */
export class Issues {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  /** tsnats-specific notes (unsupported features); not reference warnings */
  readonly notices: string[] = [];

  /** An issue at `at`; without a position (as for environment-provided values) only the reason is printed. */
  static make(at: (ConfPosition & { fromEnv?: true }) | undefined, reason: string): ConfigIssue {
    if (at === undefined || at.fromEnv) return { file: '', line: 0, column: 0, reason, message: reason };
    return {
      file: at.file,
      line: at.line,
      column: at.column,
      reason,
      message: formatIssue(at.file, at.line, at.column, reason),
    };
  }

  error(at: ConfPosition | undefined, reason: string): void {
    this.errors.push(Issues.make(at, reason));
  }

  /** server/errors.go unknownConfigFieldErr */
  unknownField(at: ConfPosition, field: string): void {
    const issue = Issues.make(at, `unknown field ${goQuote(field)}`);
    this.errors.push(issue);
  }

  /** server/errors.go configWarningErr */
  warnField(at: ConfPosition, field: string, reason: string): void {
    const issue = Issues.make(at, reason);
    issue.message = formatIssue(at.file, at.line, at.column, `invalid use of field ${goQuote(field)}: ${reason}`);
    this.warnings.push(issue);
  }

  notice(msg: string): void {
    this.notices.push(msg);
  }
}

/**
 * Runs fn; a TypeMismatch becomes an error and `fallback` is returned, like a
 * Go parse function with `defer convertPanicToErrorList(...)`.
 */
export function recovering<T>(issues: Issues, fallback: T, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TypeMismatch) {
      issues.error(e.at, e.message);
      return fallback;
    }
    throw e;
  }
}

/** Go strconv.Atoi (decimal, optional sign, int64 range). */
export function goAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n < -(1n << 63n) || n > (1n << 63n) - 1n) return undefined;
  return Number(n);
}

/** Go net.SplitHostPort; undefined where Go returns an error. */
export function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const i = hp.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hp[0] === '[') {
    const end = hp.indexOf(']');
    if (end < 0 || end + 1 === hp.length || end + 1 !== i) return undefined;
    host = hp.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hp.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (hp.slice(j).includes('[') || hp.slice(k).includes(']')) return undefined;
  return { host, port: hp.slice(i + 1) };
}

/** server/opts.go parseListen: a port, or "host:port". Throws a reason string on failure. */
export function parseListen(n: ConfNode): { host: string; port: number } {
  if (n.kind === 'integer') return { host: '', port: n.value };
  if (n.kind === 'string') {
    const hp = splitHostPort(n.value);
    if (hp === undefined) throw new ListenError(`could not parse address string ${goQuote(n.value)}`);
    const port = goAtoi(hp.port);
    if (port === undefined) throw new ListenError(`could not parse port ${goQuote(hp.port)}`);
    return { host: hp.host, port };
  }
  throw new ListenError(`expected port or host:port, got ${goType(n)}`);
}

export class ListenError extends Error {
  readonly code = 'E_CONF_LISTEN';
}

/**
 * server/opts.go parseStringArray: a string or an array of strings; wrong
 * element types are reported and skipped. Returns undefined if not usable.
 */
export function parseStringArray(
  fieldName: string,
  n: ConfNode,
  issues: Issues,
): string[] | undefined {
  if (n.kind === 'string') return [n.value];
  if (n.kind === 'array') {
    const out: string[] = [];
    for (const el of n.value) {
      if (el.kind === 'string') out.push(el.value);
      else issues.error(el, `error parsing ${fieldName}: unsupported type in array ${goType(el)}`);
    }
    return out;
  }
  issues.error(n, `error parsing ${fieldName}: unsupported type ${goType(n)}`);
  return undefined;
}
