// Differential tests of operator mode (decentralized JWT auth): the same
// operator config (inline operator JWT, resolver MEMORY, resolver_preload)
// goes to the reference nats-server and tsnats; a raw TCP client signs the
// INFO nonce with the user seed and both servers must answer the same way.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { createAccount, encodeAccount, encodeUser } from '@nats-io/jwt';
import { differentialScenario } from '../helpers/diff.js';
import { errLines, startBoth, writeConfig, type RunningServer, type ServerPair } from '../helpers/servers.js';
import { sleep } from '../helpers/rawclient.js';
import { NOW, Operator, login, operatorConfig, user, validationIssueBlocks, type AccountFixture, type UserFixture } from '../helpers/jwt-fixture.js';

const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";
const PONG = 'PONG\r\n';

const op = await Operator.create();
const sys = await op.account('SYS');
const accA = await op.account('A', {
  exports: [
    { name: 'events', subject: 'events.>', type: 'stream' },
    { name: 'echo', subject: 'echo', type: 'service' },
  ],
});
const accB = await op.account('B', {
  imports: [
    { name: 'events', subject: 'events.>', account: accA.pub, type: 'stream' },
    { name: 'echo', subject: 'echo', account: accA.pub, type: 'service' },
  ],
});
const accOne = await op.account('ONE', { limits: { conn: 1 } });
// an account with a scoped signing key: its users get the template's permissions and limits
const scopedKp = createAccount();
const accScoped = await op.account('SCOPED', {
  signing_keys: [
    {
      kind: 'user_scope',
      key: scopedKp.getPublicKey(),
      role: 'limited',
      template: { pub: { allow: ['scoped.>'], deny: [] }, sub: { allow: ['scoped.>'], deny: [] }, subs: -1, payload: -1, data: -1 },
    },
  ],
});
const accLimited = await op.account('LIMITED', { limits: { subs: 2, payload: 10 } });
// an account JWT without limits: every limit is 0 for the reference
const noLimitsKp = createAccount();
const accNoLimits: AccountFixture = {
  kp: noLimitsKp,
  pub: noLimitsKp.getPublicKey(),
  signer: createAccount(),
  jwt: await encodeAccount('NOLIMITS', noLimitsKp, {}, { signer: op.signer }),
};
const accNoBearer = await op.account('NOBEARER', { limits: { disallow_bearer: true } });
const accExpired = await op.account('EXPIRED', {}, { exp: NOW() - 10 });
const untrusted = await op.account('UNTRUSTED', {}, { issuer: (await Operator.create()).signer });
const unknown = await op.account('UNKNOWN');
const revokedKp = createUser();
const accRevoking = await op.account('REVOKING', { revocations: { [revokedKp.getPublicKey()]: NOW() + 3600 } });

const users = {
  a: await user(accA, 'a'),
  aSigner: await user(accA, 'a-signer', {}, { viaSigner: true }),
  b: await user(accB, 'b'),
  perms: await user(accA, 'perms', { pub: { allow: ['allowed.>'], deny: [] }, sub: { allow: [], deny: ['secret.>'] } }),
  expired: await user(accA, 'expired', {}, { exp: NOW() - 10 }),
  bearer: await user(accA, 'bearer', { bearer_token: true }),
  bearerRefused: await user(accNoBearer, 'bearer', { bearer_token: true }),
  wsOnly: await user(accA, 'ws-only', { allowed_connection_types: ['WEBSOCKET'] }),
  standard: await user(accA, 'standard', { allowed_connection_types: ['STANDARD'] }),
  srcOk: await user(accA, 'src-ok', { src: ['127.0.0.0/8'] }),
  srcBad: await user(accA, 'src-bad', { src: ['10.0.0.0/8', '192.168.1.0/24'] }),
  ofExpiredAccount: await user(accExpired, 'x'),
  ofUntrusted: await user(untrusted, 'x'),
  ofUnknown: await user(unknown, 'x'),
  revoked: await user(accRevoking, 'revoked', {}, { kp: revokedKp }),
  notRevoked: await user(accRevoking, 'fine'),
  one: await user(accOne, 'one'),
  limited: await user(accLimited, 'limited'),
  userLimited: await user(accA, 'user-limited', { subs: 1, payload: 4 }),
  ofNoLimits: await user(accNoLimits, 'x'),
  scoped: await (async () => {
    const kp = createUser();
    const jwt = await encodeUser('scoped', kp, accScoped.kp, {}, { signer: scopedKp, scopedUser: true });
    return { kp, pub: kp.getPublicKey(), jwt };
  })(),
  scopedWithPerms: await (async () => {
    const kp = createUser();
    const jwt = await encodeUser('scoped-perms', kp, accScoped.kp, { pub: { allow: ['x'] } }, { signer: scopedKp, scopedUser: true });
    return { kp, pub: kp.getPublicKey(), jwt };
  })(),
};

