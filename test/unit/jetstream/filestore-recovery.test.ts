// File store recovery from damaged files: whatever is on disk, the store
// opens with the valid prefix of each block, says what it dropped, and goes
// on numbering after the last good sequence.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, fileIo } from '../../../src/jetstream/store/file.js';
import type { StoreConfig, StoreOptions } from '../../../src/jetstream/store/types.js';
import { flushed, storeConfig } from '../../helpers/store.js';

const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-fsrec-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

const cfg: StoreConfig = storeConfig({ name: 'R' });

interface Logged {
  lines: string[];
  log: NonNullable<StoreOptions['log']>;
}

function logger(): Logged {
  const lines: string[] = [];
  const push = (s: string): void => {
    lines.push(s);
  };
  return { lines, log: { notice: push, warn: push, error: push } };
}

const payload = (seq: number): string => `message-${seq}-${'x'.repeat(seq % 13)}`;


/** a store with `count` messages, stopped; returns its directory */
async function filled(count: number, blockSize = 1 << 20): Promise<string> {
  const dir = join(root, `r${n++}`);
  const s = await FileStore.open(cfg, { dir, blockSize });
  for (let i = 1; i <= count; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
  await flushed(s);
  await s.stop();
  return dir;
}

const blocks = (dir: string): string[] =>
  fs
    .readdirSync(join(dir, 'msgs'))
    .filter((f) => f.endsWith('.blk'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((f) => join(dir, 'msgs', f));

function assertIntact(s: FileStore, seqs: Iterable<number>): void {
  for (const seq of seqs) {
    const m = s.loadMsg(seq);
    assert.ok(m, `seq ${seq} missing`);
    assert.equal(m.data.toString(), payload(seq), `seq ${seq} payload`);
    assert.equal(m.subject, `sub.${seq % 4}`);
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('file store recovery', () => {
  it('reopens cleanly with and without index files', async () => {
    const dir = await filled(200, 2048);
    assert.ok(blocks(dir).length > 3);
    const lg = logger();
    let s = await FileStore.open(cfg, { dir, blockSize: 2048, log: lg.log });
    assert.equal(s.state().msgs, 200);
    assertIntact(s, range(1, 200));
    await s.stop();
    for (const f of fs.readdirSync(join(dir, 'msgs'))) if (f.endsWith('.idx')) fs.unlinkSync(join(dir, 'msgs', f));
    s = await FileStore.open(cfg, { dir, blockSize: 2048, log: lg.log });
    assert.equal(s.state().msgs, 200);
    assertIntact(s, range(1, 200));
    assert.equal(lg.lines.length, 0, lg.lines.join('\n'));
    await s.stop();
  });

  it('truncated block: the whole records before the cut stay', async () => {
    const dir = await filled(50);
    const [blk] = blocks(dir);
    // cut into the last message record (a state record may follow it)
    const buf = fs.readFileSync(blk!);
    let off = 0;
    let lastMsg = 0;
    while (off < buf.length) {
      const w = buf.readUInt32LE(off);
      if ((w & 0x70000000) === 0) lastMsg = off;
      off += w & 0x0fffffff;
    }
    fs.truncateSync(blk!, lastMsg + 10);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log });
    assert.equal(s.state().msgs, 49);
    assert.equal(s.state().lastSeq, 49);
    assertIntact(s, range(1, 49));
    assert.ok(lg.lines.some((l) => /dropped \d+ bytes/.test(l)), lg.lines.join('\n'));
    assert.equal(s.storeMsg('sub.2', null, Buffer.from(payload(50)))[0], 50);
    await flushed(s);
    await s.stop();
    const again = await FileStore.open(cfg, { dir });
    assertIntact(again, range(1, 50));
    await again.stop();
  });

  it('garbage at the tail is cut and reported with its size', async () => {
    const dir = await filled(30);
    const [blk] = blocks(dir);
    const good = fs.statSync(blk!).size;
    fs.appendFileSync(blk!, Buffer.from('this is not a record, just junk bytes!!'));
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log });
    assert.equal(s.state().msgs, 30);
    assertIntact(s, range(1, 30));
    assert.ok(
      lg.lines.some((l) => l.includes('dropped 39 bytes')),
      lg.lines.join('\n'),
    );
    assert.equal(fs.statSync(blk!).size, good);
    assert.equal(s.storeMsg('sub.3', null, Buffer.from(payload(31)))[0], 31);
    await s.stop();
  });

  it('flipped byte in a middle record, no index: the block is cut there', async () => {
    const dir = await filled(40);
    const [blk] = blocks(dir);
    fs.rmSync(blk!.replace(/\.blk$/, '.idx'), { force: true });
    // nor a shutdown summary: a same-size rewrite within the clock tick of
    // the stop keeps the block's mtime, which is all the summary checks
    fs.rmSync(join(dir, 'msgs', 'summary.dat'), { force: true });
    const buf = fs.readFileSync(blk!);
    // record 21 starts after 20 records; flip a byte of its payload
    let off = 0;
    for (let i = 0; i < 20; i++) off += buf.readUInt32LE(off) & 0x0fffffff;
    buf[off + 30] ^= 0xff;
    fs.writeFileSync(blk!, buf);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log });
    assert.equal(s.state().msgs, 20);
    assert.equal(s.state().lastSeq, 20);
    assertIntact(s, range(1, 20));
    assert.ok(
      lg.lines.some((l) => l.includes('checksum mismatch') && l.includes(`offset ${off}`) && l.includes(`dropped ${buf.length - off} bytes`)),
      lg.lines.join('\n'),
    );
    await s.stop();
  });

  it('flipped byte in a middle record behind a valid index: caught on read, only that message goes', async () => {
    const dir = await filled(40);
    const [blk] = blocks(dir);
    assert.ok(fs.existsSync(blk!.replace(/\.blk$/, '.idx')));
    const buf = fs.readFileSync(blk!);
    let off = 0;
    for (let i = 0; i < 20; i++) off += buf.readUInt32LE(off) & 0x0fffffff;
    buf[off + 30] ^= 0xff;
    fs.writeFileSync(blk!, buf);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log });
    assert.equal(s.loadMsg(21), null);
    assert.ok(lg.lines.some((l) => l.includes('message 21') && l.includes('corrupt')), lg.lines.join('\n'));
    assert.equal(s.state().msgs, 39);
    assertIntact(s, [...range(1, 20), ...range(22, 40)]);
    assert.equal(s.loadNextMsg('', 21)!.seq, 22);
    await s.stop();
  });

  it('a bad record in an older block leaves later blocks whole', async () => {
    const dir = await filled(120, 1024);
    const bl = blocks(dir);
    assert.ok(bl.length >= 3);
    fs.rmSync(bl[1]!.replace(/\.blk$/, '.idx'), { force: true });
    const buf = fs.readFileSync(bl[1]!);
    const firstSeq = Number(buf.readBigUInt64LE(4));
    const len0 = buf.readUInt32LE(0) & 0x0fffffff;
    buf[len0 + 25] ^= 0x01; // inside the second record of block 2
    fs.writeFileSync(bl[1]!, buf);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, blockSize: 1024, log: lg.log });
    assert.ok(lg.lines.some((l) => l.includes('dropped')));
    const st = s.state();
    assert.equal(st.lastSeq, 120);
    assertIntact(s, range(1, firstSeq));
    const lastOf2 = Number(fs.readFileSync(bl[2]!).readBigUInt64LE(4)) - 1;
    for (let q = firstSeq + 1; q <= lastOf2; q++) assert.equal(s.loadMsg(q), null);
    assertIntact(s, range(lastOf2 + 1, 120));
    assert.equal(st.numDeleted, lastOf2 - firstSeq);
    await s.stop();
  });

  it('stale index file (block grew after it was written) is not trusted', async () => {
    const dir = await filled(10);
    const [blk] = blocks(dir);
    const idx = blk!.replace(/\.blk$/, '.idx');
    const oldIdx = fs.readFileSync(idx);
    let s = await FileStore.open(cfg, { dir });
    for (let i = 11; i <= 20; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    await s.stop();
    fs.writeFileSync(idx, oldIdx);
    s = await FileStore.open(cfg, { dir });
    assert.equal(s.state().msgs, 20);
    assertIntact(s, range(1, 20));
    await s.stop();
    // a corrupt index file is ignored too
    fs.writeFileSync(idx, Buffer.from('garbage index'));
    s = await FileStore.open(cfg, { dir });
    assert.equal(s.state().msgs, 20);
    await s.stop();
  });

  it('deletes, erase, purge and compaction survive a reopen', async () => {
    const dir = join(root, `r${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: 1024 });
    for (let i = 1; i <= 200; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    // delete most of the early blocks' messages: they get compacted or removed
    for (let i = 1; i <= 100; i++) if (i % 5 !== 0) s.removeMsg(i);
    s.eraseMsg(150);
    await flushed(s);
    await new Promise((r) => setTimeout(r, 100));
    await flushed(s);
    const before = s.state();
    await s.stop();
    // the erased payload is gone from the disk
    const all = Buffer.concat(blocks(dir).map((f) => fs.readFileSync(f)));
    assert.equal(all.indexOf(Buffer.from(payload(150))), -1);
    assert.notEqual(all.indexOf(Buffer.from(payload(151))), -1);
    // the first block was mostly deleted: compaction rewrote it smaller
    const firstBlock = fs.statSync(blocks(dir)[0]!).size;
    assert.ok(firstBlock < 512, `first block ${firstBlock} bytes`);
    assert.ok(all.length > 0);
    s = await FileStore.open(cfg, { dir, blockSize: 1024 });
    assert.deepEqual(s.state(), before);
    assertIntact(s, [...range(1, 100).filter((i) => i % 5 === 0), ...range(101, 149), ...range(151, 200)]);
    assert.equal(s.loadMsg(150), null);
    assert.equal(s.loadMsg(7), null);
    s.compact(180);
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: 1024 });
    assert.equal(s.state().firstSeq, 180);
    assert.equal(s.state().msgs, 21);
    s.purge();
    await flushed(s);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: 1024 });
    assert.equal(s.state().msgs, 0);
    assert.equal(s.state().firstSeq, 201);
    assert.equal(s.state().lastSeq, 200);
    assert.equal(blocks(dir).length, 1);
    await s.stop();
  });

  it('a store directory removed under it: the batch that needs a new block fails with the OS error, nothing throws, no retry storm', async () => {
    const dir = join(root, `r${n++}`);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log, blockSize: 256 });
    for (let i = 1; i <= 5; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    // A sealed block's index file may still be on its way (written after the
    // flush, in the background) and land between rmSync's listing and its
    // rmdir (ENOTEMPTY): remove again, listing anew, until it is gone.
    for (let tries = 0; ; tries++) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || tries > 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    let err: Error | null = null;
    // 256-byte blocks: this batch rolls over into a block whose file can't be created.
    // Creating it threw out of storeMsg (or out of the flush callback: a crash).
    for (let i = 6; i <= 15; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    err = await new Promise<Error | null>((res) => s.flush(res));
    assert.ok(err);
    // the reference's words (*os.PathError), which a PubAck's error carries
    assert.match(err.message, /^Error creating msg block file \[""\]: open .*\/msgs\/\d+\.blk: no such file or directory$/);
    assert.ok(lg.lines.some((l) => l.includes('no such file or directory')));
    // Left alone, the store retries what the failed batch left about once a
    // second, not every turn of the event loop (that spun at full CPU).
    const failures = s.writeFailures;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(s.writeFailures - failures <= 1, `${s.writeFailures - failures} failed retries in 300 ms`);
    // acked messages are still readable from the open files
    assertIntact(s, range(1, 5));
    // the directory back: writing resumes
    fs.mkdirSync(join(dir, 'msgs'), { recursive: true });
    const [seq] = s.storeMsg('sub.1', null, Buffer.from(payload(6)));
    assert.equal(seq, 6);
    await flushed(s);
    await s.stop();
  });

  it('a failed write calls back with the error and drops only that batch', async () => {
    const dir = join(root, `r${n++}`);
    const lg = logger();
    const s = await FileStore.open(cfg, { dir, log: lg.log });
    for (let i = 1; i <= 10; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    s.removeMsg(3);
    const orig = fileIo.write;
    const origSync = fileIo.writeSync;
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    fileIo.write = (_fd, _b, _o, _l, _p, cb) => {
      setImmediate(() => cb(enospc(), 0));
    };
    fileIo.writeSync = () => {
      throw enospc();
    };
    let err: Error | null = null;
    try {
      for (let i = 11; i <= 15; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
      err = await new Promise<Error | null>((res) => s.flush(res));
    } finally {
      fileIo.write = orig;
      fileIo.writeSync = origSync;
    }
    assert.ok(err);
    assert.match(err.message, /ENOSPC/);
    assert.ok(lg.lines.some((l) => l.includes('ENOSPC')));
    // what was acked stays, the failed batch is gone, numbering resumes after it
    let st = s.state();
    assert.equal(st.lastSeq, 10);
    assert.equal(st.msgs, 9);
    assertIntact(s, [1, 2, ...range(4, 10)]);
    assert.equal(s.loadMsg(11), null);
    assert.equal(s.storeMsg('sub.3', null, Buffer.from(payload(11)))[0], 11);
    await flushed(s);
    await s.stop();
    const r = await FileStore.open(cfg, { dir });
    st = r.state();
    assert.equal(st.lastSeq, 11);
    assert.equal(st.msgs, 10);
    assert.equal(r.loadMsg(3), null);
    assertIntact(r, [1, 2, ...range(4, 11)]);
    await r.stop();
  });
});

describe('file store blocks without messages', () => {
  it('a block of tombstones in the middle keeps lookups right', async () => {
    const dir = join(root, `t${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: 512 });
    for (let i = 1; i <= 60; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    // interior deletes only: tombstones fill blocks of their own
    for (let i = 2; i <= 58; i += 2) s.removeMsg(i);
    for (let i = 61; i <= 80; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    await new Promise((r) => setTimeout(r, 50));
    const live = [...range(1, 59).filter((i) => i % 2 === 1), 60, ...range(61, 80)];
    assertIntact(s, live);
    const before = s.state();
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: 512 });
    assert.deepEqual(s.state(), before);
    assertIntact(s, live);
    for (let i = 2; i <= 58; i += 2) assert.equal(s.loadMsg(i), null);
    await s.stop();
  });
});

