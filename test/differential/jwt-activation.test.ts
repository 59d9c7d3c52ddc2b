// Differential tests of activation tokens in operator mode: private
// (token_req) stream and service exports of an account JWT, imports that
// carry an activation token signed by the exporting account or one of its
// signing keys, tokens that are missing, expired, revoked (the export's
// revocations), for another account, for a narrower subject, not a JWT, of
// the wrong kind or signed by an untrusted key; and a token expiring while
// the import is in use. Both servers get the same operator config and the
// same client actions; what the importing account's user receives (or how
// its login is answered) must be the same.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAccount, encodeActivation, type KeyPair } from '@nats-io/jwt';
import { differentialScenario } from '../helpers/diff.js';
import { startBoth, writeConfig, type RunningServer, type ServerPair } from '../helpers/servers.js';
import { sleep } from '../helpers/rawclient.js';
import { NOW, Operator, login, operatorConfig, user, validationIssueBlocks, type AccountFixture, type UserFixture } from '../helpers/jwt-fixture.js';

const PONG = 'PONG\r\n';
const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

const op = await Operator.create();
const sys = await op.account('SYS');

const expKp = createAccount();
const expSigner = createAccount();
const EXP = expKp.getPublicKey();

/** An activation token for `importer` on `subject`, issued by the exporter (or `signer` on its behalf). */
async function token(
  importer: KeyPair,
  subject: string,
  kind: 'stream' | 'service' = 'stream',
  opts: { exp?: number; signer?: KeyPair; issuer?: KeyPair } = {},
): Promise<string> {
  return encodeActivation(
    'activation',
    importer,
    opts.issuer ?? expKp,
    kind,
    { subject },
    { ...(opts.signer !== undefined ? { signer: opts.signer } : {}), ...(opts.exp !== undefined ? { exp: opts.exp } : {}) },
  );
}

interface Case {
  name: string;
  /** the import of the importing account (its token made for the account's key) */
  imp: (kp: KeyPair) => Promise<Record<string, unknown>>;
  /** what the importer's user subscribes to; a service import is requested instead */
  service?: boolean;
  sub: string;
  /** what the exporter's user publishes (or the importer requests) */
  pub: string;
}

const revokedKp = createAccount();
const otherKp = createAccount();

const cases: Case[] = [
  {
    name: 'a stream token issued by the exporter',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>') }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a stream token for priv.> on an import of priv.a.>',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.a.>', token: await token(kp, 'priv.>') }),
    sub: '>',
    pub: 'priv.a.b',
  },
  {
    name: "a stream token issued by the exporter's signing key",
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'stream', { signer: expSigner }) }),
    sub: 'priv.>',
    pub: 'priv.b',
  },
  {
    name: 'a stream token with a prefix (to)',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', to: 'from.exp', token: await token(kp, 'priv.>') }),
    sub: '>',
    pub: 'priv.c',
  },
  {
    name: 'a stream import without a token',
    imp: async () => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>' }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'an expired stream token',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'stream', { exp: NOW() - 10 }) }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: "a stream token revoked in the export's revocations",
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>') }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a stream token made for another account',
    imp: async () => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(createAccount(), 'priv.>') }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a stream token for priv.a.> on an import of priv.>',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.a.>') }),
    sub: 'priv.>',
    pub: 'priv.a.b',
  },
  {
    name: 'a token that is not a JWT',
    imp: async () => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: 'not-a-jwt' }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a service token on a stream import',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'service') }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a token signed by a key the exporter does not list',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'stream', { signer: createAccount() }) }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a stream token issued by another account',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'stream', { issuer: createAccount() }) }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a token issued by the exporter naming another issuer account',
    imp: async (kp) => ({ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(kp, 'priv.>', 'stream', { issuer: otherKp, signer: expKp }) }),
    sub: 'priv.>',
    pub: 'priv.a',
  },
  {
    name: 'a service token issued by the exporter',
    imp: async (kp) => ({ name: 'i', type: 'service', account: EXP, subject: 'svc.a', token: await token(kp, 'svc.>', 'service') }),
    service: true,
    sub: '',
    pub: 'svc.a',
  },
  {
    name: 'a service token with a local subject',
    imp: async (kp) => ({ name: 'i', type: 'service', account: EXP, subject: 'svc.b', local_subject: 'local.b', token: await token(kp, 'svc.b', 'service') }),
    service: true,
    sub: '',
    pub: 'local.b',
  },
  {
    name: 'a service import without a token',
    imp: async () => ({ name: 'i', type: 'service', account: EXP, subject: 'svc.a' }),
    service: true,
    sub: '',
    pub: 'svc.a',
  },
  {
    name: 'an expired service token',
    imp: async (kp) => ({ name: 'i', type: 'service', account: EXP, subject: 'svc.a', token: await token(kp, 'svc.>', 'service', { exp: NOW() - 10 }) }),
    service: true,
    sub: '',
    pub: 'svc.a',
  },
];

