// The memory account resolver of operator mode (server/accounts.go
// MemAccResolver with resolver_preload): the preloaded account JWTs that are
// valid (issued by a trusted key, not expired) become accounts named by
// their public key, with the exports and imports of their claims mapped to
// the account configuration the accounts machinery already applies.

import type { AccountConfig, ExportConfig, ImportConfig, Options } from '../config/options.js';
import type { Server } from '../server/server.js';
import { accountInfoFromJWT, decodeClaims, trustedKeysOf } from '../auth/jwt.js';
import { AccountConfigError, configureAccounts } from './imports.js';

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
export function operatorAccounts(opts: Options): { accounts: AccountConfig[]; systemAccount: string } | null {
  const trusted = trustedKeysOf(opts);
  if (trusted === null) return null;
  const accounts: AccountConfig[] = [];
  for (const [pub, token] of Object.entries(opts.resolverPreload)) {
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
    accounts.push({ name: pub, users: [], nkeyUsers: [], exports, imports });
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
  const op = operatorAccounts(opts);
  if (op === null) {
    configureAccounts(srv, opts);
    return;
  }
  try {
    configureAccounts(srv, { ...opts, accounts: [...opts.accounts, ...op.accounts], systemAccount: op.systemAccount });
  } catch (e) {
    if (!(e instanceof AccountConfigError)) throw e;
    if (srv.logger.debugEnabled) srv.logger.debug(`Error adding account imports: ${e.message}`);
  }
}
