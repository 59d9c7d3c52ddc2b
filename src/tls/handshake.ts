// Server side of the NATS TLS upgrade on an accepted TCP socket
// (server/server.go createClient + server/client.go doTLSHandshake): the
// plain-text INFO has been written already, the client now starts a TLS
// handshake on the same socket. The handshake runs under a deadline (the tls
// block's `timeout`); success is only declared once the peer certificate
// passed `verify` and `pinned_certs`.

import type * as tls from 'node:tls';
import type { Socket } from 'node:net';
import { nodeTls } from '../server/builtins.js';
import { goHandshakeError, verifyPeer, type ServerTLSSetup } from './tls.js';

export interface HandshakeCallbacks {
  /** handshake complete and the peer accepted */
  onSecure(sock: tls.TLSSocket): void;
  /** `text` as the reference logs it after "TLS handshake error: " */
  onError(text: string): void;
  /** the deadline passed first */
  onTimeout(): void;
}

/**
 * Wraps `raw` in a server TLSSocket and drives the handshake. Exactly one
 * callback fires. The returned socket is the connection's transport from
 * now on; errors after onSecure are the caller's to handle.
 */
export function serverHandshake(
  raw: Socket,
  setup: ServerTLSSetup,
  timeoutMs: number,
  cb: HandshakeCallbacks,
): tls.TLSSocket {
  const sock = new (nodeTls().TLSSocket)(raw, setup.options);
  let done = false;
  const finish = (): boolean => {
    if (done) return false;
    done = true;
    clearTimeout(timer);
    return true;
  };
  const timer = setTimeout(() => {
    if (finish()) cb.onTimeout();
  }, timeoutMs);
  timer.unref();
  sock.once('secure', () => {
    if (!finish()) return;
    const bad = verifyPeer(sock, setup);
    if (bad !== null) cb.onError(bad);
    else cb.onSecure(sock);
  });
  sock.on('error', (err: Error & { code?: string }) => {
    if (finish()) cb.onError(goHandshakeError(err));
  });
  sock.once('close', () => {
    if (finish()) cb.onError('EOF');
  });
  // The accepted socket's own errors surface on the TLS socket; this keeps a
  // stray one from becoming an uncaught exception.
  raw.on('error', () => {});
  return sock;
}

/**
 * `allow_non_tls`: the first byte decides (0x16 starts a TLS record). The
 * reference waits up to the TLS timeout for it and treats silence as plain
 * text. For TLS the bytes read are pushed back so the handshake sees them;
 * for plain text `first` is what was read (consumed from `raw`), or null.
 */
export function detectTLS(raw: Socket, timeoutMs: number, cb: (isTLS: boolean, first: Buffer | null) => void): void {
  let done = false;
  const onData = (chunk: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    raw.off('data', onData);
    raw.pause();
    if (chunk.length > 0 && chunk[0] === 0x16) {
      raw.unshift(chunk);
      cb(true, null);
    } else {
      cb(false, chunk);
    }
  };
  const timer = setTimeout(() => {
    if (done) return;
    done = true;
    raw.off('data', onData);
    cb(false, null);
  }, timeoutMs);
  timer.unref();
  raw.on('data', onData);
}
