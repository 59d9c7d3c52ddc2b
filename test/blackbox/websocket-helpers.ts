// Helpers for the websocket tests: a raw websocket client over TCP (or TLS)
// that sends exactly the bytes a test wants (masked or not, fragmented,
// compressed, broken) and decodes the server's frames; the websocket port
// from a server's log; the global WebSocket nats-core's wsconnect needs.
//
// Not a test file itself (no side effects on import).

import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { WebSocket as WsWebSocket } from 'ws';
import type { RunningServer } from '../helpers/servers.js';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** nats-core's wsconnect uses the global WebSocket, which Node 20 lacks: take the `ws` package's. */
export function installGlobalWebSocket(): void {
  const g = globalThis as unknown as { WebSocket?: unknown };
  if (g.WebSocket === undefined) g.WebSocket = WsWebSocket;
}

/** The websocket port from the "Listening for websocket clients on ws://host:port" line. */
export function wsPort(s: RunningServer): number {
  const m = /Listening for websocket clients on wss?:\/\/\S+:(\d+)/.exec(s.stderr());
  if (m === null) throw new Error(`no websocket listening line in:\n${s.stderr()}`);
  return Number(m[1]);
}

export interface FrameOptions {
  mask?: boolean;
  fin?: boolean;
  rsv1?: boolean;
  /** the masking key (random by default) */
  key?: Buffer;
}

/** A client frame: masked by default, as RFC 6455 requires of clients. */
export function frame(op: number, payload: string | Buffer, o: FrameOptions = {}): Buffer {
  const p = Buffer.from(payload);
  const mask = o.mask ?? true;
  const b0 = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | op;
  let hdr: Buffer;
  const l = p.length;
  if (l < 126) hdr = Buffer.from([b0, (mask ? 0x80 : 0) | l]);
  else if (l < 65536) {
    hdr = Buffer.alloc(4);
    hdr[0] = b0;
    hdr[1] = (mask ? 0x80 : 0) | 126;
    hdr.writeUInt16BE(l, 2);
  } else {
    hdr = Buffer.alloc(10);
    hdr[0] = b0;
    hdr[1] = (mask ? 0x80 : 0) | 127;
    hdr.writeBigUInt64BE(BigInt(l), 2);
  }
  if (!mask) return Buffer.concat([hdr, p]);
  const key = o.key ?? randomBytes(4);
  const body = Buffer.from(p);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([hdr, key, body]);
}

/** A compressed (permessage-deflate) message frame, as a client sends it. */
export function compressedFrame(payload: string | Buffer, o: FrameOptions = {}): Buffer {
  const z = zlib.deflateRawSync(Buffer.from(payload), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return frame(OP.BINARY, z.subarray(0, z.length - 4), { ...o, rsv1: true });
}

/** A close frame payload: status + reason. */
export function closePayload(status: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(status, 0);
  b.write(reason, 2);
  return b;
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  op: number;
  masked: boolean;
  payload: Buffer;
}

/** Decodes whole frames from `buf`; returns them and the number of bytes used. */
export function decodeFrames(buf: Buffer): { frames: ServerFrame[]; used: number } {
  const frames: ServerFrame[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    const b0 = buf[i]!;
    const b1 = buf[i + 1]!;
    let len = b1 & 0x7f;
    let o = i + 2;
    if (len === 126) {
      if (o + 2 > buf.length) break;
      len = buf.readUInt16BE(o);
      o += 2;
    } else if (len === 127) {
      if (o + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(o));
      o += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) o += 4;
    if (o + len > buf.length) break;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, op: b0 & 0x0f, masked, payload: buf.subarray(o, o + len) });
    i = o + len;
  }
  return { frames, used: i };
}

