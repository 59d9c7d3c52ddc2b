// The file store's write window: once written, a last block's bytes leave
// memory (FileStore.slideWindow) and reads of them go to the file, until a
// reader needs them twice and the block is loaded whole again (unwindow).

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../src/jetstream/store/file.js';
import type { StoreConfig } from '../../../src/jetstream/store/types.js';
import { flushed, storeConfig } from '../../helpers/store.js';

const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-fswin-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

const cfg: StoreConfig = storeConfig({ name: 'W' });
const WIN = 4096;
const body = (i: number): Buffer => Buffer.from(`m${i}-`.padEnd(200, String.fromCharCode(97 + (i % 26))));

/** a store of 1 MiB blocks and a 4 KiB window, with `count` messages stored in flushed batches of 10 */
async function filled(count: number, opts: { blockSize?: number } = {}): Promise<{ f: FileStore; dir: string }> {
  const dir = join(root, `w${n++}`);
  const f = await FileStore.open(cfg, { dir, blockSize: opts.blockSize ?? 1024 * 1024, windowBytes: WIN });
  for (let i = 1; i <= count; i++) {
    f.storeMsg(`s.${i % 7}`, null, body(i));
    if (i % 10 === 0) await flushed(f);
  }
  await flushed(f);
  return { f, dir };
}

