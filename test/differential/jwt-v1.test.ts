// Differential tests of version 1 JWTs in operator mode (the format before
// jwt/v2: `type` at the top level of the payload, header alg "ed25519").
// nats-server 2.9.10 still reads them (jwt/v2 decoder_*.go migrate them);
// the nats.js test suite logs in with such fixtures (core/tests/auth_test.ts
// "auth - creds", "auth - jwt", ...). Regression: tsnats read a v1 account's
// limits from the wrong level, so `conn: -1` became 0 and every login was
// refused with "maximum account active connections exceeded".

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { differentialScenario } from '../helpers/diff.js';
import { startBoth, writeConfig, type RunningServer, type ServerPair } from '../helpers/servers.js';
import { login, NOW, type UserFixture } from '../helpers/jwt-fixture.js';

const PONG = 'PONG\r\n';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A v1 JWT: {"typ":"jwt","alg":"ed25519"}, claims with `type` beside `nats`, the signature over the claims chunk only (jwt/v2 decoder.go). */
function v1jwt(signer: KeyPair, sub: string, type: string, nats: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const head = b64({ typ: 'jwt', alg: 'ed25519' });
  const body = b64({ jti: `J${Math.random().toString(36).slice(2)}`, iat: NOW() - 60, iss: signer.getPublicKey(), sub, type, nats, ...extra });
  const sig = Buffer.from(signer.sign(new TextEncoder().encode(body))).toString('base64url');
  return `${head}.${body}.${sig}`;
}

const opKp = createOperator();
const operatorJwt = v1jwt(opKp, opKp.getPublicKey(), 'operator', {}, { name: 'v1-operator' });

function account(limits: Record<string, unknown> | null): { kp: KeyPair; jwt: string } {
  const kp = createAccount();
  return { kp, jwt: v1jwt(opKp, kp.getPublicKey(), 'account', limits === null ? {} : { limits }) };
}

function user(acc: { kp: KeyPair }, nats: Record<string, unknown> = { pub: {}, sub: {} }): UserFixture {
  const kp = createUser();
  return { kp, pub: kp.getPublicKey(), jwt: v1jwt(acc.kp, kp.getPublicKey(), 'user', nats) };
}

// the account of nats.js's fixtures: every limit -1 written out
const accUnlimited = account({ subs: -1, conn: -1, imports: -1, exports: -1, data: -1, payload: -1, wildcards: true });
// a v1 account without limits: missing limits are 0 (no connection at all)
const accBare = account(null);
const accOne = account({ subs: -1, conn: 1, data: -1, payload: -1 });

const users = {
  // a v1 user without limits: subs, data and payload default to unlimited
  plain: user(accUnlimited),
  limited: user(accUnlimited, { pub: {}, sub: {}, subs: 1, payload: 4 }),
  perms: user(accUnlimited, { pub: { allow: ['ok.>'] }, sub: { deny: ['secret'] } }),
  ofBare: user(accBare),
  one: user(accOne),
};

const config = [
  `operator: ${operatorJwt}`,
  'resolver: MEMORY',
  'resolver_preload: {',
  ...[accUnlimited, accBare, accOne].map((a) => `  ${a.kp.getPublicKey()}: ${a.jwt}`),
  '}',
].join('\n');

let pair: ServerPair;
before(async () => {
  pair = await startBoth(['-c', writeConfig(config)]);
});
after(async () => {
  await pair?.stop();
});

/** Login, then `traffic`, then PING; the text up to PONG (or what came before a close). */
async function session(server: RunningServer, u: UserFixture, traffic: string): Promise<{ answer: string; text: string }> {
  const r = await login(server.port, u);
  let text = '';
  if (r.answer === PONG) {
    await r.client.send(`${traffic}PING\r\n`);
    text = await r.client.readUntil(/PONG\r\n/, 10_000);
  }
  r.client.close();
  return { answer: r.answer, text };
}

describe('operator mode: version 1 JWTs', () => {
  it('a v1 user of a v1 account with unlimited limits logs in and exchanges messages', async (t) => {
    const { ref } = await differentialScenario(t, (s) => session(s, users.plain, 'SUB foo 1\r\nSUB bar 2\r\nPUB foo 5\r\nhello\r\n'), { servers: pair });
    assert.equal(ref.answer, PONG);
    assert.equal(ref.text, 'MSG foo 1 5\r\nhello\r\nPONG\r\n');
  });

  it('a v1 user with subs and payload limits', async (t) => {
    const { ref } = await differentialScenario(t, (s) => session(s, users.limited, 'SUB a 1\r\nSUB b 2\r\nPUB a 2\r\nok\r\n'), { servers: pair });
    assert.equal(ref.answer, PONG);
    assert.match(ref.text, /maximum subscriptions exceeded/);
  });

  it('a v1 user with permissions', async (t) => {
    const { ref } = await differentialScenario(
      t,
      (s) => session(s, users.perms, 'SUB secret 1\r\nSUB ok.x 2\r\nPUB ok.x 1\r\na\r\nPUB no 1\r\nb\r\n'),
      { servers: pair },
    );
    assert.equal(ref.answer, PONG);
    assert.match(ref.text, /Permissions Violation for Subscription to "secret"/);
  });

  it('a user of a v1 account without limits is refused (conn 0)', async (t) => {
    const { ref } = await differentialScenario(t, (s) => session(s, users.ofBare, ''), { servers: pair });
    assert.equal(ref.answer, "-ERR 'maximum account active connections exceeded'\r\n");
  });

  it('a v1 account with conn 1 takes one connection', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const first = await login(s.port, users.one);
        const second = await login(s.port, users.one);
        first.client.close();
        second.client.close();
        return [first.answer, second.answer];
      },
      { servers: pair },
    );
    assert.deepEqual(ref, [PONG, "-ERR 'maximum account active connections exceeded'\r\n"]);
  });
});
