#!/usr/bin/env node
// The tsnats executable (package.json "bin"; dist/src/main.js runs it too).
// Client test suites and scripts spawn a server and wait a short fixed
// time, so what counts here is the time from spawn until the client port
// accepts (BENCHMARKS.md, "Start-up").
//
// This file is CommonJS (.cts -> .cjs): Node starts a CommonJS entry point
// ~15 ms of CPU faster than an ES module one (no ESM loader on the way to
// the first line), with ~1.2 MB less RSS (measured with a plain listening
// socket either way on the bench machine). dist/src/main.js, the ES module
// entry point others spawn, only loads this file.
//
// `npm run build` bundles the whole server (cli/main.js and everything it
// imports) next to this one (scripts/bundle.mjs, esbuild): what every start
// runs in tsnats.bundle.js, one file read and one compilation instead of
// resolving, reading and linking ~60 ES modules; the subsystems loaded with
// import() (JetStream, cluster, leafnodes, websocket, monitoring) in files
// of their own, read only when configured. Each file is compiled with V8's code cache
// (the `.cache` file beside it, written by the first run that lives a
// second after loading it, or by the build), which skips parsing and compiling the start-up
// path; Node 20 has no module.enableCompileCache (22.1+), so this is done by
// hand, as v8-compile-cache does. Without a bundle, or with one older than
// this file (a `tsc` run since the last bundling), the modules are imported
// as tsc wrote them.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

const BUNDLE = 'tsnats.bundle.js';
/** after this long the start-up path has been compiled: the moment to write the code cache */
const CACHE_WRITE_DELAY_MS = 1000;
/**
 * Idle footprint (issue 19; BENCHMARKS.md, "Session 7"). Start-up
 * allocates more than the young generation's first 1 MB semi-space, so a
 * scavenge runs and both semi-spaces stay resident (~1.5 MB) until V8's
 * memory reducer runs its memory-reducing GCs. By default it looks 8 s
 * after the heap first grew, and then only if the allocation rate is low,
 * judged over a window that still holds the start-up's burst: 8-9 s after
 * spawn, or 17 s when it judges wrongly. Here it looks after
 * MEMORY_REDUCER_DELAY_MS, and for the first SETTLE_MS after the server
 * started V8 optimizes for memory, which makes the reducer run its GCs
 * whatever the rate: both semi-spaces are released ~1.3 s after spawn.
 * Later the delay only means that a server going idle after load gives
 * memory back sooner; under load the reducer sees a high rate and waits.
 */
const MEMORY_REDUCER_DELAY_MS = 500;
const SETTLE_MS = 3000;
const SETTLE_POLL_MS = 50;
/** the rest of start-up, after the bundle ran, may keep the CPU busy this long */
const SETTLE_GRACE_MS = 150;

/**
 * Process-wide V8 flags of the executable (not of an embedding program,
 * which does not load this file). V8's code cache carries a hash of the
 * flags and is rejected under others: the reducer's delay is set before
 * the bundle is compiled and stays (the build's priming run starts this
 * launcher, so the cache it writes matches); a cache is written under the
 * --optimize-for-size setting its script was compiled under (writeCache).
 */
function v8Flags(flags: string): void {
  try {
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString(flags);
  } catch {
    // a runtime without it: V8's defaults
  }
}

/** node was given young-generation flags of its own: leave them (and the flag hash) alone */
function ownSemiSpaceFlags(): boolean {
  return /semi-space|optimize-for-size/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
}

/**
 * Type feedback from a function's first call, for a server with JetStream
 * (setEagerFeedback). By default V8 gives a function its feedback vector
 * only after ~1 KB of its bytecode has run, so what a young server does once
 * at first (a client's first large write growing its output buffer, the
 * system account's first connect event, its first subject lookup) leaves no
 * feedback, the optimizing compiler turns those paths into deoptimization
 * exits, and the next client to connect throws away the optimized code of
 * the hottest functions (writeMsg, publishCore, matchDeliver) until V8
 * compiles them again: in the KV put benchmark, at the start of its measured
 * run, the put path then ran unoptimized for ~0.3 s. Six alternated pairs of
 * fresh servers on a quiet machine (the flag on node's command line): 1.01-
 * 1.10x the puts/s with eager feedback. A server without
 * JetStream keeps V8's default: eager feedback also means more compiling
 * while the process is young, and a fresh server's storm of 10,000 connects
 * ran at 0.82 of the rate with it (BENCHMARKS.md, "Session 13").
 */
