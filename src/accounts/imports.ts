// Exports and imports between accounts (server/accounts.go): setting them up
// from the options, and the message path that follows them.
//
// Stream imports: a message published in the exporting account on a subject
// the import covers is also delivered to the importing account's
// subscribers, on the import's local subject. The reference does this with
// "shadow" subscriptions inserted into the exporter's index; here the
// exporter keeps the list of its importers and re-addresses the message at
// publish time, which delivers to the same subscribers.
//
// Service imports: a request published in the importing account on the
// import subject is delivered in the exporting account on the export
// subject, with a fresh reply subject `_R_.<6>.<6>` of the exporter and a
// Nats-Request-Info header. A response published there on that reply is
// routed back to the requester's own reply subject in its account — once
// for `singleton` services, until the response threshold for `stream` and
// `chunked` ones. Pending mappings go away when the requester's interest in
// its reply subject does.

import { nodeCrypto } from '../server/builtins.js';
import { Sublist } from '../subjects/sublist.js';
import { isValidSubject, matchLiteral, subjectHasWildcard, subjectIsLiteral, subjectIsSubsetMatch } from '../subjects/validate.js';
import { DEFAULT_SYSTEM_ACCOUNT, type AccountConfig, type ExportConfig, type ImportClaim, type ImportConfig, type Options } from '../config/options.js';
import { checkActivation, decodeActivationClaims, type ActivationClaims } from '../auth/jwt.js';
import {
  Account,
  ServiceExport,
  ServiceImport,
  ServiceImportEntry,
  StreamImport,
  type ExportAuth,
  type ResponseType,
} from './account.js';
import { SubjectTransform, transformTokenize, transformUntokenize } from './transform.js';
import { buildMapping, selectMappedSubject, type SubjectMapping } from './mapping.js';
import type { Client } from '../client/client.js';
import type { Server } from '../server/server.js';

/** An export/import setup that cannot be applied; the text follows the reference's config errors. */
export class AccountConfigError extends Error {
  readonly code = 'ERR_TSNATS_ACCOUNT_CONFIG';
}

const REPLY_PREFIX = '_R_.';
const JS_ACK_PREFIX = '$JS.ACK.';
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const CLIENT_INFO_HDR = 'Nats-Request-Info';
/** How deep requests may chain through service imports of service imports. */
const MAX_IMPORT_CHAIN = 8;

// ---------------------------------------------------------------------------
// configuration

/**
 * Registers the configured accounts (and the system account) with the server
 * and applies their exports and imports. On a reload the existing Account
 * objects, with their subscriptions, are kept and reconfigured; accounts no
 * longer configured are dropped from the registry (their clients are closed
 * by the authorization re-check). Throws AccountConfigError.
 */
