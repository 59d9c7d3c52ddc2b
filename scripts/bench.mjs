#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --scenarios a,b] [other compare.sh flags]`:
// builds tsnats, makes sure the shared harness and the reference nats-server
// are installed, then runs ../shared/bench/compare.sh with tsnats as A and
// nats-server as B, one core each, and then the routed scenario
// (scripts/bench-routed.mjs: publisher on node 1, subscriber on node 2 of a
// 2-node cluster, a tsnats pair against a nats-server pair). The tables are
// printed and saved under bench/results/ with the date, machine and commit.
// `--scenarios` may name `routed` (alone: only the routed run); `--no-routed`
// skips it. Last, the start-up and idle-memory figures
// (scripts/startup-bench.mjs: 1, 2 and 3 servers spawned at once, spawn to
// INFO; idle RSS), saved as startup.md; `--scenarios startup` runs only
// that, `--no-startup` skips it.
// The JetStream scenarios of the harness run too (compare.sh --js;
// `--no-js` leaves them out), and after everything the JetStream figures
// the harness lacks (scripts/bench-js-extra.mjs: many subjects under limits,
// restart with 1,000 streams, retention, object store, sync_interval
// always, RSS of a 10 M-message stream; several minutes; `--no-js-extra`
// skips them, `--quick` reads 1 M messages instead of 10 M), so that one
// `npm run bench` shows every target of issue 16.
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
const wantsJs = !process.argv.includes('--no-js');
if (!fs.existsSync(path.join(cache, 'bin', 'natsload')) || natsServer === '' || (wantsJs && !fs.existsSync(path.join(cache, 'bin', 'jsbench')))) {
  // jsbench (the harness's JetStream load generator) is built from Debian's Go client
  run(path.join(harness, 'setup.sh'), wantsJs ? [] : ['--no-go']);
}
const ref = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = path.join(root, 'bench', 'results', stamp);
fs.mkdirSync(outDir, { recursive: true });
// --no-routed, and `routed` in --scenarios, are ours; the rest goes to compare.sh
let routed = true;
let compareToo = true;
let startup = true;
let js = true;
let jsExtra = true;
const passed = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--no-routed') {
    routed = false;
  } else if (argv[i] === '--no-startup') {
    startup = false;
  } else if (argv[i] === '--no-js') {
    js = false;
  } else if (argv[i] === '--no-js-extra') {
    jsExtra = false;
  } else if (argv[i] === '--scenarios' && i + 1 < argv.length) {
    const list = argv[++i].split(',').map((x) => x.trim()).filter(Boolean);
    routed = list.includes('routed');
    startup = list.includes('startup');
    jsExtra = list.includes('js-extra');
    const rest = list.filter((x) => x !== 'routed' && x !== 'startup' && x !== 'js-extra');
    if (rest.length === 0) compareToo = false;
    else passed.push('--scenarios', rest.join(','));
  } else {
    passed.push(argv[i]);
  }
}
if (js && !passed.includes('--scenarios') && !passed.includes('--js')) passed.push('--js');
const routedArgs = [];
for (let i = 0; i < passed.length; i++) {
  if (passed[i] === '--quick') routedArgs.push('--quick');
  else if (['--rounds', '--scale'].includes(passed[i]) && i + 1 < passed.length) routedArgs.push(passed[i], passed[i + 1]);
}
const args = [
  '--a', `node ${path.join(root, 'dist/src/main.js')} -a 127.0.0.1 -p {port}`,
  '--a-name', 'tsnats',
  '--b-bin', ref,
  '--b-name', 'nats-server',
  '--out', outDir,
  ...passed,
];
// TSNATS_COMMIT names the commit when the tree is not a git checkout (an export of one)
let commit = process.env.TSNATS_COMMIT ?? 'unknown';
try {
  if (!process.env.TSNATS_COMMIT) commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
} catch {}
console.log(`bench: tsnats ${commit} vs ${ref} on ${os.cpus().length}x ${os.cpus()[0]?.model ?? '?'} (${os.platform()} ${os.release()})`);
if (compareToo) {
  run(compare, args);
  const table = path.join(outDir, 'table.md');
  if (fs.existsSync(table)) {
    const header = `# tsnats ${commit} vs nats-server, ${new Date().toISOString()}\n\n`;
    fs.writeFileSync(table, header + fs.readFileSync(table, 'utf8'));
    console.log(`bench: table saved to ${path.relative(root, table)}`);
  }
}
if (routed) run('node', [path.join(root, 'scripts', 'bench-routed.mjs'), '--out', outDir, ...routedArgs]);
if (startup) {
  const quick = passed.includes('--quick') ? ['--quick'] : [];
  const r = spawnSync('node', [path.join(root, 'scripts', 'startup-bench.mjs'), ...quick, '--json', path.join(outDir, 'startup.json')], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    console.error(`bench: startup-bench failed (${r.status})`);
    process.exit(r.status ?? 1);
  }
  fs.writeFileSync(path.join(outDir, 'startup.md'), `# tsnats ${commit} start-up, ${new Date().toISOString()}\n\n${r.stdout}`);
  console.log(`bench: start-up table saved to ${path.relative(root, path.join(outDir, 'startup.md'))}`);
}
if (jsExtra) {
  const extra = passed.includes('--quick') ? ['--rss-msgs', '1000000'] : [];
  const r = spawnSync('node', [path.join(root, 'scripts', 'bench-js-extra.mjs'), ...extra], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    console.error(`bench: bench-js-extra failed (${r.status})`);
    process.exit(r.status ?? 1);
  }
  fs.writeFileSync(path.join(outDir, 'js-extra.md'), `# tsnats ${commit} JetStream extra figures, ${new Date().toISOString()}\n\n${r.stdout}`);
  console.log(`bench: JetStream extra table saved to ${path.relative(root, path.join(outDir, 'js-extra.md'))}`);
}
