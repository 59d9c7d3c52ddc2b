#!/usr/bin/env node
// `node scripts/idle-rss.mjs [--minutes 60] [--every 30] [--cmd "node dist/src/tsnats.cjs"] [--json FILE]`
// `node scripts/idle-rss.mjs --starts 7 [--settle 5]`
//
// The idle footprint of a started server with no connections (issue 19):
// RSS must stay flat over an idle hour (no timer that allocates, no cache or
// history that grows without traffic). The first form starts one server
// (-a 127.0.0.1 -p <free port>), waits until its port answers INFO, closes
// that connection and then only reads /proc/<pid>/status every --every
// seconds for --minutes, printing elapsed time, VmRSS and the change since
// the first sample. The second form starts --starts servers one after the
// other, each left alone --settle seconds, and prints each one's RSS and
// the median: the "idle RSS" figure of BENCHMARKS.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rss } from './proc-stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const o = { minutes: 60, every: 30, starts: 0, settle: 5, cmd: `${process.execPath} ${path.join(root, 'dist/src/tsnats.cjs')}`, json: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const v = argv[++i];
  switch (argv[i - 1]) {
    case '--minutes': o.minutes = Number(v); break;
    case '--every': o.every = Number(v); break;
    case '--starts': o.starts = Number(v); break;
    case '--settle': o.settle = Number(v); break;
    case '--cmd': o.cmd = v; break;
    case '--json': o.json = v; break;
    default:
      console.error('usage: node scripts/idle-rss.mjs [--minutes 60] [--every 30] [--starts N --settle 5] [--cmd CMD] [--json FILE]');
      process.exit(2);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => (bytes / 1048576).toFixed(2);

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function gotInfo(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setEncoding('latin1');
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.startsWith('INFO '));
    });
    sock.once('error', () => resolve(false));
  });
}

async function start() {
  const port = await freePort();
  const [bin, ...args] = o.cmd.split(' ').filter(Boolean);
  const child = spawn(bin, [...args, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const t0 = Date.now();
  while (!(await gotInfo(port))) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() - t0 > 30000) throw new Error('server not ready in 30 s');
    await sleep(20);
  }
  return child;
}

function stop(child) {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', r);
    child.kill('SIGKILL');
  });
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

if (o.starts > 0) {
  const rs = [];
  for (let i = 0; i < o.starts; i++) {
    const child = await start();
    await sleep(o.settle * 1000);
    rs.push(rss(child.pid).rss);
    await stop(child);
    console.log(`start ${i + 1}: ${mb(rs[i])} MB`);
  }
  const s = [...rs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  console.log(`idle RSS after ${o.settle} s, ${o.starts} starts: median ${mb(med)} MB (${mb(s[0])}..${mb(s[s.length - 1])}), load ${load()}`);
  if (o.json !== '') fs.writeFileSync(o.json, JSON.stringify({ settle: o.settle, rss: rs, median: med }, null, 2) + '\n');
} else {
  const child = await start();
  const t0 = Date.now();
  const samples = [];
  console.log(`idle RSS of pid ${child.pid} (${o.cmd}), every ${o.every} s for ${o.minutes} min, started ${new Date(t0).toISOString()}`);
  const stopAll = async () => {
    await stop(child);
    process.exit(0);
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  for (let k = 1; Date.now() - t0 < o.minutes * 60000; k++) {
    await sleep(Math.max(0, t0 + k * o.every * 1000 - Date.now()));
    const r = rss(child.pid).rss;
    if (r < 0) throw new Error('server gone');
    samples.push({ s: Math.round((Date.now() - t0) / 1000), rss: r });
    console.log(`${String(samples.at(-1).s).padStart(5)} s  ${mb(r)} MB  ${r >= samples[0].rss ? '+' : ''}${((r - samples[0].rss) / 1024).toFixed(0)} KB  load ${load()}`);
    if (o.json !== '') fs.writeFileSync(o.json, JSON.stringify({ cmd: o.cmd, every: o.every, samples }, null, 2) + '\n');
  }
  await stop(child);
}
