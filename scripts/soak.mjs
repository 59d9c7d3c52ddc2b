#!/usr/bin/env node
// `npm run soak`: load and soak test of the tsnats executable.
//
// Spawns `node dist/src/main.js` on loopback (random client and monitoring
// ports), opens --connections raw-socket client connections spread over
// --procs worker processes (no native code, no client library), each with a
// subscription to one of --groups subjects, and lets traffic flow for the
// set time: every worker publishes sequenced messages to random groups at
// its share of --rate. At the end publishing stops, and every subscriber's
// count must equal what was published to its group (sent vs received,
// exactly), with no duplicate or out-of-order message per publisher.
//
// Reported: server RSS over time (from /proc), server responsiveness as PING
// round-trip times on a dedicated probe connection (the server's event loop
// delay shows there; tsnats does not publish its own), the load generators'
// own event-loop delay, connection/slow-consumer counts from /varz, errors.
//
//   node scripts/soak.mjs [--seconds 60 | --minutes 10] [--connections 10000]
//        [--procs 4] [--groups 1000] [--rate 1000] [--payload 128]
//        [--json out.json] [--server-arg <arg>]...
//
// `--jetstream` runs the JetStream soak instead (scripts/soak-js.mjs, its own
// options: --duration 10m | 60s, --rate, --json; see its --help).
//
// Exit status 0 when every subscriber got exactly what was sent to it and the
// server survived; 1 otherwise. Loopback only; everything it starts is
// stopped at the end (also on SIGINT/SIGTERM).

import { execFileSync, fork, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pct, rss } from './proc-stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '..', 'dist', 'src', 'main.js');

