#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --scenarios a,b] [other compare.sh flags]`:
// builds tsnats, makes sure the shared harness and the reference nats-server
// are installed, then runs ../shared/bench/compare.sh with tsnats as A and
// nats-server as B, one core each. The table is printed and saved under
// bench/results/ with the date, machine and commit.
import { spawnSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const harness = process.env.NATSBENCH_DIR ?? path.resolve(root, '..', 'shared', 'bench');
const compare = path.join(harness, 'compare.sh');
if (!fs.existsSync(compare)) {
  console.error(`bench: ${compare} not found (set NATSBENCH_DIR to the shared bench folder)`);
  process.exit(2);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`bench: ${cmd} ${args.join(' ')} failed (${r.status})`);
    process.exit(r.status ?? 1);
  }
}

run('npm', ['run', 'build', '--silent']);
const cache = process.env.NATSBENCH_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'natsbench');
const natsServer = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
if (!fs.existsSync(path.join(cache, 'bin', 'natsload')) || natsServer === '') {
  run(path.join(harness, 'setup.sh'), ['--no-go']);
}
const ref = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = path.join(root, 'bench', 'results', stamp);
fs.mkdirSync(outDir, { recursive: true });
const args = [
  '--a', `node ${path.join(root, 'dist/src/main.js')} -a 127.0.0.1 -p {port}`,
  '--a-name', 'tsnats',
  '--b-bin', ref,
  '--b-name', 'nats-server',
  '--out', outDir,
  ...process.argv.slice(2),
];
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
} catch {}
console.log(`bench: tsnats ${commit} vs ${ref} on ${os.cpus().length}x ${os.cpus()[0]?.model ?? '?'} (${os.platform()} ${os.release()})`);
run(compare, args);
const table = path.join(outDir, 'table.md');
if (fs.existsSync(table)) {
  const header = `# tsnats ${commit} vs nats-server, ${new Date().toISOString()}\n\n`;
  fs.writeFileSync(table, header + fs.readFileSync(table, 'utf8'));
  console.log(`bench: table saved to ${path.relative(root, table)}`);
}
