// The brief busy-polling after JetStream replies (src/jetstream/reply-spin.ts): it
// starts when a reply goes out, ends by itself once nothing re-arms it, and backs
// off when a poll comes late because the process lost the CPU, not when a turn
// was long or the GC ran (the CPU was busy then).

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { resetReplySpin, spinAfterReply, spinClock, spinState } from '../../../src/jetstream/reply-spin.js';

function turn(): Promise<void> {
  return new Promise((res) => setImmediate(res));
}

const real = { ...spinClock };

/** Clocks the test moves by hand: wall and CPU time in ms. */
function fakeClocks(): { wall: number; cpu: number } {
  const t = { wall: 1000, cpu: 100 };
  spinClock.wall = () => t.wall;
  spinClock.cpu = () => t.cpu;
  return t;
}

describe('reply spin', () => {
  after(() => Object.assign(spinClock, real));

  it('polls after a reply and stops by itself', async () => {
    Object.assign(spinClock, real);
    resetReplySpin();
    spinAfterReply();
    assert.equal(spinState().spinning, true);
    // a timer can only fire once the spin lets the loop sleep again
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(spinState().spinning, false);
  });

  it('keeps polling while replies keep coming, stops SPIN_MS after the last', async () => {
    const t = fakeClocks();
    resetReplySpin();
    await turn();
    spinAfterReply();
    for (let i = 0; i < 20; i++) {
      t.wall += 0.1;
      t.cpu += 0.1;
      if (i % 2 === 0) spinAfterReply();
      await turn();
      assert.equal(spinState().spinning, true, `poll ${i}`);
    }
    t.wall += 0.15;
    t.cpu += 0.15;
    await turn();
    t.wall += 0.15;
    t.cpu += 0.15;
    await turn();
    await turn();
    assert.deepEqual(spinState(), { spinning: false, backingOff: false });
  });

  it('a late poll with the CPU busy (long turn, GC) is no reason to back off', async () => {
    const t = fakeClocks();
    resetReplySpin();
    await turn();
    spinAfterReply();
    t.wall += 0.1;
    t.cpu += 0.1;
    spinAfterReply();
    // 5 ms of work between two polls
    t.wall += 5;
    t.cpu += 5;
    spinAfterReply();
    await turn();
    await turn();
    assert.equal(spinState().backingOff, false);
    assert.equal(spinState().spinning, true);
  });

  it('a late poll without CPU (another process ran) backs off; replies then start no spin', async () => {
    const t = fakeClocks();
    resetReplySpin();
    await turn();
    spinAfterReply();
    t.wall += 0.1;
    t.cpu += 0.1;
    spinAfterReply();
    // preempted for 3 ms: wall time passes, the process gets no CPU
    t.wall += 3;
    await turn();
    await turn();
    assert.deepEqual(spinState(), { spinning: false, backingOff: true });
    spinAfterReply();
    assert.equal(spinState().spinning, false);
    // the back-off ends
    t.wall += 600;
    spinAfterReply();
    assert.equal(spinState().spinning, true);
    t.wall += 1;
    t.cpu += 1;
    await turn();
    await turn();
  });
});

describe('reply spin, batches', () => {
  it('a commit answering many requests at once (async publishers) starts no spin', async () => {
    Object.assign(spinClock, real);
    resetReplySpin();
    await turn();
    spinAfterReply(500);
    assert.equal(spinState().spinning, false);
    spinAfterReply(1);
    assert.equal(spinState().spinning, true);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(spinState().spinning, false);
  });
});
