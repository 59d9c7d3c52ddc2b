#!/usr/bin/env node
// `npm test`: runs every compiled test file under dist/test with node's test
// runner. Differential tests need the reference nats-server on PATH (or
// NATS_SERVER_BIN); they fail, never skip, when it is missing.
import { spawnSync } from 'node:child_process';

const args = ['--test', '--test-concurrency=' + (process.env.TEST_CONCURRENCY ?? '4')];
if (process.env.TEST_REPORTER) args.push('--test-reporter=' + process.env.TEST_REPORTER);
const targets = process.argv.slice(2);
args.push(...(targets.length ? targets : ['dist/test']));
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