const config = operatorConfig(op, [sys, accA, accB, accOne, accScoped, accLimited, accNoLimits, accNoBearer, accExpired, untrusted, accRevoking], sys);

let pair: ServerPair;
before(async () => {
  pair = await startBoth(['-c', writeConfig(config)]);
});
after(async () => {
  await pair?.stop();
});

/** What a login looks like from the client: the answer, closed, and INFO's auth fields. */
async function outcome(server: RunningServer, u: UserFixture | null, opts: Parameters<typeof login>[2] = {}) {
  const r = await login(server.port, u, opts);
  const closed = r.answer.startsWith('-ERR') ? await r.client.waitClosed(5000) : r.client.isClosed;
  r.client.close();
  return {
    answer: r.answer,
    closed,
    authRequired: r.info.auth_required,
    nonceLength: String(r.info.nonce ?? '').length,
  };
}

describe('operator mode: user JWT authentication', () => {
  const cases: [string, () => Promise<UserFixture | null>, Parameters<typeof login>[2], string][] = [
    ['a user issued by its account', async () => users.a, {}, PONG],
    ["a user issued by the account's signing key", async () => users.aSigner, {}, PONG],
    ['a user with allowed_connection_types STANDARD', async () => users.standard, {}, PONG],
    ['a bearer token user without a signature', async () => users.bearer, { sig: '' }, PONG],
    ['no JWT at all', async () => null, {}, AUTH_VIOLATION],
    ['a signature by another key', async () => users.a, { signWith: createUser() }, AUTH_VIOLATION],
    ['a signature over another nonce', async () => users.a, { nonce: 'not-the-nonce' }, AUTH_VIOLATION],
    ['an empty signature', async () => users.a, { sig: '' }, AUTH_VIOLATION],
    ['a signature that is not base64', async () => users.a, { sig: '!!!' }, AUTH_VIOLATION],
    ['an expired user JWT', async () => users.expired, {}, AUTH_VIOLATION],
    ['a user of an expired account', async () => users.ofExpiredAccount, {}, AUTH_VIOLATION],
    ['a user of an account signed by an untrusted operator', async () => users.ofUntrusted, {}, AUTH_VIOLATION],
    ['a user of an account the resolver does not know', async () => users.ofUnknown, {}, AUTH_VIOLATION],
    ['a revoked user', async () => users.revoked, {}, AUTH_VIOLATION],
    ['a user of the revoking account that is not revoked', async () => users.notRevoked, {}, PONG],
    ['a bearer token where the account disallows them', async () => users.bearerRefused, { sig: '' }, AUTH_VIOLATION],
    ['a user whose src CIDRs include the client', async () => users.srcOk, {}, PONG],
    ['a user whose src CIDRs exclude the client', async () => users.srcBad, {}, AUTH_VIOLATION],
    ['a websocket-only user over TCP', async () => users.wsOnly, {}, AUTH_VIOLATION],
    ['a JWT that is not a JWT', async () => ({ ...users.a, jwt: 'eyJhbGciOi.bogus.x' }), {}, AUTH_VIOLATION],
    ['an account JWT instead of a user JWT', async () => ({ ...users.a, jwt: accA.jwt }), {}, AUTH_VIOLATION],
  ];
  for (const [name, u, opts, expected] of cases) {
    it(`${name}: ${expected.trim()}`, async (t) => {
      const fixture = await u();
      const { ref } = await differentialScenario(t, (s) => outcome(s, fixture, opts), { servers: pair });
      assert.equal(ref.answer, expected);
      assert.equal(ref.closed, expected !== PONG);
      assert.equal(ref.authRequired, true);
      assert.equal(ref.nonceLength, 15);
    });
  }

  it('a failed login logs "authentication error"', async () => {
    for (const s of [pair.reference, pair.tsnats]) {
      const before = s.stderr().length;
      const r = await outcome(s, users.expired);
      assert.equal(r.answer, AUTH_VIOLATION);
      await sleep(100);
      assert.match(s.stderr().slice(before), /\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - authentication error\n/, s.kind);
    }
  });
});

