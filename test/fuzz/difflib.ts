// The machinery of the differential fuzzer (not a test file): one input =
// one fresh TCP connection to each server, the input bytes written in one
// write after INFO, the answer collected until the server closes, answers a
// final PONG, or goes quiet. Answers are compared after masking INFO
// identity fields, dropping server PINGs, sorting runs of consecutive
// MSG/HMSG frames (the reference delivers to several subscriptions of one
// subject in Go map order) and hiding which member of a queue group got a
// message (random in the reference). A mismatch is re-run slowly, the
// reference several times: it is a divergence only if tsnats' answer is
// none of the reference's.

import { connect, sleep } from '../helpers/rawclient.js';
import { maskFrame, parseServerStream } from '../helpers/mask.js';
import type { RunningServer } from '../helpers/servers.js';

/** server configurations the differential fuzzer runs as lanes (corpus files are named `<lane>--<case>.bin`) */
export const LANE_CONFIGS: Record<string, string> = {
  default: '',
  limits: 'max_payload: 48\nmax_control_line: 48\nmax_subscriptions: 3\n',
};

export interface Answer {
  /** canonical text compared */
  canon: string;
  closed: boolean;
  /** raw bytes after INFO, for reports */
  raw: string;
}

export interface Exchange {
  /** quiet period that ends the collection when no PONG ends it (ms) */
  quietMs: number;
  /** extra time given to a server that has not closed when the other did (ms) */
  closeGraceMs: number;
  maxMs: number;
}

export const FAST: Exchange = { quietMs: 250, closeGraceMs: 0, maxMs: 4000 };
export const SLOW: Exchange = { quietMs: 700, closeGraceMs: 2500, maxMs: 8000 };

/** sids the input subscribes with a queue group (roughly: `SUB subj queue sid`) */
export function queueSids(input: Buffer): Set<string> {
  const out = new Set<string>();
  for (const line of input.toString('latin1').split('\n')) {
    const m = /^sub[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+?)\r?$/i.exec(line.replace(/[ \t]+$/, ''));
    if (m) out.add(m[3]!);
  }
  return out;
}

/** the canonical form of a server→client transcript (INFO line included) */
export function canonical(data: Buffer, qsids: Set<string>): string {
  const frames = parseServerStream(data).filter((f) => f.op !== 'PING');
  const parts: string[] = [];
  let run: string[] = [];
  const endRun = () => {
    if (run.length > 0) parts.push(...run.sort());
    run = [];
  };
  for (const f of frames) {
    if (f.op === 'MSG' || f.op === 'HMSG') {
      let raw = f.raw;
      if (qsids.has(f.sid)) raw = raw.replace(` ${f.sid} `, ' <q> ');
      run.push(raw);
    } else {
      endRun();
      parts.push(maskFrame(f));
    }
  }
  endRun();
  return parts.join('');
}

/** the answer of `server` to `input` on a fresh connection */
/** gap between the writes of a split input: long enough for the server to read each part on its own */
export const SPLIT_GAP_MS = 40;

/** `input` cut at `cuts` (offsets), for inputs delivered in several writes */
export function parts(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < input.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of points) {
    out.push(input.subarray(prev, c));
    prev = c;
  }
  out.push(input.subarray(prev));
  return out;
}

