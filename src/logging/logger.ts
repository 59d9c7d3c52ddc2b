// The server logger: the reference's line format (logger/log.go), its choice
// of destination (server/log.go ConfigureLogger: log file, else remote
// syslog, else local syslog, else stderr), size-based rotation, re-open on
// SIGUSR1, plus tsnats' JSON line format.
//
// Text lines are `[pid] 2006/01/02 15:04:05.000000 [INF] msg\n`: the pid
// prefix is always there (stderr and file alike), the timestamp only with
// logtime (-T=false drops it), local time unless logtimeUTC (a tsnats extra:
// 2.9.10 has no logtime_utc). Labels are colored only on a terminal stderr.
// Writes are synchronous, like Go's log package, so lines are never lost or
// reordered when the process exits right after logging. Syslog destinations
// get the bare message (no pid, time or label: syslog adds its own header),
// whatever logtime and logFormat say, as the reference's SysLogger does.

import { closeSync, fstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { Options } from '../config/options.js';
import { LoggerError } from './errors.js';
import {
  formatLogTimestamp,
  formatRFC3339Micro,
  formatRotationSuffix,
  goErrnoText,
  goPathError,
  goQuote,
  systemClock,
  type Clock,
} from './gofmt.js';
import {
  FACILITY_DAEMON,
  FACILITY_KERN,
  SEVERITY,
  defaultIdentity,
  openLocalSyslog,
  openRemoteSyslog,
  type SyslogTransport,
} from './syslog.js';
import type { LogLevel, ManagedLogger } from './types.js';

export { LoggerError, formatGoFatal } from './errors.js';
export type { LogLevel, ManagedLogger } from './types.js';

/** Test seams and environment overrides; everything defaults to the real process. */
export interface LoggerDeps {
  /** microseconds since the epoch */
  clock?: Clock;
  pid?: number;
  /** where stderr lines go (default process.stderr) */
  stderr?: { write(chunk: string): unknown; isTTY?: boolean };
  /** force colored labels on/off instead of asking stderr.isTTY */
  colors?: boolean;
  /** syslog HOSTNAME field (default os.hostname()) */
  hostname?: string;
  /** syslog TAG field (default: the executable's name, see syslogTag()) */
  syslogTag?: string;
  /** local syslog socket candidates (default /dev/log, /var/run/syslog, /var/run/log) */
  syslogPaths?: readonly string[];
  /** util-linux logger used for datagram syslog sockets (default `logger`) */
  loggerCommand?: string;
}

const PLAIN_LABELS: Record<LogLevel, string> = {
  INF: '[INF] ',
  WRN: '[WRN] ',
  ERR: '[ERR] ',
  FTL: '[FTL] ',
  DBG: '[DBG] ',
  TRC: '[TRC] ',
};

// logger/log.go setColoredLabelFormats
const COLOR_LABELS: Record<LogLevel, string> = {
  INF: '[\x1b[32mINF\x1b[0m] ',
  WRN: '[\x1b[0;93mWRN\x1b[0m] ',
  ERR: '[\x1b[31mERR\x1b[0m] ',
  FTL: '[\x1b[31mFTL\x1b[0m] ',
  DBG: '[\x1b[36mDBG\x1b[0m] ',
  TRC: '[\x1b[33mTRC\x1b[0m] ',
};

const JSON_LEVELS: Record<LogLevel, string> = {
  INF: 'info',
  WRN: 'warn',
  ERR: 'error',
  FTL: 'fatal',
  DBG: 'debug',
  TRC: 'trace',
};

// logger/syslog.go: Noticef/Tracef -> Notice, Fatalf -> Crit
const SYSLOG_SEVERITY: Record<LogLevel, number> = {
  INF: SEVERITY.notice,
  WRN: SEVERITY.warning,
  ERR: SEVERITY.err,
  FTL: SEVERITY.crit,
  DBG: SEVERITY.debug,
  TRC: SEVERITY.notice,
};

/** Builds one log record (text or JSON) the way the reference's log.Logger does. */
export class LineFormatter {
  private readonly pidPrefix: string;
  private lastSec = -1;
  private lastStamp = '';

  constructor(
    private readonly o: {
      pid: number;
      logtime: boolean;
      utc: boolean;
      json: boolean;
      colors: boolean;
      clock: Clock;
    },
  ) {
    this.pidPrefix = `[${o.pid}] `;
  }

  /** log.Printf: prefix, time, label, message, and a newline unless there is one */
  line(level: LogLevel, msg: string): string {
    if (this.o.json) return this.json(level, msg, '\n');
    const labels = this.o.colors ? COLOR_LABELS : PLAIN_LABELS;
    const nl = msg.endsWith('\n') ? '' : '\n';
    return this.pidPrefix + (this.o.logtime ? this.stamp() : '') + labels[level] + msg + nl;
  }

  /**
   * fileLogger.logDirect, used for the rotation notices: always plain labels
   * and terminated by "\r\n" (a logger/log.go quirk kept as is).
   */
  direct(level: LogLevel, msg: string): string {
    if (this.o.json) return this.json(level, msg, '\n');
    return this.pidPrefix + (this.o.logtime ? this.stamp() : '') + PLAIN_LABELS[level] + msg + '\r\n';
  }

  private json(level: LogLevel, msg: string, end: string): string {
    const rec: Record<string, unknown> = {};
    if (this.o.logtime) rec.time = formatRFC3339Micro(this.o.clock());
    rec.level = JSON_LEVELS[level];
    rec.msg = msg.endsWith('\n') ? msg.slice(0, -1) : msg;
    rec.pid = this.o.pid;
    return JSON.stringify(rec) + end;
  }

  private stamp(): string {
    const us = this.o.clock();
    const sec = Math.floor(us / 1_000_000);
    if (sec !== this.lastSec) {
      // The date and seconds part only changes once a second; build it then.
      const full = formatLogTimestamp(us, this.o.utc);
      this.lastSec = sec;
      this.lastStamp = full.slice(0, 20);
      return full;
    }
    return this.lastStamp + String(us - sec * 1_000_000).padStart(6, '0') + ' ';
  }
}

interface Sink {
  readonly ready: Promise<void>;
  emit(level: LogLevel, msg: string): void;
  close(): Promise<void>;
  /** lines formatted from now on wait, in order, for release() (sinks that can write many lines at once) */
  hold?(): void;
  release?(): void;
}

/** held lines are written once this many characters wait: a batch never grows without bound */
const HOLD_MAX_CHARS = 64 * 1024;

class NullSink implements Sink {
  readonly ready = Promise.resolve();
  emit(): void {}
  async close(): Promise<void> {}
}

class StderrSink implements Sink {
  readonly ready = Promise.resolve();
  private held = '';
  private holding = 0;
  constructor(
    private readonly out: { write(chunk: string): unknown },
    private readonly fmt: LineFormatter,
  ) {}
  emit(level: LogLevel, msg: string): void {
    const line = this.fmt.line(level, msg);
    if (this.holding === 0) {
      this.out.write(line);
      return;
    }
    this.held += line;
    if (this.held.length >= HOLD_MAX_CHARS) this.writeHeld();
  }
  hold(): void {
    this.holding++;
  }
  release(): void {
    if (this.holding > 0 && --this.holding === 0) this.writeHeld();
  }
  private writeHeld(): void {
    const s = this.held;
    this.held = '';
    if (s !== '') this.out.write(s);
  }
  async close(): Promise<void> {
    this.holding = 0;
    this.writeHeld();
  }
}

class SyslogSink implements Sink {
  readonly ready: Promise<void>;
  constructor(
    private readonly transport: SyslogTransport,
    private readonly facility: number,
  ) {
    this.ready = transport.ready;
  }
  emit(level: LogLevel, msg: string): void {
    this.transport.deliver(this.facility | SYSLOG_SEVERITY[level], msg);
  }
  close(): Promise<void> {
    return this.transport.close();
  }
}

function openLogFile(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o660);
  } catch (e) {
    throw new LoggerError('LOG_FILE_OPEN', `error opening file: ${goPathError('open', path, e)}`, e);
  }
  try {
    return { fd, size: fstatSync(fd).size };
  } catch (e) {
    closeSync(fd);
    throw new LoggerError('LOG_FILE_OPEN', `error opening file: ${goPathError('stat', path, e)}`, e);
  }
}

