// One configured remote (server/leafnode.go leafNodeCfg): the URLs to try,
// in the reference's rotation, the ones the hub gossips, and the delay the
// next attempt waits (loop detected, permission violation, same cluster name).

import net from 'node:net';
import type { LeafRemoteOptions } from '../config/options.js';
import { LeafPerms } from './perms.js';

/** A remote URL as the reference keeps it (scheme, user info, host:port). */
export interface LeafURL {
  scheme: string;
  user: string;
  pass: string;
  hasUser: boolean;
  hostname: string;
  port: number;
  /** "host:port" as written (the reference's url.Host) */
  hostPort: string;
}

export class LeafURLError extends Error {
  readonly code = 'ERR_TSNATS_LEAF_URL';
}

/** Default port of the leafnode listener (server/const.go DEFAULT_LEAFNODE_PORT). */
export const DEFAULT_LEAFNODE_PORT = 7422;

export function parseLeafURL(text: string): LeafURL {
  let s = text.trim();
  if (!s.includes('://')) s = `nats-leaf://${s}`;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:([^@/]*)@)?([^/?#]*)/.exec(s);
  if (m === null) throw new LeafURLError(`error parsing leafnode url ${JSON.stringify(text)}`);
  const scheme = m[1]!.toLowerCase();
  let user = '';
  let pass = '';
  const hasUser = m[2] !== undefined;
  if (hasUser) {
    const ui = m[2]!;
    const c = ui.indexOf(':');
    user = decodeURIComponent(c < 0 ? ui : ui.slice(0, c));
    pass = c < 0 ? '' : decodeURIComponent(ui.slice(c + 1));
  }
  const hp = m[3]!;
  let hostname: string;
  let portText = '';
  const b = /^\[([^\]]*)\](?::(\d*))?$/.exec(hp);
  if (b !== null) {
    hostname = b[1]!;
    portText = b[2] ?? '';
  } else {
    const i = hp.lastIndexOf(':');
    hostname = i < 0 ? hp : hp.slice(0, i);
    portText = i < 0 ? '' : hp.slice(i + 1);
  }
  const port = portText === '' ? DEFAULT_LEAFNODE_PORT : Number(portText);
  return { scheme, user, pass, hasUser, hostname, port, hostPort: hp };
}

export function isWSURL(u: LeafURL): boolean {
  return u.scheme === 'ws' || u.scheme === 'wss';
}

export class RemoteLeaf {
  /** the URLs tried in turn: gossiped ones first, then the configured ones */
  urls: LeafURL[];
  readonly configured: LeafURL[];
  cur: LeafURL | null = null;
  /** wait this long before the next attempt (then back to 0) */
  connectDelayMs = 0;
  /** the hub asked for TLS (or a wss:// URL) */
  tls: boolean;
  /** deny_imports / deny_exports as permissions (server/leafnode.go newLeafNodeCfg) */
  readonly perms: LeafPerms | null;
  /** user and password found in a configured URL, for gossiped URLs */
  username = '';
  password = '';
  /** the connection currently up for this remote */
  connected = false;
  /** removed by a reload: no more attempts */
  removed = false;

  constructor(readonly cfg: LeafRemoteOptions) {
    this.configured = cfg.urls.map(parseLeafURL);
    this.urls = [...this.configured];
    if (!cfg.noRandomize) {
      for (let i = this.urls.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.urls[i], this.urls[j]] = [this.urls[j]!, this.urls[i]!];
      }
    }
    this.tls = cfg.tls !== undefined;
    for (const u of this.urls) {
      if (u.scheme === 'wss' || u.scheme === 'tls') this.tls = true;
      if (u.hasUser && this.username === '') {
        this.username = u.user;
        this.password = u.pass;
      }
    }
    this.perms =
      cfg.denyExports.length > 0 || cfg.denyImports.length > 0
        ? new LeafPerms(cfg.denyExports.length > 0 ? { deny: [...cfg.denyExports] } : undefined, cfg.denyImports.length > 0 ? { deny: [...cfg.denyImports] } : undefined)
        : null;
  }

  /** the local account name this remote binds to */
  get localAccount(): string {
    return this.cfg.account !== '' ? this.cfg.account : '$G';
  }

  /** server/leafnode.go pickNextURL: the current first URL moves to the end before the next is picked. */
  pickNextURL(): LeafURL {
    if (this.cur !== null && this.urls.length > 1 && sameURL(this.cur, this.urls[0]!)) this.urls.push(this.urls.shift()!);
    this.cur = this.urls[0]!;
    return this.cur;
  }

  /** server/leafnode.go doUpdateLNURLs: the hub's URLs, then the configured ones. */
  updateURLs(hostPorts: string[]): void {
    const scheme = this.configured.length > 0 && isWSURL(this.configured[0]!) ? (this.tls ? 'wss' : 'ws') : 'nats-leaf';
    const next: LeafURL[] = [];
    for (const hp of hostPorts) {
      let u: LeafURL;
      try {
        u = parseLeafURL(`${scheme}://${hp}`);
      } catch {
        continue;
      }
      if (this.configured.some((c) => c.hostname === u.hostname && c.port === u.port)) continue;
      next.push(u);
    }
    this.urls = [...next, ...this.configured];
  }
}

function sameURL(a: LeafURL, b: LeafURL): boolean {
  return a.scheme === b.scheme && a.hostname === b.hostname && a.port === b.port && a.user === b.user;
}

/** "host:port", brackets for IPv6. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function dialErrorText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connect: connection refused';
    case 'EHOSTUNREACH':
      return 'connect: no route to host';
    case 'ENETUNREACH':
      return 'connect: network is unreachable';
    case 'ETIMEDOUT':
      return 'i/o timeout';
    default:
      return e.message;
  }
}

/** Dial with the reference's default dial timeout for leafnodes (DEFAULT_ROUTE_DIAL, 1s). */
export function dial(host: string, port: number, timeoutMs: number, live: Set<net.Socket>): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    live.add(s);
    const addr = joinHostPort(host, port);
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      live.delete(s);
      s.off('connect', onConnect);
      s.off('error', onError);
      if (err !== null) reject(err);
      else resolve(s);
    };
    const timer = setTimeout(() => {
      s.destroy();
      finish(new Error(`dial tcp ${addr}: i/o timeout`));
    }, timeoutMs);
    const onConnect = (): void => {
      s.setNoDelay(true);
      finish(null);
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      s.destroy();
      finish(new Error(`dial tcp ${addr}: ${dialErrorText(e)}`));
    };
    s.once('connect', onConnect);
    s.once('error', onError);
  });
}
