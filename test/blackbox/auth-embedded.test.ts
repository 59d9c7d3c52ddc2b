// Black-box tests of security features through the embedding API (the
// server runs in-process): permission changes on reload, users removed or
// moved on reload, TLS certificate reload, handshake_first, the TLS
// connection rate limit, a flood of denied and exported messages across
// accounts, and the lifetime of service-import response mappings.

import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Server, defaultOptions, type Options } from '../../src/index.js';
import type { Logger } from '../../src/index.js';
import type { AccountConfig, UserConfig } from '../../src/config/options.js';
import { connect } from '../helpers/rawclient.js';
import { PONG, connectLine, flush, pub, session } from '../helpers/proto.js';
import { createPKI, type TestPKI } from '../unit/tls/certs.js';

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (lvl: string) => (m: string) => void lines.push(`[${lvl}] ${m}`);
  return { lines, notice: at('INF'), warn: at('WRN'), error: at('ERR'), fatal: at('FTL'), debug: () => {}, trace: () => {}, debugEnabled: false, traceEnabled: false };
}

async function started(opts: Partial<Options>, logger = memoryLogger()): Promise<{ s: Server; log: string[] }> {
  const s = new Server({ host: '127.0.0.1', port: -1, ...opts }, logger);
  await s.start();
  return { s, log: logger.lines };
}

const login = (port: number, user: string, pass = user) => session(port, connectLine({ verbose: false, pedantic: false, user, pass }));

/** options for reload: the running ones with `patch` applied */
function next(s: Server, patch: Partial<Options>): Options {
  return { ...defaultOptions(), ...s.opts, ...patch, port: s.opts.port, host: s.opts.host };
}

