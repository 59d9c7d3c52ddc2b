// Authentication of client connections (server/auth.go): a token, a single
// user/password, users (plain or bcrypt passwords) and nkey users (a
// signature over the INFO nonce), `no_auth_user`, and `verify_and_map`
// (the user named by the client certificate). On success the client is
// bound to its user's account and permissions.
//
// The order of checks is the reference's (processClientOrLeafAuthentication):
// an nkey in CONNECT is looked up among the nkey users; otherwise, with
// users configured, the certificate (verify_and_map) or the CONNECT user
// (or the no_auth_user when no credentials were sent) selects the user and
// its password is compared; otherwise the token, then the single user.

import { nodeCrypto } from '../server/builtins.js';
import { createRequire } from 'node:module';
import { nonceSignatureError } from './nonce.js';
import type { NkeyUserConfig, Options, Permissions, UserConfig } from '../config/options.js';
import type { Account } from '../accounts/account.js';
import { ClosedState, Kind } from '../client/connection.js';
import type { Client } from '../client/client.js';
import type { Server } from '../server/server.js';
import * as E from '../protocol/errors.js';
import { ClientPermissions, PermissionRules } from './permissions.js';
import { mapCertificateToUser } from './tlsmap.js';
import { configureServerAccounts } from '../accounts/resolver.js';
import { NO_LIMIT, OperatorAuth, applyAccountLimits, trustedKeysOf } from './jwt.js';

/** Raw nonce length; its base64url form (the INFO `nonce`) is 15 characters (server/nkey.go). */
const NONCE_RAW_LEN = 11;
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A configured user as the authenticator keeps it. */
export interface UserEntry {
  readonly username: string;
  readonly password: string;
  readonly account: Account;
  readonly rules: PermissionRules | null;
  /** upper-cased allowed_connection_types; null = any */
  readonly allowedTypes: ReadonlySet<string> | null;
}

export interface NkeyEntry {
  readonly nkey: string;
  readonly account: Account;
  readonly rules: PermissionRules | null;
  readonly allowedTypes: ReadonlySet<string> | null;
}

/** An embedding or reload configuration the authenticator cannot use. */
export class AuthConfigError extends Error {
  readonly code = 'ERR_TSNATS_AUTH_CONFIG';
}

export class Authenticator {
  private users: Map<string, UserEntry> | null = null;
  private nkeys: Map<string, NkeyEntry> | null = null;
  private authRequired = false;
  private token = '';
  private username = '';
  private password = '';
  private noAuthUser = '';
  /**
   * server/server.go configureAccounts: when the only configured account is
   * the system account, anonymous clients still reach $G through a hidden
   * user; the name survives reloads so those clients are not dropped.
   */
  private sysAccOnlyNoAuthUser = '';
  private tlsMap = false;
  private plaintextPasswords = false;
  /** operator mode (trusted keys configured): JWT authentication, src/auth/jwt.ts */
  operator: OperatorAuth | null = null;

  constructor(private readonly server: Server) {}