interface Built {
  c: Case;
  acc: AccountFixture;
  u: UserFixture;
}
const built: Built[] = [];
for (const [i, c] of cases.entries()) {
  const kp = c.name.includes('revoked') ? revokedKp : createAccount();
  const acc = await op.account(`IMP${i}`, { imports: [(await c.imp(kp)) as never] }, { kp });
  built.push({ c, acc, u: await user(acc, `imp${i}`) });
}
const exporter = await op.account(
  'EXP',
  {
    exports: [
      { name: 'priv', subject: 'priv.>', type: 'stream', token_req: true, revocations: { [revokedKp.getPublicKey()]: NOW() + 3600 } },
      { name: 'svc', subject: 'svc.>', type: 'service', token_req: true },
    ],
  },
  { kp: expKp, signer: expSigner },
);
const expUser = await user(exporter, 'exp');

const config = operatorConfig(op, [sys, exporter, ...built.map((b) => b.acc)], sys);

let pair: ServerPair;
before(async () => {
  pair = await startBoth(['-c', writeConfig(config)]);
});
after(async () => {
  await pair?.stop();
});

/** Stream: the importer subscribes, the exporter publishes; what reached the importer. */
async function streamOutcome(s: RunningServer, u: UserFixture, sub: string, pub: string): Promise<{ login: string; got: string }> {
  const e = await login(s.port, expUser);
  const i = await login(s.port, u);
  try {
    assert.equal(e.answer, PONG);
    if (i.answer !== PONG) return { login: i.answer, got: '' };
    await i.client.send(`SUB ${sub} 1\r\nPING\r\n`);
    await i.client.readUntil(PONG);
    await e.client.send(`PUB ${pub} 2\r\nhi\r\nPING\r\n`);
    await e.client.readUntil(PONG);
    await i.client.send('PING\r\n');
    const got = await i.client.readUntil(PONG);
    return { login: i.answer, got: got.replace(/\r\nPONG\r\n$/, '\r\n').replace(/^PONG\r\n$/, '') };
  } finally {
    e.client.close();
    i.client.close();
  }
}

/** Service: the exporter answers svc.>, the importer requests; the reply (or a timeout/no responders). */
async function serviceOutcome(s: RunningServer, u: UserFixture, pub: string): Promise<{ login: string; got: string }> {
  const e = await login(s.port, expUser);
  const i = await login(s.port, u, { extra: { headers: true, no_responders: true } });
  try {
    assert.equal(e.answer, PONG);
    if (i.answer !== PONG) return { login: i.answer, got: '' };
    await e.client.send('SUB svc.> 1\r\nPING\r\n');
    await e.client.readUntil(PONG);
    await i.client.send(`SUB _INBOX.r 9\r\nPUB ${pub} _INBOX.r 3\r\nreq\r\nPING\r\n`);
    await i.client.readUntil(PONG);
    let got = '';
    const req = await e.client.readUntil(/MSG svc\.\S+ 1 \S+ 3\r\nreq\r\n/, 1500).catch(() => '');
    const m = /MSG (svc\.\S+) 1 (\S+) 3/.exec(req);
    if (m !== null) {
      await e.client.send(`PUB ${m[2]} 4\r\nresp\r\n`);
      got = `request on ${m[1]}; ` + (await i.client.readUntil(/MSG _INBOX\.r 9 4\r\nresp\r\n/, 5000).catch(() => 'no response'));
    } else {
      got = 'no request; ' + (await i.client.readUntil(/HMSG _INBOX\.r 9 \d+ \d+\r\n[^]*?\r\n\r\n/, 1000).catch(() => 'nothing'));
    }
    return { login: i.answer, got: got.replace(/PONG\r\n/g, '') };
  } finally {
    e.client.close();
    i.client.close();
  }
}

