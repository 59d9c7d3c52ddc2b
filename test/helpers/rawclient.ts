// A raw TCP client for protocol-level tests: send exact bytes, read exact bytes.
//
// Received bytes are appended to a full transcript (`received()`) and to an
// unread buffer that `readUntil` / `readFor` consume from.

import { connect as netConnect, type Socket } from 'node:net';

export type Matcher = string | RegExp | ((unread: Buffer) => boolean);

export interface ConnectOptions {
  host?: string;
  /** connect timeout (default 5000 ms) */
  timeoutMs?: number;
}

export class RawClient {
  readonly socket: Socket;
  /** resolves when the server closed the connection (EOF, reset, or any socket close) */
  readonly closed: Promise<void>;
  private chunks: Buffer[] = [];
  private unread: Buffer = Buffer.alloc(0);
  private total = 0;
  private isClosedFlag = false;
  private waiters = new Set<() => void>();
  /** socket error seen (e.g. ECONNRESET), if any */
  error: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.total += d.length;
      this.unread = this.unread.length ? Buffer.concat([this.unread, d]) : d;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    this.closed = new Promise<void>((res) => {
      socket.once('close', () => {
        this.isClosedFlag = true;
        this.wake();
        res();
      });
    });
  }

  static connect(port: number, hostOrOpts: string | ConnectOptions = {}): Promise<RawClient> {
    const opts = typeof hostOrOpts === 'string' ? { host: hostOrOpts } : hostOrOpts;
    const host = opts.host ?? '127.0.0.1';
    return new Promise((res, rej) => {
      const s = netConnect({ port, host });
      const timer = setTimeout(() => {
        s.destroy();
        rej(new Error(`connect to ${host}:${port} timed out`));
      }, opts.timeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeListener('error', onErr);
        res(new RawClient(s));
      });
      const onErr = (e: Error) => {
        clearTimeout(timer);
        rej(e);
      };
      s.once('error', onErr);
    });
  }

  /** true once the connection is closed */
  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** waits until `check` is true, the connection closes, or the timeout; returns whether check passed */
  private waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (this.isClosedFlag) return Promise.resolve(false);
    return new Promise((res) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(w);
        res(v);
      };
      const w = () => {
        if (check()) done(true);
        else if (this.isClosedFlag) done(false);
      };
      const timer = setTimeout(() => done(check()), timeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * Writes bytes. Resolves once handed to the kernel. Never rejects: a write to
   * a connection the server already closed is silently dropped (the test
   * observes the close instead).
   */
  send(data: string | Uint8Array): Promise<void> {
    if (this.isClosedFlag || this.socket.destroyed) return Promise.resolve();
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return new Promise((res) => {
      this.socket.write(buf, () => res());
    });
  }

  /** number of bytes received since connect */
  get receivedLength(): number {
    return this.total;
  }

  /** every byte received since connect */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** the bytes not consumed yet by readUntil/readFor (not consumed by this call) */
  peek(): Buffer {
    return this.unread;
  }

  private take(n: number): Buffer {
    const out = this.unread.subarray(0, n);
    this.unread = this.unread.subarray(n);
    return out;
  }

  /**
   * Waits until the unread bytes match, then consumes and returns them as
   * utf8 text: up to the end of the match for a string/RegExp,
   * everything unread for a predicate. Rejects on timeout or close without a
   * match (the message includes what was received).
   */
  async readUntil(match: Matcher, timeoutMs = 5000): Promise<string> {
    const buf = await this.readUntilBytes(match, timeoutMs);
    return buf.toString('utf8');
  }

  async readUntilBytes(match: Matcher, timeoutMs = 5000): Promise<Buffer> {
    let end = -1;
    const check = (): boolean => {
      if (typeof match === 'function') {
        if (match(this.unread)) {
          end = this.unread.length;
          return true;
        }
        return false;
      }
      if (typeof match === 'string') {
        const i = this.unread.indexOf(match);
        if (i >= 0) end = i + Buffer.byteLength(match);
        return i >= 0;
      }
      const text = this.unread.toString('latin1');
      const re = new RegExp(match.source, match.flags.replace('g', ''));
      const m = re.exec(text);
      if (m) end = m.index + m[0].length;
      return m !== null;
    };
    const ok = await this.waitFor(check, timeoutMs);
    if (!ok) {
      throw new Error(
        `readUntil(${String(match)}) ${this.isClosedFlag ? 'connection closed' : `timed out after ${timeoutMs} ms`}; unread: ${JSON.stringify(this.unread.toString('latin1'))}`,
      );
    }
    return this.take(end);
  }

  /**
   * Collects whatever arrives until `quietMs` pass with no new data (or the
   * connection closes, or `maxMs` total elapses); consumes and returns it.
   */
  async readFor(quietMs = 100, maxMs = 10_000): Promise<string> {
    return (await this.readForBytes(quietMs, maxMs)).toString('utf8');
  }

  async readForBytes(quietMs = 100, maxMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      const before = this.total;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.isClosedFlag) break;
      await this.waitFor(() => this.total !== before, Math.min(quietMs, remaining));
      if (this.total === before) break;
    }
    return this.take(this.unread.length);
  }

  /** resolves when the server closes the connection; rejects after timeoutMs */
  async expectClosed(timeoutMs = 5000): Promise<void> {
    const ok = await this.waitFor(() => this.isClosedFlag, timeoutMs);
    if (!ok) {
      throw new Error(
        `expected the server to close the connection within ${timeoutMs} ms; received: ${JSON.stringify(this.received().toString('latin1'))}`,
      );
    }
  }

  /** waits up to timeoutMs for the close; returns whether it closed */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.isClosedFlag, timeoutMs);
  }

  /** client-side close */
  close(): void {
    this.socket.destroy();
  }
}

