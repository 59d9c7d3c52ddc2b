// tsnats routes under bad or heavy conditions: a peer that stops reading, a
// flood of routed messages split at every possible point, random garbage on
// the route port, and lame duck mode. The server must not crash, must close
// the offending route cleanly, and must keep serving everyone else.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { connect as rawConnect, type RawClient } from '../helpers/rawclient.js';
import { logged, sleep, startNode, waitFor, type ClusterNode } from './cluster-helpers.js';

const CONNECT = (name: string) =>
  `CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${name}","cluster":"rb","lnoc":true}\r\n`;
const INFO = (name: string) =>
  `INFO {"server_id":"${name}","server_name":"${name}","version":"2.9.10","proto":2,"host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"rb","lnoc":true}\r\n`;

async function registeredPeer(n: ClusterNode, name: string): Promise<RawClient> {
  const c = await rawConnect(n.routePort);
  await c.readUntil('\r\n');
  await c.send(CONNECT(name) + INFO(name) + 'PING\r\n');
  await c.readUntil('PONG\r\n');
  return c;
}

/** The node still does its job: a client round trip through it. */
async function stillServes(n: ClusterNode): Promise<void> {
  const nc = await connect({ servers: n.url });
  nc.subscribe('alive', { callback: (_e, m) => void m.respond('yes') });
  await nc.flush();
  const r = await nc.request('alive', '', { timeout: 2000 });
  assert.equal(new TextDecoder().decode(r.data), 'yes');
  await nc.close();
}

describe('route robustness (tsnats)', () => {
  it('a peer that stops reading is cut at the write deadline; clients are unaffected', async () => {
    const n = await startNode('tsnats', { name: 'X', cluster: 'rb', extraOpts: { writeDeadlineMs: 500 } });
    try {
      const peer = await registeredPeer(n, 'NSTALL');
      await peer.send('RS+ $G flood\r\nPING\r\n');
      await peer.readUntil('PONG\r\n');
      peer.socket.pause(); // stop reading: the kernel buffers fill up
      const nc = await connect({ servers: n.url });
      const payload = new Uint8Array(512 * 1024);
      await waitFor(
        'the stalled route closed',
        async () => {
          for (let i = 0; i < 20; i++) nc.publish('flood', payload);
          await nc.flush();
          return logged(n, 'Router connection closed: Slow Consumer (Write Deadline)').length === 1;
        },
        30_000,
        10,
      );
      assert.equal(logged(n, 'Slow Consumer Detected: WriteDeadline of 500ms exceeded').length, 1);
      assert.equal(n.server!.cluster!.numRoutes(), 0);
      await nc.close();
      peer.close();
      await stillServes(n);
    } finally {
      await n.stop();
    }
  });

  it('10000 routed messages split at arbitrary points all arrive, in order', async () => {
    const n = await startNode('tsnats', { name: 'X', cluster: 'rb' });
    try {
      const nc = await connect({ servers: n.url });
      const got: string[] = [];
      nc.subscribe('flow.>', { callback: (_e, m) => void got.push(`${m.subject}|${m.reply ?? ''}|${new TextDecoder().decode(m.data)}`) });
      await nc.flush();
      const peer = await registeredPeer(n, 'NFLOW');
      const parts: string[] = [];
      const want: string[] = [];
      for (let i = 0; i < 10_000; i++) {
        const body = 'x'.repeat(i % 97);
        const subj = `flow.${i % 13}`;
        if (i % 3 === 0) {
          parts.push(`RMSG $G ${subj} r.${i} ${body.length}\r\n${body}\r\n`);
          want.push(`${subj}|r.${i}|${body}`);
        } else if (i % 3 === 1) {
          const hdr = 'NATS/1.0\r\nK: v\r\n\r\n';
          parts.push(`HMSG $G ${subj} ${hdr.length} ${hdr.length + body.length}\r\n${hdr}${body}\r\n`);
          want.push(`${subj}||${body}`);
        } else {
          parts.push(`RMSG $G ${subj} | someq ${body.length}\r\n${body}\r\n`);
          want.push(`${subj}||${body}`);
        }
      }
      const all = Buffer.from(parts.join(''));
      // random chunking, down to single bytes
      let off = 0;
      while (off < all.length) {
        const size = 1 + (randomBytes(2).readUInt16LE(0) % 700);
        await peer.send(all.subarray(off, off + size));
        off += size;
      }
      await peer.send('PING\r\n');
      await peer.readUntil('PONG\r\n', 20_000);
      await waitFor('all delivered', () => got.length >= want.length, 20_000);
      await sleep(100);
      assert.equal(got.length, want.length);
      assert.deepEqual(got, want);
      const r = [...n.server!.cluster!.routes()][0]!;
      assert.equal(r.inMsgs, 10_000);
      await nc.close();
      peer.close();
    } finally {
      await n.stop();
    }
  });

  it('random garbage on the route port never takes the server down', async () => {
    const n = await startNode('tsnats', { name: 'X', cluster: 'rb' });
    try {
      const prefixes = ['', CONNECT('NG') + INFO('NG'), 'RMSG ', 'RS+ ', 'HMSG $G a ', 'LS+ ', 'INFO ', 'CONNECT '];
      for (let i = 0; i < 120; i++) {
        const c = await rawConnect(n.routePort);
        await c.readUntil('\r\n');
        const junk = randomBytes(1 + (i * 37) % 400);
        await c.send(Buffer.concat([Buffer.from(prefixes[i % prefixes.length]!), junk, Buffer.from('\r\n')]));
        await c.readFor(20, 200);
        c.close();
      }
      await sleep(200);
      await stillServes(n);
      // a proper peer can still register
      const ok = await registeredPeer(n, 'NAFTER');
      assert.equal(ok.isClosed, false);
      ok.close();
    } finally {
      await n.stop();
    }
  });

  it('lame duck: route peers are told (INFO ldm), and remove the node from their clients\' connect_urls', async () => {
    const a = await startNode('tsnats', { name: 'A', cluster: 'ld', extraOpts: { lameDuckDurationMs: 3000, lameDuckGracePeriodMs: 1000 } });
    const b = await startNode('tsnats', { name: 'B', cluster: 'ld', routes: [a.routeURL] });
    const ref = await startNode('reference', { name: 'R', cluster: 'ld', routes: [a.routeURL] });
    try {
      const nc = await connect({ servers: b.url });
      const ports = () => (nc.info?.connect_urls ?? []).map((u) => Number(u.slice(u.lastIndexOf(':') + 1)));
      await waitFor('three URLs', () => ports().length === 3);
      // hold a client on A so lame duck mode lasts a while
      const onA = await connect({ servers: a.url, reconnect: false });
      const ldm = a.server!.lameDuckMode();
      await waitFor('A removed from B clients', () => ports().length === 2 && !ports().includes(a.clientPort));
      const refClient = await connect({ servers: ref.url });
      await waitFor('A removed from reference clients', () => !(refClient.info?.connect_urls ?? []).some((u) => u.endsWith(`:${a.clientPort}`)));
      await ldm;
      await Promise.all([nc.close(), refClient.close(), onA.close().catch(() => undefined)]);
    } finally {
      await Promise.all([a.stop(), b.stop(), ref.stop()]);
    }
  });
});
