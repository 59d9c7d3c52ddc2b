// Differential fuzzing: random and mutated client byte streams go to tsnats
// and to the reference nats-server 2.9.10 over TCP, and the answers must be
// the same (test/fuzz/difflib.ts: masking, re-runs). Several server
// configurations run as parallel lanes, each a server pair fed inputs one
// after the other. After every batch the tsnats server must still answer a
// fresh client, and at the end neither process may have died.
//
// Divergences that are intended differences or open findings are matched by
// KNOWN (see docs/intended-differences.md and docs/reliability.md); any other
// one fails the test with the input bytes and both answers.
//
// Lanes: the default configuration, small limits (max_payload,
// max_control_line, max_subscriptions), and the default configuration with
// each input delivered in 2–4 writes (the servers read the parts separately,
// which exercises the read-boundary behaviour of the parser).
//
// Default: up to 120 inputs per lane within ~15 s; FUZZ_RUNS=<n> multiplies
// both; FUZZ_SEED=<n> replays; FUZZ_FINDINGS_DIR=<dir> writes every
// divergent input there as a .bin file.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { startBoth, writeConfig, type ServerPair } from '../helpers/servers.js';
import { LANE_CONFIGS, compare, describeDivergence, healthy, type Verdict } from './difflib.js';
import { connectJson, connectJsonUnique, eolArb, fuzzFactor, mutate, mutationArb, seedFromEnv, subjectArb, type Mutation } from './gen.js';
import { recordCount } from './stats.js';
import { KNOWN } from './known.js';

interface Lane {
  name: string;
  config: string;
  /** deliver each input in 2–4 writes (the servers read the parts separately) */
  split: boolean;
}

const LANES: Lane[] = [
  ...Object.entries(LANE_CONFIGS).map(([name, config]) => ({ name, config, split: false })),
  { name: 'split', config: '', split: true },
];

/** the largest input: the reference reads into a 512-byte buffer first, so one read sees it all */
const MAX_INPUT = 480;

const tok = fc.constantFrom('foo', 'bar', 'a', '*', '>', 'x', '');
const subj = fc.oneof({ weight: 4, arbitrary: fc.array(tok, { minLength: 1, maxLength: 3 }).map((t) => t.join('.')) }, { weight: 1, arbitrary: subjectArb });
const sid = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('x', '0', '-1', '01') });
const sp = fc.constantFrom(' ', ' ', ' ', '\t', '  ');
const body = fc.oneof(
  fc.string({ maxLength: 10, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('', 'hi', 'PING\r\n', 'a\r\nb'),
);
const delta = fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 1 }) });
const reply = fc.option(subj, { nil: undefined, freq: 3 });
const hdrs = fc.constantFrom('NATS/1.0\r\n\r\n', 'NATS/1.0\r\nA: B\r\n\r\n', 'NATS/1.0 503\r\n\r\n', '', 'xx');