describe('file store write window', () => {
  it('keeps only the last block window in memory, and reads below it from the file', async () => {
    const { f } = await filled(500);
    const w = f.lastWindow();
    // ~115 KB written to the block, a window slid past nearly all of it
    assert.ok(w.size > 100_000, `block size ${w.size}`);
    assert.ok(w.base > w.size - 2 * WIN, `window starts at ${w.base} of ${w.size}`);
    // the first read below the window is one record from the file
    assert.equal(f.loadMsg(3)!.data.toString(), body(3).toString());
    assert.ok(f.lastWindow().base > 0, 'one read below the window does not load the block');
    // the second loads it whole, and it stays whole
    assert.equal(f.loadMsg(250)!.data.toString(), body(250).toString());
    assert.equal(f.lastWindow().base, 0);
    for (let i = 1; i <= 500; i++) assert.equal(f.loadMsg(i)!.data.toString(), body(i).toString(), `message ${i}`);
    for (let i = 501; i <= 600; i++) f.storeMsg('s.x', null, body(i));
    await flushed(f);
    assert.equal(f.lastWindow().base, 0, 'a block read below its window keeps its bytes');
    for (let i = 1; i <= 600; i++) assert.equal(f.loadMsg(i)!.data.toString(), body(i).toString(), `message ${i} after more writes`);
    await f.stop();
  });

  it('bounds the memory of a last block that only takes writes', async () => {
    const { f } = await filled(3000, { blockSize: 4 * 1024 * 1024 });
    const w = f.lastWindow();
    assert.ok(w.size > 600_000, `block size ${w.size}`);
    // without the window the buffer held all of it
    assert.ok(w.buf!.length < 200 * 1024, `buffer of ${w.buf!.length} bytes for a block of ${w.size}`);
    await f.stop();
  });

  it('slides in place while readers read the last block', async () => {
    const { f } = await filled(300);
    const buf = f.lastWindow().buf;
    const base = f.lastWindow().base;
    for (let i = 301; i <= 1000; i++) {
      f.storeMsg(`s.${i % 7}`, null, body(i));
      if (i % 10 === 0) {
        await flushed(f);
        // a copy: nothing outside the store holds a view of the window
        assert.equal(f.loadMsg(i)!.data.toString(), body(i).toString());
        assert.equal(f.loadNextMsgView('', i)!.seq, i);
      }
    }
    assert.ok(f.lastWindow().base > base + 4 * WIN, 'the window slid');
    assert.equal(f.lastWindow().buf, buf, 'the same buffer');
    await f.stop();
  });

  it('answers a KV update\'s last-revision check without going to the file', async () => {
    // a KV bucket's keys: each key's last revision spread over the block
    const { f } = await filled(1000);
    const base = f.lastWindow().base;
    assert.ok(base > 100_000);
    for (let k = 0; k < 7; k++) assert.ok(f.lastSeqOf(`s.${k}`) > 990);
    for (let i = 1001; i <= 1500; i++) {
      // most keys' last revision is below the window by now
      f.storeMsg(`key.${i % 500}`, null, body(i));
      if (i % 10 === 0) await flushed(f);
      assert.equal(f.lastSeqOf(`key.${(i + 1) % 500}`), i < 1500 ? 0 : 1001);
    }
    for (let i = 1001; i <= 1500; i++) assert.equal(f.lastSeqOf(`key.${i % 500}`), i);
    assert.ok(f.lastWindow().base > base, 'still windowed');
    await f.stop();
  });

  it('leaves a reader holding a message from the window its bytes when the window slides', async () => {
    const { f } = await filled(50);
    const base = f.lastWindow().base;
    // stored but not yet written: in the window
    f.storeMsg('held', null, Buffer.from('held message'));
    const held = f.loadMsg(51)!;
    assert.equal(held.data.toString(), 'held message');
    for (let i = 52; i <= 200; i++) {
      f.storeMsg(`s.${i}`, null, body(i));
      if (i % 10 === 0) await flushed(f);
    }
    await flushed(f);
    assert.ok(f.lastWindow().base > base, 'the window slid');
    assert.equal(held.data.toString(), 'held message');
    await f.stop();
  });

  it('erases a record below the window in the file, not in the window', async () => {
    const { f, dir } = await filled(100);
    assert.ok(f.lastWindow().base > 0);
    // records still to be written sit at the start of the window
    for (let i = 101; i <= 105; i++) f.storeMsg('s.y', null, body(i));
    assert.equal(f.eraseMsg(7), true);
    await flushed(f);
    for (let i = 1; i <= 105; i++) {
      if (i === 7) assert.equal(f.loadMsg(i), null);
      else assert.equal(f.loadMsg(i)!.data.toString(), body(i).toString(), `message ${i}`);
    }
    await f.stop();
    const raw = fs.readFileSync(join(dir, 'msgs', '1.blk'));
    assert.equal(raw.indexOf(body(7)), -1, 'the erased payload is gone from the file');
    assert.notEqual(raw.indexOf(body(8)), -1);
    const g = await FileStore.open(cfg, { dir, blockSize: 1024 * 1024, windowBytes: WIN });
    assert.equal(g.loadMsg(7), null);
    for (let i = 101; i <= 105; i++) assert.equal(g.loadMsg(i)!.data.toString(), body(i).toString(), `message ${i} reopened`);
    await g.stop();
  });

  it('writes a sealed windowed block an index file that matches its tail', async () => {
    // 64 KiB blocks: ~300 messages each, every block windowed before it seals
    const { f, dir } = await filled(1000, { blockSize: 64 * 1024 });
    // index files are written in the background
    await new Promise((r) => setTimeout(r, 100));
    const mdir = join(dir, 'msgs');
    let checked = 0;
    for (const name of fs.readdirSync(mdir)) {
      const m = /^(\d+)\.idx$/.exec(name);
      if (m === null) continue;
      const blk = fs.readFileSync(join(mdir, `${m[1]}.blk`));
      const idx = fs.readFileSync(join(mdir, name));
      // encodeIndex: block size at 8, the last record's checksum at 12
      assert.equal(idx.readUInt32LE(8), blk.length, `${name}: size`);
      assert.equal(idx.readUInt32LE(12), blk.readUInt32LE(blk.length - 8), `${name}: last checksum`);
      checked++;
    }
    assert.ok(checked >= 2, `${checked} index files`);
    for (let i = 1; i <= 1000; i++) assert.equal(f.loadMsg(i)!.data.toString(), body(i).toString(), `message ${i}`);
    await f.stop();
  });
});
