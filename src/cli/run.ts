// The process around a server, as main.go + server.ConfigureOptions +
// Server.handleSignals run it: flags, -h/-v/--help_tls, -sl, config loading
// and -t, the logger, the pid file, signals, and the exit code.
//
// Exit codes follow the reference: 0 for help/version/signal sent/valid
// config, and also after a flag error (its usage function exits 0 before the
// flag package can exit 2); 1 for configuration and startup errors; SIGINT
// exits 0 but SIGTERM exits 1 (server/signal.go); the end of lame duck mode
// exits 0. SIGQUIT is left alone, as the reference does not trap it either.

import { unlinkSync, writeFileSync } from 'node:fs';

import { defaultOptions, type Options } from '../config/options.js';
import { LoggerError, formatGoFatal } from '../logging/errors.js';
import { goPathError, goQuote } from '../logging/gofmt.js';
import { createLogger } from '../logging/logger.js';
import type { Logger, ManagedLogger } from '../logging/types.js';
import { CliError, FlagError, SignalError } from './errors.js';
import { mergeFlags, parseFlags, type ParsedFlags } from './flags.js';
import { getProcessName, processSignalFlag, type SignalDeps } from './signal.js';
import { tlsHelpOutput, usageOutput, versionOutput } from './usage.js';

/** the program name the reference puts in front of its error messages */
export const EXE_NAME = 'nats-server';

export interface ServerHandle {
  /** stop the server (logging "Initiating Shutdown..." etc. is the server's) */
  shutdown(): Promise<void>;
  /** SIGHUP: reload the config; a rejection is logged as the reference does */
  reload(): Promise<void>;
  /**
   * SIGUSR1, called after the CLI reopened the log file and logged "File log
   * re-opened"; for anything else the server wants to do then.
   */
  reopenLog(): void;
  /** SIGUSR2: enter lame duck mode; resolves once the server has shut down */
  lameDuck(): Promise<void>;
  /** optional: settles when the server stopped on its own, with the exit code (default 0) */
  closed?: Promise<number | void>;
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface RunCliDeps {
  /**
   * parse a config file; throw or reject (ConfigError, with referenceText)
   * on errors, return warnings otherwise. May be async: the executable loads
   * the parser only when there is a file to parse (src/cli/main.ts).
   */
  loadConfigFile(path: string): { options: Options; warnings: string[] } | Promise<{ options: Options; warnings: string[] }>;
  /**
   * start listening. A rejection is printed as `nats-server: <message>`
   * (exit 1) unless the error has `logged: true` (already logged as [FTL]).
   */
  startServer(opts: Options, logger: Logger): Promise<ServerHandle>;
  /** output seams (default process.stdout / process.stderr) */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** where signals come from (default process) */
  signals?: SignalSource;
  /** logger factory (default createLogger) */
  createLogger?: (opts: Options) => ManagedLogger;
  /** set process.title to the -sl process name so `-sl` finds us (default true) */
  setProcessTitle?: boolean;
  /** -sl seams */
  signalDeps?: SignalDeps;
  /** the pid written to the pid file (default process.pid) */
  pid?: number;
}

const TRAPPED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGHUP'];

// syscall.Signal.String() for the signals the reference traps
const GO_SIGNAL_NAME: Partial<Record<NodeJS.Signals, string>> = {
  SIGINT: 'interrupt',
  SIGTERM: 'terminated',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGHUP: 'hangup',
};

function errorText(e: unknown): string {
  if (e && typeof e === 'object') {
    const ref = (e as { referenceText?: unknown }).referenceText;
    if (typeof ref === 'string') return ref;
    const msg = (e as { message?: unknown }).message;
    if (typeof msg === 'string') return msg;
  }
  return String(e);
}

/** Runs tsnats with `argv` (process.argv.slice(2)) and resolves with the exit code. */
export async function runCli(argv: string[], deps: RunCliDeps): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const die = (msg: string): number => {
    err(`${EXE_NAME}: ${msg}\n`);
    return 1;
  };

  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) {
      err(e.message + '\n');
      out(usageOutput());
      return 0;
    }
    if (e instanceof CliError) return die(e.message);
    throw e;
  }

  if (parsed.showVersion) {
    out(versionOutput());
    return 0;
  }
  if (parsed.showHelp) {
    out(usageOutput());
    return 0;
  }
  if (parsed.showTlsHelp) {
    out(tlsHelpOutput());
    return 0;
  }

  if (parsed.signal) {
    try {
      processSignalFlag(parsed.signal.value, deps.signalDeps);
      return 0;
    } catch (e) {
      if (e instanceof SignalError) return die(e.message);
      throw e;
    }
  }

  let fileOptions = defaultOptions();
  if (parsed.configFile !== '') {
    let loaded: { options: Options; warnings: string[] };
    try {
      loaded = await deps.loadConfigFile(parsed.configFile);
    } catch (e) {
      return die(errorText(e));
    }
    // processConfigErr.Error(): every warning on its own line
    const warnings = loaded.warnings.map((w) => w + '\n').join('');
    if (warnings !== '') {
      if (parsed.testConfig) return die(warnings);
      err(warnings);
    }
    if (parsed.testConfig) {
      err(`${EXE_NAME}: configuration file ${parsed.configFile} is valid\n`);
      return 0;
    }
    fileOptions = loaded.options;
    if (fileOptions.configFile === '') fileOptions.configFile = parsed.configFile;
  } else if (parsed.testConfig) {
    return die('must specify [-c, --config] option to check configuration file syntax');
  }

  let opts: Options;
  try {
    opts = mergeFlags(fileOptions, parsed);
  } catch (e) {
    if (e instanceof CliError) return die(e.message);
    throw e;
  }

  let logger: ManagedLogger;
  try {
    logger = (deps.createLogger ?? createLogger)(opts);
    await logger.ready;
  } catch (e) {
    if (e instanceof LoggerError) {
      err(formatGoFatal(e.referenceText));
      return 1;
    }
    throw e;
  }

  if (deps.setProcessTitle !== false) process.title = getProcessName();
  return serve(opts, logger, deps, err);
}

