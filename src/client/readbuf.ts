// Reading client sockets into one shared, reused buffer.
//
// socket.on('data') hands out a freshly allocated Buffer for every read: for
// a fast publisher that is ~2,000 new 64 KiB ArrayBuffers per 4M small
// messages, each faulted in by the kernel's copy (page faults showed up as
// ~8% of the server's CPU under perf) and each counted as external memory,
// which keeps triggering scavenges and held peak RSS near 100 MB.
//
// Node can read into a caller's buffer instead (net.Socket's `onread`
// option, which calls back synchronously with the byte count and 'data' is
// not emitted). net.Server offers no such option for accepted sockets, so the
// accepted handle is moved into a new Socket built with `onread`, as Node's
// own onconnection builds sockets around accepted handles. One buffer serves
// every connection: libuv reads one socket at a time on this thread and the
// callback runs to completion before the next read, and the protocol parser
// copies whatever it must keep beyond the call (a control line or payload
// cut by the end of the read; deliveries are copied into outbound slabs).
//
// When the internals this relies on are missing (another runtime, a future
// Node), the accepted socket is returned unchanged and the caller falls back
// to 'data' events.

import net from 'node:net';

/** Size of the shared read buffer: the largest single read. */
export const READ_BUFFER_SIZE = 64 * 1024;

let shared: Buffer | null = null;

/** Internals of an accepted net.Socket that the move relies on. */
interface SocketInternals {
  _handle: { useUserBuffer?: unknown; reading?: boolean } | null;
  _server: net.Server | null;
  server: net.Server | null;
}

/**
 * Move the accepted socket's handle into a Socket that reads into the shared
 * buffer and calls `onRead(buf, n)` with `buf[0, n)` for each read (valid
 * during the call only). Returns the new socket, or null when the socket
 * cannot be moved (then use the original with 'data' events).
 */
export function adoptWithSharedReadBuffer(
  sock: net.Socket,
  allowHalfOpen: boolean,
  onRead: (buf: Buffer, n: number) => void,
): net.Socket | null {
  const old = sock as unknown as SocketInternals;
  const handle = old._handle;
  if (handle === null || typeof handle.useUserBuffer !== 'function' || sock.readableLength > 0) return null;
  const buf = (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE));
  let moved: net.Socket;
  try {
    moved = new net.Socket({
      handle,
      allowHalfOpen,
      readable: true,
      writable: true,
      onread: {
        buffer: buf,
        callback: (n: number, b: Uint8Array): boolean => {
          onRead(b as Buffer, n);
          return true;
        },
      },
    } as net.SocketConstructorOpts);
  } catch {
    return null;
  }
  // The server counts connections through the socket that owns the handle
  // (Socket#_destroy decrements it): move that too, and leave the old
  // wrapper inert.
  const nu = moved as unknown as SocketInternals;
  nu._server = old._server;
  nu.server = old.server;
  old._server = null;
  old._handle = null;
  return moved;
}
