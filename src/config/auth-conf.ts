// authorization { }, users [ ], permissions { } and accounts { } blocks,
// following server/opts.go (parseAuthorization, parseUsers,
// parseUserPermissions, parseAccounts and friends): same aliases, same
// defaults, same error texts and positions.

import { fromPublic } from '../auth/nkeys.js';
import type { ConfNode } from './conf.js';
import { DurationError, nsToMs, parseGoDuration } from './duration.js';
import {
  DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS,
  DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
  DEFAULT_GLOBAL_ACCOUNT,
  type AccountConfig,
  type AccountLimitsConfig,
  type ExportConfig,
  type ImportConfig,
  type MappingConfig,
  type MappingDestination,
  type NkeyUserConfig,
  type Options,
  type Permissions,
  type ResponsePermission,
  type SubjectPermission,
  type UserConfig,
} from './options.js';
import { checkPermSubject, isSubsetMatch, isValidSubject, subjectIsLiteral } from './subject-check.js';
import { parseJetStreamForAccount } from './jetstream-conf.js';
import {
  Issues,
  NIL_DEREF,
  TypeMismatch,
  asArray,
  asBool,
  asInt,
  asMap,
  asString,
  goQuote,
  goType,
  goValue,
  parseStringArray,
  recovering,
} from './values.js';

/** server/opts.go authorization struct */
export interface AuthBlock {
  user: string;
  pass: string;
  token: string;
  /** seconds; 0 when not given */
  timeout: number;
  /** undefined unless a users array was present (even empty) */
  users?: UserConfig[];
  nkeys?: NkeyUserConfig[];
  defaultPermissions?: Permissions;
}

const CONNECTION_TYPES = ['STANDARD', 'WEBSOCKET', 'LEAFNODE', 'LEAFNODE_WS', 'MQTT', 'MQTT_WS'];

