// Differential tests of authentication and authorization: the same config
// file goes to tsnats and the reference nats-server, the same bytes are
// sent to both, and the masked transcripts, close states and [ERR] log lines
// must be equal. The reference's exact bytes are pinned as well.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { createUser } from '@nats-io/nkeys';
import { differential, differentialScenario, withServers } from '../helpers/diff.js';
import { firstInfo, maskTranscript } from '../helpers/mask.js';
import { CONNECT, PING, PONG, connectLine, pub, msg } from '../helpers/proto.js';
import { connect, type RawClient } from '../helpers/rawclient.js';

const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

/** Reads the answer to a CONNECT+PING: up to the PONG or the first -ERR (no quiet-period timing). */
async function answer(c: RawClient): Promise<string> {
  try {
    return await c.readUntil(/PONG\r\n|-ERR '[^']*'\r\n/, 10_000);
  } catch {
    return c.peek().toString('latin1');
  }
}
const CLOSES = { closeGraceMs: 4000, quietMs: 150 } as const;

/** CONNECT with credentials and the verbose/pedantic defaults turned off */
function login(fields: Record<string, unknown>): string {
  return connectLine({ verbose: false, pedantic: false, ...fields });
}

describe('authentication: single user (authorization { user, password })', () => {
  const config = 'authorization { user: alice, password: "s3cret" }\n';

  it('the right credentials are accepted; INFO says auth_required', async (t) => {
    const { ref } = await differential(t, [login({ user: 'alice', pass: 's3cret' }) + PING], { config, until: PONG });
    assert.equal(ref.afterInfo, PONG);
    assert.equal(firstInfo(ref.data).auth_required, true);
    assert.equal(ref.closed, false);
  });

  for (const [name, fields] of [
    ['a wrong password', { user: 'alice', pass: 'nope' }],
    ['a wrong user', { user: 'bob', pass: 's3cret' }],
    ['no credentials', {}],
    ['a token instead', { auth_token: 's3cret' }],
  ] as const) {
    it(`${name}: -ERR 'Authorization Violation', closed, "authentication error" logged`, async (t) => {
      const { ref } = await differential(t, [login(fields) + PING], { config, ...CLOSES, compareLogs: true });
      assert.equal(ref.afterInfo, AUTH_VIOLATION);
      assert.equal(ref.closed, true);
      assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - authentication error']);
    });
  }

  it('--user/--pass on the command line behave the same', async (t) => {
    const { ref } = await differential(t, [login({ user: 'u', pass: 'wrong' }) + PING], { args: ['--user', 'u', '--pass', 'p'], ...CLOSES });
    assert.equal(ref.afterInfo, AUTH_VIOLATION);
    const ok = await differential(t, [login({ user: 'u', pass: 'p' }) + PING], { args: ['--user', 'u', '--pass', 'p'], until: PONG });
    assert.equal(ok.ref.afterInfo, PONG);
  });

  it('a protocol operation before CONNECT is an authorization violation', async (t) => {
    const { ref } = await differential(t, ['SUB foo 1\r\n'], { config, ...CLOSES, compareLogs: true });
    assert.equal(ref.afterInfo, AUTH_VIOLATION);
    assert.equal(ref.closed, true);
  });

  it('a CONNECT naming an account is refused even with good credentials', async (t) => {
    const { ref } = await differential(t, [login({ user: 'alice', pass: 's3cret', account: 'A' }) + PING], { config, ...CLOSES });
    assert.equal(ref.afterInfo, AUTH_VIOLATION);
  });

  it('malformed CONNECT JSON closes the connection without an -ERR', async (t) => {
    const { ref } = await differential(t, ['CONNECT {"user":"alice",\r\nPING\r\n'], { config, ...CLOSES });
    assert.equal(ref.closed, true);
  });

  it('a password of the wrong JSON type closes the connection', async (t) => {
    const { ref } = await differential(t, ['CONNECT {"user":"alice","pass":12}\r\nPING\r\n'], { config, ...CLOSES });
    assert.equal(ref.closed, true);
  });
});

