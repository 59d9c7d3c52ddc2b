import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultOptions, type Options } from '../../../src/config/options.js';
import { runCli, type RunCliDeps, type ServerHandle } from '../../../src/cli/run.js';
import { tlsHelpOutput, usageOutput, versionOutput } from '../../../src/cli/usage.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { Logger } from '../../../src/logging/types.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  deps: RunCliDeps;
  out: string[];
  err: string[];
  logs: string[];
  signals: EventEmitter;
  started: Array<{ opts: Options; logger: Logger }>;
  calls: string[];
  /** resolves once startServer returned its handle to runCli */
  startedP: Promise<void>;
  handle: ServerHandle & { finishLameDuck(): void };
}

function harness(over: Partial<RunCliDeps> = {}, configs: Record<string, { options?: Partial<Options>; warnings?: string[]; error?: unknown }> = {}): Harness {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const calls: string[] = [];
  const signals = new EventEmitter();
  const started: Harness['started'] = [];
  let markStarted!: () => void;
  const startedP = new Promise<void>((r) => (markStarted = r));
  let endLdm!: () => void;
  const handle = {
    async shutdown() {
      calls.push('shutdown');
    },
    async reload() {
      calls.push('reload');
      throw new Error('config reload not supported for ServerName: old=a, new=b');
    },
    reopenLog() {
      calls.push('reopenLog');
    },
    lameDuck() {
      calls.push('lameDuck');
      return new Promise<void>((r) => (endLdm = r));
    },
    finishLameDuck: () => endLdm(),
  };
  const deps: RunCliDeps = {
    loadConfigFile(path: string) {
      calls.push(`load ${path}`);
      const c = configs[path];
      if (!c) throw Object.assign(new Error('x'), { referenceText: `open ${path}: no such file or directory` });
      if (c.error) throw c.error;
      return { options: { ...defaultOptions(), ...c.options }, warnings: c.warnings ?? [] };
    },
    async startServer(opts, logger) {
      started.push({ opts, logger });
      logger.notice('Server is ready');
      // let runCli receive the handle before the test goes on
      setImmediate(markStarted);
      return handle;
    },
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    signals,
    createLogger: (o) => createLogger(o, { stderr: { write: (s: string) => void logs.push(s) }, pid: 77, clock: () => 0 }),
    setProcessTitle: false,
    ...over,
  };
  return { deps, out, err, logs, signals, started, calls, startedP, handle };
}

describe('runCli: informational flags', () => {
  it('prints the version', async () => {
    const h = harness();
    assert.equal(await runCli(['-v'], h.deps), 0);
    assert.deepEqual(h.out, [versionOutput()]);
    assert.match(versionOutput(), /^nats-server: v2\.9\.10 \(tsnats \d+\.\d+\.\d+\S*\)\n$/);
    assert.equal(await runCli(['version'], h.deps), 0);
    assert.equal(h.out.length, 2);
  });

  it('prints the usage for -h, --help and `help`', async () => {
    for (const argv of [['-h'], ['--help'], ['help']]) {
      const h = harness();
      assert.equal(await runCli(argv, h.deps), 0);
      assert.deepEqual(h.out, [usageOutput()]);
      assert.deepEqual(h.err, []);
    }
  });

  it('prints the TLS help', async () => {
    const h = harness();
    assert.equal(await runCli(['--help_tls'], h.deps), 0);
    assert.deepEqual(h.out, [tlsHelpOutput()]);
  });

  it('prints flag errors on stderr, the usage on stdout, and exits 0 like the reference', async () => {
    const h = harness();
    assert.equal(await runCli(['--bogus'], h.deps), 0);
    assert.deepEqual(h.err, ['flag provided but not defined: -bogus\n']);
    assert.deepEqual(h.out, [usageOutput()]);
    assert.equal(h.started.length, 0);
  });

  it('rejects stray arguments with exit code 1', async () => {
    const h = harness();
    assert.equal(await runCli(['-p', '1', 'foo'], h.deps), 1);
    assert.deepEqual(h.err, ['nats-server: unrecognized command: "foo"\n']);
  });
});

