// The file store's lazy per-block index: only a few blocks' per-message
// columns stay loaded, and subjects with many messages keep count and
// bounds only. Checked against the memory store (the dense index) under the
// same operations, with blocks small enough that nearly every query reaches
// a block whose columns were evicted, and across restarts.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../src/jetstream/store/file.js';
import { MemoryStore } from '../../../src/jetstream/store/memory.js';
import type { StoreConfig, StreamStore } from '../../../src/jetstream/store/types.js';
import { flushed, storeConfig } from '../../helpers/store.js';

const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-fslazy-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

const cfg: StoreConfig = storeConfig({ name: 'L' });

const BLOCK = 1024;


function rng(seed: number): (n: number) => number {
  return (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % k;
  };
}

/** everything a client can ask, the same on both stores */
function assertSame(f: StreamStore, m: StreamStore, rnd: (n: number) => number, what: string): void {
  const fs1 = f.state();
  const ms1 = m.state();
  // timestamps and accounted sizes differ between the stores
  assert.deepEqual({ ...fs1, firstTs: 0, lastTs: 0, bytes: 0 }, { ...ms1, firstTs: 0, lastTs: 0, bytes: 0 }, `${what}: state`);
  let bytes = 0;
  for (let x = m.loadNextMsg('', 0); x !== null; x = m.loadNextMsg('', x.seq + 1)) bytes += 30 + x.subject.length + x.data.length;
  assert.equal(fs1.bytes, bytes, `${what}: bytes`);
  assert.deepEqual(f.deletedSeqs(), m.deletedSeqs(), `${what}: deleted`);
  assert.deepEqual([...f.subjectsState('')].sort(), [...m.subjectsState('')].sort(), `${what}: subjects state`);
  assert.deepEqual([...f.subjectsTotals('s.*')].sort(), [...m.subjectsTotals('s.*')].sort(), `${what}: totals`);
  const lo = Math.max(1, ms1.firstSeq - 3);
  const hi = ms1.lastSeq + 2;
  for (let i = 0; i < 40; i++) {
    const seq = lo + rnd(hi - lo + 1);
    const a = f.loadMsg(seq);
    const b = m.loadMsg(seq);
    assert.equal(a?.subject, b?.subject, `${what}: loadMsg ${seq}`);
    assert.equal(a?.data.toString(), b?.data.toString(), `${what}: loadMsg ${seq} data`);
    for (const filter of ['', 's.1', 's.7', 'h.>', 's.*', 'nope']) {
      assert.equal(f.loadNextMsg(filter, seq)?.seq, m.loadNextMsg(filter, seq)?.seq, `${what}: loadNextMsg ${filter} ${seq}`);
      assert.deepEqual(f.filteredState(seq, filter), m.filteredState(seq, filter), `${what}: filteredState ${seq} ${filter}`);
    }
  }
  for (const subj of ['s.0', 's.1', 's.5', 'h.0', 'h.9', 'h.*', '>']) {
    assert.equal(f.loadLastMsg(subj)?.seq, m.loadLastMsg(subj)?.seq, `${what}: loadLastMsg ${subj}`);
  }
}

/**
 * The same random operations on a file store with tiny blocks and on a
 * memory store: stores on few subjects with many messages each ("s.*",
 * past the exact-list limit) and many with few ("h.*"), removals spread over
 * the whole stream, purges by subject, and restarts of the file store.
 */
