// Leafnode accounting against nats-server 2.9.10 as the hub: the leaf limit
// of account JWTs (limits.leaf) in operator mode, expired and expiring user
// JWTs in a remote's credentials, and the system account's events for a
// leaf connection (SERVER.CONNS counting it as a leafnode, CONNECT and
// DISCONNECT of kind Leafnode). Fails (never skips) without nats-server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, jwtAuthenticator, type Msg } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { Operator, user, operatorConfig, NOW, type AccountFixture, type UserFixture } from '../helpers/jwt-fixture.js';
import { freePort, interestCrossed, leafPort, serverLog, sleep, waitFor } from '../helpers/leafnodes.js';

const HUBS: ServerKind[] = ['reference', 'tsnats'];

function credsFile(u: UserFixture): string {
  const seed = new TextDecoder().decode(u.kp.getSeed());
  return writeConfig(
    `-----BEGIN NATS USER JWT-----\n${u.jwt}\n------END NATS USER JWT------\n\n` +
      `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
  );
}

async function operatorHub(kind: ServerKind, op: Operator, accounts: AccountFixture[], sys?: AccountFixture): Promise<RunningServer> {
  return startServer(kind, ['-c', writeConfig(`server_name: HUB\n${operatorConfig(op, accounts, sys)}leafnodes { host: 127.0.0.1, port: -1 }\n`)]);
}

async function credsLeaf(kind: ServerKind, name: string, hub: RunningServer, creds: string): Promise<RunningServer> {
  return startServer(kind, ['-c', writeConfig(`server_name: ${name}\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${leafPort(hub)}", credentials: "${creds}" } ] }\n`)]);
}

for (const hubKind of HUBS) {
  describe(`leafnodes: account JWT limits on a ${hubKind} hub`, () => {
    it('limits.leaf: 1 refuses the second leaf with the reference\'s error', async () => {
      const op = await Operator.create();
      const acc = await op.account('LA', { limits: { leaf: 1 } as never });
      const u = await user(acc, 'leafuser');
      const creds = credsFile(u);
      const hub = await operatorHub(hubKind, op, [acc]);
      const first = await credsLeaf('tsnats', 'L1', hub, creds);
      const hc = await connect({ servers: hub.url, authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()) });
      const lc = await connect({ servers: first.url });
      let second: RunningServer | null = null;
      try {
        await interestCrossed(lc, hc, 'jwtlimit.1');
        second = await credsLeaf('reference', 'L2', hub, creds);
        await waitFor('the second leaf to be refused', () => serverLog(second!).includes("Leafnode Error 'maximum account active connections exceeded'"));
        await waitFor('the hub to log it', () => serverLog(hub).includes('maximum account active connections exceeded'));
        // the first leaf is untouched
        await interestCrossed(hc, lc, 'jwtlimit.2');
      } finally {
        await hc.close();
        await lc.close();
        await second?.stop();
        await first.stop();
        await hub.stop();
      }
    });

    it('an expired user JWT in the credentials is refused; an expiring one is closed when it expires', async () => {
      const op = await Operator.create();
      const acc = await op.account('LA');
      const expired = await user(acc, 'old', {}, { exp: NOW() - 10 });
      const hub = await operatorHub(hubKind, op, [acc]);
      const bad = await credsLeaf('tsnats', 'LBAD', hub, credsFile(expired));
      let soon: RunningServer | null = null;
      try {
        await waitFor('the expired leaf to be refused', () => serverLog(bad).includes("Leafnode Error 'Authorization Violation'"));
        const short = await user(acc, 'short', {}, { exp: NOW() + 3 });
        soon = await credsLeaf('reference', 'LSOON', hub, credsFile(short));
        await waitFor('the short-lived leaf to connect', () => serverLog(soon!).includes('Leafnode connection created'));
        await waitFor('its expiry', () => serverLog(soon!).includes("Leafnode Error 'User Authentication Expired'"), 15_000);
      } finally {
        await soon?.stop();
        await bad.stop();
        await hub.stop();
      }
    });

    it('system account events: SERVER.CONNS counts the leaf, CONNECT and DISCONNECT name it a Leafnode', async () => {
      const op = await Operator.create();
      const sys = await op.account('SYS');
      const acc = await op.account('LA');
      const su = await user(sys, 'sysuser');
      const u = await user(acc, 'leafuser');
      const hub = await operatorHub(hubKind, op, [sys, acc], sys);
      const sc = await connect({ servers: hub.url, authenticator: jwtAuthenticator(su.jwt, su.kp.getSeed()) });
      const events: Array<{ subject: string; body: Record<string, unknown> }> = [];
      sc.subscribe(`$SYS.ACCOUNT.${acc.pub}.>`, { callback: (_e, m: Msg) => void events.push({ subject: m.subject, body: m.json() }) });
      await sc.flush();
      let leaf: RunningServer | null = await credsLeaf('tsnats', 'LEAFX', hub, credsFile(u));
      try {
        await waitFor('the CONNECT event', () => events.some((e) => e.subject.endsWith('.CONNECT')));
        await sleep(300);
        const conns = events.find((e) => e.subject === `$SYS.ACCOUNT.${acc.pub}.SERVER.CONNS`);
        assert.ok(conns !== undefined, events.map((e) => e.subject).join(','));
        assert.deepEqual([conns.body.conns, conns.body.leafnodes, conns.body.total_conns], [0, 1, 1]);
        const connect = events.find((e) => e.subject.endsWith('.CONNECT'))!.body.client as Record<string, unknown>;
        assert.equal(connect.kind, 'Leafnode');
        assert.equal(connect.client_type, undefined);
        assert.equal(connect.name, 'LEAFX');
        assert.equal(connect.acc, acc.pub);
        assert.equal(connect.user, u.pub);
        events.length = 0;
        await leaf.stop();
        leaf = null;
        await waitFor('the DISCONNECT event', () => events.some((e) => e.subject.endsWith('.DISCONNECT')));
        await sleep(300);
        const gone = events.find((e) => e.subject === `$SYS.ACCOUNT.${acc.pub}.SERVER.CONNS`);
        assert.ok(gone !== undefined);
        assert.deepEqual([gone.body.leafnodes, gone.body.total_conns], [0, 0]);
        const dis = events.find((e) => e.subject.endsWith('.DISCONNECT'))!.body;
        assert.equal((dis.client as Record<string, unknown>).kind, 'Leafnode');
        assert.equal(typeof dis.reason, 'string');
      } finally {
        await sc.close();
        await leaf?.stop();
        await hub.stop();
      }
    });
  });
}