/** waits (bounded) until `cond` holds; for state that settles asynchronously */
async function eventually(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('reload: permissions and users', () => {
  const users = (subAllow: string[]): UserConfig[] => [
    { username: 'u', password: 'p', permissions: { subscribe: { allow: subAllow } } },
    { username: 'pub', password: 'pub' },
  ];

  it('subscriptions the new permissions refuse are removed, with an -ERR naming the sid and a notice', async () => {
    const { s, log } = await started({ users: users(['>']) });
    try {
      const sub = await login(s.port, 'u', 'p');
      const p = await login(s.port, 'pub');
      await flush(sub, 'SUB foo.a 1\r\nSUB bar 2\r\nSUB q.x grp 3\r\n');
      s.reload(next(s, { users: users(['foo.>', 'q.x grp']) }));
      const got = await flush(sub);
      assert.equal(got, `-ERR 'Permissions Violation for Subscription to "bar" (sid "2")'\r\n`);
      assert.ok(log.includes('[INF] Removed sub "bar" (sid "2") for User "u" - not authorized'), log.join('\n'));
      await flush(p, pub('bar', 'gone') + pub('foo.a', 'kept') + pub('q.x', 'queue'));
      assert.equal(await flush(sub), 'MSG foo.a 1 4\r\nkept\r\nMSG q.x 3 5\r\nqueue\r\n');
      assert.equal(sub.isClosed, false);
      sub.close();
      p.close();
    } finally {
      await s.shutdown();
    }
  });

  it('a user whose password changed gets an authorization violation; a removed user is closed', async () => {
    const { s } = await started({ users: [{ username: 'a', password: 'x' }, { username: 'b', password: 'y' }, { username: 'c', password: 'z' }] });
    try {
      const a = await login(s.port, 'a', 'x');
      const b = await login(s.port, 'b', 'y');
      const c = await login(s.port, 'c', 'z');
      s.reload(next(s, { users: [{ username: 'a', password: 'new' }, { username: 'c', password: 'z' }] }));
      assert.equal(await a.readUntil('\r\n'), "-ERR 'Authorization Violation'\r\n");
      await a.expectClosed();
      await b.expectClosed();
      assert.equal(await flush(c), '');
      c.close();
    } finally {
      await s.shutdown();
    }
  });

  it('a user moved to another account is closed', async () => {
    const accounts: AccountConfig[] = [
      { name: 'A', users: [], nkeyUsers: [], exports: [], imports: [] },
      { name: 'B', users: [], nkeyUsers: [], exports: [], imports: [] },
    ];
    const { s } = await started({ accounts, users: [{ username: 'u', password: 'p', account: 'A' }] });
    try {
      const u = await login(s.port, 'u', 'p');
      s.reload(next(s, { users: [{ username: 'u', password: 'p', account: 'B' }] }));
      await u.expectClosed();
    } finally {
      await s.shutdown();
    }
  });
});

describe('TLS through the embedding API', () => {
  let pki: TestPKI;
  before(() => {
    pki = createPKI();
  });
  after(() => pki?.cleanup());

  const tlsOpts = (certFile: string, keyFile: string, extra: Partial<NonNullable<Options['tlsConfig']>> = {}): Partial<Options> => ({
    tls: true,
    tlsConfig: { certFile, keyFile, caFile: pki.caFile, verify: false, verifyAndMap: false, insecure: false, timeoutMs: 2000, ...extra },
  });

  /** plain INFO, then TLS; resolves with the server certificate's subject and a PONG round trip */
  async function tlsRoundTrip(port: number, first = false): Promise<{ info: string; subject: string; reply: string }> {
    const raw = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => raw.once('connect', () => r()));
    let info = '';
    if (!first) {
      info = await new Promise<string>((resolve) => {
        let b = '';
        const on = (d: Buffer) => {
          b += d.toString('latin1');
          if (b.includes('\r\n')) {
            raw.off('data', on);
            raw.pause();
            resolve(b);
          }
        };
        raw.on('data', on);
      });
    }
    const sock = tls.connect({ socket: raw, ca: readFileSync(pki.caFile), servername: 'localhost' });
    await new Promise<void>((r, j) => {
      sock.once('secureConnect', () => r());
      sock.once('error', j);
    });
    const subject = sock.getPeerX509Certificate()?.subject ?? '';
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.write(connectLine({ verbose: false }) + 'PING\r\n');
    await eventually(() => text.includes(PONG), 'PONG over TLS');
    sock.destroy();
    if (first) info = text.slice(0, text.indexOf('\r\n') + 2);
    return { info, subject, reply: first ? text.slice(info.length) : text };
  }

  it('reloadTLS(): new connections get the new certificate, established ones keep working', async () => {
    const second = pki.issue('server2', { subject: '/CN=localhost/O=second', san: 'DNS:localhost,IP:127.0.0.1' });
    const { s } = await started(tlsOpts(pki.server.cert, pki.server.key));
    try {
      const first = await tlsRoundTrip(s.port);
      assert.match(first.subject, /CN=localhost/);
      assert.doesNotMatch(first.subject, /O=second/);
      s.opts = { ...s.opts, tlsConfig: { ...s.opts.tlsConfig!, certFile: second.cert, keyFile: second.key } };
      s.reloadTLS();
      const after = await tlsRoundTrip(s.port);
      assert.match(after.subject, /O=second/);
      assert.equal(after.reply, PONG);
    } finally {
      await s.shutdown();
    }
  });

  it('reloadTLS() with unreadable files throws and keeps the previous setup', async () => {
    const { s } = await started(tlsOpts(pki.server.cert, pki.server.key));
    try {
      const good = s.opts.tlsConfig!;
      s.opts = { ...s.opts, tlsConfig: { ...good, certFile: '/nonexistent/cert.pem' } };
      assert.throws(() => s.reloadTLS(), /no such file or directory/);
      s.opts = { ...s.opts, tlsConfig: good };
      assert.equal((await tlsRoundTrip(s.port)).reply, PONG);
    } finally {
      await s.shutdown();
    }
  });

  it('handshake_first: TLS from the first byte, the INFO comes over TLS', async () => {
    const { s } = await started(tlsOpts(pki.server.cert, pki.server.key, { handshakeFirst: true }));
    try {
      const r = await tlsRoundTrip(s.port, true);
      assert.match(r.info, /^INFO \{.*"tls_required":true.*\} \r\n$/);
      assert.equal(r.reply, PONG);
    } finally {
      await s.shutdown();
    }
  });

  it('the auth timeout defaults to the TLS timeout plus a second', async () => {
    const s = new Server({ host: '127.0.0.1', port: -1, ...tlsOpts(pki.server.cert, pki.server.key, { timeoutMs: 3000 }) });
    assert.equal(s.authTimeoutMs(), 4000);
    const t = new Server({ host: '127.0.0.1', port: -1, ...tlsOpts(pki.server.cert, pki.server.key), authTimeoutMs: 500, authTimeoutSet: true });
    assert.equal(t.authTimeoutMs(), 500);
    assert.equal(new Server({}).authTimeoutMs(), 2000);
  });

  it('connection_rate_limit: handshakes beyond the rate are refused with the reference\'s -ERR', async () => {
    const { s } = await started(tlsOpts(pki.server.cert, pki.server.key, { rateLimit: 1 }));
    try {
      const clients = await Promise.all([0, 1, 2, 3].map(() => connect(s.port)));
      const seen = await Promise.all(
        clients.map(async (c) => {
          await c.readUntil('\r\n');
          const closed = await c.waitClosed(3000);
          return closed ? c.peek().toString('latin1') : 'open';
        }),
      );
      for (const c of clients) c.close();
      assert.ok(seen.includes("-ERR 'Connection throttling is active. Please try again later.'\r\n"), JSON.stringify(seen));
    } finally {
      await s.shutdown();
    }
  });

  it('a peer certificate is recorded on the client for monitoring', async () => {
    const { s } = await started(tlsOpts(pki.server.cert, pki.server.key, { verify: true }));
    try {
      const cli = pki.issue('mon', { subject: '/CN=monitored' });
      const raw = net.connect(s.port, '127.0.0.1');
      await new Promise<void>((r) => raw.once('data', () => r()));
      const sock = tls.connect({ socket: raw, ca: readFileSync(pki.caFile), servername: 'localhost', cert: readFileSync(cli.cert), key: readFileSync(cli.key) });
      await new Promise<void>((r) => sock.once('secureConnect', () => r()));
      await eventually(() => [...s.clients.values()].some((c) => c.tlsPeerCertificate !== null), 'the handshake on the server side');
      const c = [...s.clients.values()][0]!;
      assert.equal(c.tlsPeerCertificate!.fingerprint256, new X509Certificate(readFileSync(cli.cert)).fingerprint256);
      assert.match(c.tlsVersion, /^1\.[23]$/);
      assert.match(c.tlsCipher, /^TLS_/);
      sock.destroy();
    } finally {
      await s.shutdown();
    }
  });
});