export function configureAccounts(
  srv: Server,
  opts: Options = srv.opts,
  /** operator mode: an import that cannot be added is reported here and skipped, not an error */
  onImportError: ((acc: Account, im: ImportConfig, err: string) => void) | null = null,
): void {
  const cacheSize = opts.subjectCacheSize;
  const configured = new Map<string, AccountConfig>();
  for (const ac of opts.accounts) if (!configured.has(ac.name)) configured.set(ac.name, ac);

  // Pending responses survive a reload with the accounts that hold them.
  for (const [name, acc] of srv.accounts) {
    if (acc === srv.globalAccount || configured.has(name) || acc === srv.systemAccount) continue;
    srv.accounts.delete(name);
  }
  for (const [name, ac] of configured) {
    let acc = srv.accounts.get(name);
    if (acc === undefined) srv.accounts.set(name, (acc = new Account(name, cacheSize)));
    // accounts { X { limits { ... } } } (server/opts.go parseAccountLimits); -1 = none
    acc.maxConnections = ac.limits?.maxConnections ?? -1;
    acc.maxLeafnodes = ac.limits?.maxLeafnodes ?? -1;
    acc.maxSubs = ac.limits?.maxSubscriptions ?? -1;
    acc.maxPayload = ac.limits?.maxPayload ?? -1;
    acc.jetstreamLimits = ac.jetstream ?? null;
  }

  // System account: the configured one, an account named $SYS, else a default $SYS.
  let sysName = opts.systemAccount;
  if (sysName === '' && configured.has(DEFAULT_SYSTEM_ACCOUNT)) sysName = DEFAULT_SYSTEM_ACCOUNT;
  if (sysName === '' && !opts.noSystemAccount) {
    sysName = DEFAULT_SYSTEM_ACCOUNT;
    if (!srv.accounts.has(sysName)) srv.accounts.set(sysName, new Account(sysName, cacheSize));
  }
  if (sysName !== '') {
    const sys = srv.accounts.get(sysName);
    if (sys === undefined) throw new AccountConfigError(`error resolving system account: account "${sysName}" not found`);
    srv.systemAccount = sys;
  } else {
    srv.systemAccount = null;
  }

  // Start from a clean slate on every account, then exports before imports:
  // imports are checked against the exports.
  for (const acc of srv.accounts.values()) resetExportsAndImports(acc);
  const errors: string[] = [];
  for (const ac of configured.values()) {
    const acc = srv.accounts.get(ac.name)!;
    for (const ex of ac.exports) {
      const err = addExport(srv, acc, ex);
      if (err !== null) errors.push(err);
    }
  }
  for (const ac of configured.values()) {
    const acc = srv.accounts.get(ac.name)!;
    for (const im of ac.imports) {
      const err = addImport(srv, acc, im);
      if (err !== null) {
        if (onImportError !== null && im.claim !== undefined) onImportError(acc, im, err);
        else errors.push(err);
      }
    }
  }
  // Subject mappings; the top-level `mappings` arrive as an entry for $G.
  for (const acc of srv.accounts.values()) acc.mappings = null;
  for (const ac of opts.accounts) {
    if (ac.mappings === undefined || ac.mappings.length === 0) continue;
    const acc = srv.accounts.get(ac.name);
    if (acc === undefined) continue;
    const list: SubjectMapping[] = acc.mappings ?? [];
    for (const mc of ac.mappings) {
      try {
        const m = buildMapping(mc);
        // A later mapping of the same source replaces the earlier one.
        const i = list.findIndex((x) => x.src === m.src);
        if (i >= 0) list[i] = m;
        else list.push(m);
      } catch (e) {
        errors.push(`Error adding mapping for ${JSON.stringify(mc.subject)}: ${(e as Error).message}`);
      }
    }
    acc.mappings = list.length > 0 ? list : null;
  }
  const now = new Date();
  for (const acc of srv.accounts.values()) {
    rebuildIndexes(acc);
    acc.updated = now;
  }
  for (const acc of srv.accounts.values()) acc.refreshCrossAccount();
  // the system account's exports and the imports of them every account gets (src/system/)
  srv.system?.accountsConfigured();
  if (errors.length > 0) throw new AccountConfigError(errors.join('; '));
}

function resetExportsAndImports(acc: Account): void {
  for (const t of acc.activationTimers ?? []) clearTimeout(t);
  acc.activationTimers = null;
  for (const se of acc.serviceExports?.values() ?? []) {
    if (se.timer !== null) clearTimeout(se.timer);
    se.timer = null;
  }
  acc.streamExports = null;
  acc.serviceExports = null;
  acc.streamImports = [];
  acc.serviceImports = null;
  acc.serviceImportIndex = null;
  acc.streamImporters = null;
  // Pending responses keep working until they are answered or expire: their
  // export is gone, so no timer will expire them; drop them instead.
  if (acc.responses !== null) {
    for (const rsi of [...acc.responses.values()]) removeResponseImport(acc, rsi);
  }
}

function approvedSet(srv: Server, names: string[] | undefined, what: string): ExportAuth | null | string {
  if (names === undefined) return null;
  const approved = new Set<string>();
  for (const n of names) {
    if (!srv.accounts.has(n)) return `${JSON.stringify(n)} account not defined for ${what} export`;
    approved.add(n);
  }
  return { approved, tokenReq: names.length === 0, accountPos: 0 };
}

