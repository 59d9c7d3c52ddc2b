// The system account in a cluster of a tsnats node and a nats-server 2.9.10
// node: events published on one node reach system account subscribers on
// the other, a PING is answered by both servers, and an account user's
// CONNZ request (imported from the system account) is answered by both.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { gatherReplies, logged, startNode, SYSTEM_ACCOUNTS, waitFor, type ClusterNode } from './cluster-helpers.js';

const ACCOUNTS = SYSTEM_ACCOUNTS;
const gather = gatherReplies;

const serverName = (m: Msg): string => (JSON.parse(m.string()) as { server: { name: string } }).server.name;

test('system account across a route between tsnats and nats-server', async () => {
  const nodes: ClusterNode[] = [];
  const conns: NatsConnection[] = [];
  try {
    const G = await startNode('reference', { name: 'G', cluster: 'sys', extraConf: ACCOUNTS });
    nodes.push(G);
    const T = await startNode('tsnats', { name: 'T', cluster: 'sys', routes: [G.routeURL], extraConf: ACCOUNTS, process: true });
    nodes.push(T);
    const sysG = await connect({ servers: G.url, user: 'sys', pass: 'sys' });
    const sysT = await connect({ servers: T.url, user: 'sys', pass: 'sys' });
    conns.push(sysG, sysT);

    // both servers answer a PING wherever it is sent (the route carries the interest both ways)
    await waitFor('both servers answer a PING from G', async () => (await gather(sysG, '$SYS.REQ.SERVER.PING', '', 500)).length === 2, 20_000);
    const fromT = await gather(sysT, '$SYS.REQ.SERVER.PING.VARZ');
    assert.deepEqual(fromT.map(serverName).sort(), ['G', 'T']);
    for (const m of fromT) assert.ok((JSON.parse(m.string()) as { data?: { server_name: string } }).data !== undefined);

    // $SYS.DEBUG.SUBSCRIBERS counts the cluster's subscribers (NSUBS to the other servers)
    sysG.subscribe('dbg.x');
    sysT.subscribe('dbg.x');
    await sysG.flush();
    await sysT.flush();
    assert.equal((await sysT.request('$SYS.DEBUG.SUBSCRIBERS', 'dbg.x', { timeout: 5000 })).string(), '2');
    assert.equal((await sysG.request('$SYS.DEBUG.SUBSCRIBERS', 'dbg.x', { timeout: 5000 })).string(), '2');

    // a CONNECT event of a client of T reaches the system account subscriber on G
    const events: Msg[] = [];
    sysG.subscribe('$SYS.ACCOUNT.A.>', { callback: (_e, m) => void events.push(m) });
    await sysG.flush();
    await new Promise((r) => setTimeout(r, 300));
    const a = await connect({ servers: T.url, user: 'a', pass: 'a', name: 'client-on-T' });
    conns.push(a);
    await waitFor('CONNECT on G', () => events.some((m) => m.subject === '$SYS.ACCOUNT.A.CONNECT'));
    const ev = JSON.parse(events.find((m) => m.subject === '$SYS.ACCOUNT.A.CONNECT')!.string()) as {
      type: string;
      server: { name: string; cluster: string };
      client: { name: string; acc: string };
    };
    assert.equal(ev.type, 'io.nats.server.advisory.v1.client_connect');
    assert.equal(ev.server.name, 'T');
    assert.equal(ev.server.cluster, 'sys');
    assert.equal(ev.client.name, 'client-on-T');

    // a user of A on G asks for its account's connections: both servers answer, T lists the client
    const aG = await connect({ servers: G.url, user: 'a', pass: 'a' });
    conns.push(aG);
    const connz = await gather(aG, '$SYS.REQ.ACCOUNT.PING.CONNZ');
    assert.deepEqual(connz.map(serverName).sort(), ['G', 'T']);
    const tAnswer = JSON.parse(connz.find((m) => serverName(m) === 'T')!.string()) as { data: { connections: { name?: string }[] } };
    assert.deepEqual(
      tAnswer.data.connections.map((c) => c.name),
      ['client-on-T'],
    );

    // T's STATSZ counts G once it heard G's
    await waitFor('T sees two active servers', async () => {
      const r = await gather(sysT, `$SYS.REQ.SERVER.PING.STATSZ`, JSON.stringify({ server_name: 'T' }), 300);
      return r.length === 1 && (JSON.parse(r[0]!.string()) as { statsz: { active_servers: number } }).statsz.active_servers === 2;
    }, 20_000);

    // the DISCONNECT of the client of T reaches G as well
    await a.close();
    await waitFor('DISCONNECT on G', () => events.some((m) => m.subject === '$SYS.ACCOUNT.A.DISCONNECT'));

    // T's SHUTDOWN leaves before its routes close
    const shutdowns: Msg[] = [];
    sysG.subscribe('$SYS.SERVER.*.SHUTDOWN', { callback: (_e, m) => void shutdowns.push(m) });
    await sysG.flush();
    await sysT.close();
    await T.stop();
    nodes.pop();
    await waitFor('SHUTDOWN of T on G', () => shutdowns.length > 0);
    assert.equal((JSON.parse(shutdowns[0]!.string()) as { name: string }).name, 'T');
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of nodes.reverse()) await n.stop();
  }
});

