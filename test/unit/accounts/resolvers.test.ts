// Unit tests of the account resolvers' pieces: the directory store of the
// NATS resolver (dirstore.go save / saveIfNewer) and the URL resolver's
// redaction of passwords in the URLs it logs.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAccount, encodeAccount } from '@nats-io/jwt';
import { DirJwtStore } from '../../../src/accounts/dir-resolver.js';
import { redactURL } from '../../../src/accounts/url-resolver.js';
import { Operator } from '../../helpers/jwt-fixture.js';
import { tempDir } from '../../helpers/tmp.js';

const op = await Operator.create();

describe('DirJwtStore', () => {
  it('creates the directory, loads the .jwt files in it and ignores other files', () => {
    const base = tempDir('tsnats-dirstore-');
    writeFileSync(join(base, 'AXYZ.jwt'), 'token-x');
    writeFileSync(join(base, 'README'), 'not a jwt');
    const st = new DirJwtStore(base);
    assert.deepEqual([...st.jwts.keys()], ['AXYZ']);
    assert.equal(st.load('AXYZ'), 'token-x');
    const fresh = new DirJwtStore(join(base, 'sub', 'dir'));
    assert.ok(existsSync(fresh.directory));
  });

  it('saveIfNewer keeps a newer stored JWT; save replaces it', async () => {
    const kp = createAccount();
    const pub = kp.getPublicKey();
    // iat has a one-second resolution
    const older = await encodeAccount('A', kp, {}, { signer: op.signer });
    await new Promise((r) => setTimeout(r, 1100));
    const newer = await encodeAccount('A', kp, { tags: ['v2'] }, { signer: op.signer });
    const st = new DirJwtStore(tempDir('tsnats-dirstore-'));
    assert.equal(st.saveIfNewer(pub, newer), true);
    assert.equal(st.saveIfNewer(pub, newer), false, 'the same JWT');
    assert.equal(st.saveIfNewer(pub, older), false, 'an older JWT does not replace a newer one');
    assert.equal(readFileSync(join(st.directory, `${pub}.jwt`), 'utf8'), newer);
    assert.equal(st.save(pub, older), true, 'a push replaces whatever is stored');
    assert.equal(st.load(pub), older);
    assert.throws(() => st.save('../x', older), /invalid public key/);
  });

  it('saveIfNewer refuses a JWT about another account over an existing one', async () => {
    const kp = createAccount();
    const other = createAccount();
    const st = new DirJwtStore(tempDir('tsnats-dirstore-'));
    st.saveIfNewer(kp.getPublicKey(), await encodeAccount('A', kp, {}, { signer: op.signer }));
    await new Promise((r) => setTimeout(r, 1100));
    const foreign = await encodeAccount('B', other, {}, { signer: op.signer });
    assert.throws(() => st.saveIfNewer(kp.getPublicKey(), foreign), /jwt subject nkey and provided nkey do not match/);
  });
});

describe('redactURL', () => {
  it('hides a password, leaves other URLs alone', () => {
    assert.equal(redactURL('http://u:secret@h:1/jwt/v1/accounts/A'), 'http://u:xxxxx@h:1/jwt/v1/accounts/A');
    assert.equal(redactURL('http://h:1/jwt/v1/accounts/'), 'http://h:1/jwt/v1/accounts/');
    assert.equal(redactURL('not a url'), 'not a url');
  });
});
