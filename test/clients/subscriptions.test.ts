// Subscription behaviour with the official nats.js client against the
// reference and tsnats: queue groups, auto-unsubscribe (max / unsubscribe(n)),
// draining a subscription and a connection.
//
// Server-side effects are observed through nc.stats().inMsgs, which counts
// every MSG/HMSG the server sent on that connection, including ones the client
// would drop locally.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedConnectionError, DrainingConnectionError, type Msg } from '@nats-io/transport-node';
import { errInfo, onBoth, record, settle, thrown, within } from './dual.js';

const N = 300;

describe('queue groups', () => {
  it(`${N} messages over 3 members: each exactly once, total ${N}, every member used`, async () => {
    await onBoth(async (t) => {
      const members = await Promise.all([t.connect(), t.connect(), t.connect()]);
      const recs = members.map((nc) => record(nc, 'qg.work', { queue: 'workers' }));
      await settle(members, 1);
      const pub = await t.connect();
      for (let i = 0; i < N; i++) pub.publish('qg.work', String(i));
      await pub.flush();
      await settle(members, 1);
      const all = recs.flatMap((r) => r.texts()).map(Number);
      assert.equal(all.length, N);
      assert.deepEqual(
        [...all].sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i),
      );
      // each member sees its share in publish order
      for (const r of recs) {
        const xs = r.texts().map(Number);
        assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
        assert.ok(xs.length > 0, 'a member of the group never got a message');
      }
      // server-side: nothing was sent twice
      assert.equal(members.reduce((s, nc) => s + nc.stats().inMsgs, 0), N);
      return { total: all.length, distinct: new Set(all).size };
    });
  });

  it('three members on one connection: still each message exactly once', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const recs = [0, 1, 2].map(() => record(nc, 'qg.one', { queue: 'g' }));
      await nc.flush();
      for (let i = 0; i < N; i++) nc.publish('qg.one', String(i));
      await nc.flush();
      const total = recs.reduce((s, r) => s + r.msgs.length, 0);
      assert.equal(total, N);
      assert.equal(nc.stats().inMsgs, N);
      assert.equal(new Set(recs.flatMap((r) => r.texts())).size, N);
      return total;
    });
  });

  it('two groups and a plain subscriber: each group gets every message once, the plain one all', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      const g1 = [record(a, 'qg.multi', { queue: 'g1' }), record(b, 'qg.multi', { queue: 'g1' })];
      const g2 = [record(a, 'qg.multi', { queue: 'g2' }), record(b, 'qg.multi', { queue: 'g2' })];
      const plain = record(b, 'qg.multi');
      await settle([a, b], 1);
      const pub = await t.connect();
      for (let i = 0; i < N; i++) pub.publish('qg.multi', String(i));
      await pub.flush();
      await settle([a, b], 1);
      const count = (rs: typeof g1) => rs.reduce((s, r) => s + r.msgs.length, 0);
      const distinct = (rs: typeof g1) => new Set(rs.flatMap((r) => r.texts())).size;
      const out = { g1: count(g1), g1d: distinct(g1), g2: count(g2), g2d: distinct(g2), plain: plain.msgs.length };
      assert.deepEqual(out, { g1: N, g1d: N, g2: N, g2d: N, plain: N });
      return out;
    });
  });

  it('wildcard queue subscriptions: one delivery per group across matching members', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      const recs = [record(a, 'qw.*', { queue: 'g' }), record(b, 'qw.>', { queue: 'g' }), record(a, 'qw.x', { queue: 'g' })];
      await settle([a, b], 1);
      const pub = await t.connect();
      for (let i = 0; i < 100; i++) pub.publish('qw.x', String(i));
      await pub.flush();
      await settle([a, b], 1);
      const total = recs.reduce((s, r) => s + r.msgs.length, 0);
      assert.equal(total, 100);
      return total;
    });
  });

  it('a member leaving the group: the rest get everything afterwards', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      const ra = record(a, 'qg.leave', { queue: 'g' });
      const rb = record(b, 'qg.leave', { queue: 'g' });
      await settle([a, b], 1);
      ra.sub.unsubscribe();
      await a.flush();
      const pub = await t.connect();
      for (let i = 0; i < 50; i++) pub.publish('qg.leave', String(i));
      await pub.flush();
      await settle([a, b], 1);
      assert.equal(ra.msgs.length, 0);
      assert.equal(rb.msgs.length, 50);
      return [ra.msgs.length, rb.msgs.length];
    });
  });
});

