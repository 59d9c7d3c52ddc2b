// Replays the fuzz corpus (test/fuzz/corpus/<lane>--<case>.bin): inputs near
// the edges of the protocol and inputs that once exposed a bug. Each goes
// through the parser properties (no throw, same events at every split) and
// the differential comparison with the reference, in the server
// configuration its lane names (test/fuzz/difflib.ts LANE_CONFIGS).
//
// corpus/pending/ holds the minimal inputs of open findings (tsnats and the
// reference still disagree; see docs/reliability.md "Open findings"). They
// are skipped unless FUZZ_PENDING=1; once a finding is fixed its files move
// up into corpus/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ProtocolParser, ParserKind, type ProtocolHandler } from '../../src/protocol/parser.js';
import { startBoth, writeConfig, type ServerPair } from '../helpers/servers.js';
import { LANE_CONFIGS, compare, describeDivergence } from './difflib.js';
import { crClean } from './gen.js';

const CORPUS = fileURLToPath(new URL('../../../test/fuzz/corpus/', import.meta.url));

function files(dir: string): { lane: string; name: string; input: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => ({ lane: f.split('--')[0]!, name: f, input: readFileSync(join(dir, f)) }));
}

/** events of a parse, split-independent (error details dropped) */
function events(chunks: Buffer[]): string[] {
  const ev: string[] = [];
  let size = 0;
  const h: ProtocolHandler = {
    onNoConnect: () => true,
    onControl: (op, b, s, e) => (ev.push(`${op} ${b.toString('latin1', s, e)}`), true),
    onMsgArgs: (op, b, s, e) => {
      const a = b.toString('latin1', s, e);
      ev.push(`${op} ${a}`);
      const last = a.split(/[ \t]+/).filter(Boolean).pop() ?? '';
      size = /^\d{1,6}$/.test(last) ? Number(last) : -1;
      return size;
    },
    onMsg: (b, s) => (ev.push(`payload ${b.toString('latin1', s, s + size)}`), true),
    onPing: () => (ev.push('PING'), true),
    onPong: () => (ev.push('PONG'), true),
    onParseError: (kind, _snip, _len, state) => void ev.push(`error ${kind} ${state}`),
  };
  const p = new ProtocolParser(h, ParserKind.CLIENT);
  for (const c of chunks) p.parse(c);
  return ev;
}

function runCorpus(dir: string, label: string, skip: boolean): void {
  const cases = files(dir);
  describe(label, { skip: skip ? 'pending findings: set FUZZ_PENDING=1 to run them' : false }, () => {
    const pairs = new Map<string, ServerPair>();
    before(async () => {
      for (const lane of new Set(cases.map((c) => c.lane))) {
        const conf = LANE_CONFIGS[lane];
        assert.ok(conf !== undefined, `unknown lane ${lane}`);
        pairs.set(lane, await startBoth(conf ? ['-c', writeConfig(conf)] : []));
      }
    });
    after(async () => {
      await Promise.all([...pairs.values()].map((p) => p.stop()));
    });
    it('has cases', () => assert.ok(cases.length > 0, `no .bin files in ${dir}`));
    for (const c of cases) {
      it(c.name, async () => {
        const whole = events([Buffer.from(c.input)]);
        if (crClean(c.input)) {
          for (let i = 1; i < c.input.length; i++) {
            assert.deepEqual(events([Buffer.from(c.input.subarray(0, i)), Buffer.from(c.input.subarray(i))]), whole, `split at ${i}`);
          }
        }
        const pair = pairs.get(c.lane)!;
        const v = await compare(pair.reference, pair.tsnats, c.input);
        assert.ok(v.same, describeDivergence(c.input, v));
      });
    }
  });
}

runCorpus(CORPUS, 'fuzz corpus: tsnats answers like the reference', false);
// no open findings means no pending/ folder (git keeps no empty folders)
const PENDING = join(CORPUS, 'pending');
if (files(PENDING).length > 0) runCorpus(PENDING, 'fuzz corpus, open findings', process.env.FUZZ_PENDING !== '1');
