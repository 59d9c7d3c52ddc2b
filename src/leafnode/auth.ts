// Credentials on both ends of a leaf connection: how the hub checks a
// leaf's CONNECT (server/auth.go isLeafNodeAuthorized) and what permissions
// it hands back, and how a leaf signs the hub's nonce with a .creds file
// (server/leafnode.go sendLeafConnect).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from '../server/server.js';
import type { LeafnodeOptions, Permissions } from '../config/options.js';
import type { LeafConnection } from './leaf.js';
import type { Account } from '../accounts/account.js';
import { mapCertificateToUser } from '../auth/tlsmap.js';

/**
 * server/auth.go isLeafNodeAuthorized: the leafnodes authorization block
 * when it has users, else the client users of the server.
 */
export function authenticateLeaf(srv: Server, o: LeafnodeOptions, c: LeafConnection): boolean {
  const bindTo = (name: string): boolean => {
    const acc = name === '' ? srv.globalAccount : srv.lookupAccount(name);
    if (acc === undefined) return false;
    // server/auth.go registerLeafWithAccount: over max_leafnodes the authentication fails
    if (leafLimitReached(acc)) return false;
    c.account = acc;
    return true;
  };
  const co = c.opts;
  if (o.username !== '') {
    if (co.user !== o.username || !comparePassword(o.password, co.pass)) return false;
    c.user = co.user;
    return bindTo(o.account);
  }
  if (o.users.length > 0) {
    if (o.tls?.verifyAndMap === true) {
      // tls { verify_and_map }: the leaf's certificate names the user; its
      // configured password (if any) must still match (server/auth.go isLeafNodeAuthorized).
      const debug = (msg: string): void => {
        if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - ${msg}`);
      };
      const u = mapCertificateToUser(c.tlsPeerCertificate?.raw ?? null, new Map(o.users.map((x) => [x.username, x])), () => true, debug);
      if (u === null) return false;
      if (co.user !== '') srv.logger.warn(`User ${JSON.stringify(co.user)} found in connect proto, but user required from cert`);
      co.user = u.username;
      if (!comparePassword(u.password, co.pass)) return false;
      c.user = u.username;
      return bindTo(u.account);
    }
    const u = o.users.find((x) => x.username === co.user);
    if (u === undefined || !comparePassword(u.password, co.pass)) return false;
    c.user = u.username;
    return bindTo(u.account);
  }
  const ok = srv.auth.authenticate(c);
  // The client path may have set client permissions: leafnodes keep their own.
  c.perms = null;
  if (ok && !c.closed && leafLimitReached(c.account)) {
    // server/client.go RegisterUser → reportErrRegisterAccount → maxAccountConnExceeded
    c.maxAccountConnExceeded();
    return false;
  }
  return ok;
}

/**
 * `limits { max_leafnodes }` or the account JWT's limits.leaf, counting the
 * cluster's other servers (server/accounts.go maxTotalLeafNodesReached).
 */
export function leafLimitReached(acc: Account): boolean {
  const max = acc.maxLeafnodes;
  return max >= 0 && acc.numLeafs + acc.remoteLeafs >= max;
}

/** The permissions of the server user the leaf logged in as, as configured. */
export function leafUserPermissions(srv: Server, lo: LeafnodeOptions, c: LeafConnection): Permissions | null {
  if (c.user === '') return null;
  const o = srv.opts;
  if (lo.username !== '' || lo.users.length > 0) return null;
  const u = o.users.find((x) => x.username === c.user) ?? o.accounts.flatMap((a) => a.users).find((x) => x.username === c.user);
  if (u === undefined) return null;
  const p = u.permissions ?? o.defaultPermissions;
  return p === undefined ? null : p;
}

export function comparePassword(server: string, given: string): boolean {
  if (server.startsWith('$2')) {
    const require = createRequire(import.meta.url);
    const bcrypt = require('bcryptjs') as { compareSync(a: string, b: string): boolean };
    try {
      return bcrypt.compareSync(given, server);
    } catch {
      return false;
    }
  }
  return server === given;
}

/** Read a .creds file: the user JWT and a signature of the nonce by its seed (server/leafnode.go sendLeafConnect). */
export function signWithCreds(file: string, nonce: string): { jwt: string; sig: string } | string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return (e as Error).message;
  }
  const re = /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/g;
  const items = [...text.matchAll(re)].map((m) => m[1]!.trim());
  if (items.length < 2) return 'Credentials file malformed';
  const require = createRequire(import.meta.url);
  const nk = require('@nats-io/nkeys') as { fromSeed(s: Uint8Array): { sign(d: Uint8Array): Uint8Array } };
  let kp;
  try {
    kp = nk.fromSeed(Buffer.from(items[1]!));
  } catch {
    return 'Credentials file has malformed seed';
  }
  const sig = Buffer.from(kp.sign(Buffer.from(nonce))).toString('base64url');
  return { jwt: items[0]!, sig };
}
