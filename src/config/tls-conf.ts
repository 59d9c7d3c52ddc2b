// tls { ... } blocks: parsing (server/opts.go parseTLS) and the load-time
// checks the reference makes when it builds the tls.Config (GenTLSConfig):
// cert/key pairing, readable and parseable PEM files, a usable CA bundle.

import type { KeyObject, X509Certificate } from 'node:crypto';
import { nodeCrypto } from '../server/builtins.js';
import { readFileSync } from 'node:fs';
import type { ConfNode } from './conf.js';
import { nsToMs, parseGoDuration, DurationError } from './duration.js';
import { TLS_TIMEOUT_MS, type TLSConfig } from './options.js';
import { Issues, TypeMismatch, asArray, asMap, asString, goQuote } from './values.js';
import type { ConfigIssue } from './errors.js';

/** server/ciphersuites.go cipherMap keys */
export const TLS_CIPHER_NAMES: readonly string[] = [
  'TLS_RSA_WITH_RC4_128_SHA',
  'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_RSA_WITH_AES_128_CBC_SHA',
  'TLS_RSA_WITH_AES_128_CBC_SHA256',
  'TLS_RSA_WITH_AES_256_CBC_SHA',
  'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
];

/** server/ciphersuites.go curvePreferenceMap keys */
export const TLS_CURVE_NAMES: readonly string[] = ['X25519', 'CurveP256', 'CurveP384', 'CurveP521'];

/**
 * Parses a tls block. Returns the config, or the single error the reference
 * would return (parseTLS stops at the first problem).
 */
export function parseTLSBlock(n: ConfNode, isClientCtx: boolean): TLSConfig | ConfigIssue {
  try {
    return parseTLSInner(n, isClientCtx);
  } catch (e) {
    if (e instanceof TypeMismatch) return Issues.make(e.at, e.message);
    if (e instanceof TLSParseError) return Issues.make(e.at, e.message);
    throw e;
  }
}

class TLSParseError extends Error {
  readonly code = 'E_CONF_TLS';
  constructor(
    readonly at: ConfNode,
    msg: string,
  ) {
    super(msg);
  }
}

function parseTLSInner(n: ConfNode, isClientCtx: boolean): TLSConfig {
  const m = asMap(n);
  const tc: TLSConfig = {
    verify: false,
    verifyAndMap: false,
    insecure: false,
    timeoutMs: 0,
  };
  const fail = (at: ConfNode, msg: string): never => {
    throw new TLSParseError(at, msg);
  };
  for (const [key, v] of m) {
    switch (key.toLowerCase()) {
      case 'cert_file':
        if (v.kind !== 'string') fail(v, "error parsing tls config, expected 'cert_file' to be filename");
        tc.certFile = v.value as string;
        break;
      case 'key_file':
        if (v.kind !== 'string') fail(v, "error parsing tls config, expected 'key_file' to be filename");
        tc.keyFile = v.value as string;
        break;
      case 'ca_file':
        if (v.kind !== 'string') fail(v, "error parsing tls config, expected 'ca_file' to be filename");
        tc.caFile = v.value as string;
        break;
      case 'insecure':
        if (v.kind !== 'bool') fail(v, "error parsing tls config, expected 'insecure' to be a boolean");
        tc.insecure = v.value as boolean;
        break;
      case 'verify':
        if (v.kind !== 'bool') fail(v, "error parsing tls config, expected 'verify' to be a boolean");
        tc.verify = v.value as boolean;
        break;
      case 'verify_and_map': {
        if (v.kind !== 'bool') fail(v, "error parsing tls config, expected 'verify_and_map' to be a boolean");
        const b = v.value as boolean;
        if (b) tc.verify = true;
        tc.verifyAndMap = b;
        break;
      }
      case 'verify_cert_and_check_known_urls': {
        if (v.kind !== 'bool') {
          fail(v, "error parsing tls config, expected 'verify_cert_and_check_known_urls' to be a boolean");
        }
        const b = v.value as boolean;
        if (b && isClientCtx) fail(v, 'verify_cert_and_check_known_urls not supported in this context');
        if (b) tc.verify = true;
        tc.checkKnownUrls = b;
        break;
      }
      case 'cipher_suites': {
        const list = asArray(v);
        if (list.length === 0) fail(v, "error parsing tls config, 'cipher_suites' cannot be empty");
        tc.cipherSuites = list.map((el) => {
          const name = asString(el);
          if (!TLS_CIPHER_NAMES.includes(name)) fail(el, `unrecognized cipher ${name}`);
          return name;
        });
        break;
      }
      case 'curve_preferences': {
        const list = asArray(v);
        if (list.length === 0) fail(v, "error parsing tls config, 'curve_preferences' cannot be empty");
        tc.curvePreferences = list.map((el) => {
          const name = asString(el);
          if (!TLS_CURVE_NAMES.includes(name)) fail(el, `unrecognized curve preference ${name}`);
          return name;
        });
        break;
      }
      case 'timeout':
        if (v.kind === 'integer' || v.kind === 'float') tc.timeoutMs = v.value * 1000;
        else if (v.kind === 'string') {
          try {
            tc.timeoutMs = nsToMs(parseGoDuration(v.value));
          } catch (e) {
            if (!(e instanceof DurationError)) throw e;
            fail(v, `error parsing tls config, 'timeout' ${e.message}`);
          }
        } else fail(v, "error parsing tls config, 'timeout' wrong type");
        break;
      case 'connection_rate_limit':
        if (v.kind !== 'integer') fail(v, "error parsing tls config, 'connection_rate_limit' wrong type");
        tc.rateLimit = v.value as number;
        break;
      case 'pinned_certs': {
        if (v.kind !== 'array') {
          fail(
            v,
            "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo",
          );
        }
        const list = v.value as ConfNode[];
        if (list.length > 0) {
          const set = new Set<string>();
          for (const el of list) {
            const entry = asString(el).toLowerCase();
            if (!/^[a-f0-9]{64}$/.test(entry)) {
              fail(
                el,
                `error parsing tls config, 'pinned_certs' key ${entry} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`,
              );
            }
            set.add(entry);
          }
          tc.pinnedCerts = [...set];
        }
        break;
      }
      case 'handshake_first':
      case 'first':
      case 'immediate':
        // A 2.10 setting (server/opts.go parseTLS of 2.10) that 2.9.10 refuses
        // as an unknown field; accepted because the server implements it and
        // clients such as nats.js test it (docs/intended-differences.md). The
        // 2.10 fallback forms ("auto", a delay) are not implemented.
        if (v.kind === 'bool') tc.handshakeFirst = v.value as boolean;
        else if (v.kind === 'string') {
          const s = (v.value as string).toLowerCase();
          if (s === 'true' || s === 'on') tc.handshakeFirst = true;
          else if (s === 'false' || s === 'off') tc.handshakeFirst = false;
          else fail(v, `field ${goQuote(key)}'s value ${goQuote(v.value as string)} is invalid (only true/false; no TLS fallback delay)`);
        } else fail(v, `field ${goQuote(key)} should be a boolean or a string`);
        break;
      default:
        fail(v, `error parsing tls config, unknown field [${goQuote(key)}]`);
    }
  }
  return tc;
}

