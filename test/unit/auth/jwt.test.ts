// Unit tests of operator mode: claim decoding and validation, account JWT →
// account info, revocations, user permissions, import/export mapping, and
// the embedded server authenticating user JWTs against the INFO nonce.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccount, createUser } from '@nats-io/nkeys';
import { encodeActivation } from '@nats-io/jwt';
import {
  accountInfoFromJWT,
  checkActivation,
  decodeClaims,
  decodeUserClaims,
  goTime,
  hasEmptyPermissions,
  importClaimProblems,
  isRevoked,
  operatorTrustedKeys,
  permissionsFromUserClaims,
  subjectContainedIn,
  timeProblem,
  trustedKeysOf,
  validateTimes,
  validateSrc,
} from '../../../src/auth/jwt.js';
import { exportFromClaim, importFromClaim, operatorAccounts } from '../../../src/accounts/resolver.js';
import { defaultOptions } from '../../../src/config/options.js';
import { Server } from '../../../src/index.js';
import { NOW, Operator, login, user } from '../../helpers/jwt-fixture.js';

const op = await Operator.create();
const trusted = new Set(operatorTrustedKeys(op.jwt));

describe('claims', () => {
  it('the operator and its signing keys are trusted', () => {
    assert.deepEqual([...trusted].sort(), [op.kp.getPublicKey(), op.signer.getPublicKey()].sort());
  });

  it('decodeClaims verifies the signature; a tampered payload is refused', async () => {
    const acc = await op.account('A');
    const c = decodeClaims(acc.jwt);
    assert.equal(c.type, 'account');
    assert.equal(c.sub, acc.pub);
    const [h, p, s] = acc.jwt.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload.name = 'B';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    assert.throws(() => decodeClaims(forged));
  });

  it('decodeUserClaims refuses other claim types', async () => {
    const acc = await op.account('A');
    assert.throws(() => decodeUserClaims(acc.jwt), /not user claim/);
    const u = await user(acc, 'u');
    assert.equal(decodeUserClaims(u.jwt).iss, acc.pub);
  });

  it('timeProblem: expired and not yet valid', () => {
    const base = { sub: '', iss: '', name: '', iat: 0, type: 'user', nats: {} };
    assert.equal(timeProblem({ ...base, exp: 100, nbf: 0 }, 101), 'claim is expired');
    assert.equal(timeProblem({ ...base, exp: 100, nbf: 0 }, 100), null);
    assert.equal(timeProblem({ ...base, exp: 0, nbf: 50 }, 40), 'claim is not yet valid');
    assert.equal(timeProblem({ ...base, exp: 0, nbf: 0 }, 40), null);
  });

  it('isRevoked: per user and "*", revoked when issued at or before the time', () => {
    const r = new Map([['UA', 100]]);
    assert.equal(isRevoked(r, 'UA', 100), true);
    assert.equal(isRevoked(r, 'UA', 101), false);
    assert.equal(isRevoked(r, 'UB', 1), false);
    assert.equal(isRevoked(new Map([['*', 50]]), 'UB', 49), true);
    assert.equal(isRevoked(new Map(), 'UB', 49), false);
  });
});

