#!/usr/bin/env node
// `node scripts/startup-bench.mjs [--runs 20] [--counts 1,2,3] [--idle-ms 3000]
//   [--tsnats "node dist/src/tsnats.cjs"] [--cmd name=command ...] [--ref nats-server]
//   [--no-ref] [--quick] [--in-process-runs 20] [--json FILE]`
//
// How fast a server process is ready for clients, the way client test
// suites use one: spawn N servers together (N in --counts), each on its own
// free port, and time each from spawn until a TCP connection to its port
// gets the INFO line. A round is repeated --runs times; the table gives the
// median (and min..max) of the per-server times over all rounds. Then the
// idle footprint: one server started, left alone --idle-ms, its RSS
// (/proc/<pid>/status VmRSS). The same for the reference nats-server when
// it is on the PATH, as the yardstick. `--cmd name=command` (repeatable)
// measures those commands instead of tsnats, their rounds interleaved so
// that a change of machine load hits all alike: how before/after figures of
// a change are taken on a shared machine.
//
// Last, the embedded start (issue 19): in --in-process-runs fresh Node
// processes, the time of `await import()` of the package's main export
// ("exports" of package.json, what `import { Server } from 'tsnats'`
// loads) and of `new Server({port: -1}).start()` until it listens (the
// first server of the process, so what start() loads lazily counts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POLL_MS = Number(process.env.STARTUP_POLL_MS ?? 2);

function parseArgs(argv) {
  const a = {
    runs: 20,
    counts: [1, 2, 3],
    idleMs: 3000,
    tsnats: `${process.execPath} ${path.join(root, 'dist/src/tsnats.cjs')}`,
    ref: 'nats-server',
    noRef: false,
    json: '',
    extra: [],
    inProcessRuns: 20,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--runs': a.runs = Number(v); i++; break;
      case '--counts': a.counts = v.split(',').map(Number); i++; break;
      case '--idle-ms': a.idleMs = Number(v); i++; break;
      case '--tsnats': a.tsnats = v; i++; break;
      case '--cmd': {
        // --cmd name=command (repeatable): compare builds, e.g. before/after a change
        const eq = v.indexOf('=');
        a.extra.push([v.slice(0, eq), v.slice(eq + 1)]);
        i++;
        break;
      }
      case '--ref': a.ref = v; i++; break;
      case '--no-ref': a.noRef = true; break;
      case '--json': a.json = v; i++; break;
      case '--in-process-runs': a.inProcessRuns = Number(v); i++; break;
      case '--quick': a.runs = 7; a.idleMs = 2000; a.inProcessRuns = 7; break;
      default:
        console.error(`startup-bench: unknown argument ${argv[i]}`);
        process.exit(2);
    }
  }
  return a;
}

/** Free TCP ports, held together while choosing so that they differ. */
async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One connection attempt: resolves true once an INFO line arrived, false if refused. */
function tryInfo(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('INFO '));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

/**
 * CPU time a process has used so far, all threads (ns in
 * /proc/<pid>/task/<tid>/schedstat): less sensitive than wall time to what
 * else runs on the machine.
 */
function cpuMs(pid) {
  let ns = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}

