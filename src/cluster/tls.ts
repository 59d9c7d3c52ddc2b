// TLS for routes from `cluster { tls { ... } }`. As the reference
// (server/opts.go getTLSConfig) routes always verify both ways: the accept
// side requires a client certificate, the dialing side verifies the server,
// and ca_file serves as the trust root for both. The handshake comes first
// on a route connection, before any protocol byte (server/route.go
// createRoute).

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { TLS_TIMEOUT_MS, type TLSConfig } from '../config/options.js';

export interface RouteTLS {
  /** the context the dialing side uses */
  readonly context: tls.SecureContext;
  /** the same material for the listener (tls.Server builds its own context) */
  readonly material: tls.SecureContextOptions;
  readonly timeoutMs: number;
  /** do not verify the server's chain and name when dialing (tls { insecure: true }) */
  readonly insecure: boolean;
  readonly ca: Buffer | undefined;
}

/** Load certificate, key and CA once. Throws with the file error. */
export function loadRouteTLS(cfg: TLSConfig): RouteTLS {
  const cert = cfg.certFile !== undefined ? readFileSync(cfg.certFile) : undefined;
  const key = cfg.keyFile !== undefined ? readFileSync(cfg.keyFile) : undefined;
  const ca = cfg.caFile !== undefined ? readFileSync(cfg.caFile) : undefined;
  // cipher_suites / curve_preferences use Go's names; Node's defaults (strong
  // suites only, TLS 1.2+) are kept, which every 2.9 peer accepts.
  const opts: tls.SecureContextOptions = { cert, key, ca, minVersion: 'TLSv1.2' };
  return {
    context: tls.createSecureContext(opts),
    material: opts,
    timeoutMs: cfg.timeoutMs > 0 ? cfg.timeoutMs : TLS_TIMEOUT_MS,
    insecure: cfg.insecure,
    ca,
  };
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
