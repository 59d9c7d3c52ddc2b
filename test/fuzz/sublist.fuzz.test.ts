// Subject matching fuzzed against a linear-scan model, complementing
// test/unit/subjects/sublist.property.test.ts (which checks small operation
// sequences step by step): here larger populations — up to a few hundred
// plain and queue subscriptions over a wider alphabet, deeper subjects and
// weighted queue members — and, on top of the member sets, the ORDER of the
// plain subscriptions, which decides delivery order on a connection.
//
// Order model (server/sublist.go matchLevel): walking the subject's tokens,
// a level contributes its `>` node first, then the `*` subtree, then the
// literal subtree; at the last token the literal node comes before `*`. So
// the matching patterns come out sorted by a per-token rank — `>` 0, `*` 1,
// literal 2 (last token: `>` 0, literal 1, `*` 2) — with each pattern's
// subscriptions together.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sublist, type SubLike } from '../../src/subjects/sublist.js';
import { fcParams } from './gen.js';
import { recordCount } from './stats.js';

let nextId = 1;
class Sub implements SubLike {
  readonly id = nextId++;
  constructor(
    readonly subject: string,
    readonly queue: string | null,
    public queueWeight?: number,
  ) {}
}

function matches(pattern: string, subject: string): boolean {
  const st = subject.split('.');
  if (st.some((t) => t.length === 0)) return false;
  const pt = pattern.split('.');
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === '>') return st.length > i;
    if (i >= st.length) return false;
    if (pt[i] !== '*' && pt[i] !== st[i]) return false;
  }
  return st.length === pt.length;
}

function rankKey(pattern: string, subjectTokens: number): number[] {
  const pt = pattern.split('.');
  return pt.map((t, i) => {
    if (t === '>') return 0;
    const last = i === subjectTokens - 1;
    if (t === '*') return last ? 2 : 1;
    return last ? 1 : 2;
  });
}

function cmpKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const lit = fc.constantFrom('a', 'b', 'c', 'd', 'foo', 'bar', 'a*', 'é', '$G', '_INBOX', 'x-y');
const patTok = fc.oneof({ weight: 5, arbitrary: lit }, { weight: 2, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: fc.constant('>') });
const pattern = fc
  .array(patTok, { minLength: 1, maxLength: 6 })
  .map((ts) => ts.map((t, i) => (t === '>' && i !== ts.length - 1 ? '*' : t)).join('.'));
const subject = fc.oneof(
  { weight: 20, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: lit }, { weight: 1, arbitrary: fc.constantFrom('*', '>') }), { minLength: 1, maxLength: 7 }).map((t) => t.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', 'a.', '.a', 'a..b') },
);
const queue = fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('q1', 'q2', 'q3', 'workers') });

type Step = { k: 'add'; pattern: string; queue: string | null; weight: number } | { k: 'del'; idx: number } | { k: 'match'; subject: string };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('add' as const), pattern, queue, weight: fc.constantFrom(1, 1, 1, 2, 5) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('del' as const), idx: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('match' as const), subject }) },
);

function check(sl: Sublist<Sub>, live: Sub[], subj: string, label: string): void {
  const r = sl.match(subj);
  const want = live.filter((s) => matches(s.subject, subj));
  // plain subscriptions: same members
  const wantP = want.filter((s) => s.queue === null);
  assert.deepEqual(r.psubs.map((s) => s.id).sort((a, b) => a - b), wantP.map((s) => s.id).sort((a, b) => a - b), `${label}: psubs of ${JSON.stringify(subj)}`);
  // ... in trie-walk order, grouped by pattern
  const n = subj.split('.').length;
  const order = [...new Set(wantP.map((s) => s.subject))].sort((a, b) => cmpKeys(rankKey(a, n), rankKey(b, n)));
  const got: string[] = [];
  for (const s of r.psubs) if (got[got.length - 1] !== s.subject) got.push(s.subject);
  assert.deepEqual(got, order, `${label}: psub order for ${JSON.stringify(subj)}`);
  // queue groups: each matching group once, every member with its weight
  const wantQ = new Map<string, number[]>();
  for (const s of want) {
    if (s.queue === null) continue;
    const g = wantQ.get(s.queue) ?? [];
    for (let k = 0; k < Math.max(1, s.queueWeight ?? 1); k++) g.push(s.id);
    wantQ.set(s.queue, g);
  }
  const gotQ = new Map<string, number[]>();
  for (const g of r.qsubs) {
    assert.ok(g.length > 0, 'empty queue group');
    const name = g[0]!.queue!;
    assert.ok(!gotQ.has(name), `${label}: group ${name} twice`);
    assert.ok(g.every((s) => s.queue === name), `${label}: mixed group ${name}`);
    gotQ.set(name, g.map((s) => s.id).sort((a, b) => a - b));
  }
  for (const g of wantQ.values()) g.sort((a, b) => a - b);
  assert.deepEqual(gotQ, wantQ, `${label}: queue groups for ${JSON.stringify(subj)}`);
  assert.equal(sl.hasInterest(subj), want.length > 0, `${label}: hasInterest(${JSON.stringify(subj)})`);
}

it('sublist: members, order and queue groups against a linear scan', () => {
  let inputs = 0;
  let matchesChecked = 0;
  fc.assert(
    fc.property(
      fc.array(pattern, { minLength: 0, maxLength: 150, size: 'large' }),
      fc.array(step, { minLength: 1, maxLength: 120, size: 'large' }),
      (initial, steps) => {
        inputs++;
        const lists = [new Sublist<Sub>(), new Sublist<Sub>({ cacheSize: 4 }), new Sublist<Sub>({ cacheSize: 0 })];
        const live: Sub[] = [];
        for (const p of initial) {
          const s = new Sub(p, null);
          for (const sl of lists) assert.equal(sl.insert(s), true);
          live.push(s);
        }
        for (const st of steps) {
          if (st.k === 'add') {
            const s = new Sub(st.pattern, st.queue, st.queue === null ? undefined : st.weight);
            for (const sl of lists) assert.equal(sl.insert(s), true);
            live.push(s);
          } else if (st.k === 'del') {
            if (live.length === 0) continue;
            const [s] = live.splice(st.idx % live.length, 1);
            for (const sl of lists) assert.equal(sl.remove(s!), true);
          } else {
            matchesChecked++;
            lists.forEach((sl, i) => {
              check(sl, live, st.subject, `list ${i}`);
              check(sl, live, st.subject, `list ${i} (again)`);
            });
          }
        }
        // every pattern in use matches itself when it is a literal
        for (const s of live.slice(0, 10)) lists.forEach((sl, i) => check(sl, live, s.subject, `list ${i} self`));
        for (const sl of lists) assert.equal(sl.count(), live.length);
      },
    ),
    fcParams(250),
  );
  recordCount('sublist (vs linear scan, with order and queue groups)', inputs, `${matchesChecked} match steps`);
});
