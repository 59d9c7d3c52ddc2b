// Differential tests of the NATS-based account resolver of operator mode
// (`resolver { type: full, dir: ... }`): the preloads stored in the
// directory, account JWTs pushed by a system account user
// ($SYS.REQ.CLAIMS.UPDATE, $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE) and looked
// up ($SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP), the answers' JSON (the
// "server" part masked), logins before and after a push, and a pushed
// revocation disconnecting a connected user. Each server gets its own
// directory; the same actions must give the same results.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAccount, encodeAccount, encodeGeneric } from '@nats-io/jwt';
import { referenceOnly, startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { sleep, type RawClient } from '../helpers/rawclient.js';
import { NOW, Operator, UNLIMITED, login, operatorConfig, user } from '../helpers/jwt-fixture.js';
import { differentialScenario } from '../helpers/diff.js';
import { tempDir } from '../helpers/tmp.js';

const PONG = 'PONG\r\n';
const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

const op = await Operator.create();
const sys = await op.account('SYS');
const accA = await op.account('A');
const accB = await op.account('B');
const sysUser = await user(sys, 'admin');
const userA = await user(accA, 'a');
const userA2 = await user(accA, 'a2');
// A again, later, revoking userA
const accARevoking = await encodeAccount(
  'A',
  accA.kp,
  { limits: UNLIMITED, signing_keys: [accA.signer.getPublicKey()], revocations: { [userA.pub]: NOW() + 3600 } },
  { signer: op.signer },
);

function config(dir: string, type = 'full', preload: { pub: string; jwt: string }[] = [sys], extra = ''): string {
  return [
    `operator: ${op.jwt}`,
    `system_account: ${sys.pub}`,
    `resolver: { type: ${type}, dir: "${dir}"${extra} }`,
    'resolver_preload: {',
    ...preload.map((a) => `  ${a.pub}: ${a.jwt}`),
    '}',
    '',
  ].join('\n');
}

/** A request from the system user: the answer on its inbox, "server" masked. */
async function request(admin: RawClient, subject: string, payload: string): Promise<unknown> {
  const n = Buffer.byteLength(payload);
  await admin.send(`PUB ${subject} _INBOX.admin ${n}\r\n${payload}\r\n`);
  // one whole MSG frame on the inbox (the answer comes from the server's internal sender)
  const frame = (u: Buffer): boolean => {
    const t = u.toString('latin1');
    const m = /MSG _INBOX\.admin 1  (\d+)\r\n/.exec(t);
    return m !== null && t.length >= m.index + m[0].length + Number(m[1]) + 2;
  };
  const text = await admin.readUntil(frame, 5000).catch(() => 'timeout');
  const m = /MSG _INBOX\.admin 1  (\d+)\r\n/.exec(text);
  if (m === null) return 'no answer';
  const body = text.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1]));
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    // key order kept: the reference marshals a map (sorted keys) around its ServerInfo struct
    if (j.server !== undefined) j.server = Object.keys(j.server as object);
    return { keys: Object.keys(j), ...j };
  } catch {
    return body === accA.jwt ? '<A jwt>' : body === accARevoking ? '<A revoking jwt>' : body;
  }
}

