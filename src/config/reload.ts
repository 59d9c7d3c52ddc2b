// Config reload (SIGHUP), as server/reload.go does it: compare the running
// options with the new ones field by field; a change to an option the
// reference cannot reload refuses the whole reload with its message and the
// running configuration stays; otherwise every change is applied to the live
// server and logged as "Reloaded: ...".

import type { Options } from './options.js';

export class ReloadError extends Error {
  readonly code = 'ERR_RELOAD_UNSUPPORTED';
}

/** What applying a reloadable change means to the server. */
export type ReloadEffect = 'logging' | 'auth' | 'tls' | 'cluster' | 'limits' | 'files' | 'accounts' | 'jetstream' | 'none';

interface FieldRule {
  /** the reference's Options field name, used in its error text */
  go: string;
  /** undefined: the reference refuses to reload a change of this field */
  effect?: ReloadEffect;
  /** the "Reloaded: ..." line (value formatted by the caller), or null for none */
  log?: (v: unknown) => string | null;
  /** the log line is the whole text, without "Reloaded: " */
  raw?: boolean;
  /** Go's %v of the value in a refusal, when not goValue's */
  fmt?: (v: unknown) => string;
}

const goValue = (v: unknown): string => {
  if (v === undefined || v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    return `{${Object.values(v as Record<string, unknown>)
      .map(goValue)
      .join(' ')}}`;
  }
  return String(v);
};

type LeafOpts = NonNullable<Options['leafnode']>;

function sameLeafnodeExceptTLS(a: LeafOpts, b: LeafOpts): boolean {
  // server/reload.go copyRemoteLNConfigForReloadCompare drops a remote's TLS
  // config but not its TLSTimeout, which a tls {} block always sets (2s when
  // not given): adding or removing a remote's tls {} is refused, changing
  // what is in it reloads.
  const remote = (r: LeafOpts['remotes'][number]) => ({
    ...r,
    tls: undefined,
    tlsTimeoutMs: r.tls === undefined ? 0 : r.tls.timeoutMs > 0 ? r.tls.timeoutMs : 2000,
    wsCompression: r.wsCompression === true,
    wsNoMasking: r.wsNoMasking === true,
    account: r.account === '' ? '$G' : r.account,
  });
  const ra = a.remotes.map(remote);
  const rb = b.remotes.map(remote);
  // server/reload.go leafRemotesChanged: the same remotes in any order are no change
  const remotesSame = ra.length === rb.length && ra.every((x) => rb.some((y) => deepEqual(x, y)));
  const strip = (l: LeafOpts, port: number, remotes: unknown[]) => ({
    ...l,
    port,
    tls: undefined,
    users: [...l.users].sort((x, y) => (x.username < y.username ? -1 : x.username > y.username ? 1 : 0)),
    remotes: remotesSame ? [] : remotes,
  });
  // server/reload.go: a random leafnode port (-1) means the one in use
  return deepEqual(strip(a, a.port, ra), strip(b, b.port === -1 ? a.port : b.port, rb));
}

/** fmt %v of server/opts.go LeafNodeOpts (pointers shown as the reference's heap addresses would be). */
function goLeafnode(l: Options['leafnode']): string {
  if (l === undefined) return '{ 0    [] 0 <nil> 0 false map[]  false 0s []  <nil> 0 0 <nil>}';
  const ptr = (i: number) => `0xc0000${(0xde2c0 + i * 0xb0).toString(16)}`;
  // server/opts.go setBaselineOptions defaults host and timeouts only for a listener (port != 0)
  const listens = l.port !== 0;
  const auth = l.authTimeoutMs > 0 ? l.authTimeoutMs / 1000 : !listens ? 0 : l.tls !== undefined ? (l.tls.timeoutMs || 2000) / 1000 + 1 : 2;
  const tlsTimeout = l.tls !== undefined && l.tls.timeoutMs > 0 ? l.tls.timeoutMs / 1000 : listens ? 2 : 0;
  const parts = [
    listens || l.host !== '0.0.0.0' ? l.host : '',
    String(l.port),
    l.username,
    l.password,
    l.account,
    `[${l.users.map((_u, i) => ptr(i + 8)).join(' ')}]`,
    String(auth),
    l.tls !== undefined ? ptr(16) : '<nil>',
    String(tlsTimeout),
    'false',
    'map[]',
    l.advertise,
    String(l.noAdvertise),
    goDurationMs(l.reconnectIntervalMs),
    `[${l.remotes.map((_r, i) => ptr(i)).join(' ')}]`,
    l.minVersion,
    '<nil>',
    '0',
    '0',
    l.tls !== undefined ? ptr(17) : '<nil>',
  ];
  return `{${parts.join(' ')}}`;
}

