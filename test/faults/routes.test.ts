// Fault injection on cluster routes: a peer killed (SIGKILL) mid-traffic, a
// peer stalled (SIGSTOP) while messages are routed to it, and garbage on the
// route port (before and after a valid handshake, an RMSG cut short, an
// absurd RMSG size). The surviving node must keep running, its local
// traffic must lose nothing, traffic over a healthy route must lose nothing,
// and a killed or stalled peer must rejoin. Nodes are processes (so they can
// be killed and stopped); each scenario runs with tsnats nodes and with
// reference nodes under the same expectations.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { restartNode, startNode, type ClusterNode } from '../blackbox/cluster-helpers.js';
import type { ServerKind } from '../helpers/servers.js';
import { Client, SeqCheck, peakRssBytes, pubFrame, rssBytes, sleep, waitFor } from './util.js';

const KINDS: ServerKind[] = ['tsnats', 'reference'];

async function pair(kind: ServerKind, extraConf = ''): Promise<[ClusterNode, ClusterNode]> {
  const a = await startNode(kind, { name: 'A', cluster: 'faults', process: true, extraConf });
  const b = await startNode(kind, { name: 'B', cluster: 'faults', process: true, routes: [a.routeURL], extraConf });
  return [a, b];
}

/** waits until a message published on `from` reaches a fresh subscription on `to` (route up, interest known) */
async function routeUp(to: ClusterNode, from: ClusterNode, timeoutMs = 30_000): Promise<void> {
  const sub = await Client.open(to.clientPort);
  const pub = await Client.open(from.clientPort);
  try {
    sub.send('SUB route.ready 1\r\n');
    await sub.flush();
    await waitFor(
      `route ${from.spec.name} → ${to.spec.name}`,
      async () => {
        pub.send(pubFrame('route.ready', 'x'));
        await pub.flush();
        await sleep(100);
        return sub.msgs > 0;
      },
      timeoutMs,
      0,
    );
  } finally {
    sub.close();
    pub.close();
  }
}

/** publishes n sequenced messages in batches, each batch flushed */
async function publish(c: Client, subject: string, from: number, n: number, batch = 100): Promise<void> {
  for (let i = from; i < from + n; i += batch) {
    const frames: Buffer[] = [];
    for (let k = i; k < Math.min(from + n, i + batch); k++) frames.push(pubFrame(subject, String(k)));
    c.send(Buffer.concat(frames));
    await c.flush(60_000);
  }
}

/** a subscriber whose messages must be 0,1,2,… without gaps (a prefix is fine when `prefixOk`) */
async function seqSub(node: ClusterNode, subject: string, label: string): Promise<{ c: Client; seq: SeqCheck }> {
  const c = await Client.open(node.clientPort);
  const seq = new SeqCheck(label);
  c.onMsg = (_s, _sid, p) => seq.take(p);
  c.send(`SUB ${subject} 1\r\n`);
  await c.flush();
  return { c, seq };
}