describe('authentication: token', () => {
  const config = 'authorization { token: "t0k3n" }\n';

  it('the token is accepted, a wrong or missing one refused', async (t) => {
    const ok = await differential(t, [login({ auth_token: 't0k3n' }) + PING], { config, until: PONG });
    assert.equal(ok.ref.afterInfo, PONG);
    const bad = await differential(t, [login({ auth_token: 'x' }) + PING], { config, ...CLOSES, compareLogs: true });
    assert.equal(bad.ref.afterInfo, AUTH_VIOLATION);
    const none = await differential(t, [login({ user: 't0k3n' }) + PING], { config, ...CLOSES });
    assert.equal(none.ref.afterInfo, AUTH_VIOLATION);
  });

  it('--auth on the command line', async (t) => {
    const { ref } = await differential(t, [login({ auth_token: 'cli' }) + PING], { args: ['--auth', 'cli'], until: PONG });
    assert.equal(ref.afterInfo, PONG);
  });

  it('a bcrypted token compares against the hash', async (t) => {
    const hash = bcrypt.hashSync('t0k3n', 4);
    const config = `authorization { token: "${hash}" }\n`;
    const ok = await differential(t, [login({ auth_token: 't0k3n' }) + PING], { config, until: PONG });
    assert.equal(ok.ref.afterInfo, PONG);
    const bad = await differential(t, [login({ auth_token: hash }) + PING], { config, ...CLOSES });
    assert.equal(bad.ref.afterInfo, AUTH_VIOLATION);
  });
});

