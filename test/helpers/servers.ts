// Spawns tsnats or the reference nats-server as a child process and waits for
// it to listen. Used by black-box and differential tests.
//
//   reference: $NATS_SERVER_BIN, else `nats-server` on PATH
//   tsnats:    $TSNATS_BIN (an executable), else `node dist/src/main.js`
//              resolved relative to this compiled file (dist/test/helpers/).
//
// Unless `opts.defaultArgs === false`, `-a 127.0.0.1 -p -1` is put in front of
// the caller's args (later flags win in both servers, so a test may override).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'tsnats' | 'reference';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** prepend `-a 127.0.0.1 -p -1` (default true) */
  defaultArgs?: boolean;
  /** how long to wait for the "Listening for client connections" line (default $SERVER_START_TIMEOUT_MS or 10000 ms) */
  timeoutMs?: number;
}

export interface RunningServer {
  readonly kind: ServerKind;
  /** host as printed in the listening line (brackets stripped for IPv6) */
  readonly host: string;
  readonly port: number;
  /** `nats://host:port` */
  readonly url: string;
  readonly proc: ChildProcess;
  /** the command line used, for diagnostics */
  readonly command: string[];
  /** everything the server wrote to stderr so far */
  stderr(): string;
  /** everything the server wrote to stdout so far */
  stdout(): string;
  /** resolves with the exit code (null when killed by a signal) once the process has exited */
  readonly exited: Promise<number | null>;
  /** signal (default SIGTERM) and wait for exit; SIGKILL after 5 s. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const LISTEN_RE = /Listening for client connections on (\S+)\r?\n/;

const here = dirname(fileURLToPath(import.meta.url));

/** path of the compiled tsnats entry point (dist/src/main.js) */
export const TSNATS_MAIN = resolve(here, '..', '..', 'src', 'main.js');

export function referenceBinary(): string {
  return process.env.NATS_SERVER_BIN ?? 'nats-server';
}

export function serverCommand(kind: ServerKind): string[] {
  if (kind === 'reference') return [referenceBinary()];
  if (process.env.TSNATS_BIN) return [process.env.TSNATS_BIN];
  return [process.execPath, TSNATS_MAIN];
}

// ---------------------------------------------------------------------------
// leftover cleanup: every spawned server and temp dir is removed on exit.
// A normal exit (or SIGINT/SIGTERM) kills them from the 'exit' handler; a
// watchdog child process covers the test process dying without running it
// (SIGKILL, crash): it learns each server pid over a pipe and SIGKILLs the
// ones still alive when that pipe closes.

const WATCHDOG_SRC = `
const pids = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (line[0] === '+') pids.add(pid);
    else pids.delete(pid);
  }
});
const killAll = () => {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  process.exit(0);
};
process.stdin.on('end', killAll);
process.stdin.on('error', killAll);
`;

let watchdog: ChildProcess | null | undefined;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    try {
      watchdog = spawn(process.execPath, ['-e', WATCHDOG_SRC], { stdio: ['pipe', 'ignore', 'ignore'] });
      watchdog.on('error', () => {
        watchdog = null;
      });
      watchdog.stdin!.on('error', () => undefined);
      // neither the watchdog nor its pipe may keep the test process alive
      watchdog.unref();
      (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    } catch {
      watchdog = null;
    }
  }
  if (watchdog && watchdog.stdin && !watchdog.stdin.destroyed) watchdog.stdin.write(line + '\n');
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const d of tempDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      // 'exit' handler above does the killing
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

/** Writes `contents` to a fresh temp file (removed at exit) and returns its path. */
export function writeTempFile(contents: string, name = 'server.conf'): string {
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-test-'));
  tempDirs.add(dir);
  const file = join(dir, name);
  writeFileSync(file, contents);
  return file;
}

/** Convenience: a config file path for `-c`. */
export function writeConfig(contents: string): string {
  return writeTempFile(contents, 'server.conf');
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(s.slice(i + 1)) };
}