/** {ms, cpuMs} from t0 until `port` answers INFO; polls every POLL_MS. */
async function waitInfo(port, t0, child, limitMs = 20000) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server on port ${port} exited with ${child.exitCode}`);
    if (await tryInfo(port)) return { ms: performance.now() - t0, cpuMs: cpuMs(child.pid) };
    if (performance.now() - t0 > limitMs) throw new Error(`server on port ${port} not ready after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function startServer(cmd, port) {
  const [bin, ...args] = cmd.split(' ').filter(Boolean);
  return spawn(bin, [...args, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** N servers spawned together: each one's spawn-to-INFO time. */
async function round(cmd, n) {
  const ports = await freePorts(n);
  const children = [];
  const times = [];
  try {
    const waits = ports.map((port) => {
      const t0 = performance.now();
      const child = startServer(cmd, port);
      children.push(child);
      return waitInfo(port, t0, child);
    });
    times.push(...(await Promise.all(waits)));
  } finally {
    await Promise.all(children.map(stop));
  }
  return times;
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function idleRss(cmd, idleMs) {
  const [port] = await freePorts(1);
  const child = startServer(cmd, port);
  try {
    await waitInfo(port, performance.now(), child);
    await new Promise((r) => setTimeout(r, idleMs));
    return rssKiB(child.pid) / 1024;
  } finally {
    await stop(child);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Every target, rounds interleaved so that they see the same machine load. */
async function measureAll(targets, a) {
  const res = targets.map(([name, cmd]) => ({ name, cmd, startup: {}, idleRssMB: 0 }));
  for (const n of a.counts) {
    const all = res.map(() => []);
    for (let r = 0; r < a.runs; r++) {
      for (let t = 0; t < targets.length; t++) all[t].push(...(await round(targets[t][1], n)));
    }
    for (let t = 0; t < targets.length; t++) {
      const ms = all[t].map((x) => x.ms);
      res[t].startup[n] = {
        median: median(ms),
        min: Math.min(...ms),
        max: Math.max(...ms),
        cpuMedian: median(all[t].map((x) => x.cpuMs)),
        samples: ms.length,
      };
    }
  }
  for (let t = 0; t < targets.length; t++) res[t].idleRssMB = await idleRss(targets[t][1], a.idleMs);
  return res;
}

/** The package's main export, as `import ... from 'tsnats'` resolves it. */
function mainExport() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const e = pkg.exports?.['.'];
  return path.join(root, (typeof e === 'string' ? e : e?.import ?? e?.default) ?? pkg.main);
}

/** One fresh process: {importMs, startMs} of the embedding API. */
function inProcessOnce(file) {
  const code = [
    `const t0 = performance.now();`,
    `const { Server } = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    `const t1 = performance.now();`,
    `const s = new Server({ host: '127.0.0.1', port: -1 });`,
    `await s.start();`,
    `const t2 = performance.now();`,
    `if (!(s.port > 0)) throw new Error('not listening');`,
    `process.stdout.write(JSON.stringify({ importMs: t1 - t0, startMs: t2 - t1 }));`,
    `await s.shutdown();`,
    `process.exit(0);`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`in-process start failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function inProcess(runs) {
  const file = mainExport();
  const xs = [];
  for (let i = 0; i < runs; i++) xs.push(inProcessOnce(file));
  const stat = (k) => ({ median: median(xs.map((x) => x[k])), min: Math.min(...xs.map((x) => x[k])), max: Math.max(...xs.map((x) => x[k])) });
  return { file: path.relative(root, file), runs, import: stat('importMs'), start: stat('startMs') };
}

const a = parseArgs(process.argv.slice(2));
const targets = a.extra.length > 0 ? [...a.extra] : [['tsnats', a.tsnats]];
if (!a.noRef) {
  const found = spawnSync('sh', ['-c', `command -v ${a.ref}`], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') targets.push(['nats-server', found]);
  else console.error(`startup-bench: ${a.ref} not found, measuring tsnats only`);
}
const results = await measureAll(targets, a);
const embedded = a.inProcessRuns > 0 && a.extra.length === 0 ? inProcess(a.inProcessRuns) : null;

const f = (x) => x.toFixed(0);
const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const lines = [
  `Start-up: spawn to INFO on a TCP connection, ms, median (min..max) of ${a.runs} rounds; ` +
    `CPU: the server's CPU time (all threads) when ready, median; idle RSS after ${a.idleMs} ms. ` +
    `${os.cpus().length} CPUs, load average at the end ${load}`,
  '',
  `| server | ${a.counts.map((n) => `${n} at once`).join(' | ')} | CPU (1 at once) | idle RSS MB |`,
  `| --- | ${a.counts.map(() => '---').join(' | ')} | --- | --- |`,
];
for (const r of results) {
  const cells = a.counts.map((n) => {
    const s = r.startup[n];
    return `${f(s.median)} (${f(s.min)}..${f(s.max)})`;
  });
  const first = r.startup[a.counts[0]];
  lines.push(`| ${r.name} | ${cells.join(' | ')} | ${f(first.cpuMedian)} | ${r.idleRssMB.toFixed(1)} |`);
}
if (embedded !== null) {
  const g = (x) => `${x.median.toFixed(1)} (${x.min.toFixed(1)}..${x.max.toFixed(1)})`;
  lines.push(
    '',
    `Embedded (${embedded.file}), ms, median (min..max) of ${embedded.runs} fresh processes: ` +
      `import ${g(embedded.import)}; new Server({port: -1}).start() until listening ${g(embedded.start)}`,
  );
}
console.log(lines.join('\n'));
if (a.json !== '') fs.writeFileSync(a.json, JSON.stringify({ runs: a.runs, results, embedded }, null, 2) + '\n');
