// The tsnats executable in a cluster: tsnats nodes started as processes from
// config files (cluster block with authorization and routes) together with a
// reference node; queue groups exactly once, a tsnats node killed with
// SIGKILL and started again.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { logged, restartNode, sleep, startNode, waitFor, type ClusterNode } from './cluster-helpers.js';

const td = new TextDecoder();

async function reaches(from: NatsConnection, subject: string, want: string): Promise<boolean> {
  try {
    return td.decode((await from.request(subject, '', { timeout: 300 })).data) === want;
  } catch {
    return false;
  }
}

describe('spawned tsnats processes with a reference node', () => {
  const auth = { user: 'ru', pass: 'p@ss w0rd' };
  let A: ClusterNode;
  let B: ClusterNode;
  let C: ClusterNode;
  const conns: NatsConnection[] = [];
  const client = async (n: ClusterNode) => {
    const nc = await connect({ servers: n.url });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    A = await startNode('tsnats', { name: 'A', cluster: 'pp', ...auth, process: true });
    B = await startNode('reference', { name: 'B', cluster: 'pp', ...auth, routes: [A.routeURL] });
    C = await startNode('tsnats', { name: 'C', cluster: 'pp', ...auth, routes: [A.routeURL], process: true });
  });

  after(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await Promise.all([A, B, C].map((n) => n?.stop()));
  });

  it('forms the mesh from config files and serves each queue message once', async () => {
    const ncs = [await client(A), await client(B), await client(C)];
    const names = ['A', 'B', 'C'];
    ncs.forEach((nc, i) => nc.subscribe(`who.${names[i]}`, { callback: (_e, m) => void m.respond(names[i]!) }));
    const got: string[] = [];
    const perNode = [0, 0, 0];
    ncs.forEach((nc, i) =>
      nc.subscribe('pq', {
        queue: 'g',
        callback: (_e, m: Msg) => {
          perNode[i]!++;
          got.push(td.decode(m.data));
        },
      }),
    );
    await Promise.all(ncs.map((nc) => nc.flush()));
    // the who.* responders were registered after the queue members on each connection
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i !== j) await waitFor(`${names[i]} reaches ${names[j]}`, () => reaches(ncs[i]!, `who.${names[j]}`, names[j]!), 20_000);
      }
    }
    for (let n = 0; n < 300; n++) ncs[n % 3]!.publish('pq', `m${n}`);
    await Promise.all(ncs.map((nc) => nc.flush()));
    await waitFor('300 delivered', () => got.length >= 300);
    await sleep(200);
    assert.equal(got.length, 300);
    assert.equal(new Set(got).size, 300);
    assert.ok(perNode.every((n) => n > 0), `spread over the nodes: ${perNode.join(',')}`);
    assert.ok(logged(A, 'Route connection created').length >= 2);
    assert.ok(logged(C, 'Route connection created').length >= 2);
  });

  it('a tsnats node killed with SIGKILL comes back on its ports and rejoins', async () => {
    const b = await client(B);
    b.subscribe('svc.b', { callback: (_e, m) => void m.respond('B') });
    await b.flush();
    await C.proc!.stop('SIGKILL');
    await waitFor('A sees the route to C go', () => logged(A, /Router connection closed/).length > 0);
    C = await restartNode(C);
    const c = await client(C);
    await waitFor('C reaches B again', () => reaches(c, 'svc.b', 'B'), 20_000);
    c.subscribe('svc.c', { callback: (_e, m) => void m.respond('C') });
    await c.flush();
    const a = await client(A);
    await waitFor('A reaches C again', () => reaches(a, 'svc.c', 'C'), 20_000);
    await waitFor('B reaches C again', () => reaches(b, 'svc.c', 'C'), 20_000);
  });
});
