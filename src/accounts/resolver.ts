// The memory account resolver of operator mode (server/accounts.go
// MemAccResolver with resolver_preload): the preloaded account JWTs that are
// valid (issued by a trusted key, not expired) become accounts named by
// their public key, with the exports and imports of their claims mapped to
// the account configuration the accounts machinery already applies.

import type { AccountConfig, ExportConfig, ImportConfig, Options } from '../config/options.js';
import type { Account } from './account.js';
import type { Server } from '../server/server.js';
import { accountInfoFromJWT, decodeClaims, importClaimProblems, operatorTrustedKeys, trustedKeysOf, type JwtAccountInfo } from '../auth/jwt.js';
import { AccountConfigError, configureAccounts } from './imports.js';
import { UrlAccountResolver } from './url-resolver.js';
import { DirJwtStore } from './dir-resolver.js';
import { respondToUpdate, sendInternal } from './sysreq.js';
import type { Client } from '../client/client.js';
import { fromPublic } from '../auth/nkeys.js';

/** Account JWTs pushed over $SYS to a MEMORY or URL resolver server (events.go accountClaimUpdate). */
const pushedJWTs = new WeakMap<Server, Map<string, string>>();
/** Account JWTs a URL resolver fetched, per server (they outlive reloads). */
const fetchedJWTs = new WeakMap<Server, Map<string, string>>();
const urlResolvers = new WeakMap<Server, UrlAccountResolver>();
/** servers whose URL resolver passed the start-up check */
const started = new WeakSet<Server>();

const dirStores = new WeakMap<Server, DirJwtStore>();

/** The directory store of `resolver { type: full|cache, dir }`, null for other resolvers. */
function dirStore(srv: Server, opts: Options = srv.opts): DirJwtStore | null {
  const r = opts.resolver;
  if (r === undefined || (r.type !== 'full' && r.type !== 'cache')) return null;
  let st = dirStores.get(srv);
  if (st === undefined) {
    st = new DirJwtStore(r.dir);
    dirStores.set(srv, st);
    // server/server.go configureResolver: the preloads are stored (if newer)
    for (const [k, v] of Object.entries(opts.resolverPreload)) {
      try {
        st.saveIfNewer(k, v);
      } catch {
        // as the reference, a preload that cannot be stored is skipped
      }
    }
  }
  return st;
}

/** server/accounts.go DirAccResolver.Start's notice, for the start-up log. */
export function resolverStartLines(srv: Server): string[] {
  const st = dirStore(srv);
  if (st === null) return [];
  const kind = srv.opts.resolver?.type === 'cache' ? 'some' : 'all';
  return [`Managing ${kind} jwt in exclusive directory ${st.directory}`];
}

/** The account JWTs the server knows: the preload and what the URL resolver fetched (the directory of a NATS resolver). */
export function knownAccountJWTs(srv: Server, opts: Options = srv.opts): Record<string, string> {
  const st = dirStore(srv, opts);
  if (st !== null) return Object.fromEntries(st.jwts);
  const fetched = fetchedJWTs.get(srv);
  const pushed = pushedJWTs.get(srv);
  if (fetched === undefined && pushed === undefined) return opts.resolverPreload;
  return { ...Object.fromEntries(fetched ?? []), ...opts.resolverPreload, ...Object.fromEntries(pushed ?? []) };
}

/** The server's URL resolver, when `resolver: URL(...)` is configured. */
function urlResolver(srv: Server): UrlAccountResolver | null {
  const r = srv.opts.resolver;
  if (r === undefined || r.type !== 'url') return null;
  let ur = urlResolvers.get(srv);
  if (ur === undefined || ur.url !== (r.url.endsWith('/') ? r.url : r.url + '/')) {
    ur?.close();
    ur = new UrlAccountResolver(r.url);
    urlResolvers.set(srv, ur);
  }
  return ur;
}

/**
 * server/server.go lookupAccount → fetchAccount for an account the server
 * does not know yet: fetched from the URL resolver, checked, registered
 * with its exports and imports (the accounts it imports from are looked up
 * too, as updateAccountClaimsWithRefresh does). Returns the account's info
 * or the lookup error's text. Without a URL resolver an unknown account is
 * "account not found".
 */
