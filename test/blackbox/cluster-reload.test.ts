// Configuration reload of the cluster block on a running tsnats node
// (server.reload, what SIGHUP applies): routes added and removed, route
// permissions changed under live routes, with a reference node as the peer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Options } from '../../src/config/options.js';
import { logged, sleep, startNode, waitFor, type ClusterNode } from './cluster-helpers.js';

const td = new TextDecoder();

async function outcome(nc: NatsConnection, subject: string): Promise<string> {
  try {
    return 'ok:' + td.decode((await nc.request(subject, '', { timeout: 500 })).data);
  } catch (e) {
    const err = e as Error & { isNoResponders?: () => boolean };
    return err.isNoResponders?.() ? 'no-responders' : 'error';
  }
}

/** The options of a running embedded node with `change` applied, as a new object (what a reload hands over). */
function changed(n: ClusterNode, change: (o: Options) => void): Options {
  const cur = n.server!.opts;
  const next: Options = { ...cur, cluster: { ...cur.cluster }, routes: [...cur.routes] };
  change(next);
  return next;
}

describe('cluster reload (tsnats)', () => {
  it('routes added by a reload are dialed; removed ones are closed and not redialed', async () => {
    const ref = await startNode('reference', { name: 'R', cluster: 'rl' });
    const ts = await startNode('tsnats', { name: 'T', cluster: 'rl' });
    const r = await connect({ servers: ref.url });
    const t = await connect({ servers: ts.url });
    try {
      r.subscribe('on.ref', { callback: (_e, m) => void m.respond('R') });
      await r.flush();
      assert.equal(await outcome(t, 'on.ref'), 'no-responders');

      const plan = ts.server!.reload(changed(ts, (o) => (o.routes = [ref.routeURL])));
      assert.ok(plan.effects.has('cluster'));
      await waitFor('route dialed after reload', async () => (await outcome(t, 'on.ref')) === 'ok:R');
      assert.equal(ts.server!.cluster!.numRoutes(), 1);

      ts.server!.reload(changed(ts, (o) => (o.routes = [])));
      await waitFor('route removed', () => logged(ts, `Removed route ${ref.routeURL}`).length === 1);
      assert.equal(logged(ts, 'Router connection closed: Route Removed').length, 1);
      await waitFor('interest gone', async () => (await outcome(t, 'on.ref')) === 'no-responders');
      await sleep(1500); // a configured route would be redialed within ~1s
      assert.equal(ts.server!.cluster!.numRoutes(), 0);
      assert.equal(await outcome(t, 'on.ref'), 'no-responders');
    } finally {
      await Promise.all([r.close(), t.close()]);
      await Promise.all([ts.stop(), ref.stop()]);
    }
  });

  it('import permissions changed by a reload withdraw and restore interest on live routes', async () => {
    const ts = await startNode('tsnats', { name: 'T', cluster: 'rp' });
    const ref = await startNode('reference', { name: 'R', cluster: 'rp', routes: [ts.routeURL] });
    const t = await connect({ servers: ts.url });
    const r = await connect({ servers: ref.url });
    try {
      t.subscribe('secret.x', { callback: (_e, m) => void m.respond('T') });
      t.subscribe('open.x', { callback: (_e, m) => void m.respond('T') });
      await t.flush();
      await waitFor('reachable before', async () => (await outcome(r, 'secret.x')) === 'ok:T');

      ts.server!.reload(changed(ts, (o) => (o.cluster.permissions = { import: { deny: ['secret.>'] } })));
      await waitFor('secret interest withdrawn', async () => (await outcome(r, 'secret.x')) === 'no-responders');
      assert.equal(await outcome(r, 'open.x'), 'ok:T');
      // new local interest under the deny is not announced either
      t.subscribe('secret.y', { callback: (_e, m) => void m.respond('T') });
      await t.flush();
      await sleep(300);
      assert.equal(await outcome(r, 'secret.y'), 'no-responders');

      ts.server!.reload(changed(ts, (o) => (o.cluster.permissions = undefined)));
      await waitFor('secret interest restored', async () => (await outcome(r, 'secret.x')) === 'ok:T');
      assert.equal(await outcome(r, 'secret.y'), 'ok:T');
    } finally {
      await Promise.all([r.close(), t.close()]);
      await Promise.all([ref.stop(), ts.stop()]);
    }
  });

  it('export permissions changed by a reload drop the peer interest we may no longer accept', async () => {
    const ts = await startNode('tsnats', { name: 'T', cluster: 'rx' });
    const ref = await startNode('reference', { name: 'R', cluster: 'rx', routes: [ts.routeURL] });
    const t = await connect({ servers: ts.url });
    const r = await connect({ servers: ref.url });
    try {
      r.subscribe('feed.a', { callback: (_e, m) => void m.respond('R') });
      await r.flush();
      await waitFor('reachable', async () => (await outcome(t, 'feed.a')) === 'ok:R');
      ts.server!.reload(changed(ts, (o) => (o.cluster.permissions = { export: { deny: ['feed.>'] } })));
      assert.equal(await outcome(t, 'feed.a'), 'no-responders');
      ts.server!.reload(changed(ts, (o) => (o.cluster.permissions = undefined)));
      // the reference resends the interest when our new INFO allows it again
      await waitFor('interest resent by the peer', async () => (await outcome(t, 'feed.a')) === 'ok:R');
    } finally {
      await Promise.all([r.close(), t.close()]);
      await Promise.all([ref.stop(), ts.stop()]);
    }
  });
});
