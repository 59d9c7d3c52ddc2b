// Payload sizes with the official nats.js client against the reference and
// tsnats: payloads at and near max_payload delivered intact, the client's
// error over it, and the client honouring a max_payload configured on the
// server (learned from INFO).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { headers, InvalidArgumentError } from '@nats-io/transport-node';
import { errInfo, onBoth, pattern, record, thrown } from './dual.js';

const MB = 1024 * 1024;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('large payloads (default max_payload 1 MiB)', () => {
  it('payloads of max_payload and max_payload-1 bytes arrive intact', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const pub = await t.connect();
      assert.equal(pub.info!.max_payload, MB);
      const r = record(sub, 'big.ok');
      await sub.flush();
      const a = pattern(MB, 1);
      const b = pattern(MB - 1, 2);
      pub.publish('big.ok', a);
      pub.publish('big.ok', b);
      await pub.flush();
      await sub.flush();
      assert.equal(r.msgs.length, 2);
      assert.equal(r.msgs[0]!.data.length, MB);
      assert.equal(sha(r.msgs[0]!.data), sha(a));
      assert.equal(r.msgs[1]!.data.length, MB - 1);
      assert.equal(sha(r.msgs[1]!.data), sha(b));
      return r.msgs.map((m) => [m.data.length, sha(m.data)]);
    });
  });

  it('a stream of 16 near-max messages to two subscribers arrives complete and in order', async () => {
    await onBoth(async (t) => {
      const s1 = await t.connect();
      const s2 = await t.connect();
      const pub = await t.connect();
      const r1 = record(s1, 'big.stream');
      const r2 = record(s2, 'big.stream');
      await s1.flush();
      await s2.flush();
      const sent: string[] = [];
      for (let i = 0; i < 16; i++) {
        const p = pattern(MB - 100 - i, i);
        sent.push(sha(p));
        pub.publish('big.stream', p);
      }
      await pub.flush();
      await s1.flush();
      await s2.flush();
      assert.deepEqual(r1.msgs.map((m) => sha(m.data)), sent);
      assert.deepEqual(r2.msgs.map((m) => sha(m.data)), sent);
      return sent.length;
    });
  });

  it('headers + payload exactly at max_payload are accepted and delivered', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'big.hdr');
      await nc.flush();
      const h = headers();
      h.set('X-Big', 'yes');
      const hlen = Buffer.byteLength(h.toString());
      const p = pattern(MB - hlen, 3);
      nc.publish('big.hdr', p, { headers: h });
      await nc.flush();
      assert.equal(r.msgs.length, 1);
      assert.equal(r.msgs[0]!.headers?.get('X-Big'), 'yes');
      assert.equal(sha(r.msgs[0]!.data), sha(p));
      return [hlen, r.msgs[0]!.data.length];
    });
  });

  it('over max_payload: the client refuses with InvalidArgumentError and the connection stays usable', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'big.over');
      await nc.flush();
      const e1 = await thrown(() => nc.publish('big.over', new Uint8Array(MB + 1)));
      assert.ok(e1 instanceof InvalidArgumentError, `got ${String(e1)}`);
      const h = headers();
      h.set('X', 'y');
      const e2 = await thrown(() => nc.publish('big.over', new Uint8Array(MB), { headers: h }));
      assert.ok(e2 instanceof InvalidArgumentError, `got ${String(e2)}`);
      nc.publish('big.over', 'small');
      await nc.flush();
      assert.deepEqual(r.texts(), ['small']);
      assert.equal(nc.isClosed(), false);
      return { plain: errInfo(e1), withHeaders: errInfo(e2), after: r.texts() };
    });
  });
});

describe('max_payload configured on the server', () => {
  const setup = { config: 'max_payload: 1024\n' };

  it('INFO carries it and the client enforces it: 1024 bytes pass, 1025 are refused', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      assert.equal(nc.info!.max_payload, 1024);
      const r = record(nc, 'mp.x');
      await nc.flush();
      nc.publish('mp.x', pattern(1024));
      const e = await thrown(() => nc.publish('mp.x', pattern(1025)));
      assert.ok(e instanceof InvalidArgumentError, `got ${String(e)}`);
      const h = headers();
      h.set('K', 'V');
      const hlen = Buffer.byteLength(h.toString());
      nc.publish('mp.x', pattern(1024 - hlen), { headers: h });
      const e2 = await thrown(() => nc.publish('mp.x', pattern(1025 - hlen), { headers: h }));
      assert.ok(e2 instanceof InvalidArgumentError, `got ${String(e2)}`);
      await nc.flush();
      assert.deepEqual(
        r.msgs.map((m) => m.data.length),
        [1024, 1024 - hlen],
      );
      return { max: nc.info!.max_payload, sizes: r.msgs.map((m) => m.data.length), err: errInfo(e) };
    }, setup);
  });

  it('request payloads are bound by it too', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      srv.subscribe('mp.svc', { callback: (_e, m) => void m.respond(m.data) });
      await srv.flush();
      const nc = await t.connect();
      const ok = await nc.request('mp.svc', pattern(1000), { timeout: 10_000 });
      assert.equal(ok.data.length, 1000);
      const e = await thrown(() => nc.request('mp.svc', pattern(2000), { timeout: 10_000 }));
      assert.ok(e instanceof InvalidArgumentError, `got ${String(e)}`);
      return { ok: ok.data.length, err: errInfo(e) };
    }, setup);
  });
});