/** nkeys.IsValidPublic{User,Account,Operator}Key */
export function isValidPublicKey(key: string, prefix: 'U' | 'A' | 'O'): boolean {
  if (key.length === 0 || key[0] !== prefix) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

function timeoutSeconds(n: ConfNode): number {
  // Anything but a number silently means one second (server/opts.go).
  if (n.kind === 'integer' || n.kind === 'float') return n.value;
  return 1;
}

function applyDefaultPermissions(auth: { users?: UserConfig[]; nkeys?: NkeyUserConfig[] }, p?: Permissions): void {
  if (p === undefined) return;
  for (const u of auth.users ?? []) if (u.permissions === undefined) u.permissions = p;
  for (const u of auth.nkeys ?? []) if (u.permissions === undefined) u.permissions = p;
}

/**
 * parseAuthorization. Returns null where the reference's parser panicked and
 * returned a nil struct (the caller then reproduces the nil dereference).
 */
export function parseAuthorization(n: ConfNode, issues: Issues): AuthBlock | null {
  return recovering<AuthBlock | null>(issues, null, () => {
    const auth: AuthBlock = { user: '', pass: '', token: '', timeout: 0 };
    for (const [key, v] of asMap(n)) {
      switch (key.toLowerCase()) {
        case 'user':
        case 'username':
          auth.user = asString(v);
          break;
        case 'pass':
        case 'password':
          auth.pass = asString(v);
          break;
        case 'token':
          auth.token = asString(v);
          break;
        case 'timeout':
          auth.timeout = timeoutSeconds(v);
          break;
        case 'users': {
          const r = parseUsers(v, issues);
          if (r === 'error') break;
          auth.users = r?.users;
          auth.nkeys = r?.nkeys;
          break;
        }
        case 'default_permission':
        case 'default_permissions':
        case 'permissions': {
          const p = parseUserPermissions(v, issues);
          if (p !== 'error') auth.defaultPermissions = p ?? undefined;
          break;
        }
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
    applyDefaultPermissions(auth, auth.defaultPermissions);
    return auth;
  });
}

/**
 * parseUsers. 'error' = an error was reported and nothing is set; null = the
 * parser panicked (nil users).
 */
export function parseUsers(
  n: ConfNode,
  issues: Issues,
): { users: UserConfig[]; nkeys: NkeyUserConfig[] } | null | 'error' {
  return recovering<{ users: UserConfig[]; nkeys: NkeyUserConfig[] } | null | 'error'>(issues, null, () => {
    if (n.kind !== 'array') {
      issues.error(n, `Expected users field to be an array, got ${goValue(n)}`);
      return 'error';
    }
    const users: UserConfig[] = [];
    const nkeys: NkeyUserConfig[] = [];
    for (const el of n.value) {
      if (el.kind !== 'map') {
        issues.error(el, `Expected user entry to be a map/struct, got ${goValue(el)}`);
        continue;
      }
      let last: ConfNode = el;
      let nkey = '';
      let username = '';
      let password = '';
      let perms: Permissions | undefined;
      let cts: string[] | undefined;
      for (const [key, v] of el.value) {
        last = v;
        switch (key.toLowerCase()) {
          case 'nkey':
            nkey = asString(v);
            break;
          case 'user':
          case 'username':
            username = asString(v);
            break;
          case 'pass':
          case 'password':
            password = asString(v);
            break;
          case 'permission':
          case 'permissions':
          case 'authorization': {
            const p = parseUserPermissions(v, issues);
            if (p !== 'error') perms = p ?? undefined;
            break;
          }
          case 'allowed_connection_types':
          case 'connection_types':
          case 'clients':
            cts = parseAllowedConnectionTypes(v, issues);
            break;
          default:
            if (!v.usedVariable) issues.unknownField(v, key);
        }
      }
      if (nkey === '' && username === '') {
        issues.error(last, 'User entry requires a user');
        return 'error';
      }
      if (nkey !== '') {
        if (!isValidPublicKey(nkey, 'U')) {
          issues.error(last, 'Not a valid public nkey for a user');
          return 'error';
        }
        if (username !== '' || password !== '') {
          issues.error(last, 'Nkey users do not take usernames or passwords');
          return 'error';
        }
        const u: NkeyUserConfig = { nkey };
        if (perms) u.permissions = perms;
        if (cts) u.allowedConnectionTypes = cts;
        nkeys.push(u);
      } else {
        const u: UserConfig = { username, password };
        if (perms) u.permissions = perms;
        if (cts) u.allowedConnectionTypes = cts;
        users.push(u);
      }
    }
    return { users, nkeys };
  });
}

function parseAllowedConnectionTypes(n: ConfNode, issues: Issues): string[] | undefined {
  const list = parseStringArray('allowed connection types', n, issues);
  if (list === undefined) return undefined;
  const valid: string[] = [];
  const unknown: string[] = [];
  for (const raw of list) {
    const t = raw.toUpperCase();
    if (CONNECTION_TYPES.includes(t)) {
      if (!valid.includes(t)) valid.push(t);
    } else unknown.push(t);
  }
  if (unknown.length > 0) issues.error(n, `invalid connection types [${unknown.map(goQuote).join(' ')}]`);
  return valid;
}

/**
 * parseUserPermissions. 'error' = reported, nothing set; null = panicked
 * (nil permissions). `located` false: the caller handed over the bare value,
 * so the reference's not-a-map error carries no position.
 */
export function parseUserPermissions(n: ConfNode, issues: Issues, located = true): Permissions | null | 'error' {
  return recovering<Permissions | null | 'error'>(issues, null, () => {
    if (n.kind !== 'map') {
      issues.error(located ? n : undefined, `Expected permissions to be a map/struct, got ${goValue(n)}`);
      return 'error';
    }
    const p: Permissions = {};
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        // For routes, import is publish and export is subscribe.
        case 'pub':
        case 'publish':
        case 'import': {
          const sp = parseVariablePermissions(v, issues);
          if (sp !== 'error') p.publish = sp;
          break;
        }
        case 'sub':
        case 'subscribe':
        case 'export': {
          const sp = parseVariablePermissions(v, issues);
          if (sp !== 'error') p.subscribe = sp;
          break;
        }
        case 'publish_allow_responses':
        case 'allow_responses': {
          if (v.kind === 'bool') {
            if (v.value) {
              p.response = { maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS };
            }
          } else {
            p.response = parseAllowResponses(v, issues);
          }
          if (p.response !== undefined) {
            if (p.publish === undefined) p.publish = {};
            // Responses only: the blanket allow is turned off.
            if (p.publish.allow === undefined) p.publish.allow = [];
          }
          break;
        }
        default:
          if (!v.usedVariable) issues.error(v, `Unknown field ${goQuote(key)} parsing permissions`);
      }
    }
    return p;
  });
}

/** Old style (subject or list) or new style ({allow, deny}). undefined = cleared. */
function parseVariablePermissions(v: ConfNode, issues: Issues): SubjectPermission | undefined | 'error' {
  if (v.kind === 'map') return parseSubjectPermission(v, issues);
  // Old style: the reference passes the bare value on, so errors carry no position.
  const subjects = parsePermSubjects(v, issues, false);
  if (subjects === 'error') return 'error';
  return { allow: subjects };
}

function parseSubjectPermission(n: ConfNode & { kind: 'map' }, issues: Issues): SubjectPermission | undefined | 'error' {
  return recovering<SubjectPermission | undefined>(issues, undefined, () => {
    if (n.value.size === 0) return undefined;
    const p: SubjectPermission = {};
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'allow': {
          const s = parsePermSubjects(v, issues, true);
          if (s !== 'error') p.allow = s;
          break;
        }
        case 'deny': {
          const s = parsePermSubjects(v, issues, true);
          if (s !== 'error') p.deny = s;
          break;
        }
        default:
          if (!v.usedVariable) {
            issues.error(
              v,
              `Unknown field name ${goQuote(key)} parsing subject permissions, only 'allow' or 'deny' are permitted`,
            );
          }
      }
    }
    return p;
  });
}