export async function startServer(
  kind: ServerKind,
  args: string[] = [],
  opts: StartOptions = {},
): Promise<RunningServer> {
  installCleanup();
  const base = serverCommand(kind);
  if (kind === 'tsnats' && !process.env.TSNATS_BIN && !existsSync(TSNATS_MAIN)) {
    throw new Error(`tsnats entry point ${TSNATS_MAIN} does not exist: build with \`npx tsc -p tsconfig.json\` first (or set TSNATS_BIN)`);
  }
  const fullArgs = [...(opts.defaultArgs === false ? [] : ['-a', '127.0.0.1', '-p', '-1']), ...args];
  const command = [...base, ...fullArgs];
  const timeoutMs = opts.timeoutMs ?? (Number(process.env.SERVER_START_TIMEOUT_MS) || 10_000);

  const proc = spawn(base[0]!, [...base.slice(1), ...fullArgs], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  if (proc.pid !== undefined) tellWatchdog(`+${proc.pid}`);

  let errText = '';
  let outText = '';
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    outText += d;
  });

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((res) => {
    proc.once('exit', (code) => {
      live.delete(proc);
      if (proc.pid !== undefined) tellWatchdog(`-${proc.pid}`);
      exitCode = code;
      res(code);
    });
  });

  const describe = () =>
    `${kind} server (${command.join(' ')})\n--- stderr ---\n${errText}\n--- stdout ---\n${outText}`;

  const listening = await new Promise<{ host: string; port: number }>((res, rej) => {
    let done = false;
    const finish = (err: Error | null, v?: { host: string; port: number }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) rej(err);
      else res(v!);
    };
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      finish(new Error(`timed out after ${timeoutMs} ms waiting for "Listening for client connections" from ${describe()}`));
    }, timeoutMs);
    proc.once('error', (e: NodeJS.ErrnoException) => {
      live.delete(proc);
      if (e.code === 'ENOENT') {
        finish(
          new Error(
            kind === 'reference'
              ? `reference nats-server binary not found (${base[0]}): install nats-server v2.9.10 on PATH or set NATS_SERVER_BIN`
              : `tsnats binary not found (${base[0]}): check TSNATS_BIN`,
          ),
        );
      } else finish(new Error(`failed to spawn ${describe()}: ${e.message}`));
    });
    proc.stderr!.on('data', (d: string) => {
      errText += d;
      const m = LISTEN_RE.exec(errText);
      if (m) finish(null, parseHostPort(m[1]!));
    });
    void exited.then((code) => finish(new Error(`${kind} server exited (code ${code}) before listening: ${describe()}`)));
  });

  let stopping: Promise<number | null> | undefined;
  const server: RunningServer = {
    kind,
    host: listening.host,
    port: listening.port,
    url: `nats://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}`,
    proc,
    command,
    exited,
    stderr: () => errText,
    stdout: () => outText,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (stopping) return stopping;
      if (exitCode !== undefined) return (stopping = Promise.resolve(exitCode));
      stopping = (async () => {
        proc.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((res) => {
          timer = setTimeout(() => {
            proc.kill('SIGKILL');
            res();
          }, 5000);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        return exited;
      })();
      return stopping;
    },
  };
  return server;
}

export interface ServerPair {
  tsnats: RunningServer;
  reference: RunningServer;
  /** stop both (idempotent) */
  stop(): Promise<void>;
}

/**
 * Only the reference side is run when DIFF_ONLY=reference is set (used to
 * validate the expectations written into differential tests). Differential
 * tests never skip: without the reference binary they fail.
 * DIFF_AGAINST=reference compares the reference with a second reference server.
 */
export function referenceOnly(): boolean {
  return process.env.DIFF_ONLY === 'reference';
}

/**
 * Starts the reference and tsnats with the same args. In reference-only mode
 * (DIFF_ONLY=reference) the `tsnats` member is the reference server itself.
 */
export async function startBoth(args: string[] = [], opts: StartOptions = {}): Promise<ServerPair> {
  if (referenceOnly()) {
    const reference = await startServer('reference', args, opts);
    return { tsnats: reference, reference, stop: async () => void (await reference.stop()) };
  }
  // DIFF_AGAINST=reference: the "tsnats" side is a second reference server, to
  // check that a test's comparison is deterministic for the reference itself
  const otherKind: ServerKind = process.env.DIFF_AGAINST === 'reference' ? 'reference' : 'tsnats';
  const [r, t] = await Promise.allSettled([startServer('reference', args, opts), startServer(otherKind, args, opts)]);
  if (r.status === 'rejected' || t.status === 'rejected') {
    if (r.status === 'fulfilled') await r.value.stop();
    if (t.status === 'fulfilled') await t.value.stop();
    throw r.status === 'rejected' ? r.reason : (t as PromiseRejectedResult).reason;
  }
  const reference = r.value;
  const tsnats = t.value;
  return {
    tsnats,
    reference,
    stop: async () => {
      await Promise.all([reference.stop(), tsnats.stop()]);
    },
  };
}

/** The lines matching `keep` a server logged since stderr offset `from`, without pid and time, client addresses masked as <client>. */
export function logLines(s: RunningServer, from: number, keep: RegExp): string[] {
  return s
    .stderr()
    .slice(from)
    .split('\n')
    .filter((l) => keep.test(l))
    .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replace(/127\.0\.0\.1:\d+ - cid:\d+/, '<client>'));
}

/** The [ERR] lines a server logged since stderr offset `from` (logLines). */
export function errLines(s: RunningServer, from: number): string[] {
  return logLines(s, from, /\[ERR\]/);
}
