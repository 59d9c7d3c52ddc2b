// TLS configuration shared by every listener and dialer (clients, routes, the
// HTTPS monitor): builds node:tls contexts from a TLSConfig the way
// server/opts.go GenTLSConfig builds a Go tls.Config — TLS 1.2 minimum,
// server-preferred cipher order, the reference's default cipher suites and
// curves, client certificates required with `verify`, `ca_file` as the
// client CA pool — and translates handshake failures into the reference's
// log texts.

import type * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '../config/options.js';
import { spkiSha256 } from './x509.js';
import { nodeCrypto, nodeTls } from '../server/builtins.js';

/** A TLS setup that cannot be built; `message` is the reference's text. */
export class TLSConfigError extends Error {
  readonly code = 'ERR_TSNATS_TLS_CONFIG';
}

/** server/ciphersuites.go cipherMap names → OpenSSL names. */
export const GO_TO_OPENSSL_CIPHERS: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // TLS 1.3 suites keep their IANA names in OpenSSL.
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** server/ciphersuites.go defaultCipherSuites */
export const DEFAULT_GO_CIPHERS: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
];

// Go never lets a config restrict TLS 1.3 suites; OpenSSL would drop TLS 1.3
// altogether if the list named none, so they are always appended.
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** server/ciphersuites.go curvePreferenceMap names → OpenSSL group names. */
export const GO_TO_OPENSSL_CURVES: Readonly<Record<string, string>> = {
  X25519: 'X25519',
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
};
const DEFAULT_GO_CURVES = ['X25519', 'CurveP256', 'CurveP384', 'CurveP521'];

function opensslCiphers(names: readonly string[] | undefined): string {
  const list = (names && names.length > 0 ? names : DEFAULT_GO_CIPHERS).map((n) => {
    const o = GO_TO_OPENSSL_CIPHERS[n];
    if (o === undefined) throw new TLSConfigError(`unrecognized cipher ${n}`);
    return o;
  });
  for (const s of TLS13_SUITES) if (!list.includes(s)) list.push(s);
  return list.join(':');
}

function opensslCurves(names: readonly string[] | undefined): string {
  return (names && names.length > 0 ? names : DEFAULT_GO_CURVES)
    .map((n) => {
      const o = GO_TO_OPENSSL_CURVES[n];
      if (o === undefined) throw new TLSConfigError(`unrecognized curve preference ${n}`);
      return o;
    })
    .join(':');
}

function minVersion(v: string | undefined): tls.SecureVersion {
  if (v === undefined || v === '') return 'TLSv1.2';
  const s = v.trim().toLowerCase().replace(/^tls\s*v?/, '');
  if (s === '1.2') return 'TLSv1.2';
  if (s === '1.3') return 'TLSv1.3';
  // The reference refuses anything older than 1.2.
  throw new TLSConfigError(`unsupported minimum TLS version: ${v}`);
}

function readFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new TLSConfigError(`open ${file}: ${why}`);
  }
}