function addExport(srv: Server, acc: Account, ex: ExportConfig): string | null {
  const isService = ex.service !== undefined;
  const subject = (isService ? ex.service : ex.stream) ?? '';
  const what = isService ? 'service' : 'stream';
  let auth = approvedSet(srv, ex.accounts, what);
  if (typeof auth === 'string') return auth;
  const pos = ex.accountTokenPosition ?? 0;
  if (pos > 0) {
    const toks = subject.split('.');
    if (toks.length < pos || toks[pos - 1] !== '*') return `Error adding ${what} export ${JSON.stringify(subject)}: invalid subject`;
    auth = { approved: auth?.approved ?? null, tokenReq: false, accountPos: pos };
  }
  if (auth !== null && auth.tokenReq && ex.activation !== undefined) {
    const revoked = new Map(Object.entries(ex.activation.revocations));
    auth.activation = { issuers: new Set(ex.activation.issuers), revoked: revoked.size > 0 ? revoked : null };
  }
  if (!isService) {
    (acc.streamExports ??= new Map()).set(subject, auth);
    return null;
  }
  const se = new ServiceExport(acc, subject);
  se.auth = auth;
  if (ex.responseType !== undefined) se.responseType = ex.responseType;
  if (ex.responseThresholdMs !== undefined && ex.responseThresholdMs > 0) se.responseThresholdMs = ex.responseThresholdMs;
  if (ex.latency !== undefined) se.latency = { ...ex.latency };
  (acc.serviceExports ??= new Map()).set(subject, se);
  return null;
}

/** What an import is checked with: the importer, its jwt.Import (operator mode), and where an activation's expiry goes. */
interface ImportCheck {
  srv: Server;
  exporter: Account;
  importer: Account;
  claim: ImportClaim | undefined;
  /** the activation token that authorized the import */
  activation: ActivationClaims | null;
}

/** server/accounts.go checkAuth */
function authorized(ea: ExportAuth | null, ic: ImportCheck, tokens: string[] | null): boolean {
  if (ea === null || ((ea.approved === null || ea.approved.size === 0) && !ea.tokenReq && ea.accountPos === 0)) return true;
  if (ea.accountPos > 0) return tokens !== null && ea.accountPos <= tokens.length && tokens[ea.accountPos - 1] === ic.importer.name;
  if (ea.tokenReq) {
    // activation tokens exist in operator mode only
    if (ea.activation === undefined) return false;
    const act = checkActivation(ic.exporter.name, ea.activation.issuers, ic.importer.name, ic.claim, ea.activation.revoked, (m) =>
      ic.srv.logger.error(m),
    );
    if (act === null) return false;
    ic.activation = act;
    return true;
  }
  return ea.approved !== null && ea.approved.has(ic.importer.name);
}

/** server/accounts.go checkStreamExportApproved / checkServiceExportApproved */
function exportApproved<T>(exports: Map<string, T> | null, authOf: (v: T) => ExportAuth | null, ic: ImportCheck, subject: string): boolean {
  if (exports === null || !isValidSubject(subject)) return false;
  if (exports.has(subject)) return authorized(authOf(exports.get(subject) as T), ic, null);
  const tokens = subject.split('.');
  for (const [subj, v] of exports) {
    if (subjectIsSubsetMatch(subject, subj)) return authorized(authOf(v), ic, tokens);
  }
  return false;
}

/** The import's activation token expiry: null without a token (or with one that does not decode). */
function tokenExpiry(ic: ImportCheck): number | null {
  if (ic.activation !== null) return ic.activation.exp;
  if (ic.claim === undefined || ic.claim.token === '') return null;
  try {
    return decodeActivationClaims(ic.claim.token).exp;
  } catch {
    return null;
  }
}

/**
 * checkActivation's expiry timer (server/accounts.go activationExpired):
 * when the token that authorized an import expires, the import the
 * reference finds for the token's subject is checked again and stops
 * working. As the reference, a stream import is looked up by exporter and
 * subject (falling back to the account's last stream import), a service
 * import by its local subject (so a wildcard token on a service import
 * never expires it).
 */
function armActivationExpiry(ic: ImportCheck): void {
  const act = ic.activation;
  if (act === null || act.exp <= 0) return;
  const importer = ic.importer;
  const exporter = ic.exporter;
  const kind = ic.claim?.type;
  const ms = Math.max(0, act.exp - Math.floor(Date.now() / 1000)) * 1000;
  const t = setTimeout(() => {
    let target: StreamImport | ServiceImport | undefined;
    if (kind === 'stream') {
      target = importer.streamImports.find((s) => s.exporter === exporter && s.from === act.subject);
      target ??= importer.streamImports[importer.streamImports.length - 1];
    } else {
      target = importer.serviceImports?.get(act.subject);
    }
    if (target === undefined || target.invalid) return;
    const exp = target.tokenExp;
    if (exp === null || (exp !== 0 && exp <= Math.floor(Date.now() / 1000))) target.invalid = true;
  }, Math.min(ms, 2_147_483_647));
  t.unref();
  (importer.activationTimers ??= []).push(t);
}

