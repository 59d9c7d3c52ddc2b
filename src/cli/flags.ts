// nats-server's command line (main.go, server/opts.go ConfigureOptions):
// parseFlags reads argv, mergeFlags lays the flags over the options from the
// config file (or the defaults) with the reference's precedence, and
// mergeFlagsForReload does what a config reload does with the same flags.
//
// Precedence, as the reference achieves it by parsing the flags a second time
// after the config file: every flag given on the command line wins over the
// config file, whatever its value (`-T=false` turns timestamps off even when
// the file says `logtime: true`). Then, in flag-name order (Go's
// FlagSet.Visit), the flags with side effects are applied: -DV/-VV/-DVV,
// --cluster (listen host/port and route credentials from its URL, clearing
// the file's credentials when it has none), --routes, and the TLS flags
// (which replace the file's TLS block, or remove it with --tls=false).

import {
  DEFAULT_HOST,
  TLS_TIMEOUT_MS,
  type Options,
  type TLSConfig,
} from '../config/options.js';
import { goParseURL, goQuote, goSplitHostPort } from '../logging/gofmt.js';
import { CliError } from './errors.js';
import { parseGoFlags, parseGoInt, type FlagDef, type FlagValue } from './goflag.js';

/** Values of the flags given, by the option they set (flag-only values have their own names). */
export interface FlagOptions {
  port?: number;
  host?: string;
  serverName?: string;
  clientAdvertise?: string;
  debug?: boolean;
  trace?: boolean;
  /** -VV */
  traceAndVerbose?: boolean;
  /** -DV */
  debugAndTrace?: boolean;
  /** -DVV */
  debugAndTraceVerbose?: boolean;
  logtime?: boolean;
  username?: string;
  password?: string;
  authorization?: string;
  httpPort?: number;
  httpsPort?: number;
  pidFile?: string;
  portsFileDir?: string;
  logFile?: string;
  logSizeLimit?: number;
  syslog?: boolean;
  remoteSyslog?: string;
  profPort?: number;
  /** --routes, comma separated URLs */
  routes?: string;
  /** --cluster / --cluster_listen URL */
  clusterListen?: string;
  clusterAdvertise?: string;
  noAdvertise?: boolean;
  connectRetries?: number;
  clusterName?: string;
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCaCert?: string;
  maxTracedMsgLen?: number;
  jetstream?: boolean;
  storeDir?: string;
}

export interface SignalRequest {
  /** stop, quit, reopen, reload, ldm, term (validated when sent) */
  command: string;
  /** what followed the first '=': a pid or a pid file path */
  pid?: string;
  /** the flag value as given (processSignalFlag takes this) */
  value: string;
}

export interface ParsedFlags {
  flagOptions: FlagOptions;
  /** Options paths the flags set, e.g. 'port', 'cluster.port', 'tlsConfig' */
  explicitlySet: Set<string>;
  /**
   * boolean options explicitly set on the command line with their value, by
   * the reference's field names (server/opts.go inCmdLine): Debug, Trace,
   * TraceVerbose, Logtime, Syslog, Cluster.NoAdvertise. Reload applies them.
   */
  explicitBools: Map<string, boolean>;
  /** flag names as given, in command line order */
  given: string[];
  configFile: string;
  showVersion: boolean;
  showHelp: boolean;
  showTlsHelp: boolean;
  testConfig: boolean;
  signal?: SignalRequest;
  /** arguments left after the flags (the reference accepts only `version` and `help`) */
  args: string[];
}

type Key = keyof FlagOptions | 'configFile' | 'showVersion' | 'showHelp' | 'showTlsHelp' | 'testConfig' | 'signal';

function def(kind: FlagDef['kind'], key: Key, ...names: string[]): FlagDef {
  return { names, kind, key };
}

