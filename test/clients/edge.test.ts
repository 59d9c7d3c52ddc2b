// Less common but legal client usage with the official nats.js client,
// against the reference and tsnats: verbose/pedantic connections, unusual but
// valid subjects, many subscriptions, a large burst to several subscribers,
// a client-forced reconnect, client pings.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onBoth, record, settle, within } from './dual.js';

describe('connection options', () => {
  it('verbose + pedantic connection: pub/sub/request work (the client consumes the +OKs)', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ verbose: true, pedantic: true });
      const r = record(nc, 'vp.x');
      nc.subscribe('vp.svc', { callback: (_e, m) => void m.respond('ok') });
      await nc.flush();
      for (let i = 0; i < 50; i++) nc.publish('vp.x', String(i));
      const rep = await nc.request('vp.svc', 'q', { timeout: 10_000 });
      await nc.flush();
      assert.equal(r.msgs.length, 50);
      assert.equal(rep.string(), 'ok');
      assert.equal(nc.isClosed(), false);
      return [r.msgs.length, rep.string()];
    });
  });

  it('client pings (short pingInterval) are answered: the connection never goes stale', async () => {
    await onBoth(async (t) => {
      // 20 unanswered pings (2 s at 100 ms) would make the client declare the connection stale
      const nc = await t.connect({ pingInterval: 100, maxPingOut: 20, reconnect: false });
      const statuses: string[] = [];
      let maxPending = 0;
      await within(
        (async () => {
          let pings = 0;
          for await (const s of nc.status()) {
            statuses.push(s.type);
            if (s.type === 'ping') {
              maxPending = Math.max(maxPending, s.pendingPings);
              if (++pings >= 30) return;
            }
          }
        })(),
        'thirty client pings',
        60_000,
      );
      await nc.flush();
      assert.equal(nc.isClosed(), false);
      assert.ok(maxPending < 20, `pings went unanswered (max pending ${maxPending})`);
      const other = statuses.filter((x) => x !== 'ping');
      assert.deepEqual(other, []);
      return other;
    });
  });

  it('nc.reconnect(): the client drops and re-establishes the connection, subscriptions still work', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const r = record(nc, 'fr.x');
      await nc.flush();
      const id1 = nc.info!.client_id;
      const back = within(
        (async () => {
          for await (const s of nc.status()) if (s.type === 'reconnect') return;
        })(),
        'reconnect',
        60_000,
      );
      await nc.reconnect();
      await back;
      await nc.flush();
      const other = await t.connect();
      other.publish('fr.x', 'after');
      await other.flush();
      await nc.flush();
      assert.deepEqual(r.texts(), ['after']);
      assert.notEqual(nc.info!.client_id, id1);
      return r.texts();
    });
  });
});

describe('subjects', () => {
  it('non-ASCII, long, and many-token subjects are matched exactly', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const uni = 'ünï.cødé.日本';
      const long = 'l.' + 'x'.repeat(2000);
      const many = Array.from({ length: 100 }, (_, i) => `t${i}`).join('.');
      const ru = record(nc, uni);
      const rl = record(nc, long);
      const rm = record(nc, many);
      const rw = record(nc, 't0.t1.>');
      const rs = record(nc, 'ünï.*.日本');
      await nc.flush();
      nc.publish(uni, 'u');
      nc.publish(long, 'l');
      nc.publish(many, 'm');
      nc.publish('ünï.other.日本', 'u2');
      await nc.flush();
      const got = { uni: ru.texts(), long: rl.texts(), many: rm.texts(), wild: rw.texts(), star: rs.texts() };
      assert.deepEqual(got, { uni: ['u'], long: ['l'], many: ['m'], wild: ['m'], star: ['u', 'u2'] });
      assert.equal(ru.msgs[0]!.subject, uni);
      return got;
    });
  });

  it('reply subjects with wildcard-looking but legal characters pass through', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'rp.x');
      await nc.flush();
      nc.publish('rp.x', 'a', { reply: 'reply.with-dash_and~tilde.123' });
      nc.publish('rp.x', 'b', { reply: '_INBOX.abc.def' });
      await nc.flush();
      const replies = r.msgs.map((m) => m.reply);
      assert.deepEqual(replies, ['reply.with-dash_and~tilde.123', '_INBOX.abc.def']);
      return replies;
    });
  });
});

describe('scale', () => {
  it('5000 subscriptions on one connection, each gets its own message; after unsubscribing all, nothing arrives', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const counts = new Array<number>(5000).fill(0);
      const subs = counts.map((_, i) => nc.subscribe(`sc.${i}`, { callback: () => void counts[i]!++ }));
      await nc.flush();
      const pub = await t.connect();
      for (let i = 0; i < 5000; i++) pub.publish(`sc.${i}`, 'x');
      await pub.flush();
      await nc.flush();
      assert.ok(counts.every((c) => c === 1));
      for (const s of subs) s.unsubscribe();
      await nc.flush();
      for (let i = 0; i < 5000; i++) pub.publish(`sc.${i}`, 'y');
      await pub.flush();
      await nc.flush();
      assert.equal(nc.stats().inMsgs, 5000);
      return nc.stats().inMsgs;
    });
  });

  it('a burst of 20000 x 1 KiB messages to three subscribers: every one gets all, in order', async () => {
    await onBoth(async (t) => {
      const subs = await Promise.all([t.connect(), t.connect(), t.connect()]);
      const seqs = subs.map(() => [] as number[]);
      subs.forEach((nc, k) =>
        nc.subscribe('burst', {
          callback: (_e, m) => void seqs[k]!.push(m.data[0]! | (m.data[1]! << 8)),
        }),
      );
      await settle(subs, 1);
      const pub = await t.connect();
      for (let i = 0; i < 20000; i++) {
        // a fresh buffer each time: the client may hold on to the one it was given
        const body = new Uint8Array(1024);
        body[0] = i & 0xff;
        body[1] = (i >> 8) & 0xff;
        pub.publish('burst', body);
      }
      await within(pub.flush(), 'publisher flush', 60_000);
      await within(settle(subs, 1), 'subscriber flushes', 60_000);
      const expected = Array.from({ length: 20000 }, (_, i) => i & 0xffff);
      for (const s of seqs) assert.deepEqual(s, expected);
      return seqs.map((s) => s.length);
    });
  });

  it('fan-in: 10 publishers x 500 messages to one subscriber, per-publisher order kept', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const r = record(sub, 'fanin.>');
      await sub.flush();
      const pubs = await Promise.all(Array.from({ length: 10 }, () => t.connect()));
      pubs.forEach((p, k) => {
        for (let i = 0; i < 500; i++) p.publish(`fanin.${k}`, String(i));
      });
      await settle(pubs, 1);
      await sub.flush();
      assert.equal(r.msgs.length, 5000);
      const per = Array.from({ length: 10 }, (_, k) => r.msgs.filter((m) => m.subject === `fanin.${k}`).map((m) => Number(m.string())));
      for (const seq of per) assert.deepEqual(seq, Array.from({ length: 500 }, (_, i) => i));
      return per.map((s) => s.length);
    });
  });
});