let eagerFeedback = false;
function setEagerFeedback(on: boolean): void {
  if (on === eagerFeedback) return;
  v8Flags(on ? '--no-lazy-feedback-allocation' : '--lazy-feedback-allocation');
  eagerFeedback = on;
}
// The CLI (cli/main.ts) calls it before a server with JetStream starts; a
// program embedding tsnats does not load this file, so its V8 stays as it is.
(globalThis as Record<symbol, unknown>)[Symbol.for('tsnats.jetStreamFeedback')] = (): void => setEagerFeedback(true);

let optimizingForSize = false;
function optimizeForSize(on: boolean): void {
  if (on === optimizingForSize) return;
  // --optimize-for-size implies --max-semi-space-size=1, which stays when it
  // is turned off (V8 reads it when the heap is set up, so it does nothing
  // here but change the flag hash): put it back too.
  v8Flags(on ? '--optimize-for-size' : '--no-optimize-for-size --max-semi-space-size=0');
  optimizingForSize = on;
}

/** The run-time flags above, which V8's code cache carries in its flag hash */
interface HashedFlags {
  sizing: boolean;
  eager: boolean;
}
function hashedFlags(): HashedFlags {
  return { sizing: optimizingForSize, eager: eagerFeedback };
}
function setHashedFlags(f: HashedFlags): void {
  optimizeForSize(f.sizing);
  setEagerFeedback(f.eager);
}

/**
 * --optimize-for-size for SETTLE_MS after start, or until the process gets
 * busy: it also keeps the young generation from growing and the old one's
 * limit low, which costs a server under load throughput (pub-only and
 * pub/sub ran 0.6-0.8 of the speed when a benchmark's clients started
 * inside it). More than 80% of a 50 ms poll interval of CPU, all threads (clients at
 * work; the reducer's GCs take less) ends it, after the rest of start-up.
 */
function settleMemory(): void {
  if (ownSemiSpaceFlags()) return;
  optimizeForSize(true);
  const t0 = Date.now();
  let cpu = process.cpuUsage();
  const poll = setInterval(() => {
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const t = Date.now() - t0;
    if (((used.user + used.system) / 1000 > SETTLE_POLL_MS * 0.8 && t > SETTLE_GRACE_MS) || t >= SETTLE_MS) {
      clearInterval(poll);
      optimizeForSize(false);
    }
  }, SETTLE_POLL_MS).unref();
}

function bundleSource(file: string, self: string): { source: string; mtimeMs: number } | null {
  try {
    const mtimeMs = statSync(file).mtimeMs;
    if (process.env.TSNATS_NO_BUNDLE === '1' || mtimeMs < statSync(self).mtimeMs) return null;
    // The bundle is ASCII (esbuild charset: 'ascii'): latin1 decodes it
    // exactly and is ~3 ms cheaper than UTF-8 validation for 0.5 MB here.
    return { source: readFileSync(file, 'latin1'), mtimeMs };
  } catch {
    return null;
  }
}

/**
 * The code cache, unless it is older than the bundle. V8 checks a cache
 * against its source by length only: a cache of another build of the same
 * length would be accepted and run the wrong code. The build deletes the
 * old cache before it writes the bundle, and a cache is only written for
 * an unchanged bundle (writeCache), so a cache older than the bundle is one
 * that was copied around: ignore it.
 */
