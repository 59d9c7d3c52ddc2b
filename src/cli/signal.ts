// -sl / --signal: send a command to a running server (server/signal.go
// ProcessSignal, server/opts.go processSignal).
//
//   stop -> SIGKILL   quit -> SIGINT    reopen -> SIGUSR1
//   reload -> SIGHUP  ldm -> SIGUSR2    term -> SIGTERM
//
// The target is `<command>=<pid>` or `<command>=<pid file>` (a readable file's
// content is used as the pid, verbatim: a trailing newline makes it invalid,
// as in the reference). Without a target the reference runs `pgrep
// nats-server`; tsnats runs `pgrep -x tsnats`: a running tsnats sets its
// process title (and so its comm name) to "tsnats" (see runCli), and the
// exact match keeps other programs whose names merely contain it out. The
// process sending the signal is never its own target.

import { nodeChildProcess } from '../server/builtins.js';
import { readFileSync } from 'node:fs';

import { goErrnoText, goQuote } from '../logging/gofmt.js';
import { SignalError } from './errors.js';

export type SignalCommand = 'stop' | 'quit' | 'reopen' | 'reload' | 'ldm' | 'term';

export const SIGNAL_FOR_COMMAND: Readonly<Record<SignalCommand, NodeJS.Signals>> = {
  stop: 'SIGKILL',
  quit: 'SIGINT',
  reopen: 'SIGUSR1',
  reload: 'SIGHUP',
  ldm: 'SIGUSR2',
  term: 'SIGTERM',
};

/** the process name a running tsnats has, and the one -sl looks for */
export const DEFAULT_PROCESS_NAME = 'tsnats';

let processName = DEFAULT_PROCESS_NAME;

/** server/signal.go SetProcessName: the name pid resolution looks for */
export function setProcessName(name: string): void {
  processName = name;
}

export function getProcessName(): string {
  return processName;
}

export interface SignalDeps {
  /** deliver a signal (default process.kill) */
  kill?(pid: number, signal: NodeJS.Signals): void;
  /** running server pids, own pid excluded (default resolvePids()) */
  findPids?(): number[];
  /** own pid, never a target (default process.pid) */
  selfPid?: number;
}

/** pids of the running servers, by exact process name, without our own. Throws SignalError. */
export function resolvePids(name: string = processName, selfPid: number = process.pid): number[] {
  const r = nodeChildProcess().spawnSync('pgrep', ['-x', name], { encoding: 'utf8' });
  // No pgrep, or it could not run: the user has to name the process.
  if (r.error || r.status === null) throw new SignalError('SIGNAL_RESOLVE', 'unable to resolve pid, try providing one', r.error);
  // pgrep exits 1 when nothing matches; its output is empty then.
  const out = r.status === 0 ? r.stdout : '';
  const pids: number[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    if (!/^\d+$/.test(line)) throw new SignalError('SIGNAL_RESOLVE', 'unable to resolve pid, try providing one');
    const pid = Number(line);
    if (pid !== selfPid) pids.push(pid);
  }
  return pids;
}

// strconv.Atoi: optional sign, decimal digits, int64 range.
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > (1n << 63n) - 1n || n < -(1n << 63n)) return undefined;
  return Number(n);
}

/**
 * ProcessSignal: sends `command` to `pidStr`, or to the only running server
 * when pidStr is empty. The pid is resolved before the command is checked,
 * so errors come in the reference's order. Throws SignalError.
 */
export function sendSignal(command: string, pidStr: string, deps: SignalDeps = {}): { pid: number; signal: NodeJS.Signals } {
  let pid: number;
  if (pidStr === '') {
    const pids = deps.findPids ? deps.findPids() : resolvePids(processName, deps.selfPid ?? process.pid);
    if (pids.length === 0) throw new SignalError('SIGNAL_NO_PROCESS', `no ${processName} processes running`);
    if (pids.length > 1) {
      throw new SignalError('SIGNAL_MULTIPLE', `multiple ${processName} processes running:\n${pids.join('\n')}`);
    }
    pid = pids[0];
  } else {
    const p = atoi(pidStr);
    if (p === undefined) throw new SignalError('SIGNAL_INVALID_PID', `invalid pid: ${pidStr}`);
    pid = p;
  }
  if (!Object.hasOwn(SIGNAL_FOR_COMMAND, command)) {
    throw new SignalError('SIGNAL_UNKNOWN', `unknown signal ${goQuote(command)}`);
  }
  const signal = SIGNAL_FOR_COMMAND[command as SignalCommand];
  try {
    (deps.kill ?? ((p: number, s: NodeJS.Signals) => process.kill(p, s)))(pid, signal);
  } catch (e) {
    throw new SignalError('SIGNAL_KILL', goErrnoText(e), e);
  }
  return { pid, signal };
}

/** maybeReadPidFile: a readable file's content, else the string itself */
export function maybeReadPidFile(pidStr: string): string {
  try {
    return readFileSync(pidStr, 'utf8');
  } catch {
    return pidStr;
  }
}

/**
 * The whole -sl flag value, `<command>[=<pid or pid file>]`, as
 * processSignal handles it. Throws SignalError.
 */
export function processSignalFlag(value: string, deps: SignalDeps = {}): { pid: number; signal: NodeJS.Signals } {
  const parts = value.split('=');
  let pid = '';
  if (parts.length === 2) pid = maybeReadPidFile(parts[1]);
  else if (parts.length > 2) throw new SignalError('SIGNAL_PARAMS', `invalid signal parameters: [${parts.slice(2).join(' ')}]`);
  return sendSignal(parts[0], pid, deps);
}
