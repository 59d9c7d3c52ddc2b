// Errors raised while opening a log destination. The reference reports all of
// them with Go's log.Fatalf before the server starts (logger/log.go,
// logger/syslog.go): `2006/01/02 15:04:05 <text>` on stderr, exit code 1.

import { formatStdLogTimestamp, systemClock, type Clock } from './gofmt.js';

export type LoggerErrorCode =
  /** the log file could not be opened */
  | 'LOG_FILE_OPEN'
  /** the remote syslog address is not a URL the reference accepts */
  | 'SYSLOG_URL'
  /** the remote syslog URL names a network other than udp, tcp or unix */
  | 'SYSLOG_NETWORK'
  /** the syslog daemon could not be reached */
  | 'SYSLOG_CONNECT';

export class LoggerError extends Error {
  readonly code: LoggerErrorCode;
  /** exactly what the reference passes to log.Fatalf */
  readonly referenceText: string;

  constructor(code: LoggerErrorCode, referenceText: string, cause?: unknown) {
    super(referenceText, cause === undefined ? undefined : { cause });
    this.name = 'LoggerError';
    this.code = code;
    this.referenceText = referenceText;
  }
}

/** The line Go's default logger prints for log.Fatalf(text): `2006/01/02 15:04:05 text\n`. */
export function formatGoFatal(text: string, clock: Clock = systemClock): string {
  return formatStdLogTimestamp(clock()) + text + (text.endsWith('\n') ? '' : '\n');
}