export function fetchAccount(srv: Server, pub: string, trusted: ReadonlySet<string>): JwtAccountInfo | string {
  const ur = urlResolver(srv);
  if (ur === null) return 'account not found';
  const fetched = new Map<string, string>();
  const err = fetchInto(srv, ur, pub, trusted, fetched);
  if (fetched.size > 0) {
    let store = fetchedJWTs.get(srv);
    if (store === undefined) fetchedJWTs.set(srv, (store = new Map()));
    for (const [k, v] of fetched) store.set(k, v);
    configureServerAccounts(srv);
  }
  if (err !== null) return err;
  return accountInfoFromJWT(pub, fetched.get(pub)!, trusted);
}

function fetchInto(srv: Server, ur: UrlAccountResolver, pub: string, trusted: ReadonlySet<string>, out: Map<string, string>): string | null {
  // server/server.go fetchRawAccountClaims
  if (!isAccountKey(pub)) return 'will only fetch valid account keys';
  let token: string;
  try {
    token = ur.fetch(pub);
  } catch (e) {
    srv.logger.warn(`Account fetch failed: ${(e as Error).message}`);
    return (e as Error).message;
  }
  const info = accountInfoFromJWT(pub, token, trusted);
  if (typeof info === 'string') return info;
  out.set(pub, token);
  const known = knownAccountJWTs(srv);
  for (const i of importsOf(token)) {
    const acc = str(i.account);
    if (acc === '' || out.has(acc) || known[acc] !== undefined || srv.lookupAccount(acc) !== undefined) continue;
    const ierr = fetchInto(srv, ur, acc, trusted, out);
    if (ierr !== null) {
      srv.logger.error(`Can't locate account [${acc}] for import of [${str(i.subject)}] ${str(i.type)} (err=${ierr})`);
    }
  }
  return null;
}

function isAccountKey(k: string): boolean {
  if (!k.startsWith('A')) return false;
  try {
    fromPublic(k);
    return true;
  } catch {
    return false;
  }
}

function importsOf(token: string): Json[] {
  const n = decodeClaims(token).nats;
  return (Array.isArray(n.imports) ? n.imports : []).map(obj).filter((o): o is Json => o !== null);
}

/**
 * server/server.go NewServer with a URL resolver: a GET of the base URL
 * must answer 200 ("anyone home"), else the server does not start; the
 * system account is fetched (when that fails an empty one stands in).
 */
function startUrlResolver(srv: Server, ur: UrlAccountResolver): void {
  // server/server.go configureResolver: a URL resolver is read-only
  if (Object.keys(srv.opts.resolverPreload).length > 0) {
    throw new Error('resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR');
  }
  ur.fetch('');
  const sys = srv.opts.systemAccount;
  const trusted = trustedKeysOf(srv.opts);
  if (sys === '' || trusted === null || knownAccountJWTs(srv)[sys] !== undefined) return;
  // As the reference: a direct fetch first, then the lookup that registers it (a second GET).
  try {
    ur.fetch(sys);
  } catch {
    return;
  }
  const fetched = new Map<string, string>();
  if (fetchInto(srv, ur, sys, trusted, fetched) === null) fetchedJWTs.set(srv, fetched);
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function responseType(v: unknown): ExportConfig['responseType'] {
  const s = str(v).toLowerCase();
  return s === 'stream' || s === 'chunked' || s === 'singleton' ? s : undefined;
}

/** One jwt.Export → ExportConfig (null when the type is unknown). */
export function exportFromClaim(e: Json, signers: string[] = []): ExportConfig | null {
  const subject = str(e.subject);
  const type = str(e.type);
  const ex: ExportConfig = {};
  if (type === 'stream') ex.stream = subject;
  else if (type === 'service') {
    ex.service = subject;
    const rt = responseType(e.response_type);
    if (rt !== undefined) ex.responseType = rt;
    // response_threshold is a Go duration in nanoseconds
    if (typeof e.response_threshold === 'number' && e.response_threshold > 0) {
      ex.responseThresholdMs = Math.trunc(e.response_threshold / 1e6);
    }
  } else return null;
  // token_req: only importers with an activation token issued by the
  // account or one of its signing keys, not in the export's revocations
  if (e.token_req === true) {
    ex.accounts = [];
    const revocations: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj(e.revocations) ?? {})) if (typeof v === 'number') revocations[k] = v;
    ex.activation = { issuers: signers, revocations };
  }
  if (typeof e.account_token_position === 'number' && e.account_token_position > 0) {
    ex.accountTokenPosition = e.account_token_position;
  }
  return ex;
}