describe('account JWTs', () => {
  it('a trusted, valid account: signing keys, revocations, limits', async () => {
    const acc = await op.account('A', { revocations: { UX: 5 }, limits: { conn: 3, subs: 7, payload: 9 } });
    const info = accountInfoFromJWT(acc.pub, acc.jwt, trusted);
    assert.ok(typeof info !== 'string');
    assert.equal(info.maxConnections, 3);
    assert.equal(info.maxSubs, 7);
    assert.equal(info.maxPayload, 9);
    assert.equal(info.revocations.get('UX'), 5);
    assert.ok(info.signingKeys.has(acc.signer.getPublicKey()));
  });

  it('refused: untrusted issuer, expired, subject not the key', async () => {
    const other = await Operator.create();
    const untrusted = await op.account('U', {}, { issuer: other.signer });
    assert.equal(typeof accountInfoFromJWT(untrusted.pub, untrusted.jwt, trusted), 'string');
    const expired = await op.account('E', {}, { exp: NOW() - 5 });
    assert.equal(typeof accountInfoFromJWT(expired.pub, expired.jwt, trusted), 'string');
    const a = await op.account('A');
    assert.equal(typeof accountInfoFromJWT(expired.pub, a.jwt, trusted), 'string');
  });

  it('exports and imports map onto the account configuration', () => {
    assert.deepEqual(exportFromClaim({ subject: 'a.>', type: 'stream' }), { stream: 'a.>' });
    assert.deepEqual(
      exportFromClaim({ subject: 's', type: 'service', response_type: 'Stream', token_req: true, response_threshold: 5e9, revocations: { AR: 7 } }, ['AX']),
      {
        service: 's',
        responseType: 'stream',
        responseThresholdMs: 5000,
        accounts: [],
        activation: { issuers: ['AX'], revocations: { AR: 7 } },
      },
    );
    assert.deepEqual(importFromClaim({ subject: 'a.>', account: 'AX', type: 'stream', to: 'pre', token: 't' }), {
      stream: { account: 'AX', subject: 'a.>' },
      prefix: 'pre',
      claim: { type: 'stream', subject: 'a.>', to: 'pre', token: 't' },
    });
    assert.deepEqual(importFromClaim({ subject: 's', account: 'AX', type: 'service', local_subject: 'local' }), {
      service: { account: 'AX', subject: 's' },
      to: 'local',
      claim: { type: 'service', subject: 's', to: '', token: '' },
    });
    assert.equal(importFromClaim({ subject: 's', account: 'AX', type: 'nope' }), null);
  });

  it('operatorAccounts: only usable preloaded accounts; null without trust', async () => {
    const good = await op.account('G');
    const bad = await op.account('B', {}, { exp: NOW() - 5 });
    const opts = { ...defaultOptions(), trustedOperators: [op.jwt], resolver: { type: 'memory' as const } };
    opts.resolverPreload = { [good.pub]: good.jwt, [bad.pub]: bad.jwt };
    const r = operatorAccounts(opts);
    assert.deepEqual(r?.accounts.map((a) => a.name), [good.pub]);
    assert.equal(operatorAccounts(defaultOptions()), null);
    assert.equal(trustedKeysOf(defaultOptions()), null);
  });
});

describe('activation tokens', () => {
  const exporter = createAccount();
  const signer = createAccount();
  const importer = createAccount();
  const EXP = exporter.getPublicKey();
  const IMP = importer.getPublicKey();
  const issuers = new Set([EXP, signer.getPublicKey()]);
  const act = (subject: string, opts: { kind?: 'stream' | 'service'; exp?: number; signer?: typeof signer; sub?: typeof importer } = {}) =>
    encodeActivation('a', opts.sub ?? importer, exporter, opts.kind ?? 'stream', { subject }, {
      ...(opts.signer !== undefined ? { signer: opts.signer } : {}),
      ...(opts.exp !== undefined ? { exp: opts.exp } : {}),
    });

  it('jwt Subject.IsContainedIn', () => {
    assert.equal(subjectContainedIn('a.b', 'a.>'), true);
    assert.equal(subjectContainedIn('a.b.c', 'a.*.c'), true);
    assert.equal(subjectContainedIn('a.>', 'a.>'), true);
    assert.equal(subjectContainedIn('a.>', 'a.b.>'), false);
    assert.equal(subjectContainedIn('a', 'a.>'), false);
    assert.equal(subjectContainedIn('a.b.c', 'a.b'), false);
  });

  it('import validation: the token must name the importer, the exporter, the import kind and cover the subject', async () => {
    const imp = (token: string, extra: Record<string, unknown> = {}) => ({ type: 'stream', subject: 'p.>', account: EXP, token, ...extra });
    assert.deepEqual(importClaimProblems(IMP, imp(await act('p.>'))), []);
    assert.deepEqual(importClaimProblems(IMP, imp(await act('>', { signer }))), []);
    assert.deepEqual(importClaimProblems(IMP, imp(await act('p.>', { exp: NOW() - 5 }))), [], 'time checks are not blocking here');
    assert.deepEqual(importClaimProblems(IMP, imp('junk')), ['import "p.>" contains an invalid activation token']);
    assert.deepEqual(importClaimProblems(IMP, imp(await act('p.>', { sub: createAccount() }))), [
      'activation token doesn\'t match account it is being included in, "p.>"',
    ]);
    assert.deepEqual(importClaimProblems(IMP, imp(await act('p.x.>'))), ['activation token import subject "p.x.>" doesn\'t match import "p.>"']);
    assert.deepEqual(importClaimProblems(IMP, imp(await act('p.>', { kind: 'service' }))), [
      'mismatch between token import type service and type of import stream',
    ]);
    assert.deepEqual(importClaimProblems(IMP, { type: 'x', subject: '', account: '' }), [
      'invalid import type: "x"',
      'account to import from is not specified',
      'subject cannot be empty',
    ]);
    // a service import with `to` is checked on `to`
    assert.deepEqual(importClaimProblems(IMP, { type: 'service', subject: 'local', to: 's.a', account: EXP, token: await act('s.>', { kind: 'service' }) }), []);
  });

  it('checkActivation: issuer keys, expiry, revocations', async () => {
    const claim = async (token: Promise<string> | string) => ({ type: 'stream', subject: 'p.>', to: '', token: await token });
    const logs: string[] = [];
    const log = (m: string) => logs.push(m);
    assert.equal(checkActivation(EXP, issuers, IMP, undefined, null, log), null);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(''), null, log), null);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>')), null, log)?.sub, IMP);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>', { signer })), null, log)?.sub, IMP);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>', { signer: createAccount() })), null, log), null);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>', { exp: NOW() - 1 })), null, log), null);
    const later = NOW() + 100;
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>', { exp: later })), null, log)?.exp, later);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>')), new Map([[IMP, NOW() + 10]]), log), null);
    assert.equal(checkActivation(EXP, issuers, IMP, await claim(act('p.>')), new Map([['*', NOW() + 10]]), log), null);
    assert.notEqual(checkActivation(EXP, issuers, IMP, await claim(act('p.>')), new Map([[IMP, NOW() - 10]]), log), null);
    assert.deepEqual(logs, []);
  });

  it('an account JWT whose import is not valid is not usable', async () => {
    const kp = createAccount();
    const bad = await op.account('BADIMPORT', { imports: [{ name: 'i', type: 'stream', subject: 'p.>', account: EXP, token: 'junk' }] }, { kp });
    assert.equal(accountInfoFromJWT(bad.pub, bad.jwt, trusted), 'account validation failed');
    const token = await encodeActivation('a', kp, exporter, 'stream', { subject: 'p.>' });
    const kp2 = createAccount();
    const other = await op.account('OTHERIMPORT', { imports: [{ name: 'i', type: 'stream', subject: 'p.>', account: EXP, token }] }, { kp: kp2 });
    assert.equal(accountInfoFromJWT(other.pub, other.jwt, trusted), 'account validation failed');
    const ok = await op.account('GOODIMPORT', { imports: [{ name: 'i', type: 'stream', subject: 'p.>', account: EXP, token }] }, { kp });
    assert.notEqual(typeof accountInfoFromJWT(ok.pub, ok.jwt, trusted), 'string');
  });
});

