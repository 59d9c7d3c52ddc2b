// Request/reply with the official nats.js client against the reference and
// tsnats: nc.request (muxed and noMux), requestMany strategies, no-responders
// (the server's 503 status turned into the client's errors), timeouts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers, NoRespondersError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { errInfo, onBoth, record, settle, thrown, within } from './dual.js';

/** a responder that replies `<prefix>:<request payload>` and echoes header X-Req as X-Rep */
function responder(nc: NatsConnection, subject: string, prefix: string, queue?: string) {
  return nc.subscribe(subject, {
    queue,
    callback: (err, m) => {
      if (err) return;
      const h = headers();
      const x = m.headers?.get('X-Req');
      if (x) h.set('X-Rep', x);
      m.respond(`${prefix}:${m.string()}`, { headers: h });
    },
  });
}

describe('request / reply', () => {
  it('nc.request gets the reply from a responder on another connection', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      responder(srv, 'svc.echo', 'r');
      await srv.flush();
      const nc = await t.connect();
      const m = await nc.request('svc.echo', 'hello', { timeout: 10_000 });
      assert.equal(m.string(), 'r:hello');
      assert.match(m.subject, /^_INBOX\./);
      return { data: m.string(), hasReply: m.reply !== undefined && m.reply !== '' };
    });
  });

  it('request headers reach the responder and reply headers reach the requester', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      responder(srv, 'svc.hdr', 'h');
      await srv.flush();
      const nc = await t.connect();
      const h = headers();
      h.set('X-Req', 'abc-123');
      const m = await nc.request('svc.hdr', 'p', { timeout: 10_000, headers: h });
      assert.equal(m.string(), 'h:p');
      assert.equal(m.headers?.get('X-Rep'), 'abc-123');
      return { data: m.string(), rep: m.headers?.get('X-Rep') ?? null };
    });
  });

  it('100 concurrent requests each get their own reply (muxed inbox)', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      responder(srv, 'svc.many', 'm');
      await srv.flush();
      const nc = await t.connect();
      const replies = await within(
        Promise.all(Array.from({ length: 100 }, (_, i) => nc.request('svc.many', String(i), { timeout: 15_000 }).then((m) => m.string()))),
        '100 replies',
      );
      assert.deepEqual(
        replies,
        Array.from({ length: 100 }, (_, i) => `m:${i}`),
      );
      return replies.length;
    });
  });

  it('noMux requests (one inbox subscription per request) work', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      responder(srv, 'svc.nomux', 'n');
      await srv.flush();
      const nc = await t.connect();
      const out: string[] = [];
      for (let i = 0; i < 5; i++) {
        const m = await nc.request('svc.nomux', String(i), { timeout: 10_000, noMux: true });
        out.push(m.string());
      }
      assert.deepEqual(out, ['n:0', 'n:1', 'n:2', 'n:3', 'n:4']);
      return out;
    });
  });

  it('request to a queue group of responders gets exactly one reply', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      responder(a, 'svc.q', 'a', 'workers');
      responder(b, 'svc.q', 'b', 'workers');
      await a.flush();
      await b.flush();
      const nc = await t.connect();
      const inbox = record(nc, 'q.inbox');
      await nc.flush();
      for (let i = 0; i < 20; i++) nc.publish('svc.q', String(i), { reply: 'q.inbox' });
      // requests reach a/b, their replies reach the server, then nc
      await settle([nc, a, b, nc], 3);
      const bodies = inbox.texts().map((s) => s.split(':')[1]).sort((x, y) => Number(x) - Number(y));
      assert.deepEqual(
        bodies,
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
      return bodies;
    });
  });

  it('a request a subscriber never answers times out with TimeoutError', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      srv.subscribe('svc.silent', { callback: () => {} });
      await srv.flush();
      const nc = await t.connect();
      const e = await thrown(() => nc.request('svc.silent', 'x', { timeout: 500 }));
      assert.ok(e instanceof TimeoutError || (e instanceof RequestError && e.cause instanceof TimeoutError), `got ${String(e)}`);
      // the connection is still usable
      await nc.flush();
      return errInfo(e);
    });
  });
});