/** One jwt.Import → ImportConfig, as updateAccountClaimsWithRefresh reads it. */
export function importFromClaim(i: Json): ImportConfig | null {
  const account = str(i.account);
  const subject = str(i.subject);
  const to = str(i.to);
  const local = str(i.local_subject);
  const type = str(i.type);
  const claim = { subject, to, token: str(i.token) };
  if (type === 'stream') {
    const im: ImportConfig = { stream: { account, subject }, claim: { type, ...claim } };
    if (local !== '') im.to = local;
    else if (to !== '') im.prefix = to;
    return im;
  }
  if (type === 'service') {
    // from = the subject in the importing account, to = the exporter's subject
    let from = subject;
    let remote = to !== '' ? to : subject;
    if (local !== '') {
      from = local;
      remote = subject;
    }
    const im: ImportConfig = { service: { account, subject: remote }, to: from, claim: { type, ...claim } };
    if (i.share === true) im.share = true;
    return im;
  }
  return null;
}

/** The accounts the preloaded JWTs describe, and the system account to use. */
export function operatorAccounts(
  opts: Options,
  jwts: Record<string, string> = opts.resolverPreload,
): { accounts: AccountConfig[]; systemAccount: string } | null {
  const trusted = trustedKeysOf(opts);
  if (trusted === null) return null;
  const accounts: AccountConfig[] = [];
  for (const [pub, token] of Object.entries(jwts)) {
    const info = accountInfoFromJWT(pub, token, trusted);
    if (typeof info === 'string') continue;
    const n = decodeClaims(token).nats;
    const exports: ExportConfig[] = [];
    for (const e of Array.isArray(n.exports) ? n.exports : []) {
      const o = obj(e);
      const ex = o === null ? null : exportFromClaim(o, [pub, ...info.signingKeys.keys()]);
      if (ex !== null) exports.push(ex);
    }
    const imports: ImportConfig[] = [];
    for (const i of Array.isArray(n.imports) ? n.imports : []) {
      const o = obj(i);
      const im = o === null ? null : importFromClaim(o);
      if (im !== null) imports.push(im);
    }
    accounts.push({ name: pub, users: [], nkeyUsers: [], exports, imports, jetstream: info.jetstream });
  }
  // A system account the resolver does not know is still created (empty).
  const sys = opts.systemAccount;
  if (sys !== '' && !accounts.some((a) => a.name === sys)) {
    accounts.push({ name: sys, users: [], nkeyUsers: [], exports: [], imports: [] });
  }
  return { accounts, systemAccount: sys };
}

/**
 * configureAccounts for both modes: in operator mode the accounts come from
 * the resolver, and an import the exporter does not allow is skipped (the
 * reference logs it at debug level) instead of failing the configuration.
 */
export function configureServerAccounts(srv: Server, opts: Options = srv.opts): void {
  try {
    configureAllAccounts(srv, opts);
  } finally {
    // JetStream (when running) enables itself in accounts that appeared or now have it configured.
    srv.jetstream?.accountsChanged();
  }
}

