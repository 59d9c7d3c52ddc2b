// Leafnode faults, with a tsnats and a nats-server 2.9.10 leaf side by side
// (a fake hub played by a raw TCP server) or a tsnats hub under a flood from
// a nats-server leaf: a hub that never sends its INFO, one that answers the
// CONNECT with garbage, one that stalls after the handshake. The leaf keeps
// serving its own clients and dials again, as the reference does; the hub
// flooded by a leaf keeps serving its other clients and loses nothing for a
// subscriber that keeps up. (A hub killed and restarted is covered in
// test/differential/leafnode-interop.test.ts, "a leaf that loses its hub".)

import assert from 'node:assert/strict';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { type RunningServer, type ServerKind } from '../helpers/servers.js';
import { interestCrossed, leafPort, serverLog, sleep, startHub, startLeaf, waitFor } from '../helpers/leafnodes.js';

const LEAVES: ServerKind[] = ['tsnats', 'reference'];

/** A fake hub: counts connections, and lets `onConn` play each one. */
async function fakeHub(onConn: (s: Socket, n: number) => void): Promise<{ port: number; conns: () => number; close: () => Promise<void> }> {
  let n = 0;
  const socks = new Set<Socket>();
  const srv: NetServer = createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    onConn(s, ++n);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    conns: () => n,
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** What a 2.9.10 hub's first INFO has that a leaf checks (a cid and leafnode_urls, else it is the wrong port). */
const HUB_INFO = (s: Socket): string =>
  `INFO ${JSON.stringify({ server_id: 'NFAKEHUB', server_name: 'FAKE', version: '2.9.10', proto: 1, headers: true, max_payload: 1048576, nonce: 'abcdefghijkl', client_id: 7, cluster: 'FAKE', leafnode_urls: [`127.0.0.1:${s.localPort}`] })}\r\n`;

/** The leaf's own clients keep working while its hub misbehaves. */
async function localTraffic(leaf: RunningServer): Promise<void> {
  const a = await connect({ servers: leaf.url });
  const b = await connect({ servers: leaf.url });
  try {
    await interestCrossed(a, b, 'local.ok', 5000);
  } finally {
    await a.close();
    await b.close();
  }
}

for (const kind of LEAVES) {
  describe(`leafnode faults: a ${kind} leaf of a misbehaving hub`, () => {
    it('a hub that never sends its INFO: the leaf gives up on the attempt and dials again', async () => {
      const hub = await fakeHub(() => {});
      const leaf = await startLeaf(kind, hub.port);
      try {
        await waitFor('a second dial', () => hub.conns() >= 2, 15_000);
        await localTraffic(leaf);
        assert.ok(leaf.proc.exitCode === null, 'the leaf is running');
      } finally {
        await leaf.stop();
        await hub.close();
      }
    });

    it('a hub that answers the CONNECT with garbage: the leaf closes that connection and dials again', async () => {
      const hub = await fakeHub((s) => {
        s.write(HUB_INFO(s));
        s.once('data', () => s.write('\x00\x01GARBAGE that is no protocol at all\r\n'));
      });
      const leaf = await startLeaf(kind, hub.port);
      try {
        await waitFor('a second dial', () => hub.conns() >= 2, 15_000);
        await localTraffic(leaf);
        assert.match(serverLog(leaf), /[Pp]arser ERROR|Parse Error|Unknown Protocol/);
      } finally {
        await leaf.stop();
        await hub.close();
      }
    });

    it('a hub that stalls after the INFO (reads nothing, answers nothing): the leaf drops it and dials again', async () => {
      const hub = await fakeHub((s) => {
        s.write(HUB_INFO(s));
        s.pause();
      });
      const leaf = await startLeaf(kind, hub.port, 'ping_interval: "1s"\nping_max: 2\n');
      try {
        await waitFor('a second dial', () => hub.conns() >= 2, 20_000);
        await localTraffic(leaf);
      } finally {
        await leaf.stop();
        await hub.close();
      }
    });
  });
}

describe('leafnode faults: a tsnats hub flooded by a nats-server leaf', () => {
  it('its other clients are served during the flood; a subscriber that keeps up gets every message', async () => {
    const hub = await startHub('tsnats');
    const leaf = await startLeaf('reference', leafPort(hub));
    const sub = await connect({ servers: hub.url });
    const svc = await connect({ servers: hub.url });
    const req = await connect({ servers: hub.url });
    const pub = await connect({ servers: leaf.url });
    try {
      let got = 0;
      sub.subscribe('flood.x', { callback: () => void got++ });
      svc.subscribe('svc', { callback: (_e, m) => void m.respond('ok') });
      await sub.flush();
      await svc.flush();
      await interestCrossed(pub, sub, 'flood.ready');
      const N = 100_000;
      const payload = new Uint8Array(256);
      const flooding = (async () => {
        for (let i = 0; i < N; i++) {
          pub.publish('flood.x', payload);
          if (i % 5000 === 0) await pub.flush();
        }
        await pub.flush();
      })();
      let answered = 0;
      while (got < N && answered < 200) {
        assert.equal((await req.request('svc', '', { timeout: 10_000 })).string(), 'ok');
        answered++;
        await sleep(5);
      }
      await flooding;
      await waitFor('every flood message at the hub subscriber', () => got >= N, 60_000);
      await sleep(300);
      assert.equal(got, N);
      assert.ok(answered > 0);
      assert.ok(hub.proc.exitCode === null && leaf.proc.exitCode === null);
    } finally {
      await Promise.all([sub.close(), svc.close(), req.close(), pub.close()]);
      await leaf.stop();
      await hub.stop();
    }
  });
});
