#!/usr/bin/env node
// Memory under sustained load: one fresh tsnats (or any nats-server-like
// binary via --server), pinned to CPU 0, driven at full rate by the shared
// harness's natsload (pinned to CPU 1) for --secs seconds (default 60).
// RSS is sampled every second; the run passes when the RSS at the end is
// within 20% of the RSS at 10 s (memory bounded: no per-message leak, no
// growth of buffers or caches with traffic).
//
// node scripts/memrun.mjs [--secs 60] [--pubs 1] [--subs 1] [--size 128] [--server 'CMD {port} [{mport}]'] [--json]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.NATSBENCH_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'natsbench');
const natsload = path.join(process.env.NATSBENCH_BIN ?? path.join(cache, 'bin'), 'natsload');
const o = { secs: 60, pubs: 1, subs: 1, size: 128, port: 0, server: null, json: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--secs') o.secs = Number(argv[++i]);
  else if (a === '--pubs') o.pubs = Number(argv[++i]);
  else if (a === '--subs') o.subs = Number(argv[++i]);
  else if (a === '--size') o.size = Number(argv[++i]);
  else if (a === '--port') o.port = Number(argv[++i]);
  else if (a === '--server') o.server = argv[++i];
  else if (a === '--json') o.json = true;
  else {
    console.error(`usage: node scripts/memrun.mjs [--secs 60] [--pubs 1] [--subs 1] [--size 128] [--port N] [--server 'CMD {port}'] [--json]`);
    process.exit(a === '--help' || a === '-h' ? 0 : 2);
  }
}
if (!fs.existsSync(natsload)) {
  console.error(`memrun: ${natsload} missing: run ../shared/bench/setup.sh (or npm run bench once)`);
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (pid) => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]) * 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)[1]) * 1024 };
  } catch {
    return { rss: -1, hwm: -1 };
  }
};
const probe = (port) =>
  new Promise((res) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('data', () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  });

const freePort = () =>
  new Promise((res, rej) => {
    const l = net.createServer().listen(0, '127.0.0.1', () => {
      const p = l.address().port;
      l.close(() => res(p));
    });
    l.on('error', rej);
  });