function parsePermSubjects(v: ConfNode, issues: Issues, located: boolean): string[] | undefined | 'error' {
  const at = located ? v : undefined;
  let subjects: string[] | undefined;
  if (v.kind === 'string') subjects = [v.value];
  else if (v.kind === 'array') {
    subjects = [];
    for (const el of v.value) {
      if (el.kind !== 'string') {
        issues.error(el, 'Subject in permissions array cannot be cast to string');
        return 'error';
      }
      subjects.push(el.value);
    }
  } else {
    issues.error(at, `Expected subject permissions to be a subject, or array of subjects, got ${goType(v)}`);
    return 'error';
  }
  for (const s of subjects) {
    const bad = checkPermSubject(s);
    if (bad !== undefined) {
      issues.error(at, bad);
      return 'error';
    }
  }
  // An empty array is a nil slice in the reference.
  return subjects.length === 0 ? undefined : subjects;
}

function parseAllowResponses(n: ConfNode, issues: Issues): ResponsePermission | undefined {
  return recovering<ResponsePermission | undefined>(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, 'error parsing response permissions, expected a boolean or a map');
      return undefined;
    }
    const rp: ResponsePermission = {
      maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
      expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS,
    };
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'max':
        case 'max_msgs':
        case 'max_messages':
        case 'max_responses': {
          // Negative means unlimited; 0 keeps the default.
          const max = asInt(v);
          if (max !== 0) rp.maxMsgs = max;
          break;
        }
        case 'expires':
        case 'expiration':
        case 'ttl': {
          if (v.kind !== 'string') {
            issues.error(v, 'error parsing expires, not a duration string');
            return undefined;
          }
          let ns: bigint;
          try {
            ns = parseGoDuration(v.value);
          } catch (e) {
            if (!(e instanceof DurationError)) throw e;
            issues.error(v, `error parsing expires: ${e.message}`);
            return undefined;
          }
          if (ns !== 0n) rp.expiresMs = nsToMs(ns);
          break;
        }
        default:
          if (!v.usedVariable) issues.error(v, `Unknown field ${goQuote(key)} parsing permissions`);
      }
    }
    return rp;
  });
}

