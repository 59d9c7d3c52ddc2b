// Leafnodes over websocket (server/leafnode.go leafNodeSolicitWSConnection,
// server/websocket.go): the leaf dials ws:// or wss:// URLs, asks for the
// upgrade on /leafnode and then writes masked binary frames (unless told
// not to); the hub frames without masking. Frame decoding and the hub's
// framing are the websocket module's.

import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import zlib from 'node:zlib';
import { COMPRESS_THRESHOLD, FrameReader, OP_BINARY, OP_CLOSE, OP_PONG, closeMessage, closeStatusFor, frameHeader } from '../websocket/frame.js';
import { acceptKey } from '../websocket/handshake.js';
import type { Connection } from '../client/connection.js';

export { FrameReader, OP_PONG };

/** server/leafnode.go leafNodeWSPath */
export const LEAFNODE_WS_PATH = '/leafnode';

export class WsUpgradeError extends Error {
  readonly code = 'ERR_TSNATS_LEAF_WS';
}

/** One (masked) client frame (RFC 6455 5.3); `compressed` sets RSV1 (RFC 7692). */
function maskedFrame(op: number, payload: Buffer, mask: boolean, compressed = false): Buffer {
  const hdr = frameHeader(true, true, compressed, op, payload.length);
  if (!mask) return Buffer.concat([hdr, payload]);
  hdr[1]! |= 0x80;
  const key = randomBytes(4);
  const out = Buffer.allocUnsafe(hdr.length + 4 + payload.length);
  hdr.copy(out, 0);
  key.copy(out, hdr.length);
  const o = hdr.length + 4;
  for (let i = 0; i < payload.length; i++) out[o + i] = payload[i]! ^ key[i & 3]!;
  return out;
}

/**
 * The socket surface a Connection writes to, for the dialing side: what one
 * flush hands over becomes one (masked) binary frame.
 */
export class WsClientSocket {
  owner: Connection | null = null;
  private corked = 0;
  private pending: Buffer[] = [];
  private ended = false;
  private destroyCalled = false;

  constructor(
    readonly raw: net.Socket,
    private readonly mask: boolean,
    private readonly compress = false,
  ) {}

  /**
   * One flush as one data frame; with permessage-deflate negotiated and more
   * than 64 bytes, compressed as the reference does it (server/websocket.go
   * wsCollapsePtoNB: a fresh BestSpeed stream per flush, no context
   * takeover, the sync flush's 00 00 ff ff tail dropped), then masked.
   */
  private dataFrame(b: Buffer): Buffer {
    if (this.compress && b.length > COMPRESS_THRESHOLD) {
      const z = zlib.deflateRawSync(b, { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH });
      return maskedFrame(OP_BINARY, z.subarray(0, z.length - 4), this.mask, true);
    }
    return maskedFrame(OP_BINARY, b, this.mask);
  }

  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.raw.remotePort;
  }
  get localAddress(): string | undefined {
    return this.raw.localAddress;
  }
  get localPort(): number | undefined {
    return this.raw.localPort;
  }
  get writableLength(): number {
    return this.raw.writableLength;
  }
  get writableHighWaterMark(): number {
    return this.raw.writableHighWaterMark;
  }
  get destroyed(): boolean {
    return this.destroyCalled || this.raw.destroyed;
  }

  write(b: Buffer): boolean {
    if (this.ended || this.destroyed || b.length === 0) return false;
    if (this.corked > 0) {
      this.pending.push(b);
      return true;
    }
    this.raw.write(this.dataFrame(b));
    return true;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0) return;
    this.corked--;
    if (this.corked === 0 && this.pending.length > 0) {
      const nb = this.pending;
      this.pending = [];
      this.raw.write(this.dataFrame(nb.length === 1 ? nb[0]! : Buffer.concat(nb)));
    }
  }

  sendControl(op: number, payload: Buffer): void {
    if (this.ended || this.destroyed) return;
    this.raw.write(maskedFrame(op, payload, this.mask));
  }

  end(): void {
    if (this.ended || this.destroyed) return;
    this.corked = 1;
    this.uncork();
    this.ended = true;
    const reason = this.owner?.closeReason ?? '';
    if (reason !== '') this.raw.end(maskedFrame(OP_CLOSE, closeMessage(closeStatusFor(reason), reason), this.mask));
    else this.raw.end();
  }

  destroy(): void {
    if (this.destroyCalled) return;
    this.destroyCalled = true;
    this.pending = [];
    this.raw.destroy();
  }

  setNoDelay(): this {
    return this;
  }
}