async function model(seed: number, reopen: boolean, settle = false, windowBytes?: number): Promise<void> {
  const dir = join(root, `m${n++}`);
  let f = await FileStore.open(cfg, { dir, blockSize: BLOCK, windowBytes });
  const m = new MemoryStore({ ...cfg, storage: 'memory' });
  const rnd = rng(seed);
  const body = (i: number): Buffer => Buffer.from(`m${i}-${'y'.repeat(i % 17)}`);
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 600; i++) {
      if (settle && i % 25 === 0) {
        await flushed(f);
        await new Promise((r) => setTimeout(r, 2));
      }
      const op = rnd(20);
      const last = m.state().lastSeq;
      if (op < 13) {
        const subj = rnd(3) === 0 ? `h.${rnd(40)}` : `s.${rnd(8)}`;
        const b = body(last + 1);
        f.storeMsg(subj, null, b);
        m.storeMsg(subj, null, b);
      } else if (op < 18 && last > 0) {
        const seq = 1 + rnd(last);
        assert.equal(f.removeMsg(seq), m.removeMsg(seq), `remove ${seq}`);
      } else if (op === 18) {
        assert.equal(f.skipMsg(), m.skipMsg());
      } else if (last > 0 && rnd(4) === 0) {
        const subj = `s.${rnd(8)}`;
        const keep = rnd(3);
        assert.equal(f.purgeEx(subj, 0, keep), m.purgeEx(subj, 0, keep), `purgeEx ${subj} keep ${keep}`);
      }
    }
    assertSame(f, m, rnd, `seed ${seed} round ${round}`);
    assert.ok(f.loadedColumnBlocks() <= 5, `columns of ${f.loadedColumnBlocks()} blocks loaded`);
    if (reopen) {
      await flushed(f);
      await f.stop();
      f = await FileStore.open(cfg, { dir, blockSize: BLOCK, windowBytes });
      assertSame(f, m, rnd, `seed ${seed} round ${round} reopened`);
    }
  }
  await f.stop();
}

