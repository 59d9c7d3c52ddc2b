// Official nats.js client against the reference nats-server and tsnats:
// connect/close, INFO as the client sees it, rtt, flush, pub/sub, wildcards,
// echo. Each scenario runs against both servers and the outcomes must match.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedConnectionError, RequestError } from '@nats-io/transport-node';
import { errInfo, onBoth, record, thrown } from './dual.js';

describe('connect / close', () => {
  it('connects, closes, closed() resolves without error, and the connection refuses publishes afterwards', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      assert.equal(nc.isClosed(), false);
      assert.equal(nc.getServer(), `127.0.0.1:${t.server.port}`);
      const closed = nc.closed();
      await nc.close();
      const result: unknown = await closed;
      assert.equal(result === undefined, true, `closed() resolved with ${String(result)}`);
      assert.equal(nc.isClosed(), true);
      const e = await thrown(() => nc.publish('after.close', 'x'));
      assert.ok(e instanceof ClosedConnectionError);
      const f = await thrown(() => nc.flush());
      assert.ok(f instanceof ClosedConnectionError);
      return { publishErr: errInfo(e), flushErr: errInfo(f) };
    });
  });

  it('many sequential connections each connect and close cleanly', async () => {
    await onBoth(async (t) => {
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        const nc = await t.connect();
        await nc.flush();
        ids.push(nc.info!.client_id);
        await nc.close();
      }
      // every connection gets a fresh, increasing client id
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `client ids not increasing: ${ids.join(',')}`);
      // From the second connection on: before it, a server may have given a
      // client id to something else that connected just then (the test
      // helpers' readiness probe, seen once from nats-server as a step of 2).
      return { n: ids.length, steps: ids.slice(2).map((v, i) => v - ids[i + 1]!) };
    });
  });
});

describe('INFO as seen by the client', () => {
  it('nc.info: server_id, version 2.9.10, proto, headers, max_payload, host/port, client_ip', async () => {
    const keys = new Map<string, string[]>();
    await onBoth(async (t) => {
      const nc = await t.connect();
      const info = nc.info!;
      assert.ok(info, 'nc.info is set after connect');
      keys.set(t.kind, Object.keys(info));
      assert.match(info.server_id, /^N[A-Z2-7]{55}$/);
      assert.equal(info.server_name, info.server_id);
      assert.equal(info.version, '2.9.10');
      assert.equal(info.proto, 1);
      assert.equal(info.headers, true);
      assert.equal(info.max_payload, 1048576);
      assert.equal(info.host, '127.0.0.1');
      assert.equal(info.port, t.server.port);
      assert.equal(info.client_ip, '127.0.0.1');
      assert.equal(typeof info.client_id, 'number');
      assert.equal(typeof info.go, 'string');
      assert.equal(info.auth_required, undefined);
      assert.equal(info.tls_required, undefined);
      return {
        version: info.version,
        proto: info.proto,
        headers: info.headers,
        max_payload: info.max_payload,
        host: info.host,
        client_ip: info.client_ip,
        auth_required: info.auth_required ?? null,
      };
    });
    // every field the reference sends is sent by tsnats too
    const ref = keys.get('reference');
    const ts = keys.get('tsnats');
    if (ref && ts) for (const k of ref) assert.ok(ts.includes(k), `tsnats INFO lacks "${k}" (tsnats keys: ${ts.join(',')})`);
  });

  it('two connections get distinct client ids from the same server id', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      assert.equal(a.info!.server_id, b.info!.server_id);
      assert.notEqual(a.info!.client_id, b.info!.client_id);
      return { sameServer: true, distinctClients: true };
    });
  });

  it('server_name follows -n', async () => {
    await onBoth(
      async (t) => {
        const nc = await t.connect();
        assert.equal(nc.info!.server_name, 'client-test-name');
        return nc.info!.server_name;
      },
      { args: ['-n', 'client-test-name'] },
    );
  });
});

