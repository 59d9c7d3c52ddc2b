// The timestamp in a delivered message's ack subject (consumer.ts putNs):
// the exact integer value of the stored nanoseconds, as BigInt prints it,
// for the timestamps the stores make and for any integer double.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putNs } from '../../../src/jetstream/consumer.js';

const buf = Buffer.alloc(64);

function digits(ts: number): string {
  const end = putNs(buf, 3, { ts });
  return buf.toString('latin1', 3, end);
}

function exact(ts: number): string {
  return BigInt(ts).toString();
}

describe('ack subject timestamp', () => {
  it('prints store timestamps exactly', () => {
    // as nowNs makes them: ms * 1e6, then +1000 per message within the ms
    let ts = Date.now() * 1e6;
    for (let i = 0; i < 200_000; i++) {
      assert.equal(digits(ts), exact(ts));
      ts = i % 97 === 0 ? (Date.now() + i) * 1e6 : ts + 1000;
    }
  });

  it('prints any integer double exactly, and it parses back to the same number', () => {
    let x = 0x9e3779b9;
    const rnd = (): number => {
      // xorshift32: reproducible
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const cases: number[] = [0, 1, 9, 10, 999_999_999, 1e9, 1e9 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 2 ** 63];
    for (let k = 1; k < 5000; k++) cases.push(k * 1e9, k * 1e9 - 1, k * 1e9 + 1);
    for (let i = 0; i < 100_000; i++) cases.push(Math.floor(rnd() * 2 ** (10 + Math.floor(rnd() * 53))) * 2 ** Math.floor(rnd() * 11));
    // around the fast path's end (seconds 2^32) and past it
    for (let i = -3; i <= 3; i++) cases.push(2 ** 32 * 1e9 + i * 2 ** 20);
    for (const ts of cases) {
      const d = digits(ts);
      assert.equal(d, exact(ts), `ts ${ts}`);
      assert.equal(Number(d), ts);
    }
  });

  it('writes at the position given and returns the end', () => {
    buf.fill(0x2e);
    const end = putNs(buf, 5, { ts: 1_765_000_000_123_456_768 });
    assert.equal(end, 5 + 19);
    assert.equal(buf.toString('latin1', 4, end + 1), '.1765000000123456768.');
  });
});
