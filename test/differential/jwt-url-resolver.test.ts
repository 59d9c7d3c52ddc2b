// Differential tests of the URL account resolver of operator mode
// (`resolver: URL("http://host:port/jwt/v1/accounts/")`): account JWTs are
// fetched over HTTP when first needed — a user's login, the accounts an
// account imports from, the system account at startup — and kept. Each
// server (tsnats, nats-server 2.9.10) gets its own local HTTP server with
// the same JWTs; the logins' answers, the imports, the HTTP requests made,
// and the lookup errors logged (fetch refused with 404, body not a JWT,
// unreachable resolver, imports from an account that cannot be fetched)
// must be the same.

import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { logLines, referenceOnly, startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { sleep } from '../helpers/rawclient.js';
import { Operator, login, user, type AccountFixture, type UserFixture } from '../helpers/jwt-fixture.js';

const PONG = 'PONG\r\n';
const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

const op = await Operator.create();
const sys = await op.account('SYS');
const accA = await op.account('A');
const accD = await op.account('D', { exports: [{ name: 'ev', subject: 'ev.>', type: 'stream' }] });
const accC = await op.account('C', { imports: [{ name: 'ev', subject: 'ev.>', account: accD.pub, type: 'stream' }] });
const gone = await op.account('GONE'); // never served
const accE = await op.account('E', { imports: [{ name: 'x', subject: 'x.>', account: gone.pub, type: 'stream' }] });
const garbled = await op.account('GARBLED'); // served as a body that is not a JWT
const untrusted = await op.account('UNTRUSTED', {}, { issuer: (await Operator.create()).signer });

const served = new Map<string, string>([
  [sys.pub, sys.jwt],
  [accA.pub, accA.jwt],
  [accC.pub, accC.jwt],
  [accD.pub, accD.jwt],
  [accE.pub, accE.jwt],
  [garbled.pub, 'this is not a JWT'],
  [untrusted.pub, untrusted.jwt],
]);

const users = {
  a: await user(accA, 'a'),
  c: await user(accC, 'c'),
  d: await user(accD, 'd'),
  e: await user(accE, 'e'),
  gone: await user(gone, 'gone'),
  garbled: await user(garbled, 'g'),
  untrusted: await user(untrusted, 'u'),
};

interface JwtHttp {
  http: HttpServer;
  port: number;
  /** request paths, in order */
  requests: string[];
}

async function jwtServer(): Promise<JwtHttp> {
  const requests: string[] = [];
  const http = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(`${req.method} ${path}`);
    // the base URL answers: the reference checks "anyone home" at startup
    if (path === '/jwt/v1/accounts/') {
      res.writeHead(200).end('');
      return;
    }
    const m = /^\/jwt\/v1\/accounts\/([A-Z0-9]+)$/.exec(path);
    const jwt = m === null ? undefined : served.get(m[1]!);
    if (jwt === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwt' }).end(jwt);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { http, port: (http.address() as AddressInfo).port, requests };
}

function config(url: string, systemAccount: AccountFixture | null): string {
  return [`operator: ${op.jwt}`, `resolver: URL("${url}")`, ...(systemAccount !== null ? [`system_account: ${systemAccount.pub}`] : []), ''].join('\n');
}

/** Per-server run: its own HTTP server, the scenario, the HTTP requests seen. */
async function eachServer<T>(
  systemAccount: AccountFixture | null,
  scenario: (s: RunningServer, http: JwtHttp) => Promise<T>,
): Promise<{ ref: T; ts: T }> {
  const run = async (kind: ServerKind): Promise<T> => {
    const h = await jwtServer();
    let s: RunningServer | null = null;
    try {
      s = await startServer(kind, ['-c', writeConfig(config(`http://127.0.0.1:${h.port}/jwt/v1/accounts/`, systemAccount)), '-D']);
      return await scenario(s, h);
    } finally {
      await s?.stop();
      h.http.closeAllConnections();
      await new Promise((r) => h.http.close(r));
    }
  };
  const ref = await run('reference');
  if (referenceOnly()) return { ref, ts: ref };
  const ts = await run('tsnats');
  assert.deepEqual(ts, ref, `results differ\n--- reference ---\n${JSON.stringify(ref, null, 1)}\n--- tsnats ---\n${JSON.stringify(ts, null, 1)}`);
  return { ref, ts };
}

/** Log lines (debug included) about account lookups, addresses masked. */
function lookupLines(s: RunningServer, from: number, port: number): string[] {
  return logLines(s, from, /Account JWT lookup error|Can't locate account|could not fetch/).map((l) => l.replaceAll(`127.0.0.1:${port}`, '<http>'));
}

async function answer(s: RunningServer, u: UserFixture): Promise<string> {
  const r = await login(s.port, u);
  if (r.answer.startsWith('-ERR')) await r.client.waitClosed(5000);
  r.client.close();
  return r.answer;
}

const masked = (h: JwtHttp): string[] =>
  h.requests.map((r) => {
    for (const [name, a] of Object.entries({ sys, accA, accC, accD, accE, gone, garbled, untrusted })) r = r.replace(a.pub, `<${name}>`);
    return r;
  });

describe('operator mode: URL account resolver', () => {
  it('accounts fetched on first use and kept; imports fetch their exporters; failures refuse the login', async () => {
    const { ref } = await eachServer(sys, async (s, h) => {
      const atStart = masked(h);
      const from = s.stderr().length;
      const a1 = await answer(s, users.a);
      const a2 = await answer(s, users.a);
      const afterA = masked(h).slice(atStart.length);
      // C imports from D: logging in a user of C fetches C, then D
      const c = await login(s.port, users.c);
      const d = await login(s.port, users.d);
      await c.client.send('SUB ev.> 1\r\nPING\r\n');
      await c.client.readUntil(PONG);
      await d.client.send('PUB ev.x 2\r\nhi\r\nPING\r\n');
      await d.client.readUntil(PONG);
      await c.client.send('PING\r\n');
      const got = (await c.client.readUntil(/PONG\r\n$/)).replace(/PONG\r\n$/, '');
      c.client.close();
      d.client.close();
      const refused = {
        gone: await answer(s, users.gone),
        garbled: await answer(s, users.garbled),
        untrusted: await answer(s, users.untrusted),
      };
      const e = await answer(s, users.e);
      await sleep(200);
      return { atStart, a1, a2, afterA, c: c.answer, d: d.answer, got, refused, e, requests: masked(h), log: lookupLines(s, from, h.port) };
    });
    // the base URL ("anyone home"), then the system account twice (a direct fetch, then its registration)
    assert.deepEqual(ref.atStart, ['GET /jwt/v1/accounts/', 'GET /jwt/v1/accounts/<sys>', 'GET /jwt/v1/accounts/<sys>']);
    assert.deepEqual([ref.a1, ref.a2, ref.c, ref.d, ref.e], [PONG, PONG, PONG, PONG, PONG]);
    assert.deepEqual(ref.afterA, ['GET /jwt/v1/accounts/<accA>']);
    assert.equal(ref.got, 'MSG ev.x 1 2\r\nhi\r\n');
    assert.deepEqual(ref.refused, { gone: AUTH_VIOLATION, garbled: AUTH_VIOLATION, untrusted: AUTH_VIOLATION });
    assert.deepEqual(ref.requests.slice(3), [
      'GET /jwt/v1/accounts/<accA>',
      'GET /jwt/v1/accounts/<accC>',
      'GET /jwt/v1/accounts/<accD>',
      'GET /jwt/v1/accounts/<gone>',
      'GET /jwt/v1/accounts/<garbled>',
      'GET /jwt/v1/accounts/<untrusted>',
      'GET /jwt/v1/accounts/<accE>',
      'GET /jwt/v1/accounts/<gone>',
    ]);
    const notFound = `could not fetch <"http://<http>/jwt/v1/accounts/${gone.pub}">: 404 Not Found`;
    assert.deepEqual(ref.log, [
      `[WRN] Account fetch failed: ${notFound}`,
      `[DBG] <client> - Account JWT lookup error: ${notFound}`,
      '[DBG] <client> - Account JWT lookup error: expected 3 chunks',
      '[DBG] <client> - Account JWT lookup error: account validation failed',
      `[WRN] Account fetch failed: ${notFound}`,
      `[ERR] Can't locate account [${gone.pub}] for import of [x.>] stream (err=${notFound})`,
    ]);
  });

  it('a system account the resolver does not serve: the server starts with an empty one', async () => {
    const { ref } = await eachServer(gone, async (s, h) => {
      const atStart = masked(h);
      const a = await answer(s, users.a);
      return { atStart, a, requests: masked(h) };
    });
    assert.deepEqual(ref, {
      atStart: ['GET /jwt/v1/accounts/', 'GET /jwt/v1/accounts/<gone>'],
      a: PONG,
      requests: ['GET /jwt/v1/accounts/', 'GET /jwt/v1/accounts/<gone>', 'GET /jwt/v1/accounts/<accA>'],
    });
  });

  it('resolver_preload with a URL resolver: the server does not start', async () => {
    const run = async (kind: ServerKind) => {
      const h = await jwtServer();
      try {
        const text = config(`http://127.0.0.1:${h.port}/jwt/v1/accounts/`, null) + `resolver_preload: {\n  ${accA.pub}: ${accA.jwt}\n}\n`;
        const err = await startServer(kind, ['-c', writeConfig(text)]).then(
          async (srv) => {
            await srv.stop();
            return 'started';
          },
          (e: Error) => e.message,
        );
        return { line: /--- stderr ---\n(.*)/.exec(err)?.[1] ?? err, exited: /exited \(code 1\)/.test(err), requests: h.requests.length };
      } finally {
        h.http.closeAllConnections();
        h.http.close();
      }
    };
    const ref = await run('reference');
    assert.deepEqual(ref, { line: 'nats-server: resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR', exited: true, requests: 0 });
    if (!referenceOnly()) assert.deepEqual(await run('tsnats'), ref);
  });

  for (const [name, status] of [
    ['an unreachable resolver', 0],
    ['a resolver whose base URL answers 404', 404],
  ] as const) {
    it(`${name}: the server does not start`, async () => {
      const run = async (kind: ServerKind) => {
        const h = await jwtServer();
        const port = h.port;
        if (status === 0) await new Promise((r) => h.http.close(r));
        const url = status === 0 ? `http://127.0.0.1:${port}/jwt/v1/accounts/` : `http://127.0.0.1:${port}/other/`;
        try {
          const err = await startServer(kind, ['-c', writeConfig(config(url, null))]).then(
            async (srv) => {
              await srv.stop();
              return 'started';
            },
            (e: Error) => e.message,
          );
          return { line: (/--- stderr ---\n(.*)/.exec(err)?.[1] ?? err).replaceAll(`127.0.0.1:${port}`, '<http>'), exited: /exited \(code 1\)/.test(err) };
        } finally {
          h.http.closeAllConnections();
          h.http.close();
        }
      };
      const ref = await run('reference');
      assert.deepEqual(ref, {
        line:
          status === 0
            ? 'nats-server: could not fetch <"http://<http>/jwt/v1/accounts/">: Get "http://<http>/jwt/v1/accounts/": dial tcp <http>: connect: connection refused'
            : 'nats-server: could not fetch <"http://<http>/other/">: 404 Not Found',
        exited: true,
      });
      if (!referenceOnly()) assert.deepEqual(await run('tsnats'), ref);
    });
  }
});