/** The service export a subject falls under (server/accounts.go getServiceExport). */
export function findServiceExport(acc: Account, subject: string): ServiceExport | null {
  const exports = acc.serviceExports;
  if (exports === null) return null;
  const direct = exports.get(subject);
  if (direct !== undefined) return direct;
  for (const [subj, se] of exports) if (subjectIsSubsetMatch(subject, subj)) return se;
  return null;
}

function addImport(srv: Server, acc: Account, im: ImportConfig): string | null {
  if (im.stream !== undefined) {
    const from = im.stream.subject;
    const exporter = srv.accounts.get(im.stream.account);
    if (exporter === undefined) return `${JSON.stringify(im.stream.account)} account not defined for stream import`;
    const ic: ImportCheck = { srv, exporter, importer: acc, claim: im.claim, activation: null };
    if (!exportApproved(exporter.streamExports, (v) => v, ic, from)) {
      return `Error adding stream import ${JSON.stringify(from)}: stream import not authorized`;
    }
    let to: string;
    if (im.prefix !== undefined && im.prefix !== '') {
      if (!subjectIsLiteral(im.prefix)) return `Error adding stream import ${JSON.stringify(from)}: stream import prefix can not contain wildcard tokens`;
      to = (im.prefix.endsWith('.') ? im.prefix : im.prefix + '.') + from;
    } else {
      to = im.to !== undefined && im.to !== '' ? im.to : from;
    }
    let tr: SubjectTransform | null = null;
    let usePub = false;
    if (subjectHasWildcard(from)) {
      if (to === from) {
        usePub = true;
      } else {
        try {
          tr = SubjectTransform.create(from, transformTokenize(to));
        } catch (e) {
          return `Error adding stream import ${JSON.stringify(from)}: failed to create mapping transform for stream import subject ${JSON.stringify(from)} to ${JSON.stringify(to)}: ${(e as Error).message}`;
        }
        to = transformUntokenize(to).subject;
      }
    }
    if (acc.streamImports.some((s) => s.exporter === exporter && s.from === from)) {
      return `Error adding stream import ${JSON.stringify(from)}: stream import already exists`;
    }
    const si = new StreamImport(acc, exporter, from, to, tr, usePub);
    si.tokenExp = tokenExpiry(ic);
    armActivationExpiry(ic);
    acc.streamImports.push(si);
    return null;
  }
  if (im.service !== undefined) {
    const remote = im.service.subject;
    let local = im.to !== undefined && im.to !== '' ? im.to : remote;
    const exporter = srv.accounts.get(im.service.account);
    if (exporter === undefined) return `${JSON.stringify(im.service.account)} account not defined for service import`;
    if (!isValidSubject(local) || !isValidSubject(remote)) return `Error adding service import ${JSON.stringify(remote)}: invalid subject`;
    const ic: ImportCheck = { srv, exporter, importer: acc, claim: im.claim, activation: null };
    if (!exportApproved(exporter.serviceExports, (se) => se.auth, ic, remote)) {
      return `Error adding service import ${JSON.stringify(remote)}: service import not authorized`;
    }
    const imports = (acc.serviceImports ??= new Map());
    const dup = imports.get(local);
    if (dup !== undefined) {
      return `Error adding service import ${JSON.stringify(remote)}: duplicate service import subject ${JSON.stringify(local)}, previously used in import for account ${JSON.stringify(dup.acc.name)}, subject ${JSON.stringify(dup.to)}`;
    }
    const se = findServiceExport(exporter, remote);
    let to = remote;
    let tr: SubjectTransform | null = null;
    let usePub = false;
    if (subjectHasWildcard(to)) {
      if (to === local) {
        usePub = true;
      } else {
        // server/accounts.go addServiceImport: build exporter→importer, then reverse it.
        to = transformUntokenize(to).subject;
        try {
          const fwd = SubjectTransform.create(to, transformTokenize(local));
          local = transformUntokenize(local).subject;
          tr = fwd.reverse();
        } catch (e) {
          return `Error adding service import ${JSON.stringify(remote)}: failed to create mapping transform for service import subject ${JSON.stringify(local)} to ${JSON.stringify(to)}: ${(e as Error).message}`;
        }
      }
    }
    const si = new ServiceImport(exporter, local, to, tr, usePub, se?.responseType ?? 'singleton', se, im.share === true, false);
    si.tokenExp = tokenExpiry(ic);
    armActivationExpiry(ic);
    imports.set(local, si);
    return null;
  }
  return null;
}

