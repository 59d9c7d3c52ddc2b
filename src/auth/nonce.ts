// The nonce signature a client sends in CONNECT `sig` (server/auth.go
// isClientAuthorized for nkey users, processClientOrLeafAuthentication for
// user JWTs): the same checks and debug texts for both.

import { fromPublic } from './nkeys.js';

/** Go's base64.RawURLEncoding, falling back to StdEncoding (both strict). */
function decodeSignature(s: string): Uint8Array | null {
  if (/^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1) return Buffer.from(s, 'base64url');
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0) return Buffer.from(s, 'base64');
  return null;
}

/**
 * Check `sig` over `nonce` with the public key `pub`: null when it verifies,
 * else the reference's debug text. `badKey` words a public key that does not
 * parse (nkey users log it; for a JWT user it is just "not verified").
 */
export function nonceSignatureError(
  pub: string,
  nonce: string,
  sig: string,
  badKey?: (e: Error) => string,
): string | null {
  if (sig === '') return 'Signature missing';
  const raw = decodeSignature(sig);
  if (raw === null) return 'Signature not valid base64';
  let kp;
  try {
    kp = fromPublic(pub);
  } catch (e) {
    if (badKey !== undefined) return badKey(e as Error);
    return 'Signature not verified';
  }
  let ok = false;
  try {
    ok = kp.verify(Buffer.from(nonce, 'latin1'), raw);
  } catch {
    ok = false;
  }
  return ok ? null : 'Signature not verified';
}
