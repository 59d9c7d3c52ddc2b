// Bit scans over a Uint8Array (bit i = byte i>>3, bit i&7). The file store
// keeps one bitmap per block saying which of the block's sequences hold a
// live message: one bit a sequence is all it keeps in memory for a block
// nobody reads (store/file.ts), and these scans answer "next live", "last
// live" and "how many" without loading the block's per-message columns.
// Bits past the array's end read as 0.

/** set bits in every byte value */
const POP = new Uint8Array(256);
for (let i = 1; i < 256; i++) POP[i] = (i & 1) + POP[i >> 1]!;

export function testBit(b: Uint8Array, i: number): boolean {
  const k = i >> 3;
  return k < b.length && (b[k]! & (1 << (i & 7))) !== 0;
}

/** the bitmap with bit i set: a new, larger array when i is past the end */
export function setBit(b: Uint8Array, i: number): Uint8Array {
  const k = i >> 3;
  if (k >= b.length) {
    const nb = new Uint8Array(Math.max(k + 1, b.length * 2, 16));
    nb.set(b);
    b = nb;
  }
  b[k]! |= 1 << (i & 7);
  return b;
}

export function clearBit(b: Uint8Array, i: number): void {
  const k = i >> 3;
  if (k < b.length) b[k]! &= ~(1 << (i & 7));
}

/** the first set bit in [from, to], -1 when none */
export function nextSet(b: Uint8Array, from: number, to: number): number {
  const max = b.length * 8 - 1;
  if (to > max) to = max;
  let i = from;
  while (i <= to) {
    const k = i >> 3;
    const v = b[k]! >> (i & 7);
    if (v === 0) {
      i = (k + 1) << 3;
      // whole empty bytes at once
      while (i <= to && b[i >> 3] === 0) i += 8;
      continue;
    }
    return i + 31 - Math.clz32(v & -v) <= to ? i + 31 - Math.clz32(v & -v) : -1;
  }
  return -1;
}

/** the last set bit in [from, to], -1 when none */
export function prevSet(b: Uint8Array, from: number, to: number): number {
  const max = b.length * 8 - 1;
  if (to > max) to = max;
  let i = to;
  while (i >= from) {
    const k = i >> 3;
    const v = b[k]! & ((2 << (i & 7)) - 1);
    if (v === 0) {
      i = (k << 3) - 1;
      while (i >= from && i >= 7 && b[i >> 3] === 0) i -= 8;
      continue;
    }
    const j = (k << 3) + 31 - Math.clz32(v);
    return j >= from ? j : -1;
  }
  return -1;
}

/** how many bits are set in [from, to] */
export function countSet(b: Uint8Array, from: number, to: number): number {
  const max = b.length * 8 - 1;
  if (to > max) to = max;
  let n = 0;
  let i = from;
  while (i <= to && (i & 7) !== 0) {
    if (b[i >> 3]! & (1 << (i & 7))) n++;
    i++;
  }
  while (i + 7 <= to) {
    n += POP[b[i >> 3]!]!;
    i += 8;
  }
  while (i <= to) {
    if (b[i >> 3]! & (1 << (i & 7))) n++;
    i++;
  }
  return n;
}