describe('accounts under load', () => {
  const accounts: AccountConfig[] = [
    { name: 'A', users: [], nkeyUsers: [], exports: [{ stream: 'public.>' }, { service: 'svc', responseType: 'stream', responseThresholdMs: 200 }], imports: [] },
    {
      name: 'B',
      users: [],
      nkeyUsers: [],
      exports: [],
      imports: [{ stream: { account: 'A', subject: 'public.>' } }, { service: { account: 'A', subject: 'svc' }, to: 'svc' }],
    },
    { name: 'C', users: [], nkeyUsers: [], exports: [], imports: [] },
  ];
  const users: UserConfig[] = [
    { username: 'a', password: 'a', account: 'A' },
    { username: 'b', password: 'b', account: 'B', permissions: { subscribe: { deny: ['public.secret'] } } },
    { username: 'c', password: 'c', account: 'C' },
  ];

  it('a flood on denied and exported subjects: nothing passes a deny rule or reaches a non-importing account', async () => {
    const { s } = await started({ accounts, users });
    try {
      const a = await login(s.port, 'a');
      const b = await login(s.port, 'b');
      const c = await login(s.port, 'c');
      assert.equal(await flush(b, 'SUB public.> 1\r\nSUB > 2\r\nSUB public.secret 3\r\n'), `-ERR 'Permissions Violation for Subscription to "public.secret"'\r\n`);
      await flush(c, 'SUB > 1\r\n');
      const N = 2000;
      let burst = '';
      for (let i = 0; i < N; i++) burst += pub(i % 2 === 0 ? 'public.secret' : 'public.ok', String(i));
      await flush(a, burst);
      const gotB = await flush(b);
      const gotC = await flush(c);
      const subjects = new Set([...gotB.matchAll(/^MSG (\S+) /gm)].map((m) => m[1]));
      assert.deepEqual([...subjects], ['public.ok']);
      assert.equal((gotB.match(/^MSG /gm) ?? []).length, N);
      assert.equal(gotC, '');
      for (const x of [a, b, c]) x.close();
    } finally {
      await s.shutdown();
    }
  });

  it('pending responses: dropped when the requester stops listening, and expire after the response threshold', async () => {
    const { s } = await started({ accounts, users });
    try {
      const A = s.lookupAccount('A')!;
      const B = s.lookupAccount('B')!;
      const a = await login(s.port, 'a');
      const b = await login(s.port, 'b');
      await flush(a, 'SUB svc 1\r\n');
      await flush(b, 'SUB inbox.1 9\r\nSUB inbox.2 10\r\n' + pub('svc', 'q1', 'inbox.1') + pub('svc', 'q2', 'inbox.2'));
      await flush(a);
      assert.equal(A.numPendingResponses, 2);
      assert.equal(B.numPendingReverseResponses, 2);
      await flush(b, 'UNSUB 9\r\n');
      assert.equal(A.numPendingResponses, 1);
      assert.equal(B.numPendingReverseResponses, 1);
      await eventually(() => A.numPendingResponses === 0, 'the stream response to expire');
      assert.equal(B.numPendingReverseResponses, 0);
      a.close();
      b.close();
    } finally {
      await s.shutdown();
    }
  });

  it('/accountz data: exports, imports and pending responses', async () => {
    const { s } = await started({ accounts, users });
    try {
      const A = s.lookupAccount('A')!;
      const B = s.lookupAccount('B')!;
      assert.deepEqual(
        A.exportsInfo().map((e) => [e.type, e.subject, e.responseType ?? null]),
        [
          ['service', 'svc', 'Stream'],
          ['stream', 'public.>', null],
        ],
      );
      // the configured imports, then the system account's imports every
      // account gets (its own CONNZ/STATZ and USER.INFO, as the reference)
      assert.deepEqual(
        B.importsInfo().map((i) => [i.type, i.subject, i.account]),
        [
          ['stream', 'public.>', 'A'],
          ['service', 'svc', 'A'],
          ['service', '$SYS.REQ.ACCOUNT.PING.CONNZ', '$SYS'],
          ['service', '$SYS.REQ.SERVER.PING.CONNZ', '$SYS'],
          ['service', '$SYS.REQ.ACCOUNT.PING.STATZ', '$SYS'],
          ['service', '$SYS.REQ.USER.INFO', '$SYS'],
        ],
      );
      assert.equal(s.systemAccount?.name, '$SYS');
      assert.deepEqual(A.responsesInfo(), {});
    } finally {
      await s.shutdown();
    }
  });

  it('an import the exporter does not allow is refused at construction', () => {
    assert.throws(
      () =>
        new Server({
          accounts: [
            { name: 'X', users: [], nkeyUsers: [], exports: [{ stream: 'x.>', accounts: ['Y'] }], imports: [] },
            { name: 'Y', users: [], nkeyUsers: [], exports: [], imports: [] },
            { name: 'Z', users: [], nkeyUsers: [], exports: [], imports: [{ stream: { account: 'X', subject: 'x.>' } }] },
          ],
        }),
      /Error adding stream import "x\.>": stream import not authorized/,
    );
  });
});


