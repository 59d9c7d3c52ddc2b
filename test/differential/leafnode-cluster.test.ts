// A leaf cluster attached to a hub cluster by two leaf connections, one per
// hub node, with tsnats and nats-server 2.9.10 mixed on both sides:
//
//   hub cluster "hubc":   H1 ==route== H2
//                          |           |
//   leaf cluster "leafc": L1 ==route== L2
//
// A message from the leaf cluster crosses the hub route as an LMSG naming
// its origin cluster, and interest of the leaf cluster as LS+ with that
// origin (server/client.go msgHeaderForRouteOrLeaf, server/route.go
// addRouteSubOrUnsubProtoToBuf): the other hub node then neither hands the
// message back to the leaf cluster nor tells it of interest that is its own
// (cluster-wide no echo). Every subscriber gets each message once, every
// queue group each message once. Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { freePort, interestCrossed, leafPort, sleep, waitFor } from '../helpers/leafnodes.js';

const dec = new TextDecoder();

async function hubNode(kind: ServerKind, name: string, port: number, peer: number): Promise<RunningServer> {
  const conf = `server_name: ${name}\ncluster { name: hubc, listen: "127.0.0.1:${port}", routes: ["nats://127.0.0.1:${peer}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n`;
  return startServer(kind, ['-c', writeConfig(conf)]);
}

async function leafNode(kind: ServerKind, name: string, port: number, peer: number, hubLeaf: number): Promise<RunningServer> {
  const conf =
    `server_name: ${name}\ncluster { name: leafc, listen: "127.0.0.1:${port}", routes: ["nats://127.0.0.1:${peer}"] }\n` +
    `leafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${hubLeaf}" } ] }\n`;
  return startServer(kind, ['-c', writeConfig(conf)]);
}

/**
 * Subscribe on each of `subs` to `subject`, publish from `pub` until every
 * one has the probe, let every path settle, then publish `n` messages:
 * returns what each subscriber got of them.
 */
async function fanOut(pub: NatsConnection, subs: NatsConnection[], subject: string, n: number, queue?: string): Promise<string[][]> {
  const got: string[][] = subs.map(() => []);
  const probes = subs.map(() => 0);
  const handles = subs.map((c, i) =>
    c.subscribe(subject, {
      queue,
      callback: (_e, m) => {
        const d = dec.decode(m.data);
        if (d === 'probe') probes[i]!++;
        else got[i]!.push(d);
      },
    }),
  );
  for (const c of subs) await c.flush();
  if (queue === undefined) {
    await waitFor(`interest in ${subject}`, async () => {
      pub.publish(subject, 'probe');
      await pub.flush();
      await sleep(30);
      return probes.every((p) => p > 0);
    }, 15_000);
  } else {
    // A probe reaches one queue member only: probe each member's connection
    // on a subject of its own, subscribed after the queue member.
    for (let i = 0; i < subs.length; i++) await interestCrossed(pub, subs[i]!, `${subject}.ready.${i}`, 15_000);
  }
  await sleep(1000);
  for (let i = 0; i < n; i++) pub.publish(subject, `m${i}`);
  await pub.flush();
  const total = (): number => got.reduce((s, g) => s + g.length, 0);
  await waitFor(`${n} messages on ${subject}`, () => total() >= (queue === undefined ? n * subs.length : n));
  await sleep(500);
  for (const h of handles) h.unsubscribe();
  return got;
}

const CASES: Array<{ hubs: [ServerKind, ServerKind]; leaves: [ServerKind, ServerKind] }> = [
  { hubs: ['reference', 'reference'], leaves: ['reference', 'reference'] },
  { hubs: ['tsnats', 'reference'], leaves: ['reference', 'reference'] },
  { hubs: ['reference', 'tsnats'], leaves: ['reference', 'reference'] },
  { hubs: ['tsnats', 'reference'], leaves: ['tsnats', 'reference'] },
  { hubs: ['reference', 'tsnats'], leaves: ['tsnats', 'tsnats'] },
  { hubs: ['tsnats', 'tsnats'], leaves: ['reference', 'tsnats'] },
];

for (const cs of CASES) {
  describe(`leafnodes: leaf cluster ${cs.leaves.join('+')} on hub cluster ${cs.hubs.join('+')}, one leaf connection per hub node`, () => {
    it('each message once to every subscriber and once per queue group, from either cluster', async () => {
      const [h1p, h2p, l1p, l2p] = [await freePort(), await freePort(), await freePort(), await freePort()];
      // Stopped whatever fails: a server left running kept this file's
      // process alive until the whole suite's timeout.
      const servers: RunningServer[] = [];
      const conns: NatsConnection[] = [];
      try {
        const h1 = await hubNode(cs.hubs[0], 'H1', h1p, h2p);
        servers.push(h1);
        const h2 = await hubNode(cs.hubs[1], 'H2', h2p, h1p);
        servers.push(h2);
        const l1 = await leafNode(cs.leaves[0], 'L1', l1p, l2p, leafPort(h1));
        servers.push(l1);
        const l2 = await leafNode(cs.leaves[1], 'L2', l2p, l1p, leafPort(h2));
        servers.push(l2);
        for (const srv of [h1, h2, l1, l2]) conns.push(await connect({ servers: srv.url }));
        const [c1, c2, cl1, cl2] = conns as [NatsConnection, NatsConnection, NatsConnection, NatsConnection];
        const N = 20;
        // From the leaf cluster: its other node and both hub nodes get each message once.
        let got = await fanOut(cl1, [cl2, c1, c2], 'from.l1', N);
        assert.deepEqual(got.map((g) => g.length), [N, N, N], 'from L1: L2, H1, H2');
        got = await fanOut(cl2, [cl1, c1, c2], 'from.l2', N);
        assert.deepEqual(got.map((g) => g.length), [N, N, N], 'from L2: L1, H1, H2');
        // From the hub cluster: each leaf node once.
        got = await fanOut(c1, [cl1, cl2, c2], 'from.h1', N);
        assert.deepEqual(got.map((g) => g.length), [N, N, N], 'from H1: L1, L2, H2');
        got = await fanOut(c2, [cl1, cl2, c1], 'from.h2', N);
        assert.deepEqual(got.map((g) => g.length), [N, N, N], 'from H2: L1, L2, H1');
        // Headers cross the hub route in the LMSG form too.
        const hdrs: string[] = [];
        c2.subscribe('hdr.x', { callback: (_e, m) => void hdrs.push(m.headers?.get('X-Leaf') ?? '') });
        await c2.flush();
        await waitFor('hdr.x interest at L1', async () => {
          const h = headers();
          h.set('X-Leaf', 'L1');
          cl1.publish('hdr.x', 'h', { headers: h });
          await cl1.flush();
          await sleep(50);
          return hdrs.length > 0;
        }, 15_000);
        assert.equal(hdrs[0], 'L1');
        // A queue group with a member on every server: each message once in all.
        for (const [name, pub] of [['l1', cl1], ['l2', cl2], ['h1', c1], ['h2', c2]] as const) {
          got = await fanOut(pub, [cl1, cl2, c1, c2], `q.${name}`, N, 'g');
          const all = got.flat();
          assert.equal(all.length, N, `queue from ${name}: ${got.map((g) => g.length).join(',')}`);
          assert.equal(new Set(all).size, N);
        }
      } finally {
        for (const c of conns) await c.close();
        for (const srv of servers.reverse()) await srv.stop();
      }
    });
  });
}