/** parseSimpleAuth (websocket, mqtt). null = panicked. */
export function parseSimpleAuth(n: ConfNode, issues: Issues): AuthBlock | null {
  return recovering<AuthBlock | null>(issues, null, () => {
    const auth: AuthBlock = { user: '', pass: '', token: '', timeout: 0 };
    for (const [key, v] of asMap(n)) {
      switch (key.toLowerCase()) {
        case 'user':
        case 'username':
          auth.user = asString(v);
          break;
        case 'pass':
        case 'password':
          auth.pass = asString(v);
          break;
        case 'token':
          auth.token = asString(v);
          break;
        case 'timeout':
          auth.timeout = timeoutSeconds(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
    return auth;
  });
}

/** The names already taken by users and nkeys (they share one namespace). */
export function takenUserNames(o: Options): Set<string> {
  const s = new Set<string>();
  for (const u of o.users) s.add(u.username);
  for (const u of o.nkeys) s.add(u.nkey);
  return s;
}

/** The top-level authorization key: parseAuthorization plus the checks processConfigFileLine adds. */
export function applyAuthorization(n: ConfNode, o: Options, issues: Issues): void {
  const auth = parseAuthorization(n, issues);
  if (auth === null) throw new TypeMismatch(n, NIL_DEREF);
  o.username = auth.user;
  o.password = auth.pass;
  o.authorization = auth.token;
  // No timeout (0) leaves the default, which the server derives from TLS settings.
  if (auth.timeout !== 0) {
    o.authTimeoutMs = auth.timeout * 1000;
    o.authTimeoutSet = true;
  }
  if (o.defaultPermissions === undefined && auth.defaultPermissions) o.defaultPermissions = auth.defaultPermissions;
  if ((auth.user !== '' || auth.pass !== '') && auth.token !== '') {
    issues.error(n, 'Cannot have a user/pass and token');
    return;
  }
  const taken = takenUserNames(o);
  if (auth.users !== undefined || taken.size > 0) {
    if (auth.user !== '') {
      issues.error(n, 'Can not have a single user/pass and a users array');
      return;
    }
    if (auth.token !== '') {
      issues.error(n, 'Can not have a token and a users array');
      return;
    }
    if (auth.users && auth.users.length > 0) {
      for (const u of auth.users) {
        if (taken.has(u.username)) {
          issues.error(n, `Duplicate user ${goQuote(u.username)} detected`);
          return;
        }
        taken.add(u.username);
      }
      o.users.push(...auth.users);
    }
  }
  if (auth.nkeys && auth.nkeys.length > 0) {
    for (const u of auth.nkeys) {
      if (taken.has(u.nkey)) {
        issues.error(n, `Duplicate nkey ${goQuote(u.nkey)} detected`);
        return;
      }
      taken.add(u.nkey);
    }
    o.nkeys.push(...auth.nkeys);
  }
}

// ---------------------------------------------------------------------------
// accounts

interface PendingExport {
  acc: AccountConfig;
  cfg: ExportConfig;
  kind: 'stream' | 'service';
  subject: string;
  accounts?: string[];
}

interface PendingImport {
  acc: AccountConfig;
  cfg: ImportConfig;
  kind: 'stream' | 'service';
  account: string;
  subject: string;
  prefix: string;
  to: string;
}

function newAccount(name: string): AccountConfig {
  return { name, users: [], nkeyUsers: [], exports: [], imports: [] };
}

/** parseAccounts: both the list-of-names and the map forms, then export/import checks. */
export function applyAccounts(n: ConfNode, o: Options, issues: Issues): void {
  const exports: PendingExport[] = [];
  const imports: PendingImport[] = [];
  recovering(issues, undefined, () => {
    if (n.kind === 'array') {
      const seen = new Set<string>();
      for (const el of n.value) {
        const name = asString(el);
        if (name === DEFAULT_GLOBAL_ACCOUNT) {
          issues.error(el, `${goQuote(name)} is a Reserved Account`);
          continue;
        }
        if (seen.has(name)) {
          issues.error(el, `Duplicate Account Entry: ${name}`);
          continue;
        }
        o.accounts.push(newAccount(name));
        seen.add(name);
      }
    } else if (n.kind === 'map') {
      const taken = takenUserNames(o);
      for (const [aname, av] of n.value) {
        if (av.usedVariable) continue; // a variable defined inside the block
        if (av.kind !== 'map') {
          issues.error(av, 'Expected map entries for accounts');
          continue;
        }
        if (aname === DEFAULT_GLOBAL_ACCOUNT) {
          issues.error(av, `${goQuote(aname)} is a Reserved Account`);
          continue;
        }
        const acc = newAccount(aname);
        o.accounts.push(acc);
        let users: UserConfig[] = [];
        let nkeys: NkeyUserConfig[] = [];
        let usersAt: ConfNode | undefined;
        for (const [key, v] of av.value) {
          switch (key.toLowerCase()) {
            case 'nkey':
              if (v.kind !== 'string' || !isValidPublicKey(v.value, 'A')) {
                issues.error(v, `Not a valid public nkey for an account: ${goQuote(goValue(v))}`);
                break;
              }
              acc.nkey = v.value;
              break;
            case 'imports':
              parseAccountImports(v, acc, issues, imports);
              break;
            case 'exports':
              parseAccountExports(v, acc, issues, exports);
              break;
            case 'jetstream':
              parseJetStreamForAccount(v, acc, issues);
              break;
            case 'users': {
              usersAt = v;
              const r = parseUsers(v, issues);
              if (r === 'error') break;
              users = r?.users ?? [];
              nkeys = r?.nkeys ?? [];
              break;
            }
            case 'default_permissions': {
              const p = parseUserPermissions(v, issues);
              if (p !== 'error' && p !== null) acc.defaultPermissions = p;
              break;
            }
            case 'mappings':
            case 'maps':
              acc.mappings = parseAccountMappings(v, issues);
              break;
            case 'limits':
              acc.limits = parseAccountLimits(v, issues);
              break;
            default:
              if (!v.usedVariable) issues.unknownField(v, key);
          }
        }
        if (users.length > 0 || nkeys.length > 0) {
          if (o.username !== '') {
            issues.error(usersAt, 'Can not have a single user/pass and accounts');
            continue;
          }
          if (o.authorization !== '') {
            issues.error(usersAt, 'Can not have a token and accounts');
            continue;
          }
        }
        applyDefaultPermissions({ users, nkeys }, acc.defaultPermissions);
        for (const u of nkeys) {
          if (taken.has(u.nkey)) {
            issues.error(usersAt, `Duplicate nkey ${goQuote(u.nkey)} detected`);
            continue;
          }
          taken.add(u.nkey);
          u.account = aname;
        }
        for (const u of users) {
          if (taken.has(u.username)) {
            issues.error(usersAt, `Duplicate user ${goQuote(u.username)} detected`);
            continue;
          }
          taken.add(u.username);
          u.account = aname;
        }
        acc.users = users;
        acc.nkeyUsers = nkeys;
        o.nkeys.push(...nkeys);
        o.users.push(...users);
      }
    }
  });
  // The reference resolves exports/imports only when nothing failed so far.
  if (issues.errors.length > 0) return;
  checkExportsAndImports(n, o, exports, imports, issues);
}

function parseAccountExports(n: ConfNode, acc: AccountConfig, issues: Issues, out: PendingExport[]): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'array') {
      issues.error(n, `Exports should be an array, got ${goType(n)}`);
      return;
    }
    for (const el of n.value) {
      const e = parseExport(el, issues);
      if (e === undefined) continue;
      acc.exports.push(e.cfg);
      out.push({ acc, ...e });
    }
  });
}

