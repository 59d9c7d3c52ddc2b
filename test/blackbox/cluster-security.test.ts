// Route authorization, route TLS and cluster names between tsnats and the
// reference, in both roles (each kind dials the other).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ServerKind } from '../helpers/servers.js';
import { freePort, logged, makeCerts, sleep, startNode, waitFor, type ClusterNode, type NodeSpec, type TestCerts } from './cluster-helpers.js';

const td = new TextDecoder();

/** Can a client on `from` reach a responder on `to`? Polls until it can (or throws). */
async function connected(from: ClusterNode, to: ClusterNode, timeoutMs = 15_000): Promise<void> {
  const a = await connect({ servers: to.url });
  const b = await connect({ servers: from.url });
  try {
    const subject = `probe.${Math.random().toString(36).slice(2)}`;
    a.subscribe(subject, { callback: (_e, m) => void m.respond('here') });
    await a.flush();
    await waitFor(`${from.spec.name} reaches ${to.spec.name}`, async () => {
      try {
        return td.decode((await b.request(subject, '', { timeout: 300 })).data) === 'here';
      } catch {
        return false;
      }
    }, timeoutMs);
  } finally {
    await a.close();
    await b.close();
  }
}

/** A client on `from` gets no-responders for interest on `to` for a while: no route. */
async function notConnected(from: ClusterNode, to: ClusterNode): Promise<void> {
  const a = await connect({ servers: to.url });
  const b = await connect({ servers: from.url });
  try {
    a.subscribe('isolated', { callback: (_e, m) => void m.respond('here') });
    await a.flush();
    await sleep(1500); // routes form within ~1s when they can
    const outcome = await b.request('isolated', '', { timeout: 500 }).then(
      () => 'reply',
      (e: Error & { isNoResponders?: () => boolean }) => (e.isNoResponders?.() ? 'no-responders' : e.message),
    );
    assert.equal(outcome, 'no-responders');
  } finally {
    await a.close();
    await b.close();
  }
}

const pairs: [ServerKind, ServerKind][] = [
  ['tsnats', 'tsnats'],
  ['tsnats', 'reference'],
  ['reference', 'tsnats'],
];

describe('route authorization', () => {
  for (const [seedKind, joinerKind] of pairs) {
    it(`${joinerKind} dials ${seedKind} with the right credentials, is refused with wrong ones`, async () => {
      const seed = await startNode(seedKind, { name: 'S', cluster: 'auth', user: 'ru', pass: 's3cret' });
      const good = await startNode(joinerKind, { name: 'G', cluster: 'auth', user: 'ru', pass: 's3cret', routes: [seed.routeURL] });
      const badURL = seed.routeURL.replace('s3cret', 'wrong');
      const bad = await startNode(joinerKind, { name: 'B', cluster: 'auth', routes: [badURL] });
      try {
        await connected(good, seed);
        await connected(seed, good);
        await waitFor('the refusal logged by the seed', () => logged(seed, 'authentication error').length > 0);
        await waitFor('the refused side logs the error', () => logged(bad, "Route Error 'Authorization Violation'").length > 0);
        await notConnected(bad, seed);
        // configured routes are retried forever: more refusals follow
        const n = logged(seed, 'authentication error').length;
        await waitFor('a retry', () => logged(seed, 'authentication error').length > n);
      } finally {
        await Promise.all([bad.stop(), good.stop(), seed.stop()]);
      }
    });
  }
});