const EXPECTED: Record<string, { login: string; got: string }> = {
  'a stream token issued by the exporter': { login: PONG, got: 'MSG priv.a 1 2\r\nhi\r\n' },
  'a stream token for priv.> on an import of priv.a.>': { login: PONG, got: 'MSG priv.a.b 1 2\r\nhi\r\n' },
  "a stream token issued by the exporter's signing key": { login: PONG, got: 'MSG priv.b 1 2\r\nhi\r\n' },
  'a stream token with a prefix (to)': { login: PONG, got: 'MSG from.exp.priv.c 1 2\r\nhi\r\n' },
  'a stream import without a token': { login: PONG, got: '' },
  'an expired stream token': { login: PONG, got: '' },
  "a stream token revoked in the export's revocations": { login: PONG, got: '' },
  // the account JWT itself fails validation: its users are refused
  'a stream token made for another account': { login: AUTH_VIOLATION, got: '' },
  'a stream token for priv.a.> on an import of priv.>': { login: AUTH_VIOLATION, got: '' },
  'a token that is not a JWT': { login: AUTH_VIOLATION, got: '' },
  'a service token on a stream import': { login: AUTH_VIOLATION, got: '' },
  'a stream token issued by another account': { login: AUTH_VIOLATION, got: '' },
  // valid JWTs, the import is left out
  'a token signed by a key the exporter does not list': { login: PONG, got: '' },
  'a token issued by the exporter naming another issuer account': { login: PONG, got: '' },
  'a service import without a token': { login: PONG, got: 'no request; nothing' },
  'an expired service token': { login: PONG, got: 'no request; nothing' },
  'a service token issued by the exporter': { login: PONG, got: 'request on svc.a; MSG _INBOX.r 9 4\r\nresp\r\n' },
  'a service token with a local subject': { login: PONG, got: 'request on svc.b; MSG _INBOX.r 9 4\r\nresp\r\n' },
};
describe('operator mode: activation tokens', () => {

  for (const b of built) {
    it(b.c.name, async (t) => {
      const { ref } = await differentialScenario(
        t,
        (s) => (b.c.service === true ? serviceOutcome(s, b.u, b.c.pub) : streamOutcome(s, b.u, b.c.sub, b.c.pub)),
        { servers: pair },
      );
      assert.deepEqual(ref, EXPECTED[b.c.name]);
    });
  }

  it('startup warns about the account JWTs whose imports are not valid', () => {
    const blocks = [pair.reference, pair.tsnats].map((s) => validationIssueBlocks(s.stderr()));
    assert.deepEqual(blocks[1], blocks[0]);
    assert.equal(blocks[0]!.length, 5);
    assert.ok(blocks[0]!.some((b) => b.endsWith('\n  - import "priv.>" contains an invalid activation token')));
  });

  it('an activation naming another issuer account logs "Invalid issuer account"', () => {
    const lines = [pair.reference, pair.tsnats].map((s) =>
      s
        .stderr()
        .split('\n')
        .filter((l) => l.includes('Invalid issuer account'))
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '')),
    );
    assert.deepEqual(lines[1], lines[0]);
    assert.deepEqual(lines[0], [
      `[ERR] Invalid issuer account "${otherKp.getPublicKey()}" in activation claim (subject: "priv.>" - type: "stream") for account "${EXP}"`,
    ]);
  });
});

