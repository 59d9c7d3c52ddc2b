// CRC-32 (IEEE, the zlib one) for record checksums. Short records (most
// messages) are done here, slicing-by-8 over 8 tables; long ones go to
// node:zlib's native crc32 when this Node has it (20.15+, 22+), where the
// per-call cost is repaid.

import * as zlib from 'node:zlib';

const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let t = 1; t < 8; t++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[t * 256 + n] = c;
  }
}

const nativeCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const NATIVE_MIN = 512;

export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  if (nativeCrc !== undefined && end - start >= NATIVE_MIN) return nativeCrc(buf.subarray(start, end), 0) >>> 0;
  return crc32js(buf, start, end);
}

export function crc32js(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Whether crc32(buf, start, end) is the u32 (little endian) at buf[at]:
 * the check of every message read from disk. Compared here, in int32,
 * because a 32-bit result returned from a call V8 does not inline is a
 * HeapNumber whenever it is past the Smi range (2^30), half of all
 * checksums: crc32's result and the stored one read with readUInt32LE were
 * ~16 B of garbage per message read (BENCHMARKS.md, "Session 9"). The
 * loop is crc32js's on purpose: the two sharing one int32 helper put
 * 2.5 B/msg back (26.7 -> 29.3 B per message read, read-alloc.mjs alloc,
 * 300 k messages), its result boxed on return just the same.
 */
export function crc32Is(buf: Uint8Array, start: number, end: number, at: number): boolean {
  const want = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
  if (nativeCrc !== undefined && end - start >= NATIVE_MIN) return (nativeCrc(buf.subarray(start, end), 0) | 0) === want;
  let c = -1;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c === want;
}
