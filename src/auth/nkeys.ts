// @nats-io/nkeys and @nats-io/jwt, loaded on first use. Together they were
// ~35 ms of a ~290 ms start-up on the 2-vCPU bench machine (module loading
// and tweetnacl's set-up), and a server without nkey or JWT users never
// needs them. Both are CommonJS packages, so a synchronous require keeps
// every call site synchronous.
import { createRequire } from 'node:module';
import type * as NKeys from '@nats-io/nkeys';
import type * as JWT from '@nats-io/jwt';

const require = createRequire(import.meta.url);
let nkeys: typeof NKeys | null = null;
let jwt: typeof JWT | null = null;

/** @nats-io/nkeys fromPublic: throws on a key that is not a valid public nkey. */
export function fromPublic(key: string): NKeys.KeyPair {
  nkeys ??= require('@nats-io/nkeys') as typeof NKeys;
  return nkeys.fromPublic(key);
}

/** @nats-io/jwt decode: the claims of a JWT (signature checked against its issuer). */
export const decode = (<T>(token: string) => {
  jwt ??= require('@nats-io/jwt') as typeof JWT;
  return jwt.decode<T>(token);
}) as typeof JWT.decode;
