// Three-node clusters, with the official nats.js client connected to
// different nodes: all tsnats, a tsnats seed with two reference nodes, and a
// reference seed with two tsnats nodes. B and C are configured with a route
// to A only, so the B–C route comes from gossip. Every scenario checks exact
// delivery counts; convergence is awaited by polling, never by sleeping for
// a fixed time and hoping.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection, type Msg, type Subscription } from '@nats-io/transport-node';
import type { ServerKind } from '../helpers/servers.js';
import { logged, restartNode, sleep, startNode, waitFor, type ClusterNode } from './cluster-helpers.js';

const td = new TextDecoder();

type Outcome = string; // "ok:<reply>" | "no-responders" | "timeout" | "error:<msg>"

async function requestOutcome(nc: NatsConnection, subject: string, timeout = 500): Promise<Outcome> {
  try {
    const m = await nc.request(subject, 'ping', { timeout });
    return 'ok:' + td.decode(m.data);
  } catch (e) {
    const err = e as Error & { isNoResponders?: () => boolean; cause?: unknown };
    if (typeof err.isNoResponders === 'function' && err.isNoResponders()) return 'no-responders';
    if (err.name === 'TimeoutError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError')) return 'timeout';
    return 'error:' + err.message;
  }
}

/** Counts messages per subscription callback. */
class Counter {
  n = 0;
  readonly payloads: string[] = [];
  cb = (_e: Error | null, m: Msg): void => {
    this.n++;
    this.payloads.push(td.decode(m.data));
  };
}

interface Topology {
  title: string;
  kinds: [ServerKind, ServerKind, ServerKind];
}

const topologies: Topology[] = [
  { title: 'all tsnats', kinds: ['tsnats', 'tsnats', 'tsnats'] },
  { title: 'tsnats seed, reference B and C', kinds: ['tsnats', 'reference', 'reference'] },
  { title: 'reference seed, tsnats B and C', kinds: ['reference', 'tsnats', 'tsnats'] },
];

