// Model-based check of the subject index: random interleavings of inserts,
// removes, batch removes, weight changes and matches, run against sublists
// with a default cache, a tiny (constantly evicting) cache and no cache, and
// compared after every step with a linear scan over the live subscriptions.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Sublist } from '../../../src/subjects/sublist.js';
import { TSub, modelShape, shape } from './helpers.js';

const patternToken = fc.constantFrom('a', 'b', 'c', 'a*', '*', '*', '>');
// `>` is only legal last; elsewhere turn it into `*` so most patterns insert.
const pattern = fc
  .array(patternToken, { minLength: 1, maxLength: 4 })
  .map((t) => t.map((x, i) => (x === '>' && i !== t.length - 1 ? '*' : x)).join('.'));
const badPattern = fc.constantFrom('', 'a..b', 'a.', '.a', 'a.>.b', '>.*');
// Published subjects mostly use the pattern alphabet's literals; a `*`/`>`
// token in a published subject is compared as text, which the model shares.
const publishToken = fc.constantFrom('a', 'b', 'c', 'a', 'b', 'a*', '*', '>');
const subject = fc.oneof(
  { weight: 12, arbitrary: fc.array(publishToken, { minLength: 1, maxLength: 5 }).map((t) => t.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a..b', 'a.', '.a', '.') },
);
const queue = fc.oneof(fc.constant(null), fc.constant(null), fc.constantFrom('q1', 'q2', 'q3'));
const weight = fc.option(fc.integer({ min: 2, max: 3 }), { nil: undefined, freq: 3 });

type Op =
  | { k: 'insert'; pattern: string; queue: string | null; weight: number | undefined }
  | { k: 'insertBad'; pattern: string; queue: string | null }
  | { k: 'reinsert'; idx: number }
  | { k: 'remove'; idx: number }
  | { k: 'removeStranger'; pattern: string; queue: string | null }
  | { k: 'batch'; idxs: number[] }
  | { k: 'reweight'; idx: number; weight: number | undefined }
  | { k: 'match'; subject: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('insert' as const), pattern, queue, weight }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insertBad' as const), pattern: badPattern, queue }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reinsert' as const), idx: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('remove' as const), idx: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('removeStranger' as const), pattern, queue }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('batch' as const), idxs: fc.array(fc.nat(), { maxLength: 14 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reweight' as const), idx: fc.nat(), weight }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('match' as const), subject }) },
);

function checkAgainstModel(lists: Sublist<TSub>[], live: Set<TSub>, subj: string): void {
  const want = modelShape(live, subj);
  const interested = want.psubs.length > 0 || Object.keys(want.qsubs).length > 0;
  for (const sl of lists) {
    // hasInterest first, so it is exercised on cache misses too
    assert.equal(sl.hasInterest(subj), interested, `hasInterest(${JSON.stringify(subj)})`);
    assert.deepEqual(shape(sl.match(subj)), want, `match(${JSON.stringify(subj)})`);
    // a second lookup is a cache hit where there is a cache
    assert.deepEqual(shape(sl.match(subj)), want, `cached match(${JSON.stringify(subj)})`);
  }
}

describe('Sublist vs linear-scan model', () => {
  it('agrees on every step of random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const lists = [
          new Sublist<TSub>(),
          new Sublist<TSub>({ cacheSize: 3 }),
          new Sublist<TSub>({ cacheSize: 0 }),
        ];
        const live = new Set<TSub>();
        const ever: TSub[] = [];
        const pick = (idx: number): TSub | undefined => (ever.length === 0 ? undefined : ever[idx % ever.length]);

        for (const o of ops) {
          switch (o.k) {
            case 'insert': {
              const s = new TSub(o.pattern, o.queue, o.queue === null ? undefined : o.weight);
              for (const sl of lists) assert.equal(sl.insert(s), true, `insert ${o.pattern}`);
              live.add(s);
              ever.push(s);
              break;
            }
            case 'insertBad': {
              const s = new TSub(o.pattern, o.queue);
              for (const sl of lists) assert.equal(sl.insert(s), false, `insert bad ${JSON.stringify(o.pattern)}`);
              break;
            }
            case 'reinsert': {
              const s = pick(o.idx);
              if (s === undefined) break;
              for (const sl of lists) assert.equal(sl.insert(s), true);
              live.add(s);
              break;
            }
            case 'remove': {
              const s = pick(o.idx);
              if (s === undefined) break;
              const present = live.has(s);
              for (const sl of lists) assert.equal(sl.remove(s), present);
              live.delete(s);
              break;
            }
            case 'removeStranger': {
              const s = new TSub(o.pattern, o.queue);
              for (const sl of lists) assert.equal(sl.remove(s), false);
              break;
            }
            case 'batch': {
              const batch = o.idxs.map(pick).filter((s): s is TSub => s !== undefined);
              for (const sl of lists) sl.removeBatch(batch);
              for (const s of batch) live.delete(s);
              break;
            }
            case 'reweight': {
              const s = pick(o.idx);
              if (s === undefined || s.queue === null) break;
              s.queueWeight = o.weight;
              if (live.has(s)) for (const sl of lists) sl.updateRemoteQSub(s);
              break;
            }
            case 'match':
              checkAgainstModel(lists, live, o.subject);
              break;
          }
          for (const sl of lists) assert.equal(sl.count(), live.size);
        }

        for (const sl of lists) {
          assert.deepEqual(
            sl.all().map((s) => s.id).sort((a, b) => a - b),
            [...live].map((s) => s.id).sort((a, b) => a - b),
          );
          assert.ok(sl.cacheCount() <= (sl === lists[1] ? 3 : 1024));
          sl.removeBatch([...live]);
          assert.equal(sl.count(), 0);
          assert.deepEqual(sl.debugNodeCounts(), { nodes: 0, levels: 0 });
          assert.equal(shape(sl.match('a')).psubs.length, 0);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('Sublist.lastMatchKeyTokens', () => {
  // Client.matchSubject reuses a result for a subject that shares the first
  // lastMatchKeyTokens tokens and has as many tokens: that must be the result
  // the subject has.
  it('names a prefix that decides the result', () => {
    const tail = fc.array(publishToken, { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 0, maxLength: 12 }),
        fc.array(publishToken, { minLength: 1, maxLength: 5 }),
        tail,
        (patterns, toks, other) => {
          const sl = new Sublist<TSub>({ cacheSize: 0 });
          const live = new Set<TSub>();
          for (const p of patterns) {
            const s = new TSub(p, null);
            if (sl.insert(s)) live.add(s);
          }
          const subj = toks.join('.');
          sl.match(subj);
          const k = sl.lastMatchKeyTokens;
          assert.ok(k >= 0 && k <= toks.length, `k ${k} for ${subj}`);
          // 0: no literal level was looked at (an empty index), which callers read as "unknown"
          if (k === 0) return;
          const variant = [...toks.slice(0, k), ...other.slice(0, toks.length - k)].join('.');
          assert.deepEqual(modelShape(live, variant), modelShape(live, subj), `${subj} vs ${variant} (k ${k})`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is 0 after a cache hit or an invalid subject, and stops at the literal levels', () => {
    const sl = new Sublist<TSub>();
    sl.insert(new TSub('$JS.ACK.s.c.*.*.*.*.*', null));
    sl.insert(new TSub('$JS.API.>', null));
    sl.match('$JS.ACK.s.c.1.2.3.4.5');
    assert.equal(sl.lastMatchKeyTokens, 4);
    sl.match('$JS.ACK.s.c.1.2.3.4.5');
    assert.equal(sl.lastMatchKeyTokens, 0, 'cache hit: unknown');
    sl.match('a..b');
    assert.equal(sl.lastMatchKeyTokens, 0);
    // a literal subscription below the consumer level makes the next token count
    sl.insert(new TSub('$JS.ACK.s.c.1.>', null));
    sl.match('$JS.ACK.s.c.2.2.3.4.5');
    assert.equal(sl.lastMatchKeyTokens, 5);
  });
});
