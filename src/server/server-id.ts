// The server's identity: like nats-server (server.go NewServer:
// nkeys.CreateServer, PublicKey), the public key of a fresh ed25519 server
// nkey, "N" + 55 base32 characters. The key pair is made by node:crypto:
// @nats-io/nkeys' pure-JS ed25519 took ~0.2 s of a cold start (much more on a
// loaded machine), and a server restart's time shows in clients' reconnect
// counts (nats.js 'ws - indefinite reconnects'). Only the public half is used.

import { generateKeyPairSync } from 'node:crypto';

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
  const { publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return encodeServerPublicKey(new Uint8Array(der.subarray(der.length - 32)));
}
