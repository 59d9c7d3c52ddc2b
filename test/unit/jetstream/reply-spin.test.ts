// The brief busy-polling after JetStream replies (src/jetstream/reply-spin.ts): it
// starts when a reply goes out, ends by itself once nothing re-arms it, and backs
// off when a poll comes late (the thread lost the CPU or a turn was long).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resetReplySpin, spinAfterReply, spinState } from '../../../src/jetstream/reply-spin.js';

function turn(): Promise<void> {
  return new Promise((res) => setImmediate(res));
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // hold the event loop, as a long turn or a preempted thread does
  }
}

describe('reply spin', () => {
  it('polls after a reply and stops by itself', async () => {
    resetReplySpin();
    spinAfterReply();
    assert.equal(spinState().spinning, true);
    // a timer can only fire once the spin lets the loop sleep again
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(spinState().spinning, false);
  });

  it('backs off after a late poll, and replies during the back-off start no spin', async () => {
    await new Promise((res) => setTimeout(res, 5));
    resetReplySpin();
    spinAfterReply();
    assert.equal(spinState().spinning, true);
    busy(5);
    await turn();
    await turn();
    assert.deepEqual(spinState(), { spinning: false, backingOff: true });
    spinAfterReply();
    assert.equal(spinState().spinning, false);
  });
});
