// The options model every module reads. Field names follow nats-server's
// Options struct (server/opts.go) in camelCase; defaults follow server/const.go.
// Durations are milliseconds, sizes bytes, unless a field says otherwise.

/** The nats-server feature level tsnats implements: clients gate features on INFO.version. */
export const NATS_COMPAT_VERSION = '2.9.10';
export const PROTO = 1;

export const DEFAULT_PORT = 4222;
export const RANDOM_PORT = -1;
export const DEFAULT_HOST = '0.0.0.0';
export const MAX_CONTROL_LINE_SIZE = 4096;
export const MAX_PAYLOAD_SIZE = 1024 * 1024;
export const MAX_PAYLOAD_MAX_SIZE = 8 * 1024 * 1024;
export const MAX_PENDING_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;
export const TLS_TIMEOUT_MS = 2000;
export const AUTH_TIMEOUT_MS = 2000;
export const DEFAULT_PING_INTERVAL_MS = 2 * 60 * 1000;
export const DEFAULT_PING_MAX_OUT = 2;
export const DEFAULT_FLUSH_DEADLINE_MS = 10 * 1000;
export const DEFAULT_HTTP_PORT = 8222;
export const DEFAULT_ROUTE_PORT = 6222;
export const DEFAULT_MAX_CLOSED_CLIENTS = 10000;
export const DEFAULT_LAME_DUCK_DURATION_MS = 2 * 60 * 1000;
export const DEFAULT_LAME_DUCK_GRACE_PERIOD_MS = 10 * 1000;
export const DEFAULT_CONNECT_ERROR_REPORTS = 3600;
export const DEFAULT_RECONNECT_ERROR_REPORTS = 1;
export const DEFAULT_ALLOW_RESPONSE_MAX_MSGS = 1;
export const DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS = 2 * 60 * 1000;
export const DEFAULT_SYSTEM_ACCOUNT = '$SYS';
export const DEFAULT_GLOBAL_ACCOUNT = '$G';

/** publish / subscribe allow and deny lists (server/opts.go SubjectPermission). */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** allow_responses (server/opts.go ResponsePermission). */
export interface ResponsePermission {
  maxMsgs: number;
  expiresMs: number;
}

export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  response?: ResponsePermission;
}

export interface UserConfig {
  username: string;
  password: string;
  permissions?: Permissions;
  /** account name this user belongs to (accounts block); undefined = global account */
  account?: string;
  allowedConnectionTypes?: string[];
}

export interface NkeyUserConfig {
  nkey: string;
  permissions?: Permissions;
  account?: string;
  allowedConnectionTypes?: string[];
}

export interface ExportConfig {
  /** stream export subject */
  stream?: string;
  /** service export subject */
  service?: string;
  /** accounts allowed to import; undefined = public */
  accounts?: string[];
  responseType?: 'singleton' | 'stream' | 'chunked';
  responseThresholdMs?: number;
  /** service latency tracking: results subject and sampling percentage (0 = "headers") */
  latency?: { subject: string; sampling: number };
  /** account_token_position: 1-based token of the subject that must equal the importer */
  accountTokenPosition?: number;
  /** operator mode, token_req exports: the keys that may issue activations and the revoked ones */
  activation?: { issuers: string[]; revocations: Record<string, number> };
}

export interface ImportConfig {
  stream?: { account: string; subject: string };
  service?: { account: string; subject: string };
  /** stream import prefix */
  prefix?: string;
  /** service import local subject (or stream import remap) */
  to?: string;
  /** service import: share request tracing information with the exporter */
  share?: boolean;
  /** operator mode: the jwt.Import this import came from (its activation token is checked) */
  claim?: ImportClaim;
}

/** The fields of a jwt.Import that the activation token check reads. */
export interface ImportClaim {
  type: 'stream' | 'service';
  subject: string;
  to: string;
  token: string;
}

/** One destination of a subject mapping (server/accounts.go MapDest). */
export interface MappingDestination {
  subject: string;
  /** percentage 0-100; a plain `from: to` mapping is a single destination of 100 */
  weight: number;
  cluster?: string;
}

export interface MappingConfig {
  subject: string;
  destinations: MappingDestination[];
}

/** accounts { X { limits { ... } } }; -1 = unlimited, undefined = not set */
export interface AccountLimitsConfig {
  maxConnections?: number;
  maxSubscriptions?: number;
  maxPayload?: number;
  maxLeafnodes?: number;
}