const frame = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('PUB', 'pub', 'Pub'), sp, subj, reply, body, delta, eolArb).map(([v, s, su, r, b, d, e]) => `${v}${s}${su}${r !== undefined ? ' ' + r : ''} ${Math.max(0, b.length + d)}${e}${b}\r\n`) },
  { weight: 2, arbitrary: fc.tuple(subj, reply, hdrs, body, delta, eolArb).map(([su, r, h, b, d, e]) => `HPUB ${su}${r !== undefined ? ' ' + r : ''} ${h.length} ${Math.max(0, h.length + b.length + d)}${e}${h}${b}\r\n`) },
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('SUB', 'sub'), sp, subj, fc.option(fc.constantFrom('q', 'g'), { nil: undefined, freq: 4 }), sid, eolArb).map(([v, s, su, q, i, e]) => `${v}${s}${su}${q !== undefined ? ' ' + q : ''} ${i}${e}`) },
  { weight: 2, arbitrary: fc.tuple(sid, fc.option(fc.constantFrom('0', '1', '2', '-1', 'x'), { nil: undefined, freq: 3 }), eolArb).map(([i, m, e]) => `UNSUB ${i}${m !== undefined ? ' ' + m : ''}${e}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('CONNECT ', 'connect ', 'CONNECT'), fc.oneof({ weight: 6, arbitrary: connectJsonUnique }, { weight: 1, arbitrary: connectJson }), eolArb).map(([v, j, e]) => `${v}${j}${e}`) },
  { weight: 2, arbitrary: fc.constantFrom('PING\r\n', 'PONG\r\n', 'ping\n', '+OK\r\n', 'INFO {}\r\n', 'PINGX\r\n') },
  { weight: 1, arbitrary: fc.constantFrom("-ERR 'x'\r\n", 'XYZ\r\n', 'MSG foo 1 2\r\nhi\r\n', 'RS+ foo\r\n', '\r\n', 'CONNECT {bad\r\n', 'INFO x\r\n', 'SUB foo\r\n', 'PUB foo\r\n', 'UNSUB 1 2 3\r\n') },
);
const prefix = fc.oneof(
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.oneof({ weight: 6, arbitrary: connectJsonUnique }, { weight: 1, arbitrary: connectJson }).map((j) => `CONNECT ${j}\r\n`) },
  { weight: 2, arbitrary: fc.constantFrom('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n', 'CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\n') },
);

/** one fuzz input: optional CONNECT, frames, optional mutations, a final PING */
export const diffInput: fc.Arbitrary<Buffer> = fc
  .tuple(prefix, fc.array(frame, { minLength: 1, maxLength: 8 }), fc.oneof({ weight: 3, arbitrary: fc.constant([] as Mutation[]) }, { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }))
  .map(([p, fs, muts]) => {
    const b = mutate(Buffer.from(p + fs.join(''), 'latin1'), muts);
    return Buffer.concat([b.subarray(0, MAX_INPUT - 6), Buffer.from('PING\r\n')]);
  });

interface LaneResult {
  lane: string;
  inputs: number;
  flaky: number;
  known: Map<string, number>;
  divergences: { input: Buffer; cuts: number[]; v: Verdict }[];
  unhealthyAfter?: Buffer;
}

const cutsArb = fc.array(fc.integer({ min: 1, max: MAX_INPUT }), { minLength: 1, maxLength: 3 });

async function runLane(lane: Lane, pair: ServerPair, inputs: Array<[Buffer, number[]]>, deadline: number): Promise<LaneResult> {
  const res: LaneResult = { lane: lane.name, inputs: 0, flaky: 0, known: new Map(), divergences: [] };
  for (let i = 0; i < inputs.length && Date.now() < deadline; i++) {
    const [input, rawCuts] = inputs[i]!;
    const cuts = lane.split ? rawCuts.map((c) => c % Math.max(1, input.length)) : [];
    const v = await compare(pair.reference, pair.tsnats, input, cuts);
    res.inputs++;
    if (v.flaky) res.flaky++;
    if (!v.same) {
      const k = KNOWN.find((x) => x.matches(input, v, lane.name));
      if (k) res.known.set(k.id, (res.known.get(k.id) ?? 0) + 1);
      else res.divergences.push({ input, cuts, v });
    }
    if (i % 25 === 24 || !v.same) {
      if (!(await healthy(pair.tsnats))) {
        res.unhealthyAfter = input;
        break;
      }
    }
  }
  return res;
}

it('differential fuzzing against nats-server 2.9.10', { timeout: 60 * 60_000 }, async (t) => {
  const seed = seedFromEnv();
  const perLane = Math.round(120 * fuzzFactor());
  const budgetMs = 15_000 * fuzzFactor();
  t.diagnostic(`seed ${seed} (FUZZ_SEED=${seed} to replay), up to ${perLane} inputs per lane, budget ${budgetMs} ms`);
  const pairs = await Promise.all(LANES.map((l) => startBoth(l.config ? ['-c', writeConfig(l.config)] : [])));
  let results: LaneResult[];
  try {
    const deadline = Date.now() + budgetMs;
    results = await Promise.all(
      LANES.map((lane, i) => runLane(lane, pairs[i]!, fc.sample(fc.tuple(diffInput, cutsArb), { seed: (seed + i * 7919) | 0, numRuns: perLane }), deadline)),
    );
    for (const p of pairs) {
      assert.equal(p.tsnats.proc.exitCode, null, `tsnats died: ${p.tsnats.stderr().slice(-2000)}`);
      assert.equal(p.reference.proc.exitCode, null, 'reference died');
    }
  } finally {
    await Promise.all(pairs.map((p) => p.stop()));
  }
  let total = 0;
  const findings: string[] = [];
  const dir = process.env.FUZZ_FINDINGS_DIR;
  if (dir) mkdirSync(dir, { recursive: true });
  for (const r of results) {
    total += r.inputs;
    const known = [...r.known].map(([k, n]) => `${k}×${n}`).join(', ');
    t.diagnostic(`lane ${r.lane}: ${r.inputs} inputs, ${r.flaky} needed a slow re-run, ${r.divergences.length} unknown divergences${known ? `, known: ${known}` : ''}`);
    recordCount(`differential (${r.lane})`, r.inputs, `${r.divergences.length} unknown divergences${known ? `; known: ${known}` : ''}`);
    if (r.unhealthyAfter) findings.push(`[${r.lane}] tsnats stopped answering after input ${JSON.stringify(r.unhealthyAfter.toString('latin1'))}`);
    r.divergences.forEach((d, i) => {
      findings.push(`[${r.lane}] ${describeDivergence(d.input, d.v, d.cuts)}`);
      if (dir) {
        writeFileSync(join(dir, `${r.lane}-${seed}-${i}.bin`), d.input);
        if (d.cuts.length) writeFileSync(join(dir, `${r.lane}-${seed}-${i}.cuts.json`), JSON.stringify(d.cuts));
      }
    });
  }
  assert.ok(total > 0, 'no input ran');
  assert.equal(findings.length, 0, `${findings.length} divergence(s) (seed ${seed}):\n${findings.slice(0, 10).join('\n')}`);
});