interface LoadedFiles {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** The file checks of GenTLSConfig, with its error texts. */
function loadFiles(cfg: TLSConfig): LoadedFiles {
  const out: LoadedFiles = {};
  if (cfg.certFile && !cfg.keyFile) throw new TLSConfigError("missing 'key_file' in TLS configuration");
  if (!cfg.certFile && cfg.keyFile) throw new TLSConfigError("missing 'cert_file' in TLS configuration");
  if (cfg.certFile && cfg.keyFile) {
    try {
      out.cert = readFile(cfg.certFile);
      out.key = readFile(cfg.keyFile);
      new (nodeCrypto().X509Certificate)(out.cert);
      // A mismatched pair fails here rather than at the first handshake.
      nodeTls().createSecureContext({ cert: out.cert, key: out.key });
    } catch (e) {
      const msg = e instanceof TLSConfigError ? e.message : (e as Error).message;
      throw new TLSConfigError(`error parsing X509 certificate/key pair: ${msg}`);
    }
  }
  if (cfg.caFile) {
    out.ca = readFile(cfg.caFile);
    if (!/-----BEGIN CERTIFICATE-----/.test(out.ca.toString('latin1'))) {
      throw new TLSConfigError('failed to parse root ca certificate');
    }
  }
  return out;
}

/** What a listener needs to run TLS on an accepted socket. */
export interface ServerTLSSetup {
  readonly config: TLSConfig;
  readonly secureContext: tls.SecureContext;
  /** options for `new tls.TLSSocket(raw, options)` or `tls.createServer(options)` */
  readonly options: tls.TLSSocketOptions & tls.TlsOptions;
  /** lower-case hex SPKI hashes of `pinned_certs`, or null */
  readonly pinned: ReadonlySet<string> | null;
}

/**
 * Builds the server side of a TLS config (GenTLSConfig). Throws
 * TLSConfigError with the reference's text when files are missing or bad.
 *
 * Client certificates are requested with `verify` but not rejected by
 * OpenSSL on a chain error: callers check `verifyPeer()` after the
 * handshake so the failure can be logged the way the reference logs it.
 */
export function buildServerTLS(cfg: TLSConfig): ServerTLSSetup {
  const files = loadFiles(cfg);
  const ctxOpts: tls.SecureContextOptions = {
    minVersion: minVersion(cfg.minVersion),
    ciphers: opensslCiphers(cfg.cipherSuites),
    ecdhCurve: opensslCurves(cfg.curvePreferences),
    honorCipherOrder: true,
  };
  if (files.cert) ctxOpts.cert = files.cert;
  if (files.key) ctxOpts.key = files.key;
  if (files.ca) ctxOpts.ca = files.ca;
  let secureContext: tls.SecureContext;
  try {
    secureContext = nodeTls().createSecureContext(ctxOpts);
  } catch (e) {
    throw new TLSConfigError((e as Error).message);
  }
  const verify = cfg.verify || cfg.verifyAndMap;
  return {
    config: cfg,
    secureContext,
    options: {
      isServer: true,
      secureContext,
      requestCert: verify,
      rejectUnauthorized: verify,
    },
    pinned: cfg.pinnedCerts && cfg.pinnedCerts.length > 0 ? new Set(cfg.pinnedCerts.map((p) => p.toLowerCase())) : null,
  };
}

/**
 * Options for dialing out (routes, gateways) with a tls block: our
 * certificate if configured, `ca_file` as trust roots, `insecure` skips
 * verification. `servername` is set by the caller from the URL host.
 */
export function buildClientTLS(cfg: TLSConfig): tls.ConnectionOptions {
  const files = loadFiles(cfg);
  const o: tls.ConnectionOptions = {
    minVersion: minVersion(cfg.minVersion),
    ciphers: opensslCiphers(cfg.cipherSuites),
    ecdhCurve: opensslCurves(cfg.curvePreferences),
    rejectUnauthorized: !cfg.insecure,
  };
  if (files.cert) o.cert = files.cert;
  if (files.key) o.key = files.key;
  if (files.ca) o.ca = files.ca;
  return o;
}

/**
 * After a server-side handshake: null when the peer is acceptable, else
 * the reference's handshake error text (server/client.go doTLSHandshake,
 * matchesPinnedCert).
 */
export function verifyPeer(sock: tls.TLSSocket, setup: ServerTLSSetup): string | null {
  if (setup.options.requestCert) {
    const cert = sock.getPeerX509Certificate();
    if (cert === undefined) return "tls: client didn't provide a certificate";
    const err = peerVerifyError(sock);
    if (err !== null) return `tls: failed to verify client certificate: ${goX509Reason(err)}`;
  }
  if (setup.pinned !== null) {
    const cert = sock.getPeerX509Certificate();
    if (cert === undefined || !setup.pinned.has(spkiSha256(cert))) return 'certificate not pinned';
  }
  return null;
}

interface VerifyHandle {
  verifyError(): (Error & { code?: string }) | null;
}

// tls.Server checks the chain with the socket's handle after the handshake
// (its onServerSocketSecure); a TLSSocket created around an accepted socket
// must do the same itself.
function peerVerifyError(sock: tls.TLSSocket): (Error & { code?: string }) | null {
  const handle = (sock as unknown as { ssl?: VerifyHandle; _handle?: VerifyHandle }).ssl ?? (sock as unknown as { _handle?: VerifyHandle })._handle;
  if (handle === undefined || typeof handle.verifyError !== 'function') {
    // Fail closed: without the check a forged chain would be accepted.
    return Object.assign(new Error('unable to verify the client certificate chain'), { code: 'UNABLE_TO_VERIFY' });
  }
  return handle.verifyError();
}

/** OpenSSL verify codes → Go's crypto/x509 error texts. */
function goX509Reason(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return 'x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'x509: certificate has expired or is not yet valid';
    case 'CERT_SIGNATURE_FAILURE':
      return 'x509: certificate signature is invalid';
    case 'INVALID_PURPOSE':
      return 'x509: certificate specifies an incompatible key usage';
    default:
      return `x509: ${err.message}`;
  }
}