describe('file store lazy index', () => {
  it('answers like the memory store while columns are evicted and reloaded', async () => {
    for (const seed of [1, 2, 3]) await model(seed, false);
  });

  it('answers like the memory store across restarts', async () => {
    for (const seed of [4, 5]) await model(seed, true);
  });

  // Index files written between operations: sealed blocks drop their record
  // builders (which new blocks take over) and compactions swap blocks whose
  // builders are gone or still pending; a builder kept over a compaction
  // used to give a column load the old layout's offsets and lose messages.
  it('answers like the memory store when index files are written between operations', async () => {
    await model(6, false, true);
    await model(7, true, true);
  });

  // Batches written every 25 operations slide the last block's window
  // (100 B) past most of what it wrote; reads below it go to the file, a
  // second one loads the block whole again.
  it('answers like the memory store with a last block that keeps a small write window', async () => {
    await model(8, false, true, 100);
    await model(9, true, true, 100);
  });

  it('reads every message of a stream of many blocks in order, columns evicted behind', async () => {
    const dir = join(root, `seq${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    for (let i = 1; i <= 3000; i++) s.storeMsg('one', null, Buffer.from(`p${i}`));
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.equal(s.loadedColumnBlocks(), 0, 'nothing loaded by a clean restart');
    let seq = 0;
    for (let m = s.loadNextMsg('one', 1); m !== null; m = s.loadNextMsg('one', m.seq + 1)) {
      assert.equal(m.seq, seq + 1);
      assert.equal(m.data.toString(), `p${m.seq}`);
      seq = m.seq;
      assert.ok(s.loadedColumnBlocks() <= 5);
    }
    assert.equal(seq, 3000);
    await s.stop();
  });

  it('a reader going through the blocks reuses evicted columns and reads what was stored', async () => {
    const dir = join(root, `reuse${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    // sizes vary so that blocks hold different numbers of messages
    const body = (i: number): string => `q${i}`.padEnd(8 + (i % 23), '.');
    for (let i = 1; i <= 4000; i++) s.storeMsg(`r.${i % 3}`, null, Buffer.from(body(i)));
    await flushed(s);
    for (let i = 5; i <= 4000; i += 5) assert.ok(s.removeMsg(i));
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    const blocks = (s as unknown as { blocks: { cols: { ts: Float64Array } | null }[] }).blocks;
    assert.ok(blocks.length > 100, `${blocks.length} blocks`);
    const columnBuffers = new Set<ArrayBufferLike>();
    for (let pass = 0; pass < 2; pass++) {
      let seen = 0;
      for (let m = s.loadNextMsg(pass === 0 ? '' : 'r.1', 1); m !== null; m = s.loadNextMsg(pass === 0 ? '' : 'r.1', m.seq + 1)) {
        assert.notEqual(m.seq % 5, 0, `deleted ${m.seq} read`);
        assert.equal(m.subject, `r.${m.seq % 3}`);
        assert.equal(m.data.toString(), body(m.seq));
        seen++;
        for (const b of blocks) if (b.cols !== null) columnBuffers.add(b.cols.ts.buffer);
      }
      const live = (subj: number): number => [...Array(4000).keys()].map((i) => i + 1).filter((i) => (subj < 0 || i % 3 === subj) && i % 5 !== 0).length;
      assert.equal(seen, live(pass === 0 ? -1 : 1));
      assert.equal(s.filteredState(1, 'r.2').msgs, live(2));
    }
    // a new ArrayBuffer per block loaded would be ~2 x blocks.length
    assert.ok(columnBuffers.size < blocks.length / 4, `${columnBuffers.size} column buffers for ${blocks.length} blocks`);
    await s.stop();
  });

  it('a reader going through blocks read from disk keeps two block buffers, reused', async () => {
    const dir = join(root, `bufs${n++}`);
    const blockSize = 8192;
    let s = await FileStore.open(cfg, { dir, blockSize });
    for (let i = 1; i <= 3000; i++) s.storeMsg('b', null, Buffer.from(`m${i}`.padEnd(100, '-')));
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize });
    const blocks = (s as unknown as { blocks: { buf: Buffer | null }[] }).blocks;
    assert.ok(blocks.length > 20, `${blocks.length} blocks`);
    const seen = new Set<Buffer>();
    let most = 0;
    for (let m = s.loadNextMsgView('', 1); m !== null; m = s.loadNextMsgView('', m.seq + 1)) {
      assert.equal(m.buf.toString('latin1', m.off, m.off + m.size), `m${m.seq}`.padEnd(100, '-'));
      let held = 0;
      for (const b of blocks) {
        if (b.buf === null) continue;
        held++;
        seen.add(b.buf);
      }
      most = Math.max(most, held);
    }
    // the last block's own buffer, and the cache's (CACHE_BLOCKS = 2) reused from block to block
    assert.ok(most <= 3, `${most} block buffers held at once`);
    assert.ok(seen.size <= 3, `${seen.size} block buffers for ${blocks.length} blocks`);
    await s.stop();
  });

  it('keeps deletes made in blocks whose columns are not loaded', async () => {
    const dir = join(root, `del${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    for (let i = 1; i <= 2000; i++) s.storeMsg(`k.${i % 5}`, null, Buffer.from(`v${i}`));
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    // every 7th, oldest blocks first: each removal may load and evict columns
    for (let i = 7; i <= 2000; i += 7) assert.ok(s.removeMsg(i));
    // then read back in a different order than removed (evicting again)
    for (let i = 2000; i >= 1; i--) {
      const m = s.loadMsg(i);
      if (i % 7 === 0) assert.equal(m, null, `seq ${i} deleted`);
      else assert.equal(m?.data.toString(), `v${i}`);
    }
    assert.equal(s.state().msgs, 2000 - Math.floor(2000 / 7));
    assert.equal(s.subjectsTotals('k.0').get('k.0'), 400 - Math.floor(400 / 7));
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.equal(s.state().msgs, 2000 - Math.floor(2000 / 7));
    assert.equal(s.loadMsg(14), null);
    assert.equal(s.loadMsg(15)?.data.toString(), 'v15');
    await s.stop();
  });

  it('answers per-subject queries from unloaded blocks (KV-like history)', async () => {
    const dir = join(root, `kv${n++}`);
    const kv = { ...cfg, maxMsgsPerSubject: 80 };
    let s = await FileStore.open(kv, { dir, blockSize: BLOCK });
    // key a gets 200 revisions and keeps 80 (past the exact list of 64), others few
    for (let i = 1; i <= 200; i++) {
      s.storeMsg('kv.a', null, Buffer.from(`a${i}`));
      s.storeMsg(`kv.b${i % 10}`, null, Buffer.from(`b${i}`));
    }
    await flushed(s);
    await s.stop();
    s = await FileStore.open(kv, { dir, blockSize: BLOCK });
    const ss = s.subjectsState('kv.a').get('kv.a')!;
    assert.equal(ss.msgs, 80);
    assert.equal(s.loadMsg(ss.first)?.data.toString(), 'a121');
    assert.equal(s.loadLastMsg('kv.a')?.data.toString(), 'a200');
    assert.equal(s.loadNextMsg('kv.a', 1)?.data.toString(), 'a121');
    assert.equal(s.filteredState(ss.first + 1, 'kv.a').msgs, 79);
    // a new revision still drops the oldest, found through the bounds
    s.storeMsg('kv.a', null, Buffer.from('a201'));
    assert.equal(s.loadNextMsg('kv.a', 1)?.data.toString(), 'a122');
    // purging the key leaves its last, wherever the others are
    assert.equal(s.purgeEx('kv.a', 0, 1), 79);
    assert.equal(s.loadNextMsg('kv.a', 1)?.data.toString(), 'a201');
    await s.stop();
  });
});

describe('file store shutdown summary', () => {
  const summary = (dir: string): string => join(dir, 'msgs', 'summary.dat');

  async function stopped(count: number): Promise<string> {
    const dir = join(root, `sum${n++}`);
    const s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    for (let i = 1; i <= count; i++) s.storeMsg(`t.${i % 3}`, null, Buffer.from(`w${i}`));
    s.removeMsg(5);
    await flushed(s);
    await s.stop();
    return dir;
  }

  it('a clean stop leaves one; the next open answers from it, the same as from the blocks', async () => {
    const dir = await stopped(300);
    assert.ok(fs.existsSync(summary(dir)));
    const a = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    const fromSummary = { st: a.state(), subj: [...a.subjectsState('')], del: a.deletedSeqs() };
    assert.equal(a.loadMsg(5), null);
    assert.equal(a.loadMsg(6)?.data.toString(), 'w6');
    await a.stop();
    fs.rmSync(summary(dir));
    const b = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.deepEqual({ st: b.state(), subj: [...b.subjectsState('')], del: b.deletedSeqs() }, fromSummary);
    await b.stop();
  });

  it('goes before the first write: a crash after it recovers from the blocks', async () => {
    const dir = await stopped(300);
    const s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.ok(fs.existsSync(summary(dir)), 'reading leaves it');
    s.storeMsg('t.new', null, Buffer.from('after'));
    assert.ok(!fs.existsSync(summary(dir)), 'gone before the write');
    s.removeMsg(10);
    await flushed(s);
    // kill -9: the files as they are now, without the stop
    const crash = join(root, `crash${n++}`);
    fs.cpSync(dir, crash, { recursive: true });
    const r = await FileStore.open(cfg, { dir: crash, blockSize: BLOCK });
    assert.equal(r.state().lastSeq, 301);
    assert.equal(r.state().msgs, 299);
    assert.equal(r.loadMsg(301)?.data.toString(), 'after');
    assert.equal(r.loadMsg(10), null);
    await r.stop();
    await s.stop();
  });

  it('a stale summary (a block file changed since) is not used', async () => {
    const dir = await stopped(300);
    // what a crash after an open that wrote, with an old summary put back, looks like:
    // the blocks moved on, the summary did not
    const old = fs.readFileSync(summary(dir));
    const s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    s.storeMsg('t.new', null, Buffer.from('after'));
    await flushed(s);
    await s.stop();
    const fresh = fs.readFileSync(summary(dir));
    fs.writeFileSync(summary(dir), old);
    const r = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.equal(r.state().lastSeq, 301);
    assert.equal(r.loadMsg(301)?.data.toString(), 'after');
    await r.stop();
    // a same-size change behind the store's back, noticed by its mtime
    fs.writeFileSync(summary(dir), fresh);
    const blk = fs.readdirSync(join(dir, 'msgs')).find((f) => f.endsWith('.blk'))!;
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(join(dir, 'msgs', blk), later, later);
    const lg: string[] = [];
    const push = (x: string): void => void lg.push(x);
    const q = await FileStore.open(cfg, { dir, blockSize: BLOCK, log: { notice: push, warn: push, error: push } });
    assert.ok(lg.some((l) => l.includes('summary unusable')), lg.join('\n'));
    assert.equal(q.state().msgs, 300);
    await q.stop();
  });

  it('a garbled summary is ignored', async () => {
    const dir = await stopped(50);
    const buf = fs.readFileSync(summary(dir));
    buf[20] ^= 0xff;
    fs.writeFileSync(summary(dir), buf);
    const s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    assert.equal(s.state().msgs, 49);
    assert.equal(s.loadMsg(50)?.data.toString(), 'w50');
    await s.stop();
  });
});
