// Syslog delivery with the reference's message shapes (logger/syslog.go on
// top of Go's log/syslog):
//
//   remote (-r udp://h:p, tcp://h:p):  <PRI>2006-01-02T15:04:05Z07:00 HOST TAG[PID]: MSG\n
//   local  (-s, or -r unix:///path):   <PRI>Jan _2 15:04:05 TAG[PID]: MSG\n
//
// PRI quirk kept from the reference: remote writers are opened with priority
// LOG_DEBUG, i.e. facility 0 (kern), so remote PRI is the bare severity;
// local writers use LOG_DAEMON. Severities: notice for [INF] and [TRC],
// warning, err, crit for fatal, debug.
//
// Node has no unix datagram sockets, and /dev/log is a datagram socket on most
// systems. Local delivery therefore first tries a stream connection (rsyslog
// and syslog-ng can listen that way); when the socket turns out to be a
// datagram one (EPROTOTYPE) it hands the messages to util-linux `logger`
// (one long-lived process, `--prio-prefix` so every line keeps its own
// priority), which writes the very same local format. Without a socket, or
// without `logger`, opening fails like the reference: "Unix syslog delivery
// error".

import type { ChildProcess } from 'node:child_process';
import type * as dgram from 'node:dgram';
import { nodeChildProcess, nodeDgram, nodeDnsPromises, nodeOs } from '../server/builtins.js';
import net from 'node:net';
import { basename } from 'node:path';

import { LoggerError } from './errors.js';
import {
  formatRFC3339,
  formatStamp,
  goErrnoText,
  goParseURL,
  goQuote,
  goSplitHostPort,
  systemClock,
  type Clock,
} from './gofmt.js';

/** log/syslog severities */
export const SEVERITY = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

export const FACILITY_KERN = 0;
export const FACILITY_DAEMON = 3 << 3;

/** where log/syslog looks for the local daemon (syslog_unix.go) */
export const LOCAL_SYSLOG_PATHS: readonly string[] = ['/dev/log', '/var/run/syslog', '/var/run/log'];

/** at most this many messages wait for a (re)connection; older ones are dropped */
const MAX_PENDING = 10_000;

export interface SyslogTransport {
  /** settles once the first connection is up (or definitely failed) */
  readonly ready: Promise<void>;
  deliver(pri: number, msg: string): void;
  close(): Promise<void>;
}

export interface SyslogIdentity {
  tag: string;
  pid: number;
  hostname: string;
  clock: Clock;
}

/**
 * The tag the reference uses: the base name of the executable it was started
 * as (logger/syslog.go GetSysLoggerTag). For a node script that is the
 * script's name; the compiled entry point (`main.js`) is reported as tsnats.
 */
export function syslogTag(argv: readonly string[] = process.argv): string {
  const script = argv[1];
  if (!script) return 'tsnats';
  const base = basename(script);
  if (base === '' || /\.[cm]?js$/.test(base)) return 'tsnats';
  return base;
}

export function defaultIdentity(over: Partial<SyslogIdentity> = {}): SyslogIdentity {
  return {
    tag: over.tag ?? syslogTag(),
    pid: over.pid ?? process.pid,
    hostname: over.hostname ?? nodeOs().hostname(),
    clock: over.clock ?? systemClock,
  };
}

function newline(msg: string): string {
  return msg.endsWith('\n') ? '' : '\n';
}

/** log/syslog netConn.writeString, network form */
export function formatNetworkMessage(pri: number, msg: string, id: SyslogIdentity): string {
  return `<${pri}>${formatRFC3339(id.clock())} ${id.hostname} ${id.tag}[${id.pid}]: ${msg}${newline(msg)}`;
}

/** log/syslog netConn.writeString, local (unix socket) form */
export function formatLocalMessage(pri: number, msg: string, id: SyslogIdentity): string {
  return `<${pri}>${formatStamp(id.clock())} ${id.tag}[${id.pid}]: ${msg}${newline(msg)}`;
}

// ---------------------------------------------------------------------------
// URL handling, as Go's url.Parse + logger/syslog.go getNetworkAndAddr

export interface SyslogAddress {
  network: 'udp' | 'tcp' | 'unix';
  /** host:port for udp/tcp, a socket path for unix */
  address: string;
}

/** Parses a remote_syslog value; errors carry the reference's log.Fatal text. */
export function parseRemoteSyslogUrl(fqn: string): SyslogAddress {
  const u = goParseURL(fqn);
  if (typeof u === 'string') throw new LoggerError('SYSLOG_URL', u);
  if (u.scheme === 'udp' || u.scheme === 'tcp') return { network: u.scheme, address: u.host };
  if (u.scheme === 'unix') return { network: 'unix', address: u.path };
  throw new LoggerError('SYSLOG_NETWORK', `error invalid network type: ${goQuote(u.scheme)}`);
}

