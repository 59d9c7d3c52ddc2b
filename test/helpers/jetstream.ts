// JetStream differential helpers: both servers started with -js and their
// own store dir, raw API requests through the official transport client,
// and masking of what legitimately differs (times, generated names, ids).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { referenceOnly, startServer, type RunningServer, type ServerKind } from './servers.js';

export interface JsServer {
  kind: ServerKind;
  server: RunningServer;
  storeDir: string;
  nc: NatsConnection;
}

/** Start one server with JetStream on a fresh store dir (or the given one) and connect to it. */
export async function startJs(kind: ServerKind, extraArgs: string[] = [], storeDir?: string): Promise<JsServer> {
  const dir = storeDir ?? mkdtempSync(join(tmpdir(), `tsnats-js-${kind}-`));
  const server = await startServer(kind, ['-js', '-sd', dir, ...extraArgs]);
  const nc = await connect({ servers: server.url, reconnect: false });
  return { kind, server, storeDir: dir, nc };
}

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

const TIME_KEYS = new Set(['created', 'last_active', 'first_ts', 'last_ts', 'timestamp', 'id', 'ts', 'server', 'ack_time']);

/** Times, ids and the given generated names replaced by placeholders. */
export function mask(v: unknown, names: string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => mask(x, names));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (TIME_KEYS.has(k) && (typeof x === 'string' || typeof x === 'number')) o[k] = `<${k}>`;
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
