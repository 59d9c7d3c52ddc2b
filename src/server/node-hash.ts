// server/events.go getHash / getHashSize: the short, stable name of a server
// (its "node" in JetStream and the system events), base-62 digits of the
// SHA-256 of the server name.

import { createHash } from 'node:crypto';

// server/accounts.go digits/base
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** server/events.go sysHashLen */
export const SYS_HASH_LEN = 8;

const cache = new Map<string, string>();

/** getHashSize(name, size): `size` characters. */
export function getHashSize(name: string, size: number): string {
  const key = `${size}:${name}`;
  let h = cache.get(key);
  if (h === undefined) {
    const b = createHash('sha256').update(name, 'utf8').digest();
    h = '';
    for (let i = 0; i < size; i++) h += DIGITS[b[i]! % 62];
    if (cache.size > 1024) cache.clear();
    cache.set(key, h);
  }
  return h;
}

/** getHash(name): the 8-character node name. */
export function getHash(name: string): string {
  return getHashSize(name, SYS_HASH_LEN);
}