describe('operator mode: the debug lines of refused imports', () => {
  it('"Error adding stream|service import to account [<acc>/<name>]: ... not authorized"', async (t) => {
    // the cases whose account JWT is valid but whose import is left out
    const refused = built.filter((b) => expectedGot(b.c.name) === 'refused');
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        // the reference adds an account's imports when a user of it first logs in
        for (const b of refused) (await login(s.port, b.u)).client.close();
        await sleep(300);
        return s
          .stderr()
          .split('\n')
          .filter((l) => l.includes('Error adding'))
          .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ''))
          .sort();
      },
      { config: operatorConfig(op, [sys, exporter, ...refused.map((b) => b.acc)], sys), args: ['-D'] },
    );
    const want = refused
      .map((b) => `[DBG] Error adding ${b.c.service === true ? 'service' : 'stream'} import to account [${b.acc.pub}/IMP${built.indexOf(b)}]: ${b.c.service === true ? 'service' : 'stream'} import not authorized`)
      .sort();
    assert.ok(want.length >= 4);
    assert.deepEqual(ref, want);
  });
});

/** How a case ends: 'ok' (delivered), 'refused' (the import is left out), 'invalid' (the account JWT is refused). */
function expectedGot(name: string): 'ok' | 'refused' | 'invalid' {
  const e = EXPECTED[name]!;
  if (e.login !== PONG) return 'invalid';
  return e.got === '' || e.got.startsWith('no request') ? 'refused' : 'ok';
}

describe('operator mode: an activation token expiring while in use', () => {
  it('stream and service imports stop when their tokens expire', async (t) => {
    const sk = createAccount();
    const vk = createAccount();
    // 8 s: room for both servers to log in before it, even on a loaded machine (5 s was not always)
    const exp = NOW() + 8;
    const accS = await op.account('SHORT', { imports: [{ name: 'i', type: 'stream', account: EXP, subject: 'priv.>', token: await token(sk, 'priv.>', 'stream', { exp }) }] }, { kp: sk });
    const wk = createAccount();
    const accV = await op.account(
      'SHORTSVC',
      { imports: [{ name: 'i', type: 'service', account: EXP, subject: 'svc.s', token: await token(vk, 'svc.s', 'service', { exp }) }] },
      { kp: vk },
    );
    // the reference looks the service import up by the token's subject: a wildcard token never expires it
    const accW = await op.account(
      'SHORTWILD',
      { imports: [{ name: 'i', type: 'service', account: EXP, subject: 'svc.w', token: await token(wk, 'svc.>', 'service', { exp }) }] },
      { kp: wk },
    );
    const us = await user(accS, 's');
    const uv = await user(accV, 'v');
    const uw = await user(accW, 'w');
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const before = [await streamOutcome(s, us, 'priv.>', 'priv.x'), await serviceOutcome(s, uv, 'svc.s'), await serviceOutcome(s, uw, 'svc.w')];
        // a connection that stays, and new ones after the expiry
        const stay = await login(s.port, us);
        await stay.client.send('SUB priv.> 1\r\nPING\r\n');
        await stay.client.readUntil(PONG);
        await sleep(Math.max(0, exp * 1000 - Date.now()) + 1500);
        const e = await login(s.port, expUser);
        await e.client.send('PUB priv.y 2\r\nhi\r\nPING\r\n');
        await e.client.readUntil(PONG);
        e.client.close();
        await stay.client.send('PING\r\n');
        const stayed = (await stay.client.readUntil(/PONG\r\n$/)).replace(/P[IO]NG\r\n/g, '');
        stay.client.close();
        const afterwards = [await streamOutcome(s, us, 'priv.>', 'priv.x'), await serviceOutcome(s, uv, 'svc.s'), await serviceOutcome(s, uw, 'svc.w')];
        return { before, stayed, afterwards };
      },
      { config: operatorConfig(op, [sys, exporter, accS, accV, accW], sys) },
    );
    assert.deepEqual(ref, {
      before: [
        { login: PONG, got: 'MSG priv.x 1 2\r\nhi\r\n' },
        { login: PONG, got: 'request on svc.s; MSG _INBOX.r 9 4\r\nresp\r\n' },
        { login: PONG, got: 'request on svc.w; MSG _INBOX.r 9 4\r\nresp\r\n' },
      ],
      stayed: '',
      afterwards: [
        { login: PONG, got: '' },
        { login: PONG, got: 'no request; nothing' },
        { login: PONG, got: 'request on svc.w; MSG _INBOX.r 9 4\r\nresp\r\n' },
      ],
    });
  });
});
