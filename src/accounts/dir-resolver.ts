// The NATS-based account resolvers of operator mode, `resolver { type:
// full|cache, dir: ... }` (server/accounts.go DirAccResolver,
// CacheDirAccResolver over server/dirstore.go DirJWTStore): account JWTs
// kept as <dir>/<account public key>.jwt, the preloads saved there at
// start-up, updates pushed by operators over the system account
// ($SYS.REQ.CLAIMS.UPDATE, $SYS.REQ.ACCOUNT.<account>.CLAIMS.UPDATE and the
// older $SYS.ACCOUNT.<account>.CLAIMS.UPDATE), lookups answered
// ($SYS.REQ.ACCOUNT.<account>.CLAIMS.LOOKUP). See accounts/sysreq.ts for
// the requests.

import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decode } from '../auth/nkeys.js';

const EXT = '.jwt';

type Json = Record<string, unknown>;

function generic(token: string): Json | null {
  try {
    return decode<Json>(token) as unknown as Json;
  } catch {
    return null;
  }
}

export class DirJwtStore {
  readonly directory: string;
  /** the JWTs of the directory by account public key */
  readonly jwts = new Map<string, string>();

  constructor(dir: string) {
    this.directory = resolve(dir);
    mkdirSync(this.directory, { recursive: true, mode: 0o755 });
    for (const f of readdirSync(this.directory)) {
      if (!f.endsWith(EXT)) continue;
      try {
        this.jwts.set(f.slice(0, -EXT.length), readFileSync(join(this.directory, f), 'utf8'));
      } catch {
        // unreadable files are skipped as the reference's walk does
      }
    }
  }

  load(pub: string): string | undefined {
    return this.jwts.get(pub);
  }

  /**
   * dirstore.go delete with RenameDeleted (allow_delete): the file becomes
   * <key>.jwt.deleted. Returns whether there was one.
   */
  delete(pub: string): boolean {
    if (pub === '' || pub.includes('/') || pub.includes('\\')) throw new Error('invalid public key');
    const path = join(this.directory, pub + EXT);
    this.jwts.delete(pub);
    if (!existsSync(path)) return false;
    renameSync(path, path + '.deleted');
    return true;
  }

  /** dirstore.go save: the pushed JWT replaces the stored one. Returns whether it changed. */
  save(pub: string, token: string): boolean {
    if (pub === '' || pub.includes('/') || pub.includes('\\')) throw new Error('invalid public key');
    if (this.jwts.get(pub) === token) return false;
    writeFileSync(join(this.directory, pub + EXT), token, { mode: 0o644 });
    this.jwts.set(pub, token);
    return true;
  }

  /**
   * dirstore.go saveIfNewer: an older or identical JWT leaves the stored
   * one. Returns whether the store changed; throws with the reference's
   * texts.
   */
  saveIfNewer(pub: string, token: string): boolean {
    if (pub === '' || pub.includes('/') || pub.includes('\\')) throw new Error('invalid public key');
    const path = join(this.directory, pub + EXT);
    if (existsSync(path)) {
      const nj = generic(token);
      if (nj === null) throw new Error('expected 3 chunks');
      const old = generic(this.jwts.get(pub) ?? readFileSync(path, 'utf8'));
      if (old !== null) {
        if (old.jti === nj.jti) return false;
        if (Number(old.iat ?? 0) > Number(nj.iat ?? 0)) return false;
        if (nj.sub !== pub) throw new Error('jwt subject nkey and provided nkey do not match');
        if (old.sub !== nj.sub) throw new Error('subject of existing and new jwt do not match');
      }
    }
    if (this.jwts.get(pub) === token) return false;
    writeFileSync(path, token, { mode: 0o644 });
    this.jwts.set(pub, token);
    return true;
  }
}