for (const topo of topologies) {
  describe(`cluster of three: ${topo.title}`, () => {
    const nodes: Record<'A' | 'B' | 'C', ClusterNode | null> = { A: null, B: null, C: null };
    const conns: NatsConnection[] = [];
    let syncSeq = 0;

    const node = (k: 'A' | 'B' | 'C'): ClusterNode => nodes[k]!;
    const names = ['A', 'B', 'C'] as const;

    async function client(k: 'A' | 'B' | 'C', opts: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> {
      const nc = await connect({ servers: node(k).url, name: `test-${k}`, ...opts });
      conns.push(nc);
      return nc;
    }

    /**
     * Make sure the interest `nc` registered so far reached every other node:
     * register a responder after it (RS+ on a route keeps order) and wait
     * until clients on the other nodes can reach it.
     */
    async function synced(k: 'A' | 'B' | 'C', nc: NatsConnection, peers: NatsConnection[]): Promise<void> {
      const subject = `sync.${k}.${++syncSeq}`;
      const s = nc.subscribe(subject, { callback: (_e, m) => void m.respond(k) });
      await nc.flush();
      for (const p of peers) {
        await waitFor(`${subject} reachable`, async () => (await requestOutcome(p, subject, 300)) === 'ok:' + k);
      }
      s.unsubscribe();
    }

    /** Every node reaches every other node's responder: the mesh is complete. */
    async function meshFormed(): Promise<void> {
      const ncs = await Promise.all(names.map((k) => client(k)));
      names.forEach((k, i) => ncs[i]!.subscribe(`mesh.${k}`, { callback: (_e, m) => void m.respond(k) }));
      await Promise.all(ncs.map((nc) => nc.flush()));
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          if (i === j) continue;
          await waitFor(`${names[i]} reaches ${names[j]}`, async () => (await requestOutcome(ncs[i]!, `mesh.${names[j]}`, 300)) === 'ok:' + names[j], 20_000);
        }
      }
      for (const nc of ncs) await nc.close();
    }

    before(async () => {
      nodes.A = await startNode(topo.kinds[0], { name: 'A', cluster: 'bb' });
      nodes.B = await startNode(topo.kinds[1], { name: 'B', cluster: 'bb', routes: [node('A').routeURL] });
      nodes.C = await startNode(topo.kinds[2], { name: 'C', cluster: 'bb', routes: [node('A').routeURL] });
      await meshFormed();
    });

    after(async () => {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await Promise.all(names.map((k) => nodes[k]?.stop()));
    });

    it('forms a full mesh through gossip and logs the reference lines', async () => {
      for (const k of names) {
        const n = node(k);
        assert.ok(logged(n, 'Cluster name is bb').length === 1, `${k}: cluster name line`);
        assert.ok(logged(n, 'Listening for route connections on 127.0.0.1:').length === 1, `${k}: route listener line`);
        assert.ok(logged(n, 'Route connection created').length >= 2, `${k}: two routes created`);
        const ts = n.server;
        if (ts !== null) {
          assert.equal(ts.cluster!.numRoutes(), 2, `${k}: two routes registered`);
          assert.equal(ts.cluster!.numRemotes(), 2);
          const ids = [...ts.cluster!.routes()].map((r) => r.remoteName).sort();
          assert.deepEqual(ids, names.filter((x) => x !== k));
        }
      }
    });

    it('delivers every message once to every matching subscription on every node', async () => {
      const ncs = await Promise.all(names.map((k) => client(k)));
      const wide = names.map(() => new Counter());
      const exact = names.map(() => new Counter());
      ncs.forEach((nc, i) => {
        nc.subscribe('d.>', { callback: wide[i]!.cb });
        nc.subscribe('d.x', { callback: exact[i]!.cb });
      });
      // a second client on C with an overlapping subscription
      const extra = await client('C');
      const extraC = new Counter();
      extra.subscribe('d.*', { callback: extraC.cb });
      await synced('C', extra, [ncs[0]!, ncs[1]!]);
      for (let i = 0; i < 3; i++) await synced(names[i]!, ncs[i]!, ncs.filter((_, j) => j !== i));

      for (let i = 0; i < 3; i++) {
        for (let n = 0; n < 10; n++) ncs[i]!.publish('d.x', `${names[i]}-${n}`);
        await ncs[i]!.flush();
      }
      const all = () => [...wide, ...exact, extraC];
      await waitFor('30 messages at each subscription', () => all().every((c) => c.n >= 30));
      await sleep(200); // anything extra would arrive now
      for (const c of all()) assert.equal(c.n, 30);
      for (const c of all()) assert.equal(new Set(c.payloads).size, 30, 'no duplicates');
      // nothing for a subject nobody wants
      ncs[0]!.publish('e.none', 'x');
      await ncs[0]!.flush();
    });

    it('queue groups: exactly once cluster-wide, members on every node', async () => {
      const members: Counter[] = [];
      const owners: string[] = [];
      const pubs: NatsConnection[] = [];
      for (const k of names) {
        for (let m = 0; m < 2; m++) {
          const nc = await client(k);
          const c = new Counter();
          nc.subscribe('q.work', { queue: 'workers', callback: c.cb });
          members.push(c);
          owners.push(k);
          await nc.flush();
        }
        pubs.push(await client(k));
      }
      const watcher = new Counter();
      const wnc = await client('B');
      wnc.subscribe('q.work', { callback: watcher.cb });
      await synced('B', wnc, [pubs[0]!, pubs[2]!]);
      // the member connections' RS+ (with weights) precede these responders on each route
      for (let i = 0; i < 3; i++) await synced(names[i]!, pubs[i]!, pubs.filter((_, j) => j !== i));

      const total = 300;
      for (let n = 0; n < total; n++) pubs[n % 3]!.publish('q.work', `m${n}`);
      for (const p of pubs) await p.flush();
      const sum = () => members.reduce((a, c) => a + c.n, 0);
      await waitFor('every queued message delivered', () => sum() >= total && watcher.n >= total);
      await sleep(200);
      assert.equal(sum(), total, 'each message to exactly one member');
      assert.equal(watcher.n, total, 'plain subscriber sees all');
      const seen = new Set<string>();
      for (const c of members) for (const p of c.payloads) {
        assert.ok(!seen.has(p), `duplicate ${p}`);
        seen.add(p);
      }
      assert.equal(seen.size, total);
      // random selection over 300 messages reaches every node
      for (const k of names) {
        const n = members.filter((_, i) => owners[i] === k).reduce((a, c) => a + c.n, 0);
        assert.ok(n > 0, `members on ${k} got messages`);
      }
    });

    it('a queue group whose members leave one node is still served by the others', async () => {
      const a = await client('A');
      const c = await client('C');
      const onA = new Counter();
      const onC = new Counter();
      const subA = a.subscribe('q.shift', { queue: 'g', callback: onA.cb });
      c.subscribe('q.shift', { queue: 'g', callback: onC.cb });
      const pub = await client('B');
      await synced('A', a, [pub]);
      await synced('C', c, [pub]);
      subA.unsubscribe();
      await synced('A', a, [pub]);
      for (let n = 0; n < 50; n++) pub.publish('q.shift', `s${n}`);
      await pub.flush();
      await waitFor('50 on C', () => onC.n >= 50);
      await sleep(200);
      assert.equal(onC.n, 50);
      assert.equal(onA.n, 0);
    });

    it('request/reply and no-responders across nodes', async () => {
      const svc = await client('C');
      svc.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`echo:${td.decode(m.data)}`) });
      const a = await client('A');
      const b = await client('B');
      await synced('C', svc, [a, b]);
      assert.equal(await requestOutcome(a, 'svc.echo'), 'ok:echo:ping');
      assert.equal(await requestOutcome(b, 'svc.echo'), 'ok:echo:ping');
      // nobody anywhere: the 503 comes back at once from the requester's server
      assert.equal(await requestOutcome(a, 'svc.nobody', 2000), 'no-responders');
      assert.equal(await requestOutcome(b, 'svc.nobody', 2000), 'no-responders');
    });

    it('unsubscribe and auto-unsubscribe withdraw interest cluster-wide', async () => {
      const c = await client('C');
      const b = await client('B');
      const a = await client('A');
      const limited = new Counter();
      const sub: Subscription = c.subscribe('un.max', { max: 3, callback: limited.cb });
      const plain = b.subscribe('un.plain', { callback: (_e, m) => void m.respond('here') });
      await synced('C', c, [a]);
      await synced('B', b, [a]);
      for (let n = 0; n < 10; n++) a.publish('un.max', `x${n}`);
      await a.flush();
      await waitFor('3 delivered', () => limited.n >= 3);
      await sleep(200);
      assert.equal(limited.n, 3, 'auto-unsubscribe limit holds across the route');
      assert.equal(sub.isClosed(), true);
      await waitFor('un.max interest gone from A', async () => (await requestOutcome(a, 'un.max', 1000)) === 'no-responders');
      assert.equal(await requestOutcome(a, 'un.plain'), 'ok:here');
      plain.unsubscribe();
      await b.flush();
      await waitFor('un.plain interest gone from A', async () => (await requestOutcome(a, 'un.plain', 1000)) === 'no-responders');
      await waitFor('un.plain interest gone from C', async () => (await requestOutcome(c, 'un.plain', 1000)) === 'no-responders');
    });

    it('a client that closes withdraws its interest from the other nodes', async () => {
      const c = await client('C');
      const a = await client('A');
      c.subscribe('gone.soon', { callback: (_e, m) => void m.respond('yes') });
      await synced('C', c, [a]);
      assert.equal(await requestOutcome(a, 'gone.soon'), 'ok:yes');
      await c.close();
      await waitFor('interest withdrawn', async () => (await requestOutcome(a, 'gone.soon', 1000)) === 'no-responders');
    });

    it('headers cross the routes intact', async () => {
      const c = await client('C');
      const a = await client('A');
      const got: Msg[] = [];
      c.subscribe('h.x', { callback: (_e, m) => void got.push(m) });
      await synced('C', c, [a]);
      const { headers } = await import('@nats-io/transport-node');
      const h = headers();
      h.set('X-Test', 'v1');
      a.publish('h.x', 'body', { headers: h });
      await a.flush();
      await waitFor('header message', () => got.length >= 1);
      assert.equal(got[0]!.headers?.get('X-Test'), 'v1');
      assert.equal(td.decode(got[0]!.data), 'body');
    });

    it('a node that is stopped and restarted rejoins, and traffic recovers', async () => {
      const a = await client('A');
      const c = await client('C');
      const onC = new Counter();
      c.subscribe('r.x', { callback: onC.cb });
      c.subscribe('r.svc', { callback: (_e, m) => void m.respond('C') });
      await synced('C', c, [a]);

      await node('B').stop();
      // A and C keep talking while B is down
      for (let n = 0; n < 20; n++) a.publish('r.x', `during${n}`);
      // (a generous timeout: on a loaded machine the stop's route teardown can hold C for a moment)
      await a.flush();
      await waitFor('20 while B is down', () => onC.n >= 20);
      assert.equal(await requestOutcome(a, 'r.svc', 3000), 'ok:C');

      nodes.B = await restartNode(node('B'));
      const b = await client('B');
      // B's configured route to A comes back; A tells C about B, C dials it
      await waitFor('B reaches C', async () => (await requestOutcome(b, 'r.svc', 300)) === 'ok:C', 20_000);
      const bsvc = await client('B');
      bsvc.subscribe('r.b', { callback: (_e, m) => void m.respond('B') });
      await bsvc.flush();
      await waitFor('A reaches B', async () => (await requestOutcome(a, 'r.b', 300)) === 'ok:B', 20_000);
      await waitFor('C reaches B', async () => (await requestOutcome(c, 'r.b', 300)) === 'ok:B', 20_000);
      const before = onC.n;
      for (let n = 0; n < 10; n++) b.publish('r.x', `after${n}`);
      await b.flush();
      await waitFor('10 from B', () => onC.n >= before + 10);
      await sleep(200);
      assert.equal(onC.n, before + 10);
    });

    it('the seed restarts: the others redial their configured route and keep each other meanwhile', async () => {
      const b = await client('B');
      const c = await client('C');
      c.subscribe('s.c', { callback: (_e, m) => void m.respond('C') });
      await synced('C', c, [b]);
      await node('A').stop();
      // the gossiped B–C route is independent of A
      assert.equal(await requestOutcome(b, 's.c', 3000), 'ok:C');
      nodes.A = await restartNode(node('A'));
      const a = await client('A');
      await waitFor('A reaches C again', async () => (await requestOutcome(a, 's.c', 300)) === 'ok:C', 20_000);
      a.subscribe('s.a', { callback: (_e, m) => void m.respond('A') });
      await a.flush();
      await waitFor('B reaches A again', async () => (await requestOutcome(b, 's.a', 300)) === 'ok:A', 20_000);
    });

    it('clients learn connect_urls and fail over through them', async () => {
      // connect to A only; the server list grows from INFO connect_urls
      const nc = await client('A', { reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const ports = () => new Set((nc.info?.connect_urls ?? []).map((u) => Number(u.slice(u.lastIndexOf(':') + 1))));
      await waitFor('connect_urls lists all three nodes', () => {
        const p = ports();
        return names.every((k) => p.has(node(k).clientPort));
      });
      const svc = await client('C');
      svc.subscribe('f.svc', { callback: (_e, m) => void m.respond('C') });
      await synced('C', svc, [nc]);
      const reconnected = (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') return s.server;
        return '';
      })();
      await node('A').stop();
      const server = await reconnected;
      assert.ok(
        server.endsWith(`:${node('B').clientPort}`) || server.endsWith(`:${node('C').clientPort}`),
        `reconnected to ${server}`,
      );
      await waitFor('request after failover', async () => (await requestOutcome(nc, 'f.svc', 300)) === 'ok:C');
      nodes.A = await restartNode(node('A'));
    });
  });
}
