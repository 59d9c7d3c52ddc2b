import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, defaultOptions } from '../../../src/index.js';
import { createRouteTransport, nameToken, tokenName, type RouteRaftTransport } from '../../../src/jetstream/cluster/raft-transport.js';
import { createRaftNode } from '../../../src/jetstream/cluster/raft.js';
import type { RaftNode } from '../../../src/jetstream/cluster/raft-types.js';
import { ListMachine, waitFor, sleep } from '../../helpers/raft-net.js';

function clusterPort(s: Server): number {
  return (s as unknown as { cluster: { port: number } }).cluster.port;
}
function numRoutes(s: Server): number {
  return (s as unknown as { cluster: { numRoutes(): number } }).cluster.numRoutes();
}

async function startServer(name: string, routes: string[]): Promise<Server> {
  const s = new Server({
    host: '127.0.0.1',
    port: -1,
    serverName: name,
    cluster: { ...defaultOptions().cluster, name: 'RAFT', host: '127.0.0.1', port: -1 },
    routes,
    noLog: true,
  } as never);
  await s.start();
  return s;
}

describe('raft over routes', () => {
  const servers: Server[] = [];
  const transports: RouteRaftTransport[] = [];
  const nodes: RaftNode[] = [];
  after(async () => {
    for (const n of nodes) n.stop();
    for (const t of transports) t.close();
    for (const s of servers) await s.shutdown();
  });

  it('names become subject tokens and back', () => {
    for (const n of ['A', 'srv-1_x', 'a.b', 'with space', '*', '>', 'ü']) {
      const t = nameToken(n);
      assert.match(t, /^[A-Za-z0-9_~-]+$/);
      assert.equal(tokenName(t), n);
    }
  });

  it('three servers elect a leader and replicate over their routes', async () => {
    const a = await startServer('n.a', []);
    servers.push(a);
    const url = `nats://127.0.0.1:${clusterPort(a)}`;
    servers.push(await startServer('n b', [url]), await startServer('n-c', [url]));
    await waitFor('full mesh', () => servers.every((s) => numRoutes(s) === 2), 10000);
    const ids = servers.map((s) => s.serverName);
    const machines = servers.map(() => new ListMachine());
    servers.forEach((s, i) => {
      const t = createRouteTransport(s);
      transports.push(t);
      assert.equal(t.self, ids[i]);
      nodes.push(createRaftNode({ group: 'S.R3 x', peers: ids, transport: t, machine: machines[i], storeDir: null, electionTimeout: [300, 600], heartbeat: 100 }));
    });
    const leader = await waitFor('leader', () => {
      const l = nodes.filter((n) => n.isLeader());
      return l.length === 1 && nodes.every((n) => n.leader() === l[0].id) ? l[0] : null;
    }, 10000);
    const ps: Promise<number>[] = [];
    for (let i = 0; i < 100; i++) ps.push(leader.propose(Buffer.from(`r${i}`)));
    await Promise.all(ps);
    await waitFor('replicated', () => machines.every((m) => m.entries.length === 100), 5000);
    for (const m of machines) assert.deepEqual(m.entries, Array.from({ length: 100 }, (_, i) => `r${i}`));
    // A second group on the same servers is independent.
    const m2 = servers.map(() => new ListMachine());
    const g2 = servers.map((_s, i) => createRaftNode({ group: 'meta', peers: ids, transport: transports[i], machine: m2[i], storeDir: null, electionTimeout: [300, 600], heartbeat: 100 }));
    nodes.push(...g2);
    const l2 = await waitFor('leader 2', () => g2.find((n) => n.isLeader() && g2.every((x) => x.leader() === n.id)), 10000);
    await l2.propose(Buffer.from('m'));
    await waitFor('g2', () => m2.every((m) => m.entries.length === 1));
    assert.equal(machines[0].entries.length, 100);
    // The leader's server goes away: the other two carry on.
    const li = nodes.indexOf(leader);
    nodes[li].stop();
    transports[li].close();
    await servers[li].shutdown();
    const rest = [0, 1, 2].filter((i) => i !== li);
    const l3 = await waitFor('new leader', () => {
      const l = rest.map((i) => nodes[i]).filter((n) => n.isLeader());
      return l.length === 1 ? l[0] : null;
    }, 10000);
    await l3.propose(Buffer.from('after'));
    await waitFor('after', () => rest.every((i) => machines[i].entries.at(-1) === 'after'));
    await sleep(10);
  });
});