function parseArgs(argv) {
  const o = { seconds: 60, connections: 10000, procs: 4, groups: 1000, rate: 1000, payload: 128, json: '', serverArgs: [], worker: false, sampleEvery: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--minutes') o.seconds = Number(v()) * 60;
    else if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--connections') o.connections = Number(v());
    else if (a === '--procs') o.procs = Number(v());
    else if (a === '--groups') o.groups = Number(v());
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--payload') o.payload = Number(v());
    else if (a === '--json') o.json = v();
    else if (a === '--server-arg') o.serverArgs.push(v());
    else if (a === '--sample-every') o.sampleEvery = Number(v());
    else if (a === '--worker') o.worker = true;
    else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 26).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (b) => (b / 2 ** 20).toFixed(1);

// ---------------------------------------------------------------------------
// A raw NATS connection: CONNECT, SUB, PUB, PING; parses MSG and PONG.

class Conn {
  constructor(socket) {
    this.socket = socket;
    this.buf = null;
    this.pongWaiters = [];
    this.infoSeen = null;
    this.closed = false;
    this.errors = [];
    this.onMsg = null;
    socket.setNoDelay(true);
    socket.on('data', (d) => this.data(d));
    socket.on('error', (e) => this.errors.push(e.code ?? e.message));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.pongWaiters) w(false);
      this.pongWaiters = [];
      if (this.infoSeen) this.infoSeen(false);
    });
  }
  static open(port) {
    return new Promise((res, rej) => {
      const s = connect({ port, host: '127.0.0.1' });
      const c = new Conn(s);
      const t = setTimeout(() => {
        s.destroy();
        rej(new Error('connect/INFO timeout'));
      }, 60_000);
      c.infoSeen = (ok) => {
        clearTimeout(t);
        c.infoSeen = null;
        if (ok) res(c);
        else rej(new Error('closed before INFO'));
      };
      s.once('error', (e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }
  send(x) {
    if (!this.closed) this.socket.write(x);
  }
  ping(timeoutMs = 60_000) {
    return new Promise((res) => {
      if (this.closed) return res(false);
      const t = setTimeout(() => res(false), timeoutMs);
      this.pongWaiters.push((ok) => {
        clearTimeout(t);
        res(ok);
      });
      this.send('PING\r\n');
    });
  }
  data(d) {
    let b = this.buf === null ? d : Buffer.concat([this.buf, d]);
    let pos = 0;
    for (;;) {
      const eol = b.indexOf(13, pos);
      if (eol < 0 || eol + 1 >= b.length) break;
      const c0 = b[pos];
      if (c0 === 77 /* M */) {
        // MSG <subject> <sid> <size>
        const line = b.toString('latin1', pos + 4, eol);
        const sp = line.lastIndexOf(' ');
        const size = Number(line.slice(sp + 1));
        const start = eol + 2;
        if (start + size + 2 > b.length) break;
        if (this.onMsg) this.onMsg(b, start, size);
        pos = start + size + 2;
        continue;
      }
      const line = b.toString('latin1', pos, eol);
      pos = eol + 2;
      if (line === 'PING') this.send('PONG\r\n');
      else if (line === 'PONG') {
        const w = this.pongWaiters.shift();
        if (w) w(true);
      } else if (line.startsWith('INFO ')) {
        if (this.infoSeen) this.infoSeen(true);
      } else if (line.startsWith('-ERR')) this.errors.push(line);
    }
    this.buf = pos >= b.length ? null : b.subarray(pos);
  }
}

// ---------------------------------------------------------------------------
// Worker: holds its share of the connections, subscribes, publishes.

async function worker(opts) {
  const { port, id, first, count, groups, rate, payload, publishers } = opts;
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const conns = [];
  const subGroup = []; // group of each connection's subscription
  const received = []; // per connection
  const problems = []; // duplicate / out-of-order samples
  let problemCount = 0;
  // per connection: last seq seen per publisher
  const lastSeq = [];
  const pad = Buffer.alloc(Math.max(0, payload - 24), 0x2e);

  // connect in waves
  const WAVE = 100;
  for (let i = 0; i < count; i += WAVE) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + WAVE); k++) {
      batch.push(
        (async () => {
          const c = await Conn.open(port);
          const idx = k;
          const g = (first + k) % groups;
          conns[idx] = c;
          subGroup[idx] = g;
          received[idx] = 0;
          lastSeq[idx] = new Map();
          c.onMsg = (b, start, size) => {
            received[idx]++;
            // payload: "<publisher>:<seq>:" + padding
            const s = b.toString('latin1', start, Math.min(start + 24, start + size));
            const p1 = s.indexOf(':');
            const p2 = s.indexOf(':', p1 + 1);
            const pub = s.slice(0, p1);
            const seq = Number(s.slice(p1 + 1, p2));
            const m = lastSeq[idx];
            const prev = m.get(pub) ?? -1;
            if (seq <= prev) {
              problemCount++;
              if (problems.length < 10) problems.push(`conn ${first + idx}: publisher ${pub} seq ${seq} after ${prev}`);
            }
            m.set(pub, seq);
          };
          c.send(`CONNECT {"verbose":false,"pedantic":false,"name":"soak-${first + k}"}\r\nSUB soak.g${g} 1\r\n`);
          if (!(await c.ping())) throw new Error(`connection ${first + k} failed to subscribe: ${c.errors.join(', ')}`);
        })(),
      );
    }
    await Promise.all(batch);
  }
  process.send({ type: 'ready', id });

  // publishers: the first `publishers` connections, each with its own sequence
  const pubs = conns.slice(0, publishers).map((c, i) => ({ c, name: `w${id}p${i}`, seq: 0 }));
  const publishedPerGroup = new Map();
  let published = 0;
  let running = false;
  let stopped = false;
  let rng = (id + 1) * 2654435761;
  const rand = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };

  const publishLoop = async () => {
    const tickMs = 20;
    const perTick = rate * (tickMs / 1000);
    let carry = 0;
    let next = Date.now();
    while (!stopped) {
      if (running) {
        carry += perTick;
        const n = Math.floor(carry);
        carry -= n;
        for (let k = 0; k < n; k++) {
          const p = pubs[k % pubs.length];
          const g = Math.floor(rand() * groups);
          const head = Buffer.from(`${p.name}:${p.seq++}:`);
          const body = Buffer.concat([head, pad]);
          p.c.send(Buffer.concat([Buffer.from(`PUB soak.g${g} ${body.length}\r\n`), body, Buffer.from('\r\n')]));
          publishedPerGroup.set(g, (publishedPerGroup.get(g) ?? 0) + 1);
          published++;
        }
      }
      next += tickMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  };
  const loop = publishLoop();

  const report = () => ({
    type: 'report',
    id,
    published,
    received: received.reduce((a, b) => a + b, 0),
    closed: conns.filter((c) => c.closed).length,
    errors: conns.reduce((a, c) => a + c.errors.length, 0),
    errorSamples: conns.flatMap((c) => c.errors).slice(0, 5),
    problemCount,
    problems,
    eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
  });

  process.on('message', async (m) => {
    if (m.type === 'start') running = true;
    else if (m.type === 'stop') {
      running = false;
      stopped = true;
      await loop;
      // everything published is processed once each publisher's PING is answered
      await Promise.all(pubs.map((p) => p.c.ping(120_000)));
      process.send({ type: 'stopped', id, published, publishedPerGroup: [...publishedPerGroup] });
    } else if (m.type === 'report') process.send(report());
    else if (m.type === 'final') {
      // per group: the receipt count of each member
      const perGroup = {};
      for (let i = 0; i < count; i++) (perGroup[subGroup[i]] ??= []).push(conns[i].closed ? -1 - received[i] : received[i]);
      process.send({ ...report(), type: 'final', perGroup });
    } else if (m.type === 'exit') {
      for (const c of conns) c.socket.destroy();
      setTimeout(() => process.exit(0), 100);
    }
  });
}

