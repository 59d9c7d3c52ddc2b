// Micro-benchmark of the subject index. A plain script, not a test:
//   npx tsc -p tsconfig.json && node dist/bench/sublist.bench.js
// Each case runs for about BENCH_MS (default 1000) after a warm-up and
// prints operations per second.

import { Sublist, type SubLike } from '../src/subjects/sublist.js';
import { matchLiteral } from '../src/subjects/validate.js';

class BSub implements SubLike {
  constructor(
    readonly subject: string,
    readonly queue: string | null = null,
  ) {}
}

const BENCH_MS = Number(process.env.BENCH_MS ?? 1000);
let sink = 0;

function bench(name: string, batch: number, fn: () => void): void {
  // warm-up so the optimising compiler has settled
  const warmEnd = performance.now() + Math.min(200, BENCH_MS / 4);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < BENCH_MS) {
    fn();
    ops += batch;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  // CPU time of the whole process (GC threads included) is reported next to
  // wall time: on a shared machine it is the steadier of the two.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const perSec = (ops / (now - start)) * 1000;
  const perCpuSec = (ops / cpuMs) * 1000;
  console.log(
    `${name.padEnd(56)} ${fmt(perSec).padStart(12)} ops/s ${(1e9 / perSec).toFixed(1).padStart(9)} ns/op` +
      ` ${fmt(perCpuSec).padStart(12)} ops/cpu-s`,
  );
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

// --- Data set 1: the reference benchmark's tree (sublist_test.go TestMain):
// 8 tokens, every combination up to 5 deep (37,448 literal subs), plus three
// wildcards under "cloud".
const refToks = ['synadia', 'nats', 'jetstream', 'nkeys', 'jwt', 'deny', 'auth', 'drain'];
function refSubs(): BSub[] {
  const out: BSub[] = [];
  const walk = (pre: string, depth: number): void => {
    for (const t of refToks) {
      const s = pre ? `${pre}.${t}` : t;
      out.push(new BSub(s));
      if (depth < 4) walk(s, depth + 1);
    }
  };
  walk('', 0);
  return out;
}
function refList(cacheSize: number): Sublist<BSub> {
  const sl = new Sublist<BSub>({ cacheSize });
  for (const s of refSubs()) sl.insert(s);
  sl.insert(new BSub('cloud.>'));
  sl.insert(new BSub('cloud.nats.component.>'));
  sl.insert(new BSub('cloud.*.*.nkeys.*'));
  return sl;
}

// --- Data set 2: 10k subscriptions of a service-style namespace with
// wildcards mixed in: per-tenant literals, per-tenant `*` and `>` watchers,
// queue groups, and a few global wildcards.
function svcSubs(): BSub[] {
  const out: BSub[] = [];
  for (let t = 0; t < 100; t++) {
    for (let k = 0; k < 90; k++) out.push(new BSub(`svc.t${t}.orders.k${k}`));
    for (let k = 0; k < 4; k++) out.push(new BSub(`svc.t${t}.orders.*`));
    for (let k = 0; k < 3; k++) out.push(new BSub(`svc.t${t}.orders.k${k}`, 'workers'));
    out.push(new BSub(`svc.t${t}.>`));
    out.push(new BSub(`svc.*.orders.k${t}`));
    out.push(new BSub(`*.t${t}.*.*`));
  }
  out.push(new BSub('svc.>'));
  out.push(new BSub('>'));
  return out;
}
function svcList(cacheSize: number): Sublist<BSub> {
  const sl = new Sublist<BSub>({ cacheSize });
  for (const s of svcSubs()) sl.insert(s);
  return sl;
}

function subjectsFor(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`svc.t${i % 100}.orders.k${Math.floor(i / 100) % 90}`);
  return out;
}

// Subjects are rebuilt per lookup in the server (decoded from the socket
// buffer), so the benchmark looks up fresh strings, not interned constants.
function freshCopies(subjects: string[]): string[] {
  return subjects.map((s) => Buffer.from(s, 'latin1').toString('latin1'));
}

