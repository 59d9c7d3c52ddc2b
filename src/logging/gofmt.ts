// Go-compatible renderings that tsnats must reproduce byte for byte: strconv
// quoting (%q), the time layouts the reference logger and log/syslog use, and
// the text Go prints for OS errors (syscall.Errno strings, *os.PathError).

import { readFileSync } from 'node:fs';

/** strconv.Quote: what Go's %q prints for a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (isGoPrint(ch, cp)) {
      out += ch;
    } else if (cp < 0x80) {
      out += '\\x' + cp.toString(16).padStart(2, '0');
    } else if (cp < 0x10000) {
      out += '\\u' + cp.toString(16).padStart(4, '0');
    } else {
      out += '\\U' + cp.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

// unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII
// space only (U+00A0 and other spaces are escaped). Lone surrogates are not
// valid runes and Go would have replaced them with U+FFFD, which is printable.
function isGoPrint(ch: string, cp: number): boolean {
  if (cp === 0x20) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(ch);
}

/** a wall clock in microseconds since the Unix epoch */
export type Clock = () => number;

/** process.hrtime in microseconds (not performance.now(): the first use of `performance` loads perf_hooks, ~2-10 ms of start-up) */
function monotonicUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + Math.floor(t[1] / 1000);
}

let clockOffsetUs = Date.now() * 1000 + 500 - monotonicUs();

/**
 * Microsecond wall clock. Date.now() only has milliseconds; the reference
 * prints microseconds, so time comes from the monotonic high resolution
 * clock, anchored to Date and re-anchored when the two differ by more than
 * a millisecond or so (the system clock was stepped).
 */
export const systemClock: Clock = () => {
  let us = monotonicUs() + clockOffsetUs;
  const wallUs = Date.now() * 1000;
  if (us < wallUs - 1000 || us >= wallUs + 2000) {
    clockOffsetUs += wallUs + 500 - us;
    us = wallUs + 500;
  }
  return us;
};

function p2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  /** 0-999999 */
  micro: number;
  /** minutes east of UTC */
  offsetMin: number;
}

/** TZ values that name UTC (Go and ICU agree on these) */
const UTC_TZ = /^:?(?:Etc\/)?(?:UTC|UCT|Universal|Zulu|GMT|GMT0)$/;
let zoneTz: string | undefined;
let zoneIsUtc: boolean | null = null;

/**
 * Whether local time is UTC, found without V8's local-time code: V8 asks
 * ICU, whose time-zone data costs ~0.55 MB of RSS at its first use (issue
 * 19: every start logs local time), while most servers run in UTC. TZ
 * naming UTC, or unset with /etc/localtime a TZif file of a single
 * zero-offset type and no transitions; anything else (DST zones,
 * unreadable or unexpected files, other systems) is left to Date.
 */
export function localIsUtc(): boolean {
  const tz = process.env.TZ;
  if (zoneIsUtc !== null && tz === zoneTz) return zoneIsUtc;
  zoneTz = tz;
  zoneIsUtc = tz === undefined ? tzifIsUtc('/etc/localtime') : UTC_TZ.test(tz);
  return zoneIsUtc;
}

/** RFC 8536: the version 2+ data block decides; its footer must be a plain UTC rule. */
export function tzifIsUtc(file: string): boolean {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch {
    return false;
  }
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'TZif' || b[4] === 0) return false;
  const counts = (at: number): number[] => [0, 1, 2, 3, 4, 5].map((i) => b.readUInt32BE(at + 20 + i * 4));
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  const [u1, s1, l1, t1, ty1, c1] = counts(0) as [number, number, number, number, number, number];
  const v2 = 44 + t1 * 5 + ty1 * 6 + c1 + l1 * 8 + s1 + u1;
  if (b.length < v2 + 44 || b.toString('latin1', v2, v2 + 4) !== 'TZif') return false;
  const [u2, s2, l2, t2, ty2, c2] = counts(v2) as [number, number, number, number, number, number];
  const data = v2 + 44;
  const types = data + t2 * 9;
  if (t2 !== 0 || ty2 !== 1 || l2 !== 0 || b.length < types + 6 || b.readInt32BE(types) !== 0 || b[types + 4] !== 0) return false;
  const footer = data + t2 * 9 + ty2 * 6 + c2 + l2 * 12 + s2 + u2;
  return /^\n(?:UTC|UCT|GMT|<\+00>|<-00>)?0?\n$/.test(b.toString('latin1', footer));
}