/** Every flag ConfigureOptions defines (server/opts.go), with its aliases. */
export const FLAG_DEFS: readonly FlagDef[] = [
  def('bool', 'showHelp', 'h', 'help'),
  def('int', 'port', 'port', 'p'),
  def('string', 'serverName', 'n', 'name', 'server_name'),
  def('string', 'host', 'addr', 'a', 'net'),
  def('string', 'clientAdvertise', 'client_advertise'),
  def('bool', 'debug', 'D', 'debug'),
  def('bool', 'trace', 'V', 'trace'),
  def('bool', 'traceAndVerbose', 'VV'),
  def('bool', 'debugAndTrace', 'DV'),
  def('bool', 'debugAndTraceVerbose', 'DVV'),
  def('bool', 'logtime', 'T', 'logtime'),
  def('string', 'username', 'user'),
  def('string', 'password', 'pass'),
  def('string', 'authorization', 'auth'),
  def('int', 'httpPort', 'm', 'http_port'),
  def('int', 'httpsPort', 'ms', 'https_port'),
  def('string', 'configFile', 'c', 'config'),
  def('bool', 'testConfig', 't'),
  def('string', 'signal', 'sl', 'signal'),
  def('string', 'pidFile', 'P', 'pid'),
  def('string', 'portsFileDir', 'ports_file_dir'),
  def('string', 'logFile', 'l', 'log'),
  def('int', 'logSizeLimit', 'log_size_limit'),
  def('bool', 'syslog', 's', 'syslog'),
  def('string', 'remoteSyslog', 'r', 'remote_syslog'),
  def('bool', 'showVersion', 'version', 'v'),
  def('int', 'profPort', 'profile'),
  def('string', 'routes', 'routes'),
  def('string', 'clusterListen', 'cluster', 'cluster_listen'),
  def('string', 'clusterAdvertise', 'cluster_advertise'),
  def('bool', 'noAdvertise', 'no_advertise'),
  def('int', 'connectRetries', 'connect_retries'),
  def('string', 'clusterName', 'cluster_name'),
  def('bool', 'showTlsHelp', 'help_tls'),
  def('bool', 'tls', 'tls'),
  def('bool', 'tlsVerify', 'tlsverify'),
  def('string', 'tlsCert', 'tlscert'),
  def('string', 'tlsKey', 'tlskey'),
  def('string', 'tlsCaCert', 'tlscacert'),
  def('int', 'maxTracedMsgLen', 'max_traced_msg_len'),
  def('bool', 'jetstream', 'js', 'jetstream'),
  def('string', 'storeDir', 'sd', 'store_dir'),
];

// Which Options paths each flag variable ends up setting.
const SETS: Partial<Record<keyof FlagOptions, string[]>> = {
  port: ['port'],
  host: ['host'],
  serverName: ['serverName'],
  clientAdvertise: ['clientAdvertise'],
  debug: ['debug'],
  trace: ['trace'],
  traceAndVerbose: ['trace', 'traceVerbose'],
  debugAndTrace: ['debug', 'trace'],
  debugAndTraceVerbose: ['debug', 'trace', 'traceVerbose'],
  logtime: ['logtime'],
  username: ['username'],
  password: ['password'],
  authorization: ['authorization'],
  httpPort: ['httpPort'],
  httpsPort: ['httpsPort'],
  pidFile: ['pidFile'],
  portsFileDir: ['portsFileDir'],
  logFile: ['logFile'],
  logSizeLimit: ['logSizeLimit'],
  syslog: ['syslog'],
  remoteSyslog: ['remoteSyslog'],
  profPort: ['profPort'],
  routes: ['routes'],
  clusterListen: ['cluster.host', 'cluster.port', 'cluster.username', 'cluster.password'],
  clusterAdvertise: ['cluster.advertise'],
  noAdvertise: ['cluster.noAdvertise'],
  connectRetries: ['cluster.connectRetries'],
  clusterName: ['cluster.name'],
  tls: ['tls', 'tlsConfig'],
  tlsVerify: ['tlsConfig'],
  tlsCert: ['tlsConfig'],
  tlsKey: ['tlsConfig'],
  tlsCaCert: ['tlsConfig'],
  maxTracedMsgLen: ['maxTracedMsgLen'],
  jetstream: ['jetstream'],
  storeDir: ['storeDir'],
};

const CONTROL_KEYS = new Set<string>(['configFile', 'showVersion', 'showHelp', 'showTlsHelp', 'testConfig', 'signal']);