/** What the hub agreed to in its 101 answer. */
export interface WsUpgraded {
  /** bytes that followed the response (the start of the first frame), if any */
  rest: Buffer;
  /** permessage-deflate both ways */
  compress: boolean;
  /** our frames must be masked */
  mask: boolean;
}

/** The values of one response header, all lines of it (Go's http.Header). */
function headerValues(lines: string[], name: string): string[] {
  const out: string[] = [];
  const want = name.toLowerCase();
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0 && l.slice(0, c).trim().toLowerCase() === want) out.push(l.slice(c + 1).trim());
  }
  return out;
}

/**
 * server/websocket.go wsPMCExtensionSupport: is permessage-deflate there,
 * and with both no_context_takeover parameters?
 */
export function pmcSupport(values: string[]): { compress: boolean; noCtxTakeover: boolean } {
  for (const list of values) {
    for (const ext of list.split(',')) {
      const params = ext.split(';').map((p) => p.trim().toLowerCase());
      const i = params.indexOf('permessage-deflate');
      if (i < 0) continue;
      const rest = params.slice(i + 1);
      return { compress: true, noCtxTakeover: rest.includes('server_no_context_takeover') && rest.includes('client_no_context_takeover') };
    }
  }
  return { compress: false, noCtxTakeover: false };
}

/**
 * Ask for the upgrade on a connected socket (server/leafnode.go
 * leafNodeSolicitWSConnection) and wait for "101". A hub that does not
 * answer the compression request gets uncompressed frames; one that
 * answers it without no_context_takeover is refused ("compression
 * negotiation error"); one that does not echo "Nats-No-Masking" gets
 * masked frames.
 */
export function wsUpgrade(sock: net.Socket, hostPort: string, noMasking: boolean, compress: boolean, timeoutMs: number): Promise<WsUpgraded> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    let req = `GET ${LEAFNODE_WS_PATH} HTTP/1.1\r\nHost: ${hostPort}\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\n`;
    if (noMasking) req += 'Nats-No-Masking: true\r\n';
    req += `Sec-Websocket-Key: ${key}\r\nSec-Websocket-Version: 13\r\nUpgrade: websocket\r\n`;
    if (compress) req += 'Sec-Websocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n';
    req += '\r\n';
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new WsUpgradeError('i/o timeout')), timeoutMs);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 8192) done(new WsUpgradeError('invalid websocket upgrade response'));
        return;
      }
      const head = buf.toString('latin1', 0, end);
      const lines = head.split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (status === null || status[1] !== '101') {
        done(new WsUpgradeError(`invalid websocket connection: ${lines[0] ?? ''}`));
        return;
      }
      const one = (n: string): string => headerValues(lines, n)[0] ?? '';
      if (one('Upgrade').toLowerCase() !== 'websocket' || one('Connection').toLowerCase() !== 'upgrade' || one('Sec-Websocket-Accept') !== acceptKey(key)) {
        done(new WsUpgradeError('invalid websocket connection'));
        return;
      }
      let comp = compress;
      if (comp) {
        const pmc = pmcSupport(headerValues(lines, 'Sec-Websocket-Extensions'));
        if (!pmc.compress) comp = false;
        else if (!pmc.noCtxTakeover) {
          done(new WsUpgradeError('compression negotiation error'));
          return;
        }
      }
      const mask = !noMasking || one('Nats-No-Masking') !== 'true';
      done(null, { rest: buf.subarray(end + 4), compress: comp, mask });
    };
    const onErr = (e: Error): void => done(e);
    const onClose = (): void => done(new WsUpgradeError('EOF'));
    const done = (err: Error | null, up?: WsUpgraded): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onErr);
      sock.off('close', onClose);
      if (err !== null) reject(err);
      else resolve(up!);
    };
    sock.on('data', onData);
    sock.once('error', onErr);
    sock.once('close', onClose);
    sock.write(req);
  });
}