  /** (Re)build the user tables from the options (server/auth.go configureAuthorization). */
  configure(opts: Options): void {
    const srv = this.server;
    this.token = opts.authorization;
    this.username = opts.username;
    this.password = opts.password;
    this.noAuthUser = opts.noAuthUser;
    this.tlsMap = opts.tlsConfig?.verifyAndMap === true;

    const userCfgs = new Map<string, UserConfig>();
    for (const u of opts.users) if (!userCfgs.has(u.username)) userCfgs.set(u.username, u);
    const nkeyCfgs = new Map<string, NkeyUserConfig>();
    for (const u of opts.nkeys) if (!nkeyCfgs.has(u.nkey)) nkeyCfgs.set(u.nkey, u);
    // Embedders may list an account's users only in the account.
    for (const ac of opts.accounts) {
      for (const u of ac.users) if (!userCfgs.has(u.username)) userCfgs.set(u.username, { ...u, account: ac.name });
      for (const u of ac.nkeyUsers) if (!nkeyCfgs.has(u.nkey)) nkeyCfgs.set(u.nkey, { ...u, account: ac.name });
    }

    // server/server.go configureAccounts: exactly $G and an explicitly named system account.
    const sys = srv.systemAccount;
    const explicitSys = opts.systemAccount !== '' || opts.accounts.some((a) => a.name === '$SYS');
    const distinct = new Set<string>([srv.globalAccount.name, ...opts.accounts.map((a) => a.name)]);
    if (sys !== null && explicitSys && opts.trustedOperators.length === 0 && distinct.size === 2 && opts.noAuthUser === '') {
      if (this.sysAccOnlyNoAuthUser === '') {
        let b = '';
        for (let i = 0; i < 8; i++) b += DIGITS[nodeCrypto().randomBytes(1)[0]! % 62];
        this.sysAccOnlyNoAuthUser = `nats-${b}`;
      }
      const uname = this.sysAccOnlyNoAuthUser;
      userCfgs.set(uname, { username: uname, password: uname.slice(5) });
      this.noAuthUser = uname;
    } else {
      this.sysAccOnlyNoAuthUser = '';
    }

    const resolve = (name: string | undefined, who: string): Account => {
      if (name === undefined || name === '') return srv.globalAccount;
      const acc = srv.lookupAccount(name);
      if (acc === undefined) throw new AuthConfigError(`${who} references account ${JSON.stringify(name)}, which is not defined`);
      return acc;
    };
    const compile = (p: Permissions | undefined, fallback: Permissions | undefined): PermissionRules | null => {
      const perms = p ?? fallback;
      if (perms === undefined) return null;
      return new PermissionRules(perms, (msg) => srv.logger.error(msg));
    };
    const defaultsFor = (account: string | undefined): Permissions | undefined => {
      if (account === undefined || account === '') return opts.defaultPermissions;
      return opts.accounts.find((a) => a.name === account)?.defaultPermissions;
    };

    if (userCfgs.size > 0) {
      const users = new Map<string, UserEntry>();
      for (const u of userCfgs.values()) {
        users.set(u.username, {
          username: u.username,
          password: u.password,
          account: resolve(u.account, `user ${JSON.stringify(u.username)}`),
          rules: compile(u.permissions, defaultsFor(u.account)),
          allowedTypes: connectionTypes(u.allowedConnectionTypes),
        });
      }
      this.users = users;
    } else {
      this.users = null;
    }
    if (nkeyCfgs.size > 0) {
      const nkeys = new Map<string, NkeyEntry>();
      for (const u of nkeyCfgs.values()) {
        nkeys.set(u.nkey, {
          nkey: u.nkey,
          account: resolve(u.account, `nkey ${JSON.stringify(u.nkey)}`),
          rules: compile(u.permissions, defaultsFor(u.account)),
          allowedTypes: connectionTypes(u.allowedConnectionTypes),
        });
      }
      this.nkeys = nkeys;
    } else {
      this.nkeys = null;
    }
    this.authRequired = this.users !== null || this.nkeys !== null || this.username !== '' || this.token !== '';
    this.operator?.stop();
    const trusted = trustedKeysOf(opts);
    this.operator = trusted === null ? null : new OperatorAuth(srv, opts, trusted);
    if (this.operator !== null) {
      this.operator.start();
      this.authRequired = true;
    }

    // server/auth.go checkAuthforWarnings
    let plain = this.password !== '' && !isBcrypt(this.password);
    for (const u of this.users?.values() ?? []) {
      if (u.password === '' && this.tlsMap) continue;
      if (u.username === this.sysAccOnlyNoAuthUser) continue;
      if (!isBcrypt(u.password)) plain = true;
    }
    this.plaintextPasswords = plain;
  }

  /** Startup warnings (server/auth.go checkAuthforWarnings). */
  logWarnings(): void {
    if (this.plaintextPasswords) this.server.logger.warn('Plaintext passwords detected, use nkeys or bcrypt');
  }

  /** Whether clients must authenticate (CONNECT is expected, the auth timer runs). */
  required(): boolean {
    return this.authRequired;
  }

  /**
   * `auth_required` in INFO: false when a no_auth_user lets clients in
   * without credentials, except the hidden system-account one.
   */
  infoAuthRequired(): boolean {
    if (!this.authRequired) return false;
    return this.server.opts.noAuthUser === '' || this.server.opts.noAuthUser === this.sysAccOnlyNoAuthUser;
  }

  /** A nonce is sent in INFO when nkey users exist (server/nkey.go nonceRequired). */
  nonceRequired(): boolean {
    return this.nkeys !== null || this.operator !== null;
  }

  /** 11 random bytes, base64url without padding. */
  newNonce(): string {
    return nodeCrypto().randomBytes(NONCE_RAW_LEN).toString('base64url');
  }

  hasUsers(): boolean {
    return this.users !== null;
  }

  hasNkeys(): boolean {
    return this.nkeys !== null;
  }

  /** The configured users (monitoring, tests). */
  userNames(): string[] {
    return this.users === null ? [] : [...this.users.keys()].filter((n) => n !== this.sysAccOnlyNoAuthUser);
  }

