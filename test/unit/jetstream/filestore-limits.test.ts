// File store blocks under the stream limits: a block drained from its head by
// max_msgs / max_msgs_per_subject is not rewritten (it goes whole once empty),
// a block with holes still is, and either way a reopen finds exactly the
// messages the limits kept.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../src/jetstream/store/file.js';
import type { StoreConfig } from '../../../src/jetstream/store/types.js';
import { flushed, storeConfig } from '../../helpers/store.js';

const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-fslim-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

const base: StoreConfig = storeConfig({ name: 'L' });

const BLOCK = 1024;
const SUBJECTS = 32;
const subjectOf = (seq: number): string => `foo.${seq % SUBJECTS}`;
const payload = (seq: number): string => `message-${seq}-${'x'.repeat(seq % 7)}`;


// A removed block's file is unlinked in the background (after the flush that
// forgot it), so one may go between the listing and its stat: it is gone.
const blockSizes = (dir: string): number[] =>
  fs
    .readdirSync(join(dir, 'msgs'))
    .filter((f) => f.endsWith('.blk'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .flatMap((f) => {
      const st = fs.statSync(join(dir, 'msgs', f), { throwIfNoEntry: false });
      return st === undefined ? [] : [st.size];
    });

function assertKept(s: FileStore, seqs: number[]): void {
  for (const seq of seqs) {
    const m = s.loadMsg(seq);
    assert.ok(m, `seq ${seq} missing`);
    assert.equal(m.subject, subjectOf(seq));
    assert.equal(m.data.toString(), payload(seq));
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('file store blocks under limits', () => {
  for (const [shape, cfg, kept] of [
    ['max_msgs', { ...base, maxMsgs: 40 }, 40],
    // round-robin subjects: each subject's oldest is the stream's first
    ['max_msgs_per_subject', { ...base, maxMsgsPerSubject: 2 }, 2 * SUBJECTS],
  ] as const) {
    it(`${shape}: the first block drains from its head without being rewritten; a reopen keeps the newest`, async () => {
      const dir = join(root, `d${n++}`);
      let s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
      const total = 600;
      for (let i = 1; i <= total; i++) {
        s.storeMsg(subjectOf(i), null, Buffer.from(payload(i)));
        // let writes land as they would under a steady publisher
        if (i % 50 === 0) await flushed(s);
      }
      await flushed(s);
      // time for a compaction to land, had one been started (its absence
      // cannot be waited for; a slow machine only makes this check weaker)
      await new Promise((r) => setTimeout(r, 200));
      await flushed(s);
      const st = s.state();
      assert.equal(st.msgs, kept);
      assert.equal(st.firstSeq, total - kept + 1);
      const sizes = blockSizes(dir);
      assert.ok(sizes.length >= 2, `blocks ${sizes}`);
      // every sealed block is still at its full size: none was compacted
      for (const sz of sizes.slice(0, -1)) assert.ok(sz > BLOCK / 2, `a sealed block of ${sz} bytes (sizes ${sizes})`);
      await s.stop();
      s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
      assert.deepEqual(s.state(), st);
      assertKept(s, range(total - kept + 1, total));
      assert.equal(s.loadMsg(total - kept), null);
      assert.equal(s.storeMsg(subjectOf(total + 1), null, Buffer.from(payload(total + 1)))[0], total + 1);
      await s.stop();
    });
  }

  // A limit removing the first block gives its buffer to the next block,
  // but not while a message loaded from it is held (a redelivery or a direct
  // get answer in flight): that message keeps its bytes.
  it('a message held while max_msgs removes its block keeps its bytes; the stream goes on intact', async () => {
    const dir = join(root, `d${n++}`);
    const cfg = { ...base, maxMsgs: 20 };
    const s = await FileStore.open(cfg, { dir, blockSize: BLOCK });
    const held: { seq: number; data: Buffer }[] = [];
    for (let i = 1; i <= 400; i++) {
      s.storeMsg(subjectOf(i), null, Buffer.from(payload(i)));
      if (i % 10 === 0) {
        await flushed(s);
        const first = s.state().firstSeq;
        const m = s.loadMsg(first);
        assert.ok(m);
        held.push({ seq: first, data: m.data });
      }
    }
    await flushed(s);
    assert.ok(blockSizes(dir).length < 400 / 20, 'blocks were removed');
    for (const h of held) assert.equal(h.data.toString(), payload(h.seq), `held message ${h.seq}`);
    assertKept(s, range(381, 400));
    await s.stop();
  });

  it('a first block with holes is still compacted, and a reopen agrees', async () => {
    const dir = join(root, `d${n++}`);
    let s = await FileStore.open(base, { dir, blockSize: BLOCK });
    for (let i = 1; i <= 200; i++) s.storeMsg(subjectOf(i), null, Buffer.from(payload(i)));
    await flushed(s);
    const full = blockSizes(dir)[0]!;
    // seq 1 stays: every removal below is interior
    const keep = (i: number): boolean => i === 1 || i % 5 === 0 || i > 60;
    for (let i = 2; i <= 60; i++) if (!keep(i)) s.removeMsg(i);
    await flushed(s);
    await until('the first block to be compacted', () => blockSizes(dir)[0]! < full / 2);
    await flushed(s);
    const st = s.state();
    await s.stop();
    s = await FileStore.open(base, { dir, blockSize: BLOCK });
    assert.deepEqual(s.state(), st);
    assertKept(s, range(1, 200).filter(keep));
    for (let i = 2; i <= 60; i++) if (!keep(i)) assert.equal(s.loadMsg(i), null, `seq ${i} came back`);
    await s.stop();
  });
});

describe('file store block size without a configured one', () => {
  const MiB = 1024 * 1024;
  const body = Buffer.alloc(1000, 0x61);
  const store = (s: FileStore, from: number, to: number): void => {
    for (let i = from; i <= to; i++) s.storeMsg(`b.${i % 4}`, null, body);
  };

  it('a stream held small by max_msgs keeps blocks of 1 MiB; one growing under max_bytes gets up to 4 MiB blocks; an unbounded one full blocks; all read back after a reopen', async () => {
    // ~1.05 KiB a record: max_msgs 1,500 holds ~1.5 MiB, half of it rounds up to 1 MiB
    const small = join(root, `d${n++}`);
    let s = new FileStore({ ...base, maxMsgs: 1500 }, { dir: small });
    store(s, 1, 8000);
    await flushed(s);
    await s.stop();
    const smallSizes = blockSizes(small);
    assert.ok(smallSizes.length >= 2, `${smallSizes}`);
    for (const sz of smallSizes) assert.ok(sz <= MiB, `a block of ${sz} B`);
    s = new FileStore({ ...base, maxMsgs: 1500 }, { dir: small });
    assert.equal(s.state().msgs, 1500);
    assert.equal(s.loadMsg(6501)!.subject, 'b.1');
    assert.equal(s.loadMsg(8000)!.data.length, 1000);
    await s.stop();

    // 24 MiB under a max_bytes it never reaches: blocks double as the
    // stream grows, never past 4 MiB
    const bounded = { ...base, maxBytes: 1 << 30 };
    const big = join(root, `d${n++}`);
    s = new FileStore(bounded, { dir: big });
    const total = 24 * 1024;
    store(s, 1, total);
    await flushed(s);
    await s.stop();
    const bigSizes = blockSizes(big);
    assert.ok(bigSizes[0]! <= MiB, `first block ${bigSizes[0]} B`);
    assert.ok(Math.max(...bigSizes) > 2 * MiB, `${bigSizes}`);
    for (const sz of bigSizes) assert.ok(sz <= 4 * MiB, `a block of ${sz} B`);
    // sealed blocks (the last one is partly filled) never shrink as the stream grows
    for (let i = 1; i < bigSizes.length - 1; i++) assert.ok(bigSizes[i]! >= bigSizes[i - 1]! - 2048, `${bigSizes}`);
    s = new FileStore(bounded, { dir: big });
    assert.equal(s.state().msgs, total);
    for (const seq of [1, 5000, 12345, total]) assert.equal(s.loadMsg(seq)!.subject, `b.${seq % 4}`);
    // the recovered last block rolls by what the stream holds (4 MiB blocks from here)
    store(s, total + 1, total + 6000);
    await flushed(s);
    await s.stop();
    const after = blockSizes(big);
    assert.ok(after.length > bigSizes.length);
    for (const sz of after) assert.ok(sz <= 4 * MiB, `a block of ${sz} B`);

    // no max_msgs / max_bytes: 4 MiB blocks from the first
    const free = join(root, `d${n++}`);
    s = new FileStore(base, { dir: free });
    store(s, 1, 6000);
    await flushed(s);
    await s.stop();
    const freeSizes = blockSizes(free);
    assert.equal(freeSizes.length, 2, `${freeSizes}`);
    assert.ok(freeSizes[0]! > 4 * MiB - 2048, `${freeSizes}`);
    // a KV bucket's per-key history is not such a bound: its last block
    // (the earlier ones emptied) grew past what a sized-down one would
    const kv = join(root, `d${n++}`);
    s = new FileStore({ ...base, maxMsgsPerSubject: 5 }, { dir: kv });
    store(s, 1, 3000);
    await flushed(s);
    await s.stop();
    const kvSizes = blockSizes(kv);
    assert.ok(Math.max(...kvSizes) > 2 * MiB, `${kvSizes}`);
  });
});