function configureAllAccounts(srv: Server, opts: Options): void {
  const ur = urlResolver(srv);
  if (ur !== null && !started.has(srv)) {
    started.add(srv);
    startUrlResolver(srv, ur);
  }
  const op = operatorAccounts(opts, knownAccountJWTs(srv, opts));
  if (op === null) {
    configureAccounts(srv, opts);
    return;
  }
  const jwts = knownAccountJWTs(srv, opts);
  // server/accounts.go updateAccountClaimsWithRefresh: "Error adding stream import to account [<acc>/<name>]: <reason>"
  const onImportError = (acc: Account, im: ImportConfig, err: string): void => {
    if (!srv.logger.debugEnabled) return;
    let label = acc.name;
    try {
      const name = decodeClaims(jwts[acc.name] ?? '').name;
      if (name !== '') label = `${acc.name}/${name}`;
    } catch {
      // no claims: the name alone
    }
    const i = err.indexOf('": ');
    const reason = i >= 0 ? err.slice(i + 3) : err;
    srv.logger.debug(`Error adding ${im.stream !== undefined ? 'stream' : 'service'} import to account [${label}]: ${reason}`);
  };
  try {
    configureAccounts(srv, { ...opts, accounts: [...opts.accounts, ...op.accounts], systemAccount: op.systemAccount }, onImportError);
  } catch (e) {
    if (!(e instanceof AccountConfigError)) throw e;
    if (srv.logger.debugEnabled) srv.logger.debug(`Error adding account imports: ${e.message}`);
  }
  const st = dirStore(srv, opts);
  const sys = srv.systemAccount;
  if (st !== null && sys !== null) {
    sys.sysRequests = (c, subject, reply, payload) => claimsRequest(srv, st, c, subject, reply, payload);
    sys.refreshCrossAccount();
  } else if (sys !== null && (opts.resolver?.type === 'memory' || opts.resolver?.type === 'url')) {
    sys.sysRequests = (_c, subject, reply, payload) => accountClaimUpdate(srv, sys, subject, reply, payload.toString('utf8'));
    sys.refreshCrossAccount();
  }
}

/**
 * server/events.go accountClaimUpdate, the claim updates a server with a
 * MEMORY or URL resolver takes over the system account: an account it has
 * loaded takes the pushed JWT (not stored in the resolver).
 */
function accountClaimUpdate(srv: Server, sys: Account, subject: string, reply: string, text: string): boolean {
  const m = UPDATE_NEW.exec(subject) ?? UPDATE_OLD.exec(subject);
  if (m === null) return false;
  const pubKey = m[1]!;
  if (text === '') {
    respondToUpdate(srv, sys, reply, pubKey, 'jwt update error', 'request body is empty');
    return true;
  }
  let c: ReturnType<typeof decodeClaims>;
  try {
    c = decodeClaims(text);
    if (c.type !== 'account') throw new Error('not account claim');
  } catch (e) {
    respondToUpdate(srv, sys, reply, pubKey, 'jwt update resulted in error', (e as Error).message);
    return true;
  }
  if (c.sub !== pubKey) {
    respondToUpdate(srv, sys, reply, pubKey, 'jwt update resulted in error', 'subject does not match jwt content');
    return true;
  }
  if (!accountLoaded(srv, pubKey)) {
    respondToUpdate(srv, sys, reply, pubKey, 'jwt update skipped', null);
    return true;
  }
  const trusted = trustedKeysOf(srv.opts);
  if (knownAccountJWTs(srv)[pubKey] !== text) {
    const info = trusted === null ? 'account validation failed' : accountInfoFromJWT(pubKey, text, trusted);
    if (typeof info === 'string') {
      respondToUpdate(srv, sys, reply, pubKey, 'jwt update resulted in error', info);
      return true;
    }
    let pushed = pushedJWTs.get(srv);
    if (pushed === undefined) pushedJWTs.set(srv, (pushed = new Map()));
    pushed.set(pubKey, text);
    accountChanged(srv, pubKey);
  }
  respondToUpdate(srv, sys, reply, pubKey, 'jwt updated', null);
  return true;
}

const UPDATE_NEW = /^\$SYS\.REQ\.ACCOUNT\.([^.]+)\.CLAIMS\.UPDATE$/;
const UPDATE_OLD = /^\$SYS\.ACCOUNT\.([^.]+)\.CLAIMS\.UPDATE$/;
const LOOKUP = /^\$SYS\.REQ\.ACCOUNT\.([^.]+)\.CLAIMS\.LOOKUP$/;

/**
 * server/accounts.go DirAccResolver.Start: the system account's claim
 * update and lookup requests. Returns whether the subject was one of them.
 */
