#!/usr/bin/env node
// `npm run soak -- --jetstream`: JetStream soak of the tsnats executable.
//
// Spawns `node dist/src/main.js -js` on loopback with a temporary store dir
// and runs mixed JetStream traffic through the official nats.js client for
// the set time:
//   publishers  4 publishers with acks (2 to a file stream SOAKF with limits
//               retention, max_msgs --file-max-msgs, 2 to a memory stream SOAKM with workqueue
//               retention), each a window of async publishes of sequenced
//               messages ("<publisher>:<seq>:" + padding)
//   consumers   a durable pull consumer on SOAKF and a durable push consumer
//               on SOAKM, both with explicit acks confirmed by the server
//               (ackAck); every 50th first delivery is nak'ed and every 97th
//               is left unacked until its ack_wait (2 s) runs out, so both
//               redelivery paths run all the time
//   churn       consumers created, used (fetch + ack) and deleted on SOAKF
//               every second, push consumers created and deleted unused;
//               KV churn on a file bucket (put / update with the expected
//               revision / delete over 100 keys) with a watcher
// At the end publishing stops, the consumers drain, SOAKF is read back whole
// with an ordered consumer, the server is restarted on the same store and
// read back again. Reported: published / acked / stored / consumed / lost /
// duplicated, redeliveries, KV and churn counts, server RSS over time,
// core PING round trip.
//
//   node scripts/soak-js.mjs [--duration 10m | 60s | 600] [--rate 400]
//        [--payload 128] [--file-max-msgs 20000 (0: unbounded)] [--json out.json]
//        [--server-arg <arg>]... [--server-bin <nats-server>]
//
// --server-bin runs the same soak against another server binary (the
// reference: `--server-bin "$(command -v nats-server)"`), for its RSS
// over the same traffic.
//
// lost       = publishes the server acknowledged that the consumers never got
//              or that are missing from the stream read back (before or
//              after the restart); with max_msgs, messages below the stream's
//              first sequence left through the limit and are not expected
// duplicated = a delivery of a message after its ack was confirmed, a
//              second delivery the server numbers as first (delivery count
//              1), or a message stored twice; redeliveries with a higher
//              delivery count before the ack are the documented ones
// Exit status 0 when nothing is lost or duplicated, the KV bucket and its
// watcher agree with what was written, and the server survived; 1 otherwise.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { pct, rss } from './proc-stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '..', 'dist', 'src', 'main.js');

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(s));
  if (!m) throw new Error(`bad duration ${s}`);
  const n = Number(m[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600 }[m[2] ?? 's'];
}

