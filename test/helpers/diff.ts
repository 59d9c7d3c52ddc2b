// Differential testing: the same client bytes against tsnats and the reference
// nats-server; the masked transcripts and the connection-closed state must be
// equal. Set DIFF_ONLY=reference to run only the reference side (to validate
// the reference expectations written into the tests); the comparison is then
// trivially equal and a diagnostic says so.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { afterInfo, maskTranscript, parseServerStream, withoutServerPings, type MaskOptions, type ServerFrame } from './mask.js';
import { sendAndCollect, sleep, type CollectOptions } from './rawclient.js';
import { referenceOnly, startBoth, writeConfig, type RunningServer, type ServerPair, type StartOptions } from './servers.js';

export interface Transcript {
  kind: 'tsnats' | 'reference';
  /** every byte the server sent */
  data: Buffer;
  /** data as utf8 */
  text: string;
  /** text without the leading INFO line (and without server PINGs unless opts.keepServerPings) */
  afterInfo: string;
  /** text with INFO masked: what is compared */
  masked: string;
  frames: ServerFrame[];
  /** the server closed the connection */
  closed: boolean;
  /** [ERR]/[WRN]/[FTL] lines the server logged during the exchange, masked by maskLogLine */
  log: string[];
}

export interface ServerSetup {
  /** server args for both servers (a pair is started and stopped for this call) */
  args?: string[];
  /** config file contents for both servers (written to a temp file, passed as `-c`) */
  config?: string;
  /** already running servers to use instead (not stopped here) */
  servers?: ServerPair;
  start?: StartOptions;
}

export interface DifferentialOptions extends CollectOptions, MaskOptions, ServerSetup {
  /**
   * When one server closed the connection and the other did not (yet), wait
   * this long for the other to close too before comparing (default 3000 ms).
   */
  closeGraceMs?: number;
  /** also assert the masked [ERR]/[WRN]/[FTL] log lines are equal (default false) */
  compareLogs?: boolean;
}

/** JSON-quoted text, clipped to `max` characters for readable failures. */
export function clip(text: string, max = 2000): string {
  const q = JSON.stringify(text);
  return q.length <= max ? q : `${q.slice(0, max)}… (${text.length} chars)`;
}

/**
 * assert.equal for possibly huge transcripts: on a mismatch the message shows
 * the lengths and a window around the first differing character.
 */
export function assertSameText(actual: string, expected: string, label: string): void {
  if (actual === expected) return;
  if (actual.length + expected.length < 4000) {
    assert.equal(actual, expected, label);
    return;
  }
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const from = Math.max(0, i - 200);
  assert.fail(
    `${label}: first difference at offset ${i} (tsnats ${actual.length} chars, reference ${expected.length} chars)\n` +
      `--- reference [${from}..] ---\n${JSON.stringify(expected.slice(from, i + 200))}\n` +
      `--- tsnats [${from}..] ---\n${JSON.stringify(actual.slice(from, i + 200))}`,
  );
}

/**
 * `[pid] 2006/01/02 15:04:05.000000 [ERR] 127.0.0.1:53144 - cid:4 - text` →
 * `[ERR] 127.0.0.1:<port> - cid:<cid> - text`.
 */
export function maskLogLine(line: string): string {
  return line
    .replace(/^\[\d+\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} /, '')
    .replace(/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d+ - /g, '$1:<port> - ')
    .replace(/\bcid:\d+\b/g, 'cid:<cid>');
}

/** masked [ERR]/[WRN]/[FTL] lines in a chunk of server stderr */
export function problemLogLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /\[(ERR|WRN|FTL)\]/.test(l))
    .map((l) => maskLogLine(l.replace(/\r$/, '')));
}

export function serverArgs(setup: ServerSetup): string[] {
  return [...(setup.config !== undefined ? ['-c', writeConfig(setup.config)] : []), ...(setup.args ?? [])];
}

/** Runs `fn` with the pair from `setup` (starting and stopping one if needed). */
export async function withServers<T>(setup: ServerSetup, fn: (pair: ServerPair) => Promise<T>): Promise<T> {
  if (setup.servers) return fn(setup.servers);
  const pair = await startBoth(serverArgs(setup), setup.start);
  try {
    return await fn(pair);
  } finally {
    await pair.stop();
  }
}