// A backup's name is the log file's name plus `.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn`.
const BACKUP_STAMP = /^(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{1,9})$/;

function isBackupStamp(stamp: string): boolean {
  const m = BACKUP_STAMP.exec(stamp);
  if (!m) return false;
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59;
}

/**
 * logger/log.go fileLogger: appends, counts the bytes it wrote, and past the
 * size limit renames the file to `<file>.<timestamp>` and starts a new one
 * whose first line tells where the backup went.
 */
export class FileSink implements Sink {
  readonly ready = Promise.resolve();
  private fd: number;
  private out: number;
  private limit = 0;
  private originalLimit = 0;
  private maxFiles = 0;
  private closed = false;
  private holding = 0;
  private held: string[] = [];
  private heldChars = 0;

  constructor(
    readonly path: string,
    private readonly fmt: LineFormatter,
    private readonly clock: Clock,
    private readonly utc: boolean,
    private readonly stderr: { write(chunk: string): unknown },
  ) {
    const f = openLogFile(path);
    this.fd = f.fd;
    this.out = f.size;
  }

  /** bytes in the current file as far as rotation is concerned */
  get size(): number {
    return this.out;
  }

  /** SetSizeLimit; returns true when the file is already past it (the caller logs "Rotating logfile...") */
  setLimit(limit: number): boolean {
    this.limit = this.originalLimit = limit;
    return limit > 0 && this.out > limit;
  }

