// Mapping a parsed conf file onto Options, key by key, as nats-server 2.9.10
// does in server/opts.go ProcessConfigFile/processConfigFileLine: the same
// keys and aliases, the same type rules, and every error collected (not just
// the first) with the reference's `file:line:col: reason` texts.
//
// Differences, on purpose:
// - keys are processed in file order (the reference walks a Go map, so the
//   order of multiple errors varies from run to run there);
// - zero values the reference replaces at startup (setBaselineOptions: port 0,
//   max_payload 0, ...) are replaced here, since Options carries defaults;
// - logtime_utc, logfile_max_num and cluster pool_size/compression (2.10
//   settings) are accepted;
// - blocks for features tsnats does not serve (leafnodes, gateway, mqtt,
//   ocsp) are validated, then reported in `warnings`;
// - jetstream { sync_interval } (a 2.10 setting) is accepted.

import { parseConfFile, type ConfMap, type ConfNode } from './conf.js';
import { DurationError, formatGoDuration, nsToMs, parseGoDuration } from './duration.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import {
  applyCluster,
  applyGateway,
  applyLeafnodes,
  applyMQTT,
  applyOCSP,
  applyOperators,
  applyPinnedAccounts,
  applyResolver,
  applyResolverPreload,
  applyTrustedKeys,
  applyWebsocket,
  parseDurationField,
  type ApplyState,
} from './features-conf.js';
import { applyDefaultJsDomain, applyJetStream, applyStoreDir } from './jetstream-conf.js';
import { applyAccounts, applyAuthorization, parseAccountMappings } from './auth-conf.js';
import { loadTLSBlock } from './tls-conf.js';
import {
  DEFAULT_CONNECT_ERROR_REPORTS,
  DEFAULT_FLUSH_DEADLINE_MS,
  DEFAULT_GLOBAL_ACCOUNT,
  DEFAULT_HOST,
  DEFAULT_LAME_DUCK_GRACE_PERIOD_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_MAX_OUT,
  DEFAULT_PORT,
  DEFAULT_RECONNECT_ERROR_REPORTS,
  MAX_CONTROL_LINE_SIZE,
  MAX_PAYLOAD_SIZE,
  MAX_PENDING_SIZE,
  defaultOptions,
  type Options,
} from './options.js';
import {
  Issues,
  ListenError,
  asBool,
  asInt,
  asString,
  parseListen,
  recovering,
} from './values.js';

export { validateOptions } from './validate.js';
export { ConfigError } from './errors.js';
export type { ConfigIssue, ConfigErrorCode } from './errors.js';

export interface ApplyResult {
  /** located errors; non-empty means the configuration is invalid */
  errors: ConfigIssue[];
  /**
   * the reference's own warnings (e.g. a number where a duration belongs);
   * nats-server prints them before starting, and `-t` fails on them
   */
  warnings: ConfigIssue[];
  /** tsnats notes about accepted but unserved features */
  notices: string[];
}

export interface LoadResult {
  options: Options;
  /** everything worth logging: the reference warnings' texts, then the notices */
  warnings: string[];
  /** just the reference's warnings (what `nats-server -t` rejects and prints) */
  referenceWarnings: string[];
}

const MAX_INT32 = 2 ** 31 - 1;

/** 0 means "the default" for these options (server/opts.go setBaselineOptions). */
function orDefault(v: number, def: number): number {
  return v === 0 ? def : v;
}

function durationString(field: string, n: ConfNode, issues: Issues): number | undefined {
  try {
    return nsToMs(parseGoDuration(asString(n)));
  } catch (e) {
    if (!(e instanceof DurationError)) throw e;
    issues.error(n, `error parsing ${field}: ${e.message}`);
    return undefined;
  }
}

function listenInto(n: ConfNode, issues: Issues, set: (host: string, port: number) => void): void {
  try {
    const hp = parseListen(n);
    set(hp.host, hp.port);
  } catch (e) {
    if (!(e instanceof ListenError)) throw e;
    issues.error(n, e.message);
  }
}