describe('runCli: -sl', () => {
  it('sends the signal and exits 0', async () => {
    const sent: Array<[number, string]> = [];
    const h = harness({ signalDeps: { kill: (pid, sig) => void sent.push([pid, sig]) } });
    assert.equal(await runCli(['-sl', 'ldm=4321'], h.deps), 0);
    assert.deepEqual(sent, [[4321, 'SIGUSR2']]);
    assert.equal(h.started.length, 0);
  });

  it('reports signal errors with exit code 1', async () => {
    const h = harness({ signalDeps: { kill: () => assert.fail('must not send') } });
    assert.equal(await runCli(['-sl', 'bogus=1'], h.deps), 1);
    assert.equal(await runCli(['--signal', 'stop=1=2'], h.deps), 1);
    assert.deepEqual(h.err, ['nats-server: unknown signal "bogus"\n', 'nats-server: invalid signal parameters: [2]\n']);
  });
});

describe('runCli: configuration', () => {
  it('needs -c for -t', async () => {
    const h = harness();
    assert.equal(await runCli(['-t'], h.deps), 1);
    assert.deepEqual(h.err, ['nats-server: must specify [-c, --config] option to check configuration file syntax\n']);
  });

  it('reports a valid file with -t and does not start', async () => {
    const h = harness({}, { 'a.conf': {} });
    assert.equal(await runCli(['-c', 'a.conf', '-t'], h.deps), 0);
    assert.deepEqual(h.err, ['nats-server: configuration file a.conf is valid\n']);
    assert.deepEqual(h.calls, ['load a.conf']);
  });

  it('prints config errors with the reference text', async () => {
    const h = harness();
    assert.equal(await runCli(['-c', '/nonexist.conf'], h.deps), 1);
    assert.deepEqual(h.err, ['nats-server: open /nonexist.conf: no such file or directory\n']);
  });

  it('prints warnings and goes on, but fails -t on them', async () => {
    const cfg = { 'w.conf': { warnings: ['w.conf:1:1: invalid use of field "x": y', 'w.conf:2:1: second'] } };
    const t = harness({}, cfg);
    assert.equal(await runCli(['-c', 'w.conf', '-t'], t.deps), 1);
    assert.deepEqual(t.err, ['nats-server: w.conf:1:1: invalid use of field "x": y\nw.conf:2:1: second\n\n']);

    const h = harness({}, cfg);
    const code = runCli(['-c', 'w.conf'], h.deps);
    await h.startedP;
    assert.deepEqual(h.err, ['w.conf:1:1: invalid use of field "x": y\nw.conf:2:1: second\n']);
    h.signals.emit('SIGINT', 'SIGINT');
    assert.equal(await code, 0);
  });

  it('starts with the file options overridden by flags', async () => {
    const h = harness({}, { 's.conf': { options: { port: 5222, serverName: 'file', debug: true } } });
    const code = runCli(['-c', 's.conf', '-p', '6222'], h.deps);
    await h.startedP;
    const o = h.started[0].opts;
    assert.equal(o.port, 6222);
    assert.equal(o.serverName, 'file');
    assert.equal(o.configFile, 's.conf');
    h.signals.emit('SIGINT', 'SIGINT');
    assert.equal(await code, 0);
  });

  it('reports flag/option conflicts', async () => {
    const h = harness();
    assert.equal(await runCli(['--routes', 'nats://a:1'], h.deps), 1);
    assert.deepEqual(h.err, ['nats-server: solicited routes require cluster capabilities, e.g. --cluster\n']);
  });

  it('fails like log.Fatalf when the log file cannot be opened', async () => {
    const h = harness({ createLogger: undefined });
    const file = join(dir, 'missing', 'x.log');
    assert.equal(await runCli(['-l', file], h.deps), 1);
    assert.equal(h.err.length, 1);
    assert.match(h.err[0], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d error opening file: open .*: no such file or directory\n$/);
    assert.ok(h.err[0].includes(file));
    assert.equal(h.started.length, 0);
  });
});

