// Fault injection: clients that never read. With a small max_pending the
// server must cut each of them as a slow consumer while every healthy
// subscriber (plain and queue) receives every message, in order. And a
// publisher flooding while a subscriber does not read must not grow the
// server's memory past max_pending (RSS sampled from /proc/<pid>/status).
// The cut-at-max_pending scenario runs against the reference too.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, writeConfig, type ServerKind } from '../helpers/servers.js';
import { Client, SeqCheck, getJson, monitorPort, peakRssBytes, pubFrame, rssBytes, waitFor, type Varz } from './util.js';

const MAX_PENDING = 256 * 1024;
/** never-reading subscribers */
const STUCK = 4;
/** healthy plain subscribers */
const HEALTHY = 3;
/** messages and their size: enough to fill the kernel buffers of the stuck sockets and then max_pending */
const MESSAGES = 40_000;
const SIZE = 1024;

function payload(n: number): Buffer {
  const head = `${n}:`;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(SIZE - head.length, 0x61)]);
}

for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`${kind}: never-reading subscribers`, () => {
    it(`${STUCK} stuck subscribers are cut at max_pending, ${HEALTHY} healthy ones + a queue group get all ${MESSAGES}`, { timeout: 300_000 }, async () => {
      const server = await startServer(kind, ['-c', writeConfig(`max_pending: ${MAX_PENDING}\nmax_payload: ${MAX_PENDING}\n`), '-m', '-1']);
      try {
        const http = monitorPort(server.stderr());
        const stuck: Client[] = [];
        for (let i = 0; i < STUCK; i++) {
          const c = await Client.open(server.port, { name: `stuck${i}` });
          c.send('SUB data 1\r\n');
          await c.flush();
          c.socket.pause(); // never read again
          stuck.push(c);
        }
        const healthy: { c: Client; seq: SeqCheck }[] = [];
        for (let i = 0; i < HEALTHY; i++) {
          const c = await Client.open(server.port, { name: `healthy${i}` });
          const seq = new SeqCheck(`healthy${i}`);
          c.onMsg = (_s, _sid, p) => seq.take(p);
          c.send('SUB data 1\r\n');
          await c.flush();
          healthy.push({ c, seq });
        }
        const queue: Client[] = [];
        let queueTotal = 0;
        const queueSeen = new Set<number>();
        for (let i = 0; i < 2; i++) {
          const c = await Client.open(server.port, { name: `queue${i}` });
          c.onMsg = (_s, _sid, p) => {
            queueTotal++;
            queueSeen.add(Number(p.toString('latin1', 0, p.indexOf(0x3a))));
          };
          c.send('SUB data workers 1\r\n');
          await c.flush();
          queue.push(c);
        }
        const pub = await Client.open(server.port, { name: 'pub' });
        // paced by the healthy readers so that only the stuck ones fall behind
        const BATCH = 200;
        for (let i = 0; i < MESSAGES; i += BATCH) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + BATCH; k++) frames.push(pubFrame('data', payload(k)));
          pub.send(Buffer.concat(frames));
          await pub.flush();
          await waitFor(`healthy readers at ${i + BATCH}`, () => healthy.every((h) => h.c.msgs >= i + BATCH) && queueTotal >= i + BATCH, 60_000, 5);
        }
        for (const h of healthy) await h.c.flush();

        for (const h of healthy) {
          assert.deepEqual(h.seq.problems, []);
          assert.equal(h.c.msgs, MESSAGES, `${h.seq.label} got every message`);
          assert.equal(h.c.isClosed, false);
          assert.deepEqual(h.c.errors, []);
        }
        assert.equal(queueTotal, MESSAGES, 'the queue group got each message once');
        assert.equal(queueSeen.size, MESSAGES);
        // the stuck ones were cut: their sockets end once the kernel buffers drain
        for (const c of stuck) c.socket.resume();
        await waitFor('stuck subscribers closed', () => stuck.every((c) => c.isClosed), 60_000);
        for (const c of stuck) assert.ok(c.msgs < MESSAGES, `a stuck subscriber was cut before the end (got ${c.msgs})`);
        const v = await getJson<Varz>(http, '/varz');
        assert.equal(v.slow_consumers, STUCK, 'every stuck subscriber counted as a slow consumer, nobody else');
        assert.equal(v.connections, HEALTHY + 2 + 1);
        for (const c of [...healthy.map((h) => h.c), ...queue, pub]) c.close();
      } finally {
        await server.stop();
      }
    });
  });
}