describe('no responders', () => {
  it('request with no subscriber fails fast with RequestError caused by NoRespondersError', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const e = await thrown(() => nc.request('nobody.home', 'x', { timeout: 30_000 }));
      assert.ok(e instanceof RequestError, `got ${String(e)}`);
      assert.equal(e.isNoResponders(), true);
      assert.ok(e.cause instanceof NoRespondersError);
      assert.equal(e.cause.subject, 'nobody.home');
      return errInfo(e);
    });
  });

  it('noMux request with no subscriber also reports no responders', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const e = await thrown(() => nc.request('nobody.nomux', 'x', { timeout: 30_000, noMux: true }));
      assert.ok(e instanceof RequestError, `got ${String(e)}`);
      assert.equal(e.isNoResponders(), true);
      return errInfo(e);
    });
  });

  it('no responders after the only responder unsubscribed', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      const sub = responder(srv, 'svc.gone', 'g');
      await srv.flush();
      const nc = await t.connect();
      const ok = await nc.request('svc.gone', '1', { timeout: 10_000 });
      sub.unsubscribe();
      await srv.flush();
      const e = await thrown(() => nc.request('svc.gone', '2', { timeout: 30_000 }));
      assert.ok(e instanceof RequestError && e.isNoResponders(), `got ${String(e)}`);
      return { first: ok.string(), second: errInfo(e) };
    });
  });

  it('publish with a reply subject and no subscriber: the reply subscription gets a 503 status message', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, 'nr.reply');
      await nc.flush();
      nc.publish('nr.nobody', 'payload', { reply: 'nr.reply' });
      await nc.flush();
      assert.equal(r.msgs.length, 1);
      const m = r.msgs[0]!;
      assert.equal(m.subject, 'nr.reply');
      assert.equal(m.data.length, 0);
      assert.ok(m.headers, 'status message carries headers');
      assert.equal(m.headers.code, 503);
      assert.equal(m.headers.hasError, true);
      return { subject: m.subject, code: m.headers.code, description: m.headers.description, size: m.data.length, hdr: m.headers.toString() };
    });
  });

  it('no 503 when a (non-answering) subscriber or a queue subscriber exists', async () => {
    await onBoth(async (t) => {
      const other = await t.connect();
      other.subscribe('nr.plain', { callback: () => {} });
      other.subscribe('nr.queued', { queue: 'g', callback: () => {} });
      await other.flush();
      const nc = await t.connect();
      const r = record(nc, 'nr.reply2');
      await nc.flush();
      nc.publish('nr.plain', 'x', { reply: 'nr.reply2' });
      nc.publish('nr.queued', 'x', { reply: 'nr.reply2' });
      nc.publish('nr.none', 'x', { reply: 'nr.reply2' });
      await settle([nc, other, nc], 1);
      // only the publish to nr.none produced a status
      assert.equal(r.msgs.length, 1);
      assert.equal(r.msgs[0]!.headers?.code, 503);
      return r.msgs.length;
    });
  });

  it('publish without a reply subject to nobody produces nothing', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const r = record(nc, '>');
      await nc.flush();
      nc.publish('nr.silent', 'x');
      await nc.flush();
      // own subscription on '>' gets the message itself, and nothing else
      assert.deepEqual(
        r.msgs.map((m) => m.subject),
        ['nr.silent'],
      );
      return nc.stats().inMsgs;
    });
  });
});

describe('requestMany', () => {
  it('strategy count: replies from 3 responders', async () => {
    await onBoth(async (t) => {
      const srvs = await Promise.all([t.connect(), t.connect(), t.connect()]);
      srvs.forEach((s, i) => responder(s, 'rm.count', `s${i}`));
      await Promise.all(srvs.map((s) => s.flush()));
      const nc = await t.connect();
      const it = await nc.requestMany('rm.count', 'q', { strategy: 'count', maxMessages: 3, maxWait: 20_000 });
      const got: string[] = [];
      await within(
        (async () => {
          for await (const m of it) got.push(m.string());
        })(),
        'three replies',
      );
      got.sort();
      assert.deepEqual(got, ['s0:q', 's1:q', 's2:q']);
      return got;
    });
  });

  it('strategy sentinel: stops at (and yields) the empty message', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect();
      srv.subscribe('rm.sentinel', {
        callback: (_e, m) => {
          m.respond('part1');
          m.respond('part2');
          m.respond('part3');
          m.respond();
        },
      });
      await srv.flush();
      const nc = await t.connect();
      const it = await nc.requestMany('rm.sentinel', 'q', { strategy: 'sentinel', maxWait: 20_000 });
      const got: string[] = [];
      await within(
        (async () => {
          for await (const m of it) got.push(m.string());
        })(),
        'sentinel',
      );
      assert.deepEqual(got, ['part1', 'part2', 'part3', '']);
      return got;
    });
  });

  it('with no responders the iteration fails with NoRespondersError', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect();
      const e = await thrown(async () => {
        const it = await nc.requestMany('rm.nobody', 'q', { strategy: 'count', maxMessages: 3, maxWait: 30_000 });
        for await (const _m of it) {
          /* none expected */
        }
      });
      assert.ok(e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders()), `got ${String(e)}`);
      return errInfo(e);
    });
  });
});