function parseArgs(argv) {
  const o = { seconds: 600, rate: 400, payload: 128, json: '', serverArgs: [], serverBin: '', sampleEvery: 10, fileMaxMsgs: 20000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--jetstream') continue;
    else if (a === '--duration') o.seconds = parseDuration(v());
    else if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--minutes') o.seconds = Number(v()) * 60;
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--payload') o.payload = Number(v());
    else if (a === '--file-max-msgs') o.fileMaxMsgs = Number(v());
    else if (a === '--json') o.json = v();
    else if (a === '--server-arg') o.serverArgs.push(v());
    else if (a === '--server-bin') o.serverBin = v();
    else if (a === '--sample-every') o.sampleEvery = Number(v());
    else if (a === '-h' || a === '--help') {
      const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
      console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (b) => Number((b / 2 ** 20).toFixed(1));

/**
 * How RSS moved over the second half of the traffic: the least-squares
 * slope (MiB a minute) and the rise from the first to the last minute of
 * that half. A store filling to its limits or caches reaching their size
 * are warm-up; a slope that stays after half the run is growth that does
 * not level off.
 */
function rssTrend(series, seconds) {
  const half = series.filter((s) => s.t >= seconds / 2 && s.t <= seconds);
  if (half.length < 3) return null;
  const n = half.length;
  const mt = half.reduce((a, s) => a + s.t, 0) / n;
  const mr = half.reduce((a, s) => a + s.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of half) {
    num += (s.t - mt) * (s.rssMiB - mr);
    den += (s.t - mt) ** 2;
  }
  const avg = (l) => l.reduce((a, s) => a + s.rssMiB, 0) / l.length;
  const first = half.filter((s) => s.t < half[0].t + 60);
  const last = half.filter((s) => s.t > half[n - 1].t - 60);
  return {
    fromSeconds: half[0].t,
    slopeMiBPerMin: Number(((num / den) * 60).toFixed(2)),
    riseMiB: Number((avg(last) - avg(first)).toFixed(1)),
    min: Math.min(...half.map((s) => s.rssMiB)),
    max: Math.max(...half.map((s) => s.rssMiB)),
  };
}
const te = new TextEncoder();
const td = new TextDecoder();
const nanos = (ms) => ms * 1_000_000;

async function startServer(dir, extra, log, bin) {
  const args = ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir, ...extra];
  const server = bin ? spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 1e6) stderr = stderr.slice(-5e5);
  });
  server.exitInfo = null;
  server.on('exit', (code, sig) => (server.exitInfo = { code, sig }));
  server.log = () => stderr;
  const deadline = Date.now() + 60_000;
  while (!/Listening for client connections on/.test(stderr)) {
    if (server.exitInfo || Date.now() > deadline) throw new Error(`server did not start:\n${stderr}`);
    await sleep(50);
  }
  server.port = Number(/Listening for client connections on [^\s]*:(\d+)/.exec(stderr)[1]);
  log(`server pid ${server.pid} on 127.0.0.1:${server.port}, store ${dir}`);
  return server;
}

async function stopServer(server) {
  if (server.exitInfo) return;
  // SIGINT: a clean stop exits 0 (SIGTERM exits 1, as nats-server's does: server/signal.go)
  server.kill('SIGINT');
  const t = setTimeout(() => server.kill('SIGKILL'), 30_000);
  await new Promise((r) => (server.exitInfo ? r() : server.once('exit', r)));
  clearTimeout(t);
}

// Per-stream bookkeeping: for every publisher, the state of each sequence.
const SENT = 0;
const ACKED = 1; // the server acknowledged the publish
const FAILED = 2; // the publish failed or timed out: it may or may not be stored

class Ledger {
  constructor(name) {
    this.name = name;
    this.pubs = new Map(); // publisher -> { status: [], sseq: [], deliveries: [], done: [] }
    this.published = 0;
    this.acked = 0;
    this.failed = 0;
    this.duplicatePubAcks = 0;
    this.deliveries = 0;
    this.consumed = 0; // distinct messages whose ack the server confirmed
    this.naks = 0;
    this.ackTimeouts = 0; // deliberately left unacked
    this.redeliveries = 0; // deliveries with a delivery count > 1 before the ack
    this.dupAfterAck = 0;
    this.dupFirst = 0;
    this.unknown = 0;
    this.ackFailures = 0;
    this.ackPending = 0;
    this.samples = [];
  }
  pub(name) {
    let p = this.pubs.get(name);
    if (!p) this.pubs.set(name, (p = { status: [], sseq: [], deliveries: [], done: [] }));
    return p;
  }
  problem(s) {
    if (this.samples.length < 10) this.samples.push(s);
  }
  /** one delivery to a consumer that naks / lets time out / acks */
  deliver(m) {
    this.deliveries++;
    const s = td.decode(m.data.subarray(0, 32));
    const c1 = s.indexOf(':');
    const c2 = s.indexOf(':', c1 + 1);
    const p = this.pubs.get(s.slice(0, c1));
    const seq = Number(s.slice(c1 + 1, c2));
    if (!p || !(seq < p.status.length)) {
      this.unknown++;
      this.problem(`${this.name}: unknown message ${s.slice(0, c2)}`);
      m.ack();
      return;
    }
    const count = m.info.deliveryCount;
    const prev = p.deliveries[seq] ?? 0;
    p.deliveries[seq] = prev + 1;
    if (p.done[seq]) {
      this.dupAfterAck++;
      this.problem(`${this.name}: ${s.slice(0, c2)} delivered again (count ${count}) after its ack was confirmed`);
    } else if (prev > 0 && count === 1) {
      this.dupFirst++;
      this.problem(`${this.name}: ${s.slice(0, c2)} delivered ${prev + 1} times with delivery count 1`);
    } else if (count > 1) this.redeliveries++;
    if (count === 1 && seq % 50 === 7) {
      this.naks++;
      m.nak();
      return;
    }
    if (count === 1 && seq % 97 === 3) {
      this.ackTimeouts++;
      return;
    }
    this.ackPending++;
    m.ackAck({ expect: 5000 }).then(
      (ok) => {
        this.ackPending--;
        if (ok && !p.done[seq]) {
          p.done[seq] = true;
          this.consumed++;
        } else if (!ok) this.ackFailures++;
      },
      () => {
        this.ackPending--;
        this.ackFailures++;
      },
    );
  }
  /**
   * acked publishes the consumer has not confirmed; those below the stream's
   * first sequence were removed by its limits (max_msgs) and count apart
   */
  missing(firstSeq = 0) {
    let n = 0;
    let evicted = 0;
    const samples = [];
    for (const [name, p] of this.pubs)
      for (let i = 0; i < p.status.length; i++)
        if (p.status[i] === ACKED && !p.done[i]) {
          if (p.sseq[i] < firstSeq) {
            evicted++;
            continue;
          }
          n++;
          if (samples.length < 5) samples.push(`${name}:${i}`);
        }
    return { n, evicted, samples };
  }
}

