// Key-value buckets and object stores through the official clients
// (@nats-io/kv Kvm, @nats-io/obj Objm) against nats-server 2.9.10 and
// tsnats, each with JetStream on its own fresh store: both must observe the
// same revisions, histories, watch events, object contents and metadata,
// also after a restart.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kvm, type KvEntry } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { onBoth } from './dual.js';

const dec = new TextDecoder();

function entry(e: KvEntry | null): unknown {
  if (e === null) return null;
  return { key: e.key, value: dec.decode(e.value), revision: e.revision, operation: e.operation, delta: e.delta };
}

describe('key-value and object store (official clients)', () => {
  it('kv: put, get, update, create, delete, purge, history, keys, status', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const kvm = new Kvm(nc);
        const kv = await kvm.create('settings', { history: 5 });
        const r1 = await kv.put('a', 'one');
        const r2 = await kv.put('b.c', 'two');
        const r3 = await kv.put('a', 'three');
        const created = await kv.create('new', 'x');
        const createAgain = await kv.create('new', 'y').then(
          () => 'ok',
          (e: Error) => e.message,
        );
        const upd = await kv.update('a', 'four', r3);
        const updBad = await kv.update('a', 'five', r3).then(
          () => 'ok',
          (e: Error) => e.message,
        );
        await kv.delete('b.c');
        const afterDelete = await kv.get('b.c');
        await kv.purge('new');
        const afterPurge = await kv.get('new');
        const hist: unknown[] = [];
        for await (const e of await kv.history({ key: 'a' })) hist.push(entry(e));
        const keys: string[] = [];
        for await (const k of await kv.keys()) keys.push(k);
        const st = await kv.status();
        const byRev = await kv.get('a', { revision: r1 });
        return {
          revs: [r1, r2, r3, created, upd],
          createAgain,
          updBad,
          afterDelete: entry(afterDelete),
          afterPurge: entry(afterPurge),
          hist,
          keys: keys.sort(),
          status: { values: st.values, history: st.history, bucket: st.bucket },
          byRev: entry(byRev),
          current: entry(await kv.get('a')),
        };
      },
      { jetstream: true },
    );
  });

  it('kv: a watcher sees the initial values then every change', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const kv = await new Kvm(nc).create('w');
        await kv.put('k1', 'a');
        await kv.put('k2', 'b');
        const seen: unknown[] = [];
        const w = await kv.watch();
        const done = (async () => {
          for await (const e of w) {
            seen.push({ key: e.key, op: e.operation, v: dec.decode(e.value), rev: e.revision });
            if (seen.length === 5) break;
          }
        })();
        // the initial values first: a put racing the watcher's start is
        // delivered in either order even by the reference (seen under load)
        const until = Date.now() + 10_000;
        while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        await kv.put('k1', 'c');
        await kv.delete('k2');
        await kv.put('k3', 'd');
        await done;
        return seen;
      },
      { jetstream: true },
    );
  });

  it('kv: max value size, ttl bucket and revisions survive a restart', async () => {
    await onBoth(
      async (t) => {
        let nc = await t.connect();
        const kv = await new Kvm(nc).create('durable', { history: 3, maxValueSize: 16 });
        const big = await kv.put('x', 'y'.repeat(17)).then(
          () => 'ok',
          (e: Error) => e.message,
        );
        for (let i = 0; i < 10; i++) await kv.put(`k${i % 4}`, `v${i}`);
        await nc.close();
        await t.restart();
        nc = await t.connect();
        const kv2 = await new Kvm(nc).open('durable');
        const hist: unknown[] = [];
        for await (const e of await kv2.history({ key: 'k1' })) hist.push(entry(e));
        const next = await kv2.put('k1', 'after');
        const ttl = await new Kvm(nc).create('ttl', { ttl: 60_000 });
        const st = await ttl.status();
        return { big, hist, next, ttl: st.ttl };
      },
      { jetstream: true },
    );
  });

  it('object store: put, get, info, list, delete, links, metadata', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const objm = new Objm(nc);
        const os = await objm.create('files');
        const data = new Uint8Array(300_000);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
        const info = await os.putBlob({ name: 'blob.bin', description: 'test' }, data);
        const small = await os.putBlob({ name: 'small.txt' }, new TextEncoder().encode('hello'));
        const got = await os.getBlob('blob.bin');
        const same = got !== null && got.length === data.length && got.every((b, i) => b === data[i]);
        const link = await os.link('alias', info);
        const viaLink = await os.getBlob('alias');
        const list = (await os.list()).map((o) => `${o.name}:${o.size}:${o.chunks}`).sort();
        await os.delete('small.txt');
        const deleted = await os.info('small.txt');
        await os.update('blob.bin', { name: 'renamed.bin', description: 'moved' });
        const st = await os.status();
        return {
          info: { name: info.name, size: info.size, chunks: info.chunks, digest: info.digest },
          small: { size: small.size, digest: small.digest },
          same,
          link: typeof link,
          viaLink: viaLink?.length,
          list,
          deleted: deleted?.deleted,
          meta: (await os.info('renamed.bin'))?.description ?? null,
          status: { size: st.size, bucket: st.bucket },
        };
      },
      { jetstream: true },
    );
  });
});