export interface AccountConfig {
  name: string;
  users: UserConfig[];
  nkeyUsers: NkeyUserConfig[];
  exports: ExportConfig[];
  imports: ImportConfig[];
  /**
   * accounts { X { jetstream } }: the account's JetStream limits by tier
   * ('' = untiered), null = disabled; undefined = not set (disabled).
   * In operator mode it comes from the account JWT's limits.
   */
  jetstream?: JetStreamAccountTiers | null;
  defaultPermissions?: Permissions;
  /** account public nkey (accounts { X { nkey } }) */
  nkey?: string;
  limits?: AccountLimitsConfig;
  mappings?: MappingConfig[];
}

/**
 * One tier of an account's JetStream limits (server/jetstream.go
 * JetStreamAccountLimits); -1 = unlimited / dynamic.
 */
export interface JetStreamAccountLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending: number;
  memoryMaxStreamBytes: number;
  storeMaxStreamBytes: number;
  maxBytesRequired: boolean;
}

/** JetStream limits by tier: '' is the untiered limit, 'R1'/'R3' the tiers of a tiered JWT. */
export type JetStreamAccountTiers = Record<string, JetStreamAccountLimits>;

/** server/jetstream.go dynamicJSAccountLimits: `jetstream: enabled` on an account. */
export function dynamicJetStreamAccountLimits(): JetStreamAccountLimits {
  return {
    maxMemory: -1,
    maxStore: -1,
    maxStreams: -1,
    maxConsumers: -1,
    maxAckPending: -1,
    memoryMaxStreamBytes: -1,
    storeMaxStreamBytes: -1,
    maxBytesRequired: false,
  };
}

/** jetstream { limits {} } (server/opts.go JSLimitOpts); 0 = not set (the runtime's default). */
export interface JetStreamServerLimits {
  maxRequestBatch: number;
  maxAckPending: number;
  maxHAAssets: number;
  /** duplicate_window, ms */
  duplicateWindowMs: number;
}

/** sync_interval: how often file stores fsync; 'always' = after every write. */
export type JetStreamSyncInterval = 'always' | number;

export const DEFAULT_JS_SYNC_INTERVAL_MS = 2 * 60 * 1000;
/** server/jetstream.go JetStreamMaxStoreDefault: 1 TB, when the disk cannot be asked */
export const JETSTREAM_MAX_STORE_DEFAULT = 1024 * 1024 * 1024 * 1024;
/** server/jetstream.go JetStreamMaxMemDefault: 256 MB, when system memory is unknown */
export const JETSTREAM_MAX_MEM_DEFAULT = 1024 * 1024 * 256;

export interface TLSConfig {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  verify: boolean;
  verifyAndMap: boolean;
  insecure: boolean;
  timeoutMs: number;
  cipherSuites?: string[];
  curvePreferences?: string[];
  minVersion?: string;
  handshakeFirst?: boolean;
  pinnedCerts?: string[];
  /** connection_rate_limit (new TLS handshakes per second); 0 = none */
  rateLimit?: number;
  /** verify_cert_and_check_known_urls (routes/gateways only) */
  checkKnownUrls?: boolean;
}

/** Permissions on routes: import = what we accept from the remote, export = what we send. */
export interface RoutePermissions {
  import?: SubjectPermission;
  export?: SubjectPermission;
}

/** account resolver (operator mode) */
export type ResolverConfig =
  | { type: 'memory' }
  | { type: 'url'; url: string }
  | {
      /** nats-based resolver: 'full' keeps every JWT, 'cache' an LRU of them */
      type: 'full' | 'cache';
      dir: string;
      limit: number;
      ttlMs: number;
      intervalMs: number;
      allowDelete: boolean;
      timeoutMs: number;
    };

export interface OCSPConfig {
  mode: 'auto' | 'always' | 'must' | 'never';
  urls: string[];
}

export interface ClusterOptions {
  name: string;
  host: string;
  /** 0 = clustering off, -1 = random */
  port: number;
  username?: string;
  password?: string;
  authTimeoutMs: number;
  tls?: TLSConfig;
  noAdvertise: boolean;
  advertise: string;
  connectRetries: number;
  poolSize?: number;
  compression?: string;
  /** true when authTimeoutMs came from the config (reference: else derived from TLS timeout) */
  authTimeoutSet?: boolean;
  permissions?: RoutePermissions;
}

