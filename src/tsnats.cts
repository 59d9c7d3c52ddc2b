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
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

const BUNDLE = 'tsnats.bundle.js';
/** after this long the start-up path has been compiled: the moment to write the code cache */
const CACHE_WRITE_DELAY_MS = 1000;

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
function writeCache(script: vm.Script, file: string, bundle: string, bundleMtimeMs: number): void {
  try {
    if (statSync(bundle).mtimeMs !== bundleMtimeMs) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData());
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
  if (cachedData === undefined || script.cachedDataRejected === true || process.env.TSNATS_WRITE_CODE_CACHE === '1') {
    setTimeout(() => writeCache(script, cacheFile, file, mtimeMs), CACHE_WRITE_DELAY_MS).unref();
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

if (!runBundle(join(__dirname, BUNDLE), __filename)) void import('./cli/main.js');
