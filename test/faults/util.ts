// Helpers for the fault-injection tests (not a test file): a small raw NATS
// client that counts what it receives, process memory sampling from /proc,
// the monitoring endpoint, and polling.

import { connect as netConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** resident set size of a process in bytes (Linux /proc), or -1 when gone */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : -1;
  } catch {
    return -1;
  }
}

/** peak resident set size of a process so far (VmHWM) in bytes, or -1 when gone */
export function peakRssBytes(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : -1;
  } catch {
    return -1;
  }
}

/** GET a monitoring endpoint as JSON */
export function getJson<T = Record<string, unknown>>(port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(new Error(`bad JSON from ${path}: ${body.slice(0, 200)} (${(e as Error).message})`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Varz {
  connections: number;
  total_connections: number;
  slow_consumers: number;
  in_msgs: number;
  out_msgs: number;
  subscriptions: number;
}

export type MsgHandler = (subject: string, sid: string, payload: Buffer, reply: string | undefined) => void;

/**
 * A raw-socket NATS client: writes protocol text, parses MSG/HMSG, PING
 * (answered with PONG), PONG, +OK, -ERR, INFO. No reconnects, no buffering
 * beyond the socket's: what the server does to it is what the test sees.
 */
export class Client {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  msgs = 0;
  bytes = 0;
  pongs = 0;
  errors: string[] = [];
  info: Record<string, unknown> | null = null;
  onMsg: MsgHandler | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private pongWaiters: Array<{ n: number; resolve: () => void }> = [];
  private infoWaiter: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((res) =>
      socket.once('close', () => {
        this.isClosed = true;
        for (const w of this.pongWaiters) w.resolve();
        this.pongWaiters = [];
        this.infoWaiter?.();
        res();
      }),
    );
  }

  /** connects, waits for INFO and sends CONNECT (+ PING/PONG sync) */
  static async open(port: number, connectFields: Record<string, unknown> = {}, host = '127.0.0.1'): Promise<Client> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ port, host });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const c = new Client(socket);
    await c.waitInfo();
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connectFields })}\r\n`);
    await c.flush();
    return c;
  }

  private waitInfo(timeoutMs = 10_000): Promise<void> {
    if (this.info !== null || this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no INFO')), timeoutMs);
      this.infoWaiter = () => {
        clearTimeout(t);
        this.infoWaiter = null;
        resolve();
      };
    });
  }

  send(data: string | Buffer): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** resolves once the socket's write buffer drained (or it closed) */
  drain(): Promise<void> {
    if (this.isClosed || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((res) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        res();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** PING and wait for its PONG: everything sent before is processed by the server */
  flush(timeoutMs = 30_000): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    const target = this.pongs + 1 + this.pongWaiters.length;
    this.send('PING\r\n');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
      this.pongWaiters.push({
        n: target,
        resolve: () => {
          clearTimeout(t);
          if (this.isClosed && this.pongs < target) reject(new Error(`connection closed before PONG (errors: ${this.errors.join(', ')})`));
          else resolve();
        },
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let pos = 0;
    const b = this.buf;
    for (;;) {
      const eol = b.indexOf('\r\n', pos);
      if (eol < 0) break;
      const c0 = b[pos];
      if (c0 === 0x4d /* M */ || c0 === 0x48 /* H */) {
        const line = b.toString('latin1', pos, eol);
        const parts = line.split(' ');
        const isH = parts[0] === 'HMSG';
        const size = Number(parts[parts.length - 1]);
        const start = eol + 2;
        if (start + size + 2 > b.length) break;
        const subject = parts[1]!;
        const sid = parts[2]!;
        const reply = parts.length === (isH ? 6 : 5) ? parts[3] : undefined;
        this.msgs++;
        this.bytes += size;
        if (this.onMsg) {
          const hdr = isH ? Number(parts[parts.length - 2]) : 0;
          this.onMsg(subject, sid, b.subarray(start + hdr, start + size), reply);
        }
        pos = start + size + 2;
        continue;
      }
      const line = b.toString('latin1', pos, eol);
      pos = eol + 2;
      if (line === 'PING') this.send('PONG\r\n');
      else if (line === 'PONG') {
        this.pongs++;
        this.pongWaiters = this.pongWaiters.filter((w) => {
          if (this.pongs >= w.n) {
            w.resolve();
            return false;
          }
          return true;
        });
      } else if (line.startsWith('-ERR')) this.errors.push(line);
      else if (line.startsWith('INFO ')) {
        try {
          this.info = JSON.parse(line.slice(5)) as Record<string, unknown>;
        } catch {
          this.info = {};
        }
        this.infoWaiter?.();
      }
    }
    this.buf = pos >= b.length ? Buffer.alloc(0) : b.subarray(pos);
  }
}

/** `PUB subject size\r\npayload\r\n` */
export function pubFrame(subject: string, payload: string | Buffer): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from(`PUB ${subject} ${p.length}\r\n`), p, Buffer.from('\r\n')]);
}

/** Sequence checker: payloads carry "<n>" (or "<n>:<padding>"); receipt must be 0,1,2,… exactly once each. */
export class SeqCheck {
  next = 0;
  problems: string[] = [];
  /** fill: every payload byte after the "n:" head must be this byte (a check that no frame was overwritten) */
  constructor(readonly label: string, readonly fill?: number) {}
  take(payload: Buffer): void {
    const s = payload.toString('latin1');
    const i = s.indexOf(':');
    const n = Number(i < 0 ? s : s.slice(0, i));
    if (n !== this.next && this.problems.length < 5) this.problems.push(`${this.label}: got #${n}, expected #${this.next}`);
    if (this.fill !== undefined && this.problems.length < 5) {
      for (let k = i + 1; k < payload.length; k++) {
        if (payload[k] !== this.fill) {
          this.problems.push(`${this.label}: #${n} byte ${k} is ${payload[k]}, expected ${this.fill}`);
          break;
        }
      }
    }
    this.next = n + 1;
  }
}

/** the monitoring port from a server started with `-m -1` */
export function monitorPort(stderr: string): number {
  const m = /Starting http monitor on [^\s]*:(\d+)/.exec(stderr);
  if (!m) throw new Error(`no monitor line in: ${stderr.slice(0, 2000)}`);
  return Number(m[1]);
}