/** Go's os error text for a failed read. */
function readError(e: unknown, file: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
  };
  const reason = (code && texts[code]) || (e as Error).message;
  return `${code === 'EISDIR' ? 'read' : 'open'} ${file}: ${reason}`;
}

function pemBlocks(text: string): { type: string; body: string }[] {
  const out: { type: string; body: string }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (const m of text.matchAll(re)) out.push({ type: m[1], body: m[0] });
  return out;
}

/**
 * The load-time checks of GenTLSConfig: returns the reason the reference
 * would give, or undefined when the files are usable.
 */
export function checkTLSFiles(tc: TLSConfig): string | undefined {
  if (tc.certFile && !tc.keyFile) return "missing 'key_file' in TLS configuration";
  if (!tc.certFile && tc.keyFile) return "missing 'cert_file' in TLS configuration";
  if (tc.certFile && tc.keyFile) {
    const pair = (msg: string): string => `error parsing X509 certificate/key pair: ${msg}`;
    let certPem: string;
    let keyPem: string;
    try {
      certPem = readFileSync(tc.certFile, 'utf8');
    } catch (e) {
      return pair(readError(e, tc.certFile));
    }
    try {
      keyPem = readFileSync(tc.keyFile, 'utf8');
    } catch (e) {
      return pair(readError(e, tc.keyFile));
    }
    const certs = pemBlocks(certPem).filter((b) => b.type === 'CERTIFICATE');
    if (certs.length === 0) return pair('tls: failed to find any PEM data in certificate input');
    const keys = pemBlocks(keyPem).filter((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
    if (keys.length === 0) return pair('tls: failed to find any PEM data in key input');
    let cert: X509Certificate;
    let key: KeyObject;
    try {
      cert = new (nodeCrypto().X509Certificate)(certs[0].body);
    } catch (e) {
      return pair(`x509: ${(e as Error).message}`);
    }
    try {
      key = nodeCrypto().createPrivateKey(keys[0].body);
    } catch {
      return pair('tls: failed to parse private key');
    }
    if (!cert.checkPrivateKey(key)) return pair('tls: private key does not match public key');
  }
  if (tc.caFile) {
    let caPem: string;
    try {
      caPem = readFileSync(tc.caFile, 'utf8');
    } catch (e) {
      return readError(e, tc.caFile);
    }
    let parsed = 0;
    for (const b of pemBlocks(caPem)) {
      if (b.type !== 'CERTIFICATE') continue;
      try {
        new (nodeCrypto().X509Certificate)(b.body);
        parsed++;
      } catch {
        // Go skips certificates it cannot parse.
      }
    }
    if (parsed === 0) return 'failed to parse root ca certificate';
  }
  return undefined;
}

/**
 * parseTLS + GenTLSConfig as used for a listener: reports into `issues`
 * (parse errors at their own position, file errors at the tls key) and
 * returns the config with the reference's default timeout filled in.
 */
export function loadTLSBlock(n: ConfNode, isClientCtx: boolean, issues: Issues): TLSConfig | undefined {
  const tc = parseTLSBlock(n, isClientCtx);
  if ('reason' in tc) {
    issues.errors.push(tc);
    return undefined;
  }
  const bad = checkTLSFiles(tc);
  if (bad !== undefined) {
    issues.error(n, bad);
    return undefined;
  }
  if (tc.timeoutMs === 0) tc.timeoutMs = TLS_TIMEOUT_MS;
  return tc;
}
