// One suite, run against every stream store (memory and file): the same
// operations must give the same answers whatever keeps the bytes.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../../src/jetstream/store/memory.js';
import { FileStore } from '../../../src/jetstream/store/file.js';
import {
  StoreError,
  memStoreMsgSize,
  fileStoreMsgSize,
  type StoreConfig,
  type StreamStore,
  type ConsumerState,
} from '../../../src/jetstream/store/types.js';
import { flushed, storeConfig } from '../../helpers/store.js';

const tmpRoot = mkdtempSync(join(tmpdir(), 'tsnats-store-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let dirN = 0;

function cfgOf(over: Partial<StoreConfig> = {}): StoreConfig {
  return storeConfig({ storage: 'memory', ...over });
}

interface Factory {
  name: string;
  size: typeof memStoreMsgSize;
  make(over?: Partial<StoreConfig>): Promise<StreamStore>;
  /** stop and open again from what it left (memory: none) */
  reopen?: (s: StreamStore) => Promise<StreamStore>;
}

const dirs = new WeakMap<StreamStore, { dir: string; cfg: StoreConfig }>();

/** a file store of 4 KiB blocks; windowBytes: its last block's write window (default: 128 KiB, more than a block) */
function fileFactory(name: string, windowBytes?: number): Factory {
  const opts = { blockSize: 4096, windowBytes };
  return {
    name,
    size: fileStoreMsgSize,
    make: async (over) => {
      const dir = join(tmpRoot, `s${dirN++}`);
      const cfg = cfgOf({ ...over, storage: 'file' });
      const s = await FileStore.open(cfg, { dir, ...opts });
      dirs.set(s, { dir, cfg });
      return s;
    },
    reopen: async (s) => {
      const { dir, cfg } = dirs.get(s)!;
      await s.stop();
      const n = await FileStore.open(cfg, { dir, ...opts });
      dirs.set(n, { dir, cfg });
      return n;
    },
  };
}

const factories: Factory[] = [
  {
    name: 'memory',
    size: memStoreMsgSize,
    make: async (over) => new MemoryStore(cfgOf({ ...over, storage: 'memory' })),
  },
  fileFactory('file'),
  // a last block that drops what it wrote every few hundred bytes: reads
  // below its window go to the file (FileStore.slideWindow)
  fileFactory('file with a small write window', 300),
];

const b = (s: string): Buffer => Buffer.from(s);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StoreError, `not a StoreError: ${String(e)}`);
    return e.code;
  }
  return 'none';
}

