#!/usr/bin/env node
// Routed pub/sub: publisher on node 1, subscriber on node 2 of a 2-node
// cluster; a tsnats pair (A) against a nats-server pair (B).
//
// The shared harness (../shared/bench) drives one server per run and its
// natsload connects every client to one URL, so this script does the
// cluster part itself, the way compare.sh does a run: fresh servers for
// every run (both nodes pinned to the server CPU, the load generator to the
// other one), a warm-up run of 10% of the messages, rounds alternating A,B
// then B,A, medians and min..max. The load generator is natsload itself,
// compiled from the harness's source with two small additions (environment
// variables, so its command line stays the same):
//   NATSLOAD_PUB_SERVER=host:port   publishers connect there (subscribers to -s)
//   NATSLOAD_START_DELAY_MS=n       wait n ms after everyone is connected, so
//                                   the subscription has crossed the route
//
// node scripts/bench-routed.mjs [--quick] [--rounds N] [--scale X] [--size B] [--out DIR] [--json]
import { spawn, spawnSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const harness = process.env.NATSBENCH_DIR ?? path.resolve(root, '..', 'shared', 'bench');
const cache = process.env.NATSBENCH_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'natsbench');

const o = { rounds: 5, scale: 1, size: 128, msgs: 1_000_000, out: null, json: false, portBase: 24300, runTimeout: 120 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') { o.rounds = 3; o.scale = 0.25; }
  else if (a === '--rounds') o.rounds = Number(argv[++i]);
  else if (a === '--scale') o.scale = Number(argv[++i]);
  else if (a === '--size') o.size = Number(argv[++i]);
  else if (a === '--out') o.out = argv[++i];
  else if (a === '--json') o.json = true;
  else if (a === '--port-base') o.portBase = Number(argv[++i]);
  else if (a === '--help' || a === '-h') {
    console.log('node scripts/bench-routed.mjs [--quick] [--rounds N] [--scale X] [--size B] [--out DIR] [--port-base N]');
    process.exit(0);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ load generator
function buildGenerator() {
  const src = path.join(harness, 'natsload', 'natsload.c');
  let c = fs.readFileSync(src, 'utf8');
  const edits = [
    ['static struct sockaddr_in g_addr;', 'static struct sockaddr_in g_addr;\nstatic struct sockaddr_in g_pub_addr;\nstatic int g_pub_set = 0;'],
    ['connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr)',
      'connect(fd, (struct sockaddr *)((c->role == ROLE_PUB && g_pub_set) ? &g_pub_addr : &g_addr), sizeof g_addr)'],
    ['    resolve(url);\n',
      '    resolve(url);\n    { const char *pu = getenv("NATSLOAD_PUB_SERVER"); if (pu) { struct sockaddr_in keep = g_addr; resolve(pu); g_pub_addr = g_addr; g_addr = keep; g_pub_set = 1; } }\n'],
    ['static void start_run(void) {\n',
      'static void start_run(void) {\n    { const char *d = getenv("NATSLOAD_START_DELAY_MS"); if (d) usleep((useconds_t)atoi(d) * 1000); }\n'],
  ];
  for (const [from, to] of edits) {
    if (!c.includes(from)) throw new Error(`bench-routed: natsload.c changed, cannot find: ${from}`);
    c = c.replace(from, to);
  }
  const dir = path.join(cache, 'bin');
  fs.mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, 'natsload-routed');
  const patched = path.join(dir, 'natsload-routed.c');
  if (fs.existsSync(bin) && fs.existsSync(patched) && fs.readFileSync(patched, 'utf8') === c) return bin;
  fs.writeFileSync(patched, c);
  const r = spawnSync('cc', ['-O2', '-o', bin, patched], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bench-routed: compiling natsload-routed failed');
  return bin;
}

// ------------------------------------------------------------ servers
const ref = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
const sides = {
  A: { name: 'tsnats', cmd: (p, cp, rp) => ['node', path.join(root, 'dist/src/main.js'), '-a', '127.0.0.1', '-p', String(p),
    '--cluster', `nats://127.0.0.1:${cp}`, '--routes', `nats://127.0.0.1:${rp}`, '--cluster_name', 'bench'] },
  B: { name: 'nats-server', cmd: (p, cp, rp) => [ref, '-a', '127.0.0.1', '-p', String(p),
    '--cluster', `nats://127.0.0.1:${cp}`, '--routes', `nats://127.0.0.1:${rp}`, '--cluster_name', 'bench'], env: { GOMAXPROCS: '1' } },
};

function readProc(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuS: ticks / 100, hwmKB: hwm, rssKB: rss };
  } catch {
    return { cpuS: 0, hwmKB: 0, rssKB: 0 };
  }
}