/**
 * Parses argv (without node and the script) with Go flag syntax. Throws
 * FlagError for what the flag package rejects, CliError for a positional
 * argument that is not `version` or `help`.
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const r = parseGoFlags(FLAG_DEFS, argv);
  const flagOptions: Record<string, FlagValue> = {};
  const explicitlySet = new Set<string>();
  for (const [key, value] of r.values) {
    if (CONTROL_KEYS.has(key)) continue;
    flagOptions[key] = value;
    for (const p of SETS[key as keyof FlagOptions] ?? []) explicitlySet.add(p);
  }
  const get = <T extends FlagValue>(k: string, dflt: T): T => (r.values.has(k) ? (r.values.get(k) as T) : dflt);

  let showVersion = get<boolean>('showVersion', false);
  let showHelp = get<boolean>('showHelp', false);
  if (!showVersion && !showHelp && !get('showTlsHelp', false) && r.args.length > 0) {
    // server.go ProcessCommandLineArgs: only the first argument is looked at
    const cmd = r.args[0].toLowerCase();
    if (cmd === 'version') showVersion = true;
    else if (cmd === 'help') showHelp = true;
    else throw new CliError('UNRECOGNIZED_COMMAND', `unrecognized command: ${goQuote(r.args[0])}`);
  }

  const parsed: ParsedFlags = {
    flagOptions: flagOptions as FlagOptions,
    explicitlySet,
    explicitBools: explicitBools(r.given, flagOptions as FlagOptions),
    given: r.given,
    configFile: get('configFile', ''),
    showVersion,
    showHelp,
    showTlsHelp: get('showTlsHelp', false),
    testConfig: get('testConfig', false),
    args: r.args,
  };
  if (r.values.has('signal') && get('signal', '') !== '') parsed.signal = splitSignal(get('signal', ''));
  return parsed;
}

// processSignal splits on every '='; more than one is rejected when sending.
function splitSignal(v: string): SignalRequest {
  const eq = v.indexOf('=');
  if (eq < 0) return { command: v, value: v };
  return { command: v.slice(0, eq), pid: v.slice(eq + 1), value: v };
}

// Go's sort.Strings order (byte order), which FlagSet.Visit follows.
function visitOrder(given: readonly string[]): string[] {
  return [...new Set(given)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ConfigureOptions' first Visit: trackExplicitVal for the boolean flags.
function explicitBools(given: readonly string[], f: FlagOptions): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const name of visitOrder(given)) {
    switch (name) {
      case 'DVV':
        m.set('Debug', !!f.debugAndTraceVerbose);
        m.set('Trace', !!f.debugAndTraceVerbose);
        m.set('TraceVerbose', !!f.debugAndTraceVerbose);
        break;
      case 'DV':
        m.set('Debug', !!f.debugAndTrace);
        m.set('Trace', !!f.debugAndTrace);
        break;
      case 'D':
      case 'debug':
        m.set('Debug', !!f.debug);
        break;
      case 'VV':
        m.set('Trace', !!f.traceAndVerbose);
        m.set('TraceVerbose', !!f.traceAndVerbose);
        break;
      case 'V':
      case 'trace':
        m.set('Trace', !!f.trace);
        break;
      case 'T':
      case 'logtime':
        m.set('Logtime', f.logtime !== false);
        break;
      case 's':
      case 'syslog':
        m.set('Syslog', !!f.syslog);
        break;
      case 'no_advertise':
        m.set('Cluster.NoAdvertise', !!f.noAdvertise);
        break;
    }
  }
  return m;
}

function cloneOptions(o: Options): Options {
  return structuredClone(o);
}

// Plain assignments: the second fs.Parse in ConfigureOptions.
function applyValues(o: Options, f: FlagOptions): void {
  if (f.port !== undefined) o.port = f.port;
  if (f.host !== undefined) o.host = f.host;
  if (f.serverName !== undefined) o.serverName = f.serverName;
  if (f.clientAdvertise !== undefined) o.clientAdvertise = f.clientAdvertise;
  if (f.debug !== undefined) o.debug = f.debug;
  if (f.trace !== undefined) o.trace = f.trace;
  if (f.logtime !== undefined) o.logtime = f.logtime;
  if (f.username !== undefined) o.username = f.username;
  if (f.password !== undefined) o.password = f.password;
  if (f.authorization !== undefined) o.authorization = f.authorization;
  if (f.httpPort !== undefined) o.httpPort = f.httpPort;
  if (f.httpsPort !== undefined) o.httpsPort = f.httpsPort;
  if (f.pidFile !== undefined) o.pidFile = f.pidFile;
  if (f.portsFileDir !== undefined) o.portsFileDir = f.portsFileDir;
  if (f.logFile !== undefined) o.logFile = f.logFile;
  if (f.logSizeLimit !== undefined) o.logSizeLimit = f.logSizeLimit;
  if (f.syslog !== undefined) o.syslog = f.syslog;
  if (f.remoteSyslog !== undefined) o.remoteSyslog = f.remoteSyslog;
  if (f.profPort !== undefined) o.profPort = f.profPort;
  if (f.clusterAdvertise !== undefined) o.cluster.advertise = f.clusterAdvertise;
  if (f.noAdvertise !== undefined) o.cluster.noAdvertise = f.noAdvertise;
  if (f.connectRetries !== undefined) o.cluster.connectRetries = f.connectRetries;
  if (f.clusterName !== undefined) o.cluster.name = f.clusterName;
  if (f.tls !== undefined) o.tls = f.tls;
  if (f.maxTracedMsgLen !== undefined) o.maxTracedMsgLen = f.maxTracedMsgLen;
  if (f.jetstream !== undefined) o.jetstream = f.jetstream;
  if (f.storeDir !== undefined) o.storeDir = f.storeDir;
}

/** RoutesFromStr: comma separated, each trimmed */
export function routesFromString(s: string): string[] {
  return s.split(',').map((r) => r.trim());
}

