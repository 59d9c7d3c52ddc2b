// JetStream test helpers: both servers started with JetStream on their own
// fresh store directories, raw API requests through the official client, and
// the masking that makes two servers' answers comparable (timestamps,
// creation times, ids and server names differ by nature).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { startServer, type RunningServer, type ServerKind } from './servers.js';

export interface JsServer {
  kind: ServerKind;
  server: RunningServer;
  storeDir: string;
  nc: NatsConnection;
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempStoreDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsnats-js-'));
  dirs.push(d);
  return d;
}

/** Start one server of `kind` with JetStream on a fresh store dir (or `storeDir`), and connect to it. */
export async function startJs(kind: ServerKind, extraArgs: string[] = [], storeDir = tempStoreDir()): Promise<JsServer> {
  const server = await startServer(kind, ['-js', '-sd', storeDir, ...extraArgs]);
  const nc = await connect({ servers: server.url, reconnect: false });
  return { kind, server, storeDir, nc };
}

/** Both servers with JetStream, each on its own store dir. */
export async function startJsPair(extraArgs: string[] = []): Promise<{ tsnats: JsServer; reference: JsServer; stop(): Promise<void> }> {
  const [reference, tsnats] = await Promise.all([startJs('reference', extraArgs), startJs('tsnats', extraArgs)]);
  return {
    tsnats,
    reference,
    async stop() {
      await Promise.allSettled([tsnats.nc.close(), reference.nc.close()]);
      await Promise.allSettled([tsnats.server.stop(), reference.server.stop()]);
    },
  };
}

export type JsAnswer = { json: Record<string, unknown> } | { status: string; headers: Record<string, string>; data: string } | { timeout: true } | { raw: string };

/** One request; the answer as JSON, a status message, or a timeout. */
export async function jsRequest(
  nc: NatsConnection,
  subject: string,
  body: unknown = '',
  opts: { timeout?: number; headers?: Record<string, string> } = {},
): Promise<JsAnswer> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  let h;
  if (opts.headers !== undefined) {
    h = natsHeaders();
    for (const [k, v] of Object.entries(opts.headers)) h.set(k, v);
  }
  let m: Msg;
  try {
    m = await nc.request(subject, payload, { timeout: opts.timeout ?? 2000, headers: h });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (/timeout|TIMEOUT/.test(err.message) || err.code === 'TIMEOUT') return { timeout: true };
    return { raw: `error: ${err.message}` };
  }
  return answerOf(m);
}

export function answerOf(m: Msg): JsAnswer {
  if (m.headers !== undefined && m.headers.code !== 0 && m.data.length === 0) {
    const hs: Record<string, string> = {};
    for (const k of m.headers.keys()) hs[k] = m.headers.get(k);
    return { status: `${m.headers.code} ${m.headers.description}`, headers: hs, data: m.string() };
  }
  const text = m.string();
  try {
    return { json: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { raw: text };
  }
}

const TIME_KEYS = new Set(['created', 'first_ts', 'last_ts', 'time', 'ts', 'timestamp', 'now', 'opt_start_time', 'last_active', 'active']);
const ID_KEYS = new Set(['id', 'server_id', 'server', 'leader', 'name_of_server']);

/** Replace what differs between two servers by nature with placeholders. */
export function maskJs(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => maskJs(x, key));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = maskJs(x, k);
    return o;
  }
  if (typeof v === 'string' && TIME_KEYS.has(key) && v !== '0001-01-01T00:00:00Z') return '<time>';
  if (typeof v === 'string' && ID_KEYS.has(key)) return '<id>';
  return v;
}

/** Masked answer as text, for assert.equal with a readable diff. */
export function maskedAnswer(a: JsAnswer): string {
  if ('json' in a) return JSON.stringify(maskJs(a.json));
  if ('status' in a) {
    const hs = { ...a.headers };
    return JSON.stringify({ status: a.status, headers: hs, data: a.data });
  }
  return JSON.stringify(a);
}

/** Publish with a reply and wait for the PubAck (or error) JSON. */
export async function jsPublish(nc: NatsConnection, subject: string, data: string, hdrs?: Record<string, string>): Promise<JsAnswer> {
  return jsRequest(nc, subject, data, { headers: hdrs });
}
