// Black-box protocol tests of tsnats embedded in-process (`new Server(opts)`):
// the same wire behaviour as the CLI, driven through the raw client. The exact
// bytes asserted here are the reference's (see docs/reference-behaviour.md).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Server } from '../../src/index.js';
import { InternalClient } from '../../src/client/internal.js';
import { afterInfo, firstInfo } from '../helpers/mask.js';
import { CONNECT, flush, msg, PING, PONG, pub, session } from '../helpers/proto.js';
import { connect, sendAndCollect } from '../helpers/rawclient.js';

async function withServer<T>(opts: ConstructorParameters<typeof Server>[0], fn: (s: Server) => Promise<T>): Promise<T> {
  const s = new Server({ host: '127.0.0.1', port: -1, ...opts });
  await s.start();
  try {
    return await fn(s);
  } finally {
    await s.shutdown();
  }
}

describe('embedded server: client protocol', () => {
  it('binds a random port and reports it in clientURL()', async () => {
    await withServer({}, async (s) => {
      assert.ok(s.port > 0 && s.port !== 4222);
      assert.equal(s.clientURL(), `nats://127.0.0.1:${s.port}`);
    });
  });

  it('greets with `INFO {json} \\r\\n` carrying port, headers and max_payload', async () => {
    await withServer({}, async (s) => {
      const c = await connect(s.port);
      const line = await c.readUntil('\r\n');
      c.close();
      assert.match(line, /^INFO \{.*\} \r\n$/);
      const info = firstInfo(line);
      assert.equal(info.port, s.port);
      assert.equal(info.host, '127.0.0.1');
      assert.equal(info.headers, true);
      assert.equal(info.max_payload, 1048576);
      assert.equal(info.proto, 1);
      assert.equal(info.version, '2.9.10');
    });
  });

  it('PUB/SUB round trip, verbose +OK ordering, PING/PONG', async () => {
    await withServer({}, async (s) => {
      const r = await sendAndCollect(s.port, ['CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo r 2\r\nhi\r\nUNSUB 1\r\nPING\r\n'], { until: PONG });
      r.client.close();
      assert.equal(afterInfo(r.data), '+OK\r\n+OK\r\n+OK\r\nMSG foo 1 r 2\r\nhi\r\n+OK\r\nPONG\r\n');
      assert.equal(r.closed, false);
    });
  });

  // Client.matchSubject reuses the last result for a subject that differs
  // from the last one only in tokens no literal subscription looks at (the
  // JetStream ack path); every publish here must still reach exactly the
  // subscriptions that match it.
  it('routes runs of similar subjects from one connection to the right subscriptions', async () => {
    await withServer({}, async (s) => {
      const pubs: [string, number[]][] = [
        ['a.x.y.z', [1]],
        ['a.x.y.w', [1]],
        ['a.b.c.e', [1, 3]],
        ['a.b.c.d', [1, 2, 3]],
        ['a.b.c.f', [1, 3]],
        ['a.x.y', []],
        ['a.x.y.z.q', []],
        ['a.x.q.z', [1]],
        ['a.x..z', []],
        ['a.x.y.', []],
        ['a.x.y.z', [1]],
      ];
      const after: [string, number[]][] = [
        ['a.x.y.zz', [1, 4]],
        ['a.x.y.z2', [1]],
        ['a.b.c.d', [1, 2, 3]],
      ];
      const text = (list: [string, number[]][], from: number): string => list.map(([subj], i) => pub(subj, `m${from + i}`)).join('');
      const r = await sendAndCollect(
        s.port,
        ['CONNECT {"verbose":false}\r\nSUB a.*.*.* 1\r\nSUB a.b.c.d 2\r\nSUB a.b.> 3\r\n' + text(pubs, 0) + 'SUB a.x.y.zz 4\r\n' + text(after, pubs.length) + 'PING\r\n'],
        { until: PONG },
      );
      r.client.close();
      const got = new Map<string, string[]>();
      for (const m of afterInfo(r.data).matchAll(/MSG (\S+) (\d+) \d+\r\n(m\d+)\r\n/g)) {
        const k = `${m[3]} ${m[1]}`;
        got.set(k, [...(got.get(k) ?? []), m[2]!].sort());
      }
      const want = new Map<string, string[]>();
      [...pubs, ...after].forEach(([subj, sids], i) => {
        if (sids.length > 0) want.set(`m${i} ${subj}`, sids.map(String).sort());
      });
      assert.deepEqual(got, want);
      assert.match(afterInfo(r.data), /PONG\r\n$/);
    });
  });

  // The same for the server's own publishes (InternalClient.matchDeliver):
  // PubAcks go to a new `_INBOX.<id>.<n>` each.
  it('routes runs of similar subjects published by an internal client to the right subscriptions', async () => {
    await withServer({}, async (s) => {
      const sub = await session(s.port);
      await flush(sub, 'SUB _INBOX.a.* 1\r\nSUB _INBOX.a.lit 2\r\nSUB _INBOX.b.> 3\r\nSUB _INBOX.c.* 4\r\n');
      const ic = new InternalClient(s, s.globalAccount, 'test');
      const subjects: [string, number[]][] = [
        ['_INBOX.a.1', [1]],
        ['_INBOX.a.2', [1]],
        ['_INBOX.a.lit', [1, 2]],
        ['_INBOX.a.3', [1]],
        ['_INBOX.a.3.4', []],
        ['_INBOX.a', []],
        ['_INBOX.b.1', [3]],
        ['_INBOX.b.1.2', [3]],
        ['_INBOX.a.', []],
        ['_INBOX.a.4', [1]],
        ['_INBOX.c.1', [4]],
        ['_INBOX.c.2', [4]],
        ['_INBOX.c.2.x', []],
        ['_INBOX.c.3', [4]],
        ['_INBOX.c..', []],
        ['_INBOX.c.4', [4]],
        ['_INBOX.a.5', [1]],
      ];
      subjects.forEach(([subj], i) => ic.publish(subj, '', null, Buffer.from(`m${i}`)));
      const got = new Map<string, string[]>();
      for (const m of (await flush(sub)).matchAll(/MSG (\S+) (\d+) \d+\r\n(m\d+)\r\n/g)) {
        const k = `${m[3]} ${m[1]}`;
        got.set(k, [...(got.get(k) ?? []), m[2]!].sort());
      }
      const want = new Map<string, string[]>();
      subjects.forEach(([subj, sids], i) => {
        if (sids.length > 0) want.set(`m${i} ${subj}`, sids.map(String).sort());
      });
      assert.deepEqual(got, want);
      ic.closeInternal();
      sub.close();
    });
  });

  it('delivers across connections', async () => {
    await withServer({}, async (s) => {
      const sub = await session(s.port);
      const p = await session(s.port);
      await flush(sub, 'SUB a.> 9\r\n');
      assert.equal(await flush(p, pub('a.b', 'x', 'reply')), '');
      assert.equal(await flush(sub), msg('a.b', 9, 'x', 'reply'));
      sub.close();
      p.close();
    });
  });

  it('maxPayload option: INFO advertises it and a bigger PUB is a violation', async () => {
    await withServer({ maxPayload: 8 }, async (s) => {
      const r = await sendAndCollect(s.port, [CONNECT + 'PUB foo 9\r\n'], { quietMs: 200 });
      r.client.close();
      assert.equal(firstInfo(r.data).max_payload, 8);
      assert.equal(afterInfo(r.data), "-ERR 'Maximum Payload Violation'\r\n");
      assert.equal(r.closed, true);
    });
  });

  it('unknown operation → -ERR + close', async () => {
    await withServer({}, async (s) => {
      const r = await sendAndCollect(s.port, ['FOO\r\n' + PING], { quietMs: 200 });
      assert.equal(afterInfo(r.data), "-ERR 'Unknown Protocol Operation'\r\n");
      assert.equal(r.closed, true);
    });
  });

  it('two embedded servers run side by side', async () => {
    await withServer({}, async (a) => {
      await withServer({}, async (b) => {
        assert.notEqual(a.port, b.port);
        const ca = await session(a.port);
        const cb = await session(b.port);
        await flush(ca, 'SUB x 1\r\n');
        await flush(cb, 'SUB x 1\r\n' + pub('x', 'only-b'));
        assert.equal(await flush(ca), '', 'servers are independent');
        ca.close();
        cb.close();
      });
    });
  });

  it('shutdown closes client connections', async () => {
    const s = new Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    const c = await session(s.port);
    await s.shutdown();
    await c.expectClosed(5000);
    assert.equal(c.isClosed, true);
  });
});
