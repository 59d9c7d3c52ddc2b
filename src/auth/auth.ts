// Authentication of client connections (server/auth.go): token, a single
// user/password, a users list (plain or bcrypt passwords) and no_auth_user.
// On success the client is bound to its account and permissions.

import type { Options, UserConfig } from '../config/options.js';
import type { Client } from '../client/client.js';
import type { Server } from '../server/server.js';

export class Authenticator {
  private users: Map<string, UserConfig> | null = null;

  constructor(private readonly server: Server) {}

  configure(opts: Options): void {
    if (opts.users.length > 0) {
      this.users = new Map(opts.users.map((u) => [u.username, u]));
    } else {
      this.users = null;
    }
  }

  /** auth_required in INFO */
  required(): boolean {
    const o = this.server.opts;
    return this.users !== null || o.authorization !== '' || o.username !== '';
  }

  hasUsers(): boolean {
    return this.users !== null;
  }

  /** Check CONNECT credentials; binds the client to its account on success. */
  authenticate(c: Client): boolean {
    const o = this.server.opts;
    const co = c.opts;
    if (this.users !== null) {
      if (co.user === '' && co.pass === '' && o.noAuthUser !== '' && co.auth_token === '') {
        return this.applyNoAuthUser(c);
      }
      const u = this.users.get(co.user);
      if (u === undefined || !comparePasswords(u.password, co.pass)) return false;
      this.bind(c, u);
      return true;
    }
    if (o.authorization !== '') {
      return co.auth_token === o.authorization;
    }
    if (o.username !== '') {
      if (co.user !== o.username) return false;
      if (!comparePasswords(o.password, co.pass)) return false;
      c.user = co.user;
      return true;
    }
    return true;
  }

  /** Bind the no_auth_user's identity; false when none is configured. */
  applyNoAuthUser(c: Client): boolean {
    const name = this.server.opts.noAuthUser;
    if (name === '' || this.users === null) return false;
    const u = this.users.get(name);
    if (u === undefined) return false;
    this.bind(c, u);
    return true;
  }

  private bind(c: Client, u: UserConfig): void {
    c.user = u.username;
    if (u.account !== undefined) {
      const acc = this.server.lookupAccount(u.account);
      if (acc !== undefined) this.server.moveClientToAccount(c, acc);
    }
  }
}

/** server/auth.go comparePasswords: bcrypt hashes start with "$2". */
export function comparePasswords(serverPass: string, clientPass: string): boolean {
  if (serverPass.startsWith('$2a$') || serverPass.startsWith('$2b$') || serverPass.startsWith('$2y$')) {
    return bcryptCompare(clientPass, serverPass);
  }
  // constant-time compare of equal-length strings
  if (serverPass.length !== clientPass.length) return false;
  let diff = 0;
  for (let i = 0; i < serverPass.length; i++) diff |= serverPass.charCodeAt(i) ^ clientPass.charCodeAt(i);
  return diff === 0;
}

import bcrypt from 'bcryptjs';
function bcryptCompare(pass: string, hash: string): boolean {
  try {
    return bcrypt.compareSync(pass, hash);
  } catch {
    return false;
  }
}