describe('connect-time windows (server/jwt.go validateTimes)', () => {
  const at = (iso: string) => new Date(iso);
  it('inside a window: how long it lasts; outside: null; no windows: 0', () => {
    const n = { times: [{ start: '08:00:00', end: '09:00:00' }], times_location: 'UTC' };
    assert.equal(validateTimes(n, at('2026-11-27T08:30:00Z')), 30 * 60 * 1000);
    assert.equal(validateTimes(n, at('2026-11-27T09:30:00Z')), null);
    assert.equal(validateTimes(n, at('2026-11-27T08:00:00Z')), null, 'the start itself is not inside (Before is strict)');
    assert.equal(validateTimes({}, at('2026-11-27T08:30:00Z')), 0);
  });
  it('a window over midnight counts from today to tomorrow only', () => {
    const n = { times: [{ start: '23:00:00', end: '01:00:00' }], times_location: 'UTC' };
    assert.equal(validateTimes(n, at('2026-11-27T23:30:00Z')), 90 * 60 * 1000);
    assert.equal(validateTimes(n, at('2026-11-27T00:30:00Z')), null, "as the reference: after midnight today's window has not started");
  });
  it('the zone of times_location; an unknown zone or a bad time never matches', () => {
    const n = { times: [{ start: '09:00:00', end: '10:00:00' }], times_location: 'Europe/Berlin' };
    assert.equal(validateTimes(n, at('2026-11-27T08:30:00Z')), 30 * 60 * 1000);
    assert.equal(validateTimes({ ...n, times_location: 'Not/AZone' }, at('2026-11-27T08:30:00Z')), null);
    assert.equal(validateTimes({ times: [{ start: '9:00', end: '10:00:00' }], times_location: 'UTC' }, at('2026-11-27T09:30:00Z')), null);
  });
});

describe('user permissions from the JWT', () => {
  it('pub/sub allow and deny', () => {
    assert.deepEqual(permissionsFromUserClaims({ pub: { allow: ['a'], deny: [] }, sub: { allow: [], deny: ['b'] } }), {
      publish: { allow: ['a'] },
      subscribe: { deny: ['b'] },
    });
    assert.equal(permissionsFromUserClaims({ pub: { allow: [], deny: [] } }), undefined);
  });

  it('resp: defaults of one message and two minutes; ttl in nanoseconds', () => {
    assert.deepEqual(permissionsFromUserClaims({ resp: { max: 0, ttl: 0 } })?.response, { maxMsgs: 1, expiresMs: 120_000 });
    assert.deepEqual(permissionsFromUserClaims({ resp: { max: 3, ttl: 2e9 } })?.response, { maxMsgs: 3, expiresMs: 2000 });
  });
});

