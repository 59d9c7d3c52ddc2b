import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbound, returnSlabs } from '../../../src/client/outbound.js';

function frame(i: number): Buffer {
  return Buffer.from(`MSG foo.${i} ${i} ${i % 300}\r\n${'x'.repeat(i % 300)}\r\n`, 'latin1');
}

function stage(out: Outbound, from: number, to: number, expect: Buffer[]): void {
  for (let i = from; i < to; i++) {
    const f = frame(i);
    if (i % 3 === 0) out.append(f);
    else {
      const dst = out.reserve(f.length);
      f.copy(dst, out.pos);
      out.commit(f.length);
    }
    expect.push(f);
  }
}

test('drain hands out everything staged, in order, across slabs', () => {
  const out = new Outbound();
  const expect: Buffer[] = [];
  stage(out, 0, 2000, expect);
  const got: Buffer[] = [];
  const n = out.drain((b) => got.push(Buffer.from(b)));
  assert.equal(n, Buffer.concat(expect).length);
  assert.deepEqual(Buffer.concat(got), Buffer.concat(expect));
  assert.equal(out.staged, 0);
});

test('without recycle, drained views are never overwritten by later frames', () => {
  const out = new Outbound();
  const views: Buffer[] = [];
  const expect: Buffer[] = [];
  for (let round = 0; round < 5; round++) {
    stage(out, round * 700, (round + 1) * 700, expect);
    out.drain((b) => views.push(b)); // kept by reference, as a socket with pending writes does
    out.release();
  }
  assert.deepEqual(Buffer.concat(views), Buffer.concat(expect));
});

test('recycle reuses the slabs once the socket consumed them', () => {
  const out = new Outbound();
  const written: Buffer[] = [];
  const expect: Buffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  let reused = 0;
  for (let round = 0; round < 5; round++) {
    stage(out, round * 700, (round + 1) * 700, expect);
    const now: ArrayBufferLike[] = [];
    out.drain((b) => {
      if (seen.has(b.buffer)) reused++;
      now.push(b.buffer);
      written.push(Buffer.from(b)); // the kernel's copy
    });
    for (const ab of now) seen.add(ab);
    out.recycle();
  }
  assert.deepEqual(Buffer.concat(written), Buffer.concat(expect));
  assert.ok(reused > 0, 'a slab was written into again after recycle');
});

test('a small flush recycled rewinds the slab', () => {
  const out = new Outbound();
  out.append(Buffer.from('PONG\r\n'));
  let a: Buffer | null = null;
  out.drain((b) => (a = b));
  out.recycle();
  out.append(Buffer.from('PING\r\n'));
  let b: Buffer | null = null;
  out.drain((x) => (b = x));
  assert.equal(a!.buffer, b!.buffer);
  assert.equal(a!.byteOffset, b!.byteOffset);
  assert.equal(b!.toString(), 'PING\r\n');
});

test('backed up: slabs taken with takeSpent are not reused before returnSlabs, and are after', () => {
  const out = new Outbound();
  const expect: Buffer[] = [];
  // views the "socket" still holds, and their bytes at the time of the write
  const held: Buffer[] = [];
  const copies: Buffer[] = [];
  const inflight: Buffer[][] = [];
  for (let round = 0; round < 6; round++) {
    stage(out, round * 700, (round + 1) * 700, expect);
    out.drain((b) => {
      held.push(b);
      copies.push(Buffer.from(b));
    });
    const spent = out.takeSpent();
    if (spent !== null) inflight.push(spent);
  }
  assert.ok(inflight.length > 0, 'full slabs were handed over');
  // nothing written since was put over a view the socket still holds
  assert.deepEqual(Buffer.concat(held), Buffer.concat(copies));
  assert.deepEqual(Buffer.concat(copies), Buffer.concat(expect));
  const given = new Set<ArrayBufferLike>();
  for (const s of inflight) for (const slab of s) given.add(slab.buffer);
  // the socket wrote them: back to the pool, and the next full-size slabs come from there
  for (const s of inflight) returnSlabs(s);
  const next = new Outbound();
  const seen: ArrayBufferLike[] = [];
  stage(next, 0, 3000, []);
  next.drain((b) => seen.push(b.buffer));
  assert.ok(seen.some((ab) => given.has(ab)), 'a returned slab was used again');
});