describe('authentication: users list', () => {
  const hash = bcrypt.hashSync('bpass', 4);
  const config = `authorization {
  users = [
    { user: plain, password: ppass }
    { user: hashed, password: "${hash}" }
  ]
}
`;

  it('plain and bcrypt passwords', async (t) => {
    const a = await differential(t, [login({ user: 'plain', pass: 'ppass' }) + PING], { config, until: PONG });
    assert.equal(a.ref.afterInfo, PONG);
    const b = await differential(t, [login({ user: 'hashed', pass: 'bpass' }) + PING], { config, until: PONG });
    assert.equal(b.ref.afterInfo, PONG);
  });

  it('the hash itself is not a password; failures log the user name', async (t) => {
    const { ref } = await differential(t, [login({ user: 'hashed', pass: hash }) + PING], { config, ...CLOSES, compareLogs: true });
    assert.equal(ref.afterInfo, AUTH_VIOLATION);
    assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - authentication error - User "hashed"']);
  });

  it('an unknown user and a missing user are refused', async (t) => {
    const u = await differential(t, [login({ user: 'nobody', pass: 'ppass' }) + PING], { config, ...CLOSES, compareLogs: true });
    assert.equal(u.ref.afterInfo, AUTH_VIOLATION);
    const n = await differential(t, [login({}) + PING], { config, ...CLOSES, compareLogs: true });
    assert.equal(n.ref.afterInfo, AUTH_VIOLATION);
    assert.deepEqual(n.ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - authentication error - User ""']);
  });
});

describe('authentication: no_auth_user', () => {
  const config = `authorization {
  users = [ { user: anon, password: apass, permissions: { publish: "pub.>" } }, { user: other, password: opass } ]
}
no_auth_user: anon
`;

  it('INFO does not ask for auth; a CONNECT without credentials becomes the no_auth_user (with its permissions)', async (t) => {
    const { ref } = await differential(t, [login({}) + 'PUB pub.x 1\r\nx\r\nPUB other 1\r\nx\r\n' + PING], { config, until: PONG, compareLogs: true });
    assert.equal(firstInfo(ref.data).auth_required, undefined);
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Publish to "other"'\r\n${PONG}`);
    assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - Publish Violation - User "anon", Subject "other"']);
  });

  it('a client may skip CONNECT altogether (verbose by default: +OK only for what passed)', async (t) => {
    const { ref } = await differential(t, ['PUB other 1\r\nx\r\nPUB pub.a 1\r\nx\r\nPING\r\n'], { config, until: PONG });
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Publish to "other"'\r\n+OK\r\n${PONG}`);
  });

  it('explicit credentials still count; wrong ones are refused', async (t) => {
    const ok = await differential(t, [login({ user: 'other', pass: 'opass' }) + 'PUB other 1\r\nx\r\n' + PING], { config, until: PONG });
    assert.equal(ok.ref.afterInfo, PONG);
    const bad = await differential(t, [login({ user: 'other', pass: 'x' }) + PING], { config, ...CLOSES });
    assert.equal(bad.ref.afterInfo, AUTH_VIOLATION);
  });

  it('quirk kept: a bcrypt-hashed no_auth_user is refused when CONNECT carries no credentials', async (t) => {
    const hash = bcrypt.hashSync('apass', 4);
    const cfg = `authorization { users = [ { user: anon, password: "${hash}" } ] }\nno_auth_user: anon\n`;
    const { ref } = await differential(t, [login({}) + PING], { config: cfg, ...CLOSES });
    assert.equal(ref.afterInfo, AUTH_VIOLATION);
    const skip = await differential(t, ['PING\r\n'], { config: cfg, until: PONG });
    assert.equal(skip.ref.afterInfo, PONG);
  });
});

describe('authentication: auth timeout', () => {
  it('no CONNECT within authorization.timeout: -ERR Authentication Timeout and close', async (t) => {
    const config = 'authorization { user: a, password: b, timeout: 1 }\n';
    const { ref } = await differential(t, [], { config, waitInfo: true, until: /Timeout/, untilTimeoutMs: 5000, ...CLOSES });
    assert.equal(ref.afterInfo, "-ERR 'Authentication Timeout'\r\n");
    assert.equal(ref.closed, true);
  });

  it('a CONNECT in time stops the timer', async (t) => {
    const config = 'authorization { user: a, password: b, timeout: 0.5 }\n';
    const { ref } = await differential(t, [login({ user: 'a', pass: 'b' }), PING], {
      config,
      delayMs: 1200,
      until: PONG,
      untilTimeoutMs: 5000,
    });
    assert.equal(ref.afterInfo, PONG);
    assert.equal(ref.closed, false);
  });
});

describe('authentication: nkeys', () => {
  const kp = createUser();
  const pub = kp.getPublicKey();
  const other = createUser();
  const config = `authorization { users = [ { nkey: ${pub} } ] }\n`;

  type Outcome = { info: Record<string, unknown>; nonceLen: number; reply: string; closed: boolean };
  async function attempt(port: number, sign: (nonce: string) => Record<string, unknown>): Promise<Outcome> {
    const c = await connect(port);
    const line = await c.readUntil('\r\n');
    const info = JSON.parse(line.slice(5, -3)) as Record<string, unknown>;
    const nonce = String(info.nonce ?? '');
    await c.send(login(sign(nonce)) + PING);
    const reply = await answer(c);
    const closed = await c.waitClosed(reply === PONG ? 100 : 5000);
    c.close();
    const masked = maskTranscript(Buffer.from(line), {});
    return { info: JSON.parse(masked.slice(5, masked.indexOf('\r\n') - 1)) as Record<string, unknown>, nonceLen: nonce.length, reply, closed };
  }
  const sig = (k: typeof kp, nonce: string, enc: BufferEncoding = 'base64url') => Buffer.from(k.sign(Buffer.from(nonce))).toString(enc);

  it('INFO carries a fresh 15-character nonce; a signature over it by the nkey authenticates', async (t) => {
    const { ref } = await differentialScenario(t, (s) => attempt(s.port, (n) => ({ nkey: pub, sig: sig(kp, n) })), { config });
    assert.equal(ref.nonceLen, 15);
    assert.equal(ref.reply, PONG);
    assert.equal(ref.closed, false);
  });

  it('standard base64 signatures are accepted too', async (t) => {
    const { ref } = await differentialScenario(t, (s) => attempt(s.port, (n) => ({ nkey: pub, sig: sig(kp, n, 'base64') })), { config });
    assert.equal(ref.reply, PONG);
  });

  for (const [name, make] of [
    ['a signature by another key', (n: string) => ({ nkey: pub, sig: sig(other, n) })],
    ['an unknown nkey', (n: string) => ({ nkey: other.getPublicKey(), sig: sig(other, n) })],
    ['a missing signature', () => ({ nkey: pub })],
    ['a signature that is not base64', () => ({ nkey: pub, sig: '!!!' })],
    ['a signature over something else', () => ({ nkey: pub, sig: sig(kp, 'not-the-nonce') })],
    ['no nkey at all', () => ({ user: 'x', pass: 'y' })],
  ] as const) {
    it(`${name} is refused`, async (t) => {
      const { ref } = await differentialScenario(t, (s) => attempt(s.port, make), { config });
      assert.equal(ref.reply, AUTH_VIOLATION);
      assert.equal(ref.closed, true);
    });
  }

  it('the violation is logged with the nkey', async (t) => {
    const { ref } = await differential(t, [login({ nkey: pub, sig: 'AAAA' }) + PING], { config, ...CLOSES, compareLogs: true });
    assert.deepEqual(ref.log, [`[ERR] 127.0.0.1:<port> - cid:<cid> - authentication error - Nkey "${pub}"`]);
  });
});

describe('authorization: publish permissions', () => {
  const config = `authorization {
  users = [
    { user: p, password: p, permissions: { publish: { allow: ["foo.>", "bar"], deny: ["foo.secret", "foo.*.hidden"] } } }
    { user: d, password: d, permissions: { publish: { deny: ">" } } }
    { user: e, password: e, permissions: { publish: [] , subscribe: "x" } }
  ]
}
`;
  const run = (t: Parameters<typeof differential>[0], user: string, body: string) =>
    differential(t, [login({ user, pass: user }) + body + PING], { config, until: PONG, compareLogs: true });

  it('allowed subjects go through, others get the exact -ERR; the connection stays open', async (t) => {
    const body =
      'SUB > 1\r\n' + pub('foo.a', 'x') + pub('bar', 'y') + pub('baz', 'z') + pub('foo.secret', 's') + pub('foo.a.hidden', 'h') + pub('foo.a.b.c', 'w');
    const { ref } = await run(t, 'p', body);
    assert.equal(
      ref.afterInfo,
      msg('foo.a', 1, 'x') +
        msg('bar', 1, 'y') +
        `-ERR 'Permissions Violation for Publish to "baz"'\r\n` +
        `-ERR 'Permissions Violation for Publish to "foo.secret"'\r\n` +
        `-ERR 'Permissions Violation for Publish to "foo.a.hidden"'\r\n` +
        msg('foo.a.b.c', 1, 'w') +
        PONG,
    );
    assert.equal(ref.closed, false);
    assert.deepEqual(ref.log, [
      '[ERR] 127.0.0.1:<port> - cid:<cid> - Publish Violation - User "p", Subject "baz"',
      '[ERR] 127.0.0.1:<port> - cid:<cid> - Publish Violation - User "p", Subject "foo.secret"',
      '[ERR] 127.0.0.1:<port> - cid:<cid> - Publish Violation - User "p", Subject "foo.a.hidden"',
    ]);
  });

  it('deny ">" refuses every publish; the same subject twice (cached decision) too', async (t) => {
    const { ref } = await run(t, 'd', pub('a', '1') + pub('a', '1'));
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Publish to "a"'\r\n`.repeat(2) + PONG);
  });

  it('an empty publish list is no restriction (the config parser makes it nil)', async (t) => {
    const { ref } = await run(t, 'e', pub('x', '1'));
    assert.equal(ref.afterInfo, PONG);
  });

  it('verbose: no +OK for a refused publish', async (t) => {
    const { ref } = await differential(t, [connectLine({ user: 'p', pass: 'p', verbose: true, pedantic: false }) + pub('baz', 'z') + pub('bar', 'y') + PING], {
      config,
      until: PONG,
    });
    assert.equal(ref.afterInfo, `+OK\r\n-ERR 'Permissions Violation for Publish to "baz"'\r\n+OK\r\n${PONG}`);
  });

  it('HPUB is checked like PUB', async (t) => {
    const hpub = 'HPUB baz 12 14\r\nNATS/1.0\r\n\r\nhi\r\n';
    const { ref } = await differential(t, [login({ user: 'p', pass: 'p', headers: true }) + hpub + PING], { config, until: PONG });
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Publish to "baz"'\r\n${PONG}`);
  });
});

describe('authorization: reserved subjects', () => {
  it('reply subjects _R_., $JS.ACK. and _GR_. are refused to clients, also without permissions', async (t) => {
    const body = pub('foo', 'x', '_R_.abc') + pub('foo', 'x', '$JS.ACK.a.b') + pub('foo', 'x', '_GR_.x.y') + pub('foo', 'x', '_R_') + PING;
    const { ref } = await differential(t, [CONNECT + 'SUB foo 1\r\n' + body], { until: PONG, compareLogs: true });
    assert.equal(
      ref.afterInfo,
      `-ERR 'Permissions Violation for Publish with Reply of "_R_.abc"'\r\n` +
        `-ERR 'Permissions Violation for Publish with Reply of "$JS.ACK.a.b"'\r\n` +
        `-ERR 'Permissions Violation for Publish with Reply of "_GR_.x.y"'\r\n` +
        msg('foo', 1, 'x', '_R_') +
        PONG,
    );
    assert.deepEqual(ref.log[0], '[ERR] 127.0.0.1:<port> - cid:<cid> - Publish Violation - User "N/A", Reply "_R_.abc"');
  });

  it('publishing to a _GR_. subject is refused', async (t) => {
    const { ref } = await differential(t, [CONNECT + 'SUB > 1\r\n' + pub('_GR_.a', 'x') + pub('_GR_', 'y') + PING], { until: PONG });
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Publish to "_GR_.a"'\r\n` + msg('_GR_', 1, 'y') + PONG);
  });

  it('the _sys_ queue group is refused', async (t) => {
    const { ref } = await differential(t, [CONNECT + 'SUB foo _sys_ 1\r\nSUB foo _sys 2\r\n' + PING], { until: PONG, compareLogs: true });
    assert.equal(ref.afterInfo, `-ERR 'Permissions Violation for Subscription to "foo" using queue "_sys_"'\r\n${PONG}`);
  });
});

describe('authorization: subscribe permissions', () => {
  const config = `authorization {
  users = [
    { user: s, password: s, permissions: { subscribe: { allow: ["foo.*", "bar.>"], deny: ["foo.secret", "bar.hidden.>"] } } }
    { user: q, password: q, permissions: { subscribe: { allow: ["jobs v1", "jobs.* v.*", "plain"], deny: ["plain blocked"] } } }
    { user: w, password: w, permissions: { subscribe: { deny: ["foo.bar", "a.*.c"] } } }
    { user: pub, password: pub }
  ]
}
`;
  const run = (t: Parameters<typeof differential>[0], user: string, body: string) =>
    differential(t, [login({ user, pass: user }) + body + PING], { config, until: PONG, compareLogs: true });

  it('allowed subscriptions work; denied ones get the exact -ERR and are logged with the SID', async (t) => {
    const { ref } = await run(t, 's', 'SUB foo.a 1\r\nSUB foo.secret 2\r\nSUB baz 3\r\nSUB bar.hidden.x 4\r\nSUB bar.> 5\r\nSUB foo.> 6\r\n' + pub('x', 'y'));
    assert.equal(
      ref.afterInfo,
      `-ERR 'Permissions Violation for Subscription to "foo.secret"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "baz"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "bar.hidden.x"'\r\n` +
        PONG,
    );
    assert.equal(ref.log[0], '[ERR] 127.0.0.1:<port> - cid:<cid> - Subscription Violation - User "s", Subject "foo.secret", SID 2');
  });

  it('queue permissions: "subject queue" entries allow only that group; wildcard queue names', async (t) => {
    const { ref } = await run(
      t,
      'q',
      'SUB jobs 1\r\nSUB jobs v1 2\r\nSUB jobs v2 3\r\nSUB jobs.a v.x 4\r\nSUB jobs.a v 5\r\nSUB plain 6\r\nSUB plain ok 7\r\nSUB plain blocked 8\r\n',
    );
    assert.equal(
      ref.afterInfo,
      `-ERR 'Permissions Violation for Subscription to "jobs"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "jobs" using queue "v2"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "jobs.a" using queue "v"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "plain" using queue "blocked"'\r\n` +
        PONG,
    );
    assert.equal(ref.log[1], '[ERR] 127.0.0.1:<port> - cid:<cid> - Subscription Violation - User "q", Subject "jobs", Queue: "v2", SID 3');
  });

  it('a wildcard wider than a deny is accepted, but messages on denied subjects are not delivered to it', async (t) => {
    await withServers({ config }, async (servers) => {
      const scenario = async (port: number) => {
        const sub = await connect(port);
        await sub.readUntil('\r\n');
        await sub.send(login({ user: 'w', pass: 'w' }) + 'SUB foo.* 1\r\nSUB > 2\r\nSUB a.b.* 3\r\nSUB foo.bar 4\r\n' + PING);
        const subAck = await sub.readUntil(PONG);
        const p = await connect(port);
        await p.readUntil('\r\n');
        await p.send(login({ user: 'pub', pass: 'pub' }) + pub('foo.bar', '1') + pub('foo.baz', '2') + pub('a.b.c', '3') + pub('a.b.d', '4') + PING);
        await p.readUntil(PONG);
        const got = await (async () => {
          await sub.send(PING);
          return sub.readUntil(PONG);
        })();
        sub.close();
        p.close();
        return { subAck, got };
      };
      const [ref, ts] = await Promise.all([scenario(servers.reference.port), scenario(servers.tsnats.port)]);
      assert.deepEqual(ts, ref);
      assert.equal(ref.subAck, `-ERR 'Permissions Violation for Subscription to "foo.bar"'\r\n${PONG}`);
      // sublist order: the `>` subscription first
      assert.equal(ref.got, msg('foo.baz', 2, '2') + msg('foo.baz', 1, '2') + msg('a.b.d', 2, '4') + msg('a.b.d', 3, '4') + PONG);
    });
  });

  it('default permissions apply to users without their own', async (t) => {
    const cfg = `authorization {
  default_permissions: { publish: "only.this" }
  users = [ { user: a, password: a }, { user: b, password: b, permissions: { publish: ">" } } ]
}
`;
    const a = await differential(t, [login({ user: 'a', pass: 'a' }) + pub('x', '1') + pub('only.this', '2') + PING], { config: cfg, until: PONG });
    assert.equal(a.ref.afterInfo, `-ERR 'Permissions Violation for Publish to "x"'\r\n${PONG}`);
    const b = await differential(t, [login({ user: 'b', pass: 'b' }) + pub('x', '1') + PING], { config: cfg, until: PONG });
    assert.equal(b.ref.afterInfo, PONG);
  });
});

describe('authorization: allow_responses', () => {
  const config = (resp: string) => `authorization {
  users = [
    { user: svc, password: svc, permissions: { subscribe: "requests", ${resp} } }
    { user: cli, password: cli }
  ]
}
`;

  async function exchange(port: number, responderBody: (reply: string) => string): Promise<{ responder: string; requester: string }> {
    const svc = await connect(port);
    await svc.readUntil('\r\n');
    await svc.send(login({ user: 'svc', pass: 'svc' }) + 'SUB requests 1\r\n' + PING);
    await svc.readUntil(PONG);
    const cli = await connect(port);
    await cli.readUntil('\r\n');
    await cli.send(login({ user: 'cli', pass: 'cli' }) + 'SUB inbox.> 9\r\n' + pub('requests', 'q', 'inbox.1') + PING);
    await cli.readUntil(PONG);
    await svc.send(PING);
    const req = await svc.readUntil(PONG);
    await svc.send(responderBody('inbox.1') + PING);
    const responder = req + (await svc.readUntil(PONG));
    await cli.send(PING);
    const requester = await cli.readUntil(PONG);
    svc.close();
    cli.close();
    return { responder, requester };
  }

  it('allow_responses: true — one response to a received reply subject, then refused; other subjects refused', async (t) => {
    const { ref } = await differentialScenario(t, (s) => exchange(s.port, (r) => pub(r, 'a') + pub(r, 'b') + pub('elsewhere', 'c')), {
      config: config('allow_responses: true'),
    });
    assert.equal(
      ref.responder,
      msg('requests', 1, 'q', 'inbox.1') +
        PONG +
        `-ERR 'Permissions Violation for Publish to "inbox.1"'\r\n` +
        `-ERR 'Permissions Violation for Publish to "elsewhere"'\r\n` +
        PONG,
    );
    assert.equal(ref.requester, msg('inbox.1', 9, 'a') + PONG);
  });

  it('allow_responses { max: 2 } allows two responses', async (t) => {
    const { ref } = await differentialScenario(t, (s) => exchange(s.port, (r) => pub(r, 'a') + pub(r, 'b') + pub(r, 'c')), {
      config: config('allow_responses: { max: 2 }'),
    });
    assert.equal(ref.requester, msg('inbox.1', 9, 'a') + msg('inbox.1', 9, 'b') + PONG);
    assert.match(ref.responder, /Permissions Violation for Publish to "inbox\.1"/);
  });

  it('a reply subject never received cannot be published to', async (t) => {
    const { ref } = await differentialScenario(t, (s) => exchange(s.port, () => pub('inbox.2', 'a')), { config: config('allow_responses: true') });
    assert.equal(ref.requester, PONG);
  });
});

describe('bad input against an auth-protected server', () => {
  it('a client cycling passwords is refused every time, and the server keeps serving', async (t) => {
    const config = 'authorization { user: a, password: right }\n';
    await differentialScenario(
      t,
      async (s) => {
        const outcomes: string[] = [];
        for (let i = 0; i < 8; i++) {
          const c = await connect(s.port);
          await c.readUntil('\r\n');
          await c.send(login({ user: 'a', pass: `wrong${i}` }) + PING);
          outcomes.push((await answer(c)) + ((await c.waitClosed(5000)) ? '<closed>' : '<open>'));
          c.close();
        }
        const ok = await connect(s.port);
        await ok.readUntil('\r\n');
        await ok.send(login({ user: 'a', pass: 'right' }) + PING);
        outcomes.push(await ok.readUntil(PONG));
        ok.close();
        return outcomes;
      },
      { config },
    );
  });

  it('binary garbage instead of CONNECT', async (t) => {
    const config = 'authorization { user: a, password: b }\n';
    const { ref } = await differential(t, [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 13, 10])], { config, ...CLOSES });
    assert.equal(ref.closed, true);
  });
});

describe('authentication: allowed_connection_types', () => {
  const config = `authorization {
  users = [
    { user: std, password: s, allowed_connection_types: ["STANDARD"] }
    { user: lower, password: l, allowed_connection_types: ["standard", "websocket"] }
    { user: ws, password: w, allowed_connection_types: ["WEBSOCKET", "MQTT"] }
  ]
}
`;

  it('a TCP client passes only where STANDARD is allowed (any case)', async (t) => {
    const std = await differential(t, [login({ user: 'std', pass: 's' }) + PING], { config, until: PONG });
    assert.equal(std.ref.afterInfo, PONG);
    const lower = await differential(t, [login({ user: 'lower', pass: 'l' }) + PING], { config, until: PONG });
    assert.equal(lower.ref.afterInfo, PONG);
    const ws = await differential(t, [login({ user: 'ws', pass: 'w' }) + PING], { config, ...CLOSES, compareLogs: true });
    assert.equal(ws.ref.afterInfo, AUTH_VIOLATION);
  });
});
