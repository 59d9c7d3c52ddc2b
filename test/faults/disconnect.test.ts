// Fault injection: clients that vanish in the middle of a frame — a payload
// half sent, a control line half sent, HPUB headers cut, a CONNECT cut —
// with a FIN or a RST, while another client's traffic flows. The healthy
// subscriber must receive every healthy message exactly once and in order,
// none of the cut frames may be delivered, and the server must end up with
// only the healthy connections. Run against tsnats and, to keep the
// expectations honest, the reference.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { startServer, type ServerKind } from '../helpers/servers.js';
import { Client, SeqCheck, getJson, monitorPort, pubFrame, sleep, waitFor, type Varz } from './util.js';

/** healthy messages published while the faults happen */
const HEALTHY = 3000;
/** clients cut per fault kind */
const PER_KIND = 40;

interface Fault {
  name: string;
  /** bytes sent after INFO before the cut */
  bytes: string;
  /** RST (destroy) instead of FIN (end) */
  reset: boolean;
}

const PAYLOAD = 'B'.repeat(100);
const FAULTS: Fault[] = [
  { name: 'half payload, FIN', bytes: `CONNECT {"verbose":false}\r\nPUB flow 100\r\n${PAYLOAD.slice(0, 50)}`, reset: false },
  { name: 'half payload, RST', bytes: `CONNECT {"verbose":false}\r\nPUB flow 100\r\n${PAYLOAD.slice(0, 50)}`, reset: true },
  { name: 'payload without CRLF, RST', bytes: `CONNECT {"verbose":false}\r\nPUB flow 100\r\n${PAYLOAD}`, reset: true },
  { name: 'half control line, FIN', bytes: 'CONNECT {"verbose":false}\r\nPUB flo', reset: false },
  { name: 'half HPUB headers, RST', bytes: 'CONNECT {"verbose":false,"headers":true}\r\nHPUB flow 22 30\r\nNATS/1.0\r\nX-A', reset: true },
  { name: 'half CONNECT, FIN', bytes: 'CONNECT {"verbose":fa', reset: false },
  { name: 'SUB then half PUB, RST', bytes: `CONNECT {"verbose":false}\r\nSUB flow 1\r\nPUB flow 100\r\n${PAYLOAD.slice(0, 99)}`, reset: true },
];

function cutClient(port: number, f: Fault): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = netConnect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    let sent = false;
    s.on('data', () => {
      if (sent) return;
      sent = true;
      s.write(f.bytes, () => {
        // let the bytes reach the server before the cut
        setTimeout(() => {
          if (f.reset) s.resetAndDestroy();
          else s.end();
        }, 5);
      });
    });
    s.once('close', () => resolve());
    // a FIN'd socket is closed by the server; never wait forever
    setTimeout(() => s.destroy(), 10_000).unref();
  });
}

for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`${kind}: clients cut mid-frame`, () => {
    it(`${FAULTS.length} kinds × ${PER_KIND} cut clients during ${HEALTHY} healthy messages`, { timeout: 180_000 }, async () => {
      const server = await startServer(kind, ['-m', '-1']);
      try {
        const http = monitorPort(server.stderr());
        const sub = await Client.open(server.port);
        const seq = new SeqCheck('subscriber');
        let foreign = 0;
        sub.onMsg = (_s, _sid, p) => {
          if (p.length === 100 || p.toString('latin1').startsWith('B')) foreign++;
          else seq.take(p);
        };
        sub.send('SUB flow 1\r\n');
        await sub.flush();
        const pub = await Client.open(server.port);
        // the reference counts its system account's internal subscriptions too
        const baseSubs = (await getJson<Varz>(http, '/varz')).subscriptions;

        // healthy traffic, in batches, while the cut clients come and go
        const traffic = (async () => {
          for (let i = 0; i < HEALTHY; i += 100) {
            const frames: Buffer[] = [];
            for (let k = i; k < Math.min(HEALTHY, i + 100); k++) frames.push(pubFrame('flow', String(k)));
            pub.send(Buffer.concat(frames));
            await pub.flush();
          }
        })();
        const cuts = (async () => {
          for (let round = 0; round < PER_KIND; round++) {
            await Promise.all(FAULTS.map((f) => cutClient(server.port, f)));
          }
        })();
        await Promise.all([traffic, cuts]);
        await waitFor(`${HEALTHY} messages at the subscriber (got ${sub.msgs})`, () => sub.msgs >= HEALTHY, 60_000);
        await sub.flush();
        await sleep(100);

        assert.deepEqual(seq.problems, []);
        assert.equal(seq.next, HEALTHY, 'every healthy message arrived');
        assert.equal(sub.msgs, HEALTHY, 'and nothing else');
        assert.equal(foreign, 0, 'no cut frame was delivered');
        assert.deepEqual(sub.errors, []);
        assert.deepEqual(pub.errors, []);
        // only the two healthy connections remain
        await waitFor('connections back to 2', async () => (await getJson<Varz>(http, '/varz')).connections === 2, 30_000, 100);
        const v = await getJson<Varz>(http, '/varz');
        assert.ok(v.total_connections >= 2 + FAULTS.length * PER_KIND, `total_connections ${v.total_connections}`);
        assert.equal(v.subscriptions, baseSubs, 'the cut clients left no subscription behind');
        assert.equal(server.proc.exitCode, null, 'server still running');
        sub.close();
        pub.close();
      } finally {
        await server.stop();
      }
    });
  });
}