for (const kind of KINDS) {
  describe(`${kind} cluster: route peer faults`, { timeout: 300_000 }, () => {
    it('a peer killed mid-traffic: the survivor serves on, the peer rejoins, traffic recovers exactly', async () => {
      let [a, b] = await pair(kind);
      try {
        await routeUp(a, b);
        const remote = await seqSub(a, 'cross', 'A sub of B traffic');
        const local = await seqSub(a, 'local', 'A local');
        const pubA = await Client.open(a.clientPort);
        const pubB = await Client.open(b.clientPort);
        await sleep(200); // interest for 'cross' reaches B
        // B publishes without flushing; A publishes locally meanwhile; B dies halfway
        const crossSent = 20_000;
        const frames: Buffer[] = [];
        for (let k = 0; k < crossSent; k++) frames.push(pubFrame('cross', String(k)));
        pubB.send(Buffer.concat(frames));
        const localTraffic = publish(pubA, 'local', 0, 5000);
        await waitFor('some cross traffic', () => remote.c.msgs > 0, 30_000, 5);
        b.proc!.proc.kill('SIGKILL');
        await b.proc!.exited;
        await localTraffic;
        await waitFor('local messages', () => local.c.msgs >= 5000, 30_000);
        await local.c.flush();
        assert.deepEqual(local.seq.problems, []);
        assert.equal(local.c.msgs, 5000, 'local traffic on the survivor lost nothing');
        // what crossed before the kill is an in-order prefix, no gaps, no duplicates
        assert.deepEqual(remote.seq.problems, []);
        assert.ok(remote.c.msgs > 0 && remote.c.msgs <= crossSent);
        assert.equal(remote.seq.next, remote.c.msgs);
        assert.equal(a.proc!.proc.exitCode, null, 'the survivor is running');

        // the peer comes back on its ports and redials; traffic crosses exactly again
        b = await restartNode(b);
        await routeUp(a, b);
        const again = await seqSub(a, 'cross2', 'A sub after rejoin');
        await sleep(300);
        const pubB2 = await Client.open(b.clientPort);
        await publish(pubB2, 'cross2', 0, 3000);
        await waitFor('3000 after rejoin', () => again.c.msgs >= 3000, 30_000);
        await again.c.flush();
        await sleep(100);
        assert.deepEqual(again.seq.problems, []);
        assert.equal(again.c.msgs, 3000);
        for (const c of [remote.c, local.c, pubA, pubB, again.c, pubB2]) c.close();
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('a peer stalled (SIGSTOP) while traffic is routed to it: the survivor stays bounded and serves on, the peer recovers', async (t) => {
      // a short write deadline so that the stalled route is cut within the test
      let [a, b] = await pair(kind, 'write_deadline: "2s"');
      try {
        await routeUp(b, a);
        await routeUp(a, b);
        const onB = await Client.open(b.clientPort);
        onB.send('SUB to.b 1\r\n');
        await onB.flush();
        const local = await seqSub(a, 'local', 'A local');
        const pubA = await Client.open(a.clientPort);
        await sleep(300);
        const pid = a.proc!.proc.pid!;
        const rss0 = rssBytes(pid);
        b.proc!.proc.kill('SIGSTOP');
        // ~60 MB routed towards the stalled peer, interleaved with local traffic on A
        const big = Buffer.alloc(4096, 0x62);
        let localSent = 0;
        for (let round = 0; round < 60; round++) {
          const frames: Buffer[] = [];
          for (let k = 0; k < 250; k++) frames.push(pubFrame('to.b', big));
          for (let k = 0; k < 50; k++) frames.push(pubFrame('local', String(localSent++)));
          pubA.send(Buffer.concat(frames));
          await pubA.flush(60_000);
        }
        await waitFor('local messages on A', () => local.c.msgs >= localSent, 30_000);
        const peak = Math.max(peakRssBytes(pid), rssBytes(pid));
        // keep B stopped past the write deadline, then let it run again
        await sleep(2500);
        b.proc!.proc.kill('SIGCONT');
        assert.deepEqual(local.seq.problems, []);
        assert.equal(local.c.msgs, localSent, 'local traffic on A lost nothing while the peer was stalled');
        assert.equal(a.proc!.proc.exitCode, null);
        assert.ok(peak - rss0 < 250 * 2 ** 20, `A's RSS grew by ${((peak - rss0) / 2 ** 20).toFixed(1)} MiB while ~60 MB were routed to a stalled peer`);
        t.diagnostic(`A's RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB → peak ${(peak / 2 ** 20).toFixed(1)} MiB while ~60 MB were routed to the stalled peer; route cut as slow consumer: ${a.log().some((l) => l.includes('Slow Consumer'))}`);
        // the route works again (re-formed if it was cut), exactly
        await routeUp(b, a, 60_000);
        const after = await seqSub(b, 'after', 'B after stall');
        await sleep(300);
        await publish(pubA, 'after', 0, 2000);
        await waitFor('2000 after the stall', () => after.c.msgs >= 2000, 30_000);
        await after.c.flush();
        await sleep(100);
        assert.deepEqual(after.seq.problems, []);
        assert.equal(after.c.msgs, 2000);
        assert.equal(b.proc!.proc.exitCode, null);
        for (const c of [onB, local.c, pubA, after.c]) c.close();
      } finally {
        try {
          b.proc?.proc.kill('SIGCONT');
        } catch {
          /* gone */
        }
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('garbage on the route port: each bad peer is dropped, the real route loses nothing', async () => {
      const [a, b] = await pair(kind);
      try {
        await routeUp(a, b);
        const cross = await seqSub(a, 'cross', 'A sub of B traffic');
        const pubB = await Client.open(b.clientPort);
        await sleep(300);
        // each fake peer has its own server id: two with one id would be a duplicate route, closed for that reason
        let fakeId = 0;
        const handshake = (): string => {
          const id = `NFAKE${++fakeId}`;
          return (
            `CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${id}","cluster":"faults","lnoc":true}\r\n` +
            `INFO {"server_id":"${id}","server_name":"${id}","version":"2.9.10","proto":2,"go":"go1.19","host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"faults","lnoc":true}\r\n`
          );
        };
        // what each bad peer sends, and what the server does (the same in both servers):
        // 'closed' = the server ends the connection, 'open' = it keeps it (client ops are ignored on a route),
        // 'reset' = the peer resets it itself
        const garbage: Array<{ name: string; bytes: () => Buffer; expect: 'closed' | 'open' | 'reset' }> = [
          { name: 'random bytes at once', bytes: () => Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff)), expect: 'closed' },
          { name: 'handshake then garbage', bytes: () => Buffer.from(handshake() + 'XYZZY\r\n'), expect: 'closed' },
          { name: 'handshake then an absurd RMSG size', bytes: () => Buffer.from(handshake() + 'RMSG $G cross 99999999999\r\n'), expect: 'closed' },
          { name: 'handshake then a cut RMSG', bytes: () => Buffer.from(handshake() + 'RMSG $G cross 100\r\nabc'), expect: 'reset' },
          { name: 'handshake then client ops', bytes: () => Buffer.from(handshake() + 'PUB cross 1\r\nx\r\nSUB > 1\r\n'), expect: 'open' },
        ];
        const ROUNDS = 10;
        const traffic = publish(pubB, 'cross', 0, 5000);
        const outcomes = new Map<string, string[]>();
        for (let r = 0; r < ROUNDS; r++) {
          await Promise.all(
            garbage.map(
              (g) =>
                new Promise<void>((resolve) => {
                  const s = netConnect({ port: a.routePort, host: '127.0.0.1' });
                  let how = 'still open';
                  s.on('error', () => undefined);
                  let wrote = false;
                  // a peer the server keeps is dropped by us after a while
                  const timer = setTimeout(() => s.destroy(), g.expect === 'open' ? 1500 : 10_000);
                  s.on('data', () => {
                    if (wrote) return;
                    wrote = true;
                    s.write(g.bytes(), () => {
                      if (g.expect === 'reset') {
                        how = 'reset';
                        setTimeout(() => s.resetAndDestroy(), 5);
                      }
                    });
                  });
                  s.on('end', () => {
                    if (how !== 'reset') how = 'closed';
                    s.destroy();
                  });
                  s.on('close', () => {
                    clearTimeout(timer);
                    const list = outcomes.get(g.name) ?? [];
                    list.push(how === 'still open' ? 'open' : how);
                    outcomes.set(g.name, list);
                    resolve();
                  });
                }),
            ),
          );
        }
        await traffic;
        await waitFor('5000 across the real route', () => cross.c.msgs >= 5000, 30_000);
        await cross.c.flush();
        await sleep(100);
        assert.deepEqual(cross.seq.problems, []);
        assert.equal(cross.c.msgs, 5000, 'the real route lost nothing and nothing extra arrived');
        for (const g of garbage) {
          assert.deepEqual(outcomes.get(g.name), Array(ROUNDS).fill(g.expect), g.name);
        }
        assert.equal(a.proc!.proc.exitCode, null);
        await routeUp(a, b);
        cross.c.close();
        pubB.close();
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
}