/** Go's time.Duration String() of a number of milliseconds ("1h2m3.5s", "500ms", "0s"). */
export const goDurationMs = (v: unknown): string => {
  let ms = Number(v);
  if (ms === 0) return '0s';
  const neg = ms < 0;
  if (neg) ms = -ms;
  let out: string;
  if (ms < 1000) out = `${ms}ms`;
  else {
    const h = Math.floor(ms / 3600000);
    const m = Math.floor((ms % 3600000) / 60000);
    const sms = ms % 60000;
    const sec = `${Math.floor(sms / 1000)}${sms % 1000 ? '.' + String(sms % 1000).padStart(3, '0').replace(/0+$/, '') : ''}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? '-' + out : out;
};

// Every Options field and how a reload treats it (server/reload.go diffOptions).
const RULES: Partial<Record<keyof Options, FieldRule>> = {
  configFile: { go: 'ConfigFile', effect: 'none' },
  serverName: { go: 'ServerName' },
  host: { go: 'Host' },
  port: { go: 'Port' },
  // server/reload.go clientAdvertiseOption says "Reload:", not "Reloaded:"
  clientAdvertise: { go: 'ClientAdvertise', effect: 'none', log: (v) => `Reload: client_advertise = ${v}`, raw: true },
  noAdvertise: { go: 'NoAdvertise' },
  noLog: { go: 'NoLog', effect: 'none' },
  debug: { go: 'Debug', effect: 'logging', log: (v) => `debug = ${v}` },
  trace: { go: 'Trace', effect: 'logging', log: (v) => `trace = ${v}` },
  traceVerbose: { go: 'TraceVerbose', effect: 'logging', log: (v) => `trace_verbose = ${v}` },
  logtime: { go: 'Logtime', effect: 'logging', log: (v) => `logtime = ${v}` },
  logtimeUTC: { go: 'LogtimeUTC', effect: 'logging' },
  logFile: { go: 'LogFile', effect: 'logging', log: (v) => `log_file = ${v}` },
  logSizeLimit: { go: 'LogSizeLimit' }, // no case in server/reload.go diffOptions: refused
  logMaxFiles: { go: 'LogMaxFiles', effect: 'logging' },
  syslog: { go: 'Syslog', effect: 'logging', log: (v) => `syslog = ${v}` },
  remoteSyslog: { go: 'RemoteSyslog', effect: 'logging', log: (v) => `remote_syslog = ${v}` },
  logFormat: { go: 'LogFormat', effect: 'logging' },
  pidFile: { go: 'PidFile', effect: 'files', log: (v) => `pid_file = ${v}` },
  portsFileDir: { go: 'PortsFileDir', effect: 'files', log: (v) => `ports_file_dir = ${v}` },
  maxConn: { go: 'MaxConn', effect: 'limits', log: (v) => `max_connections = ${v}` },
  // server/reload.go diffOptions has no case for these three: refused (F5)
  maxSubs: { go: 'MaxSubs' },
  maxSubTokens: { go: 'MaxSubTokens' },
  maxPayload: { go: 'MaxPayload', effect: 'limits', log: (v) => `max_payload = ${v}` },
  maxControlLine: { go: 'MaxControlLine', effect: 'limits', log: (v) => `max_control_line = ${v}` },
  maxPending: { go: 'MaxPending' },
  maxPingsOut: { go: 'MaxPingsOut', effect: 'limits', log: (v) => `ping_max = ${v}` },
  pingIntervalMs: { go: 'PingInterval', effect: 'limits', log: (v) => `ping_interval = ${goDurationMs(v)}` },
  writeDeadlineMs: { go: 'WriteDeadline', effect: 'limits', log: (v) => `write_deadline = ${goDurationMs(v)}` },
  maxClosedClients: { go: 'MaxClosedClients' },
  maxTracedMsgLen: { go: 'MaxTracedMsgLen', effect: 'logging', log: (v) => `max_traced_msg_len = ${v}` },
  noHeaderSupport: { go: 'NoHeaderSupport' },
  noSublistCache: { go: 'NoSublistCache' },
  profPort: { go: 'ProfPort' },
  subjectCacheSize: { go: 'SubjectCacheSize' },
  authTimeoutMs: { go: 'AuthTimeout', effect: 'auth', log: (v) => `authorization timeout = ${Number(v) / 1000}` },
  authTimeoutSet: { go: 'AuthTimeout', effect: 'none' },
  noAuthUser: { go: 'NoAuthUser', effect: 'auth' },
  username: { go: 'Username', effect: 'auth', log: () => 'authorization username' },
  password: { go: 'Password', effect: 'auth', log: () => 'authorization password' },
  authorization: { go: 'Authorization', effect: 'auth', log: () => 'authorization token' },
  // "Reloaded: authorization users" and "Reloaded: accounts" are logged on every reload (ALWAYS)
  users: { go: 'Users', effect: 'auth' },
  nkeys: { go: 'Nkeys', effect: 'auth', log: () => 'authorization nkey users' },
  defaultPermissions: { go: 'Users', effect: 'auth' },
  accounts: { go: 'Accounts', effect: 'accounts' },
  systemAccount: { go: 'SystemAccount' },
  noSystemAccount: { go: 'NoSystemAccount' },
  trustedOperators: { go: 'TrustedOperators' },
  trustedKeys: { go: 'TrustedKeys' },
  resolver: { go: 'AccountResolver' },
  resolverTlsConfig: { go: 'AccountResolverTLSConfig', effect: 'none' },
  resolverPreload: { go: 'resolverPreloads', effect: 'accounts' },
  resolverPinnedAccounts: { go: 'resolverPinnedAccounts' },
  tls: { go: 'TLS', effect: 'tls' },
  tlsConfig: { go: 'TLSConfig', effect: 'tls' },
  allowNonTLS: { go: 'AllowNonTLS' },
  ocsp: { go: 'OCSPConfig', effect: 'none' },
  httpHost: { go: 'HTTPHost' },
  httpPort: { go: 'HTTPPort' },
  httpsPort: { go: 'HTTPSPort' },
  httpBasePath: { go: 'HTTPBasePath' },
  monitoringToken: { go: 'MonitoringToken', effect: 'none' },
  cluster: { go: 'Cluster', effect: 'cluster' },
  routes: { go: 'Routes', effect: 'cluster', log: () => 'cluster routes' },
  // no case in server/reload.go diffOptions: refused
  lameDuckDurationMs: { go: 'LameDuckDuration', fmt: goDurationMs },
  lameDuckGracePeriodMs: { go: 'LameDuckGracePeriod', fmt: goDurationMs },
  connectErrorReports: { go: 'ConnectErrorReports', effect: 'none', log: (v) => `connect_error_reports = ${v}` },
  reconnectErrorReports: { go: 'ReconnectErrorReports', effect: 'none', log: (v) => `reconnect_error_reports = ${v}` },
  tags: { go: 'Tags', effect: 'none', log: () => 'tags' },
  websocket: { go: 'Websocket' },
  leafnode: { go: 'LeafNode' },
  // JetStream: server/reload.go diffOptions (jetstream, storedir and the limits are special cases below)
  jetstream: { go: 'JetStream', effect: 'jetstream' },
  storeDir: { go: 'StoreDir', effect: 'none' },
  jetstreamMaxMemory: { go: 'JetStreamMaxMemory', effect: 'none' },
  jetstreamMaxStore: { go: 'JetStreamMaxStore', effect: 'none' },
  jetstreamDomain: { go: 'JetStreamDomain' },
  jetstreamExtHint: { go: 'JetStreamExtHint' },
  jetstreamKey: { go: 'JetStreamKey' },
  jetstreamCipher: { go: 'JetStreamCipher', fmt: (v) => (v === 'aes' ? 'AES-GCM' : 'ChaCha20-Poly1305') },
  jetstreamUniqueTag: { go: 'JetStreamUniqueTag' },
  jetstreamLimits: {
    go: 'JetStreamLimits',
    fmt: (v) => {
      const l = v as Options['jetstreamLimits'];
      return `{${l.maxRequestBatch} ${l.maxAckPending} ${l.maxHAAssets} ${goDurationMs(l.duplicateWindowMs)}}`;
    },
  },
  jetstreamMaxCatchup: { go: 'JetStreamMaxCatchup' },
  // a 2.10 option (Options.SyncInterval there); refused like any unlisted field
  jetstreamSyncInterval: { go: 'SyncInterval', fmt: (v) => (v === 'always' ? 'always' : goDurationMs(v)) },
  jsAccDefaultDomain: {
    go: 'JsAccDefaultDomain',
    fmt: (v) => {
      const m = v as Record<string, string>;
      return `map[${Object.keys(m)
        .sort()
        .map((k) => `${k}:${m[k]}`)
        .join(' ')}]`;
    },
  },
  unsupported: { go: 'unsupported', effect: 'none' },
};

// The exported fields of server/opts.go Options in declaration order:
// diffOptions walks them in this order, so it decides which refusal is
// reported first and the order of the "Reloaded: ..." lines.
const GO_FIELD_ORDER = [
  'ConfigFile', 'ServerName', 'Host', 'Port', 'DontListen', 'ClientAdvertise', 'Trace', 'Debug', 'TraceVerbose',
  'NoLog', 'NoSigs', 'NoSublistCache', 'NoHeaderSupport', 'DisableShortFirstPing', 'Logtime', 'MaxConn', 'MaxSubs',
  'MaxSubTokens', 'Nkeys', 'Users', 'Accounts', 'NoAuthUser', 'SystemAccount', 'NoSystemAccount', 'Username',
  'Password', 'Authorization', 'PingInterval', 'MaxPingsOut', 'HTTPHost', 'HTTPPort', 'HTTPBasePath', 'HTTPSPort',
  'AuthTimeout', 'MaxControlLine', 'MaxPayload', 'MaxPending', 'Cluster', 'Gateway', 'LeafNode', 'JetStream',
  'JetStreamMaxMemory', 'JetStreamMaxStore', 'JetStreamDomain', 'JetStreamExtHint', 'JetStreamKey',
  'JetStreamCipher', 'JetStreamUniqueTag', 'JetStreamLimits', 'JetStreamMaxCatchup', 'StoreDir',
  'JsAccDefaultDomain', 'Websocket', 'MQTT', 'ProfPort', 'PidFile', 'PortsFileDir', 'LogFile', 'LogSizeLimit',
  'Syslog', 'RemoteSyslog', 'Routes', 'RoutesStr', 'TLSTimeout', 'TLS', 'TLSVerify', 'TLSMap', 'TLSCert', 'TLSKey',
  'TLSCaCert', 'TLSConfig', 'TLSPinnedCerts', 'TLSRateLimit', 'AllowNonTLS', 'WriteDeadline', 'MaxClosedClients',
  'LameDuckDuration', 'LameDuckGracePeriod', 'MaxTracedMsgLen', 'TrustedKeys', 'TrustedOperators',
  'AccountResolver', 'AccountResolverTLSConfig', 'AlwaysEnableNonce', 'CustomClientAuthentication',
  'CustomRouterAuthentication', 'CheckConfig', 'ConnectErrorReports', 'ReconnectErrorReports', 'Tags', 'OCSPConfig',
];
const GO_INDEX = new Map(GO_FIELD_ORDER.map((f, i) => [f, i]));
/** fields of tsnats only, and unexported ones (diffOptions skips those), come after */
const goIndex = (go: string): number => GO_INDEX.get(go) ?? GO_FIELD_ORDER.length;

// diffOptions never compares Users and Accounts (their values hold internal
// state and never compare equal), so every reload applies a usersOption and
// an accountsOption, and each logs its line.
const ALWAYS: Array<[number, string]> = [
  [goIndex('Users'), 'Reloaded: authorization users'],
  [goIndex('Accounts'), 'Reloaded: accounts'],
];

export interface ReloadPlan {
  /** fields that changed and can be applied */
  changed: Array<keyof Options>;
  /** JetStream to enable (true) or disable (false) once applied; undefined = leave as is */
  jetstream?: boolean;
  effects: Set<ReloadEffect>;
  /** the log lines ("Reloaded: ..."), in the reference's order of fields */
  logLines: string[];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Compare running and new options. Throws ReloadError with the reference's
 * text for the first change it cannot apply.
 */
export function planReload(cur: Options, next: Options, running: { jetstream: boolean } = { jetstream: cur.jetstream }): ReloadPlan {
  const plan: ReloadPlan = { changed: [], effects: new Set(), logLines: [] };
  const js = { disable: false, limitsDropped: false, storeDirDropped: false };
  const keys = [...new Set([...Object.keys(cur), ...Object.keys(next)])] as Array<keyof Options>;
  const ruleOf = (k: keyof Options): FieldRule => RULES[k] ?? { go: String(k) };
  // stable sort: fields sharing a Go field keep the model's order
  keys.sort((x, y) => goIndex(ruleOf(x).go) - goIndex(ruleOf(y).go));
  const lines: Array<[number, string]> = [...ALWAYS];
  for (const key of keys) {
    const a = cur[key];
    const b = next[key];
    const rule = ruleOf(key);
    if (key === 'jetstream') {
      // server/reload.go: a jetstream option when the setting changed, or
      // when it is (still) on but JetStream is not running (a restart)
      if (a !== b || (b === true && !running.jetstream)) {
        if (a !== b) plan.changed.push(key);
        plan.effects.add('jetstream');
        plan.jetstream = b as boolean;
        lines.push([goIndex(rule.go), 'Reloaded: JetStream']);
      }
      js.disable = a !== b && b === false;
      continue;
    }
    if (deepEqual(a, b)) continue;
    if (key === 'storeDir' && running.jetstream) {
      if (b !== '') throw new ReloadError('config reload not supported for jetstream storage directory');
      js.storeDirDropped = true; // allowed only when JetStream is disabled by the same reload
    }
    if ((key === 'jetstreamMaxMemory' || key === 'jetstreamMaxStore') && running.jetstream) {
      const fromUnset = a === -1;
      const toUnset = b === -1;
      if (!fromUnset && toUnset) js.limitsDropped = true;
      else if (fromUnset && !toUnset) throw new ReloadError('config reload not supported for jetstream dynamic max memory and store');
      else throw new ReloadError('config reload not supported for jetstream max memory and store');
    }
    if (key === 'port' && (b === 0 || b === -1)) continue; // server/reload.go: a random port is kept
    if (key === 'cluster') {
      // Only the cluster listen address is fixed; authorization, routes,
      // permissions and advertise settings reload (server/reload.go clusterOption).
      const ca = a as Options['cluster'];
      const cb = b as Options['cluster'];
      const portSame = ca.port === cb.port || cb.port === 0 || cb.port === -1;
      // server/reload.go Reload: a random cluster port means the running one, before comparing
      if (portSame && deepEqual(ca, { ...cb, port: ca.port })) continue;
      // server/reload.go validateClusterOpts: host first, then port (Go's Host is "" without clustering)
      const goHost = (c: Options['cluster']) => (c.port === 0 ? '' : c.host);
      if (goHost(ca) !== goHost(cb)) {
        throw new ReloadError(`config reload not supported for cluster host: old=${goHost(ca)}, new=${goHost(cb)}`);
      }
      if (!portSame) throw new ReloadError(`config reload not supported for cluster port: old=${ca.port}, new=${cb.port}`);
      if (ca.name !== cb.name) {
        // the reference renames the cluster live; tsnats' routes cannot yet (docs/intended-differences.md)
        throw new ReloadError(`config reload not supported for ${rule.go}: old=${goValue(a)}, new=${goValue(b)}`);
      }
      plan.changed.push(key);
      plan.effects.add('cluster');
      lines.push([goIndex(rule.go), 'Reloaded: cluster']);
      continue;
    }
    if (key === 'leafnode') {
      // server/reload.go diffOptions "leafnode": TLS settings (of the block and
      // of remotes) reload; users compare as a set; anything else is refused.
      const la = a as Options['leafnode'];
      const lb = b as Options['leafnode'];
      if (la !== undefined && lb !== undefined && sameLeafnodeExceptTLS(la, lb)) {
        plan.changed.push(key);
        plan.effects.add('tls');
        continue;
      }
      throw new ReloadError(`config reload not supported for ${rule.go}: old=${goLeafnode(la)}, new=${goLeafnode(lb)}`);
    }
    if (key === 'noAuthUser') {
      // server/reload.go: the only allowed change is dropping a no_auth_user whose user is gone too
      const oldName = a as string;
      const stillThere = next.users.some((u) => u.username === oldName);
      if (!(oldName !== '' && b === '' && !stillThere)) {
        throw new ReloadError(`config reload not supported for ${rule.go}: old=${goValue(a)}, new=${goValue(b)}`);
      }
    }
    if (rule.effect === undefined) {
      const f = rule.fmt ?? goValue;
      throw new ReloadError(`config reload not supported for ${rule.go}: old=${f(a)}, new=${f(b)}`);
    }
    plan.changed.push(key);
    plan.effects.add(rule.effect);
    const line = rule.log?.(b);
    if (line) lines.push([goIndex(rule.go), rule.raw ? line : `Reloaded: ${line}`]);
  }
  if (!js.disable) {
    if (js.limitsDropped) throw new ReloadError('config reload not supported for jetstream max memory and max store');
    if (js.storeDirDropped) throw new ReloadError('config reload not supported for jetstream storage dir');
  }
  lines.sort((x, y) => x[0] - y[0]);
  plan.logLines = lines.map((l) => l[1]);
  return plan;
}
