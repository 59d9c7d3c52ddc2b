// Random identifiers JetStream hands out: advisory ids (nuid-like, as
// server/events.go), consumer and snapshot names.
import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `len` characters of [0-9A-Za-z] */
export function randomId(len: number, alphabet = BASE62): string {
  const b = randomBytes(len);
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[b[i] % alphabet.length];
  return s;
}

/** an advisory's id: 22 characters, as a nuid */
export function eventId(): string {
  return randomId(22);
}
