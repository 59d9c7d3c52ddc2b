// Differential: what clients of a clustered server see in INFO as nodes
// join and leave, against the reference and tsnats (three nodes of the same
// kind each time). Covers the cluster field, connect_urls kept current, the
// asynchronous INFO for protocol-1 clients past their first PONG, the INFO
// before the first PONG when the cluster changed since the client connected
// (server/client.go processPing), and nothing for protocol-0 clients.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect as rawConnect, type RawClient } from '../helpers/rawclient.js';
import type { ServerKind } from '../helpers/servers.js';
import { logged, sleep, startNode, waitFor, type ClusterNode } from '../blackbox/cluster-helpers.js';

function kinds(): ServerKind[] {
  const only = process.env.DIFF_ONLY;
  if (only === 'reference') return ['reference'];
  if (only === 'tsnats') return ['tsnats'];
  return ['reference', 'tsnats'];
}

const MASKED = new Set(['server_id', 'server_name', 'go', 'port', 'client_id', 'client_ip', 'nonce']);

/** INFO lines masked (connect_urls reduced to the sorted node names), other frames kept. */
function normalize(text: string, names: Map<number, string>): string {
  return text
    .split(/(?<=\r\n)/)
    .map((l) => {
      const m = /^INFO (\{.*\}) \r\n$/.exec(l);
      if (m === null) return l;
      const o = JSON.parse(m[1]!) as Record<string, unknown>;
      delete o.tsnats; // tsnats' own version field
      for (const k of Object.keys(o)) if (MASKED.has(k)) o[k] = '<masked>';
      if (Array.isArray(o.connect_urls)) {
        o.connect_urls = (o.connect_urls as string[]).map((u) => names.get(Number(u.slice(u.lastIndexOf(':') + 1))) ?? u).sort();
      }
      return `INFO ${JSON.stringify(o)} \r\n`;
    })
    .join('');
}

async function client(n: ClusterNode, protocol: number, ping: boolean): Promise<RawClient> {
  const c = await rawConnect(n.clientPort);
  await c.readUntil('\r\n');
  await c.send(`CONNECT {"verbose":false,"pedantic":false,"protocol":${protocol}}\r\n` + (ping ? 'PING\r\n' : ''));
  if (ping) await c.readUntil('PONG\r\n');
  return c;
}

/** The node has registered `count` routes (both kinds log this at debug level). */
async function routes(n: ClusterNode, count: number): Promise<void> {
  await waitFor(`${n.spec.name}: ${count} routes`, () => logged(n, 'Registering remote route').length - logged(n, 'Router connection closed').length >= count);
}

describe('client INFO in a cluster', () => {
  it('connect_urls as nodes join and leave, async for protocol 1, before the first PONG when changed, never for protocol 0', async () => {
    const results = new Map<ServerKind, string[]>();
    for (const kind of kinds()) {
      const A = await startNode(kind, { name: 'A', cluster: 'ci' });
      const nodes: ClusterNode[] = [A];
      try {
        const names = new Map<number, string>([[A.clientPort, 'A']]);
        // the INFO of a lone clustered server: cluster, no connect_urls yet
        const first = await rawConnect(A.clientPort);
        const info0 = await first.readUntil('\r\n');
        first.close();
        const early = await client(A, 1, false); // no PING yet: no first PONG
        const old = await client(A, 0, true); // protocol 0
        const live = await client(A, 1, true); // past its first PONG

        const B = await startNode(kind, { name: 'B', cluster: 'ci', routes: [A.routeURL] });
        nodes.push(B);
        names.set(B.clientPort, 'B');
        await routes(A, 1);
        await live.readUntil(/INFO [^\r]*connect_urls[^\r]*\r\n/);
        await early.send('PING\r\n');
        const earlyGot = await early.readUntil(/PONG\r\nINFO [^\r]*\r\n/);

        const C = await startNode(kind, { name: 'C', cluster: 'ci', routes: [A.routeURL] });
        nodes.push(C);
        names.set(C.clientPort, 'C');
        await routes(A, 2);
        await live.readUntil(/INFO [^\r]*\r\n/);
        await C.stop();
        nodes.pop();
        await live.readUntil(/INFO [^\r]*\r\n/);
        await sleep(300);
        // protocol 0: PONG only, no INFO ever
        await old.send('PING\r\n');
        await old.readUntil('PONG\r\n');
        await live.send('PING\r\n');
        await live.readUntil('PONG\r\n');
        const transcript = [
          normalize(info0, names),
          normalize(earlyGot, names),
          normalize(live.received().toString('latin1').replace(/^INFO [^\r]*\r\n/, ''), names),
          normalize(old.received().toString('latin1').replace(/^INFO [^\r]*\r\n/, ''), names),
        ];
        for (const c of [early, old, live]) c.close();
        results.set(kind, transcript);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    }
    for (const [kind, t] of results) {
      assert.match(t[0]!, /"cluster":"ci"/, `${kind}: cluster in INFO`);
      assert.doesNotMatch(t[0]!, /connect_urls/, `${kind}: no connect_urls before any route`);
      assert.match(t[1]!, /^PONG\r\nINFO .*"connect_urls":\["A","B"\]/, `${kind}: INFO after the first PONG`);
      // live: +B, +C, -C, then PONG
      const infos = t[2]!.split('\r\n').filter((l) => l.startsWith('INFO'));
      assert.deepEqual(
        infos.map((l) => (JSON.parse(l.slice(5)) as { connect_urls: string[] }).connect_urls),
        [['A', 'B'], ['A', 'B', 'C'], ['A', 'B']],
        `${kind}: async INFO updates`,
      );
      assert.equal(t[3], 'PONG\r\nPONG\r\n', `${kind}: nothing for protocol 0`);
    }
    const ref = results.get('reference');
    const ts = results.get('tsnats');
    if (ref !== undefined && ts !== undefined) assert.deepEqual(ts, ref);
  });
});