function applyServerTags(n: ConfNode, o: Options, issues: Issues): void {
  // jwt.TagList.Add: trimmed, lower-cased, deduplicated, empties dropped.
  const add = (t: string): void => {
    const v = t.trim().toLowerCase();
    if (v !== '' && !o.tags.includes(v)) o.tags.push(v);
  };
  if (n.kind === 'string') add(n.value);
  else if (n.kind === 'array') {
    for (const el of n.value) {
      // The reference expects position-carrying tokens here, which
      // environment-provided elements are not.
      if (el.fromEnv) {
        issues.error(n, `error parsing tags: unsupported type ${goTypeOf(el)}`);
        return;
      }
      if (el.kind !== 'string') {
        issues.error(n, 'error parsing tags: unsupported type *conf.token where string is expected');
        return;
      }
      add(el.value);
    }
  } else issues.error(n, `error parsing tags: unsupported type ${goTypeOf(n)}`);
}

function goTypeOf(n: ConfNode): string {
  return { string: 'string', integer: 'int64', float: 'float64', bool: 'bool', datetime: 'time.Time', array: '[]interface {}', map: 'map[string]interface {}' }[n.kind];
}

function applyClientTLS(n: ConfNode, o: Options, issues: Issues): void {
  const tc = loadTLSBlock(n, true, issues);
  if (tc === undefined) return;
  o.tlsConfig = tc;
  o.tls = true;
}

