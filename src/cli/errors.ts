// Typed command line errors. `message` is exactly the text the reference
// prints (main.go prefixes most of them with "nats-server: ").

/**
 * A flag the Go flag package rejects. The reference prints the message on
 * stderr, then the usage text on stdout, and exits 0 (its usage function
 * exits before flag.ExitOnError can exit 2).
 */
export type FlagErrorCode =
  /** `bad flag syntax: ---p` */
  | 'FLAG_BAD_SYNTAX'
  /** `flag provided but not defined: -bogus` */
  | 'FLAG_UNDEFINED'
  /** `flag needs an argument: -p` */
  | 'FLAG_NEEDS_ARGUMENT'
  /** `invalid value "abc" for flag -p: parse error` */
  | 'FLAG_INVALID_VALUE'
  /** `invalid boolean value "yes" for -D: parse error` */
  | 'FLAG_INVALID_BOOL';

export class FlagError extends Error {
  readonly code: FlagErrorCode;
  /** the flag name as written, without dashes or value ('' for bad syntax) */
  readonly flag: string;

  constructor(code: FlagErrorCode, message: string, flag = '') {
    super(message);
    this.name = 'FlagError';
    this.code = code;
    this.flag = flag;
  }
}

/** Errors the reference reports as `nats-server: <message>` with exit code 1. */
export type CliErrorCode =
  /** a positional argument other than version/help */
  | 'UNRECOGNIZED_COMMAND'
  /** -t without -c */
  | 'CHECK_NEEDS_CONFIG'
  /** --cluster URL that does not parse */
  | 'CLUSTER_URL'
  /** --cluster with a user but no password */
  | 'CLUSTER_PASSWORD'
  /** --routes without any cluster listen address */
  | 'ROUTES_NEED_CLUSTER'
  /** TLS enabled from flags without --tlscert */
  | 'TLS_CERT_MISSING'
  /** TLS enabled from flags without --tlskey */
  | 'TLS_KEY_MISSING';

export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

/** -sl failures (server/signal.go, server/opts.go processSignal). */
export type SignalErrorCode =
  /** `invalid signal parameters: [x]` (more than one '=') */
  | 'SIGNAL_PARAMS'
  /** `unknown signal "x"` */
  | 'SIGNAL_UNKNOWN'
  /** `invalid pid: x` */
  | 'SIGNAL_INVALID_PID'
  /** `no tsnats processes running` */
  | 'SIGNAL_NO_PROCESS'
  /** `multiple tsnats processes running:\n<pid>\n<pid>` */
  | 'SIGNAL_MULTIPLE'
  /** `unable to resolve pid, try providing one` */
  | 'SIGNAL_RESOLVE'
  /** kill(2) failed: `no such process`, `operation not permitted` */
  | 'SIGNAL_KILL';

export class SignalError extends Error {
  readonly code: SignalErrorCode;

  constructor(code: SignalErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SignalError';
    this.code = code;
  }
}