describe('cluster names', () => {
  for (const [seedKind, joinerKind] of pairs) {
    it(`${joinerKind} without a name adopts ${seedKind}'s configured name`, async () => {
      const seed = await startNode(seedKind, { name: 'S', cluster: 'named' });
      const joiner = await startNode(joinerKind, { name: 'J', routes: [seed.routeURL] });
      try {
        assert.equal(logged(joiner, 'Cluster name was dynamically generated, consider setting one').length, 1);
        await waitFor('name adopted', () => logged(joiner, 'Cluster name updated to named').length === 1);
        await connected(joiner, seed);
        await connected(seed, joiner);
        if (joiner.server !== null) assert.equal(joiner.server.clusterName, 'named');
        // clients of the joiner see the new name
        const nc = await connect({ servers: joiner.url });
        assert.equal(nc.info?.cluster, 'named');
        await nc.close();
      } finally {
        await Promise.all([joiner.stop(), seed.stop()]);
      }
    });

    it(`${joinerKind} and ${seedKind} with different names stay apart`, async () => {
      const seed = await startNode(seedKind, { name: 'S', cluster: 'one' });
      const joiner = await startNode(joinerKind, { name: 'J', cluster: 'two', routes: [seed.routeURL] });
      try {
        await waitFor('the conflict logged', () => logged(seed, 'Rejecting connection, cluster name "two" does not match "one"').length > 0);
        await notConnected(joiner, seed);
        assert.ok(logged(seed, 'Cluster Name Conflict').length > 0);
      } finally {
        await Promise.all([joiner.stop(), seed.stop()]);
      }
    });
  }

  it('two generated names converge on one', async () => {
    const a = await startNode('tsnats', { name: 'A' });
    const b = await startNode('reference', { name: 'B', routes: [a.routeURL] });
    try {
      await connected(a, b);
      await connected(b, a);
      const updated = [...logged(a, 'Cluster name updated to '), ...logged(b, 'Cluster name updated to ')];
      assert.equal(updated.length, 1, `exactly one side gives way: ${updated.join(' | ')}`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('route TLS', () => {
  let certs: TestCerts;
  before(() => {
    certs = makeCerts();
  });

  const tls = (): NodeSpec['tls'] => ({ cert: certs.cert, key: certs.key, ca: certs.ca });

  for (const [seedKind, joinerKind] of pairs) {
    it(`${joinerKind} dials ${seedKind} over TLS (handshake first, both sides verified)`, async () => {
      const seed = await startNode(seedKind, { name: 'S', cluster: 'sec', tls: tls() });
      const joiner = await startNode(joinerKind, { name: 'J', cluster: 'sec', tls: tls(), routes: [seed.routeURL] });
      try {
        await connected(joiner, seed);
        await connected(seed, joiner);
        // INFO advertises TLS to route peers
        if (seed.server !== null) {
          const line = seed.server.cluster!.routeInfoLine(false).toString();
          assert.match(line, /"tls_required":true,"tls_verify":true/);
        }
        // messages flow both ways
        const sub = await connect({ servers: seed.url });
        const pub = await connect({ servers: joiner.url });
        let got = 0;
        sub.subscribe('t.x', { callback: () => void got++ });
        await sub.flush();
        await waitFor('interest over TLS', async () => {
          pub.publish('t.x', 'x');
          await pub.flush();
          return got > 0;
        });
        await Promise.all([sub.close(), pub.close()]);
      } finally {
        await Promise.all([joiner.stop(), seed.stop()]);
      }
    });

    it(`${seedKind} refuses ${joinerKind}'s certificate from another CA`, async () => {
      const seed = await startNode(seedKind, { name: 'S', cluster: 'sec', tls: tls() });
      const joiner = await startNode(joinerKind, {
        name: 'J',
        cluster: 'sec',
        tls: { cert: certs.otherCert, key: certs.otherKey, ca: certs.otherCa },
        routes: [seed.routeURL],
      });
      try {
        await waitFor('handshake errors logged', () => logged(seed, 'TLS route handshake error').length > 0 || logged(joiner, 'TLS route handshake error').length > 0);
        await notConnected(joiner, seed);
      } finally {
        await Promise.all([joiner.stop(), seed.stop()]);
      }
    });
  }

  it('a plain TCP peer on a TLS route port gets nowhere and the node carries on', async () => {
    const seed = await startNode('tsnats', { name: 'S', cluster: 'sec', tls: tls() });
    const plain = await startNode('tsnats', { name: 'P', cluster: 'sec', routes: [seed.routeURL] });
    try {
      await waitFor('handshake error', () => logged(seed, 'TLS route handshake error').length > 0);
      assert.equal(seed.server!.cluster!.numRoutes(), 0);
      const nc = await connect({ servers: seed.url });
      await nc.flush();
      await nc.close();
    } finally {
      await Promise.all([plain.stop(), seed.stop()]);
    }
  });
});

describe('connect_retries for gossiped routes', () => {
  let nodes: ClusterNode[] = [];
  let ncs: NatsConnection[] = [];
  after(async () => {
    await Promise.all(ncs.map((c) => c.close().catch(() => undefined)));
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('an implicit route that goes away is retried connect_retries times, then given up', async () => {
    const a = await startNode('tsnats', { name: 'A', cluster: 'cr', connectRetries: 2 });
    const b = await startNode('tsnats', { name: 'B', cluster: 'cr', connectRetries: 2, routes: [a.routeURL] });
    const c = await startNode('tsnats', { name: 'C', cluster: 'cr', connectRetries: 2, routes: [a.routeURL] });
    nodes = [a, b, c];
    await connected(b, c);
    await connected(c, b);
    const implicitOwner = [b, c].find((n) => [...n.server!.cluster!.routes()].some((r) => r.didSolicit && !r.isConfigured))!;
    const other = implicitOwner === b ? c : b;
    await other.stop();
    nodes = nodes.filter((n) => n !== other);
    // attempt 1 is reported, then retries every second up to connect_retries
    await waitFor('retries exhausted', () => logged(implicitOwner, /Error trying to connect to route \(attempt 3\)/).length === 1, 15_000);
    await sleep(1500);
    assert.equal(logged(implicitOwner, /Error trying to connect to route \(attempt 4\)/).length, 0);
    ncs = [];
  });
});

describe('the same route list on every node, itself included', () => {
  for (const kinds of [
    ['tsnats', 'tsnats', 'tsnats'],
    ['tsnats', 'reference', 'tsnats'],
  ] as [ServerKind, ServerKind, ServerKind][]) {
    it(`${kinds.join(' + ')}: one route per pair, routes to self dropped`, async () => {
      const ports = [await freePort(), await freePort(), await freePort()];
      const routes = ports.map((p) => `nats-route://127.0.0.1:${p}`);
      const nodes: ClusterNode[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          nodes.push(await startNode(kinds[i]!, { name: `N${i}`, cluster: 'full', routePort: ports[i]!, routes }));
        }
        for (const a of nodes) for (const b of nodes) if (a !== b) await connected(a, b);
        for (const n of nodes) {
          if (n.server === null) continue;
          // duplicates resolved: exactly one registered route per peer, and it stays that way
          await waitFor(`${n.spec.name}: two routes`, () => n.server!.cluster!.numRoutes() === 2);
          await sleep(1500);
          assert.equal(n.server.cluster!.numRoutes(), 2);
          assert.equal(n.server.cluster!.numRemotes(), 2);
          assert.ok(logged(n, 'Detected route to self').length >= 1, `${n.spec.name}: route to self detected`);
        }
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  }
});

describe('accounts across routes', () => {
  const accounts = `accounts {\n  A: { users: [{user: a, password: a}] }\n  B: { users: [{user: b, password: b}] }\n}`;
  for (const [k1, k2] of pairs) {
    it(`${k1} + ${k2} (config files): interest and messages stay in their account`, async () => {
      const n1 = await startNode(k1, { name: 'N1', cluster: 'acc', extraConf: accounts, process: true });
      const n2 = await startNode(k2, { name: 'N2', cluster: 'acc', extraConf: accounts, process: true, routes: [n1.routeURL] });
      const as = (n: ClusterNode, u: string) => connect({ servers: n.url, user: u, pass: u });
      const a1 = await as(n1, 'a');
      const a2 = await as(n2, 'a');
      const b2 = await as(n2, 'b');
      try {
        const gotA: string[] = [];
        a1.subscribe('shared.subject', { callback: (_e, m) => void gotA.push(td.decode(m.data)) });
        a1.subscribe('svc', { callback: (_e, m) => void m.respond('A@N1') });
        await a1.flush();
        await waitFor('account A interest reaches N2', async () => {
          try {
            return td.decode((await a2.request('svc', '', { timeout: 300 })).data) === 'A@N1';
          } catch {
            return false;
          }
        });
        // account B has no such interest anywhere
        const outcome = await b2.request('svc', '', { timeout: 1000 }).then(
          () => 'reply',
          (e: Error & { isNoResponders?: () => boolean }) => (e.isNoResponders?.() ? 'no-responders' : e.message),
        );
        assert.equal(outcome, 'no-responders');
        b2.publish('shared.subject', 'from-b');
        a2.publish('shared.subject', 'from-a');
        await Promise.all([a2.flush(), b2.flush()]);
        await waitFor('account A message', () => gotA.length >= 1);
        await sleep(200);
        assert.deepEqual(gotA, ['from-a']);
      } finally {
        await Promise.all([a1.close(), a2.close(), b2.close()]);
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }
});

describe('advertising to clients', () => {
  for (const [k1, k2] of pairs) {
    it(`${k1} + ${k2}: the other node's clients learn A's client_advertise address`, async () => {
      const a = await startNode(k1, {
        name: 'A',
        cluster: 'adv',
        extraConf: 'client_advertise: "a.example.com:4333"',
        extraOpts: { clientAdvertise: 'a.example.com:4333' },
      });
      const b = await startNode(k2, { name: 'B', cluster: 'adv', routes: [a.routeURL] });
      const cb = await connect({ servers: b.url });
      try {
        await connected(a, b);
        await waitFor('B clients learn A', () => (cb.info?.connect_urls ?? []).includes('a.example.com:4333'));
        assert.deepEqual([...(cb.info?.connect_urls ?? [])].sort(), [`127.0.0.1:${b.clientPort}`, 'a.example.com:4333'].sort());
      } finally {
        await cb.close();
        await Promise.all([b.stop(), a.stop()]);
      }
    });

    it(`${k1} + ${k2}: no_advertise on A keeps A out of B's INFO and B out of A's`, async () => {
      const a = await startNode(k1, { name: 'A', cluster: 'adv', noAdvertise: true });
      const b = await startNode(k2, { name: 'B', cluster: 'adv', routes: [a.routeURL] });
      const ca = await connect({ servers: a.url });
      const cb = await connect({ servers: b.url });
      try {
        await connected(a, b);
        await connected(b, a);
        await Promise.all([ca.flush(), cb.flush()]);
        await sleep(300);
        assert.equal(ca.info?.connect_urls, undefined);
        assert.ok(!(cb.info?.connect_urls ?? []).includes(`127.0.0.1:${a.clientPort}`));
      } finally {
        await Promise.all([ca.close(), cb.close()]);
        await Promise.all([b.stop(), a.stop()]);
      }
    });
  }
});