describe('operator mode: log lines of refused logins', () => {
  it('a src CIDR mismatch logs "Bad src Ip" before the authentication error', async () => {
    const logs: string[][] = [];
    for (const s of [pair.reference, pair.tsnats]) {
      const from = s.stderr().length;
      const r = await login(s.port, users.srcBad);
      assert.equal(r.answer, AUTH_VIOLATION);
      await r.client.waitClosed(5000);
      await sleep(100);
      logs.push(errLines(s, from));
    }
    assert.deepEqual(logs[1], logs[0]);
    assert.deepEqual(logs[0], ['[ERR] <client> - Bad src Ip 127.0.0.1', '[ERR] <client> - authentication error']);
  });
});

describe('operator mode: what a JWT user may do', () => {
  it('permissions from the user JWT: publish allow, subscribe deny', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const r = await login(s.port, users.perms);
        assert.equal(r.answer, PONG);
        await r.client.send('PUB allowed.x 1\r\na\r\nPUB other 1\r\nb\r\nSUB secret.x 1\r\nSUB ok 2\r\nPING\r\n');
        const text = await r.client.readUntil(/PONG\r\n/, 10_000);
        r.client.close();
        return text;
      },
      { servers: pair },
    );
    assert.equal(
      ref,
      `-ERR 'Permissions Violation for Publish to "other"'\r\n-ERR 'Permissions Violation for Subscription to "secret.x"'\r\nPONG\r\n`,
    );
  });

  it('a scoped signing key: the template permissions apply; a scoped user with its own permissions is refused', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const r = await login(s.port, users.scoped);
        assert.equal(r.answer, PONG);
        await r.client.send('PUB scoped.a 1\r\na\r\nPUB other 1\r\nb\r\nSUB other 1\r\nPING\r\n');
        const text = await r.client.readUntil(/PONG\r\n/, 10_000);
        r.client.close();
        const bad = await login(s.port, users.scopedWithPerms);
        bad.client.close();
        return { text, bad: bad.answer };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, {
      text: `-ERR 'Permissions Violation for Publish to "other"'\r\n-ERR 'Permissions Violation for Subscription to "other"'\r\nPONG\r\n`,
      bad: AUTH_VIOLATION,
    });
  });

  it('a stream import and a service import from the account claims', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const a = await login(s.port, users.a);
        const b = await login(s.port, users.b);
        assert.equal(a.answer + b.answer, PONG + PONG);
        await a.client.send('SUB echo 1\r\nPING\r\n');
        await a.client.readUntil(PONG);
        await b.client.send('SUB events.> 1\r\nSUB _INBOX.r 2\r\nPING\r\n');
        await b.client.readUntil(PONG);
        await a.client.send('PUB events.one 2\r\nhi\r\nPUB private 1\r\nx\r\nPING\r\n');
        await a.client.readUntil(PONG);
        await b.client.send('PUB echo _INBOX.r 3\r\nreq\r\nPING\r\n');
        const req = await a.client.readUntil(/MSG echo 1 \S+ 3\r\nreq\r\n/, 10_000);
        const reply = /MSG echo 1 (\S+) 3/.exec(req)![1]!;
        await a.client.send(`PUB ${reply} 4\r\nresp\r\n`);
        const got = await b.client.readUntil(/MSG _INBOX\.r 2 4\r\nresp\r\n/, 10_000);
        a.client.close();
        b.client.close();
        return got.replace(/\r\nPONG\r\n/g, '\r\n');
      },
      { servers: pair },
    );
    assert.equal(ref, 'MSG events.one 1 2\r\nhi\r\nMSG _INBOX.r 2 4\r\nresp\r\n');
  });

  it('violations are logged for the JWT user ("JWT User" and its public key)', async () => {
    const logs: string[][] = [];
    for (const s of [pair.reference, pair.tsnats]) {
      const from = s.stderr().length;
      const r = await login(s.port, users.perms);
      assert.equal(r.answer, PONG);
      await r.client.send('PUB nope 1\r\nx\r\nSUB secret.y 9\r\nPING\r\n');
      await r.client.readUntil(/PONG\r\n/, 10_000);
      r.client.close();
      await sleep(100);
      logs.push(errLines(s, from));
    }
    assert.deepEqual(logs[1], logs[0]);
    assert.deepEqual(logs[0], [
      `[ERR] <client> - Publish Violation - JWT User "${users.perms.pub}", Subject "nope"`,
      `[ERR] <client> - Subscription Violation - JWT User "${users.perms.pub}", Subject "secret.y", SID 9`,
    ]);
  });

  it('startup warns about preloaded accounts with validation issues (server.go checkResolvePreloads)', () => {
    // blocks of "Account [X] has validation issues:" and its "  - issue" lines, in the preload map's order (random in Go)
    const blocks = [pair.reference, pair.tsnats].map((s) => validationIssueBlocks(s.stderr()));
    assert.deepEqual(blocks[1], blocks[0]);
    assert.deepEqual(blocks[0], [`Account [${accExpired.pub}] has validation issues:\n  - claim is expired`]);
  });

  it('startup without a system account: "Trusted Operators should utilize a System Account"', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => s.stderr().split('\n').filter((l) => l.includes('[WRN]')).map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '')),
      { config: operatorConfig(op, [accA]) },
    );
    assert.deepEqual(ref, ['[WRN] Trusted Operators should utilize a System Account']);
  });

  it('startup logs the trusted operator', () => {
    const lines = [pair.reference, pair.tsnats].map((s) =>
      s
        .stderr()
        .split('\n')
        .filter((l) => /\[INF\] (Trusted Operators|  (System|Operator|Issued|Expires))/.test(l))
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '')),
    );
    assert.deepEqual(lines[1], lines[0]);
    assert.equal(lines[0]![0], '[INF] Trusted Operators');
    assert.equal(lines[0]![2], '[INF]   Operator: "test-operator"');
  });

  for (const [name, u, expectedSubs, big] of [
    ['account limits (subs 2, payload 10)', () => users.limited, 2, 'x'.repeat(11)],
    ['user JWT limits (subs 1, payload 4)', () => users.userLimited, 1, 'x'.repeat(5)],
  ] as const) {
    it(`${name}: maximum subscriptions exceeded, Maximum Payload Violation`, async (t) => {
      const { ref } = await differentialScenario(
        t,
        async (s) => {
          const r = await login(s.port, u());
          assert.equal(r.answer, PONG);
          await r.client.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPUB a 1\r\nx\r\nPING\r\n');
          const subs = await r.client.readUntil(/PONG\r\n/, 10_000);
          await r.client.send(`PUB a ${big.length}\r\n${big}\r\nPING\r\n`);
          let err = '';
          try {
            err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 10_000);
          } catch {
            err = 'no -ERR';
          }
          const closed = await r.client.waitClosed(5000);
          r.client.close();
          return { subs, err, closed };
        },
        { servers: pair },
      );
      const subErrs = (ref.subs.match(/maximum subscriptions exceeded/g) ?? []).length;
      assert.equal(subErrs, 3 - expectedSubs);
      assert.equal(ref.err, "-ERR 'Maximum Payload Violation'\r\n");
      assert.equal(ref.closed, true);
    });
  }

  it('an account JWT without limits allows no connection', async (t) => {
    const { ref } = await differentialScenario(t, async (s) => {
      const r = await login(s.port, users.ofNoLimits);
      r.client.close();
      return r.answer;
    }, { servers: pair });
    assert.equal(ref, "-ERR 'maximum account active connections exceeded'\r\n");
  });

  it("the account's connection limit: maximum account active connections exceeded", async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const first = await login(s.port, users.one);
        const second = await login(s.port, users.one);
        const closed = await second.client.waitClosed(5000);
        first.client.close();
        second.client.close();
        return { first: first.answer, second: second.answer, closed };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, { first: PONG, second: "-ERR 'maximum account active connections exceeded'\r\n", closed: true });
  });
});