async function scenario(s: RunningServer, dir: string) {
  const notice = s
    .stderr()
    .split('\n')
    .filter((l) => l.includes('exclusive directory'))
    .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replace(dir, '<dir>'));
  const preloadStored = existsSync(join(dir, `${sys.pub}.jwt`));
  const before = await login(s.port, userA);
  if (before.answer !== PONG) await before.client.waitClosed(5000);
  before.client.close();
  const admin = await login(s.port, sysUser);
  assert.equal(admin.answer, PONG);
  await admin.client.send('SUB _INBOX.admin 1\r\nPING\r\n');
  await admin.client.readUntil(PONG);
  const pushed = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', accA.jwt);
  const stored = existsSync(join(dir, `${accA.pub}.jwt`)) && readFileSync(join(dir, `${accA.pub}.jwt`), 'utf8') === accA.jwt;
  const a = await login(s.port, userA);
  const a2 = await login(s.port, userA2);
  const lookup = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.LOOKUP`, '');
  const garbage = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', 'not a jwt');
  const mismatch = await request(admin.client, `$SYS.REQ.ACCOUNT.${accB.pub}.CLAIMS.UPDATE`, accA.jwt);
  const userJwt = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', userA.jwt);
  // the revocation of userA arrives while it is connected
  const revoking = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, accARevoking);
  const revokedErr = await a.client.readUntil(/-ERR '[^']*'\r\n/, 5000).catch(() => 'no -ERR');
  const revokedClosed = await a.client.waitClosed(5000);
  await a2.client.send('PING\r\n');
  const a2Alive = await a2.client.readUntil(PONG, 5000).then(
    () => true,
    () => false,
  );
  const again = await login(s.port, userA);
  if (again.answer !== PONG) await again.client.waitClosed(5000);
  const lookup2 = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.LOOKUP`, '');
  const list = await request(admin.client, '$SYS.REQ.CLAIMS.LIST', '');
  for (const c of [admin, a, a2, again]) c.client.close();
  await sleep(100);
  return {
    notice,
    preloadStored,
    before: before.answer,
    pushed,
    stored,
    a: a.answer,
    lookup,
    garbage,
    mismatch,
    userJwt,
    revoking,
    revokedErr: revokedErr.replace(/^(PING\r\n)+/, ''),
    revokedClosed,
    a2Alive,
    again: again.answer,
    lookup2,
    list,
  };
}

describe('operator mode: NATS resolver (type: full)', () => {
  it('preloads stored, pushes and lookups over $SYS, a pushed revocation disconnects', async () => {
    const run = async (kind: ServerKind) => {
      const dir = tempDir(`tsnats-jwt-${kind}-`);
      const s = await startServer(kind, ['-c', writeConfig(config(dir))]);
      try {
        return await scenario(s, dir);
      } finally {
        await s.stop();
      }
    };
    const ref = await run('reference');
    const serverKeys = ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time'];
    assert.deepEqual(ref, {
      notice: ['[INF] Managing all jwt in exclusive directory <dir>'],
      preloadStored: true,
      before: AUTH_VIOLATION,
      pushed: { keys: ['data', 'server'], server: serverKeys, data: { account: accA.pub, code: 200, message: 'jwt updated' } },
      stored: true,
      a: PONG,
      lookup: '<A jwt>',
      garbage: { keys: ['error', 'server'], server: serverKeys, error: { account: 'n/a', code: 500, description: 'jwt update resulted in error - expected 3 chunks' } },
      mismatch: {
        keys: ['error', 'server'],
        server: serverKeys,
        error: { account: accB.pub, code: 500, description: 'jwt update resulted in error - subject does not match jwt content' },
      },
      userJwt: { keys: ['error', 'server'], server: serverKeys, error: { account: 'n/a', code: 500, description: 'jwt update resulted in error - not account claim' } },
      revoking: { keys: ['data', 'server'], server: serverKeys, data: { account: accA.pub, code: 200, message: 'jwt updated' } },
      revokedErr: "-ERR 'User Authentication Revoked'\r\n",
      revokedClosed: true,
      a2Alive: true,
      again: AUTH_VIOLATION,
      lookup2: '<A revoking jwt>',
      list: { keys: ['data', 'server'], data: [accA.pub, sys.pub].sort(), server: serverKeys },
    });
    if (!referenceOnly()) assert.deepEqual(await run('tsnats'), ref);
  });
});