class Publisher {
  constructor(js, ledger, name, subject, window, payload) {
    this.js = js;
    this.ledger = ledger;
    this.name = name;
    this.subject = subject;
    this.window = window;
    this.inflight = 0;
    this.seq = 0;
    this.throttled = 0;
    this.p = ledger.pub(name);
    this.pad = '.'.repeat(Math.max(0, payload - name.length - 10));
    this.latencies = [];
  }
  publishOne() {
    if (this.inflight >= this.window) {
      this.throttled++;
      return;
    }
    const seq = this.seq++;
    const led = this.ledger;
    const p = this.p;
    p.status[seq] = SENT;
    led.published++;
    this.inflight++;
    const t0 = performance.now();
    this.js.publish(this.subject, te.encode(`${this.name}:${seq}:${this.pad}`), { timeout: 20_000 }).then(
      (ack) => {
        this.inflight--;
        p.status[seq] = ACKED;
        p.sseq[seq] = ack.seq;
        led.acked++;
        if (ack.duplicate) led.duplicatePubAcks++;
        if ((seq & 63) === 0) this.latencies.push(performance.now() - t0);
      },
      (e) => {
        this.inflight--;
        p.status[seq] = FAILED;
        led.failed++;
        led.problem(`${this.name}:${seq} publish failed: ${e.message}`);
      },
    );
  }
}