/** One leafnodes.remotes entry (server/opts.go RemoteLeafOpts). */
export interface LeafRemoteOptions {
  /** nats-leaf://, nats://, tls://, ws:// or wss:// URLs, user info included */
  urls: string[];
  /** local account the connection binds to ('' = $G) */
  account: string;
  /** a .creds file: user JWT and seed, for operator-mode hubs */
  credentials: string;
  tls?: TLSConfig;
  hub: boolean;
  denyImports: string[];
  denyExports: string[];
  noRandomize: boolean;
  /** ws_compression: ask a ws:// hub for permessage-deflate */
  wsCompression?: boolean;
  /** ws_no_masking: ask a ws:// hub to accept unmasked frames */
  wsNoMasking?: boolean;
}

/** A user of leafnodes.authorization.users. */
export interface LeafUserConfig {
  username: string;
  password: string;
  account: string;
}

/** leafnodes {} (server/opts.go LeafNodeOpts). */
export interface LeafnodeOptions {
  host: string;
  /** 0: no listener (remotes only); -1: a random port */
  port: number;
  advertise: string;
  noAdvertise: boolean;
  username: string;
  password: string;
  /** account of the single authorization user ('' = $G) */
  account: string;
  users: LeafUserConfig[];
  /** authorization.timeout in ms; 0 = the default */
  authTimeoutMs: number;
  tls?: TLSConfig;
  reconnectIntervalMs: number;
  remotes: LeafRemoteOptions[];
  minVersion: string;
}

export interface WebsocketOptions {
  host: string;
  port: number;
  advertise?: string;
  noTls: boolean;
  tls?: TLSConfig;
  compression: boolean;
  sameOrigin: boolean;
  allowedOrigins: string[];
  /** 0 = the server's default */
  handshakeTimeoutMs: number;
  noAuthUser?: string;
  username?: string;
  password?: string;
  token?: string;
  authTimeoutMs?: number;
  jwtCookie?: string;
}

export interface Options {
  configFile: string;
  serverName: string;
  host: string;
  port: number;
  clientAdvertise: string;
  noAdvertise?: boolean;

  // logging
  noLog: boolean;
  debug: boolean;
  trace: boolean;
  traceVerbose: boolean;
  logtime: boolean;
  logtimeUTC: boolean;
  logFile: string;
  logSizeLimit: number;
  logMaxFiles: number;
  syslog: boolean;
  remoteSyslog: string;
  /** tsnats extra: 'text' (reference format) or 'json' */
  logFormat: 'text' | 'json';

  pidFile: string;
  portsFileDir: string;

  // limits
  maxConn: number;
  maxSubs: number;
  maxSubTokens: number;
  maxPayload: number;
  maxControlLine: number;
  maxPending: number;
  maxPingsOut: number;
  pingIntervalMs: number;
  writeDeadlineMs: number;
  maxClosedClients: number;
  /** max_traced_msg_len: truncate traced payloads; 0 = no limit */
  maxTracedMsgLen: number;
  noHeaderSupport: boolean;
  noSublistCache: boolean;
  /** prof_port: accepted for compatibility (Go profiling endpoint) */
  profPort: number;
  /** tsnats extra: size of the subject match cache per account; 0 turns it off */
  subjectCacheSize: number;

  // authentication
  authTimeoutMs: number;
  /** true when authTimeout was set explicitly (reference uses max(auth, tls) otherwise) */
  authTimeoutSet?: boolean;
  noAuthUser: string;
  username: string;
  password: string;
  authorization: string;
  users: UserConfig[];
  nkeys: NkeyUserConfig[];
  /** authorization { permissions } default for users without their own */
  defaultPermissions?: Permissions;
  accounts: AccountConfig[];
  systemAccount: string;
  noSystemAccount: boolean;

  // operator mode (issue 9)
  trustedOperators: string[];
  trustedKeys: string[];
  resolver?: ResolverConfig;
  resolverTlsConfig?: TLSConfig;
  resolverPreload: Record<string, string>;
  resolverPinnedAccounts: string[];

  // TLS for clients
  tls: boolean;
  tlsConfig?: TLSConfig;
  allowNonTLS: boolean;
  /** ocsp stapling settings, accepted but not served */
  ocsp?: OCSPConfig;

  // monitoring
  httpHost: string;
  httpPort: number;
  httpsPort: number;
  httpBasePath: string;
  /** tsnats extra: bearer token protecting the monitoring endpoints */
  monitoringToken?: string;

  // cluster
  cluster: ClusterOptions;
  routes: string[];

  // lame duck
  lameDuckDurationMs: number;
  lameDuckGracePeriodMs: number;

  connectErrorReports: number;
  reconnectErrorReports: number;
  tags: string[];

  // accepted, not yet served
  websocket?: WebsocketOptions;
  /** leafnodes {} (src/leafnode/); undefined when the block is absent */
  leafnode?: LeafnodeOptions;

