// What a server allocates per message an ordered consumer reads from a file
// stream after a restart (BENCHMARKS.md, "Session 9"), and the peak RSS of
// that read in a server of its own.
//
//   node scripts/read-alloc.mjs load DIR [N]      N (1 M) messages of 128 B into stream BIG in DIR
//   node scripts/read-alloc.mjs alloc DIR [N]     in-process server on DIR, V8's sampling heap
//                                                 profiler (every object, collected or not) while a
//                                                 child process reads N messages: bytes per message
//                                                 and the top allocation sites
//   node scripts/read-alloc.mjs peak DIR [N] [-- node flags]
//                                                 dist/src/tsnats.cjs on DIR, VmHWM/VmRSS and
//                                                 smaps_rollup while a child reads N messages
//   node scripts/read-alloc.mjs client PORT N     (the reader: ordered consumer, consume())
//
// Build first (npm run build). Run niced on a shared machine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [mode, a1, a2] = process.argv.slice(2);
const N = Number(mode === 'client' ? a2 : (a2 ?? 1_000_000));

async function inProcess(dir) {
  const { Server } = await import(path.join(root, 'dist/src/index.js'));
  const s = new Server({ host: '127.0.0.1', port: -1, jetstream: true, storeDir: dir, noLog: true });
  await s.start();
  return s;
}

function portOf(s) {
  return s.port;
}

/** the reader, in its own process so that its allocations are not the server's */
function reader(port) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), 'client', String(port), String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reader exited ${code}`))));
  });
}

function procMem(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)[1]);
  const sr = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const r = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(sr)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), anonKb: r('Anonymous'), fileKb: r('Rss') - r('Anonymous') };
}

if (mode === 'client') {
  const nc = await connect({ servers: `127.0.0.1:${a1}`, maxPingOut: 100 });
  const c = await jetstream(nc).consumers.get('BIG');
  const t0 = performance.now();
  let got = 0;
  const it = await c.consume({ max_messages: 10_000 });
  for await (const m of it) {
    void m;
    if (++got === N) break;
  }
  const readS = (performance.now() - t0) / 1000;
  await nc.close();
  process.stdout.write(JSON.stringify({ got, readS }));
} else if (mode === 'load') {
  fs.mkdirSync(a1, { recursive: true });
  const s = await inProcess(a1);
  const nc = await connect({ servers: `127.0.0.1:${portOf(s)}` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BIG', subjects: ['big'], storage: 'file' });
  const payload = new Uint8Array(128);
  for (let i = 0; i < N; i += 10_000) {
    for (let k = 0; k < 10_000 && i + k < N; k++) nc.publish('big', payload);
    await nc.flush();
  }
  while ((await jsm.streams.info('BIG')).state.messages < N) await new Promise((r) => setTimeout(r, 100));
  await nc.close();
  await s.shutdown();
  console.log(`loaded ${N} into ${a1}`);
  process.exit(0);
} else if (mode === 'alloc') {
  const { Session } = await import('node:inspector');
  const s = await inProcess(a1);
  const ses = new Session();
  ses.connect();
  const post = (m, p = {}) => new Promise((res, rej) => ses.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  // what the server holds in ArrayBuffers while it delivers (MEM=1: no profiler)
  let memPoll = null;
  if (process.env.MEM === '1') {
    await post('HeapProfiler.stopSampling');
    const ob = await import(path.join(root, 'dist/src/client/outbound.js')).catch(() => ({}));
    memPoll = setInterval(() => {
      const st = [...s.jetstream.accounts.values()][0]?.streams.get('BIG')?.store;
      const blk = (b) => (b?.buf?.length ?? 0) / 1048576;
      const cached = st ? st.cached.reduce((a, b) => a + blk(b), 0) : 0;
      const lmb = st ? blk(st.lmb) : 0;
      const spare = st?.spare ? st.spare.length / 1048576 : 0;
      const cols = st ? st.colsLru.length : 0;
      const m = process.memoryUsage();
      console.log(
        `ab ${(m.arrayBuffers / 1048576).toFixed(1)} MiB: store cached ${cached.toFixed(1)} (${st?.cached.length}) lmb ${lmb.toFixed(1)} spare ${spare.toFixed(1)} view ${st?.viewBlock?.id} cols ${cols}; slab pool ${ob.slabPool?.length ?? '?'}`,
      );
    }, 500);
    await post('HeapProfiler.startSampling', { samplingInterval: 1 << 20 });
  }
  const r = await reader(portOf(s));
  if (memPoll !== null) clearInterval(memPoll);
  const { profile } = await post('HeapProfiler.stopSampling');
  // bytes per allocation site (function + url:line), from the sampled tree
  const sites = new Map();
  let total = 0;
  const walk = (n, stack) => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anon)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
    if (n.selfSize > 0) {
      total += n.selfSize;
      const key = `${name}  <- ${stack.slice(-2).reverse().join(' <- ')}`;
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, [...stack, name]);
  };
  walk(profile.head, []);
  console.log(`read ${r.got} in ${r.readS.toFixed(2)} s; sampled allocation ${(total / 1048576).toFixed(1)} MiB, ${(total / r.got).toFixed(1)} B/msg`);
  for (const [k, v] of [...sites].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.TOP ?? 25))) {
    console.log(`${(v / r.got).toFixed(1).padStart(8)} B/msg  ${k}`);
  }
  await s.shutdown();
  process.exit(0);
} else if (mode === 'peak') {
  const dd = process.argv.indexOf('--');
  const flags = dd > 0 ? process.argv.slice(dd + 1) : [];
  const port = 20000 + (process.pid % 20000);
  const srv = spawn(process.execPath, [...flags, path.join(root, 'dist/src/tsnats.cjs'), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', a1], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  for (;;) {
    try {
      const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
      await nc.request('$JS.API.INFO', '', { timeout: 60_000 });
      await nc.close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const start = procMem(srv.pid);
  // SMAPS=prefix: the server's /proc/PID/smaps at the start and at the end of the read
  if (process.env.SMAPS) fs.writeFileSync(`${process.env.SMAPS}.start`, fs.readFileSync(`/proc/${srv.pid}/smaps`));
  let top = start;
  const poll = setInterval(() => {
    const m = procMem(srv.pid);
    if (m.rssKb > top.rssKb) top = m;
  }, 100);
  const r = await reader(port);
  clearInterval(poll);
  const end = procMem(srv.pid);
  if (process.env.SMAPS) fs.writeFileSync(`${process.env.SMAPS}.end`, fs.readFileSync(`/proc/${srv.pid}/smaps`));
  srv.kill('SIGTERM');
  const mib = (kb) => (kb / 1024).toFixed(1);
  console.log(
    `flags [${flags.join(' ')}] read ${r.got} in ${r.readS.toFixed(2)} s: start RSS ${mib(start.rssKb)} MiB, peak (VmHWM) ${mib(end.hwmKb)}, ` +
      `end RSS ${mib(end.rssKb)}; at the highest RSS sampled (${mib(top.rssKb)}): anon ${mib(top.anonKb)}, file ${mib(top.fileKb)}`,
  );
} else {
  console.error('usage: read-alloc.mjs load|alloc|peak DIR [N]');
  process.exit(2);
}