describe('leafnodes: max_leafnodes counted across a mixed hub cluster', () => {
  for (const [firstOn, secondOn] of [['reference', 'tsnats'], ['tsnats', 'reference']] as Array<[ServerKind, ServerKind]>) {
    it(`a leaf on the ${firstOn} node uses up the limit: the ${secondOn} node refuses the next`, async () => {
      const [pa, pb] = [await freePort(), await freePort()];
      const accs = 'accounts { A { users [ {user: a, password: a} ], limits { max_leafnodes: 1 } } }\n';
      const node = (kind: ServerKind, name: string, port: number, peer: number): Promise<RunningServer> =>
        startServer(kind, ['-c', writeConfig(`server_name: ${name}\ncluster { name: hubc, listen: "127.0.0.1:${port}", routes: ["nats://127.0.0.1:${peer}"] }\nleafnodes { host: 127.0.0.1, port: -1 }\n${accs}`)]);
      const a = await node(firstOn, 'A', pa, pb);
      const b = await node(secondOn, 'B', pb, pa);
      const remote = (s: RunningServer): string => `leafnodes { remotes [ { url: "nats://a:a@127.0.0.1:${leafPort(s)}" } ] }\n`;
      let first: RunningServer | null = null;
      let second: RunningServer | null = null;
      const bc = await connect({ servers: b.url, user: 'a', pass: 'a' });
      try {
        first = await startServer('tsnats', ['-c', writeConfig(`server_name: L1\n${remote(a)}`)]);
        const lc = await connect({ servers: first.url });
        // the leaf's interest crossing to B says the route is up and B heard of A's leaf count since
        await interestCrossed(bc, lc, 'cl.limit.1');
        await lc.close();
        await sleep(500);
        second = await startServer('reference', ['-c', writeConfig(`server_name: L2\n${remote(b)}`)]);
        await waitFor('the second leaf to be refused', () => serverLog(second!).includes("Leafnode Error 'maximum account active connections exceeded'"), 15_000);
      } finally {
        await bc.close();
        await second?.stop();
        await first?.stop();
        await b.stop();
        await a.stop();
      }
    });
  }
});
