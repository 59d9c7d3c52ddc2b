// The record checksum (store/crc32.ts): crc32Is, the check of every message
// read from disk, must agree with crc32 (and with a bit-at-a-time CRC-32)
// for every length and for checksums on both sides of the Smi range.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, crc32Is } from '../../../src/jetstream/store/crc32.js';

function slowCrc(b: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= b[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32Is', () => {
  it('accepts the checksum stored after the bytes and rejects any other', () => {
    let x = 0x2545f491;
    const rnd = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    let high = 0;
    let low = 0;
    // lengths around the 8-byte loop and the native path (512 bytes)
    const lengths = [0, 1, 7, 8, 9, 15, 16, 17, 100, 128, 511, 512, 513, 4096];
    for (const len of lengths) {
      for (let r = 0; r < 40; r++) {
        const start = rnd() % 5;
        const buf = Buffer.alloc(start + len + 4 + 3);
        for (let i = 0; i < buf.length; i++) buf[i] = rnd() & 0xff;
        const end = start + len;
        const sum = crc32(buf, start, end);
        assert.equal(sum, slowCrc(buf, start, end), `crc32 of ${len} bytes`);
        if (sum >= 2 ** 30) high++;
        else low++;
        buf.writeUInt32LE(sum, end);
        assert.equal(crc32Is(buf, start, end, end), true, `${len} bytes, checksum ${sum}`);
        // one bit off, in the checksum or in the bytes
        const bit = 1 << (rnd() % 8);
        buf[end + (rnd() % 4)]! ^= bit;
        assert.equal(crc32Is(buf, start, end, end), false, `${len} bytes, checksum changed`);
        buf.writeUInt32LE(sum, end);
        if (len > 0) {
          buf[start + (rnd() % len)]! ^= bit;
          assert.equal(crc32Is(buf, start, end, end), false, `${len} bytes, a byte changed`);
        }
      }
    }
    // both sides of the Smi range were compared
    assert.ok(high > 50 && low > 50, `high ${high} low ${low}`);
  });
});
