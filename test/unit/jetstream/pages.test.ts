// Large store buffers on pages of their own (src/jetstream/store/pages.ts):
// they are ordinary Buffers, zero-filled, of the length asked for; freeing
// them does not leave glibc's heap grown; and where the address space is
// limited the store still gets its buffers (from malloc).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PAGED_MIN, pagedArrayBuffer, pagedBuffer, pagingOn } from '../../../src/jetstream/store/pages.js';

/** the heap test measures what glibc's malloc does (Node's report names its runtime glibc) */
const glibc = process.platform === 'linux' && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime);

const PAGES_JS = fileURLToPath(new URL('../../../src/jetstream/store/pages.js', import.meta.url));

/** runs an ES module script in a fresh node (optionally under `ulimit -v`), returns its JSON line */
function child(script: string, ulimitKiB = 0): Record<string, unknown> {
  const code = `import * as P from ${JSON.stringify(PAGES_JS)};\n${script}`;
  const cmd = `${ulimitKiB > 0 ? `ulimit -v ${ulimitKiB}; ` : ''}exec "$0" --expose-gc --input-type=module -e "$1"`;
  const r = spawnSync('/bin/sh', ['-c', cmd, process.execPath, code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('paged store buffers', () => {
  it('are Buffers of the asked length, zero-filled, with ordinary element access', () => {
    assert.ok(pagingOn());
    for (const n of [PAGED_MIN, PAGED_MIN + 1, 4 * 1024 * 1024 - 7]) {
      const b = pagedBuffer(n);
      assert.ok(Buffer.isBuffer(b));
      assert.equal(b.length, n);
      // whole WebAssembly pages behind it, not a malloc'd ArrayBuffer of n bytes
      assert.equal(b.buffer.byteLength % 65536, 0);
      assert.ok(b.buffer.byteLength >= n);
      assert.equal(b.indexOf(1), -1);
      b.writeUInt32LE(0xdeadbeef, n - 4);
      assert.equal(b.readUInt32LE(n - 4), 0xdeadbeef);
      const c = Buffer.alloc(8);
      b.copy(c, 0, n - 8, n);
      assert.deepEqual([...c.subarray(4)], [0xef, 0xbe, 0xad, 0xde]);
    }
    const f = new Float64Array(pagedArrayBuffer(PAGED_MIN * 2), 0, PAGED_MIN / 4);
    f[f.length - 1] = 1.5;
    assert.equal(f[f.length - 1], 1.5);
  });

  it('leave small requests to malloc, at their exact size', () => {
    const b = pagedBuffer(1000);
    assert.equal(b.length, 1000);
    assert.equal(pagedArrayBuffer(PAGED_MIN - 1).byteLength, PAGED_MIN - 1);
  });

  it('freed, do not leave the C heap grown (a malloc-served 4 MiB block would)', { skip: !glibc && 'measures glibc heap behaviour' }, () => {
    // Each round: a block buffer filled and dropped, then small buffers that
    // stay (as a store's index and messages do), so that a heap-served block
    // could not simply be handed back from the heap's top.
    const script = (alloc: string) => `
      import { readFileSync } from 'node:fs';
      const heapKiB = () => { let kib = 0, inHeap = false;
        for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
          if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) inHeap = l.trimEnd().endsWith('[heap]');
          else if (inHeap && l.startsWith('Rss:')) kib += Number(l.split(/\\s+/)[1]);
        }
        return kib; };
      // glibc serves 128 KiB+ from its heap once a mapping that size was freed
      { let b = Buffer.allocUnsafeSlow(8 << 20); b.fill(1); b = null; globalThis.gc(); }
      const before = heapKiB();
      const keep = [];
      for (let i = 0; i < 40; i++) {
        let b = ${alloc}(4 << 20); b.fill(2); b = null;
        for (let k = 0; k < 40; k++) keep.push(Buffer.allocUnsafeSlow(2048).fill(3));
        globalThis.gc();
      }
      console.log(JSON.stringify({ grownKiB: heapKiB() - before, kept: keep.length }));`;
    const paged = child(script('P.pagedBuffer'));
    const malloced = child(script('Buffer.allocUnsafeSlow'));
    assert.equal(paged.kept, 1600);
    // 1,600 small buffers of 2 KiB: ~3.2 MiB of the heap is theirs either way
    assert.ok((paged.grownKiB as number) < 5 * 1024, `paged: heap grew ${paged.grownKiB} KiB`);
    // the control: what the paged buffers avoid (if glibc ever stops doing
    // this, the first assertion no longer proves anything)
    assert.ok((malloced.grownKiB as number) > (paged.grownKiB as number) + 3 * 1024, `malloc: heap grew ${malloced.grownKiB} KiB, paged ${paged.grownKiB}`);
  });

  it('fall back to malloc where the address space is limited (ulimit -v)', { skip: process.platform !== 'linux' }, () => {
    const r = child(
      `const b = P.pagedBuffer(4 << 20); b.fill(7);
       const c = P.pagedBuffer(1 << 20);
       console.log(JSON.stringify({ on: P.pagingOn(), len: b.length, last: b[b.length - 1], c: c.length, wasm: b.buffer.byteLength !== b.length }));`,
      4 * 1024 * 1024,
    );
    assert.deepEqual(r, { on: false, len: 4 << 20, last: 7, c: 1 << 20, wasm: false });
  });
});
