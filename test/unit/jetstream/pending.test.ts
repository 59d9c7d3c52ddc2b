// PendingSet (a consumer's pending messages) against a Map model: random
// deliveries, redeliveries, acks in and out of order, time updates, far
// outliers that switch it to its Map mode and back, clears.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingSet } from '../../../src/jetstream/pending.js';

describe('PendingSet', () => {
  it('answers as a Map of seq -> [dseq, ts] over random operations', () => {
    let seed = 7;
    const rnd = (k: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let run = 0; run < 40; run++) {
      const ps = new PendingSet();
      const model = new Map<number, [number, number]>();
      let next = 1 + rnd(1000);
      let dseq = 1;
      const check = (what: string): void => {
        assert.equal(ps.size, model.size, what);
        const keys = [...model.keys()].sort((a, b) => a - b);
        assert.deepEqual([...ps.seqs()].sort((a, b) => a - b), keys, what);
        for (const k of keys) {
          assert.equal(ps.has(k), true, `${what}: has ${k}`);
          assert.equal(ps.dseq(k), model.get(k)![0], `${what}: dseq ${k}`);
          assert.equal(ps.ts(k), model.get(k)![1], `${what}: ts ${k}`);
        }
        const probe = keys.length > 0 ? keys[rnd(keys.length)]! + rnd(3) - 1 : next;
        assert.equal(ps.has(probe), model.has(probe), `${what}: has ${probe}`);
        if (!model.has(probe)) assert.equal(ps.dseq(probe), -1);
        const from = probe - 1 - rnd(5);
        const above = keys.filter((k) => k > from);
        // the consumer's next sequence to deliver bounds what is pending
        const below = keys.length > 0 ? keys[keys.length - 1]! + 1 + rnd(3) : next + 1;
        assert.equal(ps.lowestAbove(from, below), above.length > 0 ? above[0]! : 0, `${what}: lowestAbove ${from}`);
      };
      for (let step = 0; step < 600; step++) {
        const op = rnd(100);
        if (op < 45) {
          // a delivery of the next message (sometimes skipping some: a filter)
          next += rnd(10) === 0 ? 1 + rnd(20) : 1;
          const ts = 1e18 + step;
          ps.track(next, dseq, ts);
          if (!model.has(next)) model.set(next, [dseq, ts]);
          else model.get(next)![1] = ts;
          dseq++;
        } else if (op < 50 && model.size > 0) {
          // a redelivery: the time changes, the delivery sequence stays
          const keys = [...model.keys()];
          const k = keys[rnd(keys.length)]!;
          ps.track(k, 999999, 5 + step);
          model.get(k)![1] = 5 + step;
        } else if (op < 80 && model.size > 0) {
          // an ack, mostly of the oldest
          const keys = [...model.keys()].sort((a, b) => a - b);
          const k = rnd(3) === 0 ? keys[rnd(keys.length)]! : keys[0]!;
          assert.equal(ps.delete(k), true);
          model.delete(k);
          assert.equal(ps.delete(k), false);
        } else if (op < 85 && model.size > 0) {
          const keys = [...model.keys()];
          const k = keys[rnd(keys.length)]!;
          ps.setTs(k, 77 + step);
          model.get(k)![1] = 77 + step;
        } else if (op < 88) {
          // far ahead or far behind: the ring gives way to a Map
          const far = rnd(2) === 0 ? next + 100000 + rnd(1000) : Math.max(1, next - 200000 - rnd(1000));
          if (!model.has(far)) {
            ps.add(far, dseq, 3);
            model.set(far, [dseq, 3]);
            dseq++;
          }
        } else if (op < 89) {
          ps.clear();
          model.clear();
        } else if (op < 92) {
          // drain all, in random order
          for (const k of [...model.keys()].sort(() => rnd(3) - 1)) {
            ps.delete(k);
            model.delete(k);
          }
        }
        if (step % 7 === 0) check(`run ${run} step ${step}`);
      }
      check(`run ${run} end`);
    }
  });

  it('grows past its first ring for a long run of unacknowledged deliveries', () => {
    const ps = new PendingSet();
    for (let s = 1; s <= 20000; s++) ps.track(s, s, s * 10);
    assert.equal(ps.size, 20000);
    assert.equal(ps.dseq(12345), 12345);
    assert.equal(ps.ts(20000), 200000);
    for (let s = 1; s <= 19990; s++) assert.equal(ps.delete(s), true);
    assert.deepEqual(ps.seqs(), [19991, 19992, 19993, 19994, 19995, 19996, 19997, 19998, 19999, 20000]);
    assert.equal(ps.lowestAbove(0, 20001), 19991);
  });
});