function parseExport(
  n: ConfNode,
  issues: Issues,
): { cfg: ExportConfig; kind: 'stream' | 'service'; subject: string; accounts?: string[] } | undefined {
  return recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Export Items should be a map with type entry, got ${goType(n)}`);
      return undefined;
    }
    let stream: string | undefined;
    let service: string | undefined;
    let accounts: string[] | undefined;
    let rt: ExportConfig['responseType'];
    let rtSeen = false;
    let rtAt: ConfNode | undefined;
    let threshMs: number | undefined;
    let latency: ExportConfig['latency'];
    let latAt: ConfNode | undefined;
    let tokenPos = 0;
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'stream':
          if (service !== undefined) {
            issues.error(v, `Detected stream ${goQuote(goValue(v))} but already saw a service`);
            continue;
          }
          if (rtAt !== undefined) {
            issues.error(rtAt, 'Detected response directive on non-service');
            continue;
          }
          if (latAt !== undefined) {
            issues.error(latAt, 'Detected latency directive on non-service');
            continue;
          }
          if (v.kind !== 'string') {
            issues.error(v, `Expected stream name to be string, got ${goType(v)}`);
            continue;
          }
          stream = v.value;
          break;
        case 'service':
          if (stream !== undefined) {
            issues.error(v, `Detected service ${goQuote(goValue(v))} but already saw a stream`);
            continue;
          }
          if (v.kind !== 'string') {
            issues.error(v, `Expected service name to be string, got ${goType(v)}`);
            continue;
          }
          service = v.value;
          break;
        case 'response':
        case 'response_type': {
          if (rtSeen) {
            issues.error(v, 'Duplicate response type definition');
            continue;
          }
          rtSeen = true;
          rtAt = v;
          if (v.kind !== 'string') {
            issues.error(v, `Expected response type to be string, got ${goType(v)}`);
            continue;
          }
          switch (v.value.toLowerCase()) {
            case 'single':
            case 'singleton':
              rt = 'singleton';
              break;
            case 'stream':
              rt = 'stream';
              break;
            case 'chunk':
            case 'chunked':
              rt = 'chunked';
              break;
            default:
              issues.error(v, `Unknown response type: ${goQuote(v.value)}`);
              continue;
          }
          if (stream !== undefined) issues.error(v, 'Detected response directive on non-service');
          break;
        }
        case 'threshold':
        case 'response_threshold':
        case 'response_max_time':
        case 'response_time': {
          if (threshMs !== undefined) {
            issues.error(v, 'Duplicate response threshold detected');
            continue;
          }
          if (v.kind !== 'string') {
            threshMs = 0;
            issues.error(v, `Expected response threshold to be a parseable time duration, got ${goType(v)}`);
            continue;
          }
          try {
            threshMs = nsToMs(parseGoDuration(v.value));
          } catch (e) {
            if (!(e instanceof DurationError)) throw e;
            threshMs = 0;
            issues.error(v, `Expected response threshold to be a parseable time duration, got ${goQuote(v.value)}`);
            continue;
          }
          if (stream !== undefined) issues.error(v, 'Detected response directive on non-service');
          break;
        }
        case 'accounts':
          accounts = asArray(v).map(asString);
          if (accounts.length === 0) accounts = undefined; // a nil slice: public
          break;
        case 'latency': {
          latAt = v;
          const lat = parseServiceLatency(v);
          if ('error' in lat) {
            issues.error(lat.at, lat.error);
            continue;
          }
          if (stream !== undefined) {
            issues.error(v, 'Detected latency directive on non-service');
            continue;
          }
          latency = lat;
          break;
        }
        case 'account_token_position':
          tokenPos = asInt(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
    if (stream !== undefined) {
      const cfg: ExportConfig = { stream };
      if (accounts) cfg.accounts = accounts;
      if (tokenPos > 0) cfg.accountTokenPosition = tokenPos;
      return { cfg, kind: 'stream' as const, subject: stream, accounts };
    }
    if (service !== undefined) {
      const cfg: ExportConfig = { service };
      if (accounts) cfg.accounts = accounts;
      if (rt !== undefined) cfg.responseType = rt;
      if (threshMs !== undefined && threshMs !== 0) cfg.responseThresholdMs = threshMs;
      if (latency) cfg.latency = latency;
      if (tokenPos > 0) cfg.accountTokenPosition = tokenPos;
      return { cfg, kind: 'service' as const, subject: service, accounts };
    }
    return undefined;
  });
}

/** parseServiceLatency: a results subject, or {subject, sampling}. */
function parseServiceLatency(
  n: ConfNode,
): { subject: string; sampling: number } | { error: string; at: ConfNode } {
  const fail = (at: ConfNode, error: string): { error: string; at: ConfNode } => ({ error, at });
  if (n.kind === 'string') return { subject: n.value, sampling: 100 };
  if (n.kind !== 'map') return fail(n, `Expected latency entry to be a map/struct or string, got ${goType(n)}`);
  let sampling = 100;
  const s = n.value.get('sampling');
  if (s !== undefined) {
    let headers = false;
    if (s.kind === 'integer') sampling = s.value;
    else if (s.kind === 'string') {
      if (s.value.trim().toLowerCase() === 'headers') {
        headers = true;
        sampling = 0;
      } else {
        const num = s.value.endsWith('%') ? s.value.slice(0, -1) : s.value;
        if (!/^[+-]?[0-9]+$/.test(num)) {
          return fail(s, `Failed to parse latency sample: strconv.Atoi: parsing ${goQuote(num)}: invalid syntax`);
        }
        sampling = Number(num);
      }
    } else {
      return fail(s, `Expected latency sample to be a string or map/struct, got ${goType(s)}`);
    }
    if (!headers && (sampling < 1 || sampling > 100)) return fail(s, 'bad sampling percentage, should be 1-100');
  }
  const subj = n.value.get('subject');
  if (subj === undefined) return fail(n, 'Latency subject required, but missing');
  // The reference prints the type of its (still empty) string variable here.
  if (subj.kind !== 'string') return fail(subj, 'Expected latency subject to be a string, got string');
  return { subject: subj.value, sampling };
}

function parseAccountImports(n: ConfNode, acc: AccountConfig, issues: Issues, out: PendingImport[]): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'array') {
      issues.error(n, `Imports should be an array, got ${goType(n)}`);
      return;
    }
    const svcSubjects = new Map<string, PendingImport>();
    for (const el of n.value) {
      const im = parseImport(el, issues);
      if (im === undefined) continue;
      if (im.kind === 'service') {
        const dup = svcSubjects.get(im.to);
        if (dup !== undefined) {
          issues.error(
            el,
            `Duplicate service import subject ${goQuote(im.to)}, previously used in import for account ${goQuote(dup.account)}, subject ${goQuote(dup.subject)}`,
          );
          continue;
        }
      }
      const pending: PendingImport = { acc, ...im };
      if (im.kind === 'service') svcSubjects.set(im.to, pending);
      acc.imports.push(im.cfg);
      out.push(pending);
    }
  });
}

function parseImport(
  n: ConfNode,
  issues: Issues,
): Omit<PendingImport, 'acc'> | undefined {
  return recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Import Items should be a map with type entry, got ${goType(n)}`);
      return undefined;
    }
    let kind: 'stream' | 'service' | undefined;
    let account = '';
    let subject = '';
    let pre = '';
    let to = '';
    let share = false;
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'stream':
        case 'service': {
          const k = key.toLowerCase() as 'stream' | 'service';
          const other = k === 'stream' ? 'service' : 'stream';
          if (kind === other) {
            issues.error(v, `Detected ${k} but already saw a ${other}`);
            continue;
          }
          if (v.kind !== 'map') {
            const what = k === 'stream' ? 'Stream' : 'Service';
            issues.error(v, `${what} entry should be an account map, got ${goType(v)}`);
            continue;
          }
          const ref = parseImportAccount(v, issues);
          if (ref.account === '' || ref.subject === '') {
            issues.error(v, 'Expect an account name and a subject');
            continue;
          }
          kind = k;
          account = ref.account;
          subject = ref.subject;
          break;
        }
        case 'prefix':
          pre = asString(v);
          break;
        case 'to':
          to = asString(v);
          if (kind === 'stream' && pre !== '') {
            issues.error(v, "Stream import can not have a 'prefix' and a 'to' property");
            continue;
          }
          break;
        case 'share':
          share = asBool(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
    if (kind === undefined) return undefined;
    if (kind === 'stream') {
      const cfg: ImportConfig = { stream: { account, subject } };
      if (pre !== '') cfg.prefix = pre;
      if (to !== '') cfg.to = to;
      return { cfg, kind, account, subject, prefix: pre, to };
    }
    const svcTo = to !== '' ? to : subject;
    const cfg: ImportConfig = { service: { account, subject }, to: svcTo };
    if (share) cfg.share = true;
    return { cfg, kind, account, subject, prefix: '', to: svcTo };
  });
}

