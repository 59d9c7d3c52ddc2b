// The system account in mixed 3-node clusters, both ways round (one
// nats-server 2.9.10 node with two tsnats nodes, two nats-server nodes with
// one tsnats node): a PING from a client of any node is answered by every
// node, every node counts the same active servers, and an ordinary account's
// user gets its CONNZ from every node through the system imports. The
// cluster looks the same to a $SYS client whichever node it asks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { ServerKind } from '../helpers/servers.js';
import { gatherReplies, startNode, SYSTEM_ACCOUNTS, waitFor, type ClusterNode } from './cluster-helpers.js';

const ACCOUNTS = SYSTEM_ACCOUNTS;
const gather = (nc: NatsConnection, subject: string, body = '', ms = 800): Promise<Msg[]> => gatherReplies(nc, subject, body, ms);

const names = (ms: Msg[]): string[] => ms.map((m) => (JSON.parse(m.string()) as { server: { name: string } }).server.name).sort();

async function mixed(kinds: ServerKind[]): Promise<void> {
  const nodes: ClusterNode[] = [];
  const conns: NatsConnection[] = [];
  try {
    const first = await startNode(kinds[0]!, { name: 'N0', cluster: 'mix', extraConf: ACCOUNTS, process: true });
    nodes.push(first);
    for (let i = 1; i < kinds.length; i++) {
      nodes.push(await startNode(kinds[i]!, { name: `N${i}`, cluster: 'mix', routes: [first.routeURL], extraConf: ACCOUNTS, process: true }));
    }
    const all = nodes.map((n) => n.spec.name).sort();
    const sys: NatsConnection[] = [];
    for (const n of nodes) {
      const nc = await connect({ servers: n.url, user: 'sys', pass: 'sys', name: `sys-${n.spec.name}` });
      conns.push(nc);
      sys.push(nc);
    }
    // a client of every node: its PING is answered by all three (the routes carry the interest every way)
    for (const [i, nc] of sys.entries()) {
      await waitFor(`all nodes answer a PING from ${nodes[i]!.spec.name}`, async () => names(await gather(nc, '$SYS.REQ.SERVER.PING', '', 500)).join() === all.join(), 30_000, 200);
      for (const x of ['VARZ', 'CONNZ', 'HEALTHZ', 'ROUTEZ']) {
        const answers = await gather(nc, `$SYS.REQ.SERVER.PING.${x}`);
        assert.deepEqual(names(answers), all, `PING.${x} from ${nodes[i]!.spec.name}`);
        for (const m of answers) assert.ok((JSON.parse(m.string()) as { data?: unknown }).data !== undefined, `${x} data`);
      }
      // every node routes to the two others
      const routez = await gather(nc, '$SYS.REQ.SERVER.PING.ROUTEZ');
      for (const m of routez) assert.equal((JSON.parse(m.string()) as { data: { num_routes: number } }).data.num_routes, 2);
    }
    // every node has heard the two others' STATSZ: active_servers is 3 wherever it is asked
    await waitFor(
      'every node counts three active servers',
      async () => {
        const st = (await gather(sys[0]!, '$SYS.REQ.SERVER.PING.STATSZ')).map((m) => (JSON.parse(m.string()) as { statsz: { active_servers: number } }).statsz.active_servers);
        return st.length === 3 && st.every((n) => n === 3);
      },
      30_000,
      300,
    );
    // one server by id, asked from each node
    const ids = (await gather(sys[0]!, '$SYS.REQ.SERVER.PING')).map((m) => (JSON.parse(m.string()) as { server: { id: string; name: string } }).server);
    for (const nc of sys) {
      for (const { id, name } of ids) {
        const r = JSON.parse((await nc.request(`$SYS.REQ.SERVER.${id}.VARZ`, '', { timeout: 5000 })).string()) as { server: { name: string }; data: { server_name: string; cluster: { name: string } } };
        assert.equal(r.server.name, name);
        assert.equal(r.data.server_name, name);
        assert.equal(r.data.cluster.name, 'mix');
      }
    }
    // a client of account A on every node: its account CONNZ (an import of the system account's) from all three
    const users: NatsConnection[] = [];
    for (const n of nodes) {
      const nc = await connect({ servers: n.url, user: 'a', pass: 'a', name: `a-${n.spec.name}` });
      conns.push(nc);
      users.push(nc);
    }
    for (const [i, nc] of users.entries()) {
      const connz = await gather(nc, '$SYS.REQ.ACCOUNT.PING.CONNZ');
      assert.deepEqual(names(connz), all, `ACCOUNT.PING.CONNZ from ${nodes[i]!.spec.name}`);
      const listed = connz.flatMap((m) => (JSON.parse(m.string()) as { data: { connections: { name: string }[] } }).data.connections.map((c) => c.name)).sort();
      assert.deepEqual(listed, nodes.map((n) => `a-${n.spec.name}`).sort());
    }
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of nodes.reverse()) await n.stop();
  }
}

test('mixed 3-node cluster, one nats-server and two tsnats: every node answers a $SYS client of any node', async () => {
  await mixed(['reference', 'tsnats', 'tsnats']);
});

test('mixed 3-node cluster, two nats-server and one tsnats: every node answers a $SYS client of any node', async () => {
  await mixed(['tsnats', 'reference', 'reference']);
});
