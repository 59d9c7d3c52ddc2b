// JetStream test helpers: both servers started with JetStream on their own
// fresh store directories, raw API requests through the official client, and
// the masking that makes two servers' answers comparable (timestamps,
// creation times, ids and server names differ by nature).

import assert from 'node:assert/strict';
import { tempDir } from './tmp.js';
import { connect, headers as natsHeaders, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { referenceOnly, startServer, type RunningServer, type ServerKind } from './servers.js';

export interface JsServer {
  kind: ServerKind;
  server: RunningServer;
  storeDir: string;
  nc: NatsConnection;
}

export function tempStoreDir(): string {
  return tempDir('tsnats-js-');
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

// --- consumers (test/differential/js-consumer-*.test.ts) ---

export async function stopJs(s: JsServer | undefined): Promise<void> {
  if (s === undefined) return;
  await s.nc.close().catch(() => undefined);
  await s.server.stop();
}

/** Both servers (the reference twice with DIFF_ONLY=reference). */
export async function startBothJs(extraArgs: string[] = []): Promise<[JsServer, JsServer]> {
  const ref = await startJs('reference', extraArgs);
  const ts = await startJs(referenceOnly() ? 'reference' : 'tsnats', extraArgs);
  return [ref, ts];
}

const dec = new TextDecoder();

/** A JSON API request; the parsed answer. */
export async function api(nc: NatsConnection, subject: string, body: unknown = ''): Promise<Record<string, unknown>> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  const m = await nc.request(subject, data, { timeout: 3000 });
  return JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
}

/** Publish to a stream and wait for the PubAck. */
export async function jsPub(nc: NatsConnection, subject: string, data: string, hdrs?: Record<string, string>): Promise<Record<string, unknown>> {
  let h;
  if (hdrs !== undefined) {
    h = natsHeaders();
    for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  }
  const m = await nc.request(subject, data, { timeout: 3000, headers: h });
  return JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
}

/** What a message looked like: subject, reply (ack reply masked past its sequences), status, headers, data. */
export interface SeenMsg {
  subject: string;
  reply: string;
  status: string;
  headers: Record<string, string[]>;
  data: string;
}

export function seen(m: Msg): SeenMsg {
  const headers: Record<string, string[]> = {};
  let status = '';
  if (m.headers !== undefined) {
    status = `${m.headers.code} ${m.headers.description}`.trim();
    for (const k of m.headers.keys()) headers[k] = m.headers.values(k);
  }
  return { subject: m.subject.startsWith('_INBOX.') ? '<inbox>' : m.subject, reply: maskReply(m.reply ?? ''), status, headers, data: dec.decode(m.data) };
}

/** $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>: the timestamp masked; $JS.FC.… suffix masked. */
export function maskReply(r: string): string {
  const t = r.split('.');
  if (t.length === 9 && t[0] === '$JS' && t[1] === 'ACK') {
    t[7] = '<ts>';
    return t.join('.');
  }
  if (t.length === 5 && t[0] === '$JS' && t[1] === 'FC') {
    t[4] = '<fc>';
    return t.join('.');
  }
  return r;
}

const MASK_KEYS = new Set(['created', 'last_active', 'first_ts', 'last_ts', 'timestamp', 'id', 'ts', 'server', 'ack_time']);

/** Times, ids and the given generated names replaced by placeholders. */
export function mask(v: unknown, names: string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => mask(x, names));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (MASK_KEYS.has(k) && (typeof x === 'string' || typeof x === 'number')) o[k] = `<${k}>`;
      else if (k === 'cluster') o[k] = '<cluster>';
      else o[k] = mask(x, names);
    }
    return o;
  }
  if (typeof v === 'string') {
    let s = v;
    for (const n of names) if (n !== '') s = s.split(n).join('<name>');
    return s;
  }
  return v;
}

/** Collect what a subscription receives for `ms` (or until `count` messages). */
export async function collect(nc: NatsConnection, subject: string, opts: { ms: number; count?: number }): Promise<Msg[]> {
  const sub = nc.subscribe(subject);
  const out: Msg[] = [];
  const done = (async () => {
    for await (const m of sub) {
      out.push(m);
      if (opts.count !== undefined && out.length >= opts.count) break;
    }
  })();
  const timer = setTimeout(() => sub.unsubscribe(), opts.ms);
  await done;
  clearTimeout(timer);
  return out;
}

/** Send a pull request on an inbox and gather the answers until `ms` passed or `count` arrived. */
export async function pull(nc: NatsConnection, stream: string, consumer: string, body: unknown, opts: { ms: number; count?: number }): Promise<Msg[]> {
  const inbox = `_INBOX.pull.${Math.random().toString(36).slice(2)}`;
  const sub = nc.subscribe(inbox);
  const out: Msg[] = [];
  const done = (async () => {
    for await (const m of sub) {
      out.push(m);
      if (opts.count !== undefined && out.length >= opts.count) break;
    }
  })();
  await nc.flush();
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, typeof body === 'string' ? body : JSON.stringify(body), { reply: inbox });
  const timer = setTimeout(() => sub.unsubscribe(), opts.ms);
  await done;
  clearTimeout(timer);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A named observation of a scenario step, compared between the two servers. */
export type Step = [string, unknown];

/** Run `fn` on the reference, then on tsnats, and compare their steps one by one. */
/** Records a scenario's steps, each masked of what legitimately differs. */
export type StepRecorder = (label: string, v: unknown, names?: string[]) => void;

/**
 * Runs one scenario on the reference, then on tsnats, and compares the
 * steps each recorded, in order; returns the reference's steps.
 */
export async function compareSteps(ref: JsServer, ts: JsServer, fn: (s: JsServer, step: StepRecorder) => Promise<void>): Promise<Step[]> {
  const run = async (s: JsServer): Promise<Step[]> => {
    const out: Step[] = [];
    await fn(s, (label, v, names = []) => void out.push([label, mask(v, names)]));
    return out;
  };
  const r = await run(ref);
  const t = await run(ts);
  for (let i = 0; i < Math.max(r.length, t.length); i++) assert.deepEqual(t[i], r[i], `step ${r[i]?.[0] ?? t[i]?.[0]}`);
  return r;
}

/** The body of a CONSUMER.CREATE request. */
export const consumerRequest = (stream: string, config: Record<string, unknown>): Record<string, unknown> => ({ stream_name: stream, config });

/**
 * Polls `fn` until it returns a value other than null (errors count as not
 * yet, the last one is reported on timeout): streams that catch up through
 * sources, mirrors or a leaf connection.
 */
export async function waitForValue<T>(what: string, fn: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last !== null ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}