describe('auto-unsubscribe', () => {
  it('subscribe({max: 5}): the server stops after 5 (inMsgs), the subscription closes', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'au.max', { max: 5 });
      await nc.flush();
      const pub = await t.connect();
      for (let i = 0; i < 20; i++) pub.publish('au.max', String(i));
      await pub.flush();
      await nc.flush();
      assert.deepEqual(r.texts(), ['0', '1', '2', '3', '4']);
      assert.equal(nc.stats().inMsgs, 5);
      assert.equal(r.sub.getProcessed(), 5);
      assert.equal(r.sub.isClosed(), true);
      return { got: r.texts(), inMsgs: nc.stats().inMsgs };
    });
  });

  it('sub.unsubscribe(3) after 2 deliveries: exactly one more arrives', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'au.later');
      await nc.flush();
      const pub = await t.connect();
      pub.publish('au.later', 'a');
      pub.publish('au.later', 'b');
      await pub.flush();
      await nc.flush();
      assert.equal(r.msgs.length, 2);
      r.sub.unsubscribe(3);
      await nc.flush();
      for (let i = 0; i < 10; i++) pub.publish('au.later', `x${i}`);
      await pub.flush();
      await nc.flush();
      assert.deepEqual(r.texts(), ['a', 'b', 'x0']);
      assert.equal(nc.stats().inMsgs, 3);
      assert.equal(r.sub.isClosed(), true);
      return r.texts();
    });
  });

  it('unsubscribe(n) with n already reached: no further delivery', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'au.reached');
      await nc.flush();
      const pub = await t.connect();
      for (let i = 0; i < 4; i++) pub.publish('au.reached', String(i));
      await pub.flush();
      await nc.flush();
      r.sub.unsubscribe(2);
      await nc.flush();
      for (let i = 0; i < 4; i++) pub.publish('au.reached', String(i));
      await pub.flush();
      await nc.flush();
      assert.equal(nc.stats().inMsgs, 4);
      assert.equal(r.msgs.length, 4);
      return nc.stats().inMsgs;
    });
  });

  it('max on a queue subscription counts only what that member got', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const ra = record(a, 'au.q', { queue: 'g', max: 1 });
      await a.flush();
      const b = await t.connect();
      const rb = record(b, 'au.q', { queue: 'g' });
      await b.flush();
      const pub = await t.connect();
      for (let i = 0; i < 100; i++) pub.publish('au.q', String(i));
      await pub.flush();
      await settle([a, b], 1);
      assert.ok(ra.msgs.length <= 1);
      assert.equal(a.stats().inMsgs, ra.msgs.length);
      assert.equal(ra.msgs.length + rb.msgs.length, 100);
      return ra.msgs.length + rb.msgs.length;
    });
  });
});

describe('drain', () => {
  it('sub.drain(): messages already published are all processed, then the subscription closes', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const seen: string[] = [];
      const sub = nc.subscribe('dr.sub', { callback: (_e, m: Msg) => void seen.push(m.string()) });
      await nc.flush();
      const pub = await t.connect();
      for (let i = 0; i < 500; i++) pub.publish('dr.sub', String(i));
      await pub.flush();
      await within(sub.drain(), 'sub.drain()');
      await within(sub.closed, 'sub.closed');
      assert.equal(sub.isClosed(), true);
      assert.equal(seen.length, 500);
      // the server removed the subscription: later messages are not sent
      for (let i = 0; i < 10; i++) pub.publish('dr.sub', 'late');
      await pub.flush();
      await nc.flush();
      assert.equal(nc.stats().inMsgs, 500);
      assert.equal(nc.isClosed(), false);
      return { seen: seen.length, inMsgs: nc.stats().inMsgs };
    });
  });

  it('sub.drain() with an async iterator: the loop ends after the last message', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const sub = nc.subscribe('dr.iter');
      const loop = (async () => {
        let n = 0;
        for await (const _m of sub) n++;
        return n;
      })();
      await nc.flush();
      for (let i = 0; i < 100; i++) nc.publish('dr.iter', String(i));
      await nc.flush();
      await sub.drain();
      const n = await within(loop, 'iterator end');
      assert.equal(n, 100);
      return n;
    });
  });

  it('nc.drain(): pending subscriptions are processed, own publishes flushed, then closed', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const other = await t.connect();
      const fromOther = record(other, 'dr.out');
      await other.flush();
      const seen: string[] = [];
      nc.subscribe('dr.conn.a', { callback: (_e, m) => void seen.push(m.string()) });
      nc.subscribe('dr.conn.b', { callback: (_e, m) => void seen.push(m.string()) });
      await nc.flush();
      for (let i = 0; i < 200; i++) other.publish(i % 2 ? 'dr.conn.a' : 'dr.conn.b', String(i));
      await other.flush();
      for (let i = 0; i < 100; i++) nc.publish('dr.out', String(i));
      const closed = nc.closed();
      const draining = nc.drain();
      assert.equal(nc.isDraining(), true);
      const e = await thrown(() => nc.subscribe('dr.too.late'));
      await within(draining, 'nc.drain()');
      const res: unknown = await closed;
      assert.equal(res === undefined, true, `closed() resolved with ${String(res)}`);
      assert.equal(nc.isClosed(), true);
      assert.equal(seen.length, 200);
      await other.flush();
      assert.equal(fromOther.msgs.length, 100);
      const p = await thrown(() => nc.publish('dr.after', 'x'));
      assert.ok(p instanceof ClosedConnectionError || p instanceof DrainingConnectionError, `got ${String(p)}`);
      return { seen: seen.length, delivered: fromOther.msgs.length, subscribeWhileDraining: errInfo(e), publishAfter: errInfo(p) };
    });
  });

  it('drain of an idle connection completes', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      await within(nc.drain(), 'nc.drain()');
      assert.equal(nc.isClosed(), true);
      return true;
    });
  });
});
