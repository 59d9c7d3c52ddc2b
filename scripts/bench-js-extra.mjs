#!/usr/bin/env node
// JetStream figures the shared harness lacks (issue 16), tsnats against
// nats-server, each on its own fresh store, one pinned core each when
// taskset exists:
//   subjects   many subjects under limits (nats-server issue #4043): a file
//              stream `foo.>` filled to its limit (and at least 10,000
//              publishes, untimed, to warm up), then --limit-msgs (20,000)
//              async publishes of 200 B round-robin over 1, 16, 256, 1,024
//              and 4,096 subjects, every one replacing the oldest message.
//              Shapes: max_msgs 10,000 (+ max_bytes 1 GB, as #4043 with its
//              100,000 scaled down), max_msgs_per_subject 10, and
//              max_msgs_per_subject 1. The publisher is raw protocol (PUB with
//              a reply inbox per message, 1,024 acks outstanding), not
//              nats.js: the client must not be the bound.
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
// Elsewhere the client is the official nats.js client (it bounds the rates
// it can measure; both servers see the same client).
//   node scripts/bench-js-extra.mjs [--only subjects|startup|retention|obj|sync|rss[,...]]
//        [--msgs N] [--limit-msgs N] [--streams N] [--per-stream N] [--objects N] [--rss-msgs N]
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
const LIMIT_MSGS = Number(opt('--limit-msgs', '20000'));
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

/** user+system CPU seconds of a process so far */
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime + stime, in clock ticks (100 a second on Linux)
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Raw-protocol async publisher: `n` PUBs of `size` bytes, each with its own
 * reply inbox (as clients do), at most `window` acks outstanding (refilled by
 * half-windows), done when every PubAck is in. Resolves { rate, errors,
 * firstErr }. One string write per refill: far lighter than nats.js, so the
 * server, not the client, bounds the rate.
 */
function rawPublish(hostport, subjectOf, n, size, window = 1024) {
  const [host, port] = hostport.split(':');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host);
    sock.setNoDelay(true);
    const payload = 'x'.repeat(size);
    let buf = Buffer.alloc(0);
    let started = false;
    let sent = 0;
    let acked = 0;
    let errors = 0;
    let firstErr = '';
    let t0 = 0;
    const fail = (e) => {
      sock.destroy();
      reject(e);
    };
    const pump = () => {
      const room = window - (sent - acked);
      if (room < window >> 1 || sent >= n) return;
      const end = Math.min(n, sent + room);
      let out = '';
      for (let i = sent; i < end; i++) out += `PUB ${subjectOf(i)} _INBOX.raw.${i} ${size}\r\n${payload}\r\n`;
      sent = end;
      sock.write(out);
    };
    sock.on('error', fail);
    sock.on('close', () => {
      if (acked < n) fail(new Error(`rawPublish: connection closed after ${acked} of ${n} acks`));
    });
    sock.on('data', (d) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let p = 0;
      for (;;) {
        const e = buf.indexOf('\r\n', p);
        if (e < 0) break;
        if (buf[p] === 0x4d /* MSG: a PubAck */) {
          const len = Number(buf.toString('latin1', buf.lastIndexOf(0x20, e) + 1, e));
          if (e + 2 + len + 2 > buf.length) break;
          const body = buf.toString('latin1', e + 2, e + 2 + len);
          if (body.includes('"error"')) {
            errors++;
            if (firstErr === '') firstErr = body;
          }
          acked++;
          p = e + 2 + len + 2;
          continue;
        }
        const line = buf.toString('latin1', p, e);
        p = e + 2;
        if (line.startsWith('PING')) sock.write('PONG\r\n');
        else if (line.startsWith('-ERR')) return fail(new Error(`rawPublish: ${line}`));
        else if (line.startsWith('INFO') && !started) {
          sock.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"name":"rawpub"}\r\nSUB _INBOX.raw.* 1\r\nPING\r\n');
        } else if (line.startsWith('PONG') && !started) {
          started = true;
          t0 = performance.now();
        }
      }
      buf = p >= buf.length ? Buffer.alloc(0) : buf.subarray(p);
      if (!started) return;
      if (acked >= n) {
        sock.removeAllListeners('close');
        sock.end();
        resolve({ rate: n / ((performance.now() - t0) / 1000), errors, firstErr });
        return;
      }
      pump();
    });
  });
}