// overrideCluster (server/opts.go). `listen` is threaded through because the
// reference rewrites its ListenStr in place (":-1" becomes ":0"), which a
// second visit (both --cluster and --cluster_listen given) then sees.
function overrideCluster(o: Options, listen: { v: string }): void {
  if (listen.v === '') {
    o.cluster.port = 0;
    return;
  }
  let wantsRandom = false;
  if (listen.v.endsWith(':-1')) {
    wantsRandom = true;
    listen.v = listen.v.slice(0, -3) + ':0';
  }
  const u = goParseURL(listen.v);
  if (typeof u === 'string') throw new CliError('CLUSTER_URL', u);
  const hp = goSplitHostPort(u.host);
  if (typeof hp === 'string') throw new CliError('CLUSTER_URL', hp);
  const portText = wantsRandom ? '-1' : hp.port;
  const port = parseSscanInt(portText);
  o.cluster.host = hp.host;
  if (typeof port === 'string') throw new CliError('CLUSTER_URL', port);
  o.cluster.port = port;
  if (u.user) {
    if (u.user.password === undefined) throw new CliError('CLUSTER_PASSWORD', 'expected cluster password to be set');
    o.cluster.password = u.user.password;
    o.cluster.username = u.user.username;
  } else {
    o.cluster.username = undefined;
    o.cluster.password = undefined;
  }
}

// fmt.Sscan into an int. url.Parse has already made sure the port is
// digits only, so what is left to report is an empty port ("EOF").
function parseSscanInt(s: string): number | string {
  if (s === '') return 'EOF';
  const r = parseGoInt(s);
  if ('error' in r) return `strconv.ParseInt: parsing ${goQuote(s)}: ${r.error}`;
  return Number(r.value);
}

// overrideTLS: a fresh TLS block from the flags, with the reference's
// default cipher suites (left to the TLS layer: cipherSuites undefined).
function overrideTLS(o: Options, f: FlagOptions): void {
  if (!f.tlsCert) throw new CliError('TLS_CERT_MISSING', 'TLS Server certificate must be present and valid');
  if (!f.tlsKey) throw new CliError('TLS_KEY_MISSING', 'TLS Server private key must be present and valid');
  const tc: TLSConfig = {
    certFile: f.tlsCert,
    keyFile: f.tlsKey,
    verify: !!f.tlsVerify,
    verifyAndMap: false,
    insecure: false,
    timeoutMs: o.tlsConfig?.timeoutMs ?? TLS_TIMEOUT_MS,
  };
  if (f.tlsCaCert) tc.caFile = f.tlsCaCert;
  o.tlsConfig = tc;
}

