// Reading the JWTs a config can reference (operator files, resolver_preload),
// with the checks nats-io/jwt v2 Decode makes: three chunks, a known
// header, a signature from the issuer, and the expected claim type.

import { readFileSync } from 'node:fs';
import { fromPublic } from '../auth/nkeys.js';

export interface DecodedClaims {
  /** subject public key */
  sub: string;
  iss: string;
  /** claim type: operator, account, user, ... */
  type: string;
  /** the nats section (v2) or top-level fields (v1) */
  nats: Record<string, unknown>;
}

export class JWTError extends Error {
  readonly code = 'E_CONF_JWT';
  constructor(message: string) {
    super(message);
    this.name = 'JWTError';
  }
}

const DECORATED = /\s*(?:(?:-{3,}.*-{3,}\r?\n)([\w\-.=]+)(?:\r?\n-{3,}.*-{3,}\r?\n))/;

/** jwt.ParseDecoratedJWT: the first armored JWT, or the whole text as-is. */
export function parseDecoratedJWT(contents: string): string {
  const m = DECORATED.exec(contents);
  return m === null ? contents : m[1];
}

function b64url(s: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new JWTError('illegal base64 data');
  return Buffer.from(s, 'base64url');
}

/** jwt.Decode: verifies structure and signature; throws JWTError. */
export function decodeJWT(token: string): DecodedClaims {
  const chunks = token.split('.');
  if (chunks.length !== 3) throw new JWTError('expected 3 chunks');
  let header: { typ?: string; alg?: string };
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(b64url(chunks[0]).toString('utf8')) as typeof header;
  } catch (e) {
    throw e instanceof JWTError ? e : new JWTError('invalid header');
  }
  if (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT') {
    throw new JWTError(`not supported type ${String(header.typ)}`);
  }
  const alg = String(header.alg ?? '').toLowerCase();
  if (alg !== 'ed25519' && alg !== 'ed25519-nkey') throw new JWTError(`unexpected ${String(header.alg)} algorithm`);
  try {
    payload = JSON.parse(b64url(chunks[1]).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw e instanceof JWTError ? e : new JWTError('invalid claims');
  }
  const sig = b64url(chunks[2]);
  const v1 = typeof payload.type === 'string';
  const nats = (v1 ? payload : (payload.nats as Record<string, unknown> | undefined)) ?? {};
  const iss = String(payload.iss ?? '');
  const signed = v1 ? chunks[1] : `${chunks[0]}.${chunks[1]}`;
  let ok = false;
  try {
    ok = fromPublic(iss).verify(Buffer.from(signed, 'utf8'), sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new JWTError(`claim failed V${v1 ? 1 : 2} signature verification`);
  return { sub: String(payload.sub ?? ''), iss, type: String(nats.type ?? ''), nats };
}

/** server/jwt.go readOperatorJWT: a file name, or the JWT inline. */
export function readOperatorJWT(fileOrJwt: string): { jwt: string; claims: DecodedClaims } {
  let contents: string;
  try {
    contents = readFileSync(fileOrJwt, 'utf8');
  } catch (e) {
    if (!fileOrJwt.startsWith('eyJ')) {
      const code = (e as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new JWTError(`open ${fileOrJwt}: ${reason}`);
    }
    contents = fileOrJwt;
  }
  const jwt = parseDecoratedJWT(contents);
  const claims = decodeJWT(jwt);
  if (claims.type !== 'operator') throw new JWTError('not operator claim');
  return { jwt, claims };
}