function connectError(text: string, cause?: unknown): LoggerError {
  return new LoggerError('SYSLOG_CONNECT', `error connecting to syslog: ${goQuote(text)}`, cause);
}

async function resolveDial(network: 'udp' | 'tcp', address: string): Promise<{ host: string; port: number; family: 4 | 6 }> {
  const hp = goSplitHostPort(address);
  if (typeof hp === 'string') throw connectError(`dial ${network}: ${hp}`);
  const port = hp.port === '' ? 0 : Number(hp.port);
  if (!/^\d*$/.test(hp.port) || port > 65535) {
    throw connectError(`dial ${network}: lookup ${network}/${hp.port}: unknown port`);
  }
  const name = hp.host === '' ? 'localhost' : hp.host;
  try {
    const r = await nodeDnsPromises().lookup(name);
    return { host: r.address, port, family: r.family === 6 ? 6 : 4 };
  } catch (e) {
    throw connectError(`dial ${network}: lookup ${name}: no such host`, e);
  }
}

// ---------------------------------------------------------------------------
// transports

/** UDP: one datagram per message, connected like Go's net.Dial("udp"). */
export class UdpTransport implements SyslogTransport {
  readonly ready: Promise<void>;
  private sock: dgram.Socket | null = null;
  private pending: string[] = [];
  private closed = false;

  constructor(
    address: string,
    private readonly format: (pri: number, msg: string) => string,
  ) {
    this.ready = this.open(address);
    this.ready.catch(() => {});
  }

  private async open(address: string): Promise<void> {
    const { host, port, family } = await resolveDial('udp', address);
    const sock = nodeDgram().createSocket(family === 6 ? 'udp6' : 'udp4');
    // ICMP port unreachable surfaces as an async error on a connected
    // socket; the reference ignores failed syslog writes, and so do we.
    sock.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((e) => {
      sock.close();
      throw connectError(`dial udp ${address}: ${goErrnoText(e)}`, e);
    });
    if (this.closed) {
      sock.close();
      return;
    }
    sock.unref();
    this.sock = sock;
    for (const m of this.pending) sock.send(m);
    this.pending = [];
  }

  deliver(pri: number, msg: string): void {
    if (this.closed) return;
    const line = this.format(pri, msg);
    if (this.sock) this.sock.send(line);
    else if (this.pending.length < MAX_PENDING) this.pending.push(line);
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.sock;
    this.sock = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/**
 * A stream socket (TCP, or a unix stream socket). Messages are written back
 * to back with no framing, like log/syslog. A broken connection is redialled
 * on the next message (log/syslog writeAndRetry); messages that cannot be
 * delivered are dropped, as the reference ignores write errors.
 */
export class StreamTransport implements SyslogTransport {
  readonly ready: Promise<void>;
  private sock: net.Socket | null = null;
  private dialing: Promise<void> | null = null;
  private pending: string[] = [];
  private closed = false;

  constructor(
    private readonly target: { network: 'tcp'; address: string } | { network: 'unix'; path: string },
    private readonly format: (pri: number, msg: string) => string,
  ) {
    this.ready = this.dial();
    this.ready.catch(() => {});
  }

  private dial(): Promise<void> {
    const p = this.connectOnce().then(
      (sock) => {
        this.dialing = null;
        if (this.closed) {
          sock.destroy();
          return;
        }
        this.sock = sock;
        const drop = () => {
          if (this.sock === sock) this.sock = null;
        };
        sock.on('error', drop);
        sock.on('close', drop);
        for (const m of this.pending) sock.write(m);
        this.pending = [];
      },
      (e) => {
        this.dialing = null;
        this.pending = [];
        throw e;
      },
    );
    this.dialing = p;
    return p;
  }

  private async connectOnce(): Promise<net.Socket> {
    let opts: net.NetConnectOpts;
    let desc: string;
    if (this.target.network === 'tcp') {
      const { host, port } = await resolveDial('tcp', this.target.address);
      opts = { host, port };
      desc = `dial tcp ${host.includes(':') ? `[${host}]` : host}:${port}`;
    } else {
      opts = { path: this.target.path };
      desc = `dial unix ${this.target.path}`;
    }
    return new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect(opts);
      const onErr = (e: NodeJS.ErrnoException) => {
        sock.destroy();
        reject(connectError(`${desc}: connect: ${goErrnoText(e)}`, e));
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.off('error', onErr);
        sock.setNoDelay(true);
        sock.unref();
        resolve(sock);
      });
    });
  }

  deliver(pri: number, msg: string): void {
    if (this.closed) return;
    const line = this.format(pri, msg);
    const s = this.sock;
    if (s && !s.destroyed && s.writable) {
      s.write(line);
      return;
    }
    if (this.pending.length < MAX_PENDING) this.pending.push(line);
    if (!this.dialing) this.dial().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.sock;
    this.sock = null;
    if (s && !s.destroyed) await new Promise<void>((r) => s.end(() => r()));
  }
}