function parts(us: number, utc: boolean): Parts {
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  const micro = us - Math.floor(us / 1_000_000) * 1_000_000;
  if (utc || localIsUtc()) {
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      min: d.getUTCMinutes(),
      sec: d.getUTCSeconds(),
      micro,
      offsetMin: 0,
    };
  }
  return {
    year: d.getFullYear(),
    month: d.getMonth() + 1,
    day: d.getDate(),
    hour: d.getHours(),
    min: d.getMinutes(),
    sec: d.getSeconds(),
    micro,
    offsetMin: -d.getTimezoneOffset(),
  };
}

function year4(y: number): string {
  return String(y).padStart(4, '0');
}

/** log.LstdFlags|log.Lmicroseconds: `2006/01/02 15:04:05.000000 ` (trailing space included) */
export function formatLogTimestamp(us: number, utc = false): string {
  const p = parts(us, utc);
  return `${year4(p.year)}/${p2(p.month)}/${p2(p.day)} ${p2(p.hour)}:${p2(p.min)}:${p2(p.sec)}.${String(p.micro).padStart(6, '0')} `;
}

/** log.LstdFlags (Go's default logger, used by log.Fatalf): `2006/01/02 15:04:05 ` */
export function formatStdLogTimestamp(us: number, utc = false): string {
  const p = parts(us, utc);
  return `${year4(p.year)}/${p2(p.month)}/${p2(p.day)} ${p2(p.hour)}:${p2(p.min)}:${p2(p.sec)} `;
}

/** time.RFC3339 (`2006-01-02T15:04:05Z07:00`), as log/syslog stamps network messages */
export function formatRFC3339(us: number, utc = false): string {
  const p = parts(us, utc);
  let zone = 'Z';
  if (p.offsetMin !== 0) {
    const a = Math.abs(p.offsetMin);
    zone = (p.offsetMin < 0 ? '-' : '+') + p2(Math.floor(a / 60)) + ':' + p2(a % 60);
  }
  return `${year4(p.year)}-${p2(p.month)}-${p2(p.day)}T${p2(p.hour)}:${p2(p.min)}:${p2(p.sec)}${zone}`;
}

/** RFC3339 with microseconds, always UTC: the JSON log format's time field */
export function formatRFC3339Micro(us: number): string {
  const p = parts(us, true);
  return `${year4(p.year)}-${p2(p.month)}-${p2(p.day)}T${p2(p.hour)}:${p2(p.min)}:${p2(p.sec)}.${String(p.micro).padStart(6, '0')}Z`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** time.Stamp (`Jan _2 15:04:05`), as log/syslog stamps local (unix socket) messages */
export function formatStamp(us: number, utc = false): string {
  const p = parts(us, utc);
  const day = p.day < 10 ? ' ' + p.day : String(p.day);
  return `${MONTHS[p.month - 1]} ${day} ${p2(p.hour)}:${p2(p.min)}:${p2(p.sec)}`;
}

/** the suffix logger/log.go appends to a rotated log file: `.2006.01.02.15.04.05.000000000` */
export function formatRotationSuffix(us: number, utc = false): string {
  const p = parts(us, utc);
  const nanos = String(p.micro * 1000).padStart(9, '0');
  return `.${year4(p.year)}.${p2(p.month)}.${p2(p.day)}.${p2(p.hour)}.${p2(p.min)}.${p2(p.sec)}.${nanos}`;
}

// syscall.Errno.Error() on Linux (zerrors_linux_*.go): strerror texts, lower case.
const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  EXDEV: 'invalid cross-device link',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'too many open files in system',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  ENOTSOCK: 'socket operation on non-socket',
  EPROTOTYPE: 'protocol wrong type for socket',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ENETUNREACH: 'network is unreachable',
  ECONNABORTED: 'software caused connection abort',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'no route to host',
  EHOSTDOWN: 'host is down',
};