interface Run {
  t: Transcript;
  waitClose: (ms: number) => Promise<Transcript>;
  close(): void;
}

async function runOne(server: RunningServer, chunks: (string | Uint8Array)[], opts: DifferentialOptions): Promise<Run> {
  const logStart = server.stderr().length;
  const c = await sendAndCollect(server.port, chunks, { ...opts, host: opts.host ?? server.host });
  const build = (): Transcript => {
    const data = c.client.received();
    return {
      kind: server.kind,
      data,
      text: data.toString('utf8'),
      afterInfo: afterInfo(opts.keepServerPings ? data : withoutServerPings(data)),
      masked: maskTranscript(data, opts),
      frames: parseServerStream(data),
      closed: c.client.isClosed,
      log: problemLogLines(server.stderr().slice(logStart)),
    };
  };
  // let the server's stderr pipe catch up with what it logged for this exchange
  if (opts.compareLogs) await sleep(50);
  return {
    t: build(),
    waitClose: async (ms) => {
      await c.client.waitClosed(ms);
      await c.client.readForBytes(50, 1000);
      return build();
    },
    close: () => c.client.close(),
  };
}

/**
 * Sends `chunks` (after INFO, with opts.delayMs between them) to both servers
 * on one fresh connection each, collects until quiet, and asserts the masked
 * transcripts and the closed state are equal. Returns both transcripts.
 */
export async function differential(
  t: TestContext,
  chunks: (string | Uint8Array)[],
  opts: DifferentialOptions = {},
): Promise<{ ref: Transcript; ts: Transcript }> {
  return withServers(opts, async (pair) => {
    const conns: Run[] = [];
    try {
      if (referenceOnly()) {
        const r = await runOne(pair.reference, chunks, opts);
        conns.push(r);
        t.diagnostic('DIFF_ONLY=reference: tsnats side not run');
        return { ref: r.t, ts: r.t };
      }
      const [r, s] = await Promise.all([runOne(pair.reference, chunks, opts), runOne(pair.tsnats, chunks, opts)]);
      conns.push(r, s);
      let ref = r.t;
      let ts = s.t;
      if (ref.closed !== ts.closed) {
        const grace = opts.closeGraceMs ?? 3000;
        if (!ref.closed) ref = await r.waitClose(grace);
        if (!ts.closed) ts = await s.waitClose(grace);
      }
      const show = `\n--- reference ---\n${clip(ref.text)}\n--- tsnats ---\n${clip(ts.text)}`;
      assertSameText(ts.masked, ref.masked, 'transcripts differ (masked)');
      assert.equal(ts.closed, ref.closed, `closed state differs: reference closed=${ref.closed}, tsnats closed=${ts.closed}${show}`);
      if (opts.compareLogs) {
        assert.deepEqual(ts.log, ref.log, `[ERR]/[WRN] log lines differ\n--- reference ---\n${ref.log.join('\n')}\n--- tsnats ---\n${ts.log.join('\n')}`);
      }
      return { ref, ts };
    } finally {
      for (const c of conns) c.close();
    }
  });
}

/**
 * Runs an arbitrary scenario (several connections, timing, ...) against both
 * servers and asserts deep equality of what it returns. The scenario must
 * return only comparable data (mask INFO with maskTranscript etc.).
 */
export async function differentialScenario<T>(
  t: TestContext,
  scenario: (server: RunningServer) => Promise<T>,
  setup: ServerSetup = {},
): Promise<{ ref: T; ts: T }> {
  return withServers(setup, async (pair) => {
    if (referenceOnly()) {
      const ref = await scenario(pair.reference);
      t.diagnostic('DIFF_ONLY=reference: tsnats side not run');
      return { ref, ts: ref };
    }
    const [ref, ts] = await Promise.all([scenario(pair.reference), scenario(pair.tsnats)]);
    assert.deepEqual(ts, ref, `scenario results differ\n--- reference ---\n${clip(JSON.stringify(ref))}\n--- tsnats ---\n${clip(JSON.stringify(ts))}`);
    return { ref, ts };
  });
}
