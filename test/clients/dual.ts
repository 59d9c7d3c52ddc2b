// Runs one client scenario (written against the official nats.js client)
// against BOTH the reference nats-server and tsnats, each spawned fresh with
// the same arguments, and compares what the scenario observed.
//
// A scenario gets a Target: the running server, a `connect()` that tracks
// connections (all closed when the scenario ends), and `restart()` (stop the
// server, start the same kind again on the same port). It asserts what it
// expects (so the reference run validates the expectation) and returns plain
// JSON-comparable data; the two results must be deep-equal.
//
// DIFF_ONLY=reference runs only the reference side (to validate expectations),
// DIFF_ONLY=tsnats only the tsnats side.
//
// Not a test file itself (no side effects on import).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type NodeConnectionOptions, type Subscription, type Msg } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';

export interface Target {
  readonly kind: ServerKind;
  /** the server currently running (changes after restart()) */
  readonly server: RunningServer;
  /** nats://127.0.0.1:port */
  readonly url: string;
  /** connect with the official client; the connection is closed when the scenario ends */
  connect(opts?: Partial<NodeConnectionOptions>): Promise<NatsConnection>;
  /** stop the server (SIGTERM, wait for exit) and start the same kind on the same port */
  restart(): Promise<RunningServer>;
  /** stop the server (SIGTERM), resolves with its exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** start the server again on the same port after stop() */
  start(): Promise<RunningServer>;
}

export interface DualSetup {
  /** extra server args (after `-a 127.0.0.1 -p -1`) */
  args?: string[];
  /** config file contents, passed as `-c <file>` to both */
  config?: string;
  /** JetStream on: each server gets `-js -sd <its own fresh dir>` (kept across restart()) */
  jetstream?: boolean;
}

/** which servers the scenario runs against (see DIFF_ONLY) */
export function targetKinds(): ServerKind[] {
  const only = process.env.DIFF_ONLY;
  if (only === 'reference') return ['reference'];
  if (only === 'tsnats') return ['tsnats'];
  return ['reference', 'tsnats'];
}

/** generous: on a loaded machine loading Node and the server's modules can take a while */
export const START = { timeoutMs: 60_000 } as const;

const jsDirs: string[] = [];
process.on('exit', () => {
  for (const d of jsDirs) rmSync(d, { recursive: true, force: true });
});

function setupArgs(setup: DualSetup): string[] {
  const dir = setup.jetstream === true ? mkdtempSync(join(tmpdir(), 'tsnats-dual-js-')) : '';
  if (dir !== '') jsDirs.push(dir);
  const js = dir !== '' ? ['-js', '-sd', dir] : [];
  return [...(setup.config !== undefined ? ['-c', writeConfig(setup.config)] : []), ...js, ...(setup.args ?? [])];
}

/** start on a fixed port, retrying a few times if the port is briefly unavailable */
async function startOnPort(kind: ServerKind, args: string[], port: number): Promise<RunningServer> {
  let last: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return await startServer(kind, [...args, '-p', String(port)], START);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

async function runOn<T>(kind: ServerKind, setup: DualSetup, scenario: (t: Target) => Promise<T>): Promise<T> {
  const args = setupArgs(setup);
  let server = await startServer(kind, args, START);
  const port = server.port;
  const conns: NatsConnection[] = [];
  const target: Target = {
    kind,
    get server() {
      return server;
    },
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    async connect(opts: Partial<NodeConnectionOptions> = {}) {
      const nc = await connect({ servers: `127.0.0.1:${port}`, timeout: 10_000, ...opts });
      conns.push(nc);
      return nc;
    },
    stop(signal?: NodeJS.Signals) {
      return server.stop(signal);
    },
    async start() {
      server = await startOnPort(kind, args, port);
      return server;
    },
    async restart() {
      await server.stop();
      server = await startOnPort(kind, args, port);
      return server;
    },
  };
  try {
    return await scenario(target);
  } catch (e) {
    if (e instanceof Error) {
      e.message = `[${kind}] ${e.message}\n--- ${kind} stderr (tail) ---\n${server.stderr().slice(-2000)}`;
    }
    throw e;
  } finally {
    await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close().catch(() => undefined))));
    await server.stop();
  }
}

/**
 * Runs `scenario` against the reference and tsnats (in parallel, each on its
 * own freshly spawned server) and asserts both returned deep-equal results.
 * Returns the reference's result (or the only one run).
 */
export async function onBoth<T>(scenario: (t: Target) => Promise<T>, setup: DualSetup = {}): Promise<T> {
  const kinds = targetKinds();
  const settled = await Promise.allSettled(kinds.map((k) => runOn(k, setup, scenario)));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new AggregateError(failures, failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n'));
  }
  const results = settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  if (results.length === 2) {
    assert.deepEqual(
      results[1],
      results[0],
      `outcomes differ\n--- reference ---\n${JSON.stringify(results[0])}\n--- tsnats ---\n${JSON.stringify(results[1])}`,
    );
  }
  return results[0]!;
}

// ---------------------------------------------------------------------------
// small helpers for scenarios

/**
 * Rejects with a clear message if `p` has not settled in `ms` (a safety net
 * against hangs, never a synchronisation mechanism; keep it generous).
 */
export function within<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A callback subscription that records every message it gets, synchronously. */
export interface Recorder {
  sub: Subscription;
  msgs: Msg[];
  /** payloads as utf8 */
  texts(): string[];
}

export function record(nc: NatsConnection, subject: string, opts: { queue?: string; max?: number } = {}): Recorder {
  const msgs: Msg[] = [];
  const sub = nc.subscribe(subject, {
    ...opts,
    callback: (err, m) => {
      if (!err) msgs.push(m);
    },
  });
  return { sub, msgs, texts: () => msgs.map((m) => m.string()) };
}

/** error summary comparable across servers */
export function errInfo(e: unknown): { name: string; message: string; cause?: { name: string; message: string } } {
  if (!(e instanceof Error)) return { name: typeof e, message: String(e) };
  const out: { name: string; message: string; cause?: { name: string; message: string } } = { name: e.constructor.name, message: e.message };
  if (e.cause instanceof Error) out.cause = { name: e.cause.constructor.name, message: e.cause.message };
  return out;
}

/** the error thrown by `f` (sync or async); fails if it does not throw */
export async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error, nothing was thrown');
}

/** bytes 0..n-1 as a recognisable pattern */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/**
 * Round-trips every connection `rounds` times, in order. One round guarantees
 * the server processed everything each connection sent before it; each
 * further round covers one more hop (e.g. a responder's reply published from
 * inside a callback, then its delivery).
 */
export async function settle(conns: NatsConnection[], rounds = 3): Promise<void> {
  for (let r = 0; r < rounds; r++) for (const c of conns) await c.flush();
}