function main(): void {
  console.log(`node ${process.version}, ${BENCH_MS} ms per case`);

  {
    const sl = refList(1024);
    console.log(`\nreference tree: ${sl.count()} subs`);
    for (const subj of ['synadia', 'synadia.nats.jetstream.nkeys', 'cloud.nats.component.router', 'synadia.nats.jetstream.nkeys.ZZZZ']) {
      const probe = freshCopies(Array(64).fill(subj));
      bench(`match hit   ${subj}`, probe.length, () => {
        for (let i = 0; i < probe.length; i++) sink += sl.match(probe[i]!).psubs.length;
      });
    }
    const nc = refList(0);
    for (const subj of ['synadia', 'synadia.nats.jetstream.nkeys', 'cloud.nats.component.router', 'synadia.nats.jetstream.nkeys.ZZZZ']) {
      const probe = freshCopies(Array(64).fill(subj));
      bench(`match nocache ${subj}`, probe.length, () => {
        for (let i = 0; i < probe.length; i++) sink += nc.match(probe[i]!).psubs.length;
      });
    }
  }

  {
    const sl = svcList(1024);
    const nc = svcList(0);
    console.log(`\nservice set: ${sl.count()} subs (wildcards and queues mixed in)`);
    const hot = freshCopies(subjectsFor(512));
    for (const s of hot) sl.match(s);
    const fanout = sl.match(hot[0]!);
    console.log(`  fanout of ${hot[0]}: ${fanout.psubs.length} plain, ${fanout.qsubs.length} queue groups`);
    bench('match cache hit (512 hot subjects)', hot.length, () => {
      for (let i = 0; i < hot.length; i++) sink += sl.match(hot[i]!).psubs.length;
    });
    bench('hasInterest cache hit (512 hot subjects)', hot.length, () => {
      for (let i = 0; i < hot.length; i++) if (sl.hasInterest(hot[i]!)) sink++;
    });
    const cold = freshCopies(subjectsFor(9000));
    bench('match miss, no cache (9000 subjects)', cold.length, () => {
      for (let i = 0; i < cold.length; i++) sink += nc.match(cold[i]!).psubs.length;
    });
    bench('match miss + cache churn (9000 subjects, cache 1024)', cold.length, () => {
      for (let i = 0; i < cold.length; i++) sink += sl.match(cold[i]!).psubs.length;
    });
    const none = freshCopies(Array.from({ length: 1000 }, (_, i) => `other.x${i}.y`));
    bench('match miss, no interest, no cache', none.length, () => {
      for (let i = 0; i < none.length; i++) sink += nc.match(none[i]!).psubs.length + nc.match(none[i]!).qsubs.length;
    });
    bench('hasInterest miss, no cache', cold.length, () => {
      for (let i = 0; i < cold.length; i++) if (nc.hasInterest(cold[i]!)) sink++;
    });
  }

  {
    console.log('\nchurn');
    const sl = svcList(1024);
    for (const s of subjectsFor(1024)) sl.match(s);
    const lits = Array.from({ length: 1000 }, (_, i) => new BSub(`_INBOX.abc.${i}`));
    bench('insert+remove literal (1000, warm cache)', lits.length * 2, () => {
      for (const s of lits) sl.insert(s);
      for (const s of lits) sl.remove(s);
    });
    const wc = Array.from({ length: 100 }, (_, i) => new BSub(`svc.t${i}.*.k1`));
    bench('insert+remove wildcard (100, cache of 1024 scanned)', wc.length * 2, () => {
      for (const s of wc) sl.insert(s);
      for (const s of wc) sl.remove(s);
    });
    const conn = Array.from({ length: 200 }, (_, i) => new BSub(i % 10 === 0 ? `svc.t${i % 100}.>` : `svc.t${i % 100}.orders.x${i}`));
    bench('insert 200 + removeBatch (a connection closing)', conn.length * 2, () => {
      for (const s of conn) sl.insert(s);
      sl.removeBatch(conn);
    });
  }

  {
    console.log('\nhelpers');
    const cached = 'foo.foo.foo.foo.foo.foo.foo.foo.foo.foo';
    const patterns = [
      'foo.foo.foo.foo.foo.foo.foo.foo.foo.foo', 'foo.foo.foo.foo.foo.foo.foo.foo.foo.>', 'foo.foo.foo.foo.>', 'foo.>', '>',
      'foo.foo.foo.foo.foo.foo.foo.foo.foo.*', 'foo.foo.foo.foo.foo.*.*.*.*.*', '*.*.*.*.*.*.*.*.*.*',
    ];
    bench('matchLiteral (sublist_test.go patterns)', patterns.length, () => {
      for (let i = 0; i < patterns.length; i++) if (matchLiteral(cached, patterns[i]!)) sink++;
    });
  }

  if (sink === 42) console.log('');
}

main();
