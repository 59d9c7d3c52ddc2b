// Leafnode monitoring on a hub with one leaf, tsnats and nats-server 2.9.10
// side by side: /varz counts it (leafnodes, and the leaf block), /leafz lists
// it with the reference's fields, /accstatz counts it for its account. On
// tsnats, /metrics exports gnatsd_varz_leafnodes and /dashboard/data has the
// leafnode total and sample column. Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ServerKind } from '../helpers/servers.js';
import { leafPort, monitorPort, startHub, startLeaf, waitFor } from '../helpers/leafnodes.js';

type J = Record<string, unknown>;

async function get(port: number, path: string): Promise<J> {
  return (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as J;
}

async function observe(kind: ServerKind): Promise<{ varz: J; leafz: J; accstatz: J; metrics: string; dashboard: J | null }> {
  const hub = await startHub(kind, -1, 'http: "127.0.0.1:-1"\n');
  const leaf = await startLeaf('reference', leafPort(hub));
  try {
    const mp = monitorPort(hub);
    await waitFor('the leaf in /leafz', async () => (await get(mp, '/leafz')).leafnodes === 1);
    const varz = await get(mp, '/varz');
    const leafz = await get(mp, '/leafz?subs=1');
    const accstatz = await get(mp, '/accstatz?unused=1');
    let metrics = '';
    let dashboard: J | null = null;
    if (kind === 'tsnats') {
      metrics = await (await fetch(`http://127.0.0.1:${mp}/metrics`)).text();
      dashboard = await get(mp, '/dashboard/data');
    }
    return { varz, leafz, accstatz, metrics, dashboard };
  } finally {
    await leaf.stop();
    await hub.stop();
  }
}

describe('leafnodes: monitoring of a hub with one leaf, as nats-server 2.9.10', () => {
  it('/varz, /leafz, /accstatz; /metrics and the dashboard on tsnats', async () => {
    const ref = await observe('reference');
    const ts = await observe('tsnats');
    for (const o of [ref, ts]) {
      assert.equal(o.varz.leafnodes, 1);
      assert.equal(typeof (o.varz.leaf as J).port, 'number');
      assert.equal(o.leafz.leafnodes, 1);
    }
    const keys = (o: J): string[] => Object.keys(o).sort();
    assert.deepEqual(keys(ts.varz.leaf as J), keys(ref.varz.leaf as J));
    const rl = (ref.leafz.leafs as J[])[0]!;
    const tl = (ts.leafz.leafs as J[])[0]!;
    assert.deepEqual(keys(tl), keys(rl));
    assert.deepEqual([tl.account, tl.name, tl.is_spoke], [rl.account, rl.name, rl.is_spoke]);
    const accOf = (o: J): J => ((o.account_statz as J[]) ?? []).find((a) => a.acc === '$G') ?? {};
    assert.deepEqual([accOf(ts.accstatz).leafnodes, accOf(ts.accstatz).total_conns], [accOf(ref.accstatz).leafnodes, accOf(ref.accstatz).total_conns]);
    assert.equal(accOf(ref.accstatz).leafnodes, 1, JSON.stringify(ref.accstatz));
    assert.match(ts.metrics, /^gnatsd_varz_leafnodes\{server_id="[^"]+"\} 1$/m);
    const totals = ts.dashboard!.totals as J;
    assert.equal(totals.leafnodes, 1);
    assert.equal((ts.dashboard!.sample_fields as string[]).at(-1), 'leafnodes');
  });
});