function startNode(side, port, clusterPort, routePort, logFile) {
  const log = fs.openSync(logFile, 'a');
  const cmd = sides[side].cmd(port, clusterPort, routePort);
  const proc = spawn('taskset', ['-c', '0', ...cmd], { stdio: ['ignore', log, log], env: { ...process.env, ...(sides[side].env ?? {}) } });
  fs.closeSync(log);
  const node = { proc, pid: proc.pid, exited: false };
  proc.on('exit', () => { node.exited = true; });
  return node;
}

async function stopNode(n) {
  if (n.exited) return;
  n.proc.kill('SIGTERM');
  for (let i = 0; i < 100 && !n.exited; i++) await sleep(50);
  if (!n.exited) n.proc.kill('SIGKILL');
  for (let i = 0; i < 100 && !n.exited; i++) await sleep(50);
}

/** a raw client: resolves with { send, got, close } once INFO arrived */
function rawClient(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const c = { msgs: 0, pongs: 0, send: (t) => s.write(t), close: () => s.destroy() };
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.startsWith('INFO') && buf.includes('\r\n') && !c.ready) {
        c.ready = true;
        s.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
        resolve(c);
      }
      c.msgs += (buf.match(/\r\nMSG |^MSG /g) ?? []).length;
      c.pongs += (buf.match(/PONG\r\n/g) ?? []).length;
      const last = buf.lastIndexOf('\r\n');
      buf = last >= 0 ? buf.slice(last + 2) : buf;
      if (buf.length > 4096) buf = '';
    });
  });
}

/** wait until a message published on node 1 reaches a subscriber on node 2 (the route is up) */
async function waitRouted(p1, p2, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const sub = await rawClient(p2);
      const pub = await rawClient(p1);
      sub.send('SUB routecheck 1\r\nPING\r\n');
      for (let i = 0; i < 40 && sub.msgs === 0; i++) {
        pub.send('PUB routecheck 2\r\nok\r\n');
        await sleep(50);
      }
      const ok = sub.msgs > 0;
      sub.close();
      pub.close();
      if (ok) return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('the two nodes did not route a message within the deadline');
}

function runGen(bin, p1, p2, msgs) {
  return new Promise((resolve) => {
    const args = ['-c', '1', bin, 'tput', '-s', `127.0.0.1:${p2}`, '--pubs', '1', '--subs', '1', '--msgs', String(msgs),
      '--size', String(o.size), '--subject', 'foo', '--max-time', String(o.runTimeout)];
    const p = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NATSLOAD_PUB_SERVER: `127.0.0.1:${p1}`, NATSLOAD_START_DELAY_MS: '300' } });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ ok: false, error: `natsload exit ${code}: ${err.trim().slice(-300)}` });
      }
    });
  });
}

async function runOnce(bin, side, outDir) {
  const base = o.portBase + (side === 'A' ? 0 : 10);
  const p1 = base, p2 = base + 1, c1 = base + 2, c2 = base + 3;
  const logFile = path.join(outDir, `routed-${side}.log`);
  const n1 = startNode(side, p1, c1, c2, logFile);
  const n2 = startNode(side, p2, c2, c1, logFile);
  try {
    await waitRouted(p1, p2, 20_000);
    const msgs = Math.max(1000, Math.round(o.msgs * o.scale));
    const w = await runGen(bin, p1, p2, Math.max(1000, Math.round(msgs * 0.1)));
    if (!w.ok) return { ok: false, error: `warm-up: ${w.error}` };
    await sleep(200);
    const b1 = readProc(n1.pid), b2 = readProc(n2.pid);
    const r = await runGen(bin, p1, p2, msgs);
    const a1 = readProc(n1.pid), a2 = readProc(n2.pid);
    if (n1.exited || n2.exited) return { ok: false, error: 'a node exited during the run' };
    return { ...r, server_cpu_s: a1.cpuS - b1.cpuS + a2.cpuS - b2.cpuS, server_hwm_mb: (a1.hwmKB + a2.hwmKB) / 1024 };
  } finally {
    await Promise.all([stopNode(n1), stopNode(n2)]);
  }
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toPrecision(3)}M` : v >= 1e4 ? `${(v / 1e3).toPrecision(3)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(2));

