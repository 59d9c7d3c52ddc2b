import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

import { SignalError } from '../../../src/cli/errors.js';
import {
  SIGNAL_FOR_COMMAND,
  getProcessName,
  processSignalFlag,
  resolvePids,
  sendSignal,
  setProcessName,
} from '../../../src/cli/signal.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-signal-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// A stand-in server: reports every trappable signal it gets on stdout.
const DUMMY = `
if (process.argv[1]) process.title = process.argv[1];
for (const s of ['SIGINT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGHUP']) process.on(s, () => process.stdout.write(s + '\\n'));
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
`;

interface Dummy {
  proc: ChildProcess;
  pid: number;
  next(): Promise<string>;
}

async function dummy(title = ''): Promise<Dummy> {
  const proc = spawn(process.execPath, ['-e', DUMMY, title], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise<string>((r) => (lines.length ? r(lines.shift()!) : waiters.push(r)));
  assert.equal(await next(), 'ready');
  return { proc, pid: proc.pid!, next };
}

function uniqueName(): string {
  // comm names are cut at 15 characters
  return 'tsn' + randomBytes(4).toString('hex');
}

describe('sendSignal delivers the reference signal for each command', () => {
  it('maps commands like server/signal.go', () => {
    assert.deepEqual(SIGNAL_FOR_COMMAND, {
      stop: 'SIGKILL',
      quit: 'SIGINT',
      reopen: 'SIGUSR1',
      reload: 'SIGHUP',
      ldm: 'SIGUSR2',
      term: 'SIGTERM',
    });
  });

  for (const [command, sig] of [
    ['quit', 'SIGINT'],
    ['reopen', 'SIGUSR1'],
    ['reload', 'SIGHUP'],
    ['ldm', 'SIGUSR2'],
    ['term', 'SIGTERM'],
  ] as const) {
    it(`${command} sends ${sig}`, async () => {
      const d = await dummy();
      const r = sendSignal(command, String(d.pid));
      assert.deepEqual(r, { pid: d.pid, signal: sig });
      assert.equal(await d.next(), sig);
      d.proc.kill('SIGKILL');
    });
  }

  it('stop kills with SIGKILL', async () => {
    const d = await dummy();
    const exited = once(d.proc, 'exit');
    sendSignal('stop', String(d.pid));
    const [code, signal] = await exited;
    assert.equal(code, null);
    assert.equal(signal, 'SIGKILL');
  });
});

describe('processSignalFlag (-sl value)', () => {
  it('reads the pid from a pid file', async () => {
    const d = await dummy();
    const file = join(dir, 'server.pid');
    writeFileSync(file, String(d.pid));
    processSignalFlag(`reload=${file}`);
    assert.equal(await d.next(), 'SIGHUP');
    d.proc.kill('SIGKILL');
  });

  it('uses pid file content verbatim, so a trailing newline is an invalid pid', () => {
    const file = join(dir, 'nl.pid');
    writeFileSync(file, '123\n');
    assert.throws(
      () => processSignalFlag(`reload=${file}`),
      (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_INVALID_PID' && e.message === 'invalid pid: 123\n',
    );
  });

  it('rejects more than one =', () => {
    assert.throws(() => processSignalFlag('stop=1=2'), (e: unknown) => e instanceof SignalError && e.message === 'invalid signal parameters: [2]');
    assert.throws(() => processSignalFlag('stop=1=2=3'), (e: unknown) => e instanceof SignalError && e.message === 'invalid signal parameters: [2 3]');
  });

  it('checks the pid before the command, like the reference', async () => {
    assert.throws(() => processSignalFlag('stop=abc'), (e: unknown) => e instanceof SignalError && e.message === 'invalid pid: abc');
    assert.throws(() => processSignalFlag('bogus=abc'), (e: unknown) => e instanceof SignalError && e.message === 'invalid pid: abc');
    const d = await dummy();
    assert.throws(
      () => processSignalFlag(`bogus=${d.pid}`),
      (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_UNKNOWN' && e.message === 'unknown signal "bogus"',
    );
    d.proc.kill('SIGKILL');
  });

  it('reports kill(2) errors with Go texts', () => {
    const esrch = Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    assert.throws(
      () =>
        processSignalFlag('quit=999999', {
          kill: () => {
            throw esrch;
          },
        }),
      (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_KILL' && e.message === 'no such process',
    );
  });
});

describe('finding the server without a pid', () => {
  it('signals the only process with the server process name', async () => {
    const name = uniqueName();
    const d = await dummy(name);
    const saved = getProcessName();
    setProcessName(name);
    try {
      assert.deepEqual(resolvePids(name), [d.pid]);
      processSignalFlag('reopen');
      assert.equal(await d.next(), 'SIGUSR1');
    } finally {
      setProcessName(saved);
      d.proc.kill('SIGKILL');
    }
  });

  it('refuses to choose between several', async () => {
    const name = uniqueName();
    const a = await dummy(name);
    const b = await dummy(name);
    const saved = getProcessName();
    setProcessName(name);
    try {
      const pids = [a.pid, b.pid].sort((x, y) => x - y);
      assert.throws(
        () => processSignalFlag('reload'),
        (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_MULTIPLE' && e.message === `multiple ${name} processes running:\n${pids[0]}\n${pids[1]}`,
      );
    } finally {
      setProcessName(saved);
      a.proc.kill('SIGKILL');
      b.proc.kill('SIGKILL');
    }
  });

  it('says when there is none', () => {
    const name = uniqueName();
    const saved = getProcessName();
    setProcessName(name);
    try {
      assert.throws(() => processSignalFlag('reload'), (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_NO_PROCESS' && e.message === `no ${name} processes running`);
      // an empty pid after '=' also means "find it"
      assert.throws(() => processSignalFlag('reload='), (e: unknown) => e instanceof SignalError && e.message === `no ${name} processes running`);
    } finally {
      setProcessName(saved);
    }
  });

  it('never targets itself', () => {
    const pids = resolvePids('node', process.pid);
    assert.ok(!pids.includes(process.pid));
    assert.throws(
      () => sendSignal('reload', '', { findPids: () => [], kill: () => assert.fail('no kill expected') }),
      (e: unknown) => e instanceof SignalError && e.code === 'SIGNAL_NO_PROCESS',
    );
  });
});