describe('runCli: running server', () => {
  it('reloads on SIGHUP, logs a failure, reopens on SIGUSR1, stops on SIGINT with 0', async () => {
    const h = harness();
    const code = runCli(['-D', '-T=false'], h.deps);
    await h.startedP;
    h.signals.emit('SIGHUP', 'SIGHUP');
    h.signals.emit('SIGUSR1', 'SIGUSR1');
    await new Promise((r) => setImmediate(r));
    h.signals.emit('SIGINT', 'SIGINT');
    assert.equal(await code, 0);
    assert.deepEqual(h.calls, ['reload', 'reopenLog', 'shutdown']);
    assert.deepEqual(h.logs, [
      '[77] [INF] Server is ready\n',
      '[77] [DBG] Trapped "hangup" signal\n',
      '[77] [DBG] Trapped "user defined signal 1" signal\n',
      '[77] [INF] File log re-open ignored, not a file logger\n',
      '[77] [ERR] Failed to reload server configuration: config reload not supported for ServerName: old=a, new=b\n',
      '[77] [DBG] Trapped "interrupt" signal\n',
    ]);
    assert.equal(h.signals.listenerCount('SIGINT'), 0);
    assert.equal(h.signals.listenerCount('SIGHUP'), 0);
  });

  it('exits 1 on SIGTERM, as the reference does', async () => {
    const h = harness();
    const code = runCli([], h.deps);
    await h.startedP;
    h.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await code, 1);
    assert.deepEqual(h.calls, ['shutdown']);
  });

  it('runs lame duck mode on SIGUSR2, ignores SIGTERM meanwhile, and exits 0 after', async () => {
    const h = harness();
    const code = runCli([], h.deps);
    await h.startedP;
    h.signals.emit('SIGUSR2', 'SIGUSR2');
    h.signals.emit('SIGTERM', 'SIGTERM');
    h.signals.emit('SIGUSR2', 'SIGUSR2');
    h.handle.finishLameDuck();
    assert.equal(await code, 0);
    assert.deepEqual(h.calls, ['lameDuck']);
  });

  it('handles a signal that arrived while the server was starting', async () => {
    const h = harness();
    const base = h.deps.startServer;
    h.deps.startServer = async (o, l) => {
      h.signals.emit('SIGINT', 'SIGINT');
      return base(o, l);
    };
    assert.equal(await runCli([], h.deps), 0);
    assert.deepEqual(h.calls, ['shutdown']);
  });

  it('writes the pid file after start and removes it at exit', async () => {
    const pidFile = join(dir, 'srv.pid');
    const h = harness({ pid: 4242 });
    const code = runCli(['-P', pidFile], h.deps);
    await h.startedP;
    await new Promise((r) => setImmediate(r));
    assert.equal(readFileSync(pidFile, 'utf8'), '4242');
    h.signals.emit('SIGINT', 'SIGINT');
    assert.equal(await code, 0);
    assert.equal(existsSync(pidFile), false);
  });

  it('stops with [FTL] when the pid file cannot be written', async () => {
    const pidFile = join(dir, 'nodir', 'srv.pid');
    const h = harness();
    assert.equal(await runCli(['-P', pidFile, '-T=false'], h.deps), 1);
    assert.deepEqual(h.calls, ['shutdown']);
    assert.equal(h.logs.at(-1), `[77] [FTL] Could not write pidfile: open ${pidFile}: no such file or directory\n`);
  });

  it('prints start errors unless the server already logged them', async () => {
    const a = harness({
      startServer: async () => {
        throw new Error('maximum payload exceeds maximum pending');
      },
    });
    assert.equal(await runCli([], a.deps), 1);
    assert.deepEqual(a.err, ['nats-server: maximum payload exceeds maximum pending\n']);
    const b = harness({
      startServer: async () => {
        throw Object.assign(new Error('listen failed'), { logged: true });
      },
    });
    assert.equal(await runCli([], b.deps), 1);
    assert.deepEqual(b.err, []);
  });

  it('ends when the server stops on its own', async () => {
    const h = harness();
    const base = h.deps.startServer;
    h.deps.startServer = async (o, l) => ({ ...(await base(o, l)), closed: Promise.resolve(3) });
    assert.equal(await runCli([], h.deps), 3);
    assert.deepEqual(h.calls, []);
  });
});