function rebuildIndexes(acc: Account): void {
  if (acc.serviceImports !== null && acc.serviceImports.size > 0) {
    const idx = new Sublist<ServiceImportEntry>({ cacheSize: 256 });
    for (const si of acc.serviceImports.values()) idx.insert(new ServiceImportEntry(si.from, si));
    acc.serviceImportIndex = idx;
  }
  for (const im of acc.streamImports) {
    const list = (im.exporter.streamImporters ??= []);
    list.push(im);
  }
}

// ---------------------------------------------------------------------------
// the message path

/**
 * Cross-account work for the message `c` is publishing (its pub args
 * describe subject and reply) into `acc`: responses, service imports and,
 * unless the message came through a service import, stream importers.
 * Returns whether this counts as a delivery (service imports always do, as
 * the reference's internal subscriptions accept every message).
 */
/**
 * Whether processImports could deliver anything for `subject` from `acc`
 * (a plain publish, not a service's reply): lets a caller skip building
 * its arguments. Mirrors processImports' four cases.
 */
export function mayImport(acc: Account, subject: string): boolean {
  if (acc.sysRequests !== null && subject.charCodeAt(0) === 0x24 /* $ */) return true;
  if (acc.respPrefix !== null && subject.startsWith(acc.respPrefix)) return true;
  if (acc.serviceImportIndex !== null && acc.serviceImportIndex.mayMatch(subject)) return true;
  return acc.streamImporters !== null;
}

/**
 * mayImport on a subject held as latin1 bytes, buf[start, end): a client's
 * publish decides here, without a string per message, whether the import
 * path can apply. Every account imports a few `$SYS.REQ` subjects from the
 * system account, so without it every publish in every account made a
 * subject string and looked it up in the import index (pub-only 16 B fell
 * to 0.46 of nats-server's rate).
 */
export function mayImportAt(acc: Account, buf: Buffer, start: number, end: number): boolean {
  if (acc.streamImporters !== null) return true;
  if (acc.sysRequests !== null && buf[start] === 0x24 /* $ */) return true;
  const rp = acc.respPrefix;
  if (rp !== null && end - start >= rp.length) {
    let i = 0;
    while (i < rp.length && buf[start + i] === rp.charCodeAt(i)) i++;
    if (i === rp.length) return true;
  }
  return acc.serviceImportIndex !== null && acc.serviceImportIndex.mayMatchAt(buf, start, end);
}

export function processImports(
  c: Client,
  acc: Account,
  subject: string,
  reply: string,
  buf: Buffer,
  start: number,
  fromService: boolean,
  chain: readonly ServiceImport[] | null,
  /**
   * A JetStream delivery: `subject` is the deliver subject that routes it,
   * this the stored message's subject, which its MSG line carries in every
   * account (server/client.go processMsgResults swaps them back after the
   * import mapping).
   */
  msgSubject: string | null = null,
): boolean {
  let delivered = false;
  const sysReq = acc.sysRequests;
  if (sysReq !== null && subject.charCodeAt(0) === 0x24 /* $ */) {
    const payload = buf.subarray(start + (c.paHdr > 0 ? c.paHdr : 0), start + c.paSize);
    if (sysReq(c, subject, reply, payload)) delivered = true;
  }
  const prefix = acc.respPrefix;
  if (prefix !== null && subject.startsWith(prefix)) {
    delivered = true;
    const rsi = acc.responses?.get(subject);
    if (rsi !== undefined && !rsi.invalid) processServiceImport(c, acc, rsi, subject, reply, buf, start, chain, msgSubject);
  }
  const idx = acc.serviceImportIndex;
  if (idx !== null && idx.mayMatch(subject)) {
    const r = idx.match(subject);
    const entries = r.psubs;
    for (let i = 0; i < entries.length; i++) {
      const si = entries[i]!.si;
      if (si.invalid) continue;
      delivered = true;
      processServiceImport(c, acc, si, subject, reply, buf, start, chain, msgSubject);
    }
  }
  const importers = acc.streamImporters;
  if (!fromService && importers !== null) {
    for (let i = 0; i < importers.length; i++) {
      const im = importers[i]!;
      if (im.invalid || !matchLiteral(subject, im.from)) continue;
      const dsubj = im.tr !== null ? im.tr.transformSubject(subject) : im.usePub ? subject : im.to;
      // Leafnode connections of the importer with interest get it too (src/leafnode).
      const ln = c.server.leafnodes;
      const nested = ln === null ? null : (pb: Buffer, ps: number) => ln.routeImported(c, im.importer, dsubj, pb, ps);
      const ok =
        msgSubject === null
          ? c.deliverAs(im.importer, dsubj, reply, null, buf, start, nested)
          : c.deliverAs(im.importer, msgSubject, reply, null, buf, start, nested, dsubj);
      if (ok) delivered = true;
    }
  }
  return delivered;
}

