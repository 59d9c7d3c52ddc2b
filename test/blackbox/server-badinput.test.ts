// Black-box robustness: raw TCP clients send bad input (garbage bytes,
// oversized control lines and payloads, half frames then a disconnect,
// invalid subjects, malformed CONNECT, abrupt connects, a flood) to a spawned
// server while an official nats.js subscriber on the same server keeps
// receiving every one of its messages (exact counts, exact order).
//
// The same scenario runs against the reference nats-server and tsnats; what
// each bad client saw (bytes after INFO, whether the server closed it) must
// match.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { onBoth, record, settle, type Target } from '../clients/dual.js';
import { connect as rawConnect, type RawClient } from '../helpers/rawclient.js';

const CONNECT = 'CONNECT {"verbose":false,"pedantic":false}\r\n';

interface BadOutcome {
  closed: boolean;
  /** everything the server sent after its INFO line */
  text: string;
}

async function raw(t: Target): Promise<RawClient> {
  const c = await rawConnect(t.server.port);
  await c.readUntil('\r\n', 20_000);
  return c;
}

function afterInfoText(c: RawClient): string {
  return c.received().toString('latin1').replace(/^INFO [^\r\n]*\r\n/, '');
}

/** sends bad input; waits for the server to close (expectClose) or for PONG to a trailing PING */
async function badInput(t: Target, chunks: (string | Uint8Array)[], expectClose: boolean): Promise<BadOutcome> {
  const c = await raw(t);
  try {
    for (const ch of chunks) await c.send(ch);
    if (expectClose) await c.expectClosed(20_000);
    else {
      await c.send('PING\r\n');
      await c.readUntil('PONG\r\n', 20_000);
    }
    return { closed: c.isClosed, text: afterInfoText(c) };
  } finally {
    c.close();
  }
}

/** sends a partial frame and disconnects abruptly */
async function halfThenGone(t: Target, data: string): Promise<void> {
  const c = await raw(t);
  await c.send(data);
  c.socket.resetAndDestroy();
  await c.closed;
}

/** deterministic pseudo-random bytes (first byte is never a valid op start) */
function garbage(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b[0] = 0xfe;
  return b;
}

type Action = { name: string; run: (t: Target) => Promise<unknown> };

const FLOOD = 50_000;

const actions: Action[] = [
  { name: 'garbage bytes', run: (t) => badInput(t, [garbage(4096)], true) },
  { name: 'garbage text line', run: (t) => badInput(t, ['hello world\r\n'], true) },
  { name: 'garbage after a valid CONNECT', run: (t) => badInput(t, [CONNECT, 'PING\r\n', garbage(64)], true) },
  { name: 'control line over 4096 bytes, no newline', run: (t) => badInput(t, ['PUB good.x ' + 'a'.repeat(8000)], true) },
  { name: 'control line over 4096 bytes with newline', run: (t) => badInput(t, [CONNECT, `SUB ${'s'.repeat(5000)} 1\r\n`], true) },
  { name: 'PUB size over max_payload', run: (t) => badInput(t, [CONNECT, 'PUB good.x 2000000\r\n'], true) },
  { name: 'PUB payload longer than declared', run: (t) => badInput(t, [CONNECT, 'PUB good.x 3\r\nabcdef\r\n'], true) },
  { name: 'PUB with a bad size', run: (t) => badInput(t, [CONNECT, 'PUB good.x -1\r\n'], true) },
  {
    name: 'invalid subjects (connection stays open)',
    run: (t) => badInput(t, [CONNECT, 'SUB good..x 1\r\nSUB good.>.x 2\r\nSUB .good 3\r\nPUB good..x 1\r\nz\r\n'], false),
  },
  {
    name: 'pedantic publish to a wildcard subject (still published, not to good.x)',
    run: (t) => badInput(t, ['CONNECT {"verbose":false,"pedantic":true}\r\n', 'PUB good.* 1\r\nz\r\nPUB good.> 1\r\nz\r\n'], false),
  },
  { name: 'malformed CONNECT json', run: (t) => badInput(t, ['CONNECT {"verbose":fals\r\n'], true) },
  { name: 'CONNECT with a bad protocol value', run: (t) => badInput(t, ['CONNECT {"protocol":99}\r\n'], true) },
  { name: 'HPUB without headers negotiated', run: (t) => badInput(t, [CONNECT, 'HPUB good.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n'], true) },
  { name: 'MSG sent by a client', run: (t) => badInput(t, [CONNECT, 'MSG good.x 1 2\r\nhi\r\n'], true) },
  {
    name: 'half a PUB payload to good.x, then gone',
    run: async (t) => {
      await halfThenGone(t, CONNECT + 'PUB good.x 10\r\n12345');
      return 'done';
    },
  },
  {
    name: 'half a control line, then gone',
    run: async (t) => {
      await halfThenGone(t, CONNECT + 'PUB good.x');
      return 'done';
    },
  },
  {
    name: 'payload complete but CRLF missing, then gone',
    run: async (t) => {
      await halfThenGone(t, CONNECT + 'PUB good.x 5\r\nhello');
      return 'done';
    },
  },
  {
    name: '50 connections reset right after INFO',
    run: async (t) => {
      for (let i = 0; i < 50; i++) await halfThenGone(t, '');
      return 'done';
    },
  },
  {
    name: '50 connections reset before reading anything',
    run: async (t) => {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const c = await rawConnect(t.server.port);
          c.socket.resetAndDestroy();
          await c.closed;
        }),
      );
      return 'done';
    },
  },
  {
    name: `flood of ${FLOOD} PUBs in odd-sized writes`,
    run: async (t) => {
      const c = await raw(t);
      try {
        const parts: string[] = [CONNECT];
        for (let i = 0; i < FLOOD; i++) {
          const p = `f${i}`;
          parts.push(`PUB flood.count ${p.length}\r\n${p}\r\n`);
        }
        const all = Buffer.from(parts.join(''));
        for (let off = 0, k = 0; off < all.length; k++) {
          const n = 1 + ((k * 7919) % 65521);
          await c.send(all.subarray(off, off + n));
          off += n;
        }
        await c.send('PING\r\n');
        await c.readUntil('PONG\r\n', 60_000);
        return { closed: c.isClosed, text: afterInfoText(c) };
      } finally {
        c.close();
      }
    },
  },
];