export async function exchange(server: RunningServer, input: Buffer, ex: Exchange, qsids: Set<string>, cuts: number[] = []): Promise<Answer & { settle: (ms: number) => Promise<Answer>; close: () => void }> {
  const c = await connect(server.port, { host: server.host, timeoutMs: 10_000 });
  try {
    await c.readUntilBytes('\r\n', 10_000);
  } catch {
    /* closed before INFO: visible in the answer */
  }
  const infoLen = c.receivedLength;
  const ps = parts(input, cuts);
  for (let i = 0; i < ps.length; i++) {
    if (i > 0) await sleep(SPLIT_GAP_MS);
    await c.send(ps[i]!);
  }
  const deadline = Date.now() + ex.maxMs;
  // wait for: close, a PONG at the end of what arrived, or quiet
  for (;;) {
    if (c.isClosed || Date.now() > deadline) break;
    const before = c.receivedLength;
    await c.readUntilBytes(() => c.receivedLength !== before, ex.quietMs).catch(() => undefined);
    if (c.receivedLength === before) break;
    const all = c.received();
    if (all.length >= 6 && all.subarray(all.length - 6).toString('latin1') === 'PONG\r\n') {
      // a last short quiet period: a close after the PONG (e.g. an -ERR) must be seen
      const b2 = c.receivedLength;
      await c.readUntilBytes(() => c.receivedLength !== b2, 40).catch(() => undefined);
      if (c.receivedLength === b2) break;
    }
  }
  const build = (): Answer => {
    const data = c.received();
    return { canon: canonical(data, qsids), closed: c.isClosed, raw: data.subarray(infoLen).toString('latin1') };
  };
  return {
    ...build(),
    settle: async (ms: number) => {
      await c.waitClosed(ms);
      await sleep(20);
      return build();
    },
    close: () => c.close(),
  };
}

export interface Verdict {
  same: boolean;
  /** the first mismatch was not reproducible or the reference disagreed with itself */
  flaky: boolean;
  ts: Answer;
  refs: Answer[];
}

const eq = (a: Answer, b: Answer) => a.canon === b.canon && a.closed === b.closed;

/** one comparison at the given pace */
async function once(ref: RunningServer, ts: RunningServer, input: Buffer, ex: Exchange, qs: Set<string>, cuts: number[]): Promise<{ r: Answer; t: Answer }> {
  const [r0, t0] = await Promise.all([exchange(ref, input, ex, qs, cuts), exchange(ts, input, ex, qs, cuts)]);
  try {
    let r: Answer = r0;
    let t: Answer = t0;
    if (r.closed !== t.closed && ex.closeGraceMs > 0) {
      [r, t] = await Promise.all([r.closed ? r : r0.settle(ex.closeGraceMs), t.closed ? t : t0.settle(ex.closeGraceMs)]);
    }
    return { r, t };
  } finally {
    r0.close();
    t0.close();
  }
}

/**
 * compares tsnats with the reference on `input` (written in one piece, or
 * cut at `cuts` with SPLIT_GAP_MS between the writes), re-running slowly on a
 * mismatch
 */
export async function compare(ref: RunningServer, ts: RunningServer, input: Buffer, cuts: number[] = [], refRuns = 3): Promise<Verdict> {
  const qs = queueSids(input);
  const first = await once(ref, ts, input, FAST, qs, cuts);
  if (eq(first.r, first.t)) return { same: true, flaky: false, ts: first.t, refs: [first.r] };
  const slow = await once(ref, ts, input, SLOW, qs, cuts);
  const refs = [slow.r];
  if (eq(slow.r, slow.t)) return { same: true, flaky: true, ts: slow.t, refs };
  for (let i = 1; i < refRuns; i++) {
    const again = await once(ref, ts, input, SLOW, qs, cuts);
    refs.push(again.r);
    if (eq(again.r, slow.t) || eq(again.r, again.t)) return { same: true, flaky: true, ts: slow.t, refs };
  }
  return { same: false, flaky: false, ts: slow.t, refs };
}

/** the server still accepts a connection and answers PING */
export async function healthy(server: RunningServer): Promise<boolean> {
  try {
    const c = await connect(server.port, { host: server.host, timeoutMs: 10_000 });
    try {
      await c.readUntil('\r\n', 10_000);
      await c.send('CONNECT {"verbose":false}\r\nPING\r\n');
      await c.readUntil('PONG\r\n', 10_000);
      return true;
    } finally {
      c.close();
    }
  } catch {
    return false;
  }
}

export function describeDivergence(input: Buffer, v: Verdict, cuts: number[] = []): string {
  return (
    `input ${JSON.stringify(input.toString('latin1'))} (hex ${input.toString('hex')})${cuts.length ? ` written in parts cut at ${JSON.stringify(cuts)}` : ''}\n` +
    `  reference (closed=${v.refs[0]!.closed}): ${JSON.stringify(v.refs[0]!.raw)}\n` +
    `  tsnats    (closed=${v.ts.closed}): ${JSON.stringify(v.ts.raw)}`
  );
}
