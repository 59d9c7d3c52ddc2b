// Typed configuration errors. Message texts follow nats-server 2.9.10 exactly
// (conf/parse.go for syntax errors, server/errors.go configErr & friends for
// option processing), so the CLI can print `nats-server: ${err.referenceText}`
// and match the reference byte for byte.

export type ConfigErrorCode =
  /** the top-level file could not be read */
  | 'CONF_READ'
  /** lexer error: "Parse error on line N: '...'" */
  | 'CONF_SYNTAX'
  /** a literal that lexes but does not convert (integer/float range, bad datetime) */
  | 'CONF_LITERAL'
  /** an undefined or unparseable $variable */
  | 'CONF_VARIABLE'
  /** an include that could not be read or parsed; `cause` holds the inner error */
  | 'CONF_INCLUDE'
  /** an include that (directly or not) includes itself */
  | 'CONF_INCLUDE_LOOP'
  /** one or more option processing errors (unknown fields, wrong types, bad values) */
  | 'CONF_INVALID';

/** One located problem found while mapping the conf tree onto Options. */
export interface ConfigIssue {
  file: string;
  /** line as the reference reports it (1-based) */
  line: number;
  /**
   * column as the reference reports it: a byte offset that is 0-based on the
   * first line of a file and 1-based on the others (conf/lex.go measures from
   * the preceding '\n'). Kept as-is so messages match nats-server.
   */
  column: number;
  /** the reason alone, without position */
  reason: string;
  /** the full line nats-server prints, e.g. `a.conf:2:3: unknown field "x"` */
  message: string;
}

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** file where the problem is (the innermost include for include errors) */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** for CONF_INVALID: every error, in file order */
  readonly errors: ConfigIssue[];
  /** for CONF_INVALID: warnings found alongside the errors (printed first by the reference) */
  readonly warnings: ConfigIssue[];

  constructor(
    code: ConfigErrorCode,
    message: string,
    init: {
      file?: string;
      line?: number;
      column?: number;
      errors?: ConfigIssue[];
      warnings?: ConfigIssue[];
      cause?: unknown;
    } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ConfigError';
    this.code = code;
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.errors = init.errors ?? [];
    this.warnings = init.warnings ?? [];
  }

  /**
   * Exactly what nats-server's err.Error() yields. For processing errors the
   * reference ends every line (warnings first, then errors) with '\n', so
   * `nats-server: ${referenceText}` followed by Println leaves a blank line.
   */
  get referenceText(): string {
    if (this.code !== 'CONF_INVALID') return this.message;
    return [...this.warnings, ...this.errors].map((i) => i.message + '\n').join('');
  }

  /** Builds the aggregate error the reference returns from ProcessConfigFile. */
  static invalid(errors: ConfigIssue[], warnings: ConfigIssue[]): ConfigError {
    const lines = [...warnings, ...errors].map((i) => i.message);
    const first = errors[0];
    return new ConfigError('CONF_INVALID', lines.join('\n'), {
      file: first?.file,
      line: first?.line,
      column: first?.column,
      errors,
      warnings,
    });
  }
}

/** `file:line:col: reason` as server/errors.go configErr.Error() prints it. */
export function formatIssue(file: string, line: number, column: number, reason: string): string {
  return `${file}:${line}:${column}: ${reason}`;
}