  /** logfile_max_num (a later nats-server option): files kept, the active one included */
  setMaxFiles(n: number): void {
    this.maxFiles = n;
  }

  emit(level: LogLevel, msg: string): void {
    if (this.closed) return;
    const line = this.fmt.line(level, msg);
    if (this.holding > 0) {
      this.held.push(line);
      this.heldChars += line.length;
      if (this.heldChars >= HOLD_MAX_CHARS) this.writeHeld();
      return;
    }
    try {
      writeSync(this.fd, line);
    } catch {
      // Go's log package drops failed writes; so do we.
      return;
    }
    this.out += Buffer.byteLength(line);
    if (this.originalLimit > 0 && this.out > this.limit) this.rotate();
  }

  hold(): void {
    this.holding++;
  }

  release(): void {
    if (this.holding > 0 && --this.holding === 0) this.writeHeld();
  }

  /**
   * The held lines in as few writes as rotation allows: a write ends at the
   * line that takes the file past its size limit, and the rotation follows
   * it, as if each line had been written on its own.
   */
  private writeHeld(): void {
    const lines = this.held;
    this.held = [];
    this.heldChars = 0;
    let chunk = '';
    let bytes = 0;
    for (const line of lines) {
      if (this.closed) return;
      chunk += line;
      bytes += Buffer.byteLength(line);
      if (this.originalLimit > 0 && this.out + bytes > this.limit) {
        if (this.writeChunk(chunk, bytes)) this.rotate();
        chunk = '';
        bytes = 0;
      }
    }
    if (chunk !== '' && !this.closed) this.writeChunk(chunk, bytes);
  }

  private writeChunk(chunk: string, bytes: number): boolean {
    try {
      writeSync(this.fd, chunk);
    } catch {
      return false;
    }
    this.out += bytes;
    return true;
  }

  private writeDirect(level: LogLevel, msg: string): number {
    const line = this.fmt.direct(level, msg);
    try {
      writeSync(this.fd, line);
    } catch {
      /* as in emit */
    }
    return Buffer.byteLength(line);
  }

  private rotate(): void {
    try {
      closeSync(this.fd);
    } catch (e) {
      this.limit *= 2;
      this.writeDirect('ERR', `Unable to close logfile for rotation (${goErrnoText(e)}), will attempt next rotation at size ${this.limit}`);
      return;
    }
    const bak = this.path + formatRotationSuffix(this.clock(), this.utc);
    try {
      renameSync(this.path, bak);
    } catch {
      // The reference ignores a failed rename and keeps appending to the file.
    }
    try {
      this.fd = openLogFile(this.path).fd;
    } catch (e) {
      // The reference panics here; a server that cannot log any more should
      // say so where it still can and stop writing to the file.
      this.closed = true;
      this.stderr.write(`Unable to re-open the logfile ${goQuote(this.path)} after rotation: ${(e as LoggerError).message}\n`);
      return;
    }
    this.out = this.writeDirect('INF', `Rotated log, backup saved as ${goQuote(bak)}`);
    this.limit = this.originalLimit;
    if (this.maxFiles > 0) this.purge();
  }

  private purge(): void {
    const dir = dirname(this.path);
    const base = basename(this.path);
    let names: string[];
    try {
      names = readdirSync(dir, { withFileTypes: true })
        .filter((d) => !d.isDirectory() && d.name !== base && d.name.startsWith(base + '.'))
        .map((d) => d.name)
        .filter((n) => isBackupStamp(n.slice(base.length + 1)))
        .sort();
    } catch (e) {
      this.writeDirect('ERR', `Unable to read directory ${goQuote(dir)} for log purge (${goErrnoText(e)}), will attempt next rotation`);
      return;
    }
    const keep = this.maxFiles - 1;
    for (let i = 0; i < names.length - keep; i++) {
      const victim = join(dir, names[i]);
      try {
        unlinkSync(victim);
      } catch (e) {
        this.writeDirect('ERR', `Unable to remove backup log file ${goQuote(victim)} (${goErrnoText(e)}), will attempt next rotation`);
        return;
      }
    }
  }