/** One top-level key (server/opts.go processConfigFileLine). */
function applyKey(key: string, v: ConfNode, o: Options, issues: Issues, state: ApplyState): void {
  switch (key.toLowerCase()) {
    case 'listen':
      listenInto(v, issues, (host, port) => {
        o.host = host || DEFAULT_HOST;
        o.port = orDefault(port, DEFAULT_PORT);
      });
      return;
    case 'client_advertise':
      o.clientAdvertise = asString(v);
      return;
    case 'port':
      o.port = orDefault(asInt(v), DEFAULT_PORT);
      return;
    case 'server_name':
      o.serverName = asString(v);
      return;
    case 'host':
    case 'net':
      o.host = asString(v) || DEFAULT_HOST;
      return;
    case 'debug':
      o.debug = asBool(v);
      return;
    case 'trace':
      o.trace = asBool(v);
      return;
    case 'trace_verbose':
      o.traceVerbose = asBool(v);
      o.trace = o.traceVerbose;
      return;
    case 'logtime':
      o.logtime = asBool(v);
      return;
    case 'logtime_utc':
      o.logtimeUTC = asBool(v);
      return;
    case 'mappings':
    case 'maps': {
      // The reference keeps global mappings on an entry for the global account.
      const mappings = parseAccountMappings(v, issues);
      o.accounts.push({
        name: DEFAULT_GLOBAL_ACCOUNT,
        users: [],
        nkeyUsers: [],
        exports: [],
        imports: [],
        mappings,
      });
      return;
    }
    case 'disable_sublist_cache':
    case 'no_sublist_cache':
      o.noSublistCache = asBool(v);
      return;
    case 'accounts':
      applyAccounts(v, o, issues);
      return;
    case 'authorization':
      applyAuthorization(v, o, issues);
      return;
    case 'http':
      listenInto(v, issues, (host, port) => {
        o.httpHost = host;
        o.httpPort = port;
      });
      return;
    case 'https':
      listenInto(v, issues, (host, port) => {
        o.httpHost = host;
        o.httpsPort = port;
      });
      return;
    case 'http_port':
    case 'monitor_port':
      o.httpPort = asInt(v);
      return;
    case 'https_port':
      o.httpsPort = asInt(v);
      return;
    case 'http_base_path':
      o.httpBasePath = asString(v);
      return;
    case 'monitoring_token':
      // tsnats extra (see docs/monitoring.md): bearer token for the HTTP endpoints
      o.monitoringToken = asString(v);
      return;
    case 'cluster':
      applyCluster(v, o, issues);
      return;
    case 'gateway':
      applyGateway(v, issues);
      return;
    case 'leaf':
    case 'leafnodes':
      applyLeafnodes(v, o, issues);
      return;
    case 'store_dir':
    case 'storedir':
      applyStoreDir(v, o, issues, state);
      return;
    case 'jetstream':
      applyJetStream(v, o, issues, state);
      return;
    case 'logfile':
    case 'log_file':
      o.logFile = asString(v);
      return;
    case 'logfile_size_limit':
    case 'log_size_limit':
      o.logSizeLimit = asInt(v);
      return;
    case 'logfile_max_num':
    case 'log_max_num':
      o.logMaxFiles = asInt(v);
      return;
    case 'syslog':
      o.syslog = asBool(v);
      return;
    case 'remote_syslog':
      o.remoteSyslog = asString(v);
      return;
    case 'pidfile':
    case 'pid_file':
      o.pidFile = asString(v);
      return;
    case 'ports_file_dir':
      o.portsFileDir = asString(v);
      return;
    case 'prof_port':
      o.profPort = asInt(v);
      return;
    case 'max_control_line': {
      const n = asInt(v);
      if (n > MAX_INT32) {
        issues.error(v, `${key} value is too big`);
        return;
      }
      o.maxControlLine = orDefault(n, MAX_CONTROL_LINE_SIZE);
      return;
    }
    case 'max_payload': {
      const n = asInt(v);
      if (n > MAX_INT32) {
        issues.error(v, `${key} value is too big`);
        return;
      }
      o.maxPayload = orDefault(n, MAX_PAYLOAD_SIZE);
      return;
    }
    case 'max_pending':
      o.maxPending = orDefault(asInt(v), MAX_PENDING_SIZE);
      return;
    case 'max_connections':
    case 'max_conn':
      o.maxConn = orDefault(asInt(v), DEFAULT_MAX_CONNECTIONS);
      return;
    case 'max_traced_msg_len':
      o.maxTracedMsgLen = asInt(v);
      return;
    case 'max_subscriptions':
    case 'max_subs':
      o.maxSubs = asInt(v);
      return;
    case 'max_sub_tokens':
    case 'max_subscription_tokens': {
      const n = asInt(v);
      if (n > 255) issues.error(v, `${key} value is too big`);
      else if (n <= 0) issues.error(v, `${key} value can not be negative`);
      else o.maxSubTokens = n;
      return;
    }
    case 'ping_interval':
      o.pingIntervalMs = orDefault(parseDurationField('ping_interval', v, issues), DEFAULT_PING_INTERVAL_MS);
      return;
    case 'ping_max':
      o.maxPingsOut = orDefault(asInt(v), DEFAULT_PING_MAX_OUT);
      return;
    case 'tls':
      applyClientTLS(v, o, issues);
      return;
    case 'ocsp':
      applyOCSP(v, o, issues);
      return;
    case 'allow_non_tls':
      o.allowNonTLS = asBool(v);
      return;
    case 'write_deadline':
      o.writeDeadlineMs = orDefault(parseDurationField('write_deadline', v, issues), DEFAULT_FLUSH_DEADLINE_MS);
      return;
    case 'lame_duck_duration': {
      const ms = durationString('lame_duck_duration', v, issues);
      if (ms === undefined) return;
      if (ms < 30_000) {
        const shown = formatGoDuration(parseGoDuration(asString(v)));
        issues.error(v, `invalid lame_duck_duration of ${shown}, minimum is 30 seconds`);
        return;
      }
      o.lameDuckDurationMs = ms;
      return;
    }
    case 'lame_duck_grace_period': {
      const ms = durationString('lame_duck_grace_period', v, issues);
      if (ms === undefined) return;
      if (ms < 0) {
        issues.error(v, 'invalid lame_duck_grace_period, needs to be positive');
        return;
      }
      o.lameDuckGracePeriodMs = orDefault(ms, DEFAULT_LAME_DUCK_GRACE_PERIOD_MS);
      return;
    }
    case 'operator':
    case 'operators':
    case 'roots':
    case 'root':
    case 'root_operators':
    case 'root_operator':
      applyOperators(v, o, issues);
      return;
    case 'resolver':
    case 'account_resolver':
    case 'accounts_resolver':
      applyResolver(v, o, issues);
      return;
    case 'resolver_tls': {
      const tc = loadTLSBlock(v, true, issues);
      if (tc !== undefined) o.resolverTlsConfig = tc;
      return;
    }
    case 'resolver_preload':
      applyResolverPreload(v, o, issues);
      return;
    case 'resolver_pinned_accounts':
      applyPinnedAccounts(v, o, issues);
      return;
    case 'no_auth_user':
      o.noAuthUser = asString(v);
      return;
    case 'system_account':
    case 'system':
      return; // handled before everything else
    case 'no_system_account':
    case 'no_system':
    case 'no_sys_acc':
      o.noSystemAccount = asBool(v);
      return;
    case 'no_header_support':
      o.noHeaderSupport = asBool(v);
      return;
    case 'trusted':
    case 'trusted_keys':
      applyTrustedKeys(v, o, issues);
      return;
    case 'connect_error_reports':
      o.connectErrorReports = orDefault(asInt(v), DEFAULT_CONNECT_ERROR_REPORTS);
      return;
    case 'reconnect_error_reports':
      o.reconnectErrorReports = orDefault(asInt(v), DEFAULT_RECONNECT_ERROR_REPORTS);
      return;
    case 'websocket':
    case 'ws':
      applyWebsocket(v, o, issues);
      return;
    case 'mqtt':
      applyMQTT(v, issues);
      return;
    case 'server_tags':
      applyServerTags(v, o, issues);
      return;
    case 'default_js_domain':
      applyDefaultJsDomain(v, o, issues);
      return;
    default:
      // Variables defined at the top level and used are not options.
      if (!v.usedVariable) issues.unknownField(v, key);
  }
}