  /**
   * Check the client's CONNECT credentials; binds the client to its
   * account and permissions on success (server/auth.go
   * processClientOrLeafAuthentication).
   */
  authenticate(c: Client): boolean {
    if (!this.authRequired) return true;
    if (this.operator !== null) return this.operator.authenticate(c) === true;
    const co = c.opts;
    const srv = this.server;
    let user: UserEntry | null = null;
    if (this.nkeys !== null && co.nkey !== '') {
      const nk = this.nkeys.get(co.nkey);
      if (nk === undefined || !typeAllowed(nk.allowedTypes, c)) return false;
      if (!this.verifyNonceSignature(c)) return false;
      if (this.bind(c, nk.nkey, nk.account, nk.rules)) return true;
      // RegisterNkeyUser's error fails the authentication too: the violation
      // is logged, its -ERR does not reach the closed client.
      srv.logger.error(`${c.logPrefix} - ${this.violationLogText(c)}`);
      return false;
    } else if (this.users !== null) {
      // server/auth.go processClientOrLeafAuthentication: a leaf maps with
      // the leafnode listener's verify_and_map, not the client listener's.
      if (c.kind === Kind.LEAF ? srv.opts.leafnode?.tls?.verifyAndMap === true : this.tlsMap) {
        const der = c.tlsPeerCertificate?.raw ?? null;
        const debug = (msg: string): void => {
          if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - ${msg}`);
        };
        user = mapCertificateToUser(der, this.users, (u) => typeAllowed(u.allowedTypes, c), debug);
        if (user === null) return false;
        if (co.user !== '' && co.user !== user.username) {
          srv.logger.warn(`User ${JSON.stringify(co.user)} found in connect proto, but user required from cert`);
        }
        co.user = user.username;
      } else {
        if (this.noAuthUser !== '' && co.user === '' && co.pass === '' && co.auth_token === '') {
          const u = this.users.get(this.noAuthUser);
          if (u !== undefined) {
            // As the reference: the user's stored password becomes the one
            // presented, so a bcrypt-hashed no_auth_user cannot pass this way.
            co.user = u.username;
            co.pass = u.password;
          }
        }
        if (co.user !== '') {
          const u = this.users.get(co.user);
          if (u === undefined || !typeAllowed(u.allowedTypes, c)) return false;
          user = u;
        }
      }
    }
    if (user !== null) {
      if (!comparePasswords(user.password, co.pass)) return false;
      return this.bind(c, user.username, user.account, user.rules);
    }
    if (this.token !== '') return comparePasswords(this.token, co.auth_token);
    if (this.username !== '') {
      if (co.user !== this.username) return false;
      if (!comparePasswords(this.password, co.pass)) return false;
      c.user = co.user;
      return true;
    }
    return false;
  }

  /**
   * A client sent something else than CONNECT first: with a no_auth_user it
   * is let in as that user (server/parser.go), else false.
   */
  applyNoAuthUser(c: Client): boolean {
    if (this.noAuthUser === '' || this.users === null) return false;
    const u = this.users.get(this.noAuthUser);
    if (u === undefined) return false;
    c.opts.user = u.username;
    this.bind(c, u.username, u.account, u.rules);
    return true;
  }

  private verifyNonceSignature(c: Client): boolean {
    const co = c.opts;
    const srv = this.server;
    const debug = (msg: string): void => {
      if (srv.logger.debugEnabled) srv.logger.debug(`${c.logPrefix} - ${msg}`);
    };
    const err = nonceSignatureError(co.nkey, c.nonce, co.sig, (e) => `User nkey not valid: ${e.message}`);
    if (err !== null) debug(err);
    return err === null;
  }

  /**
   * Bind an authenticated client to its user's account and permissions
   * (server/client.go RegisterUser → registerWithAccount: the account's
   * limits apply, and a full account answers and closes the client, false).
   */
  private bind(c: Client, name: string, account: Account, rules: PermissionRules | null): boolean {
    c.user = name;
    if (account.maxPayload !== NO_LIMIT || account.maxSubs !== NO_LIMIT) {
      applyAccountLimits(c, NO_LIMIT, NO_LIMIT, account.maxPayload, account.maxSubs);
    } else {
      c.jwtMaxPayload = -1;
      c.jwtMaxSubs = -1;
    }
    if (account.maxConnections !== NO_LIMIT && c.account !== account && account.numClients + account.remoteClients >= account.maxConnections) {
      const text = 'maximum account active connections exceeded';
      c.sendErr(text);
      this.server.logger.error(`${c.logPrefix} - ${text}`);
      c.close(ClosedState.MaxAccountConnectionsExceeded);
      return false;
    }
    this.server.moveClientToAccount(c, account);
    c.perms = rules === null ? null : new ClientPermissions(rules);
    return true;
  }

  /** The "authentication error" log line's tail (server/client.go authViolation). */
  violationLogText(c: Client): string {
    if (this.operator !== null) return 'authentication error';
    if (this.nkeys !== null) return `authentication error - Nkey ${JSON.stringify(c.opts.nkey)}`;
    if (this.users !== null) return `authentication error - User ${JSON.stringify(c.opts.user)}`;
    return 'authentication error';
  }

  /** server/client.go getAuthUser: who a violation is logged for. */
  authUserDescription(c: Client): string {
    if (c.opts.nkey !== '') return `Nkey ${JSON.stringify(c.opts.nkey)}`;
    if (c.opts.user !== '') return `User ${JSON.stringify(c.opts.user)}`;
    if (c.opts.jwt !== '') return `JWT User ${JSON.stringify(this.operator !== null ? c.user : '')}`;
    return 'User "N/A"';
  }

  /**
   * Config reload (server/reload.go reloadAuthorization): re-apply accounts
   * and users from the server's current options, then for every client:
   * close it when its user moved to another account or is gone, send the
   * authorization violation when it no longer authenticates, else re-apply
   * its permissions and drop the subscriptions they now refuse.
   */
  reloadAuthorization(): void {
    const srv = this.server;
    configureServerAccounts(srv);
    this.configure(srv.opts);
    for (const c of [...srv.clients.values()]) {
      if (c.closed || !c.connectReceived) continue;
      if (this.movedAccount(c)) {
        c.close(ClosedState.ClientClosed);
        continue;
      }
      if (!this.authenticate(c)) {
        c.authViolation();
        continue;
      }
      this.recheckSubscriptions(c);
    }
    srv.flushDirty();
  }

  /** server/reload.go clientHasMovedToDifferentAccount */
  private movedAccount(c: Client): boolean {
    let acc: Account | undefined;
    if (c.opts.nkey !== '') acc = this.nkeys?.get(c.opts.nkey)?.account;
    else if (c.opts.user !== '') acc = this.users?.get(c.opts.user)?.account;
    else return false;
    // As the reference: a user that is not in the tables (also the single
    // --user of a server without a users list) counts as gone.
    if (acc === undefined) return true;
    return acc !== c.account;
  }

  /**
   * server/client.go processSubsOnConfigReload: subscriptions the client's
   * (new) permissions refuse are removed, with an -ERR to the client and a
   * notice in the log. The delivery filter is rebuilt on the way.
   */
  recheckSubscriptions(c: Client): void {
    const perms = c.perms;
    if (perms === null) return;
    perms.resetDenyFilter();
    const removed = [];
    for (const sub of c.subs.values()) {
      const canSub = perms.canSubscribe(sub.subject, null);
      const canQSub = sub.queue !== null && perms.canSubscribe(sub.subject, sub.queue);
      if (!canSub && !canQSub) removed.push(sub);
    }
    for (const sub of removed) {
      c.unsubscribe(sub);
      c.sendErr(`Permissions Violation for Subscription to ${E.goQuote(sub.subject)} (sid ${E.goQuote(sub.sid)})`);
      this.server.logger.notice(
        `Removed sub ${E.goQuoteLog(sub.subject)} (sid ${E.goQuoteLog(sub.sid)}) for ${this.authUserDescription(c)} - not authorized`,
      );
    }
  }
}

function connectionTypes(list: string[] | undefined): ReadonlySet<string> | null {
  if (list === undefined || list.length === 0) return null;
  return new Set(list.map((t) => t.toUpperCase()));
}

/** server/client.go connectionTypeAllowed: an empty set allows every type. */
function typeAllowed(types: ReadonlySet<string> | null, c: Client): boolean {
  return types === null || types.has(c.connectionType);
}

const BCRYPT_RE = /^\$2[abxy]\$\d{2}\$.*/;

/** server/auth.go isBcrypt */
export function isBcrypt(password: string): boolean {
  return password.startsWith('$') && BCRYPT_RE.test(password);
}

// bcryptjs is loaded on the first bcrypt password check, not at start-up:
// a server's start time shows in clients' reconnect counts
// (docs/compatibility.md), and most configs have no bcrypt passwords.
let bcrypt: { compareSync(s: string, hash: string): boolean } | null = null;

/** server/auth.go comparePasswords: bcrypt when the stored one is a hash, else exact. */
export function comparePasswords(serverPass: string, clientPass: string): boolean {
  if (isBcrypt(serverPass)) {
    try {
      bcrypt ??= createRequire(import.meta.url)('bcryptjs') as { compareSync(s: string, hash: string): boolean };
      return bcrypt.compareSync(clientPass, serverPass);
    } catch {
      return false;
    }
  }
  // Same-length compare without an early exit.
  if (serverPass.length !== clientPass.length) return false;
  let diff = 0;
  for (let i = 0; i < serverPass.length; i++) diff |= serverPass.charCodeAt(i) ^ clientPass.charCodeAt(i);
  return diff === 0;
}
