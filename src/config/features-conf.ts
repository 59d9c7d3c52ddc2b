// cluster, websocket, operator/resolver blocks, and the blocks for features
// tsnats does not serve (gateway, mqtt, ocsp): those are
// validated like the reference validates them, then reported as notices.

import { statSync } from 'node:fs';
import type { ConfNode } from './conf.js';
import { DurationError, nsToMs, parseGoDuration } from './duration.js';
import { JWTError, decodeJWT, readOperatorJWT } from './jwt-conf.js';
import type { LeafRemoteOptions, LeafUserConfig, LeafnodeOptions, OCSPConfig, Options, ResolverConfig, WebsocketOptions } from './options.js';
import { parseAuthorization, parseSimpleAuth, parseUserPermissions, isValidPublicKey } from './auth-conf.js';
import { loadTLSBlock } from './tls-conf.js';
import {
  Issues,
  ListenError,
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
  parseListen,
  parseStringArray,
  recovering,
} from './values.js';

/** Mutable facts shared across top-level keys while one file is applied. */
export interface ApplyState {
  /** JetStream store dir, from store_dir or jetstream { store_dir } (duplicate check) */
  storeDir: string;
}

/**
 * server/opts.go parseDuration: a Go duration string, or (deprecated) a
 * number of seconds, which the reference accepts with a warning.
 */
export function parseDurationField(field: string, n: ConfNode, issues: Issues): number {
  if (n.kind === 'string') {
    try {
      return nsToMs(parseGoDuration(n.value));
    } catch (e) {
      if (!(e instanceof DurationError)) throw e;
      issues.error(n, `error parsing ${field}: ${e.message}`);
      return 0;
    }
  }
  issues.warnField(n, field, `${field} should be converted to a duration`);
  return asInt(n) * 1000;
}

/** url.Parse failures the reference can hit on route URLs, approximated. */
function goURLParses(u: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(u)) return false;
  if (u.startsWith(':')) return false;
  if (/%(?![0-9a-fA-F]{2})/.test(u)) return false;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(u);
  if (m !== null) {
    const host = m[1].slice(m[1].lastIndexOf('@') + 1);
    if (/[\s"<>\\^`{|}]/.test(host)) return false;
  }
  return true;
}

/** parseURLs for cluster routes: duplicates warn, unparseable URLs fail. */
function parseRoutes(n: ConfNode, issues: Issues): string[] | undefined {
  const errsBefore = issues.errors.length;
  const urls = recovering<string[]>(issues, [], () => {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const el of asArray(n)) {
      const s = asString(el);
      if (seen.has(s)) {
        issues.warnField(el, s, 'Duplicate route entry detected');
        continue;
      }
      seen.add(s);
      const trimmed = s.trim();
      if (!goURLParses(trimmed)) {
        issues.error(el, `error parsing route url [${goQuote(trimmed)}]`);
        continue;
      }
      out.push(trimmed);
    }
    return out;
  });
  return issues.errors.length > errsBefore ? undefined : urls;
}