/** Go's text for an OS error (`no such file or directory`), from a Node errno error. */
export function goErrnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && ERRNO_TEXT[e.code] !== undefined) return ERRNO_TEXT[e.code];
  if (e && typeof e.message === 'string') return e.message;
  return String(err);
}

/** Go's net.Listen error text for a failed bind on `hp` (host:port). */
export function goListenError(hp: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
    case 'EACCES':
    case 'EADDRNOTAVAIL':
      return `listen tcp ${hp}: bind: ${goErrnoText(err)}`;
    default:
      return `listen tcp ${hp}: ${err.message}`;
  }
}

/** *os.PathError.Error(): `open /x/y.log: no such file or directory` */
export function goPathError(op: string, path: string, err: unknown): string {
  return `${op} ${path}: ${goErrnoText(err)}`;
}

/** net/url.URL, the parts tsnats needs */
export interface GoURL {
  /** lower-cased, '' when the string has none */
  scheme: string;
  opaque: string;
  user?: { username: string; password?: string };
  /** host[:port] as written (brackets kept for IPv6) */
  host: string;
  path: string;
}

// url.unescape (userinfo mode): %XX sequences; a bad one is an EscapeError.
function urlUnescape(s: string): { value: string } | { bad: string } {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return { bad: s.slice(i, i + 3) };
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...enc.encode(s[i]));
    }
  }
  return { value: Buffer.from(bytes).toString('utf8') };
}

/**
 * net/url.Parse, enough of it for the addresses tsnats reads from flags
 * (scheme, userinfo, host:port, path) with Go's error texts. Returns the
 * error text (`parse "x": reason`) instead of throwing.
 */
export function goParseURL(raw: string): GoURL | string {
  const fail = (why: string) => `parse ${goQuote(raw)}: ${why}`;
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  let scheme = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (alpha) continue;
    const other = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
    if (other) {
      if (i === 0) break;
      continue;
    }
    if (c === 58 /* : */) {
      if (i === 0) return fail('missing protocol scheme');
      scheme = rest.slice(0, i).toLowerCase();
      rest = rest.slice(i + 1);
    }
    break;
  }
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (scheme !== '' && !rest.startsWith('/')) return { scheme, opaque: rest, host: '', path: '' };
  if (scheme === '') {
    const seg = rest.split('/')[0];
    if (seg.includes(':')) return fail('first path segment in URL cannot contain colon');
  }
  if (!rest.startsWith('//')) return { scheme, opaque: '', host: '', path: rest };
  const tail = rest.slice(2);
  const slash = tail.indexOf('/');
  const authority = slash >= 0 ? tail.slice(0, slash) : tail;
  const path = slash >= 0 ? tail.slice(slash) : '';
  let host = authority;
  let user: GoURL['user'];
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const info = authority.slice(0, at);
    host = authority.slice(at + 1);
    const colon = info.indexOf(':');
    const name = urlUnescape(colon >= 0 ? info.slice(0, colon) : info);
    if ('bad' in name) return fail(`invalid URL escape ${goQuote(name.bad)}`);
    if (colon >= 0) {
      const pass = urlUnescape(info.slice(colon + 1));
      if ('bad' in pass) return fail(`invalid URL escape ${goQuote(pass.bad)}`);
      user = { username: name.value, password: pass.value };
    } else {
      user = { username: name.value };
    }
  }
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return fail('missing \']\' in host');
    const after = host.slice(end + 1);
    if (after !== '' && !/^:\d*$/.test(after)) return fail(`invalid port ${goQuote(after)} after host`);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !/^:\d*$/.test(host.slice(colon))) return fail(`invalid port ${goQuote(host.slice(colon))} after host`);
  }
  return { scheme, opaque: '', user, host, path };
}

/** net.SplitHostPort; returns Go's *AddrError text on failure */
export function goSplitHostPort(hostport: string): { host: string; port: string } | string {
  const err = (why: string) => (hostport === '' ? why : `address ${hostport}: ${why}`);
  const i = hostport.lastIndexOf(':');
  if (i < 0) return err('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return err("missing ']' in address");
    if (end + 1 === hostport.length) return err('missing port in address');
    if (end + 1 !== i) {
      return err(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    }
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return err('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) return err("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) return err("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}
