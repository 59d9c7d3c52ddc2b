// The logging interface every module writes through. Implementations live in
// logging/logger.ts (the reference line format, files, syslog, JSON).

import type { Options } from '../config/options.js';

export interface Logger {
  /** [INF] lines */
  notice(msg: string): void;
  /** [WRN] lines */
  warn(msg: string): void;
  /** [ERR] lines */
  error(msg: string): void;
  /** [FTL] lines; the caller exits */
  fatal(msg: string): void;
  /** [DBG] lines, only with -D */
  debug(msg: string): void;
  /** [TRC] lines, only with -V */
  trace(msg: string): void;
  /** checked before building a debug/trace string on a hot path */
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  /**
   * Runs fn with the lines it logs written together when it returns (each
   * still formatted, timestamp included, when logged): for bursts of lines,
   * such as one pair per stream restored at start-up, where a write per
   * line to a pipe costs more than the restore itself. Optional.
   */
  batch?<T>(fn: () => T): T;
}

/** Drops everything: the embedded server's default. */
export const nullLogger: Logger = {
  notice() {},
  warn() {},
  error() {},
  fatal() {},
  debug() {},
  trace() {},
  debugEnabled: false,
  traceEnabled: false,
};

/** The reference's log labels, in the order they appear in lines: [INF] [WRN] ... */
export type LogLevel = 'INF' | 'WRN' | 'ERR' | 'FTL' | 'DBG' | 'TRC';

/** A Logger that owns a destination (stderr, a file, syslog): logging/logger.ts createLogger. */
export interface ManagedLogger extends Logger {
  /** settles when the destination is usable; rejects (LoggerError) when a syslog daemon cannot be reached */
  readonly ready: Promise<void>;
  /**
   * SIGUSR1: close and reopen the log file, then log "File log re-opened"
   * (or "File log re-open ignored, not a file logger"), like the reference's
   * Server.ReOpenLogFile. Throws LoggerError when the file cannot be opened.
   */
  reopen(): void;
  /** config reload: apply new logging options, switching destination if needed */
  reconfigure(opts: Options): Promise<void>;
  /** flush and release the destination; later calls log nothing */
  close(): Promise<void>;
}