describe('rtt and flush', () => {
  it('nc.rtt() resolves with a finite non-negative number', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const rtts: number[] = [];
      for (let i = 0; i < 5; i++) rtts.push(await nc.rtt());
      for (const r of rtts) assert.ok(Number.isFinite(r) && r >= 0, `bad rtt ${r}`);
      return rtts.length;
    });
  });

  it('flush() after a burst: every message to an own subscription has been delivered', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'flush.burst');
      for (let i = 0; i < 2000; i++) nc.publish('flush.burst', String(i));
      await nc.flush();
      assert.equal(r.msgs.length, 2000);
      assert.deepEqual(
        r.texts(),
        Array.from({ length: 2000 }, (_, i) => String(i)),
      );
      return r.msgs.length;
    });
  });

  it('concurrent flushes all resolve', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const done = await Promise.all(Array.from({ length: 50 }, () => nc.flush().then(() => true)));
      assert.equal(done.length, 50);
      return done.length;
    });
  });
});

describe('publish / subscribe', () => {
  it('messages from another connection arrive in order with subject, reply and payload intact', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const pub = await t.connect();
      const r = record(sub, 'ps.a.b');
      await sub.flush();
      pub.publish('ps.a.b', 'one');
      pub.publish('ps.a.b', '', { reply: 'ps.reply.1' });
      pub.publish('ps.a.b', new Uint8Array([0, 13, 10, 255]));
      pub.publish('ps.a.b', 'üñí©ødé');
      pub.publish('ps.other', 'not for us');
      await pub.flush();
      await sub.flush();
      const got = r.msgs.map((m) => ({ subject: m.subject, reply: m.reply ?? null, data: [...m.data], headers: m.headers ? m.headers.toString() : null }));
      assert.equal(got.length, 4);
      assert.equal(r.msgs[0]!.string(), 'one');
      assert.equal(got[1]!.reply, 'ps.reply.1');
      assert.deepEqual(got[1]!.data, []);
      assert.deepEqual(got[2]!.data, [0, 13, 10, 255]);
      assert.equal(r.msgs[3]!.string(), 'üñí©ødé');
      for (const g of got) assert.equal(g.subject, 'ps.a.b');
      return got;
    });
  });

  it('several subscriptions on one subject each get every message; unsubscribe stops delivery', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      const pub = await t.connect();
      const ra1 = record(a, 'multi');
      const ra2 = record(a, 'multi');
      const rb = record(b, 'multi');
      await a.flush();
      await b.flush();
      for (let i = 0; i < 100; i++) pub.publish('multi', String(i));
      await pub.flush();
      await a.flush();
      await b.flush();
      ra2.sub.unsubscribe();
      await a.flush();
      for (let i = 100; i < 150; i++) pub.publish('multi', String(i));
      await pub.flush();
      await a.flush();
      await b.flush();
      const counts = { a1: ra1.msgs.length, a2: ra2.msgs.length, b: rb.msgs.length, aIn: a.stats().inMsgs, bIn: b.stats().inMsgs };
      assert.deepEqual(counts, { a1: 150, a2: 100, b: 150, aIn: 250, bIn: 150 });
      return counts;
    });
  });

  it('async iterator subscription receives what was published', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const sub = nc.subscribe('iter.x', { max: 3 });
      const got = (async () => {
        const out: string[] = [];
        for await (const m of sub) out.push(m.string());
        return out;
      })();
      nc.publish('iter.x', 'a');
      nc.publish('iter.x', 'b');
      nc.publish('iter.x', 'c');
      nc.publish('iter.x', 'd');
      await nc.flush();
      const out = await got;
      assert.deepEqual(out, ['a', 'b', 'c']);
      return out;
    });
  });
});

