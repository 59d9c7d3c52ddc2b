// Group commit: what a stream's commit costs per acknowledged message, and
// the store's side of it (flushed(), the synchronous batch write of a store
// that does not sync always, and that batch failing half-way).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Server } from '../../../src/index.js';
import type { JetStream } from '../../../src/jetstream/service.js';
import type { Stream } from '../../../src/jetstream/stream.js';
import { FileStore, fileIo } from '../../../src/jetstream/store/file.js';
import { MemoryStore } from '../../../src/jetstream/store/memory.js';
import { flushed, storeConfig } from '../../helpers/store.js';
import { tempDir } from '../../helpers/tmp.js';

const root = tempDir('tsnats-commit-');
let n = 0;
const body = (i: number): Buffer => Buffer.from(`message ${i} `.padEnd(100, 'x'));

describe('commits of a publisher that waits for each ack (embedded server)', () => {
  let server: Server;
  let nc: NatsConnection;
  const dec = new TextDecoder();

  before(async () => {
    server = new Server({ host: '127.0.0.1', port: -1, jetstream: true, storeDir: join(root, 'srv') } as never);
    await server.start();
    nc = await connect({ servers: server.clientURL(), reconnect: false });
  });
  after(async () => {
    await nc.close();
    await server.shutdown();
  });

  const streamOf = (name: string): Stream => (server.jetstream as unknown as JetStream).accounts.get('$G')!.streams.get(name)!;

  for (const storage of ['file', 'memory'] as const) {
    it(`${storage} stream: one commit per message, and no flush callback once the turn's batch is written`, async () => {
      const name = `C${storage}`;
      const r = await nc.request(`$JS.API.STREAM.CREATE.${name}`, JSON.stringify({ name, subjects: [`${storage}.>`], storage }));
      assert.equal(JSON.parse(dec.decode(r.data)).error, undefined);
      const s = streamOf(name);
      const counts = { commit: 0, flush: 0 };
      const commit = s.commit.bind(s);
      s.commit = () => {
        counts.commit++;
        commit();
      };
      const store = s.store;
      const flush = store.flush.bind(store);
      store.flush = (cb) => {
        counts.flush++;
        flush(cb);
      };
      const N = 200;
      for (let i = 1; i <= N; i++) {
        const a = JSON.parse(dec.decode((await nc.request(`${storage}.k${i % 7}`, body(i))).data)) as { seq: number };
        assert.equal(a.seq, i);
      }
      // give a second, empty commit (the bug this guards against) its turn
      await new Promise((res) => setImmediate(res));
      assert.equal(counts.commit, N, 'a message and its ack asked for one commit, not two');
      assert.equal(counts.flush, 0, 'the store had written each batch before the commit ran');
      assert.equal(store.state().msgs, N);
      assert.ok(store.flushed());
    });
  }
});

describe('flushed()', () => {
  it('file store: false while anything stored or removed is unwritten, true once written', async () => {
    const s = await FileStore.open(storeConfig(), { dir: join(root, `f${n++}`) });
    assert.ok(s.flushed(), 'an empty store has nothing to write');
    s.storeMsg('a', null, body(1));
    s.storeMsg('b', null, body(2));
    s.storeMsg('c', null, body(3));
    assert.equal(s.flushed(), false);
    await flushed(s);
    assert.ok(s.flushed());
    // a removal from the middle writes a tombstone
    s.removeMsg(2);
    assert.equal(s.flushed(), false);
    await flushed(s);
    assert.ok(s.flushed());
    // a removal from the front writes the new first sequence
    s.removeMsg(1);
    assert.equal(s.flushed(), false);
    await flushed(s);
    assert.ok(s.flushed());
    await s.stop();
    assert.equal(s.flushed(), false, 'a closed store');
  });

  it('file store that syncs always: never without a flush (its callback waits for the sync)', async () => {
    const s = await FileStore.open(storeConfig(), { dir: join(root, `f${n++}`), syncInterval: 'always' });
    s.storeMsg('a', null, body(1));
    await flushed(s);
    assert.equal(s.flushed(), false);
    await s.stop();
  });

  it('memory store: true until closed', async () => {
    const s = new MemoryStore(storeConfig({ storage: 'memory' }));
    s.storeMsg('a', null, body(1));
    assert.ok(s.flushed());
    await s.stop();
    assert.equal(s.flushed(), false);
  });
});

describe('a batch written at once, failing half-way', () => {
  it('a batch over two blocks whose second write fails: the whole batch goes, also from the first block, on disk too', async () => {
    const dir = join(root, `f${n++}`);
    // ~130-byte records, 1 KiB blocks: 7 to a block
    const s = await FileStore.open(storeConfig(), { dir, blockSize: 1024 });
    for (let i = 1; i <= 3; i++) s.storeMsg(`s.${i}`, null, body(i));
    await flushed(s);
    const origSync = fileIo.writeSync;
    const origWrite = fileIo.write;
    let writes = 0;
    fileIo.writeSync = ((...a: Parameters<typeof origSync>) => {
      if (++writes === 2) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      return origSync(...a);
    }) as typeof origSync;
    fileIo.write = () => assert.fail('the store does not sync always: its batches are written at once');
    let err: Error | null = null;
    try {
      // 4 more fill the first block, the rest go to a second one
      for (let i = 4; i <= 12; i++) s.storeMsg(`s.${i}`, null, body(i));
      err = await new Promise<Error | null>((res) => s.flush(res));
    } finally {
      fileIo.writeSync = origSync;
      fileIo.write = origWrite;
    }
    assert.equal(writes, 2, 'the first block was written, the second failed');
    assert.match(err?.message ?? '', /EIO/);
    assert.equal(s.state().lastSeq, 3);
    assert.equal(s.state().msgs, 3);
    assert.equal(s.loadMsg(4), null);
    // sequences resume after the last written one
    assert.equal(s.storeMsg('s.x', null, body(4))[0], 4);
    await flushed(s);
    await s.stop();
    // what the failed batch had got into the first block's file is gone from it too
    const r = await FileStore.open(storeConfig(), { dir, blockSize: 1024 });
    const st = r.state();
    assert.equal(st.lastSeq, 4);
    assert.equal(st.msgs, 4);
    for (let i = 1; i <= 3; i++) assert.deepEqual(r.loadMsg(i)?.data, body(i));
    assert.equal(r.loadMsg(4)?.subject, 's.x');
    assert.ok(fs.readdirSync(join(dir, 'msgs')).filter((f) => f.endsWith('.blk')).length >= 1);
    await r.stop();
  });
});