/**
 * Local datagram sockets through util-linux `logger`: one child process fed
 * `<PRI>line` records on stdin. Each line of a multi-line message becomes its
 * own record with the same priority (logger splits stdin on newlines).
 */
export class LoggerProcessTransport implements SyslogTransport {
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private exited: Promise<void>;
  private closed = false;

  constructor(socketPath: string, id: SyslogIdentity, command = 'logger') {
    this.child = nodeChildProcess().spawn(command, ['--prio-prefix', '-t', id.tag, `--id=${id.pid}`, '-u', socketPath, '--socket-errors=on'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((r) => this.child.once('close', () => r()));
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.once('error', (e) => reject(connectError('Unix syslog delivery error', e)));
    });
    this.ready.catch(() => {});
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  deliver(pri: number, msg: string): void {
    if (this.closed || !this.child.stdin || this.child.stdin.destroyed) return;
    const body = msg.endsWith('\n') ? msg.slice(0, -1) : msg;
    const out = body
      .split('\n')
      .map((l) => `<${pri}>${l}\n`)
      .join('');
    this.child.stdin.write(out);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    // Hold the event loop until logger has flushed everything and exited.
    this.child.ref();
    (this.child.stdin as unknown as { ref?: () => void } | null)?.ref?.();
    this.child.stdin?.end();
    await this.exited;
  }
}

/** Queues messages while an asynchronously chosen transport is being opened. */
class DeferredTransport implements SyslogTransport {
  readonly ready: Promise<void>;
  private inner: SyslogTransport | null = null;
  private pending: Array<[number, string]> = [];
  private closed = false;

  constructor(open: Promise<SyslogTransport>) {
    this.ready = open.then(
      async (t) => {
        await t.ready;
        if (this.closed) {
          await t.close();
          return;
        }
        this.inner = t;
        for (const [p, m] of this.pending) t.deliver(p, m);
        this.pending = [];
      },
      (e) => {
        this.pending = [];
        throw e;
      },
    );
    this.ready.catch(() => {});
  }

  deliver(pri: number, msg: string): void {
    if (this.closed) return;
    if (this.inner) this.inner.deliver(pri, msg);
    else if (this.pending.length < MAX_PENDING) this.pending.push([pri, msg]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.ready.catch(() => {});
    await this.inner?.close();
  }
}

export interface LocalSyslogOptions {
  /** candidate socket paths, first usable wins (default LOCAL_SYSLOG_PATHS) */
  paths?: readonly string[];
  /** the util-linux logger executable used for datagram sockets */
  loggerCommand?: string;
}

/** The local syslog daemon (-s). */
export function openLocalSyslog(id: SyslogIdentity, opts: LocalSyslogOptions = {}): SyslogTransport {
  const paths = opts.paths ?? LOCAL_SYSLOG_PATHS;
  const fmt = (pri: number, msg: string) => formatLocalMessage(pri, msg, id);
  const open = async (): Promise<SyslogTransport> => {
    for (const path of paths) {
      const stream = new StreamTransport({ network: 'unix', path }, fmt);
      try {
        await stream.ready;
        return stream;
      } catch (e) {
        const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code !== 'EPROTOTYPE') continue;
      }
      const proc = new LoggerProcessTransport(path, id, opts.loggerCommand);
      try {
        await proc.ready;
        return proc;
      } catch {
        continue;
      }
    }
    throw connectError('Unix syslog delivery error');
  };
  return new DeferredTransport(open());
}

/** A remote syslog server (-r udp://host:port, tcp://host:port, unix:///path). */
export function openRemoteSyslog(url: string, id: SyslogIdentity): SyslogTransport {
  const addr = parseRemoteSyslogUrl(url);
  if (addr.network === 'udp') return new UdpTransport(addr.address, (p, m) => formatNetworkMessage(p, m, id));
  if (addr.network === 'tcp') {
    return new StreamTransport({ network: 'tcp', address: addr.address }, (p, m) => formatNetworkMessage(p, m, id));
  }
  // log/syslog treats a "unix" network as local: no hostname, time.Stamp.
  return new StreamTransport({ network: 'unix', path: addr.address }, (p, m) => formatLocalMessage(p, m, id));
}
