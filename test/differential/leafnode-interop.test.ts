// Leafnodes between tsnats and the reference nats-server 2.9.10, both ways:
// a tsnats leaf of a Go hub, a Go leaf of a tsnats hub (and tsnats with
// itself). Messages with headers, request/reply and queue groups must flow
// both ways exactly once; a leaf that loses its hub keeps serving its own
// clients and catches up interest when the hub is back. Fails (never skips)
// without nats-server.

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { freePort, interestCrossed, leafPort, sleep, startHub, startLeaf, waitFor } from '../helpers/leafnodes.js';

const dec = new TextDecoder();

const TOPOLOGIES: Array<{ name: string; hub: ServerKind; leaf: ServerKind }> = [
  { name: 'tsnats leaf of a nats-server hub', hub: 'reference', leaf: 'tsnats' },
  { name: 'nats-server leaf of a tsnats hub', hub: 'tsnats', leaf: 'reference' },
  { name: 'tsnats leaf of a tsnats hub', hub: 'tsnats', leaf: 'tsnats' },
];

for (const topo of TOPOLOGIES) {
  describe(`leafnodes: ${topo.name}`, () => {
    it('messages (with headers), request/reply and queue groups flow both ways exactly once', async () => {
      const hub = await startHub(topo.hub);
      const leaf = await startLeaf(topo.leaf, leafPort(hub));
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'warmup.h');
        await interestCrossed(hc, lc, 'warmup.l');

        // plain and header messages, both ways
        const got: string[] = [];
        hc.subscribe('to.hub', { callback: (_e, m) => void got.push(`hub:${dec.decode(m.data)}:${m.headers?.get('X-Id') ?? ''}`) });
        lc.subscribe('to.leaf', { callback: (_e, m) => void got.push(`leaf:${dec.decode(m.data)}:${m.headers?.get('X-Id') ?? ''}`) });
        await hc.flush();
        await lc.flush();
        await interestCrossed(lc, hc, 'sync.a');
        await interestCrossed(hc, lc, 'sync.b');
        const h = headers();
        h.set('X-Id', '7');
        lc.publish('to.hub', 'one');
        lc.publish('to.hub', 'two', { headers: h });
        hc.publish('to.leaf', 'three', { headers: h });
        hc.publish('to.leaf', 'four');
        await lc.flush();
        await hc.flush();
        await waitFor('4 messages', () => got.length >= 4);
        await sleep(200);
        assert.deepEqual(got.sort(), ['hub:one:', 'hub:two:7', 'leaf:four:', 'leaf:three:7']);

        // request/reply both ways
        hc.subscribe('svc.hub', { callback: (_e, m) => void m.respond(`hub got ${dec.decode(m.data)}`) });
        lc.subscribe('svc.leaf', { callback: (_e, m) => void m.respond(`leaf got ${dec.decode(m.data)}`) });
        await hc.flush();
        await lc.flush();
        await interestCrossed(lc, hc, 'sync.c');
        await interestCrossed(hc, lc, 'sync.d');
        assert.equal(dec.decode((await lc.request('svc.hub', 'x', { timeout: 3000 })).data), 'hub got x');
        assert.equal(dec.decode((await hc.request('svc.leaf', 'y', { timeout: 3000 })).data), 'leaf got y');

        // queue group with members on both sides: every message once in total
        const counts = { hub: 0, leaf: 0 };
        const seen = new Set<string>();
        let dup = 0;
        const onMsg = (side: 'hub' | 'leaf') => (_e: unknown, m: { data: Uint8Array }) => {
          counts[side]++;
          const k = dec.decode(m.data);
          if (seen.has(k)) dup++;
          seen.add(k);
        };
        for (let i = 0; i < 2; i++) {
          hc.subscribe('work', { queue: 'q', callback: onMsg('hub') });
          lc.subscribe('work', { queue: 'q', callback: onMsg('leaf') });
        }
        await hc.flush();
        await lc.flush();
        await interestCrossed(lc, hc, 'sync.e');
        await interestCrossed(hc, lc, 'sync.f');
        for (let i = 0; i < 50; i++) {
          hc.publish('work', `h${i}`);
          lc.publish('work', `l${i}`);
        }
        await hc.flush();
        await lc.flush();
        await waitFor('100 queue messages', () => seen.size >= 100);
        await sleep(300);
        assert.equal(dup, 0);
        assert.equal(counts.hub + counts.leaf, 100);

        // members only on the other side: the group is served across the leaf, once
        const only = { n: 0, keys: new Set<string>() };
        lc.subscribe('work.remote', { queue: 'r', callback: (_e, m) => void (only.n++, only.keys.add(dec.decode(m.data))) });
        lc.subscribe('work.remote', { queue: 'r', callback: (_e, m) => void (only.n++, only.keys.add(dec.decode(m.data))) });
        await lc.flush();
        await interestCrossed(hc, lc, 'sync.g');
        await waitFor('queue interest on the hub', async () => {
          hc.publish('work.remote', 'probe');
          await hc.flush();
          await sleep(30);
          return only.keys.has('probe');
        });
        await sleep(200);
        only.n = 0;
        only.keys.clear();
        for (let i = 0; i < 30; i++) hc.publish('work.remote', `r${i}`);
        await hc.flush();
        await waitFor('30 remote queue messages', () => only.keys.size >= 30);
        await sleep(300);
        assert.equal(only.n, 30);
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });

    it('a leaf that loses its hub serves its own clients and catches up interest when the hub returns', async () => {
      let hub = await startHub(topo.hub);
      const lport = leafPort(hub);
      const leaf = await startLeaf(topo.leaf, lport);
      const lc = await connect({ servers: leaf.url });
      let hc = await connect({ servers: hub.url });
      try {
        await interestCrossed(hc, lc, 'warm');
        await hc.close();
        await hub.stop();

        // local service on the leaf while the hub is gone
        lc.subscribe('local.svc', { callback: (_e, m) => void m.respond('still here') });
        await lc.flush();
        assert.equal(dec.decode((await lc.request('local.svc', '', { timeout: 2000 })).data), 'still here');

        // interest made while disconnected
        const got: string[] = [];
        lc.subscribe('after.reconnect', { callback: (_e, m) => void got.push(dec.decode(m.data)) });
        await lc.flush();

        hub = await startHub(topo.hub, lport);
        hc = await connect({ servers: hub.url });
        await waitFor('the leaf to reconnect and send its interest', async () => {
          hc.publish('after.reconnect', 'hello');
          await hc.flush();
          await sleep(50);
          return got.length > 0;
        }, 15_000);
        assert.equal(got[0], 'hello');
        const err = leaf.stderr() + leaf.stdout();
        assert.match(err, /Leafnode connection created for account: \$G/);
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  });
}

describe('leafnodes: monitoring on a tsnats hub', () => {
  it('/leafz and /varz report the live leaf connection', async () => {
    const hub = await startHub('tsnats', -1, 'http: "127.0.0.1:-1"\n');
    const leaf = await startLeaf('reference', leafPort(hub));
    try {
      const m = /Starting http monitor on \S+:(\d+)|Listening for monitoring connections on \S+:(\d+)/.exec(hub.stderr() + hub.stdout());
      assert.ok(m !== null, 'monitor port');
      const mport = Number(m[1] ?? m[2]);
      let leafz: { leafnodes: number; leafs: Array<{ account: string; subscriptions: number }> | null } = { leafnodes: 0, leafs: null };
      await waitFor('a leaf in /leafz', async () => {
        leafz = (await (await fetch(`http://127.0.0.1:${mport}/leafz?subs=1`)).json()) as typeof leafz;
        return leafz.leafnodes === 1;
      });
      assert.equal(leafz.leafs![0]!.account, '$G');
      assert.ok(leafz.leafs![0]!.subscriptions >= 1);
      const varz = (await (await fetch(`http://127.0.0.1:${mport}/varz`)).json()) as { leafnodes: number; leaf: { port: number } };
      assert.equal(varz.leafnodes, 1);
      assert.equal(varz.leaf.port, leafPort(hub));
    } finally {
      await leaf.stop();
      await hub.stop();
    }
  });
});

const LOOP_LINE = 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s';

describe('leafnodes: loop detection between tsnats and nats-server', () => {
  it('two servers that are each other\'s leaf detect the loop with the reference\'s error', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const confA = writeConfig(`server_name: A\nleafnodes { host: 127.0.0.1, port: ${pa}, remotes [ { url: "nats://127.0.0.1:${pb}" } ] }\n`);
    const confB = writeConfig(`server_name: B\nleafnodes { host: 127.0.0.1, port: ${pb}, remotes [ { url: "nats://127.0.0.1:${pa}" } ] }\n`);
    const a = await startServer('tsnats', ['-c', confA]);
    const b = await startServer('reference', ['-c', confB]);
    try {
      await waitFor('the loop to be detected on both sides', () => (a.stderr() + a.stdout()).includes(LOOP_LINE) && (b.stderr() + b.stdout()).includes(LOOP_LINE));
      const log = (s: RunningServer): string => s.stderr() + s.stdout();
      // after the loop, no reconnect for 30s: one connection each way at most
      await sleep(1500);
      assert.ok((log(a).match(/Leafnode connection created for account/g) ?? []).length <= 1);
      assert.ok((log(b).match(/Leafnode connection created for account/g) ?? []).length <= 1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

for (const topo of TOPOLOGIES) {
  describe(`leafnodes: accounts and permissions, ${topo.name}`, () => {
    it('the remote\'s local account is bound to the account its credentials log into; deny_imports/deny_exports filter', async () => {
      const hubConf = `accounts { HA { users [ {user: ua, password: pa} ] }, HB { users [ {user: ub, password: pb} ] } }\n`;
      const hub = await startHub(topo.hub, -1, hubConf);
      const lp = leafPort(hub);
      const leafConf = writeConfig(
        `server_name: LEAF_${topo.leaf}\naccounts { L { users [ {user: lu, password: lp} ] } }\n` +
          `leafnodes { reconnect: 1, remotes [ { url: "nats://ua:pa@127.0.0.1:${lp}", account: L, deny_exports: ["secret.>"], deny_imports: ["private.>"] } ] }\n`,
      );
      const leaf = await startServer(topo.leaf, ['-c', leafConf]);
      const ha = await connect({ servers: hub.url, user: 'ua', pass: 'pa' });
      const hb = await connect({ servers: hub.url, user: 'ub', pass: 'pb' });
      const lc = await connect({ servers: leaf.url, user: 'lu', pass: 'lp' });
      try {
        await interestCrossed(lc, ha, 'bind.a');
        await interestCrossed(ha, lc, 'bind.l');
        const got: string[] = [];
        hb.subscribe('>', { callback: (_e, m) => void got.push(`HB:${m.subject}`) });
        ha.subscribe('secret.x', { callback: (_e, m) => void got.push(`HA:${m.subject}`) });
        ha.subscribe('open.x', { callback: (_e, m) => void got.push(`HA:${m.subject}`) });
        lc.subscribe('private.y', { callback: (_e, m) => void got.push(`L:${m.subject}`) });
        lc.subscribe('open.y', { callback: (_e, m) => void got.push(`L:${m.subject}`) });
        await ha.flush();
        await hb.flush();
        await lc.flush();
        await interestCrossed(lc, ha, 'sync.1');
        await interestCrossed(ha, lc, 'sync.2');
        lc.publish('secret.x', 'no');
        lc.publish('open.x', 'yes');
        ha.publish('private.y', 'no');
        ha.publish('open.y', 'yes');
        await lc.flush();
        await ha.flush();
        await waitFor('the allowed messages', () => got.includes('HA:open.x') && got.includes('L:open.y'));
        await sleep(300);
        assert.deepEqual(got.filter((g) => !g.includes('sync') && !g.includes('bind')).sort(), ['HA:open.x', 'L:open.y']);
      } finally {
        await ha.close();
        await hb.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });

    it('leafnodes authorization { user, password, account } binds the leaf to that account; bad credentials are refused', async () => {
      const conf = writeConfig(`server_name: HUB_${topo.hub}\naccounts { HA { users [ {user: ua, password: pa} ] } }\nleafnodes { host: 127.0.0.1, port: -1, authorization { user: leaf, password: s3cr3t, account: HA } }\n`);
      const hub2 = await startServer(topo.hub, ['-c', conf]);
      const lp = leafPort(hub2);
      const good = await startServer(topo.leaf, ['-c', writeConfig(`server_name: GOOD\nleafnodes { remotes [ { url: "nats://leaf:s3cr3t@127.0.0.1:${lp}" } ] }\n`)]);
      const bad = await startServer(topo.leaf, ['-c', writeConfig(`server_name: BAD\nleafnodes { remotes [ { url: "nats://leaf:wrong@127.0.0.1:${lp}" } ] }\n`)]);
      const ha = await connect({ servers: hub2.url, user: 'ua', pass: 'pa' });
      const lc = await connect({ servers: good.url });
      try {
        await interestCrossed(lc, ha, 'auth.ok');
        await waitFor('the bad leaf to be refused', () => /Authorization Violation/.test(bad.stderr() + bad.stdout()));
      } finally {
        await ha.close();
        await lc.close();
        await good.stop();
        await bad.stop();
        await hub2.stop();
      }
    });
  });
}

for (const topo of TOPOLOGIES) {
  describe(`leafnodes: imports across the leaf connection, ${topo.name}`, () => {
    const hubAccounts =
      'accounts {\n' +
      '  SVC { users [ {user: s, password: s} ], exports [ {service: "help"}, {stream: "news.>"} ] }\n' +
      '  CLI { users [ {user: c, password: c} ], imports [ {service: {account: SVC, subject: "help"}}, {stream: {account: SVC, subject: "news.>"}} ] }\n' +
      '}\n';

    it('a responder on the leaf serves a service import of the hub; a stream published on the leaf reaches the importer', async () => {
      const hub = await startHub(topo.hub, -1, hubAccounts);
      const lconf = writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "nats://s:s@127.0.0.1:${leafPort(hub)}" } ] }\n`);
      const l = await startServer(topo.leaf, ['-c', lconf]);
      const cli = await connect({ servers: hub.url, user: 'c', pass: 'c' });
      const svc = await connect({ servers: hub.url, user: 's', pass: 's' });
      const lc = await connect({ servers: l.url });
      try {
        await interestCrossed(svc, lc, 'warm.1');
        await interestCrossed(lc, svc, 'warm.2');
        lc.subscribe('help', { callback: (_e, m) => void m.respond(`leaf helps with ${dec.decode(m.data)}`) });
        await lc.flush();
        await interestCrossed(svc, lc, 'sync.s');
        let answer = '';
        await waitFor('the leaf responder to answer through the import', async () => {
          const r = await cli.request('help', 'x', { timeout: 500 }).catch(() => null);
          if (r !== null) answer = dec.decode(r.data);
          return r !== null;
        });
        assert.equal(answer, 'leaf helps with x');

        const news: string[] = [];
        cli.subscribe('news.>', { callback: (_e, m) => void news.push(m.subject) });
        await cli.flush();
        await waitFor('the stream to cross', async () => {
          lc.publish('news.today', 'n');
          await lc.flush();
          await sleep(50);
          return news.length > 0;
        });
        assert.equal(news[0], 'news.today');
      } finally {
        await cli.close();
        await svc.close();
        await lc.close();
        await l.stop();
        await hub.stop();
      }
    });

    it('a requester on a leaf bound to the importing account gets the answer of the exporter on the hub', async () => {
      const hub = await startHub(topo.hub, -1, hubAccounts);
      const lconf = writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "nats://c:c@127.0.0.1:${leafPort(hub)}" } ] }\n`);
      const l = await startServer(topo.leaf, ['-c', lconf]);
      const svc = await connect({ servers: hub.url, user: 's', pass: 's' });
      const cli = await connect({ servers: hub.url, user: 'c', pass: 'c' });
      const lc = await connect({ servers: l.url });
      try {
        svc.subscribe('help', { callback: (_e, m) => void m.respond(`hub helps with ${dec.decode(m.data)}`) });
        await svc.flush();
        await interestCrossed(cli, lc, 'warm.3');
        let answer = '';
        await waitFor('the hub exporter to answer the leaf requester', async () => {
          const r = await lc.request('help', 'y', { timeout: 500 }).catch(() => null);
          if (r !== null) answer = dec.decode(r.data);
          return r !== null;
        });
        assert.equal(answer, 'hub helps with y');
        const news: string[] = [];
        lc.subscribe('news.>', { callback: (_e, m) => void news.push(m.subject) });
        await lc.flush();
        await waitFor('the hub stream to reach the leaf importer', async () => {
          svc.publish('news.hub', 'n');
          await svc.flush();
          await sleep(50);
          return news.length > 0;
        });
        assert.equal(news[0], 'news.hub');
      } finally {
        await svc.close();
        await cli.close();
        await lc.close();
        await l.stop();
        await hub.stop();
      }
    });
  });
}

describe('leafnodes over TLS', () => {
  let certs: { cert: string; key: string; ca: string } | null = null;
  const getCerts = async () => (certs ??= (await import('../blackbox/cluster-helpers.js')).makeCerts());
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: the leaf upgrades to TLS after the hub's INFO, messages flow both ways`, async () => {
      const c = await getCerts();
      const hubConf = writeConfig(
        `server_name: HUB_${topo.hub}\nleafnodes { host: 127.0.0.1, port: -1, tls { cert_file: "${c.cert}", key_file: "${c.key}", ca_file: "${c.ca}", timeout: 3 } }\n`,
      );
      const hub = await startServer(topo.hub, ['-c', hubConf]);
      const leafConf = writeConfig(
        `server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "tls://127.0.0.1:${leafPort(hub)}", tls { ca_file: "${c.ca}" } } ] }\n`,
      );
      const leaf = await startServer(topo.leaf, ['-c', leafConf]);
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'tls.to.hub');
        await interestCrossed(hc, lc, 'tls.to.leaf');
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

for (const topo of TOPOLOGIES) {
  describe(`leafnodes: permissions of the leaf user, ${topo.name}`, () => {
    it('the hub user\'s publish/subscribe permissions limit what crosses, on both sides', async () => {
      const hub = await startHub(
        topo.hub,
        -1,
        'authorization { users [ {user: lu, password: lp, permissions: { publish: "up.>", subscribe: "down.>" }}, {user: h, password: h} ] }\n',
      );
      const leaf = await startServer(topo.leaf, ['-c', writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "nats://lu:lp@127.0.0.1:${leafPort(hub)}" } ] }\n`)]);
      const hc = await connect({ servers: hub.url, user: 'h', pass: 'h' });
      const lc = await connect({ servers: leaf.url });
      try {
        const got: string[] = [];
        hc.subscribe('up.x', { callback: (_e, m) => void got.push(`hub:${m.subject}`) });
        hc.subscribe('other.x', { callback: (_e, m) => void got.push(`hub:${m.subject}`) });
        lc.subscribe('down.x', { callback: (_e, m) => void got.push(`leaf:${m.subject}`) });
        lc.subscribe('nope.x', { callback: (_e, m) => void got.push(`leaf:${m.subject}`) });
        await hc.flush();
        await lc.flush();
        await waitFor('allowed interest both ways', async () => {
          lc.publish('up.x', '');
          hc.publish('down.x', '');
          await lc.flush();
          await hc.flush();
          await sleep(50);
          return got.includes('hub:up.x') && got.includes('leaf:down.x');
        });
        got.length = 0;
        lc.publish('other.x', '');
        hc.publish('nope.x', '');
        lc.publish('up.x', '');
        hc.publish('down.x', '');
        await lc.flush();
        await hc.flush();
        await waitFor('the allowed pair', () => got.includes('hub:up.x') && got.includes('leaf:down.x'));
        await sleep(300);
        assert.deepEqual(got.sort(), ['hub:up.x', 'leaf:down.x']);
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  });
}

for (const leafKind of ['reference', 'tsnats'] as ServerKind[]) {
  describe(`leafnodes: a ${leafKind} leaf of a tsnats hub cluster`, () => {
    it('interest and messages cross the route between the hub nodes, both ways; queue groups once', async () => {
      const [ca, cb] = [await freePort(), await freePort()];
      const a = await startServer('tsnats', ['-c', writeConfig(`server_name: A\ncluster { name: hubc, listen: "127.0.0.1:${ca}", routes: ["nats://127.0.0.1:${cb}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n`)]);
      const b = await startServer('tsnats', ['-c', writeConfig(`server_name: B\ncluster { name: hubc, listen: "127.0.0.1:${cb}", routes: ["nats://127.0.0.1:${ca}"] }\n`)]);
      const leaf = await startLeaf(leafKind, leafPort(a));
      const bc = await connect({ servers: b.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, bc, 'via.route.1');
        await interestCrossed(bc, lc, 'via.route.2');
        const got: string[] = [];
        for (let i = 0; i < 2; i++) lc.subscribe('cq', { queue: 'g', callback: (_e, m) => void got.push(dec.decode(m.data)) });
        await lc.flush();
        await interestCrossed(bc, lc, 'via.route.3');
        for (let i = 0; i < 20; i++) bc.publish('cq', `m${i}`);
        await bc.flush();
        await waitFor('20 queue messages on the leaf', () => got.length >= 20);
        await sleep(300);
        assert.equal(got.length, 20);
        assert.equal(new Set(got).size, 20);
      } finally {
        await bc.close();
        await lc.close();
        await leaf.stop();
        await a.stop();
        await b.stop();
      }
    });
  });
}

describe('leafnodes over websocket', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: a ws:// remote upgrades on /leafnode, messages flow both ways`, async () => {
      const hub = await startServer(topo.hub, [
        '-c',
        writeConfig(`server_name: HUB_${topo.hub}\nleafnodes { host: 127.0.0.1, port: -1 }\nwebsocket { host: 127.0.0.1, port: -1, no_tls: true }\n`),
      ]);
      const m = /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(hub.stderr() + hub.stdout());
      assert.ok(m !== null, 'websocket port');
      const leaf = await startServer(topo.leaf, [
        '-c',
        writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "ws://127.0.0.1:${m[1]}" } ] }\n`),
      ]);
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'ws.to.hub');
        await interestCrossed(hc, lc, 'ws.to.leaf');
        hc.subscribe('ws.rr', { callback: (_e, msg) => void msg.respond('pong') });
        await hc.flush();
        await interestCrossed(lc, hc, 'ws.sync');
        assert.equal(dec.decode((await lc.request('ws.rr', 'ping', { timeout: 3000 })).data), 'pong');
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

/** A TCP relay that counts the bytes going each way (what really crossed the wire). */
async function countingRelay(targetPort: number): Promise<{ port: number; up: () => number; down: () => number; close: () => Promise<void> }> {
  let up = 0;
  let down = 0;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    const t = net.connect(targetPort, '127.0.0.1');
    socks.add(c);
    socks.add(t);
    c.on('data', (d) => {
      up += d.length;
      t.write(d);
    });
    t.on('data', (d) => {
      down += d.length;
      c.write(d);
    });
    const end = (): void => {
      c.destroy();
      t.destroy();
    };
    c.on('close', end).on('error', end);
    t.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    up: () => up,
    down: () => down,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}

describe('leafnodes over websocket with ws_compression', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: permessage-deflate is negotiated, compressed frames flow both ways`, async () => {
      const hub = await startServer(topo.hub, [
        '-c',
        writeConfig(`server_name: HUB_${topo.hub}\nleafnodes { host: 127.0.0.1, port: -1 }\nwebsocket { host: 127.0.0.1, port: -1, no_tls: true, compression: true }\n`),
      ]);
      const m = /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(hub.stderr() + hub.stdout());
      assert.ok(m !== null, 'websocket port');
      const relay = await countingRelay(Number(m[1]));
      const leaf = await startServer(topo.leaf, [
        '-D',
        '-c',
        writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "ws://127.0.0.1:${relay.port}", ws_compression: true } ] }\n`),
      ]);
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'wsc.to.hub');
        await interestCrossed(hc, lc, 'wsc.to.leaf');
        // Both dialers log what was negotiated (server/leafnode.go leafNodeSolicitWSConnection).
        await waitFor('the negotiated compression in the log', () => /Leafnode compression=true masking=true/.test(leaf.stderr() + leaf.stdout()));
        const big = 'abcdefgh'.repeat(32 * 1024); // 256 KiB, highly compressible
        const got: string[] = [];
        hc.subscribe('wsc.big.hub', { callback: (_e, msg) => void got.push(`hub:${msg.data.length}:${dec.decode(msg.data) === big}`) });
        lc.subscribe('wsc.big.leaf', { callback: (_e, msg) => void got.push(`leaf:${msg.data.length}:${dec.decode(msg.data) === big}`) });
        await hc.flush();
        await lc.flush();
        await interestCrossed(lc, hc, 'wsc.sync.1');
        await interestCrossed(hc, lc, 'wsc.sync.2');
        const [up0, down0] = [relay.up(), relay.down()];
        for (let i = 0; i < 4; i++) {
          lc.publish('wsc.big.hub', big);
          hc.publish('wsc.big.leaf', big);
        }
        await lc.flush();
        await hc.flush();
        await waitFor('8 big messages', () => got.length >= 8);
        assert.deepEqual(got.sort(), [...Array(4).fill(`hub:${big.length}:true`), ...Array(4).fill(`leaf:${big.length}:true`)]);
        // 1 MiB each way went as much less than 1 MiB: the frames were compressed.
        assert.ok(relay.up() - up0 < big.length, `leaf to hub: ${relay.up() - up0} bytes`);
        assert.ok(relay.down() - down0 < big.length, `hub to leaf: ${relay.down() - down0} bytes`);
        hc.subscribe('wsc.rr', { callback: (_e, msg) => void msg.respond('pong') });
        await hc.flush();
        await interestCrossed(lc, hc, 'wsc.sync.3');
        assert.equal(dec.decode((await lc.request('wsc.rr', 'ping', { timeout: 3000 })).data), 'pong');
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
        await relay.close();
      }
    });
  }
});

describe('leafnodes over websocket with ws_no_masking', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: the hub echoes Nats-No-Masking, the leaf writes unmasked frames, messages flow both ways`, async () => {
      const hub = await startServer(topo.hub, [
        '-c',
        writeConfig(`server_name: HUB_${topo.hub}\nleafnodes { host: 127.0.0.1, port: -1 }\nwebsocket { host: 127.0.0.1, port: -1, no_tls: true }\n`),
      ]);
      const m = /Listening for websocket clients on ws:\/\/\S+:(\d+)/.exec(hub.stderr() + hub.stdout());
      assert.ok(m !== null, 'websocket port');
      const leaf = await startServer(topo.leaf, [
        '-D',
        '-c',
        writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "ws://127.0.0.1:${m[1]}", ws_no_masking: true } ] }\n`),
      ]);
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'wsm.to.hub');
        await interestCrossed(hc, lc, 'wsm.to.leaf');
        assert.match(leaf.stderr() + leaf.stdout(), /Leafnode compression=false masking=false/);
        const big = 'x'.repeat(100_000);
        let got = '';
        hc.subscribe('wsm.big', { callback: (_e, msg) => void (got = dec.decode(msg.data)) });
        await hc.flush();
        await interestCrossed(lc, hc, 'wsm.sync');
        lc.publish('wsm.big', big);
        await lc.flush();
        await waitFor('the big message', () => got.length > 0);
        assert.equal(got, big);
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

describe('leafnodes: credentials for an operator-mode hub', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: the remote logs in with a .creds file and binds to the user's account`, async () => {
      const { Operator, user, operatorConfig } = await import('../helpers/jwt-fixture.js');
      const { jwtAuthenticator } = await import('@nats-io/transport-node');
      const op = await Operator.create();
      const acc = await op.account('LA');
      const other = await op.account('LB');
      const u = await user(acc, 'leafuser');
      const v = await user(other, 'otheruser');
      const seed = new TextDecoder().decode(u.kp.getSeed());
      const creds =
        `-----BEGIN NATS USER JWT-----\n${u.jwt}\n------END NATS USER JWT------\n\n` +
        `************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n` +
        `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n\n*************************************************************\n`;
      const credsFile = writeConfig(creds);
      const hub = await startServer(topo.hub, ['-c', writeConfig(`server_name: HUB_${topo.hub}\n${operatorConfig(op, [acc, other])}leafnodes { host: 127.0.0.1, port: -1 }\n`)]);
      const leaf = await startServer(topo.leaf, [
        '-c',
        writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${leafPort(hub)}", credentials: "${credsFile}" } ] }\n`),
      ]);
      const ha = await connect({ servers: hub.url, authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()) });
      const hb = await connect({ servers: hub.url, authenticator: jwtAuthenticator(v.jwt, v.kp.getSeed()) });
      const lc = await connect({ servers: leaf.url });
      try {
        const other: string[] = [];
        hb.subscribe('creds.>', { callback: (_e, m) => void other.push(m.subject) });
        await hb.flush();
        await interestCrossed(lc, ha, 'creds.a');
        await interestCrossed(ha, lc, 'creds.b');
        assert.deepEqual(other, []);
      } finally {
        await ha.close();
        await hb.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

for (const leafKind of ['reference', 'tsnats'] as ServerKind[]) {
  describe(`leafnodes: hub URL gossip to a ${leafKind} leaf`, () => {
    it('the leaf learns the leafnode URLs of the hub cluster and fails over when its hub goes', async () => {
      const [ca, cb] = [await freePort(), await freePort()];
      const a = await startServer('tsnats', ['-c', writeConfig(`server_name: A\ncluster { name: hubg, listen: "127.0.0.1:${ca}", routes: ["nats://127.0.0.1:${cb}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n`)]);
      const b = await startServer('tsnats', ['-c', writeConfig(`server_name: B\ncluster { name: hubg, listen: "127.0.0.1:${cb}", routes: ["nats://127.0.0.1:${ca}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n`)]);
      const leaf = await startLeaf(leafKind, leafPort(a));
      const bc = await connect({ servers: b.url });
      const lc = await connect({ servers: leaf.url, maxReconnectAttempts: -1 });
      try {
        await interestCrossed(lc, bc, 'gossip.1');
        await sleep(500);
        await a.stop();
        const got: string[] = [];
        lc.subscribe('gossip.after', { callback: (_e, m) => void got.push(dec.decode(m.data)) });
        await lc.flush();
        await waitFor('the leaf to fail over to B', async () => {
          bc.publish('gossip.after', 'via B');
          await bc.flush();
          await sleep(100);
          return got.length > 0;
        }, 20_000);
        assert.equal(got[0], 'via B');
        assert.match(leaf.stderr() + leaf.stdout(), new RegExp(`127\\.0\\.0\\.1:${leafPort(b)}`));
      } finally {
        await bc.close();
        await lc.close();
        await leaf.stop();
        await a.stop();
        await b.stop();
      }
    });
  });
}

describe('leafnodes: min_version', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: a hub requiring a newer version refuses the leaf with the reference's error`, async () => {
      const hub = await startServer(topo.hub, ['-c', writeConfig(`server_name: HUB_${topo.hub}\nleafnodes { host: 127.0.0.1, port: -1, min_version: "2.10.0" }\n`)]);
      const leaf = await startLeaf(topo.leaf, leafPort(hub));
      try {
        const txt = 'connection rejected since minimum version required is "2.10.0"';
        await waitFor('the refusal on both sides', () => (hub.stderr() + hub.stdout()).includes(txt) && (leaf.stderr() + leaf.stdout()).includes(txt));
      } finally {
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

for (const leafOn of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`leafnodes: a mixed tsnats + nats-server hub cluster, the leaf on the ${leafOn} node`, () => {
    it('messages and queue groups cross the leaf connection and the route, once', async () => {
      const [ca, cb] = [await freePort(), await freePort()];
      const other: ServerKind = leafOn === 'tsnats' ? 'reference' : 'tsnats';
      const a = await startServer(leafOn, ['-c', writeConfig(`server_name: A\ncluster { name: mixed, listen: "127.0.0.1:${ca}", routes: ["nats://127.0.0.1:${cb}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n`)]);
      const b = await startServer(other, ['-c', writeConfig(`server_name: B\ncluster { name: mixed, listen: "127.0.0.1:${cb}", routes: ["nats://127.0.0.1:${ca}"] }\n`)]);
      const leaf = await startLeaf('reference', leafPort(a));
      const leaf2 = await startLeaf('tsnats', leafPort(a));
      const bc = await connect({ servers: b.url });
      const lc = await connect({ servers: leaf.url });
      const lc2 = await connect({ servers: leaf2.url });
      try {
        await interestCrossed(lc, bc, 'mixed.1');
        await interestCrossed(bc, lc, 'mixed.2');
        await interestCrossed(lc2, bc, 'mixed.3');
        await interestCrossed(bc, lc2, 'mixed.4');
        await interestCrossed(lc, lc2, 'mixed.5');
        const got: string[] = [];
        lc.subscribe('mq', { queue: 'g', callback: (_e, m) => void got.push(dec.decode(m.data)) });
        lc2.subscribe('mq', { queue: 'g', callback: (_e, m) => void got.push(dec.decode(m.data)) });
        await lc.flush();
        await lc2.flush();
        await interestCrossed(bc, lc, 'mixed.6');
        await interestCrossed(bc, lc2, 'mixed.7');
        for (let i = 0; i < 20; i++) bc.publish('mq', `m${i}`);
        await bc.flush();
        await waitFor('20 queue messages on the leafs', () => got.length >= 20);
        await sleep(300);
        assert.equal(got.length, 20);
        assert.equal(new Set(got).size, 20);
      } finally {
        await bc.close();
        await lc.close();
        await lc2.close();
        await leaf.stop();
        await leaf2.stop();
        await a.stop();
        await b.stop();
      }
    });
  });
}

describe('leafnodes: a remote that declares itself the hub (hub: true)', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: roles swap, messages still flow both ways`, async () => {
      const hub = await startHub(topo.hub);
      const leaf = await startServer(topo.leaf, [
        '-c',
        writeConfig(`server_name: LEAF_${topo.leaf}\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${leafPort(hub)}", hub: true } ] }\n`),
      ]);
      const hc = await connect({ servers: hub.url });
      const lc = await connect({ servers: leaf.url });
      try {
        await interestCrossed(lc, hc, 'swap.1');
        await interestCrossed(hc, lc, 'swap.2');
      } finally {
        await hc.close();
        await lc.close();
        await leaf.stop();
        await hub.stop();
      }
    });
  }
});

describe('leafnodes: account max_leafnodes', () => {
  for (const hubKind of ['reference', 'tsnats'] as ServerKind[]) {
    it(`a ${hubKind} hub refuses a leaf beyond the account's max_leafnodes`, async () => {
      const hub = await startHub(hubKind, -1, 'accounts { A { users [ {user: a, password: a} ], limits { max_leafnodes: 1 } } }\n');
      const url = `nats://a:a@127.0.0.1:${leafPort(hub)}`;
      const first = await startServer('tsnats', ['-c', writeConfig(`server_name: L1\nleafnodes { remotes [ { url: "${url}" } ] }\n`)]);
      const hc = await connect({ servers: hub.url, user: 'a', pass: 'a' });
      const lc = await connect({ servers: first.url });
      let second: RunningServer | null = null;
      try {
        await interestCrossed(lc, hc, 'limit.1');
        second = await startServer('reference', ['-c', writeConfig(`server_name: L2\nleafnodes { remotes [ { url: "${url}" } ] }\n`)]);
        await waitFor('the second leaf to be refused', () => /Leafnode Error 'maximum account active connections exceeded'/.test(second!.stderr() + second!.stdout()));
      } finally {
        await hc.close();
        await lc.close();
        await second?.stop();
        await first.stop();
        await hub.stop();
      }
    });
  }
});