/** the many-subjects shapes: stream limits, and how many messages fill the stream to them */
const LIMIT_SHAPES = {
  max_msgs: { label: 'max_msgs 10,000', cfg: { max_msgs: 10_000, max_bytes: 1 << 30 }, fill: () => 10_000, stored: (n) => 10_000 },
  per_subject: { label: 'max_msgs_per_subject 10', cfg: { max_msgs_per_subject: 10 }, fill: (n) => n * 10, stored: (n) => n * 10 },
  per_subject_1: { label: 'max_msgs_per_subject 1', cfg: { max_msgs_per_subject: 1 }, fill: (n) => n, stored: (n) => n },
};

/**
 * One shape, n subjects: the stream is filled to its limit (and at least
 * 10,000 messages published, so that the JIT is warm) untimed, then
 * LIMIT_MSGS publishes are timed, each evicting the oldest (of the stream or
 * of its subject). Returns msgs/s and the server's msgs per CPU-second (the
 * figure to trust on a loaded machine).
 */
async function subjects(kind, shape, n) {
  const sh = LIMIT_SHAPES[shape];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsx-'));
  const s = await start(kind, dir);
  try {
    const jsm = await jetstreamManager(s.nc);
    await jsm.streams.add({ name: 'L', subjects: ['foo.>'], storage: 'file', ...sh.cfg });
    const subj = Array.from({ length: n }, (_, i) => `foo.${i}`);
    // at least 10,000 untimed: filled to the limit, and a warm JIT for tsnats
    const fill = Math.max(sh.fill(n), 10_000);
    const hp = s.nc.getServer();
    const f = await rawPublish(hp, (i) => subj[i % n], fill, 200);
    const c0 = cpuSeconds(s.pid);
    const r = await rawPublish(hp, (i) => subj[(fill + i) % n], LIMIT_MSGS, 200);
    const cpu = cpuSeconds(s.pid) - c0;
    if (f.errors + r.errors > 0) throw new Error(`${kind}: ${f.errors + r.errors} publishes failed: ${f.firstErr || r.firstErr}`);
    const si = await jsm.streams.info('L');
    const want = Math.min(sh.stored(n), fill + LIMIT_MSGS);
    if (si.state.messages !== want) throw new Error(`${kind}: ${si.state.messages} messages stored, expected ${want}`);
    return { rate: r.rate, perCpu: LIMIT_MSGS / cpu };
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
  for (const [shape, counts] of [
    ['max_msgs', [1, 16, 256, 1024, 4096]],
    ['per_subject', [1, 16, 256, 1024, 4096]],
    ['per_subject_1', [1, 1024]],
  ]) {
    for (const n of counts) {
      const t = await subjects('tsnats', shape, n);
      const g = await subjects('nats-server', shape, n);
      rows.push([`${n} subjects, ${LIMIT_SHAPES[shape].label}, msgs/s`, t.rate, g.rate]);
      console.log(
        `subjects ${LIMIT_SHAPES[shape].label}, ${n}: tsnats ${t.rate.toFixed(0)} msgs/s (${t.perCpu.toFixed(0)}/cpu-s), ` +
          `nats-server ${g.rate.toFixed(0)} msgs/s (${g.perCpu.toFixed(0)}/cpu-s), ratio ${(t.rate / g.rate).toFixed(2)} (per cpu-s ${(t.perCpu / g.perCpu).toFixed(2)})`,
      );
    }
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
