// Route URLs: `nats-route://[user:pass@]host:port` as configured in
// `cluster { routes: [...] }` / `--routes`, or built from a peer's INFO.
// Equality, redaction and host:port rendering follow Go's net/url, which is
// what the reference logs and compares (server/route.go, server/util.go).

export interface RouteURL {
  /** the text as given (or built), used for logs after redaction */
  readonly raw: string;
  readonly scheme: string;
  readonly user: string | null;
  readonly pass: string | null;
  /** host name or IP, without IPv6 brackets */
  readonly hostname: string;
  /** port; 0 when the URL has none (dialing then fails, as in the reference) */
  readonly port: number;
  /** "host:port" as Go's url.Host (IPv6 in brackets) */
  readonly hostPort: string;
}

export class RouteURLError extends Error {
  readonly code = 'ERR_ROUTE_URL';
}

/** Parse one route URL. Throws RouteURLError for text Go's url.Parse would refuse. */
export function parseRouteURL(text: string): RouteURL {
  const raw = text.trim();
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(raw);
  if (m === null) throw new RouteURLError(`parse ${JSON.stringify(raw)}: missing protocol scheme`);
  const scheme = m[1].toLowerCase();
  let authority = m[2];
  let user: string | null = null;
  let pass: string | null = null;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const ui = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = ui.indexOf(':');
    try {
      if (colon >= 0) {
        user = decodeURIComponent(ui.slice(0, colon));
        pass = decodeURIComponent(ui.slice(colon + 1));
      } else {
        user = decodeURIComponent(ui);
      }
    } catch {
      throw new RouteURLError(`parse ${JSON.stringify(raw)}: invalid userinfo`);
    }
  }
  let hostname: string;
  let portText = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new RouteURLError(`parse ${JSON.stringify(raw)}: missing ']' in host`);
    hostname = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest.startsWith(':')) portText = rest.slice(1);
    else if (rest !== '') throw new RouteURLError(`parse ${JSON.stringify(raw)}: invalid port ${JSON.stringify(rest)} after host`);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      hostname = authority.slice(0, colon);
      portText = authority.slice(colon + 1);
    } else {
      hostname = authority;
    }
  }
  let port = 0;
  if (portText !== '') {
    if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) {
      throw new RouteURLError(`parse ${JSON.stringify(raw)}: invalid port ${JSON.stringify(':' + portText)} after host`);
    }
    port = Number(portText);
  }
  const hostPort = authority;
  return { raw, scheme, user, pass, hostname, port, hostPort };
}

/** A URL for host/port learned from a peer (server/route.go: "nats-route://%s/"). */
export function routeURLFor(host: string, port: number, user: string | null = null, pass: string | null = null): RouteURL {
  const hp = joinHostPort(host, port);
  const ui = user !== null ? encodeURIComponent(user) + (pass !== null ? ':' + encodeURIComponent(pass) : '') + '@' : '';
  return {
    raw: `nats-route://${ui}${hp}/`,
    scheme: 'nats-route',
    user,
    pass,
    hostname: host,
    port,
    hostPort: hp,
  };
}

/** A copy of `u` with credentials set (implicit routes to servers that require auth). */
export function withCredentials(u: RouteURL, user: string, pass: string): RouteURL {
  const rest = u.raw.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^@/?#]*@)?/, '');
  const ui = encodeURIComponent(user) + ':' + encodeURIComponent(pass) + '@';
  return { ...u, user, pass, raw: `${u.scheme}://${ui}${rest}` };
}

/** Go's url.Redacted(): the password shown as "xxxxx". */
export function redactURL(u: RouteURL): string {
  if (u.pass === null) return u.raw;
  return u.raw.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:@/?#]*:)[^@/?#]*@/, '$1xxxxx@');
}

/** The reference compares route URLs field by field (reflect.DeepEqual): the same text. */
export function urlsEqual(a: RouteURL, b: RouteURL): boolean {
  return a.raw === b.raw;
}

/** net.JoinHostPort */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parse route URLs from the options; bad ones are reported through `onError` and skipped. */
export function parseRouteURLs(list: readonly string[], onError: (text: string, err: Error) => void): RouteURL[] {
  const out: RouteURL[] = [];
  for (const r of list) {
    try {
      out.push(parseRouteURL(r));
    } catch (e) {
      onError(r, e as Error);
    }
  }
  return out;
}