/** server/client.go processServiceImport, for a request or a response hop. */
function processServiceImport(
  c: Client,
  owner: Account,
  si: ServiceImport,
  subject: string,
  reply: string,
  buf: Buffer,
  start: number,
  chain: readonly ServiceImport[] | null,
  msgSubject: string | null,
): void {
  if (chain !== null) {
    if (chain.length >= MAX_IMPORT_CHAIN) return;
    // A chain that comes back to an export it already went through is a cycle.
    for (const p of chain) if (p === si || (si.se !== null && p.se === si.se)) return;
  }
  const isResponse = si.response;
  const emptyMessage = c.paSize === 0;
  let nrr = '';
  let rsi: ServiceImport | null = null;
  // service latency: is this request sampled (server/client.go processServiceImport → shouldSample)
  const sys = !isResponse && si.se !== null && si.se.latency !== null ? c.server.system : null;
  const sampled = sys !== null ? sys.latencySample(si.se!, c.paHdr > 2 ? buf.toString('latin1', start, start + c.paHdr - 2) : '') : null;
  if (reply !== '') {
    if (reply.startsWith(JS_ACK_PREFIX)) {
      nrr = reply;
    } else {
      rsi = addResponseImport(si.acc, owner, reply, si, sampled !== null ? sys!.latencySuffix() : '');
      if (sampled !== null) rsi.tracking = { rc: c, ts: Date.now(), header: sampled, delivered: false, m1: null, m2: null };
      nrr = rsi.from;
    }
  } else if (sampled !== null) {
    sys!.latencyBadRequest(si.se!, c, si.share, sampled);
  }
  if (isResponse && si.tracking !== null && !si.tracking.delivered) {
    si.tracking.delivered = true;
    c.server.system?.latencyResponse(si, c);
  }
  let to = si.tr !== null ? si.tr.transformSubject(subject) : si.usePub ? subject : si.to;
  // The destination account's own mappings apply to what arrives there.
  if (si.acc.mappings !== null) {
    const mapped = selectMappedSubject(si.acc.mappings, to, c.server.clusterName);
    if (mapped !== null) to = mapped;
  }
  const hdr = isResponse ? null : requestInfoHeader(c, owner, si, chain, buf, start);
  const next = chain === null ? [si] : [...chain, si];
  const dest = si.acc;
  const nested = (pbuf: Buffer, pstart: number): boolean => {
    let d = processImports(c, dest, to, nrr, pbuf, pstart, true, next, msgSubject);
    // Servers with interest in the destination account get it over routes (cluster/imports.ts).
    const cl = c.server.cluster;
    if (cl !== null && cl.routeImported(c, dest, to, pbuf, pstart)) d = true;
    // And leafnode connections with interest in the destination account (src/leafnode).
    const ln = c.server.leafnodes;
    if (ln !== null && ln.routeImported(c, dest, to, pbuf, pstart)) d = true;
    return d;
  };
  // A JetStream delivery is matched on `to` but keeps the stored subject on its MSG line.
  const delivered = c.deliverAs(dest, msgSubject ?? to, nrr, hdr, buf, start, nested, to);
  if (si.rt !== 'singleton' && delivered) si.ts = Date.now();
  const remove = !delivered || (isResponse && (si.rt === 'singleton' || emptyMessage));
  if (remove) {
    if (isResponse) removeResponseImport(owner, si);
    else if (rsi !== null) {
      if (rsi.tracking !== null) c.server.system?.latencyBackendError(rsi, false);
      removeResponseImport(si.acc, rsi);
    }
  }
}