// ---------------------------------------------------------------------------
// Main

function getJson(port, path) {
  return new Promise((res, rej) => {
    const r = request({ host: '127.0.0.1', port, path, timeout: 10_000 }, (rsp) => {
      let body = '';
      rsp.setEncoding('utf8');
      rsp.on('data', (d) => (body += d));
      rsp.on('end', () => {
        try {
          res(JSON.parse(body));
        } catch (e) {
          rej(e);
        }
      });
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', rej);
    r.end();
  });
}

async function main(opts) {
  if (!existsSync(MAIN)) {
    console.error(`soak: ${MAIN} is missing: build first (npm run build)`);
    process.exit(2);
  }
  const started = Date.now();
  const log = (s) => console.log(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${s}`);
  const children = [];
  let server;
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (server && server.exitCode === null) server.kill('SIGKILL');
  };
  // whatever ends this process (an error included) takes the server and the workers along
  process.on('exit', cleanup);
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.on('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });

  // file descriptors: the server gets the hard limit (raised through the shell's ulimit);
  // workers share the connections so that each stays under the soft limit
  let soft = Infinity;
  let hard = 'unlimited';
  try {
    const [s0, h0] = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
    soft = s0 === 'unlimited' ? Infinity : Number(s0);
    hard = h0;
  } catch {
    /* keep the defaults */
  }
  const hardN = hard === 'unlimited' ? Infinity : Number(hard);
  if (hardN < opts.connections + 100) console.warn(`soak: the fd hard limit (${hard}) is below ${opts.connections} connections; the server will refuse some`);
  const needProcs = Number.isFinite(soft) ? Math.ceil(opts.connections / Math.max(1, soft - 200)) : 1;
  if (needProcs > opts.procs) {
    console.warn(`soak: fd soft limit ${soft}: using ${needProcs} worker processes instead of ${opts.procs}`);
    opts.procs = needProcs;
  }
  server = spawn('sh', ['-c', `ulimit -n ${hard} 2>/dev/null; exec "$0" "$@"`, process.execPath, MAIN, '-a', '127.0.0.1', '-p', '-1', '-m', '-1', ...opts.serverArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 1e6) stderr = stderr.slice(-5e5);
  });
  let serverExit = null;
  server.on('exit', (code, sig) => (serverExit = { code, sig }));
  const deadline = Date.now() + 30_000;
  while (!/Listening for client connections on/.test(stderr)) {
    if (serverExit || Date.now() > deadline) throw new Error(`server did not start:\n${stderr}`);
    await sleep(50);
  }
  const port = Number(/Listening for client connections on [^\s]*:(\d+)/.exec(stderr)[1]);
  const http = Number(/Starting http monitor on [^\s]*:(\d+)/.exec(stderr)[1]);
  const pid = server.pid;
  const rssStart = rss(pid).rss;
  log(`server pid ${pid} on 127.0.0.1:${port} (monitor ${http}); RSS ${mib(rssStart)} MiB`);

  // samplers: RSS and PING RTT on a probe connection
  const probe = await Conn.open(port);
  probe.send('CONNECT {"verbose":false,"pedantic":false,"name":"soak-probe"}\r\n');
  await probe.ping();
  const rssSeries = [];
  const rtts = [];
  let phase = 'connecting';
  const rttTimer = setInterval(async () => {
    const t0 = process.hrtime.bigint();
    const ok = await probe.ping(30_000);
    if (ok) rtts.push({ phase, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
  }, 250);
  const rssTimer = setInterval(() => {
    const r = rss(pid);
    rssSeries.push({ t: Math.round((Date.now() - started) / 1000), phase, rssMiB: Number(mib(r.rss)) });
  }, opts.sampleEvery * 1000);
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();

  // workers
  const per = Math.ceil(opts.connections / opts.procs);
  const workers = [];
  const waiters = new Map();
  const expect = (w, type) =>
    new Promise((res) => {
      const k = `${w.id}:${type}`;
      waiters.set(k, res);
    });
  for (let i = 0; i < opts.procs; i++) {
    const first = i * per;
    const count = Math.max(0, Math.min(per, opts.connections - first));
    if (count === 0) continue;
    const child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    children.push(child);
    const w = { id: i, child, count, last: null };
    child.on('message', (m) => {
      if (m.type === 'report' || m.type === 'final') w.last = m;
      const k = `${w.id}:${m.type}`;
      const r = waiters.get(k);
      if (r) {
        waiters.delete(k);
        r(m);
      }
    });
    child.on('exit', (code) => {
      if (code !== 0 && !w.exiting) log(`worker ${i} exited with ${code}`);
    });
    workers.push(w);
    const ready = expect(w, 'ready');
    child.send({
      type: 'init',
      port,
      id: i,
      first,
      count,
      groups: opts.groups,
      rate: opts.rate / opts.procs,
      payload: opts.payload,
      publishers: 4,
    });
    w.ready = ready;
  }
  await Promise.all(workers.map((w) => w.ready));
  const varz0 = await getJson(http, '/varz');
  log(`${varz0.connections} connections held (${opts.connections} soak + probe), ${varz0.subscriptions} subscriptions; RSS ${mib(rss(pid).rss)} MiB`);

  // traffic
  phase = 'traffic';
  const rssAtTraffic = rss(pid).rss;
  for (const w of workers) w.child.send({ type: 'start' });
  const until = Date.now() + opts.seconds * 1000;
  let lastLine = 0;
  while (Date.now() < until) {
    await sleep(1000);
    if (serverExit) break;
    if (Date.now() - lastLine >= 10_000) {
      lastLine = Date.now();
      const reps = await Promise.all(
        workers.map((w) => {
          const p = expect(w, 'report');
          w.child.send({ type: 'report' });
          return p;
        }),
      );
      const sent = reps.reduce((a, r) => a + r.published, 0);
      const recv = reps.reduce((a, r) => a + r.received, 0);
      const recent = rtts.slice(-40).map((x) => x.ms).sort((a, b) => a - b);
      log(`published ${sent}, delivered ${recv}, RSS ${mib(rss(pid).rss)} MiB, PING RTT p50 ${pct(recent, 50)?.toFixed(1)} ms max ${recent.at(-1)?.toFixed(1)} ms, closed ${reps.reduce((a, r) => a + r.closed, 0)}`);
    }
  }

  // stop and settle
  phase = 'settle';
  const stops = await Promise.all(
    workers.map((w) => {
      const p = expect(w, 'stopped');
      w.child.send({ type: 'stop' });
      return p;
    }),
  );
  const publishedPerGroup = new Map();
  let published = 0;
  for (const s of stops) {
    published += s.published;
    for (const [g, n] of s.publishedPerGroup) publishedPerGroup.set(g, (publishedPerGroup.get(g) ?? 0) + n);
  }
  // members per group (connection k of the whole soak is in group k % groups)
  const members = (g) => Math.floor(opts.connections / opts.groups) + (g < opts.connections % opts.groups ? 1 : 0);
  let expected = 0;
  for (const [g, n] of publishedPerGroup) expected += n * members(g);
  log(`publishing stopped: ${published} messages published, ${expected} deliveries expected`);
  let finals;
  let lastRecv = -1;
  let stableSince = Date.now();
  for (;;) {
    finals = await Promise.all(
      workers.map((w) => {
        const p = expect(w, 'final');
        w.child.send({ type: 'final' });
        return p;
      }),
    );
    const recv = finals.reduce((a, r) => a + r.received, 0);
    if (recv >= expected) break;
    if (recv !== lastRecv) {
      lastRecv = recv;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 30_000) break;
    await sleep(500);
  }
  clearInterval(rttTimer);
  clearInterval(rssTimer);
  const varz = serverExit ? null : await getJson(http, '/varz').catch(() => null);
  const end = rss(pid);

  // exact accounting per subscriber
  let delivered = 0;
  let short = 0;
  let extra = 0;
  let cut = 0;
  const shortSamples = [];
  for (const f of finals) {
    for (const [gs, counts] of Object.entries(f.perGroup)) {
      const want = publishedPerGroup.get(Number(gs)) ?? 0;
      for (const c0 of counts) {
        const closed = c0 < 0;
        const c = closed ? -1 - c0 : c0;
        if (closed) cut++;
        delivered += c;
        if (c < want) {
          short += want - c;
          if (shortSamples.length < 5) shortSamples.push(`group ${gs}: ${c} of ${want}${closed ? ' (connection closed)' : ''}`);
        } else if (c > want) extra += c - want;
      }
    }
  }
  const traffic = rtts.filter((x) => x.phase === 'traffic').map((x) => x.ms).sort((a, b) => a - b);
  const genEld = finals.map((f) => f.eld);
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    seconds: opts.seconds,
    connections: opts.connections,
    connectionsHeld: varz0.connections,
    subscriptions: varz0.subscriptions,
    groups: opts.groups,
    fanout: opts.connections / opts.groups,
    rate: opts.rate,
    payload: opts.payload,
    published,
    expectedDeliveries: expected,
    delivered,
    lost: short,
    duplicates: extra,
    orderProblems: finals.reduce((a, f) => a + f.problemCount, 0),
    connectionsCut: cut,
    clientErrors: finals.reduce((a, f) => a + f.errors, 0),
    errorSamples: finals.flatMap((f) => f.errorSamples).slice(0, 5),
    slowConsumers: varz?.slow_consumers ?? null,
    serverAlive: serverExit === null,
    serverRssMiB: { start: Number(mib(rssStart)), atTrafficStart: Number(mib(rssAtTraffic)), end: Number(mib(end.rss)), peak: Number(mib(end.hwm)) },
    rssSeries,
    pingRttMs: { samples: traffic.length, p50: pct(traffic, 50), p90: pct(traffic, 90), p99: pct(traffic, 99), max: traffic.at(-1) ?? NaN },
    generatorEventLoopDelayMs: {
      main: { p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
      workersP99Max: Math.max(...genEld.map((e) => e.p99)),
      workersMax: Math.max(...genEld.map((e) => e.max)),
    },
  };
  log(`delivered ${delivered} of ${expected} (lost ${short}, duplicates ${extra}, order problems ${result.orderProblems}), connections cut ${cut}, slow consumers ${result.slowConsumers}, client errors ${result.clientErrors}`);
  log(`server RSS: ${result.serverRssMiB.start} MiB idle, ${result.serverRssMiB.atTrafficStart} MiB with all connections at traffic start, ${result.serverRssMiB.end} MiB at end, peak ${result.serverRssMiB.peak} MiB`);
  log(`PING RTT during traffic (${traffic.length} samples): p50 ${result.pingRttMs.p50?.toFixed(2)} ms, p99 ${result.pingRttMs.p99?.toFixed(2)} ms, max ${result.pingRttMs.max?.toFixed(2)} ms`);
  log(`load generator event-loop delay: main p99 ${result.generatorEventLoopDelayMs.main.p99.toFixed(1)} ms; workers p99 ≤ ${result.generatorEventLoopDelayMs.workersP99Max.toFixed(1)} ms, max ${result.generatorEventLoopDelayMs.workersMax.toFixed(1)} ms`);
  if (shortSamples.length) log(`short subscribers: ${shortSamples.join('; ')}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');

  for (const w of workers) {
    w.exiting = true;
    w.child.send({ type: 'exit' });
  }
  probe.socket.destroy();
  await sleep(300);
  server.kill('SIGINT');
  await new Promise((r) => (serverExit ? r() : server.once('exit', r)));
  const ok = result.serverAlive && short === 0 && extra === 0 && result.orderProblems === 0 && cut === 0 && published > 0;
  log(ok ? 'PASS: every subscriber got exactly what was published to it' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

if (process.argv.includes('--jetstream')) {
  // the JetStream soak is its own script (official client, one process)
  await import('./soak-js.mjs');
} else {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.worker) {
    process.once('message', (m) => {
      if (m.type !== 'init') return;
      worker(m).catch((e) => {
        console.error(`soak worker ${m.id}: ${e.stack ?? e}`);
        process.exit(1);
      });
    });
  } else {
    main(opts).catch((e) => {
      console.error(`soak: ${e.stack ?? e}`);
      process.exit(1);
    });
  }
}
