// The server id must be a valid server nkey: the nkeys library decodes it
// (prefix, base32, CRC-16), and the encoding carries a real ed25519 key
// (signatures of the key pair verify against it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { fromPublic } from '@nats-io/nkeys';
import { encodeServerPublicKey, newServerId } from '../../../src/server/server-id.js';

test('newServerId: "N" + 55 base32 characters, a valid server public nkey, different each time', () => {
  const a = newServerId();
  const b = newServerId();
  assert.match(a, /^N[A-Z2-7]{55}$/);
  assert.notEqual(a, b);
  assert.equal(fromPublic(a).getPublicKey(), a);
});

test('encodeServerPublicKey carries the ed25519 key: nkeys verifies a node:crypto signature', () => {
  for (let i = 0; i < 20; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    const id = encodeServerPublicKey(new Uint8Array(der.subarray(der.length - 32)));
    const msg = Buffer.from(`nonce-${i}`);
    const sig = sign(null, msg, privateKey);
    assert.equal(fromPublic(id).verify(msg, sig), true);
    assert.equal(fromPublic(id).verify(Buffer.from('other'), sig), false);
  }
});
