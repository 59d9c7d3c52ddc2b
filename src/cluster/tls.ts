// TLS for routes from `cluster { tls { ... } }`. As the reference
// (server/opts.go getTLSConfig) routes always verify both ways: the accept
// side requires a client certificate, the dialing side verifies the server,
// and ca_file serves as the trust root for both. The handshake comes first
// on a route connection, before any protocol byte (server/route.go
// createRoute).

import net from 'node:net';
import tls from 'node:tls';
import { TLS_TIMEOUT_MS, type TLSConfig } from '../config/options.js';
import { buildClientTLS } from '../tls/tls.js';
import { spkiSha256 } from '../tls/x509.js';

export interface RouteTLS {
  /** the context the dialing side uses */
  readonly context: tls.SecureContext;
  /** the same material for the listener (tls.Server builds its own context) */
  readonly material: tls.SecureContextOptions;
  readonly timeoutMs: number;
  /** do not verify the server's chain and name when dialing (tls { insecure: true }) */
  readonly insecure: boolean;
  readonly ca: Buffer | undefined;
  /** verify_and_map: an inbound route authenticates with its certificate (server/auth.go isRouterAuthorized) */
  readonly verifyAndMap: boolean;
  /** verify_cert_and_check_known_urls: a DNS name of the certificate must match a configured route host */
  readonly checkKnownUrls: boolean;
  /** lower-case hex SHA-256 of the peer's SubjectPublicKeyInfo (pinned_certs), or null */
  readonly pinned: ReadonlySet<string> | null;
}

/**
 * Load certificate, key and CA once (throws with the reference's file
 * error). cipher_suites and curve_preferences use Go's names and are mapped
 * to OpenSSL's as for the client listener (src/tls/tls.ts): a list limits
 * the TLS 1.2 suites, and TLS 1.3 suites stay on since Go's cannot be
 * configured (server/opts.go GenTLSConfig, crypto/tls).
 */
export function loadRouteTLS(cfg: TLSConfig): RouteTLS {
  const c = buildClientTLS(cfg);
  const opts: tls.SecureContextOptions = {
    cert: c.cert,
    key: c.key,
    ca: c.ca,
    minVersion: c.minVersion ?? 'TLSv1.2',
    ciphers: c.ciphers,
    ecdhCurve: c.ecdhCurve,
    honorCipherOrder: true,
  };
  return {
    context: tls.createSecureContext(opts),
    material: opts,
    timeoutMs: cfg.timeoutMs > 0 ? cfg.timeoutMs : TLS_TIMEOUT_MS,
    insecure: cfg.insecure,
    ca: c.ca as Buffer | undefined,
    verifyAndMap: cfg.verifyAndMap,
    checkKnownUrls: cfg.checkKnownUrls === true,
    pinned: cfg.pinnedCerts !== undefined && cfg.pinnedCerts.length > 0 ? new Set(cfg.pinnedCerts.map((p) => p.toLowerCase())) : null,
  };
}

/** server/client.go matchesPinnedCert: null when acceptable, else the error text. */
export function checkPinned(t: RouteTLS, sock: tls.TLSSocket): string | null {
  if (t.pinned === null) return null;
  const cert = sock.getPeerX509Certificate();
  if (cert === undefined || !t.pinned.has(spkiSha256(cert))) return 'certificate not pinned';
  return null;
}

/**
 * server/auth.go dnsAltNameMatches: a certificate DNS name matches a route
 * URL host label by label, `*` only as the leftmost label.
 */
export function dnsAltNameMatches(dnsName: string, hosts: readonly string[]): boolean {
  const labels = dnsName.toLowerCase().split('.');
  outer: for (const h of hosts) {
    const hl = h.toLowerCase().split('.');
    if (hl.length !== labels.length) continue;
    for (let i = labels[0] === '*' ? 1 : 0; i < labels.length; i++) if (labels[i] !== hl[i]) continue outer;
    return true;
  }
  return false;
}

/** Options for the route listener (a tls.Server that handshakes on accept). */
export function serverOptions(t: RouteTLS): tls.TlsOptions {
  return {
    ...t.material,
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: t.timeoutMs,
  };
}

/**
 * Run the client side of the handshake on a connected socket. `servername`
 * is the host to verify (a hostname from the route URL, or the first
 * configured route hostname when dialing an IP, as the reference does).
 */
export function clientHandshake(sock: net.Socket, t: RouteTLS, host: string, servername: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const isIP = net.isIP(host) !== 0;
    const opts: tls.ConnectionOptions = {
      socket: sock,
      secureContext: t.context,
      rejectUnauthorized: !t.insecure,
    };
    if (!isIP) opts.servername = host;
    else if (servername !== '') opts.servername = servername;
    if (isIP && servername === '') {
      // Verify against the IP itself (Go puts the IP in ServerName and
      // checks IP SANs).
      opts.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(host, cert);
    }
    const ts = tls.connect(opts);
    let done = false;
    const timer = setTimeout(() => finish(new Error('TLS handshake timeout')), t.timeoutMs);
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ts.off('secureConnect', onOk);
      ts.off('error', onErr);
      if (err !== null) {
        ts.destroy();
        reject(err);
      } else {
        resolve(ts);
      }
    };
    const onOk = () => finish(null);
    const onErr = (e: Error) => finish(e);
    ts.once('secureConnect', onOk);
    ts.once('error', onErr);
  });
}

/** "TLS version 1.3, cipher suite TLS_AES_128_GCM_SHA256" for the debug log (server/route.go). */
export function describeTLS(ts: tls.TLSSocket): string {
  const proto = ts.getProtocol() ?? '';
  const version = proto.startsWith('TLSv') ? proto.slice(4) : proto;
  const c = ts.getCipher();
  return `TLS version ${version}, cipher suite ${c?.standardName ?? c?.name ?? ''}`;
}