/** Payload of a data message, inflated when the frame says it is compressed. */
export function messageText(frames: ServerFrame[]): string {
  const parts: Buffer[] = [];
  let compressed = false;
  for (const f of frames) {
    if (f.op === OP.BINARY || f.op === OP.TEXT) compressed = f.rsv1;
    if (f.op > 7) continue;
    parts.push(f.payload);
  }
  const all = Buffer.concat(parts);
  if (!compressed) return all.toString();
  return zlib.inflateRawSync(Buffer.concat([all, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
}

export const UPGRADE_HEADERS: Record<string, string> = {
  Host: '127.0.0.1',
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
};

export function upgradeRequest(headers: Record<string, string | null> = {}, path = '/', method = 'GET'): string {
  const h: Record<string, string | null> = { ...UPGRADE_HEADERS, ...headers };
  let s = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== null) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

export interface HttpResponse {
  statusLine: string;
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Split the HTTP response head (and whatever body text follows) off raw bytes. */
export function parseHttpResponse(raw: Buffer): { res: HttpResponse; rest: Buffer } | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0]!;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    headers.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
  }
  const rest = raw.subarray(end + 4);
  const status = Number(statusLine.split(' ')[1]);
  return { res: { statusLine, status, headers, body: status === 101 ? '' : rest.toString('latin1') }, rest };
}

/** A raw websocket client: one TCP (or TLS) connection, bytes in, frames out. */
export class WsRaw {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  response: HttpResponse | null = null;
  /** frames received after the upgrade */
  readonly frames: ServerFrame[] = [];
  private upgraded = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  static async open(port: number, o: { tls?: tls.ConnectionOptions } = {}): Promise<WsRaw> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s =
        o.tls !== undefined
          ? tls.connect({ host: '127.0.0.1', port, ...o.tls }, () => resolve(s))
          : net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    return new WsRaw(sock);
  }

  /** Open, send the upgrade request and wait for the response head. */
  static async upgrade(port: number, headers: Record<string, string | null> = {}, o: { tls?: tls.ConnectionOptions; path?: string } = {}): Promise<WsRaw> {
    const c = await WsRaw.open(port, o);
    c.send(upgradeRequest(headers, o.path));
    await c.waitFor(() => c.response !== null || c.closed, 'HTTP response');
    return c;
  }

  private parse(): void {
    if (!this.upgraded) {
      const r = parseHttpResponse(this.buf);
      if (r === null) return;
      this.response = r.res;
      if (r.res.status !== 101) return;
      this.upgraded = true;
      this.buf = r.rest;
    }
    const { frames, used } = decodeFrames(this.buf);
    this.frames.push(...frames);
    this.buf = this.buf.subarray(used);
  }

  /** bytes received that are not frames (before an upgrade: the raw response) */
  get raw(): Buffer {
    return this.buf;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(b: string | Buffer): void {
    this.sock.write(b);
  }

  async waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.summary())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** The data frames' payloads joined (inflating compressed messages). */
  text(): string {
    let out = '';
    let msg: ServerFrame[] = [];
    for (const f of this.frames) {
      if (f.op >= 8) continue;
      msg.push(f);
      if (f.fin) {
        out += messageText(msg);
        msg = [];
      }
    }
    return out;
  }

  /** Wait until the data received contains `s` (or matches). */
  async waitText(s: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const ok = () => (typeof s === 'string' ? this.text().includes(s) : s.test(this.text()));
    await this.waitFor(ok, `text ${String(s)}`, timeoutMs);
    return this.text();
  }

  closeFrame(): { status: number; reason: string } | null {
    const f = this.frames.find((x) => x.op === OP.CLOSE);
    if (f === undefined) return null;
    if (f.payload.length < 2) return { status: 1005, reason: '' };
    return { status: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.waitFor(() => this.closed, 'the connection to close', timeoutMs);
  }

  summary(): unknown[] {
    return this.frames.map((f) => ({ op: f.op, fin: f.fin, rsv1: f.rsv1, len: f.payload.length, text: f.op === OP.CLOSE ? [...f.payload] : f.payload.toString('latin1').slice(0, 80) }));
  }

  destroy(): void {
    this.sock.destroy();
  }
}
