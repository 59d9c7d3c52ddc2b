#!/usr/bin/env node
// JetStream figures the shared harness lacks (issue 16), tsnats against
// nats-server, each on its own fresh store, one pinned core each when
// taskset exists:
//   subjects   async publish (window 1,000) of 128 B messages spread over 1,
//              16, 256 and 1,024 subjects of a file stream with
//              max_msgs_per_subject: 1 (the reference slows down there)
//   startup    1,000 file streams of 1,000 messages each, then the time from
//              spawn until the server answers $JS.API.INFO after a restart
//   retention  interest and workqueue file streams: async publish (window
//              1,000) while a pull consumer fetches and acks; msgs/s until
//              every message is acked and the stream is empty
//   obj        object store (file): put then get of --objects 1 MiB objects,
//              MiB/s each
//   sync       async publish (window 1,000) of 128 B to a file stream, tsnats
//              with `jetstream { sync_interval: always }` (every ack after an
//              fdatasync) against the reference at its default (2.9.10 syncs
//              every 60 s)
//   rss        --rss-msgs (10 M) messages of 128 B loaded into a file
//              stream, the server restarted, the whole stream read with an
//              ordered consumer: peak RSS (VmHWM) of the restarted server
// The client is the official nats.js client (it bounds the rates it can
// measure; both servers see the same client).
//   node scripts/bench-js-extra.mjs [--only subjects|startup|retention|obj|sync|rss[,...]]
//        [--msgs N] [--streams N] [--per-stream N] [--objects N] [--rss-msgs N]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const onlyList = opt('--only', '').split(',').filter(Boolean);
const want = (name) => onlyList.length === 0 || onlyList.includes(name);
const MSGS = Number(opt('--msgs', '50000'));
const STREAMS = Number(opt('--streams', '1000'));
const PER_STREAM = Number(opt('--per-stream', '1000'));
const OBJECTS = Number(opt('--objects', '50'));
const RSS_MSGS = Number(opt('--rss-msgs', '10000000'));
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

/** VmHWM / VmRSS of a process in MiB */
function mem(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(st)[1]) / 1024, hwm: Number(/VmHWM:\s+(\d+)/.exec(st)[1]) / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/**
 * Starts a server on `dir` (or with the config file `conf`, which names the
 * store dir) and connects once it answers $JS.API.INFO. The server's stderr
 * is drained: left unread, the pipe fills after 64 KiB of log lines and the
 * reference blocks in its next log write — restoring 1,000 streams logs
 * more than that, which is why its restart "never came up" before.
 */
async function start(kind, dir, conf = '') {
  const port = await freePort();
  const cmd = [...SERVERS[kind], '-a', '127.0.0.1', '-p', String(port), ...(conf ? ['-c', conf] : ['-js', '-sd', dir])];
  const full = hasTaskset ? ['taskset', '-c', '0', ...cmd] : cmd;
  const t0 = performance.now();
  const proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    log += d;
    if (log.length > 100_000) log = log.slice(-50_000);
  });
  let exited = false;
  proc.once('exit', () => (exited = true));
  let nc = null;
  // the reference opens its client port only after JetStream restored every stream
  const deadline = Date.now() + 10 * 60_000;
  while (nc === null && Date.now() < deadline && !exited) {
    try {
      nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 1000, maxPingOut: 100 });
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  if (nc === null) throw new Error(`${kind} did not start:\n${log.slice(-2000)}`);
  // ready = JetStream answers (its streams are recovered)
  await nc.request('$JS.API.INFO', '', { timeout: 120_000 });
  const readyMs = performance.now() - t0;
  return {
    nc,
    readyMs,
    // taskset execs the server: same pid
    pid: proc.pid,
    async stop() {
      await nc.close().catch(() => {});
      if (!exited) {
        proc.kill('SIGTERM');
        await new Promise((r) => (exited ? r() : proc.once('exit', r)));
      }
    },
  };
}