  // JetStream (server/opts.go JetStream*, StoreDir; src/config/jetstream-conf.ts)
  jetstream: boolean;
  /**
   * store_dir (top level or in the jetstream block) / -sd, as given: the
   * stores live in its `jetstream` subdirectory (resolveJetStreamConfig)
   */
  storeDir: string;
  /** max_memory_store, bytes; -1 = dynamic (75% of system memory) */
  jetstreamMaxMemory: number;
  /** max_file_store, bytes; -1 = dynamic (75% of the disk's available space) */
  jetstreamMaxStore: number;
  jetstreamDomain: string;
  /** encryption key ('' = stores not encrypted) */
  jetstreamKey: string;
  jetstreamCipher: 'chacha' | 'aes';
  /** extension_hint: '', 'will_extend' or 'no_extend' */
  jetstreamExtHint: string;
  /** unique_tag, lower-cased and trimmed */
  jetstreamUniqueTag: string;
  /** max_outstanding_catchup, bytes; 0 = the runtime's default */
  jetstreamMaxCatchup: number;
  jetstreamLimits: JetStreamServerLimits;
  /** sync_interval (a 2.10 option): ms, or 'always' */
  jetstreamSyncInterval: JetStreamSyncInterval;
  /** default_js_domain: account name -> domain */
  jsAccDefaultDomain: Record<string, string>;
  /** raw blocks kept for features tsnats does not serve yet (logged as warnings) */
  unsupported: string[];
}

export function defaultOptions(): Options {
  return {
    configFile: '',
    serverName: '',
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    clientAdvertise: '',
    noLog: false,
    debug: false,
    trace: false,
    traceVerbose: false,
    logtime: true,
    logtimeUTC: false,
    logFile: '',
    logSizeLimit: 0,
    logMaxFiles: 0,
    syslog: false,
    remoteSyslog: '',
    logFormat: 'text',
    pidFile: '',
    portsFileDir: '',
    maxConn: DEFAULT_MAX_CONNECTIONS,
    maxSubs: 0,
    maxSubTokens: 0,
    maxPayload: MAX_PAYLOAD_SIZE,
    maxControlLine: MAX_CONTROL_LINE_SIZE,
    maxPending: MAX_PENDING_SIZE,
    maxPingsOut: DEFAULT_PING_MAX_OUT,
    pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
    writeDeadlineMs: DEFAULT_FLUSH_DEADLINE_MS,
    maxClosedClients: DEFAULT_MAX_CLOSED_CLIENTS,
    maxTracedMsgLen: 0,
    noHeaderSupport: false,
    noSublistCache: false,
    profPort: 0,
    subjectCacheSize: 1024,
    authTimeoutMs: AUTH_TIMEOUT_MS,
    noAuthUser: '',
    username: '',
    password: '',
    authorization: '',
    users: [],
    nkeys: [],
    accounts: [],
    systemAccount: '',
    noSystemAccount: false,
    trustedOperators: [],
    trustedKeys: [],
    resolverPreload: {},
    resolverPinnedAccounts: [],
    tls: false,
    allowNonTLS: false,
    httpHost: '',
    httpPort: 0,
    httpsPort: 0,
    httpBasePath: '/',
    cluster: {
      name: '',
      host: DEFAULT_HOST,
      port: 0,
      authTimeoutMs: AUTH_TIMEOUT_MS,
      noAdvertise: false,
      advertise: '',
      connectRetries: 0,
    },
    routes: [],
    lameDuckDurationMs: DEFAULT_LAME_DUCK_DURATION_MS,
    lameDuckGracePeriodMs: DEFAULT_LAME_DUCK_GRACE_PERIOD_MS,
    connectErrorReports: DEFAULT_CONNECT_ERROR_REPORTS,
    reconnectErrorReports: DEFAULT_RECONNECT_ERROR_REPORTS,
    tags: [],
    jetstream: false,
    storeDir: '',
    jetstreamMaxMemory: -1,
    jetstreamMaxStore: -1,
    jetstreamDomain: '',
    jetstreamKey: '',
    jetstreamCipher: 'chacha',
    jetstreamExtHint: '',
    jetstreamUniqueTag: '',
    jetstreamMaxCatchup: 0,
    jetstreamLimits: { maxRequestBatch: 0, maxAckPending: 0, maxHAAssets: 0, duplicateWindowMs: 0 },
    jetstreamSyncInterval: DEFAULT_JS_SYNC_INTERVAL_MS,
    jsAccDefaultDomain: {},
    unsupported: [],
  };
}