for (const f of factories) {
  describe(`${f.name} store`, () => {
    it('stores, loads and accounts bytes', async () => {
      const s = await f.make();
      assert.deepEqual(s.state().firstSeq, 0);
      const [seq, ts] = s.storeMsg('foo', null, b('hello'));
      assert.equal(seq, 1);
      assert.ok(ts > 0);
      const hdr = b('NATS/1.0\r\nA: b\r\n\r\n');
      const [seq2] = s.storeMsg('bar', hdr, b('world'));
      assert.equal(seq2, 2);
      const m1 = s.loadMsg(1)!;
      assert.equal(m1.subject, 'foo');
      assert.equal(m1.hdr, null);
      assert.equal(m1.data.toString(), 'hello');
      assert.equal(m1.ts, ts);
      const m2 = s.loadMsg(2)!;
      assert.deepEqual(m2.hdr, hdr);
      assert.equal(m2.data.toString(), 'world');
      assert.equal(s.loadMsg(3), null);
      const st = s.state();
      assert.equal(st.msgs, 2);
      assert.equal(st.bytes, f.size('foo', null, b('hello')) + f.size('bar', hdr, b('world')));
      assert.equal(st.firstSeq, 1);
      assert.equal(st.lastSeq, 2);
      assert.equal(st.numSubjects, 2);
      await flushed(s);
      await s.stop();
    });

    it('stored data is a copy of the caller buffer', async () => {
      const s = await f.make();
      const data = b('abc');
      s.storeMsg('x', null, data);
      data[0] = 0x7a;
      assert.equal(s.loadMsg(1)!.data.toString(), 'abc');
      await s.stop();
    });

    it('reports storage updates', async () => {
      const s = await f.make({ maxMsgs: 1 });
      const ev: [number, number, number, string][] = [];
      s.registerStorageUpdates((m, by, seq, subj) => ev.push([m, by, seq, subj]));
      s.storeMsg('a', null, b('1'));
      s.storeMsg('b', null, b('2'));
      const sz = f.size('a', null, b('1'));
      assert.deepEqual(ev, [
        [1, sz, 1, 'a'],
        [-1, -sz, 1, 'a'],
        [1, sz, 2, 'b'],
      ]);
      await s.stop();
    });

    it('max_msgs with discard old drops the oldest', async () => {
      const s = await f.make({ maxMsgs: 3 });
      for (let i = 0; i < 10; i++) s.storeMsg('a', null, b(String(i)));
      const st = s.state();
      assert.equal(st.msgs, 3);
      assert.equal(st.firstSeq, 8);
      assert.equal(st.lastSeq, 10);
      assert.equal(s.loadMsg(7), null);
      assert.equal(s.loadMsg(8)!.data.toString(), '7');
      await s.stop();
    });

    it('max_msgs with discard new refuses', async () => {
      const s = await f.make({ maxMsgs: 2, discard: 'new' });
      s.storeMsg('a', null, b('1'));
      s.storeMsg('a', null, b('2'));
      assert.equal(codeOf(() => s.storeMsg('a', null, b('3'))), 'max-msgs');
      assert.equal(s.state().msgs, 2);
      assert.equal(s.state().lastSeq, 2);
      await s.stop();
    });

    it('max_bytes with discard old and new', async () => {
      const one = f.size('a', null, b('0123456789'));
      const s = await f.make({ maxBytes: one * 3 });
      for (let i = 0; i < 5; i++) s.storeMsg('a', null, b('0123456789'));
      assert.equal(s.state().msgs, 3);
      assert.equal(s.state().bytes, one * 3);
      assert.equal(s.state().firstSeq, 3);
      await s.stop();
      // server/memstore.go: discard new refuses when bytes + raw length >= max_bytes
      const n = await f.make({ maxBytes: one * 3, discard: 'new' });
      let stored = 0;
      for (let i = 0; i < 5; i++) {
        if (codeOf(() => n.storeMsg('a', null, b('0123456789'))) === 'none') stored++;
      }
      assert.equal(stored, 3);
      assert.equal(codeOf(() => n.storeMsg('a', null, b('0123456789'))), 'max-bytes');
      assert.equal(n.state().firstSeq, 1);
      await n.stop();
    });

    it('max_msg_size refuses large messages', async () => {
      const s = await f.make({ maxMsgSize: 4 });
      s.storeMsg('a', null, b('1234'));
      assert.equal(codeOf(() => s.storeMsg('a', null, b('12345'))), 'too-large');
      assert.equal(s.state().msgs, 1);
      await s.stop();
    });

    it('max_msgs_per_subject keeps the newest of each subject', async () => {
      const s = await f.make({ maxMsgsPerSubject: 2 });
      for (let i = 1; i <= 9; i++) s.storeMsg(`k.${i % 3}`, null, b(String(i)));
      const ss = s.subjectsState('');
      assert.equal(ss.size, 3);
      for (const [, v] of ss) assert.equal(v.msgs, 2);
      assert.deepEqual(ss.get('k.1'), { msgs: 2, first: 4, last: 7 });
      assert.equal(s.state().msgs, 6);
      assert.equal(s.state().firstSeq, 4);
      assert.equal(s.state().numDeleted, 0);
      s.storeMsg('k.0', null, b('10'));
      assert.deepEqual(s.deletedSeqs(), [6]);
      assert.equal(s.state().numDeleted, 1);
      assert.equal(s.loadLastMsg('k.2')!.seq, 8);
      // lowering the limit applies at once
      s.updateConfig(cfgOf({ maxMsgsPerSubject: 1, storage: s.type }));
      assert.equal(s.state().msgs, 3);
      assert.deepEqual(s.subjectsState('k.0').get('k.0'), { msgs: 1, first: 10, last: 10 });
      assert.equal(s.state().firstSeq, 7);
      assert.deepEqual(s.deletedSeqs(), [9]);
      await s.stop();
    });

    it('max_msgs_per_subject with discard new: replaces, or refuses per subject', async () => {
      const s = await f.make({ maxMsgsPerSubject: 1, maxMsgs: 2, discard: 'new' });
      s.storeMsg('a', null, b('1'));
      s.storeMsg('b', null, b('1'));
      assert.equal(codeOf(() => s.storeMsg('c', null, b('1'))), 'max-msgs');
      // at the subject limit the new message replaces the old one
      assert.equal(codeOf(() => s.storeMsg('a', null, b('2'))), 'none');
      assert.equal(s.state().msgs, 2);
      assert.equal(s.loadLastMsg('a')!.data.toString(), '2');
      await s.stop();
      const p = await f.make({ maxMsgsPerSubject: 1, discard: 'new', discardNewPerSubject: true });
      p.storeMsg('a', null, b('1'));
      assert.equal(codeOf(() => p.storeMsg('a', null, b('2'))), 'max-msgs-per-subject');
      await p.stop();
    });

    it('max_age expires messages with one timer', async () => {
      const s = await f.make({ maxAge: 150e6 });
      s.storeMsg('a', null, b('1'));
      s.storeMsg('a', null, b('2'));
      await new Promise((r) => setTimeout(r, 100));
      s.storeMsg('a', null, b('3'));
      assert.equal(s.state().msgs, 3);
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(s.state().msgs, 1);
      assert.equal(s.state().firstSeq, 3);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(s.state().msgs, 0);
      assert.equal(s.state().firstSeq, 4);
      assert.equal(s.state().lastSeq, 3);
      await s.stop();
    });

    it('interior deletes, remove and erase', async () => {
      const s = await f.make();
      for (let i = 1; i <= 5; i++) s.storeMsg('a', null, b(`m${i}`));
      assert.equal(s.removeMsg(3), true);
      assert.equal(s.removeMsg(3), false);
      assert.equal(s.eraseMsg(4), true);
      assert.equal(s.loadMsg(4), null);
      assert.equal(s.removeMsg(99), false);
      let st = s.state();
      assert.equal(st.msgs, 3);
      assert.equal(st.numDeleted, 2);
      assert.deepEqual(s.deletedSeqs(), [3, 4]);
      assert.equal(s.removeMsg(1), true);
      st = s.state();
      assert.equal(st.firstSeq, 2);
      assert.equal(st.numDeleted, 2);
      assert.equal(s.loadNextMsg('', 3)!.seq, 5);
      assert.equal(s.removeMsg(2), true);
      assert.equal(s.state().firstSeq, 5);
      assert.equal(s.state().numDeleted, 0);
      await s.stop();
    });

    it('purge keeps the sequence going', async () => {
      const s = await f.make();
      for (let i = 0; i < 5; i++) s.storeMsg('a', null, b('x'));
      assert.equal(s.purge(), 5);
      let st = s.state();
      assert.equal(st.msgs, 0);
      assert.equal(st.bytes, 0);
      assert.equal(st.firstSeq, 6);
      assert.equal(st.lastSeq, 5);
      assert.equal(st.numSubjects, 0);
      assert.equal(s.storeMsg('a', null, b('y'))[0], 6);
      st = s.state();
      assert.equal(st.firstSeq, 6);
      assert.equal(st.msgs, 1);
      await s.stop();
    });

    it('purgeEx by subject, by sequence and with keep', async () => {
      const s = await f.make();
      for (let i = 1; i <= 12; i++) s.storeMsg(`p.${i % 3}`, null, b(String(i)));
      assert.equal(codeOf(() => s.purgeEx('', 5, 2)), 'purge-arg-mismatch');
      // subject only
      assert.equal(s.purgeEx('p.0', 0, 0), 4);
      assert.equal(s.subjectsTotals('p.0').size, 0);
      // subject below a sequence
      assert.equal(s.purgeEx('p.1', 8, 0), 3);
      assert.deepEqual(s.subjectsState('p.1').get('p.1'), { msgs: 1, first: 10, last: 10 });
      // wildcard with keep: the newest `keep` of all matching stay
      for (let i = 0; i < 4; i++) s.storeMsg('q.a', null, b('x'));
      for (let i = 0; i < 4; i++) s.storeMsg('q.b', null, b('x'));
      assert.equal(s.purgeEx('q.*', 0, 3), 5);
      assert.equal(s.filteredState(1, 'q.*').msgs, 3);
      assert.deepEqual(s.subjectsTotals('q.*'), new Map([['q.b', 3]]));
      // all with keep
      const before = s.state().msgs;
      assert.equal(s.purgeEx('', 0, 2), before - 2);
      assert.equal(s.state().msgs, 2);
      assert.equal(s.state().firstSeq, s.state().lastSeq - 1);
      // all below a sequence = compact
      const last = s.state().lastSeq;
      assert.equal(s.purgeEx('>', last, 0), 1);
      assert.equal(s.state().firstSeq, last);
      await s.stop();
    });

    it('compact removes below a sequence; past the end it purges', async () => {
      const s = await f.make();
      for (let i = 1; i <= 10; i++) s.storeMsg(`c.${i % 2}`, null, b(String(i)));
      assert.equal(s.compact(4), 3);
      assert.equal(s.state().firstSeq, 4);
      assert.equal(s.state().msgs, 7);
      assert.deepEqual(s.subjectsState('c.1').get('c.1'), { msgs: 3, first: 5, last: 9 });
      assert.equal(s.compact(2), 0);
      assert.equal(s.compact(20), 7);
      const st = s.state();
      assert.equal(st.msgs, 0);
      assert.equal(st.firstSeq, 20);
      assert.equal(st.lastSeq, 19);
      assert.equal(s.storeMsg('c.1', null, b('x'))[0], 20);
      await s.stop();
    });

    it('getSeqFromTime', async () => {
      const s = await f.make();
      const ts: number[] = [];
      for (let i = 0; i < 10; i++) ts.push(s.storeMsg('t', null, b(String(i)), 1_000_000 * (i + 1))[1]);
      assert.equal(s.getSeqFromTime(0), 1);
      assert.equal(s.getSeqFromTime(ts[4]!), 5);
      assert.equal(s.getSeqFromTime(ts[4]! + 1), 6);
      assert.equal(s.getSeqFromTime(ts[9]! + 1), 11);
      s.removeMsg(6);
      assert.equal(s.getSeqFromTime(ts[4]! + 1), 7);
      await s.stop();
    });

    it('lastSeqOf follows removals and new messages', async () => {
      const s = await f.make();
      assert.equal(s.lastSeqOf(''), 0);
      for (let i = 1; i <= 10; i++) s.storeMsg(`k.${i % 3}`, null, b(String(i)));
      assert.equal(s.lastSeqOf('k.1'), 10);
      assert.equal(s.removeMsg(10), true);
      assert.equal(s.lastSeqOf('k.1'), 7);
      assert.equal(s.lastSeqOf('k.*'), 9);
      assert.equal(s.lastSeqOf(''), 9);
      s.storeMsg('k.1', null, b('11'));
      assert.equal(s.lastSeqOf('k.1'), 11);
      assert.equal(s.purgeEx('k.1', 0, 0), 4);
      assert.equal(s.lastSeqOf('k.1'), 0);
      assert.equal(s.lastSeqOf('>'), 9);
      if (f.reopen) {
        const r = await f.reopen(s);
        assert.equal(r.lastSeqOf('k.2'), 8);
        assert.equal(r.lastSeqOf('k.1'), 0);
        await r.stop();
      } else await s.stop();
    });

    it('wildcard filters: loadNextMsg, loadLastMsg, filteredState, subjects', async () => {
      const s = await f.make();
      const subs = ['orders.eu.new', 'orders.us.new', 'orders.eu.done', 'stock.eu', 'orders.us.done'];
      for (let i = 0; i < 20; i++) s.storeMsg(subs[i % 5]!, null, b(String(i + 1)));
      assert.equal(s.loadNextMsg('orders.*.done', 1)!.seq, 3);
      assert.equal(s.loadNextMsg('orders.*.done', 4)!.seq, 5);
      assert.equal(s.loadNextMsg('stock.>', 5)!.seq, 9);
      assert.equal(s.loadNextMsg('nope.>', 1), null);
      assert.equal(s.loadNextMsg('', 21), null);
      assert.equal(s.loadNextMsg('>', 0)!.seq, 1);
      assert.equal(s.loadNextMsg('orders.eu.new', 2)!.seq, 6);
      assert.equal(s.loadLastMsg('orders.eu.*')!.seq, 18);
      assert.equal(s.loadLastMsg('orders.us.new')!.seq, 17);
      assert.equal(s.loadLastMsg('')!.seq, 20);
      assert.equal(s.loadLastMsg('zzz'), null);
      // the same sequences from the index alone
      assert.equal(s.lastSeqOf('orders.eu.*'), 18);
      assert.equal(s.lastSeqOf('orders.us.new'), 17);
      assert.equal(s.lastSeqOf(''), 20);
      assert.equal(s.lastSeqOf('>'), 20);
      assert.equal(s.lastSeqOf('zzz'), 0);
      assert.deepEqual(s.filteredState(1, 'orders.>'), { msgs: 16, first: 1, last: 20 });
      assert.deepEqual(s.filteredState(10, 'orders.eu.*'), { msgs: 4, first: 11, last: 18 });
      assert.deepEqual(s.filteredState(10, 'orders.eu.new'), { msgs: 2, first: 11, last: 16 });
      assert.deepEqual(s.filteredState(18, ''), { msgs: 3, first: 18, last: 20 });
      assert.deepEqual(s.filteredState(30, 'orders.>'), { msgs: 0, first: 0, last: 0 });
      const tot = s.subjectsTotals('orders.*.new');
      assert.deepEqual([...tot].sort(), [
        ['orders.eu.new', 4],
        ['orders.us.new', 4],
      ]);
      assert.equal(s.subjectsTotals('').size, 5);
      assert.deepEqual(s.subjectsState('stock.eu').get('stock.eu'), { msgs: 4, first: 4, last: 19 });
      // the table scan path: many matching subjects
      const m = await f.make();
      for (let i = 0; i < 100; i++) m.storeMsg(`w.${i}`, null, b('x'));
      m.storeMsg('z', null, b('x'));
      assert.equal(m.loadNextMsg('w.*', 50)!.seq, 50);
      assert.equal(m.loadNextMsg('w.*', 101), null);
      assert.equal(m.purgeEx('w.*', 0, 10), 90);
      assert.equal(m.state().msgs, 11);
      await m.stop();
      await s.stop();
    });

    it('skipMsg takes a sequence without a message', async () => {
      const s = await f.make();
      assert.equal(s.skipMsg(), 1);
      assert.equal(s.state().firstSeq, 2);
      assert.equal(s.state().lastSeq, 1);
      s.storeMsg('a', null, b('x'));
      assert.equal(s.skipMsg(), 3);
      s.storeMsg('a', null, b('y'));
      const st = s.state();
      assert.equal(st.firstSeq, 2);
      assert.equal(st.lastSeq, 4);
      assert.equal(st.msgs, 2);
      assert.equal(st.numDeleted, 1);
      assert.equal(s.loadMsg(3), null);
      await s.stop();
    });

    it('storeRawMsg stores at a given sequence', async () => {
      const s = await f.make();
      s.storeRawMsg('a', null, b('x'), 5, 1000);
      assert.equal(s.state().firstSeq, 5);
      assert.equal(s.loadMsg(5)!.ts, 1000);
      assert.equal(codeOf(() => s.storeRawMsg('a', null, b('x'), 5, 2000)), 'sequence-mismatch');
      s.storeRawMsg('a', null, b('y'), 8, 2000);
      assert.equal(s.state().numDeleted, 2);
      assert.equal(s.storeMsg('a', null, b('z'))[0], 9);
      await s.stop();
    });

    it('many messages across many blocks and slides', async () => {
      const s = await f.make({ maxMsgs: 500 });
      for (let i = 1; i <= 5000; i++) s.storeMsg(`m.${i % 7}`, null, b(`payload-${i}`));
      assert.equal(s.state().msgs, 500);
      assert.equal(s.state().firstSeq, 4501);
      for (let i = 4501; i <= 5000; i += 97) assert.equal(s.loadMsg(i)!.data.toString(), `payload-${i}`);
      assert.equal(s.loadLastMsg('m.3')!.seq, 4994);
      await flushed(s);
      await s.stop();
    });

    it('closed store refuses', async () => {
      const s = await f.make();
      await s.stop();
      assert.equal(codeOf(() => s.storeMsg('a', null, b('x'))), 'closed');
    });

    it('consumer state round trip', async () => {
      const s = await f.make();
      const cs = s.consumerStore('dur');
      assert.equal(cs.state(), null);
      cs.setConfig('{"durable_name":"dur"}');
      const st: ConsumerState = {
        delivered: { consumerSeq: 10, streamSeq: 20 },
        ackFloor: { consumerSeq: 5, streamSeq: 15 },
        pending: new Map([[17, { sequence: 7, ts: 123456789 }]]),
        redelivered: new Map([[17, 3]]),
      };
      cs.update(st);
      st.delivered.consumerSeq = 99; // the store keeps what was passed, not later edits
      assert.equal(cs.state()!.delivered.consumerSeq, 10);
      await new Promise<void>((res, rej) => cs.flush((e) => (e ? rej(e) : res())));
      assert.deepEqual(s.consumerNames(), ['dur']);
      if (f.reopen) {
        const r = await f.reopen(s);
        assert.deepEqual(r.consumerNames(), ['dur']);
        const rc = r.consumerStore('dur');
        assert.equal(rc.getConfig(), '{"durable_name":"dur"}');
        const got = rc.state()!;
        assert.deepEqual(got.delivered, { consumerSeq: 10, streamSeq: 20 });
        assert.deepEqual(got.ackFloor, { consumerSeq: 5, streamSeq: 15 });
        assert.deepEqual([...got.pending], [[17, { sequence: 7, ts: 123456789 }]]);
        assert.deepEqual([...got.redelivered], [[17, 3]]);
        await rc.delete();
        assert.deepEqual(r.consumerNames(), []);
        await r.stop();
      } else {
        await cs.delete();
        assert.deepEqual(s.consumerNames(), []);
        await s.stop();
      }
    });

    if (f.reopen) {
      // A replicated stream's consumer stops on the server that stops leading
      // (closing its store), and the group's later states for it still have
      // to reach the disk there.
      it('consumer state given after a stopped consumer store survives a reopen', async () => {
        const s = await f.make();
        const cs = s.consumerStore('dur');
        cs.setConfig('{"durable_name":"dur"}');
        const at = (n: number): ConsumerState => ({ delivered: { consumerSeq: n, streamSeq: n }, ackFloor: { consumerSeq: 1, streamSeq: 1 }, pending: new Map(), redelivered: new Map() });
        cs.update(at(3));
        await cs.stop();
        const again = s.consumerStore('dur');
        assert.deepEqual(again.state()!.delivered, { consumerSeq: 3, streamSeq: 3 });
        again.update(at(6));
        await new Promise<void>((res, rej) => again.flush((e) => (e ? rej(e) : res())));
        const r = await f.reopen!(s);
        assert.deepEqual(r.consumerStore('dur').state()!.delivered, { consumerSeq: 6, streamSeq: 6 });
        await r.stop();
      });

      // loadNextMsgView may lend views of pooled block buffers (file store,
      // blocks read back from disk): each must be its message when read, and
      // the copies other reads return must stay intact while views go by.
      it('loadNextMsgView reads what loadNextMsg reads; copies survive view reads', async () => {
        let s = await f.make();
        const body = (i: number): string => `m${i}:`.padEnd(60 + (i % 50), String.fromCharCode(97 + (i % 26)));
        const hdrOf = (i: number): Buffer | null => (i % 3 === 0 ? b(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : null);
        for (let i = 1; i <= 400; i++) s.storeMsg(`v.${i % 7}`, hdrOf(i), b(body(i)));
        await flushed(s);
        s = await f.reopen!(s);
        const kept: { seq: number; data: Buffer; hdr: Buffer | null }[] = [];
        let last: object | null = null;
        for (let pass = 0; pass < 2; pass++) {
          for (let seq = 1; seq <= 400; seq++) {
            const v = s.loadNextMsgView(pass === 0 ? '' : `v.${seq % 7}`, seq)!;
            assert.equal(v.seq, seq);
            assert.equal(v.subject, `v.${seq % 7}`);
            // headers and payload contiguous, as a delivery writes them
            assert.equal(v.buf.toString('latin1', v.off + v.hl, v.off + v.size), body(seq), `view of ${seq}`);
            assert.deepEqual(v.hl === 0 ? null : v.buf.subarray(v.off, v.off + v.hl), hdrOf(seq), `view header of ${seq}`);
            const c = s.loadMsg(seq)!;
            assert.equal(v.ts, c.ts);
            assert.equal(v.size, (c.hdr?.length ?? 0) + c.data.length);
            // one object per store, refilled: no garbage per message read
            if (last !== null) assert.equal(v, last);
            last = v;
            if (seq % 37 === 0) {
              const c = s.loadNextMsg('', seq)!;
              kept.push({ seq, data: c.data, hdr: c.hdr });
            }
          }
        }
        assert.ok(kept.length > 10);
        for (const k of kept) {
          assert.equal(k.data.toString(), body(k.seq), `copy of ${k.seq} after view reads`);
          assert.deepEqual(k.hdr, hdrOf(k.seq));
        }
        await s.stop();
      });

      it('state survives stop and reopen', async () => {
        let s = await f.make({ maxMsgsPerSubject: 3 });
        for (let i = 1; i <= 300; i++) s.storeMsg(`r.${i % 10}`, i % 2 ? null : b('NATS/1.0\r\n\r\n'), b(`v${i}`));
        s.removeMsg(295);
        s.eraseMsg(296);
        s.skipMsg();
        const before = s.state();
        const subj = [...s.subjectsState('')].sort();
        await flushed(s);
        s = await f.reopen!(s);
        assert.deepEqual(s.state(), before);
        assert.deepEqual([...s.subjectsState('')].sort(), subj);
        assert.equal(s.loadMsg(300)!.data.toString(), 'v300');
        assert.equal(s.loadMsg(295), null);
        assert.equal(s.storeMsg('r.1', null, b('n'))[0], 302);
        // purge then reopen: sequences continue
        s.purge();
        await flushed(s);
        s = await f.reopen!(s);
        assert.equal(s.state().msgs, 0);
        assert.equal(s.state().firstSeq, 303);
        assert.equal(s.storeMsg('r.1', null, b('n'))[0], 303);
        await s.stop();
      });
    }
  });
}

for (const ff of factories.slice(1)) describe(`${ff.name} against the memory store, random operations with reopens`, () => {
  it('same messages, same state', async () => {
    // a small seeded generator: failures replay
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const over: Partial<StoreConfig> = { maxMsgs: 300, maxMsgsPerSubject: 25 };
    const mem = await factories[0]!.make(over);
    let fst = await ff.make(over);
    let ts = 1_000_000;
    const compare = (): void => {
      const a = mem.state();
      const c = fst.state();
      assert.deepEqual(
        { ...c, bytes: 0 },
        { ...a, bytes: 0 },
      );
      assert.deepEqual([...fst.subjectsState('')].sort(), [...mem.subjectsState('')].sort());
      for (let m = mem.loadNextMsg('', 0); m !== null; m = mem.loadNextMsg('', m.seq + 1)) {
        const o = fst.loadMsg(m.seq);
        assert.ok(o, `file store lacks ${m.seq}`);
        assert.equal(o.subject, m.subject);
        assert.equal(o.ts, m.ts);
        assert.deepEqual(o.hdr, m.hdr);
        assert.deepEqual(o.data, m.data);
      }
    };
    for (let i = 0; i < 3000; i++) {
      const op = rnd(100);
      const last = mem.state().lastSeq;
      if (op < 70) {
        const subj = `r.${rnd(12)}`;
        const hdr = rnd(4) === 0 ? b(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : null;
        const data = b(`d${i}-`.padEnd(rnd(200), 'z'));
        ts += 1000;
        mem.storeMsg(subj, hdr, data, ts);
        fst.storeMsg(subj, hdr, data, ts);
      } else if (op < 82) {
        const q = 1 + rnd(last + 1);
        assert.equal(fst.removeMsg(q), mem.removeMsg(q));
      } else if (op < 85) {
        const q = 1 + rnd(last + 1);
        assert.equal(fst.eraseMsg(q), mem.eraseMsg(q));
      } else if (op < 87) {
        assert.equal(fst.skipMsg(), mem.skipMsg());
      } else if (op < 89) {
        const subj = rnd(2) ? `r.${rnd(12)}` : 'r.*';
        const keep = rnd(3) ? 0 : rnd(10);
        const seq = keep > 0 ? 0 : rnd(2) ? 0 : rnd(last + 2);
        assert.equal(fst.purgeEx(subj, seq, keep), mem.purgeEx(subj, seq, keep));
      } else if (op < 90) {
        const q = mem.state().firstSeq + rnd(30);
        assert.equal(fst.compact(q), mem.compact(q));
      } else if (op === 90 && rnd(5) === 0) {
        assert.equal(fst.purge(), mem.purge());
      } else if (op > 96) {
        await flushed(fst);
        if (rnd(2) === 0) fst = await ff.reopen!(fst);
        compare();
      }
    }
    await flushed(fst);
    fst = await ff.reopen!(fst);
    compare();
    await fst.stop();
    await mem.stop();
  });
});