export function connect(port: number, hostOrOpts?: string | ConnectOptions): Promise<RawClient> {
  return RawClient.connect(port, hostOrOpts);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CollectOptions {
  host?: string;
  /** quiet period that ends the collection (default 150 ms) */
  quietMs?: number;
  /** delay between chunks (default 0: all chunks written back-to-back) */
  delayMs?: number;
  /** wait for the server's first line (INFO) before sending (default true) */
  waitInfo?: boolean;
  /** after sending, first read until this matches (or close / untilTimeoutMs), then apply the quiet period */
  until?: Matcher;
  untilTimeoutMs?: number;
  /** upper bound for the whole collection after sending (default 10000 ms) */
  maxMs?: number;
  /** after sending (and `until`), wait up to this long for the server to close (default 0) */
  waitCloseMs?: number;
}

export interface Collected {
  /** every byte received, INFO included */
  data: Buffer;
  text: string;
  /** whether the server closed the connection by the end of the collection */
  closed: boolean;
  /** the client, still open if the server did not close it; caller closes it */
  client: RawClient;
}

/**
 * Connects, (waits for INFO,) writes each chunk (with delayMs between chunks),
 * then collects until quiet. The client is left open for further use; call
 * `client.close()` when done.
 */
export async function sendAndCollect(
  port: number,
  chunks: (string | Uint8Array)[],
  opts: CollectOptions = {},
): Promise<Collected> {
  const c = await connect(port, opts.host);
  if (opts.waitInfo !== false) {
    try {
      await c.readUntilBytes('\r\n', 5000);
    } catch {
      /* closed before INFO: the transcript shows it */
    }
  }
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0 && opts.delayMs) await sleep(opts.delayMs);
    await c.send(chunks[i]!);
  }
  if (opts.until !== undefined) {
    try {
      await c.readUntilBytes(opts.until, opts.untilTimeoutMs ?? 5000);
    } catch {
      /* a mismatch is visible in the transcript */
    }
  }
  if (opts.waitCloseMs) await c.waitClosed(opts.waitCloseMs);
  await c.readForBytes(opts.quietMs ?? 150, opts.maxMs ?? 10_000);
  return { data: c.received(), text: c.received().toString('utf8'), closed: c.isClosed, client: c };
}
