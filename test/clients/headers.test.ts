// Message headers through the official nats.js client against the reference
// and tsnats: single and multiple values, status line (code + description),
// headers with empty payload, an empty header block, mixed header / plain
// traffic, a large header block.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers, type Msg } from '@nats-io/transport-node';
import { onBoth, record } from './dual.js';

function view(m: Msg) {
  return {
    subject: m.subject,
    reply: m.reply ?? null,
    data: m.string(),
    headers: m.headers ? m.headers.toString() : null,
    code: m.headers?.code ?? null,
    description: m.headers?.description ?? null,
  };
}

describe('headers', () => {
  it('single and multiple values are delivered unchanged', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const pub = await t.connect();
      const r = record(sub, 'hdr.multi');
      await sub.flush();
      const h = headers();
      h.set('X-One', 'v1');
      h.append('X-Many', 'a');
      h.append('X-Many', 'b');
      h.append('X-Many', 'c d e');
      h.set('Content-Type', 'application/json');
      pub.publish('hdr.multi', '{"k":1}', { headers: h });
      await pub.flush();
      await sub.flush();
      assert.equal(r.msgs.length, 1);
      const m = r.msgs[0]!;
      assert.equal(m.string(), '{"k":1}');
      assert.equal(m.headers?.get('X-One'), 'v1');
      assert.deepEqual(m.headers?.values('X-Many'), ['a', 'b', 'c d e']);
      assert.equal(m.headers?.get('Content-Type'), 'application/json');
      assert.equal(m.headers?.code, 0);
      assert.equal(m.headers?.hasError, false);
      return view(m);
    });
  });

  it('headers with an empty payload, and with a reply subject', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'hdr.empty');
      await nc.flush();
      const h = headers();
      h.set('K', 'V');
      nc.publish('hdr.empty', '', { headers: h });
      nc.publish('hdr.empty', 'body', { headers: h, reply: 'hdr.reply' });
      await nc.flush();
      assert.equal(r.msgs.length, 2);
      assert.equal(r.msgs[0]!.data.length, 0);
      assert.equal(r.msgs[0]!.headers?.get('K'), 'V');
      assert.equal(r.msgs[1]!.reply, 'hdr.reply');
      assert.equal(r.msgs[1]!.string(), 'body');
      return r.msgs.map(view);
    });
  });

  it('an empty header set (sent as HPUB with 0 header bytes) is delivered as a plain message', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'hdr.none');
      await nc.flush();
      nc.publish('hdr.none', 'x', { headers: headers() });
      await nc.flush();
      assert.equal(r.msgs.length, 1);
      assert.equal(r.msgs[0]!.headers, undefined);
      assert.equal(r.msgs[0]!.string(), 'x');
      return r.msgs.map(view);
    });
  });

  it('status code and description are passed through', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'hdr.status');
      await nc.flush();
      const h1 = headers(408, 'Request Timeout');
      h1.set('X-A', '1');
      nc.publish('hdr.status', 'p1', { headers: h1 });
      nc.publish('hdr.status', 'p2', { headers: headers(100, 'Idle Heartbeat') });
      nc.publish('hdr.status', 'p3', { headers: headers(409, 'Conflict') });
      await nc.flush();
      const got = r.msgs.map(view);
      assert.deepEqual(
        got.map((g) => [g.code, g.description, g.data]),
        [
          [408, 'Request Timeout', 'p1'],
          [100, 'Idle Heartbeat', 'p2'],
          [409, 'Conflict', 'p3'],
        ],
      );
      assert.equal(r.msgs[0]!.headers?.get('X-A'), '1');
      return got;
    });
  });

  it('mixed header and plain messages arrive in order, each in its own form', async () => {
    await onBoth(async (t) => {
      const sub = await t.connect();
      const pub = await t.connect();
      const r = record(sub, 'hdr.mixed');
      await sub.flush();
      for (let i = 0; i < 20; i++) {
        if (i % 2 === 0) {
          const h = headers();
          h.set('I', String(i));
          pub.publish('hdr.mixed', String(i), { headers: h });
        } else pub.publish('hdr.mixed', String(i));
      }
      await pub.flush();
      await sub.flush();
      assert.equal(r.msgs.length, 20);
      r.msgs.forEach((m, i) => {
        assert.equal(m.string(), String(i));
        if (i % 2 === 0) assert.equal(m.headers?.get('I'), String(i));
        else assert.equal(m.headers, undefined);
      });
      return r.msgs.map(view);
    });
  });

  it('large header block (many keys) survives', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'hdr.large');
      await nc.flush();
      const h = headers();
      for (let i = 0; i < 200; i++) h.append(`Key-${i}`, 'v'.repeat(100) + i);
      nc.publish('hdr.large', 'x', { headers: h });
      await nc.flush();
      assert.equal(r.msgs.length, 1);
      const m = r.msgs[0]!;
      for (let i = 0; i < 200; i++) assert.equal(m.headers?.get(`Key-${i}`), 'v'.repeat(100) + i);
      return m.headers!.toString().length;
    });
  });
});
