// Differential tests, command line: the reference nats-server and tsnats'
// runCli get the same arguments; stdout, stderr and the exit code must be
// identical. Only cases that stop before a server would start are used (the
// reference is never left listening). Exceptions, checked by shape: -v names
// tsnats, and --help_tls lists ciphers/curves in Go map order, which changes
// on every run of the reference.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';

import { runCli, type RunCliDeps } from '../../src/cli/run.js';
import { TSNATS_VERSION } from '../../src/version.js';
import { referenceBinary } from '../helpers/servers.js';

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

function reference(argv: string[]): Outcome {
  const r = spawnSync(referenceBinary(), argv, { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' });
  // A missing reference must fail the test, never skip it.
  assert.equal(r.error, undefined, `cannot run the reference ${referenceBinary()}: ${r.error?.message}`);
  assert.notEqual(r.status, null, `reference did not exit for ${argv.join(' ')}`);
  return { status: r.status!, stdout: r.stdout, stderr: r.stderr };
}

async function tsnats(argv: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const deps: RunCliDeps = {
    loadConfigFile: () => assert.fail('no config file is involved'),
    startServer: () => assert.fail('no server may start'),
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    signals: new EventEmitter(),
    setProcessTitle: false,
    signalDeps: { kill: () => assert.fail('no signal may be sent'), findPids: () => assert.fail('no lookup expected') },
  };
  const status = await runCli(argv, deps);
  return { status, stdout, stderr };
}

const CASES: string[][] = [
  ['-h'],
  ['--help'],
  ['help'],
  ['HELP'],
  ['-p', '1', 'help'],
  ['--bogus'],
  ['--bogus=1'],
  ['-v', '--bogus'],
  ['-p', 'abc'],
  ['-p=abc'],
  ['--port', '1e3'],
  ['-p', '99999999999999999999'],
  ['-p'],
  ['-p='],
  ['-c'],
  ['-T=maybe'],
  ['-D=yes'],
  ['--log_size_limit', 'abc'],
  ['---p', '1'],
  ['-=x'],
  ['-'],
  ['foo'],
  ['-p', '1', 'extra'],
  ['-t'],
  ['-sl'],
  ['-sl', 'bogus=1'],
  ['-sl', 'stop=1=2'],
  ['-sl', 'stop=1=2=3'],
  ['-sl', 'stop=abc'],
  ['--signal=reload=x'],
  ['--routes', 'nats://a:1'],
  ['--tls'],
  ['--tls', '--tlscert', 'x'],
  ['--tlsverify'],
  ['--cluster', 'nats://u@h:1'],
  ['--cluster', 'foo'],
  ['--cluster', 'nats://127.0.0.1'],
  ['--cluster', 'nats://127.0.0.1:'],
  ['--cluster', 'nats://127.0.0.1:abc'],
  ['--cluster', '127.0.0.1:5000'],
  ['--cluster', 'nats://u%zz:p@h:1'],
];

describe('command line matches the reference', () => {
  for (const argv of CASES) {
    it(`nats-server ${argv.map((a) => JSON.stringify(a)).join(' ')}`, async () => {
      const ref = reference(argv);
      const ours = await tsnats(argv);
      assert.deepEqual(ours, ref);
    });
  }
});

describe('version and TLS help', () => {
  it('-v is the reference line, with the tsnats version after it', async () => {
    const ref = reference(['-v']);
    const m = /^nats-server: v(\S+)\n$/.exec(ref.stdout);
    assert.ok(m, `unexpected reference version output ${JSON.stringify(ref.stdout)}`);
    for (const argv of [['-v'], ['--version'], ['version']]) {
      const ours = await tsnats(argv);
      assert.equal(ours.status, ref.status);
      assert.equal(ours.stderr, ref.stderr);
      assert.equal(ours.stdout, `nats-server: v${m[1]} (tsnats ${TSNATS_VERSION})\n`);
    }
  });

  it('--help_tls has the reference text and the same ciphers and curves', async () => {
    const ref = reference(['--help_tls']);
    const ours = await tsnats(['--help_tls']);
    assert.equal(ours.status, ref.status);
    assert.equal(ours.stderr, ref.stderr);
    const split = (s: string) => {
      const a = s.indexOf('Available cipher suites include:\n');
      const b = s.indexOf('\nAvailable curve preferences include:\n');
      assert.ok(a > 0 && b > a, 'sections present');
      const list = (t: string) => t.split('\n').filter((l) => l !== '');
      return {
        head: s.slice(0, a),
        ciphers: list(s.slice(a + 'Available cipher suites include:\n'.length, b)).sort(),
        curves: list(s.slice(b + '\nAvailable curve preferences include:\n'.length)).sort(),
        endsWithNewline: s.endsWith('\n'),
      };
    };
    assert.deepEqual(split(ours.stdout), split(ref.stdout));
  });
});