/** A new `_R_.<prefix>.<6>` reply in `exporter` that routes back to `reply` in `requester`. */
export function addResponseImport(exporter: Account, requester: Account, reply: string, osi: ServiceImport, suffix = ''): ServiceImport {
  if (exporter.respPrefix === null) {
    exporter.respPrefix = REPLY_PREFIX + randomToken(6) + '.';
    exporter.refreshCrossAccount();
  }
  const responses = (exporter.responses ??= new Map());
  let nrr: string;
  do nrr = exporter.respPrefix + randomToken(6) + suffix;
  while (responses.has(nrr));
  const rsi = new ServiceImport(requester, nrr, reply, null, false, osi.rt, osi.se, osi.share, true);
  rsi.ts = Date.now();
  responses.set(nrr, rsi);
  if (osi.se !== null) armResponseTimer(osi.se);
  const rr = (requester.rrMap ??= new Map());
  const list = rr.get(reply);
  if (list === undefined) rr.set(reply, [{ acc: exporter, msub: nrr }]);
  else list.push({ acc: exporter, msub: nrr });
  return rsi;
}

/** server/accounts.go removeRespServiceImport */
export function removeResponseImport(exporter: Account, rsi: ServiceImport): void {
  if (exporter.responses === null || exporter.responses.get(rsi.from) !== rsi) return;
  exporter.responses.delete(rsi.from);
  const rr = rsi.acc.rrMap;
  if (rr === null) return;
  const list = rr.get(rsi.to);
  if (list === undefined) return;
  const i = list.findIndex((e) => e.acc === exporter && e.msub === rsi.from);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) rr.delete(rsi.to);
  if (rr.size === 0) rsi.acc.rrMap = null;
}

function armResponseTimer(se: ServiceExport): void {
  if (se.timer !== null) return;
  se.timer = setTimeout(() => expireResponses(se), se.responseThresholdMs);
  se.timer.unref();
}

/** server/accounts.go checkExpiredResponses */
function expireResponses(se: ServiceExport): void {
  se.timer = null;
  const acc = se.account;
  const responses = acc.responses;
  if (responses === null) return;
  const cutoff = Date.now() - se.responseThresholdMs;
  let left = 0;
  for (const rsi of [...responses.values()]) {
    if (rsi.se !== se) continue;
    if (rsi.ts <= cutoff) {
      // server/accounts.go removeRespServiceImport(rsiTimeout): a tracked request never answered
      if (rsi.tracking !== null && !rsi.tracking.delivered) rsi.tracking.rc.server.system?.latencyBackendError(rsi, true);
      removeResponseImport(acc, rsi);
    }
    else left++;
  }
  if (left > 0) armResponseTimer(se);
}

/**
 * The requester stopped listening on `subject` (server/accounts.go
 * checkForReverseEntry): unless someone in its account still listens,
 * forget the responses still pending towards it.
 */
export function checkReverseEntries(acc: Account, subject: string): void {
  const rr = acc.rrMap;
  if (rr === null) return;
  if (subjectHasWildcard(subject)) {
    for (const k of [...rr.keys()]) if (subjectIsSubsetMatch(k, subject)) checkReverseEntries(acc, k);
    return;
  }
  const list = rr.get(subject);
  if (list === undefined) return;
  if (acc.sublist.hasInterest(subject)) return;
  rr.delete(subject);
  if (rr.size === 0) acc.rrMap = null;
  for (const e of list) {
    const rsi = e.acc.responses?.get(e.msub);
    if (rsi === undefined) continue;
    e.acc.responses!.delete(e.msub);
    // server/accounts.go checkForReverseEntry → sendReplyInterestLostTrackLatency: a tracked request left unanswered
    const t = rsi.tracking;
    if (t !== null && !t.delivered) {
      t.delivered = true;
      t.rc.server.system?.latencyInterestLost(rsi);
    }
  }
}

function randomToken(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += DIGITS[nodeCrypto().randomInt(62)];
  return s;
}

// ---------------------------------------------------------------------------
// Nats-Request-Info

// server/events.go ClientInfo field order; Go marshals the struct in this order.
const CLIENT_INFO_KEYS = [
  'start',
  'host',
  'id',
  'acc',
  'svc',
  'user',
  'name',
  'lang',
  'ver',
  'rtt',
  'server',
  'cluster',
  'alts',
  'stop',
  'jwt',
  'issuer_key',
  'name_tag',
  'tags',
  'kind',
  'client_type',
  'client_id',
] as const;