describe('operator mode: connect-time windows (times, times_location)', () => {
  const hms = (offsetSec: number): string => new Date(Date.now() + offsetSec * 1000).toISOString().slice(11, 19);
  const nearMidnight = (): boolean => {
    const d = new Date();
    const sec = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds();
    return sec < 900 || sec > 86_400 - 900;
  };

  it('inside a window: PONG; outside every window: "Outside connect times" and Authorization Violation', async (t) => {
    if (nearMidnight()) return t.skip('windows would wrap around midnight UTC');
    const inside = await user(accA, 'inside', { times: [{ start: hms(3600), end: hms(7200) }, { start: hms(-600), end: hms(600) }], times_location: 'UTC' } as never);
    const outside = await user(accA, 'outside', { times: [{ start: hms(600), end: hms(900) }], times_location: 'UTC' } as never);
    const badZone = await user(accA, 'bad-zone', { times: [{ start: hms(-600), end: hms(600) }], times_location: 'Not/AZone' } as never);
    const logs: string[][] = [];
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const out = { inside: await outcome(s, inside), outside: await outcome(s, outside), badZone: await outcome(s, badZone) };
        await sleep(100);
        logs.push(errLines(s, from));
        return out;
      },
      { servers: pair },
    );
    assert.equal(ref.inside.answer, PONG);
    assert.equal(ref.outside.answer, AUTH_VIOLATION);
    assert.equal(ref.badZone.answer, AUTH_VIOLATION);
    if (logs.length === 2) assert.deepEqual(logs[1], logs[0]);
    // a zone that does not load fails the user JWT's validation: no "Outside connect times"
    assert.deepEqual(logs[0], [
      '[ERR] <client> - Outside connect times',
      '[ERR] <client> - authentication error',
      '[ERR] <client> - authentication error',
    ]);
  });

  it("a window ending while connected: -ERR 'User Authentication Expired'", async (t) => {
    if (nearMidnight()) return t.skip('windows would wrap around midnight UTC');
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const u = await user(accA, 'short-window', { times: [{ start: hms(-60), end: hms(3) }], times_location: 'UTC' } as never);
        const r = await login(s.port, u);
        let err = '';
        if (r.answer === PONG) err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 15_000).catch(() => 'no -ERR');
        const closed = await r.client.waitClosed(5000);
        r.client.close();
        return { answer: r.answer, err: err.replace(/^(PING\r\n)+/, ''), closed };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, { answer: PONG, err: "-ERR 'User Authentication Expired'\r\n", closed: true });
  });
});

