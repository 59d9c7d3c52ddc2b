// The server's identity: like nats-server (server.go NewServer:
// nkeys.CreateServer, PublicKey), a server public nkey, "N" + 55 base32
// characters. Only the public half was ever used, and nothing checks that a
// private key belongs to it, so the 32 key bytes are random bytes read from
// /dev/urandom: an ed25519 key pair from node:crypto meant loading that
// module (~6 ms) and generating a key (~1.5 ms) before the client listener
// opens, and a server's start-up time shows in clients' reconnect counts and
// in test suites that wait a fixed time after spawning it. (@nats-io/nkeys'
// pure-JS ed25519, before that, took ~0.2 s of a cold start.)

import { closeSync, openSync, readSync } from 'node:fs';
import { nodeCrypto } from './builtins.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** nkeys PrefixByteServer (13 << 3): encodes to a leading "N" */
const PREFIX_SERVER = 13 << 3;

/** CRC-16/XMODEM (poly 0x1021, init 0), as nkeys' crc16.go. */
function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** RFC 4648 base32 without padding, as nkeys' b32Enc. */
function base32(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The nkey public key text of a 32-byte ed25519 public key with the server prefix. */
export function encodeServerPublicKey(pub: Uint8Array): string {
  const raw = new Uint8Array(1 + pub.length + 2);
  raw[0] = PREFIX_SERVER;
  raw.set(pub, 1);
  const crc = crc16(raw.subarray(0, 1 + pub.length));
  raw[1 + pub.length] = crc & 0xff;
  raw[2 + pub.length] = crc >>> 8;
  return base32(raw);
}

/** A new server id (server_id in INFO, /varz, the log banner). */
export function newServerId(): string {
  return encodeServerPublicKey(randomBytesSync(32));
}

/**
 * `n` random bytes from /dev/urandom, for what the start-up path needs
 * (the server id, the system account's event id prefix): node:crypto costs
 * ~8 ms of CPU and ~2 MB of RSS to load on the bench machine.
 */
export function randomBytesSync(n: number): Uint8Array {
  const b = new Uint8Array(n);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, b, 0, n, null) === n) return b;
    } finally {
      closeSync(fd);
    }
  } catch {
    /* no /dev/urandom (Windows): node:crypto below */
  }
  return nodeCrypto().randomFillSync(b);
}
