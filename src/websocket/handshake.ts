// The websocket upgrade (server/websocket.go wsUpgrade): RFC 6455 4.2.1
// checks in the reference's order and with its error texts, the origin
// policy (same_origin, allowed_origins), permessage-deflate and
// "Nats-No-Masking" negotiation, and the 101 response.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { headerGet, type HttpRequest } from './http.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const PMC_EXTENSION = 'permessage-deflate';
const PMC_FULL_RESPONSE = 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n';
const NO_MASKING_HEADER = 'Nats-No-Masking';
const LEAFNODE_WS_PATH = '/leafnode';
const MQTT_WS_PATH = '/mqtt';

export type WsKind = 'client' | 'leaf' | 'mqtt';

export interface UpgradeOK {
  kind: WsKind;
  compress: boolean;
  /** the client asked not to mask its frames */
  noMasking: boolean;
  /** User-Agent starts with "Mozilla/": 4 KiB frames */
  browser: boolean;
  /** Safari: compressed messages are not fragmented */
  noCompFrag: boolean;
  /** the jwt_cookie value, '' when absent */
  cookieJwt: string;
  /** a valid IP from X-Forwarded-For, '' otherwise */
  clientIP: string;
  /** the 101 response */
  response: string;
}

export interface UpgradeRefused {
  status: number;
  /** logged as "<addr> - websocket handshake error: <reason>" */
  reason: string;
}

export interface UpgradeConfig {
  compression: boolean;
  jwtCookie: string;
  origins: OriginPolicy;
}

/** Sec-WebSocket-Accept for a key (wsAcceptKey). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key).update(WS_GUID).digest('base64');
}

/** wsHeaderContains: some comma-separated token of some value equals `value` (case-insensitive). */
export function headerContains(req: HttpRequest, name: string, value: string): boolean {
  const vals = req.headers.get(name) ?? [];
  const want = value.toLowerCase();
  for (const v of vals) {
    for (const t of v.split(',')) {
      if (t.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase() === want) return true;
    }
  }
  return false;
}

/** wsPMCExtensionSupport(header, checkPMCOnly=true): permessage-deflate is offered. */
function pmcOffered(req: HttpRequest): boolean {
  for (const list of req.headers.get('Sec-Websocket-Extensions') ?? []) {
    for (const ext of list.split(',')) {
      for (const p of ext.replace(/^[ \t]+|[ \t]+$/g, '').split(';')) {
        if (p.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase() === PMC_EXTENSION) return true;
      }
    }
  }
  return false;
}