describe('operator mode: expiry while connected', () => {
  it("a user JWT expiring while connected: -ERR 'User Authentication Expired' and close", async (t) => {
    const { ref } = await differentialScenario(t, async (s) => {
      const u = await user(accA, 'short', {}, { exp: NOW() + 3 });
      const r = await login(s.port, u);
      let err = '';
      if (r.answer === PONG) {
        try {
          err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 25_000);
        } catch {
          err = 'no -ERR';
        }
      }
      const closed = await r.client.waitClosed(5000);
      r.client.close();
      return { answer: r.answer, err: err.replace(/^(PING\r\n)+/, ''), closed };
    }, { servers: pair });
    assert.deepEqual(ref, { answer: PONG, err: "-ERR 'User Authentication Expired'\r\n", closed: true });
  });

  it("an account JWT expiring while connected: -ERR 'Account Authentication Expired' and close", async (t) => {
    const acc = await op.account('SHORT', {}, { exp: NOW() + 10 });
    const u = await user(acc, 'u');
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const r = await login(s.port, u);
        let err = '';
        if (r.answer === PONG) {
          try {
            err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 25_000);
          } catch {
            err = 'no -ERR';
          }
        }
        const closed = await r.client.waitClosed(5000);
        r.client.close();
        return { answer: r.answer, err: err.replace(/^(PING\r\n)+/, ''), closed };
      },
      { config: operatorConfig(op, [sys, acc], sys) },
    );
    assert.deepEqual(ref, { answer: PONG, err: "-ERR 'Account Authentication Expired'\r\n", closed: true });
  });
});

export type { AccountFixture };