/** parseAccount: {account, subject}; a panic leaves both empty. */
function parseImportAccount(n: ConfNode & { kind: 'map' }, issues: Issues): { account: string; subject: string } {
  return recovering(issues, { account: '', subject: '' }, () => {
    const ref = { account: '', subject: '' };
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'account':
          ref.account = asString(v);
          break;
        case 'subject':
          ref.subject = asString(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
    return ref;
  });
}

function parseAccountLimits(n: ConfNode, issues: Issues): AccountLimitsConfig | undefined {
  return recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected account limits to be a map/struct, got ${goValue(n)}`);
      return undefined;
    }
    const l: AccountLimitsConfig = {};
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'max_connections':
        case 'max_conn':
          l.maxConnections = asInt(v);
          break;
        case 'max_subscriptions':
        case 'max_subs':
          l.maxSubscriptions = asInt(v);
          break;
        case 'max_payload':
        case 'max_pay':
          l.maxPayload = asInt(v);
          break;
        case 'max_leafnodes':
        case 'max_leafs':
          l.maxLeafnodes = asInt(v);
          break;
        default:
          if (!v.usedVariable) issues.error(v, `Unknown field ${goQuote(key)} parsing account limits`);
      }
    }
    return l;
  });
}

/** parseAccountMappings: `from: to`, `from: {destination, weight}`, or a list of weighted destinations. */
export function parseAccountMappings(n: ConfNode, issues: Issues): MappingConfig[] {
  const out: MappingConfig[] = [];
  recovering(issues, undefined, () => {
    for (const [subject, v] of asMap(n)) {
      if (!isValidSubject(subject)) {
        issues.error(n, `Subject ${goQuote(subject)} is not a valid subject`);
        continue;
      }
      if (v.kind === 'string') {
        out.push({ subject, destinations: [{ subject: v.value, weight: 100 }] });
        continue;
      }
      const list = v.kind === 'array' ? v.value : [v];
      const dests: MappingDestination[] = [];
      for (const el of list) {
        const d = parseMapDest(el, issues);
        if (d !== undefined) dests.push(d);
      }
      if (v.kind === 'array' || dests.length > 0) out.push({ subject, destinations: dests });
    }
  });
  return out;
}

function parseMapDest(n: ConfNode, issues: Issues): MappingDestination | undefined {
  if (n.kind !== 'map') {
    issues.error(n, 'Expected an entry for the mapping destination');
    return undefined;
  }
  const d: MappingDestination = { subject: '', weight: 0 };
  let sawWeight = false;
  for (const [key, v] of n.value) {
    switch (key.toLowerCase()) {
      case 'dest':
      case 'destination':
        d.subject = asString(v);
        break;
      case 'weight': {
        let w: number;
        if (v.kind === 'string') {
          const ws = v.value.endsWith('%') ? v.value.slice(0, -1) : v.value;
          if (!/^[+-]?[0-9]+$/.test(ws)) {
            issues.error(v, `Invalid weight ${goQuote(ws)} for mapping destination`);
            return undefined;
          }
          w = Number(ws);
        } else if (v.kind === 'integer') {
          w = v.value;
        } else {
          issues.error(v, `Unknown entry type for weight of ${goValue(v)}\n`);
          return undefined;
        }
        if (w > 100 || w < 0) {
          issues.error(v, `Invalid weight ${w} for mapping destination`);
          return undefined;
        }
        d.weight = w;
        sawWeight = true;
        break;
      }
      case 'cluster':
        d.cluster = asString(v);
        break;
      default:
        issues.error(v, `Unknown field ${goQuote(key)} for mapping destination`);
        return undefined;
    }
  }
  if (!sawWeight) {
    issues.error(n, `Missing weight for mapping destination ${goQuote(d.subject)}`);
    return undefined;
  }
  return d;
}

/** The checks parseAccounts makes while wiring exports and imports between accounts. */
function checkExportsAndImports(
  at: ConfNode,
  o: Options,
  exports: PendingExport[],
  imports: PendingImport[],
  issues: Issues,
): void {
  const byName = new Map(o.accounts.map((a) => [a.name, a]));
  interface Auth {
    approved?: Set<string>;
    tokenPos: number;
  }
  const streamExports = new Map<AccountConfig, Map<string, Auth | null>>();
  const serviceExports = new Map<AccountConfig, Map<string, Auth | null>>();
  const table = (m: Map<AccountConfig, Map<string, Auth | null>>, a: AccountConfig): Map<string, Auth | null> => {
    let t = m.get(a);
    if (t === undefined) {
      t = new Map();
      m.set(a, t);
    }
    return t;
  };

  const addExport = (e: PendingExport): void => {
    const what = e.kind === 'stream' ? 'stream export' : 'service export';
    const approved: string[] = [];
    for (const an of e.accounts ?? []) {
      if (!byName.has(an)) {
        issues.error(at, `${goQuote(an)} account not defined for ${what}`);
        continue;
      }
      approved.push(an);
    }
    const tokenPos = e.cfg.accountTokenPosition ?? 0;
    const Kind = e.kind === 'stream' ? 'stream' : 'service';
    if (tokenPos > 0) {
      const tokens = e.subject.split('.');
      if (tokens.length < tokenPos || tokens[tokenPos - 1] !== '*') {
        issues.error(at, `Error adding ${Kind} export ${goQuote(e.subject)}: sublist: invalid subject`);
        return;
      }
    }
    const t = table(e.kind === 'stream' ? streamExports : serviceExports, e.acc);
    const restricted = approved.length > 0 || tokenPos > 0;
    t.set(e.subject, restricted ? { approved: approved.length > 0 ? new Set(approved) : undefined, tokenPos } : null);
    if (e.kind === 'service' && e.cfg.latency) {
      if (o.noSystemAccount) {
        issues.error(
          at,
          `Error adding service latency sampling for ${goQuote(e.subject)}: system account not setup`,
        );
        return;
      }
      const results = e.cfg.latency.subject;
      if (!isValidSubject(results) || !subjectIsLiteral(results) || t.has(results)) {
        issues.error(
          at,
          `Error adding service latency sampling for ${goQuote(e.subject)} on subject ${goQuote(results)}: invalid publish subject`,
        );
      }
    }
  };

  const authorized = (
    exporter: AccountConfig,
    kind: 'stream' | 'service',
    importer: string,
    subject: string,
  ): boolean => {
    const t = (kind === 'stream' ? streamExports : serviceExports).get(exporter);
    if (t === undefined) return false;
    if (kind === 'stream' && !isValidSubject(subject)) return false;
    const check = (auth: Auth | null, tokens: string[] | undefined): boolean => {
      if (auth === null) return true;
      if (auth.tokenPos > 0) {
        return tokens !== undefined && auth.tokenPos <= tokens.length && tokens[auth.tokenPos - 1] === importer;
      }
      return auth.approved !== undefined && auth.approved.has(importer);
    };
    if (t.has(subject)) return check(t.get(subject)!, undefined);
    for (const [subj, auth] of t) {
      if (isSubsetMatch(subject, subj)) return check(auth, subject.split('.'));
    }
    return false;
  };

  for (const e of exports) if (e.kind === 'stream') addExport(e);
  for (const e of exports) if (e.kind === 'service') addExport(e);

  const streamImports = new Map<AccountConfig, { from: AccountConfig; subject: string }[]>();
  for (const im of imports) {
    if (im.kind !== 'stream') continue;
    const ta = byName.get(im.account);
    if (ta === undefined) {
      issues.error(at, `${goQuote(im.account)} account not defined for stream import`);
      continue;
    }
    const fail = (reason: string): void => {
      issues.error(at, `Error adding stream import ${goQuote(im.subject)}: ${reason}`);
    };
    if (!authorized(ta, 'stream', im.acc.name, im.subject)) {
      fail('stream import not authorized');
      continue;
    }
    if (im.prefix !== '' && !subjectIsLiteral(im.prefix)) {
      fail('stream import prefix can not contain wildcard tokens');
      continue;
    }
    const existing = streamImports.get(im.acc) ?? [];
    if (existing.some((s) => s.from === ta && s.subject === im.subject)) {
      fail('stream import already exists');
      continue;
    }
    existing.push({ from: ta, subject: im.subject });
    streamImports.set(im.acc, existing);
  }
  const serviceImports = new Map<AccountConfig, Map<string, { acc: string; to: string }>>();
  for (const im of imports) {
    if (im.kind !== 'service') continue;
    const ta = byName.get(im.account);
    if (ta === undefined) {
      issues.error(at, `${goQuote(im.account)} account not defined for service import`);
      continue;
    }
    const fail = (reason: string): void => {
      issues.error(at, `Error adding service import ${goQuote(im.subject)}: ${reason}`);
    };
    // The reference's AddServiceImport(dest, from = local "to", to = remote subject).
    const from = im.to;
    const to = im.subject;
    if (!isValidSubject(from) || !isValidSubject(to)) {
      fail('sublist: invalid subject');
      continue;
    }
    if (!authorized(ta, 'service', im.acc.name, to)) {
      fail('service import not authorized');
      continue;
    }
    const mine = serviceImports.get(im.acc) ?? new Map<string, { acc: string; to: string }>();
    const dup = mine.get(from);
    if (dup !== undefined) {
      fail(
        `duplicate service import subject ${goQuote(from)}, previously used in import for account ${goQuote(dup.acc)}, subject ${goQuote(dup.to)}`,
      );
      continue;
    }
    mine.set(from, { acc: ta.name, to });
    serviceImports.set(im.acc, mine);
  }
}
