// The little of Go's net/http server the websocket port shows: reading a
// request head (net/http readRequest + textproto), the errors the server
// answers by itself before any handler runs, and http.Error responses.
// The reference serves the websocket port with net/http, so what a browser,
// a proxy or a stray TCP client sees there is net/http's behaviour.

/** net/http DefaultMaxHeaderBytes plus the 4096 bytes of slack it allows. */
export const MAX_HEADER_BYTES = (1 << 20) + 4096;

export interface HttpRequest {
  method: string;
  /** the request target as sent */
  uri: string;
  /** "HTTP/1.1" */
  proto: string;
  major: number;
  minor: number;
  /** canonical header names (Go's CanonicalMIMEHeaderKey) → values in order */
  headers: Map<string, string[]>;
  /** the Host header (Go's req.Host), '' when absent */
  host: string;
  contentLength: number;
  chunked: boolean;
  /** "Connection: close", or HTTP/1.0 without keep-alive */
  close: boolean;
}

/** A request Go's server refuses before the handler, with the exact bytes it writes (then it closes). */
export class HttpParseError extends Error {
  constructor(readonly response: string) {
    super(response.split('\r\n')[0]);
  }
}

const ERROR_HEADERS = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n';

function badRequest(detail?: string): HttpParseError {
  const pub = detail === undefined ? '400 Bad Request' : `400 Bad Request: ${detail}`;
  return new HttpParseError(`HTTP/1.1 ${pub}${ERROR_HEADERS}${pub}`);
}

export function headerTooLarge(): HttpParseError {
  const pub = '431 Request Header Fields Too Large';
  return new HttpParseError(`HTTP/1.1 ${pub}${ERROR_HEADERS}${pub}`);
}

/** Where the head ends (index just past the blank line), or -1. Go's textproto accepts bare LF line ends. */
export function findHeadEnd(buf: Buffer): number {
  let i = buf.indexOf(10);
  while (i !== -1) {
    // a line end followed by an empty line (CRLF or LF)
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
    if (i + 2 >= buf.length) return -1;
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** textproto.CanonicalMIMEHeaderKey */
export function canonicalKey(k: string): string {
  if (!TOKEN_RE.test(k)) return k;
  let upper = true;
  let out = '';
  for (const ch of k) {
    if (upper && ch >= 'a' && ch <= 'z') out += ch.toUpperCase();
    else if (!upper && ch >= 'A' && ch <= 'Z') out += ch.toLowerCase();
    else out += ch;
    upper = ch === '-';
  }
  return out;
}

function parseVersion(proto: string): [number, number] | null {
  if (proto === 'HTTP/1.1') return [1, 1];
  if (proto === 'HTTP/1.0') return [1, 0];
  const m = /^HTTP\/(\d{1,3})\.(\d{1,3})$/.exec(proto);
  if (m === null) return null;
  return [Number(m[1]), Number(m[2])];
}

/** The request line checks net/http makes as soon as the line is read (all plain 400s). */
function parseRequestLine(first: string): { method: string; uri: string; proto: string; ver: [number, number] } {
  const s1 = first.indexOf(' ');
  const s2 = s1 < 0 ? -1 : first.indexOf(' ', s1 + 1);
  if (s1 < 0 || s2 < 0) throw badRequest();
  const method = first.slice(0, s1);
  const uri = first.slice(s1 + 1, s2);
  const proto = first.slice(s2 + 1);
  if (!TOKEN_RE.test(method)) throw badRequest();
  const ver = parseVersion(proto);
  if (ver === null) throw badRequest();
  if (uri === '' || (uri[0] !== '/' && uri !== '*' && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) && method !== 'CONNECT')) {
    throw badRequest();
  }
  return { method, uri, proto, ver };
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i]!.endsWith('\r')) lines[i] = lines[i]!.slice(0, -1);
  return lines;
}

/**
 * net/http reads a request line by line and answers a bad line at once: a
 * plain TCP client sending "CONNECT {...}" gets its 400 without sending a
 * blank line. Throws HttpParseError for the complete lines of a head still
 * being received.
 */
export function checkPartialHead(buf: Buffer): void {
  const last = buf.lastIndexOf(10);
  if (last < 0) return;
  const lines = splitLines(buf.toString('latin1', 0, last));
  parseRequestLine(lines[0]!);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line[0] === ' ' || line[0] === '\t') continue;
    const c = line.indexOf(':');
    if (c <= 0 || !TOKEN_RE.test(line.slice(0, c))) throw badRequest();
  }
}