/**
 * A handshake error as Go's crypto/tls words it, for the
 * "TLS handshake error: ..." log line.
 */
export function goHandshakeError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_HTTPS_PROXY_REQUEST':
    case 'ERR_SSL_HTTP_REQUEST':
    case 'ERR_SSL_UNKNOWN_PROTOCOL':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_RECORD_LENGTH_MISMATCH':
    case 'ERR_SSL_WRONG_SSL_VERSION':
    case 'ERR_SSL_UNEXPECTED_RECORD':
      return 'tls: first record does not look like a TLS handshake';
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return "tls: client didn't provide a certificate";
    case 'ERR_SSL_NO_SHARED_CIPHER':
    case 'ERR_SSL_NO_SHARED_GROUPS':
      return 'tls: no cipher suite supported by both client and server';
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
      return 'tls: client offered only unsupported versions';
    case 'ECONNRESET':
      return 'read: connection reset by peer';
    default: {
      // OpenSSL messages look like "...:SSL routines:func:reason:file:line:"; keep the reason.
      const m = /SSL routines:[^:]*:([^:]+)/.exec(err.message);
      return m ? `tls: ${m[1]}` : err.message === 'socket hang up' || err.message === '' ? 'EOF' : err.message;
    }
  }
}

/** "TLSv1.3" → "1.3" (server/server.go tlsVersion). */
export function goTLSVersion(protocol: string | null): string {
  if (protocol === null) return 'Unknown';
  const m = /^TLSv(1(?:\.\d)?)$/.exec(protocol);
  if (m === null) return protocol;
  return m[1] === '1' ? '1.0' : m[1]!;
}

/** Reference text: ECDHE-RSA-AES128-GCM-SHA256 → TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256. */
export function goCipherName(sock: tls.TLSSocket): string {
  const c = sock.getCipher();
  if (!c) return 'Unknown';
  return (c as { standardName?: string }).standardName ?? c.name;
}

/**
 * Holds the current server TLS setup of one listener; `reload()` swaps it
 * for new connections (established ones keep their session), the way a
 * config reload replaces the reference's tls.Config.
 */
export class TLSManager {
  private current: ServerTLSSetup;

  constructor(cfg: TLSConfig) {
    this.current = buildServerTLS(cfg);
  }

  get setup(): ServerTLSSetup {
    return this.current;
  }

  get config(): TLSConfig {
    return this.current.config;
  }

  /** Re-reads the files; throws TLSConfigError and keeps the old setup when they are bad. */
  reload(cfg: TLSConfig = this.current.config): void {
    this.current = buildServerTLS(cfg);
  }
}

/**
 * Go's token bucket for `connection_rate_limit` (server/rate_counter.go):
 * at most `limit` new TLS connections per one-second window.
 */
export class RateCounter {
  private count = 0;
  private end = 0;
  blocked = 0;

  constructor(private readonly limit: number) {}

  allow(now = Date.now()): boolean {
    if (now > this.end) {
      this.count = 0;
      this.end = now + 1000;
    } else {
      this.count++;
    }
    const ok = this.count < this.limit;
    if (!ok) this.blocked++;
    return ok;
  }
}