describe('user restrictions', () => {
  it('validateSrc: CIDR lists (array or comma string), IPv4-mapped addresses, malformed entries refuse', () => {
    assert.equal(validateSrc({}, '1.2.3.4'), true);
    assert.equal(validateSrc({ src: ['127.0.0.0/8'] }, '127.0.0.1'), true);
    assert.equal(validateSrc({ src: ['127.0.0.0/8'] }, '::ffff:127.0.0.1'), true);
    assert.equal(validateSrc({ src: '10.0.0.0/8, 127.0.0.1/32' }, '127.0.0.1'), true);
    assert.equal(validateSrc({ src: ['10.0.0.0/8'] }, '127.0.0.1'), false);
    assert.equal(validateSrc({ src: ['::1/128'] }, '::1'), true);
    assert.equal(validateSrc({ src: ['127.0.0.1'] }, '127.0.0.1'), false);
    assert.equal(validateSrc({ src: ['127.0.0.0/8'] }, ''), false);
  });

  it('hasEmptyPermissions: any permission or limit set makes a scoped user invalid', () => {
    assert.equal(hasEmptyPermissions({ type: 'user', version: 2, issuer_account: 'A' }), true);
    assert.equal(hasEmptyPermissions({ pub: { allow: [], deny: [] }, subs: 0 }), true);
    assert.equal(hasEmptyPermissions({ pub: { allow: ['x'] } }), false);
    assert.equal(hasEmptyPermissions({ subs: -1 }), false);
    assert.equal(hasEmptyPermissions({ bearer_token: true }), false);
  });

  it('goTime: Go time.Time formatting', () => {
    if (new Date().getTimezoneOffset() === 0) assert.equal(goTime(0), '1970-01-01 00:00:00 +0000 UTC');
    assert.match(goTime(1_700_000_000), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
  });
});

describe('embedded server in operator mode', () => {
  it('nonce in INFO, user JWT accepted, bad signature refused, revoked refused, account limit', async () => {
    const acc = await op.account('A', { limits: { conn: 2 } });
    const revokedKp = createUser();
    const acc2 = await op.account('R', { revocations: { [revokedKp.getPublicKey()]: NOW() + 60 } });
    const s = new Server({
      host: '127.0.0.1',
      port: -1,
      trustedOperators: [op.jwt],
      resolver: { type: 'memory' },
      resolverPreload: { [acc.pub]: acc.jwt, [acc2.pub]: acc2.jwt },
    });
    await s.start();
    try {
      const u = await user(acc, 'u');
      const ok = await login(s.port, u);
      assert.equal(ok.answer, 'PONG\r\n');
      assert.equal(String(ok.info.nonce).length, 15);
      assert.equal(ok.info.auth_required, true);
      assert.equal(s.lookupAccount(acc.pub)?.numClients, 1);

      const bad = await login(s.port, u, { signWith: createUser() });
      assert.equal(bad.answer, "-ERR 'Authorization Violation'\r\n");

      const revoked = await login(s.port, await user(acc2, 'r', {}, { kp: revokedKp }));
      assert.equal(revoked.answer, "-ERR 'Authorization Violation'\r\n");

      const second = await login(s.port, await user(acc, 'u2'));
      assert.equal(second.answer, 'PONG\r\n');
      const third = await login(s.port, await user(acc, 'u3'));
      assert.equal(third.answer, "-ERR 'maximum account active connections exceeded'\r\n");
      for (const c of [ok, bad, revoked, second, third]) c.client.close();
    } finally {
      await s.shutdown();
    }
  });

  it('a user JWT expiring while connected is told and closed', async () => {
    const acc = await op.account('A');
    const s = new Server({
      host: '127.0.0.1',
      port: -1,
      trustedOperators: [op.jwt],
      resolver: { type: 'memory' },
      resolverPreload: { [acc.pub]: acc.jwt },
    });
    await s.start();
    try {
      const r = await login(s.port, await user(acc, 'u', {}, { exp: NOW() + 2 }));
      assert.equal(r.answer, 'PONG\r\n');
      const err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 10_000);
      assert.match(err, /-ERR 'User Authentication Expired'\r\n$/);
      assert.equal(await r.client.waitClosed(5000), true);
    } finally {
      await s.shutdown();
    }
  });
});
