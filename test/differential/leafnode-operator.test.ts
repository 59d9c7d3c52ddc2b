// A leaf in operator mode whose remote binds to an account (public key) the
// server does not know yet: as nats-server 2.9.10 (server/leafnode.go
// createLeafNode → LookupAccount) the account is fetched from the resolver
// when the remote connects, and the leaf connection binds to it; an account
// the resolver does not have closes the attempt with the lookup error, and
// the remote retries. Hubs and leaves of both kinds. Fails (never skips)
// without nats-server.

import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { connect, jwtAuthenticator } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { interestCrossed, leafPort, serverLog, sleep, startHub, waitFor } from '../helpers/leafnodes.js';
import { Operator, user } from '../helpers/jwt-fixture.js';

const dec = new TextDecoder();

const op = await Operator.create();
const sys = await op.account('SYS');
const accA = await op.account('A');
const gone = await op.account('GONE'); // never served
const served = new Map<string, string>([
  [sys.pub, sys.jwt],
  [accA.pub, accA.jwt],
]);
const userA = await user(accA, 'a');

async function jwtServer(): Promise<{ http: HttpServer; port: number; requests: string[] }> {
  const requests: string[] = [];
  const http = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    if (path === '/jwt/v1/accounts/') {
      res.writeHead(200).end('');
      return;
    }
    const jwt = served.get(path.slice('/jwt/v1/accounts/'.length));
    if (jwt === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': 'application/jwt' }).end(jwt);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { http, port: (http.address() as AddressInfo).port, requests };
}

const TOPOLOGIES: Array<{ name: string; hub: ServerKind; leaf: ServerKind }> = [
  { name: 'tsnats leaf of a nats-server hub', hub: 'reference', leaf: 'tsnats' },
  { name: 'nats-server leaf of a tsnats hub', hub: 'tsnats', leaf: 'reference' },
  { name: 'tsnats leaf of a tsnats hub', hub: 'tsnats', leaf: 'tsnats' },
];

async function operatorLeaf(kind: ServerKind, jwtPort: number, hubLeafPort: number, account: string): Promise<RunningServer> {
  return startServer(kind, [
    '-c',
    writeConfig(
      `server_name: LEAF_${kind}\noperator: ${op.jwt}\nresolver: URL("http://127.0.0.1:${jwtPort}/jwt/v1/accounts/")\nsystem_account: ${sys.pub}\n` +
        `leafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${hubLeafPort}", account: ${account} } ] }\n`,
    ),
  ]);
}

describe('leafnodes: an operator-mode remote bound to an account not known yet', () => {
  for (const topo of TOPOLOGIES) {
    it(`${topo.name}: the account is fetched from the URL resolver, messages flow both ways`, async () => {
      const h = await jwtServer();
      const hub = await startHub(topo.hub);
      const leaf = await operatorLeaf(topo.leaf, h.port, leafPort(hub), accA.pub);
      try {
        // No client of A logged in yet: the remote itself made the server fetch it.
        await waitFor('the leaf connection', () => /Leafnode connection created for account: /.test(serverLog(leaf)));
        assert.ok(h.requests.includes(`/jwt/v1/accounts/${accA.pub}`), h.requests.join(' '));
        assert.doesNotMatch(serverLog(leaf), /Unable to lookup account/);
        const hc = await connect({ servers: hub.url });
        const lc = await connect({ servers: leaf.url, authenticator: jwtAuthenticator(userA.jwt, userA.kp.getSeed()) });
        try {
          await interestCrossed(lc, hc, 'op.to.hub');
          await interestCrossed(hc, lc, 'op.to.leaf');
          hc.subscribe('op.rr', { callback: (_e, m) => void m.respond('pong') });
          await hc.flush();
          await interestCrossed(lc, hc, 'op.sync');
          assert.equal(dec.decode((await lc.request('op.rr', 'ping', { timeout: 3000 })).data), 'pong');
        } finally {
          await hc.close();
          await lc.close();
        }
      } finally {
        await leaf.stop();
        await hub.stop();
        h.http.closeAllConnections();
        await new Promise((r) => h.http.close(r));
      }
    });
  }

  it('an account the resolver does not have: the same lookup error on both, and retries', async () => {
    const run = async (kind: ServerKind): Promise<string[]> => {
      const h = await jwtServer();
      const hub = await startHub('tsnats');
      const leaf = await operatorLeaf(kind, h.port, leafPort(hub), gone.pub);
      try {
        await waitFor('two attempts', () => h.requests.filter((r) => r.endsWith(gone.pub)).length >= 2, 15_000);
        await sleep(100);
        return serverLog(leaf)
          .split('\n')
          .filter((l) => l.includes('Unable to lookup account'))
          .map((l) => l.replace(/^.*\[ERR\] /, '').replaceAll(`127.0.0.1:${h.port}`, '<http>'))
          .slice(0, 1);
      } finally {
        await leaf.stop();
        await hub.stop();
        h.http.closeAllConnections();
        await new Promise((r) => h.http.close(r));
      }
    };
    const ref = await run('reference');
    const ts = await run('tsnats');
    assert.deepEqual(ref, [`Unable to lookup account ${gone.pub} for solicited leafnode connection: could not fetch <"http://<http>/jwt/v1/accounts/${gone.pub}">: 404 Not Found`]);
    assert.deepEqual(ts, ref);
  });
});
