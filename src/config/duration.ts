// Go's time.ParseDuration and time.Duration.String, because nats-server
// reads duration options with the former and prints them (in error messages)
// with the latter. Durations are carried as bigint nanoseconds internally to
// keep Go's exact overflow rules.

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const SEC = 1000n * MS;
const MIN = 60n * SEC;
const HOUR = 60n * MIN;

const UNITS: Record<string, bigint> = {
  ns: NS,
  us: US,
  'µs': US, // U+00B5 micro sign
  'μs': US, // U+03BC Greek mu
  ms: MS,
  s: SEC,
  m: MIN,
  h: HOUR,
};

const MAX_INT64 = (1n << 63n) - 1n;
const LIMIT = 1n << 63n;

export class DurationError extends Error {
  readonly code = 'E_DURATION';
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Go's time package quote(): ASCII printable kept, the rest as \xNN bytes. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Parses like Go's time.ParseDuration; returns nanoseconds. */
export function parseGoDuration(input: string): bigint {
  const invalid = (): DurationError => new DurationError('time: invalid duration ' + goTimeQuote(input));
  let s = input;
  let neg = false;
  if (s !== '') {
    const c = s[0];
    if (c === '-' || c === '+') {
      neg = c === '-';
      s = s.slice(1);
    }
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const c0 = s.charCodeAt(0);
    if (!(s[0] === '.' || isDigitCode(c0))) throw invalid();
    // integer part
    let i = 0;
    let v = 0n;
    while (i < s.length && isDigitCode(s.charCodeAt(i))) {
      if (v > LIMIT / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 0x30);
      if (v > LIMIT) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // fraction part: digits beyond int64 precision are dropped, as Go does
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (j < s.length && isDigitCode(s.charCodeAt(j))) {
        if (!overflow) {
          if (f > MAX_INT64 / 10n) {
            overflow = true;
          } else {
            const y = f * 10n + BigInt(s.charCodeAt(j) - 0x30);
            if (y > LIMIT) overflow = true;
            else {
              f = y;
              scale *= 10;
            }
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    let u = 0;
    while (u < s.length && !(s[u] === '.' || isDigitCode(s.charCodeAt(u)))) u++;
    if (u === 0) throw new DurationError('time: missing unit in duration ' + goTimeQuote(input));
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNITS[unitName];
    if (unit === undefined) {
      throw new DurationError(
        'time: unknown unit ' + goTimeQuote(unitName) + ' in duration ' + goTimeQuote(input),
      );
    }
    if (v > LIMIT / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) throw invalid();
    }
    total += v;
    if (total > LIMIT) throw invalid();
  }
  if (neg) return -total;
  if (total > MAX_INT64) throw invalid();
  return total;
}

/** Fraction digits of v/10^prec without trailing zeros (Go fmtFrac). */
function fracPart(v: bigint, prec: number): { text: string; rest: bigint } {
  let digits = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) digits = digit.toString() + digits;
    v /= 10n;
  }
  return { text: print ? '.' + digits : '', rest: v };
}

/** Formats nanoseconds like Go's time.Duration.String(). */
export function formatGoDuration(ns: bigint): string {
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < SEC) {
    if (u === 0n) return '0s';
    let unit: string;
    let prec: number;
    if (u < US) {
      unit = 'ns';
      prec = 0;
    } else if (u < MS) {
      unit = 'µs';
      prec = 3;
    } else {
      unit = 'ms';
      prec = 6;
    }
    const fr = fracPart(u, prec);
    out = fr.rest.toString() + fr.text + unit;
  } else {
    const fr = fracPart(u, 9);
    u = fr.rest;
    out = (u % 60n).toString() + fr.text + 's';
    u /= 60n;
    if (u > 0n) {
      out = (u % 60n).toString() + 'm' + out;
      u /= 60n;
      if (u > 0n) out = u.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

/** Milliseconds (possibly fractional) from nanoseconds, the unit Options uses. */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

/** Nanoseconds from milliseconds, for printing Options durations Go-style. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}