/** The path of the request target (URL.EscapedPath). */
function requestPath(uri: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(uri);
  const rest = m !== null ? m[1]! : uri;
  const q = rest.search(/[?#]/);
  return q >= 0 ? rest.slice(0, q) : rest;
}

/**
 * Validate an upgrade request. `isTLS`: the connection is wss (same_origin
 * then assumes port 443 for a Host without port).
 */
export function wsUpgrade(req: HttpRequest, cfg: UpgradeConfig, isTLS: boolean): UpgradeOK | UpgradeRefused {
  const path = requestPath(req.uri);
  let kind: WsKind = 'client';
  if (path.startsWith(LEAFNODE_WS_PATH)) kind = 'leaf';
  else if (path.startsWith(MQTT_WS_PATH)) kind = 'mqtt';

  if (req.method !== 'GET') return { status: 405, reason: 'request method must be GET' };
  if (req.host === '') return { status: 400, reason: "'Host' missing in request" };
  if (!headerContains(req, 'Upgrade', 'websocket')) return { status: 400, reason: "invalid value for header 'Upgrade'" };
  if (!headerContains(req, 'Connection', 'Upgrade')) return { status: 400, reason: "invalid value for header 'Connection'" };
  const key = headerGet(req, 'Sec-Websocket-Key');
  if (key === '') return { status: 400, reason: 'key missing' };
  if (!headerContains(req, 'Sec-Websocket-Version', '13')) return { status: 400, reason: 'invalid version' };
  const originErr = cfg.origins.check(req, isTLS);
  if (originErr !== null) return { status: 403, reason: `origin not allowed: ${originErr}` };

  const compress = cfg.compression && pmcOffered(req);
  const noMasking = headerGet(req, NO_MASKING_HEADER) === 'true';

  let response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (compress) response += PMC_FULL_RESPONSE;
  if (noMasking) response += `${NO_MASKING_HEADER}: true\r\n`;
  if (kind === 'mqtt') response += 'Sec-Websocket-Protocol: mqtt\r\n';
  response += '\r\n';

  let clientIP = '';
  const xff = req.headers.get('X-Forwarded-For');
  if (xff !== undefined && xff.length > 0 && isIP(xff[0]!) !== 0) clientIP = xff[0]!;

  let browser = false;
  let noCompFrag = false;
  let cookieJwt = '';
  if (kind === 'client' || kind === 'mqtt') {
    const ua = headerGet(req, 'User-Agent');
    if (ua.startsWith('Mozilla/')) {
      browser = true;
      // Safari (not Chrome on macOS, which says "Safari/" too) cannot take fragmented compressed frames.
      noCompFrag = compress && ua.includes('Version/') && ua.includes('Safari/');
    }
    if (cfg.jwtCookie !== '') cookieJwt = readCookie(req, cfg.jwtCookie) ?? '';
  }
  return { kind, compress, noMasking, browser, noCompFrag, cookieJwt, clientIP, response };
}

/** http.Request.Cookie(name): the first cookie of that name in the Cookie headers. */
export function readCookie(req: HttpRequest, name: string): string | null {
  for (const line of req.headers.get('Cookie') ?? []) {
    for (const part of line.split(';')) {
      const p = part.trim();
      if (p === '') continue;
      const eq = p.indexOf('=');
      const n = eq < 0 ? p : p.slice(0, eq);
      if (n !== name) continue;
      let v = eq < 0 ? '' : p.slice(eq + 1);
      if (v.length > 1 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return null;
}

// --- origins ---------------------------------------------------------------

/** Go's net.SplitHostPort, with its error texts. */
export function splitHostPort(hostport: string): { host: string; port: string } | { error: string; missingPort: boolean } {
  const addrErr = (why: string) => ({ error: `address ${hostport}: ${why}`, missingPort: why === 'missing port in address' });
  const i = hostport.lastIndexOf(':');
  if (i < 0) return addrErr('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return addrErr("missing ']' in address");
    if (end + 1 === hostport.length) return addrErr('missing port in address');
    if (end + 1 !== i) {
      if (hostport[end + 1] === ':') return addrErr('too many colons in address');
      return addrErr('missing port in address');
    }
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return addrErr('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) return addrErr("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) return addrErr("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}

/** wsGetHostAndPort: lower-cased host and port, the scheme's default port when none. */
export function hostAndPort(tls: boolean, hostport: string): { host: string; port: string } | { error: string } {
  const r = splitHostPort(hostport);
  if ('error' in r) {
    if (r.missingPort) return { host: hostport.toLowerCase(), port: tls ? '443' : '80' };
    return { error: r.error };
  }
  return { host: r.host.toLowerCase(), port: r.port };
}

/**
 * The part of Go's url.ParseRequestURI the origin check needs: scheme and
 * host (authority without userinfo), or the error text.
 */
export function parseRequestURI(raw: string): { scheme: string; host: string } | { error: string } {
  const fail = (why: string) => ({ error: `parse ${JSON.stringify(raw)}: ${why}` });
  let scheme = '';
  let rest = raw;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c === '+' || c === '-' || c === '.') {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) return fail('missing protocol scheme');
      scheme = raw.slice(0, i).toLowerCase();
      rest = raw.slice(i + 1);
    }
    break;
  }
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('/')) {
    if (scheme === '') return fail('invalid URI for request');
    // opaque URL ("mailto:x"): no host
    return { scheme, host: '' };
  }
  if (scheme === '' || !rest.startsWith('//')) return { scheme, host: '' };
  let authority = rest.slice(2);
  const slash = authority.indexOf('/');
  if (slash >= 0) authority = authority.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  // url.parseHost: a port after the last colon must be digits.
  if (!host.startsWith('[')) {
    const c = host.lastIndexOf(':');
    if (c >= 0 && !/^:\d*$/.test(host.slice(c))) return fail(`invalid port ${JSON.stringify(host.slice(c))} after host`);
  } else {
    const end = host.lastIndexOf(']');
    if (end < 0) return fail("missing ']' in host");
    const after = host.slice(end + 1);
    if (after !== '' && !/^:\d*$/.test(after)) return fail(`invalid port ${JSON.stringify(after)} after host`);
  }
  for (const ch of host) {
    if (ch === ' ' || ch < ' ' || ch === '\x7f') return fail(`invalid character ${JSON.stringify(ch)} in host name`);
  }
  return { scheme, host };
}

/** same_origin and allowed_origins (srvWebsocket.checkOrigin). */
export class OriginPolicy {
  private readonly allowed = new Map<string, { scheme: string; port: string }>();

  /** @param onBadOrigin gets "error parsing allowed origin: ..." for entries that do not parse */
  constructor(
    readonly sameOrigin: boolean,
    allowedOrigins: readonly string[],
    onBadOrigin: (msg: string) => void = () => {},
  ) {
    for (const ao of allowedOrigins) {
      const u = parseRequestURI(ao);
      if ('error' in u) {
        onBadOrigin(`error parsing allowed origin: ${u.error}`);
        continue;
      }
      const hp = hostAndPort(u.scheme === 'https', u.host);
      if ('error' in hp) continue;
      this.allowed.set(hp.host, { scheme: u.scheme, port: hp.port });
    }
  }

  /** null when the request may proceed, else the reason. */
  check(req: HttpRequest, isTLS: boolean): string | null {
    const listEmpty = this.allowed.size === 0;
    if (!this.sameOrigin && listEmpty) return null;
    let origin = headerGet(req, 'Origin');
    if (origin === '') origin = headerGet(req, 'Sec-Websocket-Origin');
    // A request without an origin (not from a browser) is accepted.
    if (origin === '') return null;
    const u = parseRequestURI(origin);
    if ('error' in u) return u.error;
    const o = hostAndPort(u.scheme === 'https', u.host);
    if ('error' in o) return o.error;
    if (this.sameOrigin) {
      const r = hostAndPort(isTLS, req.host);
      if ('error' in r) return r.error;
      if (o.host !== r.host || o.port !== r.port) return 'not same origin';
    }
    if (!listEmpty) {
      const ao = this.allowed.get(o.host);
      if (ao === undefined || u.scheme !== ao.scheme || o.port !== ao.port) return 'not in the allowed list';
    }
    return null;
  }
}