async function main(opts) {
  const started = Date.now();
  const log = (s) => console.log(`[soak-js ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${s}`);
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-soak-js-'));
  let server;
  const cleanup = () => {
    if (server && !server.exitInfo) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  server = await startServer(dir, opts.serverArgs, log, opts.serverBin);
  const pid = server.pid;
  const rssStart = rss(pid).rss;
  const nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, name: 'soak-js' });
  const probe = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, name: 'soak-js-probe' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);

  // bounded by default, as a long-running stream is: RSS should level off once it is full
  await jsm.streams.add({ name: 'SOAKF', subjects: ['f.>'], storage: 'file', ...(opts.fileMaxMsgs > 0 ? { max_msgs: opts.fileMaxMsgs } : {}) });
  await jsm.streams.add({ name: 'SOAKM', subjects: ['m.>'], storage: 'memory', retention: 'workqueue' });
  const F = new Ledger('SOAKF');
  const M = new Ledger('SOAKM');
  await jsm.consumers.add('SOAKF', {
    durable_name: 'pull',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(2000),
    max_ack_pending: 2000,
  });
  await jsm.consumers.add('SOAKM', {
    durable_name: 'push',
    deliver_subject: 'soak.push.m',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(2000),
    max_ack_pending: 2000,
  });

  const pubs = [
    new Publisher(js, F, 'fa', 'f.a', 128, opts.payload),
    new Publisher(js, F, 'fb', 'f.b', 128, opts.payload),
    new Publisher(js, M, 'ma', 'm.a', 128, opts.payload),
    new Publisher(js, M, 'mb', 'm.b', 128, opts.payload),
  ];

  // consumers
  let stopping = false;
  const pullC = await js.consumers.get('SOAKF', 'pull');
  const pullMsgs = await pullC.consume({ max_messages: 500 });
  const pullLoop = (async () => {
    for await (const m of pullMsgs) F.deliver(m);
  })();
  const pushC = await js.consumers.getPushConsumer('SOAKM', 'push');
  const pushMsgs = await pushC.consume();
  const pushLoop = (async () => {
    for await (const m of pushMsgs) M.deliver(m);
  })();

  // KV churn with a watcher
  const kv = await new Kvm(nc).create('soak', { history: 5, storage: 'file' });
  const KEYS = 100;
  const model = new Map(); // key -> { value, revision } | { deleted, revision }
  const kvStats = { puts: 0, updates: 0, deletes: 0, errors: 0, watched: 0, watchOrder: 0, samples: [] };
  const seen = new Map(); // key -> last entry the watcher saw
  let lastRev = 0;
  const watch = await kv.watch({ key: '>' });
  const watchLoop = (async () => {
    for await (const e of watch) {
      kvStats.watched++;
      const prev = seen.get(e.key);
      if (prev && e.revision <= prev.revision) kvStats.watchOrder++;
      seen.set(e.key, { revision: e.revision, op: e.operation, value: e.operation === 'PUT' ? e.string() : null });
      if (e.revision > lastRev) lastRev = e.revision;
    }
  })();
  let kvRng = 12345;
  const rnd = () => {
    kvRng = (kvRng * 1103515245 + 12345) & 0x7fffffff;
    return kvRng / 0x7fffffff;
  };
  const kvLoop = (async () => {
    let n = 0;
    while (!stopping) {
      const key = `k${Math.floor(rnd() * KEYS)}`;
      const cur = model.get(key);
      const r = rnd();
      const value = `v${n++}`;
      try {
        if (cur && !cur.deleted && r < 0.5) {
          const rev = await kv.update(key, value, cur.revision);
          model.set(key, { value, revision: rev });
          kvStats.updates++;
        } else if (cur && !cur.deleted && r < 0.7) {
          await kv.delete(key);
          model.set(key, { deleted: true, revision: -1 });
          kvStats.deletes++;
        } else {
          const rev = await kv.put(key, value);
          model.set(key, { value, revision: rev });
          kvStats.puts++;
        }
      } catch (e) {
        kvStats.errors++;
        if (kvStats.samples.length < 5) kvStats.samples.push(`${key}: ${e.message}`);
      }
      await sleep(20);
    }
  })();

  // consumer churn on SOAKF
  const churn = { created: 0, deleted: 0, fetched: 0, fetchErrors: 0, pushCreated: 0, errors: 0, samples: [] };
  const churnLoop = (async () => {
    let i = 0;
    while (!stopping) {
      const name = `churn${i}`;
      let created = false;
      try {
        if (i % 5 === 4) {
          await jsm.consumers.add('SOAKF', { durable_name: name, deliver_subject: `soak.churn.${i}`, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
          created = true;
          churn.pushCreated++;
        } else {
          await jsm.consumers.add('SOAKF', {
            durable_name: name,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: i % 2 ? DeliverPolicy.Last : DeliverPolicy.All,
            filter_subject: i % 2 ? 'f.a' : 'f.b',
          });
          created = true;
          churn.created++;
          const c = await js.consumers.get('SOAKF', name);
          // the client's own idle-heartbeat check can fail a fetch when either side stalls on the loaded machine: counted, not fatal
          try {
            const it = await c.fetch({ max_messages: 20, expires: 1000 });
            for await (const m of it) {
              churn.fetched++;
              m.ack();
            }
          } catch (e) {
            churn.fetchErrors++;
            if (churn.samples.length < 5) churn.samples.push(`${name} fetch: ${e.message}`);
          }
        }
      } catch (e) {
        churn.errors++;
        if (churn.samples.length < 5) churn.samples.push(`${name}: ${e.message}`);
      } finally {
        if (created) {
          await jsm.consumers.delete('SOAKF', name).then(
            () => churn.deleted++,
            (e) => {
              churn.errors++;
              if (churn.samples.length < 5) churn.samples.push(`${name} delete: ${e.message}`);
            },
          );
        }
      }
      i++;
      await sleep(1000);
    }
  })();

  // samplers
  const rssSeries = [];
  const rtts = [];
  const rssTimer = setInterval(() => {
    rssSeries.push({ t: Math.round((Date.now() - started) / 1000), rssMiB: mib(rss(pid).rss) });
  }, opts.sampleEvery * 1000);
  const rttTimer = setInterval(async () => {
    try {
      rtts.push(await probe.rtt());
    } catch {
      /* counted as missing samples */
    }
  }, 500);

  // traffic
  const tickMs = 20;
  const perTick = (opts.rate * tickMs) / 1000;
  let carry = 0;
  const until = Date.now() + opts.seconds * 1000;
  let next = Date.now();
  let lastLine = Date.now();
  let k = 0;
  log(`traffic for ${opts.seconds} s at ${opts.rate} publishes/s (${opts.payload} B), RSS ${mib(rssStart)} MiB`);
  while (Date.now() < until && !server.exitInfo) {
    carry += perTick;
    const n = Math.floor(carry);
    carry -= n;
    for (let i = 0; i < n; i++) pubs[k++ % pubs.length].publishOne();
    next += tickMs;
    await sleep(Math.max(0, next - Date.now()));
    if (Date.now() - lastLine >= 30_000) {
      lastLine = Date.now();
      log(
        `F pub ${F.published} ack ${F.acked} consumed ${F.consumed} | M pub ${M.published} ack ${M.acked} consumed ${M.consumed} | kv ${kvStats.puts + kvStats.updates + kvStats.deletes} ops | churn ${churn.created + churn.pushCreated} | RSS ${mib(rss(pid).rss)} MiB`,
      );
    }
  }

  // stop publishing, let the publishes settle and the consumers drain
  stopping = true;
  log('publishing stopped; waiting for acks and consumers');
  await Promise.all([kvLoop, churnLoop]);
  let t0 = Date.now();
  while (pubs.some((p) => p.inflight > 0) && Date.now() - t0 < 60_000) await sleep(100);
  let last = -1;
  let stable = Date.now();
  let firstSeqNow = 0;
  const firstTimer = setInterval(() => {
    jsm.streams.info('SOAKF').then((i) => (firstSeqNow = i.state.first_seq), () => {});
  }, 1000);
  const fFirst = () => firstSeqNow;
  for (;;) {
    const got = F.consumed + M.consumed;
    if (F.missing(fFirst()).n === 0 && M.missing().n === 0 && F.ackPending === 0 && M.ackPending === 0) break;
    if (got !== last) {
      last = got;
      stable = Date.now();
    } else if (Date.now() - stable > 30_000 || server.exitInfo) break;
    await sleep(200);
  }
  // a little longer: a redelivery of something already acked would show here
  await sleep(3000);
  clearInterval(firstTimer);
  clearInterval(rssTimer);
  clearInterval(rttTimer);
  pullMsgs.stop();
  pushMsgs.stop();
  await Promise.race([Promise.all([pullLoop, pushLoop]), sleep(5000)]);

  // KV: the watcher caught up and agrees with the model, and so do gets
  const kvCheck = async (label) => {
    const bad = [];
    for (const [key, want] of model) {
      const e = await kv.get(key);
      const ok = want.deleted ? e === null || e.operation !== 'PUT' : e !== null && e.operation === 'PUT' && e.string() === want.value && e.revision === want.revision;
      if (!ok) bad.push(`${label} get ${key}: want ${JSON.stringify(want)}, got ${e ? `${e.operation} ${e.revision} ${e.operation === 'PUT' ? e.string() : ''}` : 'null'}`);
    }
    return bad;
  };
  const kvStatus = await kv.status();
  t0 = Date.now();
  while (lastRev < kvStatus.streamInfo.state.last_seq && Date.now() - t0 < 10_000) await sleep(100);
  watch.stop();
  await Promise.race([watchLoop, sleep(2000)]);
  const kvBad = await kvCheck('before restart');
  for (const [key, want] of model) {
    const w = seen.get(key);
    const ok = want.deleted ? w && w.op !== 'PUT' : w && w.op === 'PUT' && w.value === want.value && w.revision === want.revision;
    if (!ok) kvBad.push(`watch ${key}: want ${JSON.stringify(want)}, saw ${JSON.stringify(w)}`);
  }

  // read SOAKF back whole; every acked message stored once
  const readBack = async (jsc, label) => {
    const c = await jsc.consumers.get('SOAKF');
    const info = await jsm.streams.info('SOAKF');
    const total = info.state.messages;
    const count = new Map();
    let read = 0;
    if (total > 0) {
      const it = await c.consume();
      for await (const m of it) {
        const s = td.decode(m.data.subarray(0, 32));
        const key = s.slice(0, s.indexOf(':', s.indexOf(':') + 1));
        count.set(key, (count.get(key) ?? 0) + 1);
        if (++read >= total) break;
      }
    }
    let missing = 0;
    let twice = 0;
    const samples = [];
    for (const [name, p] of F.pubs)
      for (let i = 0; i < p.status.length; i++) {
        const c1 = count.get(`${name}:${i}`) ?? 0;
        if (p.status[i] === ACKED && c1 === 0 && p.sseq[i] >= info.state.first_seq) {
          missing++;
          if (samples.length < 5) samples.push(`${label}: ${name}:${i} missing`);
        }
        if (c1 > 1) twice++;
      }
    return { stored: total, firstSeq: info.state.first_seq, read, missing, twice, samples };
  };
  // before the read back's ordered consumer exists
  const consumersLeft = [];
  for await (const ci of jsm.consumers.list('SOAKF')) consumersLeft.push(ci.name);
  const f1 = await readBack(js, 'read back');
  const mInfo = await jsm.streams.info('SOAKM');
  const varzRtt = rtts.slice().sort((a, b) => a - b);
  const rssBefore = rss(pid);
  await probe.close();
  await nc.close();

  // restart on the same store: everything still there
  log('restarting the server on the same store');
  const aliveBeforeStop = server.exitInfo === null;
  await stopServer(server);
  const firstExit = server.exitInfo;
  server = await startServer(dir, opts.serverArgs, log, opts.serverBin);
  const nc2 = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, name: 'soak-js-check' });
  const jsm2 = await jetstreamManager(nc2);
  const f2 = await (async () => {
    const c = await jetstream(nc2).consumers.get('SOAKF');
    const info = await jsm2.streams.info('SOAKF');
    const count = new Set();
    let read = 0;
    if (info.state.messages > 0) {
      for await (const m of await c.consume()) {
        const s = td.decode(m.data.subarray(0, 32));
        count.add(s.slice(0, s.indexOf(':', s.indexOf(':') + 1)));
        if (++read >= info.state.messages) break;
      }
    }
    let missing = 0;
    for (const [name, p] of F.pubs)
      for (let i = 0; i < p.status.length; i++) if (p.status[i] === ACKED && p.sseq[i] >= info.state.first_seq && !count.has(`${name}:${i}`)) missing++;
    return { stored: info.state.messages, missing };
  })();
  const m2 = await jsm2.streams.info('SOAKM').catch(() => null);
  const kv2 = await new Kvm(nc2).open('soak');
  // what the stored data alone costs: the restarted server holding the same streams after a full read
  const rssRestarted = rss(server.pid);
  const kvBad2 = [];
  for (const [key, want] of model) {
    const e = await kv2.get(key);
    const ok = want.deleted ? e === null || e.operation !== 'PUT' : e !== null && e.operation === 'PUT' && e.string() === want.value;
    if (!ok) kvBad2.push(`after restart get ${key}`);
  }
  await nc2.close();
  await stopServer(server);

  const fMiss = F.missing(f1.firstSeq);
  const mMiss = M.missing();
  const warm = Math.max(60, opts.seconds * 0.1);
  const afterWarm = rssSeries.filter((s) => s.t >= warm).map((s) => s.rssMiB);
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    seconds: opts.seconds,
    rate: opts.rate,
    payload: opts.payload,
    file: {
      published: F.published,
      acked: F.acked,
      publishFailed: F.failed,
      stored: f1.stored,
      consumed: F.consumed,
      deliveries: F.deliveries,
      naks: F.naks,
      ackTimeouts: F.ackTimeouts,
      redeliveries: F.redeliveries,
      lostUnconsumed: fMiss.n,
      evictedBeforeConsumed: fMiss.evicted,
      maxMsgs: opts.fileMaxMsgs,
      lostFromStore: f1.missing,
      storedTwice: f1.twice,
      duplicates: F.dupAfterAck + F.dupFirst,
      storedAfterRestart: f2.stored,
      lostAfterRestart: f2.missing,
    },
    memory: {
      published: M.published,
      acked: M.acked,
      publishFailed: M.failed,
      storedAtEnd: mInfo.state.messages,
      consumed: M.consumed,
      deliveries: M.deliveries,
      naks: M.naks,
      ackTimeouts: M.ackTimeouts,
      redeliveries: M.redeliveries,
      lost: mMiss.n,
      duplicates: M.dupAfterAck + M.dupFirst,
      existsAfterRestart: m2 !== null,
    },
    pubAckLatencyMs: (() => {
      const l = pubs.flatMap((p) => p.latencies).sort((a, b) => a - b);
      return { p50: pct(l, 50), p99: pct(l, 99), max: l.at(-1) };
    })(),
    throttled: pubs.reduce((a, p) => a + p.throttled, 0),
    kv: { ...kvStats, keys: model.size, mismatches: kvBad.length + kvBad2.length, mismatchSamples: [...kvBad, ...kvBad2].slice(0, 5) },
    consumerChurn: { ...churn, left: consumersLeft.filter((n) => n !== 'pull') },
    problemSamples: [...F.samples, ...M.samples, ...fMiss.samples.map((s) => `F unconsumed ${s}`), ...mMiss.samples.map((s) => `M unconsumed ${s}`), ...f1.samples].slice(0, 20),
    serverAlive: aliveBeforeStop && firstExit !== null && firstExit.code === 0,
    serverRssMiB: {
      start: mib(rssStart),
      afterWarmUp: afterWarm[0] ?? null,
      maxAfterWarmUp: afterWarm.length ? Math.max(...afterWarm) : null,
      minAfterWarmUp: afterWarm.length ? Math.min(...afterWarm) : null,
      end: mib(rssBefore.rss),
      peak: mib(rssBefore.hwm),
      warmUpSeconds: warm,
      restartedAfterReadBack: mib(rssRestarted.rss),
      secondHalf: rssTrend(rssSeries, opts.seconds),
    },
    rssSeries,
    coreRttMs: { samples: varzRtt.length, p50: pct(varzRtt, 50), p99: pct(varzRtt, 99), max: varzRtt.at(-1) },
  };
  const lost = result.file.lostUnconsumed + result.file.lostFromStore + result.file.lostAfterRestart + result.memory.lost;
  const dups = result.file.duplicates + result.file.storedTwice + result.memory.duplicates + F.unknown + M.unknown;
  log(`file stream: published ${F.published}, acked ${F.acked} (${F.failed} failed), stored ${f1.stored}, consumed ${F.consumed}; ${F.naks} naks + ${F.ackTimeouts} ack timeouts -> ${F.redeliveries} redeliveries; lost ${fMiss.n} unconsumed + ${f1.missing} not stored (${fMiss.evicted} removed by max_msgs before their ack, first seq ${f1.firstSeq}); duplicates ${result.file.duplicates}, stored twice ${f1.twice}; after restart stored ${f2.stored}, lost ${f2.missing}`);
  log(`memory workqueue: published ${M.published}, acked ${M.acked} (${M.failed} failed), consumed ${M.consumed}, left stored ${mInfo.state.messages}; ${M.naks} naks + ${M.ackTimeouts} ack timeouts -> ${M.redeliveries} redeliveries; lost ${mMiss.n}; duplicates ${result.memory.duplicates}`);
  log(`KV: ${kvStats.puts} puts, ${kvStats.updates} updates, ${kvStats.deletes} deletes, ${kvStats.errors} errors, watcher saw ${kvStats.watched} (${kvStats.watchOrder} out of order); mismatches ${result.kv.mismatches}`);
  log(`consumer churn: ${churn.created} pull created+fetched (${churn.fetched} msgs, ${churn.fetchErrors} fetch errors), ${churn.pushCreated} push, ${churn.deleted} deleted, ${churn.errors} API errors, left over ${result.consumerChurn.left.length}${churn.samples.length ? ` (${churn.samples.join('; ')})` : ''}`);
  log(`pub ack latency p50 ${result.pubAckLatencyMs.p50?.toFixed(1)} ms p99 ${result.pubAckLatencyMs.p99?.toFixed(1)} ms; core RTT p50 ${result.coreRttMs.p50?.toFixed(1)} ms p99 ${result.coreRttMs.p99?.toFixed(1)} ms max ${result.coreRttMs.max?.toFixed(1)} ms`);
  log(`server RSS: ${result.serverRssMiB.start} MiB at start, ${result.serverRssMiB.afterWarmUp} after warm-up (${warm} s), ${result.serverRssMiB.minAfterWarmUp}–${result.serverRssMiB.maxAfterWarmUp} after, ${result.serverRssMiB.end} at end, peak ${result.serverRssMiB.peak}; restarted server after reading SOAKF back ${result.serverRssMiB.restartedAfterReadBack}`);
  const tr = result.serverRssMiB.secondHalf;
  if (tr !== null) log(`server RSS over the second half (from ${tr.fromSeconds} s): ${tr.min}–${tr.max} MiB, slope ${tr.slopeMiBPerMin} MiB/min, first minute to last ${tr.riseMiB >= 0 ? '+' : ''}${tr.riseMiB} MiB`);
  log(`RSS series (MiB): ${rssSeries.map((s) => s.rssMiB).join(', ')}`);
  if (result.problemSamples.length) log(`problems: ${result.problemSamples.join('; ')}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
  const ok = lost === 0 && dups === 0 && result.kv.mismatches === 0 && kvStats.watchOrder === 0 && result.serverAlive && result.memory.storedAtEnd === 0 && result.consumerChurn.left.length === 0 && churn.errors === 0 && F.acked > 0 && M.acked > 0;
  log(ok ? 'PASS: nothing lost or duplicated' : `FAIL: lost ${lost}, duplicated ${dups}, server ${result.serverAlive ? 'alive and stopped cleanly' : `exit ${JSON.stringify(firstExit)}`}`);
  process.exit(ok ? 0 : 1);
}

main(parseArgs(process.argv.slice(2))).catch((e) => {
  console.error(`soak-js: ${e.stack ?? e}`);
  process.exit(1);
});