/** async publish with a window of `w`: resolves when every ack is in */
async function publishWindow(js, subjectOf, n, payload, w = 1000) {
  for (let i = 0; i < n; i += w) {
    const batch = [];
    for (let k = 0; k < w && i + k < n; k++) batch.push(js.publish(subjectOf(i + k), payload));
    await Promise.all(batch);
  }
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
    const t0 = performance.now();
    await publishWindow(js, (i) => subj[i % n], MSGS, payload);
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

async function retention(kind, policy) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  const s = await start(kind, dir);
  try {
    const jsm = await jetstreamManager(s.nc);
    await jsm.streams.add({ name: 'R', subjects: ['r.>'], retention: policy, storage: 'file' });
    await jsm.consumers.add('R', { durable_name: 'C', ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
    const js = jetstream(s.nc);
    const payload = new Uint8Array(128);
    // the consumer on its own connection, as a separate application would be
    const cnc = await connect({ servers: s.nc.getServer(), reconnect: false });
    const c = await jetstream(cnc).consumers.get('R', 'C');
    let got = 0;
    const t0 = performance.now();
    const done = (async () => {
      const it = await c.consume({ max_messages: 1000 });
      for await (const m of it) {
        m.ack();
        if (++got === MSGS) break;
      }
    })();
    await publishWindow(js, (i) => `r.${i & 7}`, MSGS, payload);
    await done;
    // acks are fire-and-forget: done once the stream has let go of every message
    for (;;) {
      const si = await jsm.streams.info('R');
      if (si.state.messages === 0) break;
      if (performance.now() - t0 > 600_000) throw new Error(`${kind} ${policy}: ${si.state.messages} messages never acked away`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const dt = (performance.now() - t0) / 1000;
    await cnc.close();
    return MSGS / dt;
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function objectStore(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  const s = await start(kind, dir);
  try {
    const os1 = await new Objm(s.nc).create('B', { storage: 'file' });
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    let t0 = performance.now();
    for (let i = 0; i < OBJECTS; i++) await os1.putBlob({ name: `o${i}` }, data);
    const put = OBJECTS / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < OBJECTS; i++) {
      const b = await os1.getBlob(`o${i}`);
      if (b === null || b.length !== data.length || b[12345] !== data[12345]) throw new Error(`${kind}: object o${i} came back wrong`);
    }
    const get = OBJECTS / ((performance.now() - t0) / 1000);
    return { put, get };
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function syncPublish(kind, syncAlways) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  let conf = '';
  if (syncAlways) {
    conf = path.join(dir, 'server.conf');
    fs.writeFileSync(conf, `jetstream { store_dir: "${path.join(dir, 'store')}", sync_interval: always }\n`);
  }
  const s = await start(kind, dir, conf);
  try {
    const jsm = await jetstreamManager(s.nc);
    await jsm.streams.add({ name: 'SY', subjects: ['sy'], storage: 'file' });
    const js = jetstream(s.nc);
    const payload = new Uint8Array(128);
    const t0 = performance.now();
    await publishWindow(js, () => 'sy', MSGS, payload);
    return MSGS / ((performance.now() - t0) / 1000);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function bigRss(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  try {
    let s = await start(kind, dir);
    const jsm = await jetstreamManager(s.nc);
    await jsm.streams.add({ name: 'BIG', subjects: ['big'], storage: 'file' });
    // loaded with plain publishes (no acks to wait for), flushed in batches
    const payload = new Uint8Array(128);
    const t0 = performance.now();
    for (let i = 0; i < RSS_MSGS; i += 10_000) {
      for (let k = 0; k < 10_000 && i + k < RSS_MSGS; k++) s.nc.publish('big', payload);
      await s.nc.flush();
    }
    for (;;) {
      const si = await jsm.streams.info('BIG');
      if (si.state.messages >= RSS_MSGS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const loadS = (performance.now() - t0) / 1000;
    const loadPeak = mem(s.pid).hwm;
    await s.stop();
    s = await start(kind, dir);
    const afterStart = mem(s.pid);
    const c = await jetstream(s.nc).consumers.get('BIG');
    let got = 0;
    const t1 = performance.now();
    const it = await c.consume({ max_messages: 10_000 });
    for await (const m of it) {
      void m;
      if (++got === RSS_MSGS) break;
    }
    const readS = (performance.now() - t1) / 1000;
    const after = mem(s.pid);
    await s.stop();
    return { loadS, loadPeak, startRss: afterStart.rss, peak: after.hwm, endRss: after.rss, readS };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
if (want('subjects')) {
  for (const n of [1, 16, 256, 1024]) {
    const t = await subjects('tsnats', n);
    const g = await subjects('nats-server', n);
    rows.push([`${n} subjects, max_msgs_per_subject 1, msgs/s`, t, g]);
    console.log(`subjects ${n}: tsnats ${t.toFixed(0)} msgs/s, nats-server ${g.toFixed(0)} msgs/s, ratio ${(t / g).toFixed(2)}`);
  }
}
if (want('startup')) {
  const t = await startup('tsnats');
  console.log(`startup ${STREAMS} streams: tsnats ${t.toFixed(0)} ms`);
  const g = await startup('nats-server');
  rows.push([`restart with ${STREAMS} streams x ${PER_STREAM} msgs, ms to JetStream ready`, t, g]);
  console.log(`startup ${STREAMS} streams: tsnats ${t.toFixed(0)} ms, nats-server ${g.toFixed(0)} ms, ratio ${(t / g).toFixed(2)}`);
}
if (want('retention')) {
  for (const policy of ['interest', 'workqueue']) {
    const t = await retention('tsnats', policy);
    const g = await retention('nats-server', policy);
    rows.push([`${policy} retention, publish + pull consume with acks, msgs/s`, t, g]);
    console.log(`retention ${policy}: tsnats ${t.toFixed(0)} msgs/s, nats-server ${g.toFixed(0)} msgs/s, ratio ${(t / g).toFixed(2)}`);
  }
}
if (want('obj')) {
  const t = await objectStore('tsnats');
  const g = await objectStore('nats-server');
  rows.push([`object store put, 1 MiB objects/s (${OBJECTS})`, t.put, g.put]);
  rows.push([`object store get, 1 MiB objects/s (${OBJECTS})`, t.get, g.get]);
  console.log(`obj put: tsnats ${t.put.toFixed(1)}/s, nats-server ${g.put.toFixed(1)}/s, ratio ${(t.put / g.put).toFixed(2)}; get: tsnats ${t.get.toFixed(1)}/s, nats-server ${g.get.toFixed(1)}/s, ratio ${(t.get / g.get).toFixed(2)}`);
}
if (want('sync')) {
  const t = await syncPublish('tsnats', true);
  const g = await syncPublish('nats-server', false);
  const td = await syncPublish('tsnats', false);
  rows.push(['async publish, file, tsnats sync_interval always vs reference default, msgs/s', t, g]);
  console.log(`sync: tsnats (always) ${t.toFixed(0)} msgs/s, nats-server (default) ${g.toFixed(0)} msgs/s, ratio ${(t / g).toFixed(2)}; tsnats at its default ${td.toFixed(0)} msgs/s`);
}
if (want('rss')) {
  const t = await bigRss('tsnats');
  console.log(`rss tsnats: ${JSON.stringify(t)}`);
  const g = await bigRss('nats-server');
  console.log(`rss nats-server: ${JSON.stringify(g)}`);
  rows.push([`peak RSS MiB reading a ${RSS_MSGS}-message file stream (128 B) after a restart`, t.peak, g.peak]);
  rows.push([`RSS MiB after that full read`, t.endRss, g.endRss]);
  console.log(`rss ${RSS_MSGS}: peak tsnats ${t.peak.toFixed(0)} MiB, nats-server ${g.peak.toFixed(0)} MiB, ratio ${(t.peak / g.peak).toFixed(2)}`);
}
console.log('\n| scenario | tsnats | nats-server | tsnats / nats-server |\n| --- | --- | --- | --- |');
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
for (const [name, t, g] of rows) console.log(`| ${name} | ${fmt(t)} | ${fmt(g)} | ${(t / g).toFixed(2)} |`);
