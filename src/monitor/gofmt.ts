// Formatting helpers that reproduce how nats-server 2.9.10 (Go 1.19) renders
// monitoring data: encoding/json's MarshalIndent, time.Time as RFC 3339 with
// nanoseconds, time.Duration's String(), and the server's own myUptime
// (server/monitor.go). Tools that parse the reference's JSON by string
// matching (dashboards, exporters, scripts) see the same shapes from us.

import { systemClock } from '../logging/gofmt.js';

/**
 * JSON.stringify with Go's encoding/json escaping on top: Go escapes <, > and
 * & (HTML-safe output) and U+2028/U+2029, and Go 1.19 writes \b and \f as
 * \u0008 and \u000c. Structural characters never include any of these, so
 * rewriting the whole output is safe; escape pairs are walked left to right so
 * an escaped backslash followed by "b" is left alone.
 */
export function goJSON(value: unknown, indent: number = 2): string {
  const s = indent > 0 ? JSON.stringify(value, null, indent) : JSON.stringify(value);
  return goEscape(s);
}

const BIG_MARK = '\u0001u64:';
const BIG_RE = /"\\u0001u64:(-?\d+)"/g;

/**
 * goJSON for documents holding bigint values (Go uint64 figures beyond 2^53,
 * such as a reservation of -1 read as uint64): they are written as exact
 * JSON numbers.
 */
export function goJSONBig(value: unknown, indent: number = 2): string {
  const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? BIG_MARK + v.toString() : v), indent > 0 ? indent : undefined);
  return goEscape(s.replace(BIG_RE, '$1'));
}

const NEEDS_REWRITE = /[<>&\u2028\u2029]|\\[bf]/;

function goEscape(s: string): string {
  if (!NEEDS_REWRITE.test(s)) return s;
  return s.replace(/\\(.)|[<>&\u2028\u2029]/g, (m: string, esc: string | undefined) => {
    if (esc !== undefined) {
      if (esc === 'b') return '\\u0008';
      if (esc === 'f') return '\\u000c';
      return m;
    }
    return '\\u' + m.charCodeAt(0).toString(16).padStart(4, '0');
  });
}

/**
 * Wall clock in fractional milliseconds (microsecond resolution), like Go's
 * time.Now(). The log's clock, not `performance`: the system account stamps
 * its first events at start-up, and the first use of `performance` loads
 * perf_hooks (~2 ms, ~0.5 MB).
 */
export function nowMs(): number {
  return systemClock() / 1000;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/**
 * time.Time.MarshalJSON: RFC 3339 with up to nine fractional digits, trailing
 * zeros trimmed. `utc` renders as Go's t.UTC(); otherwise the local zone, as
 * Go prints times taken with time.Now() (a zero offset prints "Z").
 * `ms` may carry a fraction (sub-millisecond precision).
 */
export function goTime(ms: number, utc: boolean): string {
  let whole = Math.floor(ms);
  // nanoseconds within the millisecond, at microsecond resolution
  let subNs = Math.round((ms - whole) * 1000) * 1000;
  if (subNs >= 1_000_000) {
    whole += 1;
    subNs -= 1_000_000;
  }
  const d = new Date(whole);
  const offMin = utc ? 0 : -d.getTimezoneOffset();
  const l = new Date(whole + offMin * 60_000);
  let s =
    `${pad(l.getUTCFullYear(), 4)}-${pad(l.getUTCMonth() + 1, 2)}-${pad(l.getUTCDate(), 2)}` +
    `T${pad(l.getUTCHours(), 2)}:${pad(l.getUTCMinutes(), 2)}:${pad(l.getUTCSeconds(), 2)}`;
  const ns = l.getUTCMilliseconds() * 1_000_000 + subNs;
  if (ns > 0) s += '.' + pad(ns, 9).replace(/0+$/, '');
  if (offMin === 0) return s + 'Z';
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  return `${s}${sign}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
}


/**
 * time.Duration.String() for a duration in nanoseconds: "0s", "950ns",
 * "1.5µs", "12.345ms", "1m2.5s", "3h0m0s".
 */
export function goDurationNs(ns: number): string {
  ns = Math.trunc(ns);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    // sub-second: one unit with a fraction
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = fracUnit(u, 1e3) + 'µs';
    else out = fracUnit(u, 1e6) + 'ms';
  } else {
    const secsFrac = fracUnit(u % 60e9, 1e9);
    u = Math.floor(u / 60e9); // whole minutes
    if (u === 0) out = `${secsFrac}s`;
    else {
      const m = u % 60;
      const h = Math.floor(u / 60);
      out = h > 0 ? `${h}h${m}m${secsFrac}s` : `${m}m${secsFrac}s`;
    }
  }
  return neg ? '-' + out : out;
}

/** v / unit with up to log10(unit) fractional digits, trailing zeros dropped. */
function fracUnit(v: number, unit: number): string {
  const whole = Math.floor(v / unit);
  const frac = v - whole * unit;
  if (frac === 0) return String(whole);
  const digits = Math.round(Math.log10(unit));
  return `${whole}.${pad(frac, digits).replace(/0+$/, '')}`;
}

/** time.Duration.String() for milliseconds. */
export function goDurationMs(ms: number): string {
  return goDurationNs(Math.round(ms * 1e6));
}

/** server/monitor.go myUptime: whole seconds only, with days and years. */
export function myUptime(ms: number): string {
  const tsecs = Math.max(0, Math.floor(ms / 1000));
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

/**
 * The RTT the reference reports (server/monitor.go getRTT): truncated to the
 * microsecond between 1µs and 1ms, as a Go duration string.
 */
export function goRTT(rttMs: number): string {
  let ns = Math.round(rttMs * 1e6);
  if (ns > 1e3 && ns < 1e6) ns = Math.floor(ns / 1e3) * 1e3;
  return goDurationNs(ns);
}

/**
 * Protocol strings (subjects, sids, queue names) are kept as latin1 in the
 * core (one char per byte). Go prints their bytes as UTF-8 text.
 */
export function protoText(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}