function claimsRequest(srv: Server, st: DirJwtStore, _c: Client, subject: string, reply: string, payload: Buffer): boolean {
  const sys = srv.systemAccount;
  if (sys === null) return false;
  const text = payload.toString('utf8');
  const m = UPDATE_NEW.exec(subject) ?? UPDATE_OLD.exec(subject);
  if (srv.opts.resolver?.type === 'cache' && (m !== null || subject === '$SYS.REQ.CLAIMS.UPDATE')) {
    cacheUpdate(srv, sys, st, m !== null ? m[1]! : null, reply, text);
    return true;
  }
  if (m !== null || subject === '$SYS.REQ.CLAIMS.UPDATE') {
    const pubKey = m !== null ? m[1]! : null;
    let c: ReturnType<typeof decodeClaims>;
    try {
      c = decodeClaims(text);
      if (c.type !== 'account') throw new Error('not account claim');
    } catch (e) {
      respondToUpdate(srv, sys, reply, 'n/a', 'jwt update resulted in error', (e as Error).message);
      return true;
    }
    const invalid = claimValidate(c);
    if (invalid !== null) {
      respondToUpdate(srv, sys, reply, c.sub, 'jwt validation failed', invalid);
      return true;
    }
    if (pubKey !== null && c.sub !== pubKey) {
      respondToUpdate(srv, sys, reply, pubKey, 'jwt update resulted in error', 'subject does not match jwt content');
      return true;
    }
    const key = pubKey ?? c.sub;
    let changed: boolean;
    try {
      changed = st.save(key, text);
    } catch (e) {
      respondToUpdate(srv, sys, reply, key, 'jwt update resulted in error', (e as Error).message);
      return true;
    }
    if (changed) accountChanged(srv, key);
    respondToUpdate(srv, sys, reply, key, 'jwt updated', null);
    return true;
  }
  if (subject === '$SYS.REQ.CLAIMS.DELETE') {
    deleteRequest(srv, sys, st, reply, text);
    return true;
  }
  if (subject === '$SYS.REQ.CLAIMS.LIST') {
    // accounts.go handleListRequest: the stored account ids, in the directory walk's (lexical) order
    if (reply === '') return true;
    const ids = [...st.jwts.keys()].sort();
    if (srv.logger.debugEnabled) srv.logger.debug(`list request responded with ${ids.length} account ids`);
    sendInternal(srv, reply, (server) => Buffer.from(JSON.stringify({ data: ids, server })));
    return true;
  }
  const l = srv.opts.resolver?.type === 'cache' ? null : LOOKUP.exec(subject);
  if (l !== null) {
    if (reply === '') return true;
    const token = st.load(l[1]!);
    if (token === undefined) srv.logger.error(`Merging resulted in error: no matching JWT found`);
    else sendInternal(srv, reply, () => Buffer.from(token));
    return true;
  }
  return false;
}

/**
 * server/accounts.go handleDeleteRequest: a generic JWT self-signed by the
 * operator (or one of its signing keys) listing the accounts to delete;
 * with allow_delete their JWTs are renamed to .jwt.deleted and their
 * clients disconnected (removeCb).
 */
function deleteRequest(srv: Server, sys: Account, st: DirJwtStore, reply: string, text: string): void {
  let subj = '';
  let err: string | null = null;
  let ids: string[] = [];
  try {
    const g = decodeClaims(text);
    subj = g.sub;
    const r = srv.opts.resolver;
    const allowDelete = r !== undefined && (r.type === 'full' || r.type === 'cache') && r.allowDelete;
    const list = g.nats.accounts;
    if (!allowDelete) err = 'delete must be enabled in server config';
    else if (subj !== g.iss) err = 'not self signed';
    else if (!operatorKeys(srv).has(g.iss)) err = 'not trusted';
    else if (!Array.isArray(list)) err = 'malformed request';
    else {
      for (const e of list) {
        if (typeof e !== 'string' || e === '' || !isAccountKey(e)) {
          err = 'malformed request';
          break;
        }
        if (e === srv.systemAccount?.name) {
          err = 'not allowed to delete system account';
          break;
        }
      }
      ids = list as string[];
    }
  } catch (e) {
    err = (e as Error).message;
  }
  if (err !== null) {
    respondToUpdate(srv, sys, reply, '', `delete accounts request by ${subj} failed`, err);
    return;
  }
  let passed = 0;
  const errs: string[] = [];
  for (const id of ids) {
    try {
      if (st.delete(id)) srv.auth.operator?.accountDeleted(id);
      passed++;
    } catch (e) {
      errs.push((e as Error).message);
    }
  }
  if (errs.length === 0) respondToUpdate(srv, sys, reply, '', `deleted ${passed} accounts`, null);
  else respondToUpdate(srv, sys, reply, '', `deleted ${passed} accounts, failed for ${errs.length}`, errs.join('\n'));
}