// server/client.go handleWriteTimeout: a client whose socket takes nothing for
// a whole write_deadline is cut as a slow consumer even below max_pending,
// with the reference's log line; a healthy subscriber of the same subject
// keeps getting everything.
for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`${kind}: write deadline`, () => {
    it('a never-reading subscriber is cut after write_deadline, below max_pending', { timeout: 120_000 }, async () => {
      const server = await startServer(kind, ['-c', writeConfig('write_deadline: "1s"\nmax_pending: 200MB\nmax_payload: 1MB\n'), '-m', '-1']);
      try {
        const http = monitorPort(server.stderr());
        const stuck = await Client.open(server.port, { name: 'stuck' });
        stuck.send('SUB wd 1\r\n');
        await stuck.flush();
        stuck.socket.pause();
        const healthy = await Client.open(server.port, { name: 'healthy' });
        const seq = new SeqCheck('healthy', 0x61);
        healthy.onMsg = (_s, _sid, p) => seq.take(p);
        healthy.send('SUB wd 1\r\n');
        await healthy.flush();
        const pub = await Client.open(server.port, { name: 'pub' });
        // 48 MB: more than the kernel buffers of the stuck socket hold, far below max_pending
        const N = 768;
        const big = (n: number) => Buffer.concat([Buffer.from(`${n}:`), Buffer.alloc(65536 - `${n}:`.length, 0x61)]);
        for (let i = 0; i < N; i += 16) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + 16; k++) frames.push(pubFrame('wd', big(k)));
          pub.send(Buffer.concat(frames));
          await pub.flush();
          await waitFor(`healthy at ${i + 16}`, () => healthy.msgs >= i + 16, 60_000, 5);
        }
        await waitFor('the write-deadline cut', () => /Slow Consumer Detected: WriteDeadline/.test(server.stderr()), 30_000);
        assert.match(server.stderr(), /\[INF\] 127\.0\.0\.1:\d+ - cid:\d+ - "stuck" - Slow Consumer Detected: WriteDeadline of 1s exceeded with \d+ chunks of \d+ total bytes\.\n/);
        assert.doesNotMatch(server.stderr(), /MaxPending/);
        assert.deepEqual(seq.problems, []);
        assert.equal(healthy.msgs, N);
        assert.equal(healthy.isClosed, false);
        await waitFor('stuck gone from connz', async () => (await getJson<{ num_connections: number }>(http, '/connz')).num_connections === 2, 10_000);
        const v = await getJson<Varz>(http, '/varz');
        assert.equal(v.slow_consumers, 1);
        for (const c of [healthy, pub]) c.close();
        stuck.socket.destroy();
      } finally {
        await server.stop();
      }
    });
  });
}

describe('tsnats: a publisher flooding a never-reading subscriber', () => {
  it('server RSS stays bounded, the healthy subscriber gets every message', { timeout: 300_000 }, async (t) => {
    // 2 MB max_pending: the slow subscriber is cut once 2 MB are queued for it
    const server = await startServer('tsnats', ['-c', writeConfig('max_pending: 2MB\n'), '-m', '-1']);
    const timers: NodeJS.Timeout[] = [];
    try {
      const http = monitorPort(server.stderr());
      const pid = server.proc.pid!;
      const slow = await Client.open(server.port, { name: 'slow' });
      slow.send('SUB flood.> 1\r\n');
      await slow.flush();
      // never reads: a subscriber that reads, however slowly, is paced
      // instead (fast producer stall, test/faults/stall.test.ts)
      slow.socket.pause();
      const fast = await Client.open(server.port, { name: 'fast' });
      const seq = new SeqCheck('fast');
      fast.onMsg = (_s, _sid, p) => seq.take(p);
      fast.send('SUB flood.paced 1\r\n');
      await fast.flush();
      const flooder = await Client.open(server.port, { name: 'flooder' });
      const paced = await Client.open(server.port, { name: 'paced' });

      const baseline = rssBytes(pid);
      let peak = baseline;
      let samples = 0;
      timers.push(
        setInterval(() => {
          const r = rssBytes(pid);
          samples++;
          if (r > peak) peak = r;
        }, 25),
      );
      // the flood: 100,000 × 1 KiB (~100 MB) to flood.bulk, as fast as the server takes it
      const FLOOD = 100_000;
      const flood = (async () => {
        for (let i = 0; i < FLOOD; i += 1000) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + 1000; k++) frames.push(pubFrame('flood.bulk', payload(k)));
          if (!flooder.send(Buffer.concat(frames))) await flooder.drain();
        }
        await flooder.flush(120_000);
      })();
      // meanwhile 20,000 paced messages to flood.paced, at most 1,000 ahead of the healthy reader
      const PACED = 20_000;
      for (let i = 0; i < PACED; i += 250) {
        const frames: Buffer[] = [];
        for (let k = i; k < i + 250; k++) frames.push(pubFrame('flood.paced', payload(k)));
        paced.send(Buffer.concat(frames));
        if (fast.msgs < i - 1000) await waitFor('healthy reader', () => fast.msgs >= i - 500, 60_000, 5);
      }
      await paced.flush(120_000);
      await flood;
      await waitFor(`healthy subscriber got ${PACED} (has ${fast.msgs})`, () => fast.msgs >= PACED, 120_000);
      for (const x of timers) clearInterval(x);
      // the kernel's high-water mark catches peaks between samples
      peak = Math.max(peak, peakRssBytes(pid));
      slow.socket.resume();
      await waitFor('slow subscriber cut', () => slow.isClosed, 60_000);

      const growth = peak - baseline;
      t.diagnostic(`RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB (+${(growth / 2 ** 20).toFixed(1)} MiB) over ${samples} samples while ~${Math.round(((FLOOD + PACED) * SIZE) / 2 ** 20)} MiB flowed in`);
      assert.deepEqual(seq.problems, []);
      assert.equal(fast.msgs, PACED, 'the healthy subscriber got every message');
      assert.equal(fast.isClosed, false);
      assert.ok(slow.msgs < FLOOD + PACED, 'the slow subscriber was cut');
      const v = await getJson<Varz>(http, '/varz');
      assert.equal(v.slow_consumers, 1, 'only the slow subscriber was cut');
      assert.ok(v.in_msgs >= FLOOD + PACED, `the server took in every message (in_msgs ${v.in_msgs})`);
      // bounded: far below the ~120 MB that went through (socket buffers, GC slack)
      assert.ok(growth < 150 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
      assert.equal(server.proc.exitCode, null);
      fast.close();
      flooder.close();
      paced.close();
    } finally {
      for (const x of timers) clearInterval(x);
      await server.stop();
    }
  });
});
