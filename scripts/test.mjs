#!/usr/bin/env node
// `npm test`: makes sure what the tests need is on the machine (the reference
// nats-server for differential tests, Chromium for the dashboard test,
// openssl for test certificates; installed with apt-get when missing and we
// are root), then runs every compiled test file under dist/test with node's
// test runner. Differential tests fail, never skip, when the reference is
// missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const need = [
  ['nats-server', 'nats-server'],
  ['chromium', 'chromium'],
  ['openssl', 'openssl'],
];
const missing = need.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0).map(([, pkg]) => pkg);
if (missing.length > 0 && process.env.TSNATS_NO_INSTALL !== '1') {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (isRoot && hasApt) {
    console.log(`test: installing ${missing.join(', ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
    if (r.status !== 0) console.error('test: apt-get install failed; the tests that need it will fail');
  } else {
    console.error(`test: missing ${missing.join(', ')}: install them (e.g. apt-get install -y ${missing.join(' ')}); the tests that need them will fail`);
  }
}

const args = ['--test', '--test-concurrency=' + (process.env.TEST_CONCURRENCY ?? '3')];
// The runner's own default (spec on a terminal, tap otherwise) to stdout, and
// a list of the failed tests to stderr after everything else.
const reporter = process.env.TEST_REPORTER ?? (process.stdout.isTTY ? 'spec' : 'tap');
args.push('--test-reporter=' + reporter, '--test-reporter-destination=stdout');
args.push('--test-reporter=' + new URL('./fail-summary.mjs', import.meta.url).pathname, '--test-reporter-destination=stderr');
// Only *.test.js files: handed a directory, node's runner would also run
// every other .js file under a folder named "test" (helpers, fixtures).
function testFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}
const targets = process.argv.slice(2);
args.push(...(targets.length ? targets : testFiles('dist/test')));
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