const LATENCY_ACCOUNTS = `
accounts {
  SVC {
    users [{user: s, password: s}]
    exports [{service: "svc.echo", latency: {sampling: 100, subject: "lat.results"}}]
  }
  C {
    users [{user: c, password: c}]
    imports [{service: {account: SVC, subject: "svc.echo"}}]
  }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;

test('service latency across a route: requester and responder on different servers, either way', async () => {
  const nodes: ClusterNode[] = [];
  const conns: NatsConnection[] = [];
  try {
    const G = await startNode('reference', { name: 'G', cluster: 'lat', extraConf: LATENCY_ACCOUNTS });
    nodes.push(G);
    const T = await startNode('tsnats', { name: 'T', cluster: 'lat', routes: [G.routeURL], extraConf: LATENCY_ACCOUNTS, process: true });
    nodes.push(T);
    for (const [responderNode, requesterNode] of [
      [G, T],
      [T, G],
    ] as const) {
      const s = await connect({ servers: responderNode.url, user: 's', pass: 's', name: `responder-on-${responderNode.spec.name}` });
      conns.push(s);
      const sub = s.subscribe('svc.echo', { callback: (_e, m) => void m.respond('pong') });
      const results: Msg[] = [];
      const lat = s.subscribe('lat.results', { callback: (_e, m) => void results.push(m) });
      await s.flush();
      const c = await connect({ servers: requesterNode.url, user: 'c', pass: 'c' });
      conns.push(c);
      await waitFor('the service is reachable from the requester', async () => {
        try {
          return (await c.request('svc.echo', 'ping', { timeout: 500 })).string() === 'pong';
        } catch {
          return false;
        }
      });
      await waitFor(`a latency result (responder on ${responderNode.spec.name})`, () => results.length > 0);
      const r = JSON.parse(results[0]!.string()) as { type: string; status: number; requestor: { acc: string }; responder: { server: string; name: string } };
      assert.equal(r.type, 'io.nats.server.metric.v1.service_latency');
      assert.equal(r.status, 200);
      assert.equal(r.requestor.acc, 'C');
      // the responder's part was measured by its own server and merged by the requester's
      assert.equal(r.responder.server, responderNode.spec.name);
      assert.equal(r.responder.name, `responder-on-${responderNode.spec.name}`);
      sub.unsubscribe();
      lat.unsubscribe();
      await s.close();
      await c.close();
    }
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of nodes.reverse()) await n.stop();
  }
});

test('an account max_connections counts the clients of the other server (SERVER.CONNS)', async () => {
  const conf = `
accounts {
  A { users [{user: a, password: a}], limits { max_connections: 2 } }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;
  const nodes: ClusterNode[] = [];
  const conns: NatsConnection[] = [];
  try {
    const G = await startNode('reference', { name: 'G', cluster: 'lim', extraConf: conf });
    nodes.push(G);
    const T = await startNode('tsnats', { name: 'T', cluster: 'lim', routes: [G.routeURL], extraConf: conf, process: true });
    nodes.push(T);
    const sysT = await connect({ servers: T.url, user: 'sys', pass: 'sys' });
    conns.push(sysT);
    await waitFor('the route is up', async () => (await gather(sysT, '$SYS.REQ.SERVER.PING', '', 300)).length === 2, 20_000);
    // two clients of A on G: T hears their count (G's SERVER.CONNS event, handled by T as it passes)
    const counts: Msg[] = [];
    sysT.subscribe('$SYS.ACCOUNT.A.SERVER.CONNS', { callback: (_e, m) => void counts.push(m) });
    await sysT.flush();
    for (let i = 0; i < 2; i++) conns.push(await connect({ servers: G.url, user: 'a', pass: 'a', name: `g${i}` }));
    await waitFor('G reports two clients of A', () =>
      counts.some((m) => {
        const e = JSON.parse(m.string()) as { server: { name: string }; conns: number };
        return e.server.name === 'G' && e.conns === 2;
      }),
    );
    // a third client of A, on T, is over the cluster-wide limit
    const err = await connect({ servers: T.url, user: 'a', pass: 'a', reconnect: false, name: 't0' }).then(
      async (nc) => {
        conns.push(nc);
        const closed = await Promise.race([nc.closed(), new Promise<string>((r) => setTimeout(() => r(''), 10_000))]);
        return closed instanceof Error ? closed.message : closed === '' ? '' : String(closed);
      },
      (e: Error) => e.message,
    );
    // the client may see the -ERR or only the closed socket; the server says why
    assert.ok(err !== '', 'the client was refused');
    await waitFor('T refused the client over the limit', () => logged(T, 'maximum account active connections exceeded').length > 0);
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of nodes.reverse()) await n.stop();
  }
});