// a free port unless one was given: two runs must never share a server
if (o.port === 0) o.port = await freePort();
// With a monitoring port ({mport} in --server; always for tsnats) the
// subscribers' backlog is sampled too (/connz pending_bytes): RSS that
// follows the backlog is data in flight, not a leak.
const mport = await freePort();
const cmdTpl = o.server ?? `node ${path.join(root, 'dist/src/main.js')} -a 127.0.0.1 -p {port} -m {mport}`;
const monitored = cmdTpl.includes('{mport}');
const cmd = cmdTpl.split('{port}').join(String(o.port)).split('{mport}').join(String(mport));
const pendingBytes = async () => {
  if (!monitored) return null;
  try {
    const r = await fetch(`http://127.0.0.1:${mport}/connz?limit=10000`, { signal: AbortSignal.timeout(800) });
    const j = await r.json();
    return (j.connections ?? []).reduce((a, c) => a + (c.pending_bytes ?? 0), 0);
  } catch {
    return null;
  }
};
const srv = spawn('taskset', ['-c', '0', 'bash', '-c', `exec ${cmd}`], { stdio: 'ignore' });
let gen = null;
try {
  let up = false;
  for (let i = 0; i < 200 && srv.exitCode === null && !(up = await probe(o.port)); i++) await sleep(50);
  if (!up || srv.exitCode !== null) {
    console.error(`memrun: the server (${cmd}) did not come up on port ${o.port}`);
    process.exit(2);
  }
  const start = status(srv.pid);
  gen = spawn('taskset', ['-c', '1', natsload, 'tput', '-s', `127.0.0.1:${o.port}`, '--pubs', String(o.pubs), '--subs', String(o.subs),
    '--msgs', '4000000000', '--size', String(o.size), '--subject', 'foo', '--max-time', String(o.secs + 30)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  gen.stdout.on('data', (d) => { out += d; });
  const samples = [];
  const t0 = Date.now();
  for (let s = 1; s <= o.secs; s++) {
    await sleep(t0 + s * 1000 - Date.now());
    const st = status(srv.pid);
    samples.push({ s, ...st, pending: await pendingBytes() });
  }
  const done = new Promise((r) => gen.on('close', r));
  gen.kill('SIGTERM');
  // natsload prints its JSON summary on SIGTERM; one that hangs is killed
  const hung = setTimeout(() => gen.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(hung);
  if (srv.exitCode !== null) {
    console.error(`memrun: the server exited during the run (code ${srv.exitCode})`);
    process.exitCode = 2;
  }
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  let r = {};
  try { r = JSON.parse(line); } catch { /* */ }
  const at = (s) => samples.find((x) => x.s === s)?.rss ?? NaN;
  const r10 = at(Math.min(10, o.secs)), rEnd = samples[samples.length - 1].rss;
  const max = Math.max(...samples.map((x) => x.rss));
  const ratio = rEnd / r10;
  // the single samples sit on a sawtooth (GC cycles, the subscriber's backlog
  // that the fast-producer stall caps at max_pending/2): also the medians of
  // the 5 s windows ending at 10 s and at the end, for the trend
  const win = (end) => {
    const v = samples.filter((x) => x.s > end - 5 && x.s <= end).map((x) => x.rss).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  const w10 = win(Math.min(10, o.secs)), wEnd = win(o.secs);
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  const result = {
    date: new Date().toISOString(), secs: o.secs, pubs: o.pubs, subs: o.subs, size: o.size,
    msgs_delivered: r.sub_msgs ?? null, msgs_per_s: r.sub_msgs && r.elapsed_s ? r.sub_msgs / r.elapsed_s : null,
    rss_start_mb: +mb(start.rss), rss_10s_mb: +mb(r10), rss_end_mb: +mb(rEnd), rss_max_mb: +mb(max),
    end_over_10s: +ratio.toFixed(3), pass: ratio <= 1.2,
    window_10s_mb: +mb(w10), window_end_mb: +mb(wEnd), window_end_over_10s: +(wEnd / w10).toFixed(3),
    series_mb: samples.filter((x) => x.s % 5 === 0 || x.s === 1).map((x) => [x.s, +mb(x.rss)]),
    pending_mb: monitored ? samples.filter((x) => x.s % 5 === 0 || x.s === 1).map((x) => [x.s, x.pending === null ? null : +mb(x.pending)]) : null,
    pending_max_mb: monitored ? +mb(Math.max(0, ...samples.map((x) => x.pending ?? 0))) : null,
  };
  if (o.json) console.log(JSON.stringify(result));
  else {
    console.log(`memrun: ${o.pubs} pub : ${o.subs} sub, ${o.size} B, ${o.secs} s at full rate, ${result.msgs_delivered ?? '?'} messages delivered (${result.msgs_per_s ? (result.msgs_per_s / 1e6).toFixed(2) + 'M/s' : '?'})`);
    console.log(`memrun: RSS start ${result.rss_start_mb} MB, at 10 s ${result.rss_10s_mb} MB, at ${o.secs} s ${result.rss_end_mb} MB (max ${result.rss_max_mb} MB): end/10s = ${result.end_over_10s} -> ${result.pass ? 'PASS (within 20%)' : 'FAIL (grew > 20%)'}`);
    console.log(`memrun: medians of 5 s windows: ${result.window_10s_mb} MB (6-10 s), ${result.window_end_mb} MB (last 5 s): ${result.window_end_over_10s}`);
    console.log(`memrun: RSS MB by second: ${result.series_mb.map(([s, v]) => `${s}s ${v}`).join(', ')}`);
    if (result.pending_mb !== null) {
      console.log(`memrun: subscribers' backlog (connz pending_bytes) MB: ${result.pending_mb.map(([s, v]) => `${s}s ${v ?? '?'}`).join(', ')} (max ${result.pending_max_mb})`);
    }
  }
  if (process.exitCode !== 2) process.exitCode = result.pass ? 0 : 1;
} finally {
  if (gen && gen.exitCode === null) gen.kill('SIGKILL');
  srv.kill('SIGTERM');
}