/**
 * Applies a parsed conf tree onto `options` (mutated in place). Never throws
 * for configuration problems: they come back in the result.
 */
export function applyConf(conf: ConfMap, options: Options, file: string): ApplyResult {
  const issues = new Issues();
  const state: ApplyState = { storeDir: '' };
  if (file !== '') options.configFile = file;

  // The system account is settled first: other settings depend on it.
  const sys = conf.get('system_account') ?? conf.get('system');
  if (sys !== undefined) {
    if (sys.kind === 'string') options.systemAccount = sys.value;
    else issues.error(sys, 'system account name must be a string');
  }
  for (const [key, v] of conf) {
    recovering(issues, undefined, () => applyKey(key, v, options, issues, state));
  }
  if (options.unsupported !== undefined) {
    for (const k of conf.keys()) {
      const lk = k.toLowerCase();
      const feature =
        lk === 'leaf' ? 'leafnodes' : lk;
      if (['gateway', 'mqtt', 'ocsp'].includes(feature) && !options.unsupported.includes(feature)) {
        options.unsupported.push(feature);
      }
    }
  }
  return { errors: issues.errors, warnings: issues.warnings, notices: issues.notices };
}

/**
 * Reads, parses and applies a configuration file over `base` (default
 * options when omitted). Throws ConfigError on syntax errors, unreadable
 * files or includes, undefined variables, and invalid options.
 */
export function loadConfigFile(path: string, base: Options = defaultOptions()): LoadResult {
  const conf = parseConfFile(path);
  const options = base;
  options.configFile = path;
  const res = applyConf(conf, options, path);
  if (res.errors.length > 0) throw ConfigError.invalid(res.errors, res.warnings);
  const referenceWarnings = res.warnings.map((w) => w.message);
  return { options, warnings: [...referenceWarnings, ...res.notices], referenceWarnings };
}
