import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeqList } from '../../../src/jetstream/store/seqlist.js';

describe('SeqList', () => {
  it('matches a sorted array under random appends and removals', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let next = 1000;
    const l = new SeqList(next);
    const model = [next];
    for (let i = 0; i < 20000; i++) {
      const op = rnd(10);
      if (op < 6 || model.length === 0) {
        next += 1 + rnd(3);
        l.push(next);
        model.push(next);
      } else {
        const pick = op === 6 ? model[0]! : op === 7 ? model[model.length - 1]! : model[rnd(model.length)]!;
        const victim = rnd(10) === 0 ? pick + 1 : pick;
        const want = model.indexOf(victim);
        assert.equal(l.remove(victim), want >= 0);
        if (want >= 0) model.splice(want, 1);
      }
      assert.equal(l.length, model.length);
      if (model.length > 0) {
        assert.equal(l.first(), model[0]);
        assert.equal(l.last(), model[model.length - 1]);
        const probe = model[0]! + rnd(next - model[0]! + 2);
        const lb = model.findIndex((s) => s >= probe);
        assert.equal(l.lowerBound(probe), lb < 0 ? model.length : lb);
      }
    }
    for (let i = 0; i < model.length; i += 97) assert.equal(l.at(i), model[i]);
  });

  it('keeps sequences more than 2^32 apart', () => {
    const l = new SeqList(5);
    l.push(6);
    l.push(2 ** 33);
    l.push(2 ** 33 + 1);
    assert.equal(l.length, 4);
    assert.equal(l.first(), 5);
    assert.equal(l.last(), 2 ** 33 + 1);
    assert.equal(l.lowerBound(7), 2);
    assert.equal(l.remove(2 ** 33), true);
    assert.equal(l.at(2), 2 ** 33 + 1);
  });
});