export function applyCluster(n: ConfNode, o: Options, issues: Issues): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected map to define cluster, got ${goType(n)}`);
      return;
    }
    const c = o.cluster;
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'name':
          c.name = asString(v);
          break;
        case 'listen':
          try {
            const hp = parseListen(v);
            c.host = hp.host;
            c.port = hp.port;
          } catch (e) {
            if (!(e instanceof ListenError)) throw e;
            issues.error(v, e.message);
          }
          break;
        case 'port':
          c.port = asInt(v);
          break;
        case 'host':
        case 'net':
          c.host = asString(v);
          break;
        case 'authorization': {
          const auth = parseAuthorization(v, issues);
          if (auth === null) throw new TypeMismatch(v, NIL_DEREF);
          if (auth.users !== undefined) {
            issues.error(v, 'Cluster authorization does not allow multiple users');
            continue;
          }
          if (auth.token !== '') {
            issues.error(v, 'Cluster authorization does not support tokens');
            continue;
          }
          c.username = auth.user;
          c.password = auth.pass;
          if (auth.timeout !== 0) {
            c.authTimeoutMs = auth.timeout * 1000;
            c.authTimeoutSet = true;
          }
          if (auth.defaultPermissions !== undefined) {
            issues.warnField(v, key, 'setting "permissions" within cluster authorization block is deprecated');
            // Permissions given directly in the cluster block win.
            if (c.permissions === undefined) {
              c.permissions = { import: auth.defaultPermissions.publish, export: auth.defaultPermissions.subscribe };
            }
          }
          break;
        }
        case 'routes': {
          const routes = parseRoutes(v, issues);
          if (routes !== undefined) o.routes = routes;
          break;
        }
        case 'tls': {
          const tc = loadTLSBlock(v, false, issues);
          if (tc !== undefined) c.tls = tc;
          break;
        }
        case 'cluster_advertise':
        case 'advertise':
          c.advertise = asString(v);
          break;
        case 'no_advertise':
          c.noAdvertise = asBool(v);
          break;
        case 'connect_retries':
          c.connectRetries = asInt(v);
          break;
        case 'permissions': {
          const perms = parseUserPermissions(v, issues, false);
          if (perms === 'error') continue;
          if (perms === null) throw new TypeMismatch(v, NIL_DEREF);
          if (perms.response !== undefined) {
            issues.error(v, 'Cluster permissions do not support dynamic responses');
            continue;
          }
          c.permissions = { import: perms.publish, export: perms.subscribe };
          break;
        }
        // tsnats accepts these nats-server 2.10 settings (2.9.10 rejects them).
        case 'pool_size':
          c.poolSize = asInt(v);
          break;
        case 'compression':
          if (v.kind === 'bool') c.compression = v.value ? 'accept' : 'off';
          else if (v.kind === 'map') {
            const mode = v.value.get('mode');
            c.compression = mode === undefined ? 'accept' : asString(mode);
          } else c.compression = asString(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
  });
}

function defaultWebsocket(): WebsocketOptions {
  return {
    host: '',
    port: 0,
    noTls: false,
    compression: false,
    sameOrigin: false,
    allowedOrigins: [],
    handshakeTimeoutMs: 0,
  };
}

export function applyWebsocket(n: ConfNode, o: Options, issues: Issues): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected websocket to be a map, got ${goType(n)}`);
      return;
    }
    const ws = (o.websocket ??= defaultWebsocket());
    for (const [key, v] of n.value) {
      switch (key.toLowerCase()) {
        case 'listen':
          try {
            const hp = parseListen(v);
            ws.host = hp.host;
            ws.port = hp.port;
          } catch (e) {
            if (!(e instanceof ListenError)) throw e;
            issues.error(v, e.message);
          }
          break;
        case 'port':
          ws.port = asInt(v);
          break;
        case 'host':
        case 'net':
          ws.host = asString(v);
          break;
        case 'advertise':
          ws.advertise = asString(v);
          break;
        case 'no_tls':
          ws.noTls = asBool(v);
          break;
        case 'tls': {
          const tc = loadTLSBlock(v, true, issues);
          if (tc !== undefined) ws.tls = tc;
          break;
        }
        case 'same_origin':
          ws.sameOrigin = asBool(v);
          break;
        case 'allowed_origins':
        case 'allowed_origin':
        case 'allow_origins':
        case 'allow_origin':
        case 'origins':
        case 'origin':
          ws.allowedOrigins = parseStringArray('allowed origins', v, issues) ?? [];
          break;
        case 'handshake_timeout': {
          let ms = 0;
          if (v.kind === 'integer') ms = v.value * 1000;
          else if (v.kind === 'string') {
            try {
              ms = nsToMs(parseGoDuration(v.value));
            } catch (e) {
              if (!(e instanceof DurationError)) throw e;
              issues.error(v, e.message);
              continue;
            }
          } else issues.error(v, `error parsing handshake timeout: unsupported type ${goType(v)}`);
          ws.handshakeTimeoutMs = ms;
          break;
        }
        case 'compress':
        case 'compression':
          ws.compression = asBool(v);
          break;
        case 'authorization':
        case 'authentication': {
          const auth = parseSimpleAuth(v, issues);
          if (auth === null) throw new TypeMismatch(v, NIL_DEREF);
          ws.username = auth.user || undefined;
          ws.password = auth.pass || undefined;
          ws.token = auth.token || undefined;
          ws.authTimeoutMs = auth.timeout ? auth.timeout * 1000 : undefined;
          break;
        }
        case 'jwt_cookie':
          ws.jwtCookie = asString(v);
          break;
        case 'no_auth_user':
          ws.noAuthUser = asString(v);
          break;
        default:
          if (!v.usedVariable) issues.unknownField(v, key);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// operator mode

export function applyOperators(n: ConfNode, o: Options, issues: Issues): void {
  const files: string[] = [];
  // Only a single string works in 2.9.10: a conf array is never a []string there.
  if (n.kind === 'string') files.push(n.value);
  else issues.error(n, `error parsing operators: unsupported type ${goType(n)}`);
  o.trustedOperators = [];
  let first: Record<string, unknown> | undefined;
  for (const f of files) {
    try {
      const { jwt, claims } = readOperatorJWT(f);
      o.trustedOperators.push(jwt);
      first ??= claims.nats;
    } catch (e) {
      if (!(e instanceof JWTError)) throw e;
      issues.error(n, `error parsing operator JWT: ${e.message}`);
    }
  }
  if (o.trustedOperators.length === 1 && first !== undefined) {
    const url = first.account_server_url;
    // An explicit resolver takes precedence over the operator's account server.
    if (o.resolver === undefined && typeof url === 'string' && url !== '') {
      o.resolver = { type: 'url', url: url + '/accounts' };
    }
    const sys = first.system_account;
    if (o.systemAccount === '' && typeof sys === 'string') o.systemAccount = sys;
  }
}

function durationOf(v: ConfNode): number {
  return nsToMs(parseGoDuration(asString(v)));
}

export function applyResolver(n: ConfNode, o: Options, issues: Issues): void {
  let res: ResolverConfig | undefined;
  if (n.kind === 'string') {
    if (/(MEM|MEMORY)\s*/i.test(n.value)) res = { type: 'memory' };
    else {
      const m = /(?:URL)(?:\(\s*"?([^\s"]*)"?\s*\))?\s*/i.exec(n.value);
      if (m !== null) res = { type: 'url', url: m[1] ?? '' };
    }
  } else if (n.kind === 'map') {
    const m = n.value;
    let dir = '';
    let type = '';
    let allowDelete = false;
    let limit = 0;
    let ttlMs = 0;
    let intervalMs = 0;
    let timeoutMs = 0;
    try {
      if (m.has('dir')) dir = asString(m.get('dir')!);
      if (m.has('type')) type = asString(m.get('type')!);
      if (m.has('allow_delete')) allowDelete = asBool(m.get('allow_delete')!);
      if (m.has('limit')) limit = asInt(m.get('limit')!);
      if (m.has('ttl')) ttlMs = durationOf(m.get('ttl')!);
      if (m.has('interval')) intervalMs = durationOf(m.get('interval')!);
      if (m.has('timeout')) timeoutMs = durationOf(m.get('timeout')!);
    } catch (e) {
      if (!(e instanceof DurationError)) throw e;
      issues.error(n, e.message);
      return;
    }
    if (dir === '') {
      issues.error(n, 'dir has no value and needs to point to a directory');
      return;
    }
    try {
      const st = statSync(dir);
      if (!st.isDirectory() || (st.mode & 0o200) === 0) {
        issues.error(n, 'dir needs to point to an accessible directory');
        return;
      }
    } catch {
      // Missing is fine: the resolver creates it.
    }
    switch (type.toUpperCase()) {
      case 'CACHE':
        if (intervalMs !== 0) issues.error(n, 'CACHE does not accept sync');
        if (allowDelete) issues.error(n, 'CACHE does not accept allow_delete');
        res = { type: 'cache', dir, limit, ttlMs, intervalMs, allowDelete, timeoutMs };
        break;
      case 'FULL':
        if (ttlMs !== 0) issues.error(n, 'FULL does not accept ttl');
        res = { type: 'full', dir, limit, ttlMs, intervalMs, allowDelete, timeoutMs };
        break;
    }
  } else {
    issues.error(n, `error parsing operator resolver, wrong type ${goType(n)}`);
    return;
  }
  if (res === undefined) {
    o.resolver = undefined;
    issues.error(
      n,
      'error parsing account resolver, should be MEM or  URL("url") or a map containing dir and type state=[FULL|CACHE])',
    );
    return;
  }
  o.resolver = res;
}

export function applyResolverPreload(n: ConfNode, o: Options, issues: Issues): void {
  if (n.kind !== 'map') {
    issues.error(n, 'preload should be a map of account_public_key:account_jwt');
    return;
  }
  o.resolverPreload = {};
  for (const [key, v] of n.value) {
    if (v.kind !== 'string') {
      issues.error(v, 'preload map value should be a string JWT');
      continue;
    }
    try {
      if (decodeJWT(v.value).type !== 'account') throw new JWTError('not account claim');
    } catch (e) {
      if (!(e instanceof JWTError)) throw e;
      issues.error(v, 'invalid account JWT');
      continue;
    }
    o.resolverPreload[key] = v.value;
  }
}

export function applyPinnedAccounts(n: ConfNode, o: Options, issues: Issues): void {
  if (n.kind === 'string') o.resolverPinnedAccounts = [n.value];
  else if (n.kind === 'array') {
    o.resolverPinnedAccounts = [];
    for (const el of n.value) {
      if (el.kind === 'string') o.resolverPinnedAccounts.push(el.value);
      else issues.error(el, `error parsing resolver_pinned_accounts: unsupported type in array ${goType(el)}`);
    }
  } else issues.error(n, `error parsing resolver_pinned_accounts: unsupported type ${goType(n)}`);
}

export function applyTrustedKeys(n: ConfNode, o: Options, issues: Issues): void {
  // Key errors point at the last array element: the reference reuses its token variable.
  let at: ConfNode = n;
  if (n.kind === 'string') o.trustedKeys = [n.value];
  else if (n.kind === 'array') {
    const keys: string[] = [];
    for (const el of n.value) {
      at = el;
      if (el.kind === 'string') keys.push(el.value);
      else issues.error(el, `error parsing trusted: unsupported type in array ${goType(el)}`);
    }
    o.trustedKeys = keys;
  } else issues.error(n, `error parsing trusted: unsupported type ${goType(n)}`);
  for (const key of o.trustedKeys) {
    if (!isValidPublicKey(key, 'O')) {
      issues.error(at, `trust key ${goQuote(key)} required to be a valid public operator nkey`);
    }
  }
}

export function applyOCSP(n: ConfNode, o: Options, issues: Issues): void {
  let ocsp: OCSPConfig | undefined;
  if (n.kind === 'bool') ocsp = { mode: n.value ? 'auto' : 'never', urls: [] };
  else if (n.kind === 'map') {
    ocsp = { mode: 'auto', urls: [] };
    for (const [key, v] of n.value) {
      switch (key) {
        case 'mode': {
          const mode = asString(v).toLowerCase();
          if (mode === 'always' || mode === 'must' || mode === 'never' || mode === 'auto') ocsp.mode = mode;
          else issues.error(v, 'error parsing ocsp config: unsupported ocsp mode string');
          break;
        }
        case 'urls':
          // The reference asserts []string, which a conf array never is.
          throw new TypeMismatch(v, `interface conversion: interface {} is ${goType(v)}, not []string`);
        case 'url':
          ocsp.urls = [asString(v)];
          break;
        default:
          issues.error(v, 'error parsing ocsp config: unsupported field string');
          return;
      }
    }
  } else {
    issues.error(n, `error parsing ocsp config: unsupported type ${goType(n)}`);
    return;
  }
  o.ocsp = ocsp;
  if (ocsp.mode !== 'never') issues.notice('OCSP stapling is not supported by tsnats; the ocsp setting is ignored');
}

// ---------------------------------------------------------------------------
// features tsnats does not serve

/** The value kinds a generic unsupported-feature block checks. */
type Shape = 'string' | 'int' | 'bool' | 'listen' | 'tls' | 'tls-route' | 'duration' | 'any' | 'simple-auth';

function checkShape(shape: Shape, key: string, v: ConfNode, issues: Issues): void {
  switch (shape) {
    case 'string':
      asString(v);
      return;
    case 'int':
      asInt(v);
      return;
    case 'bool':
      asBool(v);
      return;
    case 'listen':
      try {
        parseListen(v);
      } catch (e) {
        if (!(e instanceof ListenError)) throw e;
        issues.error(v, e.message);
      }
      return;
    case 'tls':
    case 'tls-route':
      loadTLSBlock(v, shape === 'tls', issues);
      return;
    case 'duration':
      parseDurationField(key, v, issues);
      return;
    case 'simple-auth':
      if (parseSimpleAuth(v, issues) === null) throw new TypeMismatch(v, NIL_DEREF);
      return;
    case 'any':
      return;
  }
}

function checkBlock(
  n: ConfNode,
  shapes: Record<string, Shape>,
  issues: Issues,
  special: (key: string, v: ConfNode) => boolean = () => false,
): void {
  for (const [key, v] of asMap(n)) {
    const k = key.toLowerCase();
    if (special(k, v)) continue;
    const shape = shapes[k];
    if (shape === undefined) {
      if (!v.usedVariable) issues.unknownField(v, key);
      continue;
    }
    checkShape(shape, k, v, issues);
  }
}

export function applyLeafnodes(n: ConfNode, o: Options, issues: Issues): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected map to define a leafnode, got ${goType(n)}`);
      return;
    }
    const lo: LeafnodeOptions = defaultLeafnode();
    o.leafnode = lo;
    checkBlock(
      n,
      {
        listen: 'listen',
        port: 'int',
        host: 'string',
        net: 'string',
        reconnect: 'int',
        reconnect_delay: 'int',
        reconnect_interval: 'int',
        tls: 'tls',
        leafnode_advertise: 'string',
        advertise: 'string',
        no_advertise: 'bool',
        min_version: 'string',
        minimum_version: 'string',
      },
      issues,
      (k, v) => {
        switch (k) {
          case 'listen':
            try {
              const hp = parseListen(v);
              lo.host = hp.host;
              lo.port = hp.port;
            } catch (e) {
              if (!(e instanceof ListenError)) throw e;
              issues.error(v, e.message);
            }
            return true;
          case 'port':
            lo.port = asInt(v);
            return true;
          case 'host':
          case 'net':
            lo.host = asString(v);
            return true;
          case 'reconnect':
          case 'reconnect_delay':
          case 'reconnect_interval':
            // server/opts.go parseLeafNodes: whole seconds
            lo.reconnectIntervalMs = asInt(v) * 1000;
            return true;
          case 'tls': {
            const tc = loadTLSBlock(v, true, issues);
            if (tc !== undefined) lo.tls = tc;
            return true;
          }
          case 'leafnode_advertise':
          case 'advertise':
            lo.advertise = asString(v);
            return true;
          case 'no_advertise':
            lo.noAdvertise = asBool(v);
            return true;
          case 'min_version':
          case 'minimum_version':
            lo.minVersion = asString(v);
            return true;
          case 'authorization':
            parseLeafAuthorization(v, lo, issues);
            return true;
          case 'remotes':
            lo.remotes = parseLeafRemotes(v, issues);
            return true;
        }
        return false;
      },
    );
  });
}

export function defaultLeafnode(): LeafnodeOptions {
  return {
    host: '0.0.0.0',
    port: 0,
    advertise: '',
    noAdvertise: false,
    username: '',
    password: '',
    account: '',
    users: [],
    authTimeoutMs: 0,
    reconnectIntervalMs: 1000,
    remotes: [],
    minVersion: '',
  };
}

/** server/opts.go parseLeafAuthorization */
function parseLeafAuthorization(n: ConfNode, lo: LeafnodeOptions, issues: Issues): void {
  recovering(issues, undefined, () => {
    checkBlock(n, { user: 'string', username: 'string', pass: 'string', password: 'string', timeout: 'any', account: 'string' }, issues, (k, v) => {
      switch (k) {
        case 'user':
        case 'username':
          lo.username = asString(v);
          return true;
        case 'pass':
        case 'password':
          lo.password = asString(v);
          return true;
        case 'account':
          lo.account = asString(v);
          return true;
        case 'timeout':
          if (v.kind === 'integer' || v.kind === 'float') lo.authTimeoutMs = Math.round(Number(v.value) * 1000);
          else issues.error(v, `Error parsing leafnode authorization config, 'timeout' wrong type ${goType(v)}`);
          return true;
        case 'users':
          break;
        default:
          return false;
      }
      if (v.kind !== 'array') {
        issues.error(v, `Expected users field to be an array, got ${goValue(v)}`);
        return true;
      }
      for (const u of v.value) {
        if (u.kind !== 'map') {
          issues.error(u, `Expected user entry to be a map/struct, got ${goValue(u)}`);
          continue;
        }
        const user: LeafUserConfig = { username: '', password: '', account: '' };
        checkBlock(u, { user: 'string', username: 'string', pass: 'string', password: 'string', account: 'string' }, issues, (uk, uv) => {
          if (uk === 'user' || uk === 'username') user.username = asString(uv);
          else if (uk === 'pass' || uk === 'password') user.password = asString(uv);
          else if (uk === 'account') user.account = asString(uv);
          else return false;
          return true;
        });
        lo.users.push(user);
      }
      return true;
    });
  });
}

/** server/opts.go parseRemoteLeafNodes */
function parseLeafRemotes(n: ConfNode, issues: Issues): LeafRemoteOptions[] {
  const out: LeafRemoteOptions[] = [];
  recovering(issues, undefined, () => {
    if (n.kind !== 'array') {
      issues.error(n, `Expected remotes field to be an array, got ${goType(n)}`);
      return;
    }
    for (const r of n.value) {
      if (r.kind !== 'map') {
        issues.error(r, `Expected remote leafnode entry to be a map/struct, got ${goValue(r)}`);
        continue;
      }
      const ro: LeafRemoteOptions = {
        urls: [],
        account: '',
        credentials: '',
        hub: false,
        denyImports: [],
        denyExports: [],
        noRandomize: false,
      };
      checkBlock(
        r,
        {
          no_randomize: 'bool',
          dont_randomize: 'bool',
          account: 'string',
          local: 'string',
          creds: 'string',
          credentials: 'string',
          tls: 'tls',
          hub: 'bool',
          ws_compress: 'bool',
          ws_compression: 'bool',
          websocket_compress: 'bool',
          websocket_compression: 'bool',
          ws_no_masking: 'bool',
          websocket_no_masking: 'bool',
          jetstream_cluster_migrate: 'bool',
          js_cluster_migrate: 'bool',
        },
        issues,
        (k, v) => {
          switch (k) {
            case 'url':
            case 'urls': {
              const list = v.kind === 'string' ? [v] : v.kind === 'array' ? v.value : null;
              if (list === null) {
                issues.error(v, `Expected remote leafnode url to be an array or string, got ${goValue(v)}`);
                return true;
              }
              for (const u of list) {
                const text = asString(u);
                if (!goURLParses(text)) {
                  issues.error(u, `Error parsing url ${JSON.stringify(text)}`);
                  continue;
                }
                ro.urls.push(text);
              }
              return true;
            }
            case 'account':
            case 'local':
              ro.account = asString(v);
              return true;
            case 'creds':
            case 'credentials': {
              const p = expandHome(asString(v));
              try {
                statSync(p);
              } catch (e) {
                const code = (e as NodeJS.ErrnoException).code;
                issues.error(v, `stat ${p}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
                return true;
              }
              ro.credentials = p;
              return true;
            }
            case 'tls': {
              const tc = loadTLSBlock(v, true, issues);
              if (tc !== undefined) ro.tls = tc;
              return true;
            }
            case 'hub':
              ro.hub = asBool(v);
              return true;
            case 'no_randomize':
            case 'dont_randomize':
              ro.noRandomize = asBool(v);
              return true;
            case 'ws_compress':
            case 'ws_compression':
            case 'websocket_compress':
            case 'websocket_compression':
              ro.wsCompression = asBool(v);
              return true;
            case 'ws_no_masking':
            case 'websocket_no_masking':
              ro.wsNoMasking = asBool(v);
              return true;
            case 'deny_imports':
            case 'deny_import':
            case 'deny_exports':
            case 'deny_export': {
              const imp = k.startsWith('deny_import');
              const list = parseStringArray(imp ? 'deny_imports' : 'deny_exports', v, issues);
              if (list !== undefined) {
                if (imp) ro.denyImports = list;
                else ro.denyExports = list;
              }
              return true;
            }
          }
          return false;
        },
      );
      out.push(ro);
    }
  });
  return out;
}

