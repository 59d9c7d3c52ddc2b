// Shared helpers for the monitoring tests: an embedded server with the
// monitor on a random port, and small HTTP getters.

import { Server } from '../../../src/server/server.js';
import type { Options } from '../../../src/config/options.js';
import type { Logger } from '../../../src/logging/types.js';
import { session } from '../../helpers/proto.js';
import type { RawClient } from '../../helpers/rawclient.js';

export interface Embedded {
  srv: Server;
  /** http(s)://127.0.0.1:port[/base] */
  base: string;
  logs: string[];
  stop(): Promise<void>;
}

export function captureLogger(logs: string[]): Logger {
  const line = (lvl: string) => (m: string) => {
    logs.push(`[${lvl}] ${m}`);
  };
  return {
    notice: line('INF'),
    warn: line('WRN'),
    error: line('ERR'),
    fatal: line('FTL'),
    debug: () => {},
    trace: () => {},
    debugEnabled: false,
    traceEnabled: false,
  };
}

export async function startEmbedded(opts: Partial<Options> = {}): Promise<Embedded> {
  const logs: string[] = [];
  const srv = new Server({ host: '127.0.0.1', port: -1, httpHost: '127.0.0.1', httpPort: -1, ...opts }, captureLogger(logs));
  await srv.start();
  if (srv.monitor === null) throw new Error('monitor did not start');
  return { srv, base: srv.monitor.url(), logs, stop: () => srv.shutdown() };
}

export interface Got {
  status: number;
  headers: Headers;
  text: string;
}

export async function get(url: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(url, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

export async function getJSON<T = Record<string, unknown>>(url: string, init: RequestInit = {}): Promise<T> {
  const g = await get(url, init);
  if (g.status !== 200) throw new Error(`GET ${url}: ${g.status} ${g.text}`);
  return JSON.parse(g.text) as T;
}

/** A connected client with CONNECT name/lang/version set, synced with PING/PONG. */
export function client(port: number, name = '', extra: Record<string, unknown> = {}): Promise<RawClient> {
  const fields = { verbose: false, pedantic: false, name, lang: 'test', version: '1.0.0', protocol: 1, ...extra };
  return session(port, `CONNECT ${JSON.stringify(fields)}\r\n`);
}
