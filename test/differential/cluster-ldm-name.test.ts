// Two things a new user sees of a cluster, against nats-server 2.9.10 (two
// nodes of the same kind each time):
// - lame duck mode: the async INFO the draining server sends its clients
//   ("ldm":true) offers only the other nodes' URLs in connect_urls
//   (server/server.go sendLDMToClients);
// - a cluster whose nodes generated their names settles on one of them, and
//   /varz (here the $SYS VARZ request, the same document) reports the name
//   in use (server/monitor.go createVarz: info.Cluster).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { connect as rawConnect } from '../helpers/rawclient.js';
import type { ServerKind } from '../helpers/servers.js';
import { startNode, waitFor, type ClusterNode } from '../blackbox/cluster-helpers.js';

function kinds(): ServerKind[] {
  const only = process.env.DIFF_ONLY;
  if (only === 'reference') return ['reference'];
  if (only === 'tsnats') return ['tsnats'];
  return ['reference', 'tsnats'];
}

const SYS = `
accounts { SYS { users [{user: sys, password: sys}] } }
system_account: SYS
lame_duck_duration: "30s"
lame_duck_grace_period: "1s"
`;

/** the INFO lines in `text`, parsed */
function infos(text: string): Record<string, unknown>[] {
  return [...text.matchAll(/INFO (\{.*?\}) ?\r\n/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
}

async function ldmScenario(kind: ServerKind): Promise<unknown> {
  const nodes: ClusterNode[] = [];
  try {
    const A = await startNode(kind, { name: 'A', cluster: 'ldm', extraConf: SYS, process: true });
    nodes.push(A);
    const B = await startNode(kind, { name: 'B', cluster: 'ldm', routes: [A.routeURL], extraConf: SYS, process: true });
    nodes.push(B);
    const name = (u: unknown): string => (u === `127.0.0.1:${A.clientPort}` ? 'A' : u === `127.0.0.1:${B.clientPort}` ? 'B' : `other:${String(u)}`);
    const c = await rawConnect(A.clientPort);
    await c.readUntil('\r\n');
    await c.send('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');
    await c.readUntil('PONG\r\n');
    // the route is up once A offers B's URL (in the first INFO or an async one)
    const offersB = (t: string): boolean => infos(t).some((i) => Array.isArray(i.connect_urls) && (i.connect_urls as unknown[]).length === 2);
    await waitFor('A offers B', () => offersB(c.received().toString('latin1')), 20_000);
    const before = infos(c.received().toString('latin1')).pop()!;
    // consume what came so far: the next INFO is the lame duck one
    await c.readUntil(() => true, 100).catch(() => '');
    A.proc!.proc.kill('SIGUSR2');
    const text = await c.readUntil(/"ldm":true[^\r]*\r\n/, 10_000);
    const ldm = infos(text).find((i) => i.ldm === true)!;
    c.close();
    return {
      before: (before.connect_urls as unknown[]).map(name).sort(),
      ldm: ldm.ldm,
      ldmUrls: Array.isArray(ldm.connect_urls) ? (ldm.connect_urls as unknown[]).map(name).sort() : ldm.connect_urls,
    };
  } finally {
    for (const n of nodes.reverse()) await n.stop();
  }
}

/** Every answer to a request on `subject` within `ms`. */
async function gather(nc: NatsConnection, subject: string, ms = 800): Promise<Msg[]> {
  const inbox = createInbox();
  const out: Msg[] = [];
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void out.push(m) });
  await nc.flush();
  nc.publish(subject, '', { reply: inbox });
  await new Promise((r) => setTimeout(r, ms));
  sub.unsubscribe();
  return out;
}

async function nameScenario(kind: ServerKind): Promise<unknown> {
  const nodes: ClusterNode[] = [];
  const conns: NatsConnection[] = [];
  try {
    const A = await startNode(kind, { name: 'A', extraConf: SYS, process: true });
    nodes.push(A);
    const B = await startNode(kind, { name: 'B', routes: [A.routeURL], extraConf: SYS, process: true });
    nodes.push(B);
    const nc = await connect({ servers: A.url, user: 'sys', pass: 'sys' });
    conns.push(nc);
    type Varz = { server: { name: string; cluster?: string }; data: { cluster: { name?: string } } };
    let answers: Varz[] = [];
    // both nodes answer once the route is up, and agree on the name once one gave way
    await waitFor(
      'the cluster settles on one name',
      async () => {
        answers = (await gather(nc, '$SYS.REQ.SERVER.PING.VARZ')).map((m) => JSON.parse(m.string()) as Varz);
        return answers.length === 2 && answers[0]!.server.cluster === answers[1]!.server.cluster;
      },
      20_000,
      200,
    );
    const inUse = answers[0]!.server.cluster!;
    const clientInfo = (nc.info as { cluster?: string }).cluster;
    const b = await connect({ servers: B.url, user: 'sys', pass: 'sys' });
    conns.push(b);
    return {
      nameLength: inUse.length,
      varzReportsNameInUse: answers.map((a) => [a.server.name, a.data.cluster.name === inUse]).sort(),
      // the INFO of a client connecting now names the cluster in use too
      clientInfoOfA: clientInfo === undefined ? 'none' : clientInfo.length,
      clientInfoOfB: (b.info as { cluster?: string }).cluster === inUse,
    };
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of nodes.reverse()) await n.stop();
  }
}

test('lame duck mode: the async INFO offers only the other nodes in connect_urls', async () => {
  const results: Record<string, unknown> = {};
  for (const k of kinds()) results[k] = await ldmScenario(k);
  const ref = results.reference ?? results.tsnats;
  assert.deepEqual(ref, { before: ['A', 'B'], ldm: true, ldmUrls: ['B'] });
  if (results.reference !== undefined && results.tsnats !== undefined) assert.deepEqual(results.tsnats, results.reference);
});

test('a cluster of generated names settles on one, and /varz reports the name in use', async () => {
  const results: Record<string, unknown> = {};
  for (const k of kinds()) results[k] = await nameScenario(k);
  const ref = (results.reference ?? results.tsnats) as { varzReportsNameInUse: unknown };
  assert.deepEqual(ref.varzReportsNameInUse, [
    ['A', true],
    ['B', true],
  ]);
  if (results.reference !== undefined && results.tsnats !== undefined) assert.deepEqual(results.tsnats, results.reference);
});
