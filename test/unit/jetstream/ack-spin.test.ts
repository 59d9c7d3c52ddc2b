// The brief busy-polling after PubAcks (src/jetstream/ack-spin.ts): it
// starts when acks go out, ends by itself once nothing re-arms it, and backs
// off when a poll comes late (the thread lost the CPU or a turn was long).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resetAckSpin, spinAfterAcks, spinState } from '../../../src/jetstream/ack-spin.js';

function turn(): Promise<void> {
  return new Promise((res) => setImmediate(res));
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // hold the event loop, as a long turn or a preempted thread does
  }
}

describe('ack spin', () => {
  it('polls after acks and stops by itself', async () => {
    resetAckSpin();
    spinAfterAcks();
    assert.equal(spinState().spinning, true);
    // a timer can only fire once the spin lets the loop sleep again
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(spinState().spinning, false);
  });

  it('backs off after a late poll, and acks during the back-off start no spin', async () => {
    await new Promise((res) => setTimeout(res, 5));
    resetAckSpin();
    spinAfterAcks();
    assert.equal(spinState().spinning, true);
    busy(5);
    await turn();
    await turn();
    assert.deepEqual(spinState(), { spinning: false, backingOff: true });
    spinAfterAcks();
    assert.equal(spinState().spinning, false);
  });
});