describe('wildcards', () => {
  it('* matches one token, > one or more, literal subs only themselves', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const pub = await t.connect();
      const patterns = ['wc.*', 'wc.>', 'wc.*.c', 'wc.a.*', 'wc.a.b', '*.a.b', '>', 'wc'];
      const recs = patterns.map((p) => [p, record(sub, p)] as const);
      await sub.flush();
      const subjects = ['wc', 'wc.a', 'wc.a.b', 'wc.a.c', 'wc.x.c', 'wc.a.b.c', 'zz.a.b', 'other'];
      for (const s of subjects) pub.publish(s, s);
      await pub.flush();
      await sub.flush();
      const got = Object.fromEntries(recs.map(([p, r]) => [p, r.texts()]));
      assert.deepEqual(got, {
        'wc.*': ['wc.a'],
        'wc.>': ['wc.a', 'wc.a.b', 'wc.a.c', 'wc.x.c', 'wc.a.b.c'],
        'wc.*.c': ['wc.a.c', 'wc.x.c'],
        'wc.a.*': ['wc.a.b', 'wc.a.c'],
        'wc.a.b': ['wc.a.b'],
        '*.a.b': ['wc.a.b', 'zz.a.b'],
        '>': subjects,
        wc: ['wc'],
      });
      // each delivered message carries the published subject, not the pattern
      for (const [, r] of recs) for (const m of r.msgs) assert.equal(m.subject, m.string());
      return got;
    });
  });

  it('overlapping wildcard subscriptions on one connection each get their own copy', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const a = record(nc, 'ov.>');
      const b = record(nc, 'ov.*');
      const c = record(nc, 'ov.x');
      await nc.flush();
      nc.publish('ov.x', 'm');
      await nc.flush();
      const counts = [a.msgs.length, b.msgs.length, c.msgs.length, nc.stats().inMsgs];
      assert.deepEqual(counts, [1, 1, 1, 3]);
      return counts;
    });
  });
});

describe('echo', () => {
  it('noEcho: a connection does not get its own messages; others do', async () => {
    await onBoth(async (t) => {
      const quiet = await t.connect({ noEcho: true });
      const other = await t.connect();
      const rq = record(quiet, 'echo.x');
      const ro = record(other, 'echo.x');
      await quiet.flush();
      await other.flush();
      for (let i = 0; i < 10; i++) quiet.publish('echo.x', `q${i}`);
      await quiet.flush();
      other.publish('echo.x', 'from-other');
      await other.flush();
      await quiet.flush();
      const out = { quiet: rq.texts(), other: ro.texts(), quietIn: quiet.stats().inMsgs };
      assert.deepEqual(out.quiet, ['from-other']);
      assert.equal(out.other.length, 11);
      assert.equal(out.quietIn, 1);
      return out;
    });
  });

  it('noEcho publisher that is also a queue member: every message goes to the other member', async () => {
    await onBoth(async (t) => {
      const a = await t.connect({ noEcho: true });
      const b = await t.connect();
      const ra = record(a, 'echo.q', { queue: 'g' });
      const rb = record(b, 'echo.q', { queue: 'g' });
      await a.flush();
      await b.flush();
      for (let i = 0; i < 100; i++) a.publish('echo.q', String(i));
      await a.flush();
      await b.flush();
      assert.equal(ra.msgs.length, 0);
      assert.equal(rb.msgs.length, 100);
      return [ra.msgs.length, rb.msgs.length];
    });
  });

  it('noEcho requester whose own subscription is the only interest: no responders', async () => {
    await onBoth(async (t) => {
      const a = await t.connect({ noEcho: true });
      a.subscribe('echo.self.svc', { callback: (_e, m) => void m.respond('never') });
      a.subscribe('echo.self.q', { queue: 'g', callback: (_e, m) => void m.respond('never') });
      await a.flush();
      const e1 = await thrown(() => a.request('echo.self.svc', 'x', { timeout: 30_000 }));
      const e2 = await thrown(() => a.request('echo.self.q', 'x', { timeout: 30_000 }));
      for (const e of [e1, e2]) assert.ok(e instanceof RequestError && e.isNoResponders(), `got ${String(e)}`);
      return [errInfo(e1), errInfo(e2)];
    });
  });

  it('echo on (default): a connection gets its own messages', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'echo.on');
      nc.publish('echo.on', 'self');
      await nc.flush();
      assert.deepEqual(r.texts(), ['self']);
      return r.texts();
    });
  });
});