function expandHome(p: string): string {
  if (p.startsWith('~/')) return (process.env.HOME ?? '') + p.slice(1);
  return p;
}

export function applyGateway(n: ConfNode, issues: Issues): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected gateway to be a map, got ${goType(n)}`);
      return;
    }
    checkBlock(
      n,
      {
        name: 'string',
        listen: 'listen',
        port: 'int',
        host: 'string',
        net: 'string',
        tls: 'tls-route',
        advertise: 'string',
        connect_retries: 'int',
        reject_unknown: 'bool',
        reject_unknown_cluster: 'bool',
      },
      issues,
      (k, v) => {
        if (k === 'authorization') {
          const auth = parseAuthorization(v, issues);
          if (auth === null) throw new TypeMismatch(v, NIL_DEREF);
          if (auth.users !== undefined) issues.error(v, 'Gateway authorization does not allow multiple users');
          else if (auth.token !== '') issues.error(v, 'Gateway authorization does not support tokens');
          return true;
        }
        if (k === 'gateways') {
          for (const g of asArray(v)) {
            if (g.kind !== 'map') {
              issues.error(g, `Expected gateway entry to be a map/struct, got ${goValue(g)}`);
              continue;
            }
            checkBlock(g, { name: 'string', tls: 'tls-route', url: 'string', urls: 'any' }, issues);
          }
          return true;
        }
        return false;
      },
    );
  });
  issues.notice('gateways are not supported by tsnats; the gateway block is ignored');
}

export function applyMQTT(n: ConfNode, issues: Issues): void {
  recovering(issues, undefined, () => {
    if (n.kind !== 'map') {
      issues.error(n, `Expected mqtt to be a map, got ${goType(n)}`);
      return;
    }
    checkBlock(
      n,
      {
        listen: 'listen',
        port: 'int',
        host: 'string',
        net: 'string',
        tls: 'tls',
        authorization: 'simple-auth',
        authentication: 'simple-auth',
        no_auth_user: 'string',
        ack_wait: 'duration',
        ackwait: 'duration',
        js_domain: 'string',
        stream_replicas: 'int',
        consumer_replicas: 'int',
        consumer_memory_storage: 'bool',
        consumer_inactive_threshold: 'duration',
        consumer_auto_cleanup: 'duration',
      },
      issues,
      (k, v) => {
        if (k !== 'max_ack_pending' && k !== 'max_pending' && k !== 'max_inflight') return false;
        const tmp = asInt(v);
        if (tmp < 0 || tmp > 0xffff) issues.error(v, `invalid value ${tmp}, should in [0..65535] range`);
        return true;
      },
    );
  });
  issues.notice('MQTT is not supported by tsnats; the mqtt block is ignored');
}