/**
 * The options a server runs with: `fileOptions` (from the config file, or
 * defaultOptions() without one) overridden by the flags. Throws CliError
 * with the reference's message for a bad --cluster URL, TLS flags without
 * cert/key, or --routes without a cluster listen address.
 */
export function mergeFlags(fileOptions: Options, parsed: ParsedFlags): Options {
  const o = cloneOptions(fileOptions);
  const f = parsed.flagOptions;
  applyValues(o, f);
  if (parsed.configFile !== '') o.configFile = parsed.configFile;

  const listen = { v: f.clusterListen ?? '' };
  let tlsDisabled = false;
  let tlsOverride = false;
  for (const name of visitOrder(parsed.given)) {
    if (name.startsWith('tls')) {
      if (name === 'tls') {
        if (!o.tls) {
          o.tlsConfig = undefined;
          tlsDisabled = true;
          tlsOverride = false;
          continue;
        }
        tlsOverride = true;
      } else if (!tlsDisabled) {
        tlsOverride = true;
      }
      continue;
    }
    switch (name) {
      case 'VV':
        o.trace = o.traceVerbose = !!f.traceAndVerbose;
        break;
      case 'DVV':
        o.trace = o.debug = o.traceVerbose = !!f.debugAndTraceVerbose;
        break;
      case 'DV':
        o.trace = o.debug = !!f.debugAndTrace;
        break;
      case 'cluster':
      case 'cluster_listen':
        overrideCluster(o, listen);
        break;
      case 'routes':
        o.routes = f.routes ? routesFromString(f.routes) : [];
        break;
    }
  }
  if (tlsOverride) overrideTLS(o, f);

  // The reference checks Cluster.Host == "" too; ours defaults to 0.0.0.0,
  // so a host only counts when the config file changed it.
  const clusterHostSet = o.cluster.host !== '' && o.cluster.host !== DEFAULT_HOST;
  if (f.routes && listen.v === '' && !clusterHostSet && o.cluster.port === 0) {
    throw new CliError('ROUTES_NEED_CLUSTER', 'solicited routes require cluster capabilities, e.g. --cluster');
  }
  return o;
}

/**
 * What a config reload does with the command line (server/reload.go:
 * MergeOptions then applyBoolFlags), quirks included: only port, host,
 * client_advertise, user, pass, auth, http_port, log file, pid file, ports
 * dir, profile port, cluster advertise/no_advertise/connect_retries and
 * routes are re-applied, plus the boolean flags that were given. Other flags
 * (-n, -ms, --log_size_limit, -r, --cluster, TLS, -js...) are not, so a
 * reload whose file disagrees with them fails like the reference's
 * ("config reload not supported for ServerName: old=..., new=...").
 */
export function mergeFlagsForReload(fileOptions: Options, parsed: ParsedFlags): Options {
  const o = cloneOptions(fileOptions);
  const f = parsed.flagOptions;
  if (f.port) o.port = f.port;
  if (f.host) o.host = f.host;
  if (f.clientAdvertise) o.clientAdvertise = f.clientAdvertise;
  if (f.username) o.username = f.username;
  if (f.password) o.password = f.password;
  if (f.authorization) o.authorization = f.authorization;
  if (f.httpPort) o.httpPort = f.httpPort;
  if (f.logFile) o.logFile = f.logFile;
  if (f.pidFile) o.pidFile = f.pidFile;
  if (f.portsFileDir) o.portsFileDir = f.portsFileDir;
  if (f.profPort) o.profPort = f.profPort;
  if (f.connectRetries) o.cluster.connectRetries = f.connectRetries;
  if (f.clusterAdvertise) o.cluster.advertise = f.clusterAdvertise;
  if (f.routes) o.routes = routesFromString(f.routes);
  for (const [name, v] of parsed.explicitBools) {
    switch (name) {
      case 'Debug':
        o.debug = v;
        break;
      case 'Trace':
        o.trace = v;
        break;
      case 'TraceVerbose':
        o.traceVerbose = v;
        break;
      case 'Logtime':
        o.logtime = v;
        break;
      case 'Syslog':
        o.syslog = v;
        break;
      case 'Cluster.NoAdvertise':
        o.cluster.noAdvertise = v;
        break;
    }
  }
  return o;
}
