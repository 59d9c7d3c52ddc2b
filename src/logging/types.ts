// The logging interface every module writes through. Implementations live in
// logging/logger.ts (the reference line format, files, syslog, JSON).

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
