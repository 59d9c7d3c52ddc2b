// Operator-mode fixtures for the JWT tests: an operator, accounts and users
// generated at test time with @nats-io/jwt + @nats-io/nkeys, the config
// both servers get, and a raw-TCP login that signs the INFO nonce.

import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  type Account as AccountClaims,
  type KeyPair,
  type User as UserClaims,
} from '@nats-io/jwt';
import { connect, type RawClient } from './rawclient.js';

export const NOW = (): number => Math.floor(Date.now() / 1000);

/** jwt.NoLimit everywhere, as nsc writes it. */
export const UNLIMITED = { conn: -1, subs: -1, payload: -1, data: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 };

export interface AccountFixture {
  kp: KeyPair;
  pub: string;
  jwt: string;
  /** a signing key listed in the account JWT */
  signer: KeyPair;
}

export interface UserFixture {
  kp: KeyPair;
  pub: string;
  jwt: string;
}

export class Operator {
  readonly kp = createOperator();
  readonly signer = createOperator();
  jwt = '';

  static async create(): Promise<Operator> {
    const o = new Operator();
    o.jwt = await encodeOperator('test-operator', o.kp, { signing_keys: [o.signer.getPublicKey()] });
    return o;
  }

  /** An account signed by the operator's signing key (or `issuer`). */
  async account(
    name: string,
    claims: Partial<AccountClaims> = {},
    opts: { exp?: number; issuer?: KeyPair; kp?: KeyPair; signer?: KeyPair } = {},
  ): Promise<AccountFixture> {
    const kp = opts.kp ?? createAccount();
    const signer = opts.signer ?? createAccount();
    const jwt = await encodeAccount(
      name,
      kp,
      { limits: { ...UNLIMITED, ...(claims.limits ?? {}) }, signing_keys: [signer.getPublicKey()], ...withoutLimits(claims) },
      { signer: opts.issuer ?? this.signer, ...(opts.exp !== undefined ? { exp: opts.exp } : {}) },
    );
    return { kp, pub: kp.getPublicKey(), jwt, signer };
  }
}

function withoutLimits(c: Partial<AccountClaims>): Partial<AccountClaims> {
  const { limits: _l, ...rest } = c;
  return rest;
}

/** A user of `acc`, issued by the account (or its signing key with `viaSigner`). */
export async function user(
  acc: AccountFixture,
  name: string,
  claims: Partial<UserClaims> = {},
  opts: { exp?: number; viaSigner?: boolean; kp?: KeyPair } = {},
): Promise<UserFixture> {
  const kp = opts.kp ?? createUser();
  const jwt = await encodeUser(
    name,
    kp,
    acc.kp,
    claims,
    { ...(opts.viaSigner ? { signer: acc.signer } : {}), ...(opts.exp !== undefined ? { exp: opts.exp } : {}) },
  );
  return { kp, pub: kp.getPublicKey(), jwt };
}

/** The server config: inline operator JWT, memory resolver, preloaded accounts. */
export function operatorConfig(op: Operator, accounts: AccountFixture[], systemAccount?: AccountFixture): string {
  const lines = [`operator: ${op.jwt}`, 'resolver: MEMORY'];
  if (systemAccount !== undefined) lines.push(`system_account: ${systemAccount.pub}`);
  lines.push('resolver_preload: {');
  for (const a of accounts) lines.push(`  ${a.pub}: ${a.jwt}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function sign(kp: KeyPair, nonce: string): string {
  return Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString('base64url');
}

export interface LoginResult {
  client: RawClient;
  info: Record<string, unknown>;
  /** PONG, or the first -ERR line */
  answer: string;
}

/**
 * Connects, reads INFO, sends CONNECT with the user JWT and the signature
 * of the nonce (`sig` overrides it; `signWith` another key) and a PING.
 */
export async function login(
  port: number,
  u: UserFixture | null,
  opts: { sig?: string; signWith?: KeyPair; nonce?: string; extra?: Record<string, unknown> } = {},
): Promise<LoginResult> {
  const client = await connect(port, '127.0.0.1');
  const line = await client.readUntil(/\r\n/, 10_000);
  const info = JSON.parse(line.slice(5)) as Record<string, unknown>;
  const nonce = opts.nonce ?? String(info.nonce ?? '');
  const fields: Record<string, unknown> = { verbose: false, pedantic: false, ...(opts.extra ?? {}) };
  if (u !== null) {
    fields.jwt = u.jwt;
    fields.sig = opts.sig ?? sign(opts.signWith ?? u.kp, nonce);
  }
  await client.send(`CONNECT ${JSON.stringify(fields)}\r\nPING\r\n`);
  let answer: string;
  try {
    answer = await client.readUntil(/PONG\r\n|-ERR '[^']*'\r\n/, 10_000);
  } catch {
    answer = client.peek().toString('latin1');
  }
  return { client, info, answer };
}

/**
 * The start-up warnings about account JWTs with validation issues
 * (server.go checkResolvePreloads / account validation): one block per
 * "Account [X] has validation issues:" line with its "  - issue" lines,
 * sorted (the reference logs them in Go map order).
 */
export function validationIssueBlocks(stderr: string): string[] {
  const out: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /\[WRN\] (Account \[\w+\] has validation issues:|  - .*)$/.exec(l);
    if (m === null) continue;
    if (m[1]!.startsWith('Account')) out.push(m[1]!);
    else out[out.length - 1] += `\n${m[1]}`;
  }
  return out.sort();
}