async function main() {
  if (!fs.existsSync(path.join(root, 'dist/src/main.js'))) throw new Error('build tsnats first (npm run build)');
  const bin = buildGenerator();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = o.out ?? path.join(root, 'bench', 'results', `${stamp}-routed`);
  fs.mkdirSync(outDir, { recursive: true });
  const res = { A: [], B: [] };
  const failures = [];
  console.log(`routed: ${o.rounds} rounds, ${Math.round(o.msgs * o.scale)} msgs of ${o.size} B, node 1 <- publisher, node 2 <- subscriber; both nodes on CPU 0, natsload on CPU 1`);
  for (let round = 1; round <= o.rounds; round++) {
    for (const side of round % 2 ? ['A', 'B'] : ['B', 'A']) {
      let r;
      try {
        r = await runOnce(bin, side, outDir);
      } catch (e) {
        r = { ok: false, error: e.message };
      }
      if (r.ok) res[side].push(r);
      else failures.push(`${sides[side].name} round ${round}: ${r.error}`);
      console.log(`[round ${round}/${o.rounds}] routed ${side}: ${r.ok ? `${fmt(r.msgs_per_s)} msgs/s cpu ${r.server_cpu_s.toFixed(2)}s peak ${r.server_hwm_mb.toFixed(1)}MB client ${Math.round(100 * (r.client_busy ?? 0))}%` : `FAILED ${r.error}`}`);
    }
  }
  const metrics = [['msgs_per_s', 'msgs/s ↑'], ['mb_per_s', 'MB/s ↑'], ['server_cpu_s', 'server CPU s (both nodes) ↓'], ['server_hwm_mb', 'server peak RSS MB (both nodes) ↓']];
  const lines = [
    `| scenario | metric | A median | A min..max | B median | B min..max | A/B |`,
    `|---|---|---|---|---|---|---|`,
  ];
  for (const [k, label] of metrics) {
    const a = res.A.map((r) => r[k]), b = res.B.map((r) => r[k]);
    if (!a.length || !b.length) continue;
    lines.push(`| routed 1:1 ${o.size}B | ${label} | ${fmt(median(a))} | ${fmt(Math.min(...a))}..${fmt(Math.max(...a))} | ${fmt(median(b))} | ${fmt(Math.min(...b))}..${fmt(Math.max(...b))} | ${(median(a) / median(b)).toFixed(2)} |`);
  }
  let commit = process.env.TSNATS_COMMIT ?? 'unknown';
  try { if (!process.env.TSNATS_COMMIT) commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim(); } catch { /* */ }
  const table = `# routed pub/sub, tsnats ${commit} (A) vs nats-server (B), ${new Date().toISOString()}, ${os.cpus().length}x ${os.cpus()[0]?.model ?? '?'}\n\n`
    + `A = 2 tsnats nodes, B = 2 nats-server nodes (GOMAXPROCS=1), both nodes pinned to CPU 0, natsload to CPU 1; ${o.rounds} rounds x ${Math.round(o.msgs * o.scale)} msgs\n\n`
    + lines.join('\n') + '\n' + (failures.length ? `\nFAILED RUNS:\n${failures.map((f) => `- ${f}`).join('\n')}\n` : '');
  fs.writeFileSync(path.join(outDir, 'routed.md'), table);
  fs.writeFileSync(path.join(outDir, 'routed.json'), JSON.stringify({ o, res, failures }, null, 1));
  console.log('\n' + table);
  console.log(`routed: saved to ${path.relative(root, path.join(outDir, 'routed.md'))}`);
  if (!res.A.length || !res.B.length) process.exit(3);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