async function serve(opts: Options, logger: ManagedLogger, deps: RunCliDeps, err: (s: string) => void): Promise<number> {
  const signals = deps.signals ?? process;
  let handle: ServerHandle | undefined;
  let finishing = false;
  let lameDuck = false;
  let reloading: Promise<void> | null = null;
  const early: NodeJS.Signals[] = [];
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));

  const finish = (code: number, stop: boolean) => {
    if (finishing) return;
    finishing = true;
    const h = handle;
    if (stop && h) {
      h.shutdown().then(
        () => resolveExit(code),
        (e) => {
          logger.error(`Error during shutdown: ${errorText(e)}`);
          resolveExit(code);
        },
      );
    } else {
      resolveExit(code);
    }
  };

  const act = (h: ServerHandle, sig: NodeJS.Signals) => {
    switch (sig) {
      case 'SIGINT':
        finish(0, true);
        break;
      case 'SIGTERM':
        // A graceful (lame duck) shutdown in progress is left to finish.
        if (!lameDuck) finish(1, true);
        break;
      case 'SIGUSR1':
        try {
          logger.reopen();
        } catch (e) {
          // log.Fatalf in the reference: the process ends right there.
          err(formatGoFatal(errorText(e)));
          finish(1, true);
          return;
        }
        h.reopenLog();
        break;
      case 'SIGUSR2':
        if (lameDuck || finishing) break;
        lameDuck = true;
        h.lameDuck().then(
          () => finish(0, false),
          (e) => {
            logger.error(errorText(e));
            finish(1, true);
          },
        );
        break;
      case 'SIGHUP': {
        // One reload at a time, in signal order, like the reference's
        // signal goroutine; an idle server starts reloading right away.
        const run = () => h.reload().catch((e) => logger.error(`Failed to reload server configuration: ${errorText(e)}`));
        const next: Promise<void> = reloading ? reloading.then(run) : run();
        reloading = next;
        next.then(() => {
          if (reloading === next) reloading = null;
        });
        break;
      }
    }
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (finishing) return;
    logger.debug(`Trapped ${goQuote(GO_SIGNAL_NAME[sig] ?? sig)} signal`);
    if (handle) act(handle, sig);
    else early.push(sig);
  };
  for (const s of TRAPPED) signals.on(s, onSignal);

  const pidFile = opts.pidFile;
  let pidWritten = false;
  try {
    try {
      handle = await deps.startServer(opts, logger);
    } catch (e) {
      if (!(e as { logged?: unknown } | null)?.logged) err(`${EXE_NAME}: ${errorText(e)}\n`);
      return 1;
    }

    if (pidFile !== '') {
      try {
        writeFileSync(pidFile, String(deps.pid ?? process.pid), { mode: 0o660 });
        pidWritten = true;
      } catch (e) {
        logger.fatal(`Could not write pidfile: ${goPathError('open', pidFile, e)}`);
        await handle.shutdown().catch(() => {});
        return 1;
      }
    }

    handle.closed?.then(
      (code) => finish(typeof code === 'number' ? code : 0, false),
      () => finish(1, false),
    );
    for (const s of early.splice(0)) if (!finishing) act(handle, s);

    return await exit;
  } finally {
    for (const s of TRAPPED) signals.off(s, onSignal);
    if (pidWritten) {
      try {
        unlinkSync(pidFile);
      } catch {
        /* already gone: nothing to clean */
      }
    }
    await logger.close();
  }
}
