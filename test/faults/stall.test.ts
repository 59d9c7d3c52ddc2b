// Fault injection: the fast-producer stall (server/client.go stalledWait).
// A publisher flooding a subscriber that reads, but slower than the flood,
// is paced (its reads stop until the subscriber drained) instead of the
// subscriber being cut as a slow consumer; a subscriber of the same subject
// that does not read at all is still cut at max_pending; clients that do not
// share the slow subscriber's subject keep going meanwhile. The server's
// memory stays bounded by max_pending per connection.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, writeConfig } from '../helpers/servers.js';
import { Client, SeqCheck, getJson, monitorPort, peakRssBytes, pubFrame, rssBytes, waitFor, type Varz } from './util.js';

const MAX_PENDING = 512 * 1024;
const SIZE = 1024;
/** ~30 MB through a reader that takes ~64 KiB every 10 ms */
const FLOOD = 30_000;

function payload(n: number): Buffer {
  const head = `${n}:`;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(SIZE - head.length, 0x62)]);
}

/** a reader that takes one socket read every `everyMs` */
function throttle(c: Client, everyMs: number): NodeJS.Timeout {
  c.socket.pause();
  return setInterval(() => {
    c.socket.resume();
    setImmediate(() => c.socket.pause());
  }, everyMs);
}

describe('tsnats: fast producer stall', () => {
  it('a slow but reading subscriber is paced, not cut; a never-reading one is cut at max_pending; others unaffected', { timeout: 300_000 }, async (t) => {
    // write_deadline far away: a cut can only come from max_pending
    const server = await startServer('tsnats', ['-c', writeConfig(`max_pending: ${MAX_PENDING}\nwrite_deadline: "120s"\n`), '-m', '-1']);
    const timers: NodeJS.Timeout[] = [];
    try {
      const http = monitorPort(server.stderr());
      const pid = server.proc.pid!;

      const slow = await Client.open(server.port, { name: 'slow' });
      const slowSeq = new SeqCheck('slow', 0x62);
      slow.onMsg = (_s, _sid, p) => slowSeq.take(p);
      slow.send('SUB flood 1\r\n');
      await slow.flush();

      const stuck = await Client.open(server.port, { name: 'stuck' });
      stuck.send('SUB flood 1\r\n');
      await stuck.flush();
      stuck.socket.pause(); // never reads again

      // an unrelated pair: its own subject, round trips during the flood
      const otherSub = await Client.open(server.port, { name: 'other-sub' });
      otherSub.send('SUB other 1\r\n');
      await otherSub.flush();
      const otherPub = await Client.open(server.port, { name: 'other-pub' });

      const flooder = await Client.open(server.port, { name: 'flooder' });
      timers.push(throttle(slow, 10));

      const baseline = rssBytes(pid);
      let floodDone = false;
      const flood = (async () => {
        for (let i = 0; i < FLOOD; i += 500) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + 500; k++) frames.push(pubFrame('flood', payload(k)));
          if (!flooder.send(Buffer.concat(frames))) await flooder.drain();
        }
        await flooder.flush(240_000);
        floodDone = true;
      })();

      // meanwhile the other pair: one message at a time, each delivered promptly
      let rounds = 0;
      let worstMs = 0;
      while (!floodDone && rounds < 2000) {
        const t0 = Date.now();
        otherPub.send(pubFrame('other', String(rounds)));
        const want = rounds + 1;
        await waitFor(`other message ${want}`, () => otherSub.msgs >= want, 30_000, 1);
        worstMs = Math.max(worstMs, Date.now() - t0);
        rounds++;
        if (rounds % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await flood;
      await waitFor(`slow subscriber got ${FLOOD} (has ${slow.msgs})`, () => slow.msgs >= FLOOD, 180_000);
      for (const x of timers) clearInterval(x);
      slow.socket.resume();
      const peak = peakRssBytes(pid);
      t.diagnostic(
        `slow got ${slow.msgs}, stuck got ${stuck.msgs} before the cut; other pair: ${rounds} round trips, worst ${worstMs} ms; ` +
          `RSS ${(baseline / 2 ** 20).toFixed(1)} MiB at start, peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
      );

      assert.deepEqual(slowSeq.problems, []);
      assert.equal(slow.msgs, FLOOD, 'the slow reader got every message, in order');
      assert.equal(slow.isClosed, false, 'the slow reader was paced, not cut');
      assert.deepEqual(slow.errors, []);
      // the stuck one: cut at max_pending (its socket ends once we read what the kernel holds)
      stuck.socket.resume();
      await waitFor('stuck subscriber closed', () => stuck.isClosed, 60_000);
      assert.ok(stuck.msgs < FLOOD, `the stuck subscriber was cut before the end (got ${stuck.msgs})`);
      assert.ok(rounds > 0, 'the other pair ran during the flood');
      assert.equal(otherSub.msgs, rounds, 'the other pair got every message');
      // generous: a paused producer must not hold up clients that do not share its consumer
      assert.ok(worstMs < 5_000, `other pair's worst round trip ${worstMs} ms`);
      const v = await getJson<Varz>(http, '/varz');
      assert.equal(v.slow_consumers, 1, 'only the never-reading subscriber was cut');
      assert.equal(v.connections, 4);
      // bounded: max_pending per connection plus socket buffers and GC slack, not the ~30 MB that flowed
      assert.ok(peak - baseline < 100 * 2 ** 20, `RSS grew by ${((peak - baseline) / 2 ** 20).toFixed(1)} MiB`);
      for (const c of [slow, otherSub, otherPub, flooder]) c.close();
    } finally {
      for (const x of timers) clearInterval(x);
      await server.stop();
    }
  });
});
