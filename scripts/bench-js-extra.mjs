#!/usr/bin/env node
// JetStream figures the shared harness lacks (issue 16), tsnats against
// nats-server, each on its own fresh store, one pinned core each when
// taskset exists:
//   subjects  async publish (window 1,000) of 128 B messages spread over 1,
//             16, 256 and 1,024 subjects of a file stream with
//             max_msgs_per_subject: 1 (the reference slows down there)
//   startup   1,000 file streams of 1,000 messages each, then the time from
//             spawn until the server answers $JS.API.INFO after a restart
// The client is the official nats.js client (it bounds the rates it can
// measure; both servers see the same client).
//   node scripts/bench-js-extra.mjs [--only subjects|startup] [--msgs N] [--streams N]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const only = opt('--only', '');
const MSGS = Number(opt('--msgs', '50000'));
const STREAMS = Number(opt('--streams', '1000'));
const PER_STREAM = Number(opt('--per-stream', '1000'));
const hasTaskset = spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
const ref = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim();
if (ref === '') {
  console.error('bench-js-extra: nats-server not found');
  process.exit(2);
}
const SERVERS = {
  tsnats: [process.execPath, path.join(root, 'dist', 'src', 'main.js')],
  'nats-server': [ref],
};

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function start(kind, dir) {
  const port = await freePort();
  const cmd = [...SERVERS[kind], '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
  const full = hasTaskset ? ['taskset', '-c', '0', ...cmd] : cmd;
  const t0 = performance.now();
  const proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let nc = null;
  // the reference opens its client port only after JetStream restored every stream
  const deadline = Date.now() + 10 * 60_000;
  while (nc === null && Date.now() < deadline) {
    try {
      nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 1000 });
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  if (nc === null) throw new Error(`${kind} did not start`);
  // ready = JetStream answers (its streams are recovered)
  await nc.request('$JS.API.INFO', '', { timeout: 120_000 });
  const readyMs = performance.now() - t0;
  return {
    nc,
    readyMs,
    async stop() {
      await nc.close().catch(() => {});
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function subjects(kind, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  const s = await start(kind, dir);
  try {
    const jsm = await jetstreamManager(s.nc);
    await jsm.streams.add({ name: 'PS', subjects: ['ps.>'], max_msgs_per_subject: 1 });
    const js = jetstream(s.nc);
    const payload = new Uint8Array(128);
    const subj = Array.from({ length: n }, (_, i) => `ps.${i}`);
    const W = 1000;
    const t0 = performance.now();
    for (let i = 0; i < MSGS; i += W) {
      const batch = [];
      for (let k = 0; k < W && i + k < MSGS; k++) batch.push(js.publish(subj[(i + k) % n], payload));
      await Promise.all(batch);
    }
    const dt = (performance.now() - t0) / 1000;
    const si = await jsm.streams.info('PS');
    if (si.state.messages !== Math.min(n, MSGS)) throw new Error(`${kind}: ${si.state.messages} messages stored, expected ${n}`);
    return MSGS / dt;
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function startup(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  try {
    let s = await start(kind, dir);
    const jsm = await jetstreamManager(s.nc);
    const js = jetstream(s.nc);
    const payload = new Uint8Array(128);
    for (let i = 0; i < STREAMS; i++) {
      await jsm.streams.add({ name: `S${i}`, subjects: [`s.${i}`] });
      const batch = [];
      for (let k = 0; k < PER_STREAM; k++) batch.push(js.publish(`s.${i}`, payload));
      await Promise.all(batch);
    }
    await s.stop();
    s = await start(kind, dir);
    const ms = s.readyMs;
    const names = [];
    for await (const n of (await jetstreamManager(s.nc)).streams.names()) names.push(n);
    await s.stop();
    if (names.length !== STREAMS) throw new Error(`${kind}: ${names.length} streams after restart`);
    return ms;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
if (only === '' || only === 'subjects') {
  for (const n of [1, 16, 256, 1024]) {
    const t = await subjects('tsnats', n);
    const g = await subjects('nats-server', n);
    rows.push([`${n} subjects, max_msgs_per_subject 1, msgs/s`, t, g]);
    console.log(`subjects ${n}: tsnats ${t.toFixed(0)} msgs/s, nats-server ${g.toFixed(0)} msgs/s, ratio ${(t / g).toFixed(2)}`);
  }
}
if (only === '' || only === 'startup') {
  const t = await startup('tsnats');
  console.log(`startup ${STREAMS} streams: tsnats ${t.toFixed(0)} ms`);
  const g = await startup('nats-server');
  rows.push([`restart with ${STREAMS} streams x ${PER_STREAM} msgs, ms to JetStream ready`, t, g]);
  console.log(`startup ${STREAMS} streams: tsnats ${t.toFixed(0)} ms, nats-server ${g.toFixed(0)} ms, ratio ${(t / g).toFixed(2)}`);
}
console.log('\n| scenario | tsnats | nats-server | tsnats / nats-server |\n| --- | --- | --- | --- |');
for (const [name, t, g] of rows) console.log(`| ${name} | ${t.toFixed(0)} | ${g.toFixed(0)} | ${(t / g).toFixed(2)} |`);
