import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { getHash, getHashSize, sha256 } from '../../../src/server/node-hash.js';

test('sha256 equals node:crypto for lengths around every padding boundary', () => {
  for (let n = 0; n <= 300; n++) {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (i * 31 + n * 7) & 0xff;
    assert.equal(Buffer.from(sha256(data)).toString('hex'), createHash('sha256').update(data).digest('hex'), `length ${n}`);
  }
});

test('getHash: base-62 digits of the name\'s SHA-256, as server/events.go getHash', () => {
  const ref = (name: string, size: number) => {
    const b = createHash('sha256').update(name, 'utf8').digest();
    let s = '';
    for (let i = 0; i < size; i++) s += '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[b[i]! % 62];
    return s;
  };
  for (const name of ['', 'a', 'NCXYZ', 'server-é-ü-日本', 'x'.repeat(1000)]) {
    assert.equal(getHash(name), ref(name, 8));
    assert.equal(getHashSize(name, 6), ref(name, 6));
  }
});