describe('operator mode: NATS resolver deletes ($SYS.REQ.CLAIMS.DELETE)', () => {
  it('refused without allow_delete, not self-signed, for the system account; a deleted account closes its clients', async () => {
    const del = (accounts: string[], signer?: typeof op.signer) =>
      encodeGeneric('delete', op.kp, 'generic', { accounts } as never, signer !== undefined ? { signer } : {});
    const run = async (kind: ServerKind, allow: boolean) => {
      const dir = tempDir(`tsnats-jwt-del-${kind}-`);
      const s = await startServer(kind, ['-c', writeConfig(config(dir, 'full', [sys, accA], allow ? ', allow_delete: true' : ''))]);
      try {
        const admin = await login(s.port, sysUser);
        await admin.client.send('SUB _INBOX.admin 1\r\nPING\r\n');
        await admin.client.readUntil(PONG);
        const a = await login(s.port, userA);
        const out: Record<string, unknown> = { a: a.answer };
        out.notSelfSigned = await request(admin.client, '$SYS.REQ.CLAIMS.DELETE', await del([accA.pub], op.signer));
        out.system = await request(admin.client, '$SYS.REQ.CLAIMS.DELETE', await del([sys.pub]));
        out.malformed = await request(admin.client, '$SYS.REQ.CLAIMS.DELETE', await del(['nope']));
        out.deleted = await request(admin.client, '$SYS.REQ.CLAIMS.DELETE', await del([accA.pub]));
        out.err = (await a.client.readUntil(/-ERR '[^']*'\r\n/, 3000).catch(() => 'no -ERR')).replace(/^(PING\r\n)+/, '');
        out.closed = await a.client.waitClosed(allow ? 5000 : 300);
        out.renamed = existsSync(join(dir, `${accA.pub}.jwt.deleted`)) && !existsSync(join(dir, `${accA.pub}.jwt`));
        const again = await login(s.port, userA);
        if (again.answer !== PONG) await again.client.waitClosed(5000);
        out.again = again.answer;
        for (const c of [admin, a, again]) c.client.close();
        return out;
      } finally {
        await s.stop();
      }
    };
    const server = ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time'];
    const failed = (why: string, by = op.kp.getPublicKey()) => ({
      keys: ['error', 'server'],
      error: { code: 500, description: `delete accounts request by ${by} failed - ${why}` },
      server,
    });
    const refWithout = await run('reference', false);
    assert.deepEqual(refWithout, {
      a: PONG,
      notSelfSigned: failed('delete must be enabled in server config'),
      system: failed('delete must be enabled in server config'),
      malformed: failed('delete must be enabled in server config'),
      deleted: failed('delete must be enabled in server config'),
      err: 'no -ERR',
      closed: false,
      renamed: false,
      again: PONG,
    });
    const refWith = await run('reference', true);
    assert.deepEqual(refWith, {
      a: PONG,
      notSelfSigned: failed('not self signed'),
      system: failed('not allowed to delete system account'),
      malformed: failed('malformed request'),
      deleted: { keys: ['data', 'server'], data: { code: 200, message: 'deleted 1 accounts' }, server },
      err: "-ERR 'Account Authentication Expired'\r\n",
      closed: true,
      renamed: true,
      again: AUTH_VIOLATION,
    });
    if (!referenceOnly()) {
      assert.deepEqual(await run('tsnats', false), refWithout);
      assert.deepEqual(await run('tsnats', true), refWith);
    }
  });
});

describe('operator mode: claim updates to a MEMORY resolver (events.go accountClaimUpdate)', () => {
  it('a loaded account takes the pushed JWT (a revocation disconnects), others are skipped', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const admin = await login(s.port, sysUser);
        await admin.client.send('SUB _INBOX.admin 1\r\nPING\r\n');
        await admin.client.readUntil(PONG);
        const skipped = await request(admin.client, `$SYS.REQ.ACCOUNT.${accB.pub}.CLAIMS.UPDATE`, accB.jwt);
        const a = await login(s.port, userA);
        const empty = await request(admin.client, `$SYS.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, '');
        const mismatch = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, accB.jwt);
        const same = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, accA.jwt);
        const revoking = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, accARevoking);
        const err = (await a.client.readUntil(/-ERR '[^']*'\r\n/, 5000).catch(() => 'no -ERR')).replace(/^(PING\r\n)+/, '');
        const closed = await a.client.waitClosed(5000);
        const again = await login(s.port, userA);
        const other = await login(s.port, userA2);
        const claimsReq = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', accA.jwt);
        for (const c of [admin, a, again, other]) c.client.close();
        return { skipped, a: a.answer, empty, mismatch, same, revoking, err, closed, again: again.answer, other: other.answer, claimsReq };
      },
      { config: operatorConfig(op, [sys, accA, accB], sys) },
    );
    const server = ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time'];
    const ok = (acc: string, message: string) => ({ keys: ['data', 'server'], data: { account: acc, code: 200, message }, server });
    const fail = (acc: string, description: string) => ({ keys: ['error', 'server'], error: { account: acc, code: 500, description }, server });
    assert.deepEqual(ref, {
      skipped: ok(accB.pub, 'jwt update skipped'),
      a: PONG,
      empty: fail(accA.pub, 'jwt update error - request body is empty'),
      mismatch: fail(accA.pub, 'jwt update resulted in error - subject does not match jwt content'),
      same: ok(accA.pub, 'jwt updated'),
      revoking: ok(accA.pub, 'jwt updated'),
      err: "-ERR 'User Authentication Revoked'\r\n",
      closed: true,
      again: AUTH_VIOLATION,
      other: PONG,
      claimsReq: 'no answer',
    });
  });
});

describe('operator mode: NATS resolver (type: cache)', () => {
  it('only accounts in use are updated; no lookups answered', async () => {
    const badImport = await encodeAccount(
      'A',
      accA.kp,
      { limits: UNLIMITED, imports: [{ name: 'x', type: 'stream', subject: 'x.>', account: createAccount().getPublicKey(), token: 'junk' }] },
      { signer: op.signer },
    );
    const run = async (kind: ServerKind) => {
      const dir = tempDir(`tsnats-jwt-cache-${kind}-`);
      const s = await startServer(kind, ['-c', writeConfig(config(dir, 'cache', [sys, accA]))]);
      try {
        const notice = s
          .stderr()
          .split('\n')
          .filter((l) => l.includes('exclusive directory'))
          .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replace(dir, '<dir>'));
        const admin = await login(s.port, sysUser);
        await admin.client.send('SUB _INBOX.admin 1\r\nPING\r\n');
        await admin.client.readUntil(PONG);
        const notLoaded = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', accB.jwt);
        const a = await login(s.port, userA);
        const garbage = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, 'not a jwt');
        const invalid = await request(admin.client, '$SYS.REQ.CLAIMS.UPDATE', badImport);
        const revoking = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.UPDATE`, accARevoking);
        const revokedErr = await a.client.readUntil(/-ERR '[^']*'\r\n/, 5000).catch(() => 'no -ERR');
        const lookup = await request(admin.client, `$SYS.REQ.ACCOUNT.${accA.pub}.CLAIMS.LOOKUP`, '');
        admin.client.close();
        a.client.close();
        return { notice, notLoaded, a: a.answer, garbage, invalid, revoking, revokedErr: revokedErr.replace(/^(PING\r\n)+/, ''), lookup };
      } finally {
        await s.stop();
      }
    };
    const ref = await run('reference');
    const server = ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time'];
    assert.deepEqual(ref, {
      notice: ['[INF] Managing some jwt in exclusive directory <dir>'],
      notLoaded: { keys: ['data', 'server'], data: { account: accB.pub, code: 200, message: 'jwt update cache skipped' }, server },
      a: PONG,
      garbage: {
        keys: ['error', 'server'],
        error: { account: accA.pub, code: 500, description: 'jwt update cache resulted in error - expected 3 chunks' },
        server,
      },
      invalid: {
        keys: ['error', 'server'],
        error: {
          account: accA.pub,
          code: 500,
          description: 'jwt update cache validation failed - validation errors: [import "x.>" contains an invalid activation token]',
        },
        server,
      },
      revoking: { keys: ['data', 'server'], data: { account: accA.pub, code: 200, message: 'jwt updated cache' }, server },
      revokedErr: "-ERR 'User Authentication Revoked'\r\n",
      lookup: 'no answer',
    });
    if (!referenceOnly()) assert.deepEqual(await run('tsnats'), ref);
  });
});