/**
 * Parse a complete request head (through the blank line). Throws
 * HttpParseError with net/http's response for what it refuses.
 */
export function parseRequestHead(head: Buffer): HttpRequest {
  const lines = splitLines(head.toString('latin1'));
  // drop the empty line(s) that ended the head
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const { method, uri, proto, ver } = parseRequestLine(lines[0] ?? '');
  if (ver[0] !== 1) {
    const t = '505 HTTP Version Not Supported: unsupported protocol version';
    throw new HttpParseError(`HTTP/1.1 ${t}${ERROR_HEADERS}${t}`);
  }
  const headers = new Map<string, string[]>();
  let lastKey = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line[0] === ' ' || line[0] === '\t') {
      // obsolete line folding: continue the previous value
      if (lastKey === '') throw badRequest();
      const vals = headers.get(lastKey)!;
      vals[vals.length - 1] = `${vals[vals.length - 1]} ${line.trim()}`;
      continue;
    }
    const c = line.indexOf(':');
    if (c <= 0) throw badRequest();
    const rawKey = line.slice(0, c);
    if (!TOKEN_RE.test(rawKey)) throw badRequest();
    const key = canonicalKey(rawKey);
    const val = line.slice(c + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    let vals = headers.get(key);
    if (vals === undefined) headers.set(key, (vals = []));
    vals.push(val);
    lastKey = key;
  }
  const hosts = headers.get('Host');
  if (hosts !== undefined && hosts.length > 1) throw badRequest();
  const host = hosts?.[0] ?? '';
  const atLeast11 = ver[0] > 1 || ver[1] >= 1;
  if (atLeast11 && hosts === undefined && method !== 'CONNECT') throw badRequest('missing required Host header');
  const te = headers.get('Transfer-Encoding');
  let chunked = false;
  if (te !== undefined) {
    if (te.length !== 1 || te[0]!.toLowerCase() !== 'chunked') {
      throw new HttpParseError(`HTTP/1.1 501 Not Implemented${ERROR_HEADERS}Unsupported transfer encoding`);
    }
    chunked = true;
  }
  let contentLength = 0;
  const cl = headers.get('Content-Length');
  if (cl !== undefined && !chunked) {
    if (!/^\d+$/.test(cl[0]!.trim())) throw badRequest();
    contentLength = Number(cl[0]!.trim());
  }
  const conn = (headers.get('Connection') ?? []).join(',').toLowerCase();
  const tokens = conn.split(',').map((t) => t.trim());
  const close = tokens.includes('close') || (!atLeast11 && !tokens.includes('keep-alive'));
  return { method, uri, proto, major: ver[0], minor: ver[1], headers, host, contentLength, chunked, close };
}

/** First value of a header (Go's Header.Get), '' when absent. */
export function headerGet(req: HttpRequest, name: string): string {
  return req.headers.get(canonicalKey(name))?.[0] ?? '';
}

/** net/http StatusText for the statuses the websocket handler uses. */
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** http.TimeFormat: "Mon, 02 Jan 2006 15:04:05 GMT" */
export function httpDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`;
}

/**
 * What wsReturnHTTPError writes: http.Error(w, StatusText(status), status)
 * with "Sec-Websocket-Version: 13" set, as net/http serializes it (the
 * handler's headers sorted, then Date, Content-Length, Connection).
 */
export function errorResponse(req: HttpRequest, status: number): string {
  const text = STATUS_TEXT[status] ?? '';
  const body = `${text}\n`;
  let s = `${req.major === 1 && req.minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1'} ${status} ${text}\r\n`;
  s += 'Content-Type: text/plain; charset=utf-8\r\n';
  s += 'Sec-Websocket-Version: 13\r\n';
  s += 'X-Content-Type-Options: nosniff\r\n';
  s += `Date: ${httpDate(new Date())}\r\n`;
  s += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  const http10 = req.major === 1 && req.minor === 0;
  if (http10 && !req.close) s += 'Connection: keep-alive\r\n';
  else if (req.close && !http10) s += 'Connection: close\r\n';
  s += '\r\n';
  if (req.method !== 'HEAD') s += body;
  return s;
}