function marshalClientInfo(ci: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k of CLIENT_INFO_KEYS) {
    const v = ci[k];
    // omitempty on every field but "acc"
    if (k !== 'acc' && (v === undefined || v === null || v === '' || v === 0 || (Array.isArray(v) && v.length === 0))) continue;
    out[k] = v ?? '';
  }
  return JSON.stringify(out);
}

/** Go's time.Time JSON (RFC 3339 with trailing zeros of the fraction trimmed). */
function goTimeJSON(d: Date): string {
  const iso = d.toISOString(); // 2006-01-02T15:04:05.000Z
  return iso.replace(/\.?0+Z$/, 'Z');
}

/** server/client.go getClientInfo(detailed) + addServerAndClusterInfo */
function clientInfo(c: Client, detailed: boolean): Record<string, unknown> {
  const ci: Record<string, unknown> = { acc: c.account.name, rtt: c.rttMs * 1_000_000 };
  if (detailed) {
    addServerInfo(c.server, ci);
    ci.start = goTimeJSON(c.start);
    ci.host = c.host;
    ci.id = c.cid;
    ci.name = c.opts.name;
    // The reference also reveals a connection's auth token here; we do not.
    ci.user = c.opts.nkey !== '' ? c.opts.nkey : c.opts.user;
    ci.lang = c.opts.lang;
    ci.ver = c.opts.version;
    ci.kind = 'Client';
    ci.client_type = 'nats';
  }
  return ci;
}

function addServerInfo(srv: Server, ci: Record<string, unknown>): void {
  ci.server = srv.serverName;
  ci.cluster = srv.clusterName;
}

/**
 * The header block of a request crossing a service import: the message's
 * own header (an older Nats-Request-Info removed) plus this hop's
 * Nats-Request-Info (server/client.go processServiceImport + setHeader).
 */
function requestInfoHeader(
  c: Client,
  owner: Account,
  si: ServiceImport,
  chain: readonly ServiceImport[] | null,
  buf: Buffer,
  start: number,
): Buffer {
  const srv = c.server;
  const isSysImport = srv.systemAccount !== null && si.acc === srv.systemAccount;
  const hadPrev = chain !== null && chain.length > 0;
  const share = hadPrev ? chain[chain.length - 1]!.share : si.share;
  const own = c.paHdr > 2 ? buf.toString('latin1', start, start + c.paHdr - 2) : '';
  let ci: Record<string, unknown> | null = null;
  if (hadPrev && own !== '') {
    const prev = getHeader(own, CLIENT_INFO_HDR);
    if (prev !== null) {
      try {
        const parsed = JSON.parse(prev) as unknown;
        if (parsed !== null && typeof parsed === 'object') {
          ci = parsed as Record<string, unknown>;
          ci.svc = owner.name;
          if (!share && (si.share || isSysImport)) addServerInfo(srv, ci);
        }
      } catch {
        ci = null;
      }
    }
  }
  if (ci === null) {
    ci = clientInfo(c, share);
    if (!share && isSysImport) addServerInfo(srv, ci);
  }
  let base = own === '' ? '' : removeHeader(own, CLIENT_INFO_HDR);
  if (base === '') base = 'NATS/1.0\r\n';
  return Buffer.from(`${base}${CLIENT_INFO_HDR}: ${marshalClientInfo(ci)}\r\n\r\n`, 'latin1');
}

/** server/client.go getHeader: the value of `key` in a header block, or null. */
export function getHeader(hdr: string, key: string): string | null {
  const i = hdr.indexOf(key);
  if (i < 2 || hdr[i - 1] !== '\n' || hdr[i - 2] !== '\r') return null;
  let p = i + key.length;
  if (hdr[p] !== ':') return null;
  p++;
  while (hdr[p] === ' ') p++;
  const end = hdr.indexOf('\r\n', p);
  return end < 0 ? hdr.slice(p) : hdr.slice(p, end);
}

/** server/client.go removeHeaderIfPresent; '' when only the status line would remain. */
function removeHeader(hdr: string, key: string): string {
  const i = hdr.indexOf(key);
  if (i < 1 || hdr[i - 1] !== '\n') return hdr;
  if (hdr[i + key.length] !== ':') return hdr;
  const end = hdr.indexOf('\r\n', i);
  if (end < 0) return hdr;
  const out = hdr.slice(0, i) + hdr.slice(end + 2);
  return out.length <= 'NATS/1.0\r\n'.length ? '' : out;
}
