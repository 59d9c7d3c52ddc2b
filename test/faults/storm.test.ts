// Fault injection: a connection storm. 5,000 connections (× FAULT_SCALE) opened and dropped
// as fast as the machine allows (200 in flight), in four styles — closed
// right after INFO, reset (RST) at once, a full CONNECT/PING/PONG round
// trip, a CONNECT cut in half — while a subscriber receives a steady stream.
// The server must survive, the subscriber must get every message, the
// connection count must return to the survivors, and every connection must
// have been accepted and counted.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { startServer } from '../helpers/servers.js';
import { Client, SeqCheck, getJson, monitorPort, pubFrame, rssBytes, waitFor, type Varz } from './util.js';

/** FAULT_SCALE=<n> multiplies the storm for long runs */
const STORM = Math.round(5000 * (Number(process.env.FAULT_SCALE) > 0 ? Number(process.env.FAULT_SCALE) : 1));
const IN_FLIGHT = 200;
const MESSAGES = 5000;

type Style = 'close-after-info' | 'reset' | 'round-trip' | 'half-connect';
const STYLES: Style[] = ['close-after-info', 'reset', 'round-trip', 'half-connect'];

/** one storm connection; resolves with whether it saw what it expected (INFO, and PONG for round trips) */
function stormOne(port: number, style: Style): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    let got = '';
    let ok = false;
    const timer = setTimeout(() => s.destroy(), 30_000);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(ok);
    });
    if (style === 'reset') {
      s.once('connect', () => {
        ok = true;
        s.resetAndDestroy();
      });
      return;
    }
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n')) return;
      if (style === 'close-after-info') {
        ok = got.startsWith('INFO ');
        s.destroy();
      } else if (style === 'half-connect') {
        ok = got.startsWith('INFO ');
        s.end('CONNECT {"verb');
      } else if (!got.includes('PONG\r\n')) {
        if (!got.includes('CONNECT-SENT')) {
          got += 'CONNECT-SENT';
          s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
        }
      } else {
        ok = true;
        s.destroy();
      }
    });
  });
}

describe('tsnats: connection storm', () => {
  it(`${STORM} connects/disconnects while ${MESSAGES} messages flow`, { timeout: 300_000 }, async (t) => {
    const server = await startServer('tsnats', ['-m', '-1']);
    try {
      const http = monitorPort(server.stderr());
      const sub = await Client.open(server.port, { name: 'sub' });
      const seq = new SeqCheck('sub');
      sub.onMsg = (_s, _sid, p) => seq.take(p);
      sub.send('SUB steady 1\r\n');
      await sub.flush();
      const pub = await Client.open(server.port, { name: 'pub' });
      const before = await getJson<Varz>(http, '/varz');
      const rss0 = rssBytes(server.proc.pid!);

      let done = 0;
      let okCount = 0;
      const started = Date.now();
      const storm = (async () => {
        let next = 0;
        const worker = async () => {
          while (next < STORM) {
            const i = next++;
            if (await stormOne(server.port, STYLES[i % STYLES.length]!)) okCount++;
            done++;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      })();
      const traffic = (async () => {
        for (let i = 0; i < MESSAGES; i += 50) {
          const frames: Buffer[] = [];
          for (let k = i; k < i + 50; k++) frames.push(pubFrame('steady', String(k)));
          pub.send(Buffer.concat(frames));
          await pub.flush(60_000);
        }
      })();
      await Promise.all([storm, traffic]);
      const secs = (Date.now() - started) / 1000;
      await waitFor(`${MESSAGES} messages (got ${sub.msgs})`, () => sub.msgs >= MESSAGES, 60_000);
      await sub.flush();

      assert.equal(done, STORM);
      assert.equal(okCount, STORM, 'every storm connection was accepted and served');
      assert.deepEqual(seq.problems, []);
      assert.equal(sub.msgs, MESSAGES, 'the subscriber got every message');
      assert.deepEqual(sub.errors, []);
      await waitFor('connections back to the 2 survivors', async () => (await getJson<Varz>(http, '/varz')).connections === 2, 60_000, 100);
      const after = await getJson<Varz>(http, '/varz');
      assert.equal(after.total_connections - before.total_connections, STORM, 'every storm connection was counted once');
      assert.equal(after.subscriptions, before.subscriptions);
      assert.equal(server.proc.exitCode, null);
      // still serving new clients
      const probe = await Client.open(server.port);
      await probe.flush();
      probe.close();
      t.diagnostic(`${STORM} connections in ${secs.toFixed(1)} s (${Math.round(STORM / secs)}/s), RSS ${(rss0 / 2 ** 20).toFixed(1)} → ${(rssBytes(server.proc.pid!) / 2 ** 20).toFixed(1)} MiB`);
      sub.close();
      pub.close();
    } finally {
      await server.stop();
    }
  });
});