/** server/accounts.go getOperatorKeys: the first operator and its signing keys. */
function operatorKeys(srv: Server): Set<string> {
  const op = srv.opts.trustedOperators[0];
  if (op === undefined) return new Set();
  try {
    return new Set(operatorTrustedKeys(op));
  } catch {
    return new Set();
  }
}

/** jwt ValidationResults.IsBlocking(false) of an account JWT: claimValidate's error, or null. */
function claimValidate(c: ReturnType<typeof decodeClaims>): string | null {
  const problems: string[] = [];
  for (const i of Array.isArray(c.nats.imports) ? c.nats.imports : []) {
    const o = obj(i);
    problems.push(...(o === null ? ['null import is not allowed'] : importClaimProblems(c.sub, o)));
  }
  return problems.length > 0 ? `validation errors: [${problems.join(' ')}]` : null;
}

/**
 * server/accounts.go CacheDirAccResolver.Start: a cache keeps only the
 * accounts this server has loaded; updates of others are skipped.
 */
function cacheUpdate(srv: Server, sys: Account, st: DirJwtStore, pubKey: string | null, reply: string, text: string): void {
  let c: ReturnType<typeof decodeClaims>;
  try {
    c = decodeClaims(text);
    if (c.type !== 'account') throw new Error('not account claim');
  } catch (e) {
    respondToUpdate(srv, sys, reply, pubKey ?? 'n/a', 'jwt update cache resulted in error', (e as Error).message);
    return;
  }
  if (pubKey !== null && c.sub !== pubKey) {
    respondToUpdate(srv, sys, reply, pubKey, 'jwt update cache resulted in error', 'subject does not match jwt content');
    return;
  }
  const key = pubKey ?? c.sub;
  if (!accountLoaded(srv, key)) {
    respondToUpdate(srv, sys, reply, key, 'jwt update cache skipped', null);
    return;
  }
  const invalid = claimValidate(c);
  if (invalid !== null) {
    respondToUpdate(srv, sys, reply, c.sub, 'jwt update cache validation failed', invalid);
    return;
  }
  let changed: boolean;
  try {
    changed = st.save(key, text);
  } catch (e) {
    respondToUpdate(srv, sys, reply, key, 'jwt update cache resulted in error', (e as Error).message);
    return;
  }
  if (changed) accountChanged(srv, key);
  respondToUpdate(srv, sys, reply, key, 'jwt updated cache', null);
}

/**
 * Whether the reference would have registered the account by now (it
 * loads accounts lazily): the system account, an account a client logged
 * in to, or one such an account imports from.
 */
function accountLoaded(srv: Server, pub: string): boolean {
  if (srv.systemAccount?.name === pub) return true;
  const used = srv.auth.operator?.loadedAccounts;
  if (used === undefined) return false;
  if (used.has(pub)) return true;
  const jwts = knownAccountJWTs(srv);
  for (const u of used) {
    const token = jwts[u];
    if (token !== undefined && importsOf(token).some((i) => str(i.account) === pub)) return true;
  }
  return false;
}

/**
 * The store changed for `pub` (DirJWTStore changed callback): a registered
 * account takes its new claims (server/server.go updateAccountWithClaimJWT):
 * exports, imports and limits again, and its clients re-checked.
 */
function accountChanged(srv: Server, pub: string): void {
  if (srv.lookupAccount(pub) === undefined) return;
  configureServerAccounts(srv);
  srv.auth.operator?.accountUpdated(pub);
}
