// JetStream configuration: the `jetstream` block, top-level `store_dir`,
// `default_js_domain`, an account's `jetstream` setting, the start-up checks
// (server/jetstream.go validateJetStreamOptions), and the effective
// configuration the runtime starts with (server/jetstream.go
// EnableJetStream / dynJetStreamConfig). Texts match nats-server 2.9.10.

import { mkdirSync, mkdtempSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { nodeOs } from '../server/builtins.js';
import { dirname, join } from 'node:path';
import type { ConfNode } from './conf.js';
import { DurationError, nsToMs, parseGoDuration } from './duration.js';
import {
  DEFAULT_SYSTEM_ACCOUNT,
  DEFAULT_GLOBAL_ACCOUNT,
  JETSTREAM_MAX_MEM_DEFAULT,
  JETSTREAM_MAX_STORE_DEFAULT,
  dynamicJetStreamAccountLimits,
  type AccountConfig,
  type JetStreamAccountLimits,
  type Options,
} from './options.js';
import { isValidSubject } from './subject-check.js';
import { Issues, TypeMismatch, asBool, asInt, asString, goQuote, goType, goValue } from './values.js';
import { goPathError } from '../logging/gofmt.js';

/** Mutable facts shared across top-level keys while one file is applied. */
export interface JetStreamApplyState {
  /** store_dir seen (top level or in the jetstream block): a second one is an error */
  storeDir: string;
}

/** server/jetstream.go JetStreamStoreDir: the stores live in <store_dir>/jetstream */
export const JETSTREAM_STORE_DIR = 'jetstream';

/** jetstream store sizes: a number, or "<n>K|M|G|T" (server/opts.go getStorageSize). */
function storageSize(v: ConfNode): number | string {
  if (v.kind === 'integer') return v.value;
  if (v.kind !== 'string') return 'must be int64 or string';
  if (v.value === '') return 0;
  const suffix = v.value.slice(-1);
  const prefix = v.value.slice(0, -1);
  if (!/^[+-]?[0-9]+$/.test(prefix)) return `strconv.ParseInt: parsing ${goQuote(prefix)}: invalid syntax`;
  const shift: Record<string, number> = { K: 10, M: 20, G: 30, T: 40 };
  if (!(suffix in shift)) return 'sizes defined as strings must end in K, M, G, T';
  return Number(prefix) * 2 ** shift[suffix]!;
}

/** top-level store_dir (server/opts.go processConfigFileLine). */
export function applyStoreDir(v: ConfNode, o: Options, issues: Issues, state: JetStreamApplyState): void {
  if (state.storeDir !== '') {
    issues.error(v, "Duplicate 'store_dir' configuration");
    return;
  }
  state.storeDir = asString(v);
  o.storeDir = state.storeDir;
}

/** jetstream { limits {} } (server/opts.go parseJetStreamLimits). */
function applyJetStreamLimits(v: ConfNode, o: Options, issues: Issues): boolean {
  if (v.kind !== 'map') {
    issues.error(v, `Expected a map to define JetStreamLimits, got ${goType(v)}`);
    return false;
  }
  // The reference replaces the whole struct: keys not given fall back to 0.
  const lim = { maxRequestBatch: 0, maxAckPending: 0, maxHAAssets: 0, duplicateWindowMs: 0 };
  for (const [lk, lv] of v.value) {
    switch (lk.toLowerCase()) {
      case 'max_ack_pending':
        lim.maxAckPending = asInt(lv);
        break;
      case 'max_ha_assets':
        lim.maxHAAssets = asInt(lv);
        break;
      case 'max_request_batch':
        lim.maxRequestBatch = asInt(lv);
        break;
      case 'duplicate_window':
        try {
          lim.duplicateWindowMs = nsToMs(parseGoDuration(asString(lv)));
        } catch (e) {
          if (!(e instanceof DurationError)) throw e;
          // the reference appends time.ParseDuration's bare error (no position)
          issues.error(undefined, e.message);
        }
        break;
      default:
        if (!lv.usedVariable) issues.unknownField(lv, lk);
    }
  }
  o.jetstreamLimits = lim;
  return true;
}

/** sync_interval (nats-server 2.10): a duration, or "always". */
function applySyncInterval(key: string, v: ConfNode, o: Options, issues: Issues): void {
  if (v.kind === 'string' && v.value.toLowerCase() === 'always') {
    o.jetstreamSyncInterval = 'always';
    return;
  }
  if (v.kind === 'string') {
    try {
      o.jetstreamSyncInterval = nsToMs(parseGoDuration(v.value));
    } catch (e) {
      if (!(e instanceof DurationError)) throw e;
      issues.error(v, `error parsing ${key}: ${e.message}`);
    }
    return;
  }
  // server/opts.go parseDuration: a number is (deprecated) seconds
  issues.warnField(v, key, `${key} should be converted to a duration`);
  o.jetstreamSyncInterval = asInt(v) * 1000;
}

/** server/opts.go parseJetStream. Its type errors surface at the jetstream key (the reference has no recover of its own). */
export function applyJetStream(n: ConfNode, o: Options, issues: Issues, state: JetStreamApplyState): void {
  try {
    if (n.kind === 'bool') o.jetstream = n.value;
    else if (n.kind === 'string') {
      const s = n.value.toLowerCase();
      if (s === 'enabled' || s === 'enable') o.jetstream = true;
      else if (s === 'disabled' || s === 'disable') o.jetstream = false;
      else issues.error(n, `Expected 'enabled' or 'disabled' for string value, got '${n.value}'`);
    } else if (n.kind === 'map') {
      let enable = true;
      for (const [key, v] of n.value) {
        const k = key.toLowerCase();
        switch (k) {
          case 'store':
          case 'store_dir':
          case 'storedir':
            if (state.storeDir !== '') {
              issues.error(v, "Duplicate 'store_dir' configuration");
              return;
            }
            state.storeDir = asString(v);
            o.storeDir = state.storeDir;
            break;
          case 'max_memory_store':
          case 'max_mem_store':
          case 'max_mem': {
            const size = storageSize(v);
            if (typeof size === 'string') {
              issues.error(v, `max_mem_store ${size}`);
              return;
            }
            o.jetstreamMaxMemory = size;
            break;
          }
          case 'max_file_store':
          case 'max_file': {
            const size = storageSize(v);
            if (typeof size === 'string') {
              issues.error(v, `max_file_store ${size}`);
              return;
            }
            o.jetstreamMaxStore = size;
            break;
          }
          case 'max_outstanding_catchup': {
            const size = storageSize(v);
            if (typeof size === 'string') {
              issues.error(v, `${k} ${size}`);
              return;
            }
            o.jetstreamMaxCatchup = size;
            break;
          }
          case 'domain':
            o.jetstreamDomain = asString(v);
            break;
          case 'key':
          case 'ek':
          case 'encryption_key':
            o.jetstreamKey = asString(v);
            break;
          case 'extension_hint':
            o.jetstreamExtHint = asString(v);
            break;
          case 'unique_tag':
            o.jetstreamUniqueTag = asString(v).trim().toLowerCase();
            break;
          case 'enable':
          case 'enabled':
            enable = asBool(v);
            break;
          case 'cipher': {
            const c = asString(v).toLowerCase();
            if (c === 'chacha' || c === 'chachapoly') o.jetstreamCipher = 'chacha';
            else if (c === 'aes') o.jetstreamCipher = 'aes';
            else {
              issues.error(v, `Unknown cipher type: ${goQuote(asString(v))}`);
              return;
            }
            break;
          }
          case 'limits':
            if (!applyJetStreamLimits(v, o, issues)) return;
            break;
          case 'sync':
          case 'sync_interval':
            // a nats-server 2.10 option; 2.9.10 rejects it as an unknown field
            applySyncInterval(key, v, o, issues);
            break;
          default:
            if (!v.usedVariable) issues.unknownField(v, key);
        }
      }
      o.jetstream = enable;
    } else {
      issues.error(n, `Expected map, bool or string to define JetStream, got ${goType(n)}`);
    }
  } catch (e) {
    if (e instanceof TypeMismatch) throw new TypeMismatch(n, e.message);
    throw e;
  }
}

/** default_js_domain { account: domain } (server/opts.go). */
export function applyDefaultJsDomain(n: ConfNode, o: Options, issues: Issues): void {
  if (n.kind !== 'map') {
    issues.error(n, `error default_js_domain config: unsupported type ${goType(n)}`);
    return;
  }
  const m: Record<string, string> = {};
  for (const [k, v] of n.value) m[k] = asString(v);
  o.jsAccDefaultDomain = m;
}

const ACCOUNT_SIZE_KEYS: Record<string, keyof JetStreamAccountLimits> = {
  max_memory: 'maxMemory',
  max_mem: 'maxMemory',
  mem: 'maxMemory',
  memory: 'maxMemory',
  max_store: 'maxStore',
  max_file: 'maxStore',
  max_disk: 'maxStore',
  store: 'maxStore',
  disk: 'maxStore',
  max_streams: 'maxStreams',
  streams: 'maxStreams',
  max_consumers: 'maxConsumers',
  consumers: 'maxConsumers',
  mem_max_stream_bytes: 'memoryMaxStreamBytes',
  memory_max_stream_bytes: 'memoryMaxStreamBytes',
  disk_max_stream_bytes: 'storeMaxStreamBytes',
  store_max_stream_bytes: 'storeMaxStreamBytes',
  max_ack_pending: 'maxAckPending',
};

/** accounts { X { jetstream } } (server/opts.go parseJetStreamForAccount). */
export function parseJetStreamForAccount(n: ConfNode, acc: AccountConfig, issues: Issues): void {
  if (n.kind === 'bool') {
    // `false` leaves an earlier setting alone, like the reference
    if (n.value) acc.jetstream = { '': dynamicJetStreamAccountLimits() };
  } else if (n.kind === 'string') {
    const s = n.value.toLowerCase();
    if (s === 'enabled' || s === 'enable') acc.jetstream = { '': dynamicJetStreamAccountLimits() };
    else if (s === 'disabled' || s === 'disable') acc.jetstream = null;
    // the reference hands this function an unwrapped value: no token, no position
    else issues.error(undefined, `Expected 'enabled' or 'disabled' for string value, got '${n.value}'`);
  } else if (n.kind === 'map') {
    const lim = dynamicJetStreamAccountLimits();
    for (const [key, v] of n.value) {
      const k = key.toLowerCase();
      const field = ACCOUNT_SIZE_KEYS[k];
      if (field !== undefined) {
        if (v.kind !== 'integer') {
          issues.error(v, `Expected a parseable size for ${goQuote(key)}, got ${goValue(v)}`);
          return;
        }
        (lim as unknown as Record<string, number>)[field] = v.value;
      } else if (k === 'max_bytes_required' || k === 'max_stream_bytes' || k === 'max_bytes') {
        if (v.kind !== 'bool') {
          issues.error(v, `Expected a parseable bool for ${goQuote(key)}, got ${goValue(v)}`);
          return;
        }
        lim.maxBytesRequired = v.value;
      } else if (!v.usedVariable) {
        issues.unknownField(v, key);
      }
    }
    acc.jetstream = { '': lim };
  } else {
    issues.error(undefined, `Expected map, bool or string to define JetStream, got ${goType(n)}`);
  }
}

/** server/jetstream.go isValidName */
function isValidName(name: string): boolean {
  return name !== '' && !/[ \t\r\n\f.*>]/.test(name);
}

function isValidPublicAccountKey(k: string): boolean {
  return /^A[A-Z2-7]{55}$/.test(k);
}

/**
 * server/jetstream.go validateJetStreamOptions: undefined when fine, else
 * the reference's text (nats-server prints it and exits at start-up).
 */
export function validateJetStreamOptions(o: Options): string | undefined {
  const dd = Object.entries(o.jsAccDefaultDomain);
  if (dd.length > 0) {
    if (o.trustedOperators.length === 0) {
      for (const [a, domain] of dd) {
        // server/accounts.go isReservedAccount: only the global account
        let found = a === DEFAULT_GLOBAL_ACCOUNT;
        if (!found) {
          const acc = o.accounts.find((x) => x.name === a);
          if (acc !== undefined) {
            if (hasJetStream(acc) && domain !== '') return `default_js_domain contains account name "${a}" with enabled JetStream`;
            found = true;
          }
        }
        if (!found) return `in non operator mode, \`default_js_domain\` references non existing account "${a}"`;
      }
    } else {
      for (const [a] of dd) {
        if (!isValidPublicAccountKey(a)) return `default_js_domain contains account name "${a}", which is not a valid public account nkey`;
      }
    }
    const sacc = o.systemAccount !== '' ? o.systemAccount : DEFAULT_SYSTEM_ACCOUNT;
    for (const [a, d] of dd) {
      if (a === sacc) return `system account "${a}" can not be in default_js_domain`;
      if (d === '') continue;
      if (!isValidSubject(`$JS.${d}.API.>`)) return `default_js_domain contains account "${a}" with invalid domain name "${d}"`;
    }
  }
  if (o.jetstreamDomain !== '') {
    const subj = `$JS.${o.jetstreamDomain}.API.>`;
    if (!isValidSubject(subj)) return `invalid domain name: derived "${subj}" is not a valid subject`;
    if (!isValidName(o.jetstreamDomain)) return 'invalid domain name: may not contain ., * or >';
  }
  if (!o.jetstream || o.cluster.port === 0) return undefined;
  if (o.serverName === '') return 'jetstream cluster requires `server_name` to be set';
  if (o.cluster.name === '') return 'jetstream cluster requires `cluster.name` to be set';
  const h = o.jetstreamExtHint.toLowerCase();
  if (h !== 'will_extend' && h !== 'no_extend' && h !== '') return `expected 'no_extend' for string value, got '${h}'`;
  o.jetstreamExtHint = h;
  if (o.jetstreamMaxCatchup < 0) return 'jetstream max catchup cannot be negative';
  return undefined;
}

function hasJetStream(acc: AccountConfig): boolean {
  return acc.jetstream != null && Object.keys(acc.jetstream).length > 0;
}

/**
 * server/server.go Start: JetStream may not be enabled on the system
 * account (a fatal start-up error).
 */
export function systemAccountJetStreamError(o: Options): string | undefined {
  if (!o.jetstream) return undefined;
  const sys = o.systemAccount !== '' ? o.systemAccount : DEFAULT_SYSTEM_ACCOUNT;
  const acc = o.accounts.find((a) => a.name === sys);
  if (acc !== undefined && hasJetStream(acc)) return 'Not allowed to enable JetStream on the system account';
  return undefined;
}

// ---------------------------------------------------------------------------
// The configuration JetStream starts with

/** What JetStream runs with (server/jetstream.go JetStreamConfig). */
export interface JetStreamConfig {
  /** bytes */
  maxMemory: number;
  /** bytes */
  maxStore: number;
  /** where the stores live: <store_dir>/jetstream */
  storeDir: string;
  domain: string;
  /**
   * shown as compress_ok in /varz and /jsz: the reference passes its start
   * config through only when both limits are set; the dynamic one drops it
   */
  compressOk: boolean;
}

/** The machine facts the dynamic limits come from (a seam for tests). */
export interface SystemProbe {
  /** total system memory in bytes; 0 = unknown */
  totalMemory(): number;
  /** bytes available to us on the file system holding `dir`; null = unknown */
  diskAvailable(dir: string): number | null;
  tmpdir(): string;
}

export const systemProbe: SystemProbe = {
  totalMemory: () => nodeOs().totalmem(),
  diskAvailable(dir) {
    try {
      const fs = statfsSync(dir, { bigint: true });
      return Number(fs.bavail * fs.bsize);
    } catch {
      return null;
    }
  },
  tmpdir: () => nodeOs().tmpdir(),
};

/**
 * Go's os.MkdirAll, with its errors (a PathError naming the directory that
 * failed). Node's recursive mkdirSync never returns on some paths (a
 * missing directory under /proc), so the walk is done here.
 */
export function mkdirAll(path: string, mode = 0o750): void {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  if (st !== undefined) {
    if (st.isDirectory()) return;
    throw Object.assign(new Error(`mkdir ${path}: not a directory`), { code: 'ENOTDIR', path, syscall: 'mkdir' });
  }
  const parent = dirname(path);
  if (parent !== path && parent !== '.' && parent !== '/') mkdirAll(parent, mode);
  try {
    mkdirSync(path, { mode });
  } catch (e) {
    try {
      if (statSync(path).isDirectory()) return;
    } catch {
      // the mkdir error is the one to report
    }
    throw e;
  }
}

/** server/disk_avail.go diskAvailable: 75% of the available space (1 TB when unknown); creates the dir. */
function diskAvailable(dir: string, probe: SystemProbe): number {
  try {
    mkdirAll(dir);
  } catch {
    // the reference ignores this; the store dir check reports it
  }
  const avail = probe.diskAvailable(dir);
  if (avail === null) return JETSTREAM_MAX_STORE_DEFAULT;
  // Go: uint64(Bavail)*uint64(Bsize)/4*3, integer arithmetic
  return Number((BigInt(avail) / 4n) * 3n);
}

/**
 * server/jetstream.go EnableJetStream + dynJetStreamConfig: the limits and
 * store directory JetStream starts with. Memory -1 (or any negative) is 75%
 * of system memory, store -1 is 75% of the disk's available space; the
 * stores go in `<store_dir>/jetstream`, by default `<tmp>/nats/jetstream`.
 * Creates the store directory when it computes the disk limit, as the
 * reference does.
 */
export function resolveJetStreamConfig(o: Options, probe: SystemProbe = systemProbe): JetStreamConfig {
  const maxMem = o.jetstreamMaxMemory;
  const maxStore = o.jetstreamMaxStore;
  if (maxMem <= 0 || maxStore <= 0) {
    const storeDir = o.storeDir !== '' ? join(o.storeDir, JETSTREAM_STORE_DIR) : join(probe.tmpdir(), 'nats', JETSTREAM_STORE_DIR);
    let memory: number;
    if (maxMem >= 0) memory = maxMem;
    else {
      const sys = probe.totalMemory();
      memory = sys > 0 ? Math.floor(sys / 4) * 3 : JETSTREAM_MAX_MEM_DEFAULT;
    }
    return {
      maxMemory: memory,
      maxStore: maxStore >= 0 ? maxStore : diskAvailable(storeDir, probe),
      storeDir,
      domain: o.jetstreamDomain,
      compressOk: false,
    };
  }
  // Both limits given: a store_dir still gets the subdirectory; without one
  // the reference uses <tmp>/jetstream (no "nats" in between).
  const storeDir = o.storeDir !== '' ? join(o.storeDir, JETSTREAM_STORE_DIR) : join(probe.tmpdir(), JETSTREAM_STORE_DIR);
  return { maxMemory: maxMem, maxStore, storeDir, domain: o.jetstreamDomain, compressOk: true };
}

/**
 * server/jetstream.go enableJetStream: create the store directory, or check
 * that it is a writable directory. null when usable, else the reason, which
 * the server reports as "Can't start JetStream: <reason>".
 */
export function prepareStoreDir(dir: string): string | null {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return 'storage directory is not a directory';
  }
  if (st === undefined) {
    try {
      mkdirAll(dir);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // os.MkdirAll reports the path it failed on
      return `could not create storage directory - ${goPathError('mkdir', err.path ?? dir, err)}`;
    }
    return null;
  }
  if (!st.isDirectory()) return 'storage directory is not a directory';
  try {
    rmdirSync(mkdtempSync(join(dir, '_test_')));
  } catch {
    return 'storage directory is not writable';
  }
  return null;
}