describe('file store compaction keeps what recovery needs', () => {
  it('front removals recorded only in a compacted block stay removed', async () => {
    const dir = join(root, `c${n++}`);
    let s = await FileStore.open(cfg, { dir, blockSize: 512 });
    for (let i = 1; i <= 30; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    for (let i = 1; i <= 2; i++) s.removeMsg(i);
    await flushed(s); // the state record saying first = 3 goes to the last block
    for (let i = 31; i <= 60; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    // the first block stays mostly live (not compacted), the block holding
    // the state record is mostly deleted (compacted)
    const keep = (i: number): boolean => (i >= 3 && i <= 12) || i % 7 === 0 || i >= 57;
    for (let i = 13; i <= 60; i++) if (!keep(i)) s.removeMsg(i);
    await flushed(s);
    await new Promise((r) => setTimeout(r, 100));
    await flushed(s);
    const before = s.state();
    assert.equal(before.firstSeq, 3);
    await s.stop();
    s = await FileStore.open(cfg, { dir, blockSize: 512 });
    assert.deepEqual(s.state(), before);
    for (let i = 1; i <= 60; i++) {
      if (keep(i)) assertIntact(s, [i]);
      else assert.equal(s.loadMsg(i), null, `seq ${i} came back`);
    }
    await s.stop();
  });
});

describe('file store keeps the last sequence through compaction', () => {
  for (const how of ['removed last message', 'skip']) {
    it(`after a ${how} in a compacted block`, async () => {
      const dir = join(root, `m${n++}`);
      let s = await FileStore.open(cfg, { dir, blockSize: 512 });
      for (let i = 1; i <= 40; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
      let last = 40;
      if (how === 'skip') last = s.skipMsg();
      else s.removeMsg(40);
      await flushed(s);
      // many tombstones: the block rolls, the one holding 31..40 is mostly deleted
      for (let i = 2; i <= 39; i++) if (i !== 31 && i % 10 !== 0) s.removeMsg(i);
      await flushed(s);
      await new Promise((r) => setTimeout(r, 100));
      await flushed(s);
      const before = s.state();
      assert.equal(before.lastSeq, last);
      await s.stop();
      s = await FileStore.open(cfg, { dir, blockSize: 512 });
      assert.deepEqual(s.state(), before);
      assert.equal(s.storeMsg('sub.1', null, Buffer.from(payload(last + 1)))[0], last + 1);
      await s.stop();
    });
  }
});

describe('file store sync rules', () => {
  it('a numeric syncInterval syncs written blocks periodically; always syncs before the callback', async () => {
    const dir = join(root, `y${n++}`);
    const s = await FileStore.open(cfg, { dir, syncInterval: 40 });
    for (let i = 1; i <= 20; i++) s.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(s);
    const sizes = (): number[] => [...s.syncedSizes()].map(([p, synced]) => fs.statSync(p).size - synced);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(sizes(), [0]);
    await s.stop();
    const a = await FileStore.open(cfg, { dir: join(root, `y${n++}`), syncInterval: 'always' });
    for (let i = 1; i <= 20; i++) a.storeMsg(`sub.${i % 4}`, null, Buffer.from(payload(i)));
    await flushed(a);
    for (const [p, synced] of a.syncedSizes()) assert.equal(synced, fs.statSync(p).size);
    await a.stop();
  });
});
