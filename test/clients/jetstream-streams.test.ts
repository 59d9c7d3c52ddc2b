// Streams through the official JetStream client (@nats-io/jetstream), against
// nats-server 2.9.10 and tsnats, each with JetStream on its own fresh store:
// stream management, publishing with acks and expectations, message get and
// delete, purge, direct get, mirrors and sources, and a restart that keeps
// everything. Both servers must observe the same.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, DiscardPolicy, StorageType, RetentionPolicy } from '@nats-io/jetstream';
import { onBoth, thrown } from './dual.js';

function apiErr(e: unknown): { code?: number; err_code?: number; description?: string } | string {
  if (e instanceof JetStreamApiError) {
    const d = e.apiError();
    return { code: d.code, err_code: d.err_code, description: d.description };
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

describe('jetstream streams (official client)', () => {
  it('manages streams: add, info, update, list, names, delete', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const jsm = await jetstreamManager(nc);
        const acct = await jsm.getAccountInfo();
        const si = await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: StorageType.File });
        assert.equal(si.config.name, 'ORDERS');
        const upd = await jsm.streams.update('ORDERS', { subjects: ['orders.>', 'returns.*'], max_msgs: 1000 });
        await jsm.streams.add({ name: 'MEM', subjects: ['mem.*'], storage: StorageType.Memory, discard: DiscardPolicy.New, max_msgs: 2 });
        const names: string[] = [];
        for await (const n of jsm.streams.names()) names.push(n);
        const listed: string[] = [];
        for await (const s of jsm.streams.list()) listed.push(`${s.config.name}:${s.config.storage}`);
        const dup = apiErr(await thrown(() => jsm.streams.add({ name: 'X', subjects: ['orders.new'] })));
        const missing = apiErr(await thrown(() => jsm.streams.info('NOPE')));
        const deleted = await jsm.streams.delete('MEM');
        const after: string[] = [];
        for await (const n of jsm.streams.names()) after.push(n);
        return {
          limits: acct.limits,
          subjects: upd.config.subjects,
          maxMsgs: upd.config.max_msgs,
          names: names.sort(),
          listed: listed.sort(),
          dup,
          missing,
          deleted,
          after,
        };
      },
      { jetstream: true },
    );
  });

  it('publishes with acks, de-duplication and expectations', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'P', subjects: ['p.*'], duplicate_window: 60e9 });
        const js = jetstream(nc);
        const a1 = await js.publish('p.a', 'one');
        const a2 = await js.publish('p.b', 'two', { msgID: 'id-1' });
        const a3 = await js.publish('p.b', 'two again', { msgID: 'id-1' });
        const a4 = await js.publish('p.a', 'three', { expect: { lastSequence: 2, streamName: 'P' } });
        const e1 = apiErr(await thrown(() => js.publish('p.a', 'x', { expect: { lastSequence: 1 } })));
        const e2 = apiErr(await thrown(() => js.publish('p.a', 'x', { expect: { lastSubjectSequence: 1 } })));
        const a5 = await js.publish('p.a', 'x', { expect: { lastSubjectSequence: 3 } });
        const e3 = apiErr(await thrown(() => js.publish('p.a', 'x', { expect: { lastMsgID: 'nope' } })));
        const e4 = apiErr(await thrown(() => js.publish('p.a', 'x', { expect: { streamName: 'Q' } })));
        // many in flight at once: every ack, in order
        const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => js.publish(`p.${i % 2 ? 'a' : 'b'}`, `m${i}`)));
        const seqs = acks.map((a) => a.seq);
        const info = await jsm.streams.info('P');
        return {
          acks: [a1, a2, a3, a4, a5].map((a) => ({ stream: a.stream, seq: a.seq, duplicate: a.duplicate })),
          errors: [e1, e2, e3, e4],
          ordered: seqs.every((s, i) => s === seqs[0] + i),
          firstSeq: seqs[0],
          state: { messages: info.state.messages, last: info.state.last_seq, subjects: info.state.num_subjects },
        };
      },
      { jetstream: true },
    );
  });

  it('gets, deletes and purges messages; direct get', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'G', subjects: ['g.*'], allow_direct: true });
        const js = jetstream(nc);
        const h = headers();
        h.set('X-Thing', 'yes');
        await js.publish('g.a', 'one');
        await js.publish('g.b', 'two', { headers: h });
        await js.publish('g.a', 'three');
        const m1 = await jsm.streams.getMessage('G', { seq: 2 });
        const last = await jsm.streams.getMessage('G', { last_by_subj: 'g.a' });
        const del = await jsm.streams.deleteMessage('G', 1);
        const gone = await jsm.streams.getMessage('G', { seq: 1 }).then((m) => (m === null ? 'null' : `seq ${m.seq}`), apiErr);
        const direct = await jsm.direct.getMessage('G', { last_by_subj: 'g.b' });
        await js.publish('g.c', 'four');
        await js.publish('g.c', 'five');
        const purged = await jsm.streams.purge('G', { filter: 'g.c', keep: 1 });
        const info = await jsm.streams.info('G', { subjects_filter: '>' });
        const all = await jsm.streams.purge('G');
        return {
          m1: { subject: m1?.subject, data: m1?.string(), hdr: m1?.header.get('X-Thing') },
          last: { seq: last?.seq, data: last?.string() },
          del,
          gone,
          direct: { seq: direct?.seq, data: direct?.string(), hdr: direct?.header.get('X-Thing') },
          purged,
          subjects: info.state.subjects,
          all,
        };
      },
      { jetstream: true },
    );
  });

  it('limits: discard new answers the publisher, discard old keeps the newest', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const jsm = await jetstreamManager(nc);
        const js = jetstream(nc);
        await jsm.streams.add({ name: 'NEW', subjects: ['n'], max_msgs: 2, discard: DiscardPolicy.New });
        await js.publish('n', '1');
        await js.publish('n', '2');
        const full = apiErr(await thrown(() => js.publish('n', '3')));
        await jsm.streams.add({ name: 'OLD', subjects: ['o.*'], max_msgs_per_subject: 1, storage: StorageType.Memory });
        for (let i = 0; i < 5; i++) await js.publish(`o.${i % 2}`, String(i));
        const old = await jsm.streams.info('OLD');
        await jsm.streams.add({ name: 'WQ', subjects: ['wq'], retention: RetentionPolicy.Workqueue });
        await js.publish('wq', 'x');
        const wq = await jsm.streams.info('WQ');
        return { full, old: [old.state.messages, old.state.first_seq, old.state.last_seq], wq: wq.state.messages };
      },
      { jetstream: true },
    );
  });

  it('mirrors and sources copy from their origins', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        const jsm = await jetstreamManager(nc);
        const js = jetstream(nc);
        await jsm.streams.add({ name: 'O1', subjects: ['o1.*'] });
        await jsm.streams.add({ name: 'O2', subjects: ['o2.*'] });
        for (let i = 0; i < 5; i++) await js.publish(`o1.${i}`, `a${i}`);
        for (let i = 0; i < 3; i++) await js.publish(`o2.${i}`, `b${i}`);
        await jsm.streams.add({ name: 'M', mirror: { name: 'O1' } });
        await jsm.streams.add({ name: 'S', sources: [{ name: 'O1', filter_subject: 'o1.1' }, { name: 'O2' }] });
        await js.publish('o1.1', 'late');
        const wait = async (name: string, n: number) => {
          for (let i = 0; i < 100; i++) {
            const si = await jsm.streams.info(name);
            if (si.state.messages >= n) return si;
            await new Promise((r) => setTimeout(r, 50));
          }
          return jsm.streams.info(name);
        };
        const m = await wait('M', 6);
        const s = await wait('S', 5);
        const sm = await jsm.streams.getMessage('S', { last_by_subj: 'o1.1' });
        const mm = await jsm.streams.getMessage('M', { seq: 6 });
        return {
          mirror: { msgs: m.state.messages, last: m.state.last_seq, name: m.mirror?.name, lag: m.mirror?.lag },
          sources: { msgs: s.state.messages, names: (s.sources ?? []).map((x) => x.name).sort() },
          sourced: { data: sm?.string(), hdr: sm?.header.get('Nats-Stream-Source') },
          mirrored: { data: mm?.string(), subject: mm?.subject },
        };
      },
      { jetstream: true },
    );
  });

  it('a restart keeps streams and messages of the file store', async () => {
    await onBoth(
      async (t) => {
        let nc = await t.connect();
        let jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: 'K', subjects: ['k.*'], max_msgs_per_subject: 2 });
        const js = jetstream(nc);
        for (let i = 0; i < 10; i++) await js.publish(`k.${i % 3}`, `v${i}`, { msgID: `id${i}` });
        await jsm.streams.deleteMessage('K', 10);
        const before = await jsm.streams.info('K');
        await nc.close();
        await t.restart();
        nc = await t.connect();
        jsm = await jetstreamManager(nc);
        const after = await jsm.streams.info('K');
        const js2 = jetstream(nc);
        const dup = await js2.publish('k.0', 'again', { msgID: 'id9' });
        const next = await js2.publish('k.0', 'new');
        const m = await jsm.streams.getMessage('K', { last_by_subj: 'k.1' });
        const pick = (s: typeof before.state) => [s.messages, s.bytes, s.first_seq, s.last_seq, s.num_subjects];
        return { before: pick(before.state), after: pick(after.state), dup: [dup.seq, dup.duplicate], next: next.seq, last: m?.string() };
      },
      { jetstream: true },
    );
  });
});