  /** close and open the same path again (after an external `mv`) */
  reopen(): void {
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        /* already unusable; opening again is the point */
      }
    }
    const f = openLogFile(this.path);
    this.fd = f.fd;
    this.out = f.size;
    this.closed = false;
    this.limit = this.originalLimit;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.holding = 0;
    this.writeHeld();
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      /* nothing left to do */
    }
  }
}

/** What a destination depends on; a change of any of these needs a new sink. */
function sinkKey(o: Options): string {
  return JSON.stringify([o.noLog, o.logFile, o.remoteSyslog, o.syslog, o.logtime, o.logtimeUTC, o.logFormat]);
}

class ServerLogger implements ManagedLogger {
  debugEnabled: boolean;
  traceEnabled: boolean;
  private sink: Sink;
  private key: string;
  private opts: Options;

  constructor(
    opts: Options,
    private readonly deps: LoggerDeps,
  ) {
    this.opts = opts;
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.sink = this.build(opts);
    this.key = sinkKey(opts);
    this.applyFileLimits(this.sink, opts);
  }

  get ready(): Promise<void> {
    return this.sink.ready;
  }

  private build(o: Options): Sink {
    if (o.noLog) return new NullSink();
    const d = this.deps;
    const clock = d.clock ?? systemClock;
    const pid = d.pid ?? process.pid;
    const stderr = d.stderr ?? process.stderr;
    const base = { pid, logtime: o.logtime, utc: o.logtimeUTC, json: o.logFormat === 'json', clock };
    if (o.logFile !== '') {
      return new FileSink(o.logFile, new LineFormatter({ ...base, colors: false }), clock, o.logtimeUTC, stderr);
    }
    // the identity only for syslog: its host name loads node:os
    const id = () => defaultIdentity({ tag: d.syslogTag, pid, hostname: d.hostname, clock });
    if (o.remoteSyslog !== '') return new SyslogSink(openRemoteSyslog(o.remoteSyslog, id()), FACILITY_KERN);
    if (o.syslog) {
      return new SyslogSink(openLocalSyslog(id(), { paths: d.syslogPaths, loggerCommand: d.loggerCommand }), FACILITY_DAEMON);
    }
    const colors = d.colors ?? (stderr as { isTTY?: boolean }).isTTY === true;
    return new StderrSink(stderr, new LineFormatter({ ...base, colors }));
  }

  private applyFileLimits(sink: Sink, o: Options): void {
    if (!(sink instanceof FileSink)) return;
    sink.setMaxFiles(o.logMaxFiles);
    if (o.logSizeLimit > 0 && sink.setLimit(o.logSizeLimit)) this.notice('Rotating logfile...');
  }

  notice(msg: string): void {
    this.sink.emit('INF', msg);
  }
  warn(msg: string): void {
    this.sink.emit('WRN', msg);
  }
  error(msg: string): void {
    this.sink.emit('ERR', msg);
  }
  fatal(msg: string): void {
    this.sink.emit('FTL', msg);
  }
  debug(msg: string): void {
    if (this.debugEnabled) this.sink.emit('DBG', msg);
  }
  trace(msg: string): void {
    if (this.traceEnabled) this.sink.emit('TRC', msg);
  }

  batch<T>(fn: () => T): T {
    const sink = this.sink;
    if (sink.hold === undefined || sink.release === undefined) return fn();
    sink.hold();
    try {
      return fn();
    } finally {
      sink.release();
    }
  }

  reopen(): void {
    const sink = this.sink;
    if (!(sink instanceof FileSink)) {
      this.notice('File log re-open ignored, not a file logger');
      return;
    }
    sink.reopen();
    this.applyFileLimits(sink, this.opts);
    this.notice('File log re-opened');
  }

  async reconfigure(opts: Options): Promise<void> {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    const key = sinkKey(opts);
    const old = this.sink;
    if (key === this.key) {
      this.opts = opts;
      if (old instanceof FileSink) {
        old.setMaxFiles(opts.logMaxFiles);
        if (opts.logSizeLimit > 0 && old.setLimit(opts.logSizeLimit)) this.notice('Rotating logfile...');
      }
      return;
    }
    const next = this.build(opts);
    await next.ready;
    this.sink = next;
    this.key = key;
    this.opts = opts;
    this.applyFileLimits(next, opts);
    await old.close();
  }

  close(): Promise<void> {
    const s = this.sink;
    this.sink = new NullSink();
    return s.close();
  }
}

/**
 * The logger for a server run with `opts`. Throws LoggerError when the log
 * file cannot be opened or the remote syslog URL is invalid; a syslog daemon
 * that cannot be reached rejects `ready` (await it before starting).
 */
export function createLogger(opts: Options, deps: LoggerDeps = {}): ManagedLogger {
  return new ServerLogger(opts, deps);
}
