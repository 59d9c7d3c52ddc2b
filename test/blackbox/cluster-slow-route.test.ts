// A route peer that completes the handshake, registers interest and then
// stops reading, while a local client floods that subject (interleaved with
// messages for a local subscriber). As nats-server 2.9.10 does
// (server/client.go queueOutbound, deliverMsg → stalledWait,
// handleWriteTimeout): the route is not cut at a max_pending limit, the
// publisher is stalled instead of cut, the route is closed as a slow
// consumer only once a whole write deadline passed without any progress,
// local subscribers receive everything, an unrelated client is served
// meanwhile, and the server's memory stays bounded. Runs against tsnats and
// the reference under the same expectations.

import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { ServerKind } from '../helpers/servers.js';
import { logged, startNode } from './cluster-helpers.js';
import { Client, SeqCheck, peakRssBytes, pubFrame, rssBytes, sleep, waitFor } from '../faults/util.js';

const KINDS: ServerKind[] = ['tsnats', 'reference'];
const MiB = 2 ** 20;

/** A fake route peer: CONNECT + INFO + RS+ $G <subject>, then it stops reading. */
async function stuckPeer(routePort: number, subject: string): Promise<Socket> {
  const s = await new Promise<Socket>((resolve, reject) => {
    const c = netConnect({ host: '127.0.0.1', port: routePort });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
  s.on('error', () => undefined);
  let got = '';
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('INFO ')) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
  });
  const connect = { echo: false, verbose: false, pedantic: false, tls_required: false, headers: true, name: 'FAKEROUTEPEER', cluster: 'slow', dynamic: false, lnoc: true };
  const info = { server_id: 'FAKEROUTEPEER', server_name: 'stuck', version: '2.9.10', proto: 2, host: '127.0.0.1', port: 1, headers: true, max_payload: 1048576, cluster: 'slow', lnoc: true };
  s.write(`CONNECT ${JSON.stringify(connect)}\r\nINFO ${JSON.stringify(info)}\r\nRS+ $G ${subject}\r\nPING\r\n`);
  // read what the server sends right after registering (its INFO, interest, PONG), then stop reading
  await sleep(500);
  s.pause();
  return s;
}

describe('a route peer that stops reading', { timeout: 180_000 }, () => {
  for (const kind of KINDS) {
    it(`${kind}: the publisher is stalled, not cut; the route is cut on the write deadline, not max_pending; memory bounded`, async (t) => {
      const n = await startNode(kind, { name: 'N', cluster: 'slow', process: true, extraConf: 'write_deadline: "3s"\nmax_pending: 16MB' });
      const peer = await stuckPeer(n.routePort, 'flood');
      const sub = await Client.open(n.clientPort);
      const seq = new SeqCheck('local');
      sub.onMsg = (_s, _sid, p) => seq.take(p);
      sub.send('SUB local 1\r\n');
      await sub.flush();
      const pub = await Client.open(n.clientPort);
      const idle = await Client.open(n.clientPort);
      const pid = n.proc!.proc.pid!;
      let rttStop = false;
      let rtts: Promise<void> = Promise.resolve();
      try {
        await waitFor('the fake route registered', () => logged(n, /Registering remote route "FAKEROUTEPEER"/).length > 0 || logged(n, 'Route connection created').length > 0, 10_000);
        await sleep(200);
        const rss0 = rssBytes(pid);
        // ~120 MB towards the stuck peer, interleaved with local messages
        const big = Buffer.alloc(8192, 0x66);
        let localSent = 0;
        let worstRtt = 0;
        rtts = (async () => {
          while (!rttStop) {
            const t0 = Date.now();
            await idle.flush(10_000);
            worstRtt = Math.max(worstRtt, Date.now() - t0);
            await sleep(100);
          }
        })();
        const started = Date.now();
        for (let round = 0; round < 60; round++) {
          const frames: Buffer[] = [];
          for (let k = 0; k < 250; k++) frames.push(pubFrame('flood', big));
          for (let k = 0; k < 20; k++) frames.push(pubFrame('local', String(localSent++)));
          pub.send(Buffer.concat(frames));
          await pub.flush(60_000);
        }
        const took = Date.now() - started;
        await waitFor('every local message', () => sub.msgs >= localSent, 30_000);
        rttStop = true;
        await rtts;
        const peak = Math.max(peakRssBytes(pid), rssBytes(pid));
        t.diagnostic(`${kind}: flood took ${took} ms, RSS ${(rss0 / MiB).toFixed(1)} → peak ${(peak / MiB).toFixed(1)} MiB, idle client worst PING RTT ${worstRtt} ms`);
        assert.deepEqual(seq.problems, []);
        assert.equal(sub.msgs, localSent, 'the local subscriber got everything');
        assert.equal(pub.isClosed, false, 'the publisher was not cut');
        assert.ok(worstRtt < 1000, `an unrelated client waited ${worstRtt} ms for a PONG`);
        assert.ok(peak - rss0 < 160 * MiB, `RSS grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
        // the reference's treatment: publisher stalls, then a write-deadline cut of the route only
        await waitFor('the route cut', () => logged(n, 'Router connection closed').length > 0, 15_000);
        assert.ok(logged(n, 'Timed out of fast producer stall').length > 0, 'the publisher was stalled');
        assert.ok(logged(n, /Slow Consumer Detected: WriteDeadline of 3s exceeded/).length > 0, n.log().filter((l) => l.includes('Slow')).join('\n'));
        assert.equal(logged(n, 'MaxPending').length, 0, 'no max_pending cut of a route');
        assert.ok(logged(n, /Router connection closed: Slow Consumer \(Write Deadline\)/).length > 0);
        // the publisher runs at full speed again
        const t1 = Date.now();
        for (let k = 0; k < 1000; k++) pub.send(pubFrame('local', String(localSent++)));
        await pub.flush(10_000);
        await waitFor('after the cut', () => sub.msgs >= localSent, 10_000);
        assert.ok(Date.now() - t1 < 2000);
        assert.equal(n.proc!.proc.exitCode, null);
      } finally {
        rttStop = true;
        peer.destroy();
        for (const c of [sub, pub, idle]) c.close();
        await rtts.catch(() => undefined);
        await n.stop();
      }
    });
  }
});