/** a subscriber for good.x and flood.count plus a publisher of numbered messages to good.x */
async function goodTraffic(t: Target) {
  const sub = await t.connect();
  const pub = await t.connect();
  const good = record(sub, 'good.x');
  const slow = record(sub, 'good.slow');
  let floodCount = 0;
  sub.subscribe('flood.count', { callback: () => void floodCount++ });
  await sub.flush();
  let next = 0;
  const publish = (n: number) => {
    for (let i = 0; i < n; i++) pub.publish('good.x', String(next++));
  };
  const check = async (conns: NatsConnection[] = []) => {
    await settle([pub, ...conns, sub], 1);
    const got = good.texts();
    assert.equal(got.length, next, `subscriber got ${got.length} of ${next} messages`);
    assert.deepEqual(
      got.map(Number),
      Array.from({ length: next }, (_, i) => i),
    );
    assert.equal(sub.isClosed(), false);
    assert.equal(pub.isClosed(), false);
    return got.length;
  };
  return { sub, pub, good, slow, publish, check, floodCount: () => floodCount, published: () => next };
}

describe('bad input from raw clients while a nats.js subscriber keeps receiving', () => {
  it('one bad client after another, good traffic in between: exact counts', async () => {
    await onBoth(async (t) => {
      const g = await goodTraffic(t);
      const outcomes: Record<string, unknown> = {};
      for (const a of actions) {
        g.publish(100);
        outcomes[a.name] = await a.run(t);
        g.publish(100);
        await g.check();
        assert.equal(t.server.proc.exitCode, null, `server exited after "${a.name}"`);
      }
      // a valid frame sent one byte at a time arrives exactly once
      const slow = await raw(t);
      for (const b of Buffer.from(CONNECT + 'PUB good.slow 5\r\nhello\r\nPING\r\n')) await slow.send(Buffer.from([b]));
      await slow.readUntil('PONG\r\n', 20_000);
      slow.close();
      const total = await g.check();
      assert.equal(total, actions.length * 200);
      assert.deepEqual(g.slow.texts(), ['hello']);
      assert.equal(g.floodCount(), FLOOD);
      // nothing else reached the subscriber (no stray half frames, no wildcard publishes on good.x)
      assert.equal(g.sub.stats().inMsgs, total + 1 + FLOOD);
      // the server still accepts and serves new clients
      const late = await t.connect();
      await late.flush();
      return { outcomes, total, flood: g.floodCount() };
    });
  });

  it('all bad clients at once, concurrently with a stream of good messages: exact counts', async () => {
    await onBoth(async (t) => {
      const g = await goodTraffic(t);
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          g.publish(50);
          await g.pub.flush();
        }
      })();
      const results = await Promise.all(actions.map((a) => a.run(t)));
      streaming = false;
      await stream;
      const total = await g.check();
      assert.ok(total > 0);
      assert.equal(g.floodCount(), FLOOD);
      assert.equal(g.sub.stats().inMsgs, total + FLOOD);
      assert.equal(t.server.proc.exitCode, null);
      return Object.fromEntries(actions.map((a, i) => [a.name, results[i]]));
    });
  });
});