function readCache(file: string, bundleMtimeMs: number): Buffer | undefined {
  try {
    if (statSync(file).mtimeMs < bundleMtimeMs) return undefined;
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Writes the code cache atomically (servers started together may all write
 * it), unless the bundle changed since this process read it (a build ran
 * meanwhile: this cache belongs to the old one).
 */
function writeCache(script: vm.Script, file: string, bundle: string, bundleMtimeMs: number, compiledUnder: HashedFlags): void {
  try {
    if (statSync(bundle).mtimeMs !== bundleMtimeMs) return;
    const tmp = `${file}.${process.pid}.tmp`;
    // with the flags (hash) it was compiled under, which the next start compiles it under too
    const now = hashedFlags();
    setHashedFlags(compiledUnder);
    let data: Buffer;
    try {
      data = script.createCachedData();
    } finally {
      setHashedFlags(now);
    }
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    // a read-only install: every start compiles the bundle, which still works
  }
}

/** A chunk of the bundle (scripts/bundle.mjs): an ES module chunk as a function. */
type ChunkFn = (
  req: NodeRequire,
  r: (spec: string) => unknown,
  x: Record<string, unknown>,
  imp: (spec: string) => Promise<unknown>,
  importMetaUrl: string,
) => void;

/** Compiles and runs one file of chunks (with its code cache); false when it is not there or stale. */
function runChunkFile(file: string, self: string, define: (name: string, fn: ChunkFn) => void): boolean {
  const read = bundleSource(file, self);
  if (read === null) return false;
  const { source, mtimeMs } = read;
  const cacheFile = `${file}.cache`;
  const cachedData = readCache(cacheFile, mtimeMs);
  // The file is one function expression, (function (__define) {...})
  const script = new vm.Script(source, {
    filename: file,
    cachedData,
    // import() of an npm package inside the bundle goes to Node's own loader,
    // as it would from the module itself (Node >= 20.12; before, only ESM-only
    // packages loaded with import() would fail, and the build checks for those)
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  (script.runInThisContext() as (d: typeof define) => void)(define);
  if (process.env.TSNATS_DEBUG_CODE_CACHE === '1') {
    // test/blackbox/launcher.test.ts: a cache must be accepted by the next start (same V8 flags)
    process.stderr.write(`tsnats: code cache of ${basename(file)}: ${cachedData === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'accepted'}\n`);
  }
  if (cachedData === undefined || script.cachedDataRejected === true || process.env.TSNATS_WRITE_CODE_CACHE === '1') {
    const flags = hashedFlags();
    setTimeout(() => writeCache(script, cacheFile, file, mtimeMs, flags), CACHE_WRITE_DELAY_MS).unref();
  }
  return true;
}

/**
 * Runs the bundle; false when there is none to run. Its chunks are
 * evaluated on first use, as ES modules are: the entry's imports at start,
 * an import()ed one (JetStream, cluster...) when the server asks for it,
 * from its own file, dist/src/tsnats.<chunk name>, if the bundle does not
 * hold it.
 */
function runBundle(file: string, self: string): boolean {
  const defs = new Map<string, ChunkFn>();
  const loaded = new Map<string, Record<string, unknown>>();
  const failed = new Map<string, unknown>();
  const define = (name: string, fn: ChunkFn): void => void defs.set(name, fn);
  const importMetaUrl = pathToFileURL(file).href;
  const chunk = (name: string): Record<string, unknown> => {
    if (failed.has(name)) throw failed.get(name);
    let x = loaded.get(name);
    if (x !== undefined) return x;
    let fn = defs.get(name);
    if (fn === undefined) {
      const own = join(__dirname, `tsnats.${name}`);
      if (!runChunkFile(own, self, define) || (fn = defs.get(name)) === undefined) throw new Error(`tsnats: ${own} missing or stale: rebuild (npm run build)`);
    }
    x = {};
    loaded.set(name, x);
    try {
      fn(require, r, x, imp, importMetaUrl);
    } catch (e) {
      // as an ES module whose evaluation threw: every later import gets the same error, not half its exports
      failed.set(name, e);
      throw e;
    }
    return x;
  };
  const r = (spec: string): unknown => (spec.startsWith('./') ? chunk(spec.slice(2)) : require(spec));
  const imp = (spec: string): Promise<unknown> => Promise.resolve(spec).then(r);
  if (!runChunkFile(file, self, define)) return false;
  chunk('main.js');
  return true;
}

v8Flags(`--gc-memory-reducer-start-delay-ms=${MEMORY_REDUCER_DELAY_MS}`);
// The young generation stays at its first size (1 MiB semi-spaces,
// --semi-space-growth-factor=1). V8 doubles it each time the bytes that
// survived scavenges since the last doubling add up to its size, and that
// sum only grows: under any steady load with some survivors (JetStream's
// pending acks, timers, in-flight messages) it reaches V8's 16 MiB
// semi-spaces sooner or later, and RSS steps up by ~25 MiB minutes after
// the load began (the JetStream soak: 8 -> 32 MiB of new space at ~240 s,
// RSS 86 -> 109 MiB). --max-semi-space-size would bound it too, but V8
// reads that only when the heap is set up, before this file runs; the
// growth factor is read at each doubling. What the bigger young
// generation bought was within the noise: compare.sh, this flag against
// none, core quick 0.99-1.16 msgs/s, every JetStream scenario 0.93-1.06
// (KV get, KV put and ordered again with 5 rounds: 0.99, 1.01, 1.00);
// 1 M async publishes then 1 M fetches took 83 scavenges instead of 88 and
// 186 ms of GC instead of 149 (BENCHMARKS.md, "Session 10"). Set before
// the bundle is compiled, like the reducer's delay: the code cache carries
// the flags' hash.
if (!ownSemiSpaceFlags()) v8Flags('--semi-space-growth-factor=1');
if (!runBundle(join(__dirname, BUNDLE), __filename)) void import('./cli/main.js');
settleMemory();
