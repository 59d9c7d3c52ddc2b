#!/usr/bin/env node
// `npm run build`, after tsc: bundles the executable's body
// (dist/src/cli/main.js and every module of ours it imports, statically or
// with import()) with esbuild, then starts it once so that the V8 code
// cache (dist/src/tsnats.bundle.js.cache) holds the start-up path and a
// client connection's. npm packages stay outside the bundle (require()d
// from node_modules at first use, as before).
//
// The bundle is split (esbuild `splitting`, ES module chunks): what every
// start runs (the command line, the server, the client path and the system
// account, chunks reachable from cli/main.js and START_ENTRIES) goes into
// dist/src/tsnats.bundle.js; every other chunk (JetStream, cluster,
// leafnodes, websocket, monitoring, and what only they share) into a file
// of its own, dist/src/tsnats.chunk-<hash>.js, which the launcher
// (src/tsnats.cts) reads and compiles on the first import() of it. V8 keeps
// a script's whole source in the heap for the life of the process (it
// compiles functions from it on their first call): a server that configures
// none of these holds and reads ~0.45 MB less (BENCHMARKS.md, "Session 6").
//
// Each ES module chunk becomes a function the launcher calls like a
// CommonJS module: its import statements become `const {a: b} =
// __r("./chunk-X.js")` (a direct binding: chunks form a DAG and a chunk has
// run to its end before an importer uses it; an exported variable that is
// assigned again later fails the build), `export {a as b}` becomes `__x.b = a`, and
// `import("./chunk-X.js")` `__imp("./chunk-X.js")`, a promise of the chunk.
// The import statements are blanked in place (same length), so that
// esbuild's source map of each chunk still holds, shifted by whole lines.
//
// esbuild comes from node_modules, or from the package directory named by
// $ESBUILD_PATH. Without it the build still works: the launcher then
// imports the tsc output directly (slower start, same behaviour).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'src');
const out = path.join(dist, 'tsnats.bundle.js');
const cacheFile = `${out}.cache`;

async function loadEsbuild() {
  const require = createRequire(import.meta.url);
  const places = [root];
  if (process.env.ESBUILD_PATH) places.unshift(path.dirname(process.env.ESBUILD_PATH));
  for (const p of places) {
    try {
      return require(require.resolve('esbuild', { paths: [p] }));
    } catch {
      /* next place */
    }
  }
  return null;
}

/** Chunks loaded by import() at every start of a server: they go into the bundle itself. */
const START_ENTRIES = [
  // src/system/register.ts: every server has a system account, created before the client listener
  'system/index.js',
];
const CHUNK_PREFIX = 'tsnats.';

function removeOld() {
  for (const f of fs.readdirSync(dist)) {
    if (f.startsWith('tsnats.bundle.js') || (f.startsWith(`${CHUNK_PREFIX}chunk-`) && f.includes('.js'))) fs.rmSync(path.join(dist, f), { force: true });
  }
}

/** One client connection: send `bytes`, read until `until` appears (or 10 s pass), close. */
function talk(port, bytes, until) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes));
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      got += d;
      if (got.includes(until)) sock.end();
    });
    sock.setTimeout(10000, () => sock.destroy());
    sock.on('close', resolve);
    sock.on('error', resolve);
  });
}

/**
 * Start the bundled server with `args`, send `bytes` on one client
 * connection and read until `until`, then wait (up to 5 s) until the code
 * cache of every file the launcher reports loading and `wanted` picks has
 * been written by this run. Returns those caches' paths that were not.
 */
async function primeRun(args, bytes, until, wanted) {
  const t0 = Date.now();
  const child = spawn(process.execPath, [path.join(dist, 'tsnats.cjs'), '-a', '127.0.0.1', '-p', '-1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TSNATS_WRITE_CODE_CACHE: '1', TSNATS_DEBUG_CODE_CACHE: '1' },
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    let m = null;
    while (Date.now() < t0 + 20000 && child.exitCode === null && (m = /Listening for client connections on [^\n]*:(\d+)\n[^]*Server is ready/.exec(err)) === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (m === null) throw new Error(child.exitCode === null ? `no "Server is ready" in 20 s:\n${err}` : `server exited (${child.exitCode}):\n${err}`);
    await talk(Number(m[1]), bytes, until);
    const caches = () => [...err.matchAll(/code cache of (\S+): /g)].map((x) => x[1]).filter(wanted).map((f) => path.join(dist, `${f}.cache`));
    const missing = () => caches().filter((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs < t0);
    const done = Date.now() + 5000;
    while (Date.now() < done && (caches().length === 0 || missing().length > 0)) await new Promise((r) => setTimeout(r, 50));
    return caches().length === 0 ? ['(none reported)'] : missing();
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

/** Start the bundled server once, make one client connection, let it write its code cache. */
async function primeCache() {
  const missing = await primeRun(
    [],
    'CONNECT {"verbose":false,"pedantic":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n',
    'PONG',
    (f) => f === 'tsnats.bundle.js',
  );
  if (missing.length > 0 || !fs.existsSync(cacheFile)) console.error('bundle: no code cache written (the server compiles the bundle at each start)');
}

/**
 * Start the bundled server once more with JetStream and make one JetStream
 * API request, so that the JetStream chunks get their code caches here too.
 * Otherwise the first JetStream server after a build writes them a second
 * after loading them, and V8's createCachedData hands back a Buffer made in
 * C++ (a Uint8Array whose prototype is then set), which makes V8 drop the
 * optimized code of every function that assumed the plain Uint8Array shape:
 * a burst of deoptimizations in the middle of the first benchmark after a
 * build. Best effort: without these caches the server only compiles the
 * chunks at each start.
 */
async function primeJetStreamCaches() {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnats-prime-'));
  try {
    const missing = await primeRun(
      ['-js', '-sd', store],
      'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.prime 1\r\nPUB $JS.API.INFO _INBOX.prime 0\r\n\r\n',
      'io.nats.jetstream.api.v1.account_info_response',
      (f) => f.startsWith(`${CHUNK_PREFIX}chunk-`),
    );
    if (missing.length > 0) console.error(`bundle: JetStream chunks without a code cache (compiled at each start): ${missing.join(', ')}`);
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

/**
 * An import statement of an esbuild ES module chunk. esbuild writes them at
 * statement starts, the imports of external modules (Node built-ins) where
 * the module that imports them begins, not only at the top.
 */
const IMPORT_RE = /(?<=^|[;}\n])(import\s*(?:\*\s*as\s+([\w$]+)|([\w$]+)?\s*,?\s*(\{[^}]*\})?)\s*from\s*"([^"]+)";|import\s*"([^"]+)";)/g;

/**
 * An ES module chunk as the body of a function
 * (require, __r, __x, __imp, __tsnats_import_meta_url): { header, code },
 * header being its imports as declarations (one line; imports are hoisted
 * in ES modules too) and code the chunk with them blanked, same lines and
 * columns. `expected`: the specifiers esbuild's metafile lists for it.
 */
function toChunkFunction(name, src, expected) {
  const decls = [];
  const seen = new Set();
  let code = src.replace(IMPORT_RE, (stmt, _, ns, def, named, from, bare) => {
    seen.add(from ?? bare);
    if (bare !== undefined) decls.push(`__r(${JSON.stringify(bare)});`);
    else {
      const ours = from.startsWith('./');
      if (def !== undefined && ours) throw new Error(`bundle: ${name}: default import from ${from}`);
      const binds = [];
      if (ns !== undefined) binds.push(ns);
      if (def !== undefined) binds.push(def);
      if (named !== undefined) {
        const list = named
          .slice(1, -1)
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((x) => {
            const [a, b] = x.split(/\s+as\s+/);
            return b === undefined ? a : `${a}:${b}`;
          });
        binds.push(`{${list.join(',')}}`);
      }
      // a default import of a Node built-in is its module.exports, as Node's ESM loader gives it
      const src0 = `__r(${JSON.stringify(from)})`;
      decls.push(binds.length === 1 ? `const ${binds[0]}=${src0};` : `const ${binds[0]}=${src0},${binds[1]}=${binds[0]};`);
    }
    return stmt.replace(/[^\n]/g, ' ');
  });
  for (const spec of expected) if (!seen.has(spec)) throw new Error(`bundle: ${name}: import of ${spec} not found`);
  for (const spec of seen) if (!expected.has(spec)) throw new Error(`bundle: ${name}: ${spec} is not an import of it (in a string?)`);
  // export{a as b,c}; at the end (esbuild gathers a chunk's exports there)
  code = code.replace(/export\s*\{([^}]*)\};?\s*$/, (_, list) =>
    list
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
      .map((x) => {
        const [a, b] = x.split(/\s+as\s+/);
        // Importers copy the value once (no live binding): an exported
        // variable assigned anywhere but its declaration would go stale.
        // esbuild declares every top-level binding with var; count `a=`.
        const esc = a.replace(/\$/g, '\\$');
        const assign = new RegExp(`(?<![\\w$.])${esc}\\s*(?:[-+*/%&|^]|\\*\\*|<<|>>>?|&&|\\|\\||\\?\\?)?=(?![=>])|(?<![\\w$.])(?:\\+\\+|--)${esc}(?![\\w$])|(?<![\\w$.])${esc}(?:\\+\\+|--)`, 'g');
        const assigns = src.match(assign)?.length ?? 0;
        if (assigns > 1) throw new Error(`bundle: ${name}: exported ${a} is assigned ${assigns} times: export a function that returns it instead (importers get no live binding)`);
        return `__x[${JSON.stringify(b ?? a)}]=${a};`;
      })
      .join('') + '\n',
  );
  code = code.replace(/\bimport\("(\.\/[^"]+)"\)/g, (_, spec) => `__imp (${JSON.stringify(spec)})`);
  const left = /(?:^|[;}\n])\s*(?:import\s*[{*"]|import\s+[\w$]+\s*(?:,|from)|export\s*[{*]|export\s+(?:function|class|const|let|var|default|async)\b)|\bimport\.meta\b|\bimport\("\.\//.exec(code);
  if (left !== null) throw new Error(`bundle: ${name}: unconverted module syntax at ${left.index}: ${code.slice(left.index, left.index + 80)}`);
  return { header: decls.join(''), code };
}

// The embedding API (package.json "exports": dist/src/lib/index.js, what
// `import { Server } from 'tsnats'` loads): index.js and what it imports as
// one ES module (esbuild, splitting: JetStream, cluster, leafnodes... stay in
// chunks of their own, loaded by import() when a server needs them), one
// file read and compiled instead of ~60 resolved, read and linked
// (BENCHMARKS.md, "Session 7"). Until it is built, and without esbuild, the
// file re-exports the modules tsc wrote.
const libDir = path.join(dist, 'lib');
function libraryShim() {
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.mkdirSync(libDir, { recursive: true });
  fs.writeFileSync(path.join(libDir, 'index.js'), "// no bundle (scripts/bundle.mjs): the modules as tsc wrote them\nexport * from '../index.js';\n");
}
libraryShim();

/** What the executable's bundle and the library's have in common. */
const ESBUILD_COMMON = {
  bundle: true,
  splitting: true,
  format: 'esm',
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'external',
  // V8 keeps the bundle's source in the heap for the life of the process
  // (functions compile from it on first call): without comments and
  // indentation it is 40% smaller, and ASCII-only it is a one-byte string
  // (one non-ASCII character in a comment made it UTF-16, 1.5 MB).
  minifyWhitespace: true,
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
};

async function bundleLibrary() {
  const out = path.join(dist, 'lib-out');
  fs.rmSync(out, { recursive: true, force: true });
  await esbuild.build({ ...ESBUILD_COMMON, entryPoints: [path.join(dist, 'index.js')], outdir: out });
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.renameSync(out, libDir);
}

const esbuild = await loadEsbuild();
if (esbuild === null) {
  removeOld();
  console.error('bundle: esbuild not installed, the launcher runs the unbundled modules');
  process.exit(0);
}
removeOld();
const result = await esbuild.build({
  ...ESBUILD_COMMON,
  entryPoints: [path.join(dist, 'cli', 'main.js')],
  outdir: path.join(dist, 'esbuild-out'),
  write: false,
  metafile: true,
  // createRequire(import.meta.url) (lazy npm packages and built-ins) needs a URL in the chunks too
  define: { 'import.meta.url': '__tsnats_import_meta_url' },
  // ...and in the bundle it is the launcher's require (the same directory):
  // node:module itself loads Node's ESM loader and source-map support,
  // ~0.8 ms and 0.3 MB at every start.
  plugins: [
    {
      name: 'create-require',
      setup(build) {
        build.onResolve({ filter: /^node:module$/ }, () => ({ path: 'node:module', namespace: 'create-require' }));
        build.onLoad({ filter: /.*/, namespace: 'create-require' }, () => ({
          contents: 'export const createRequire = () => require;',
          loader: 'js',
        }));
      },
    },
  ],
});

// Which chunks every start runs: the entry's static imports, START_ENTRIES and theirs.
const outDir = path.join(dist, 'esbuild-out');
const outputs = new Map(Object.entries(result.metafile.outputs).map(([f, o]) => [path.basename(f), o]));
const texts = new Map(result.outputFiles.map((f) => [path.basename(f.path), f.text]));
const start = new Set();
const addClosure = (name) => {
  if (start.has(name)) return;
  start.add(name);
  for (const imp of outputs.get(name).imports ?? []) if (!imp.external && imp.kind === 'import-statement') addClosure(path.basename(imp.path));
};
addClosure('main.js');
for (const e of START_ENTRIES) {
  const found = [...outputs].find(([, o]) => o.entryPoint?.endsWith(`/${e}`));
  if (found === undefined) throw new Error(`bundle: no chunk for ${e} (START_ENTRIES)`);
  addClosure(found[0]);
}

/** One file of chunks: (function (__define) { __define(name, function (...) {...}); ... }), and its index source map. */
function chunkFile(names) {
  const lines = ['(function (__define) {"use strict";'];
  const sections = [];
  for (const name of names) {
    const expected = new Set((outputs.get(name).imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => (i.external ? i.path : `./${path.basename(i.path)}`)));
    const { header, code } = toChunkFunction(name, texts.get(name), expected);
    lines.push(`__define(${JSON.stringify(name)}, function (require, __r, __x, __imp, __tsnats_import_meta_url) {${header}`);
    const map = JSON.parse(texts.get(`${name}.map`));
    map.sources = map.sources.map((s) => path.relative(dist, path.resolve(outDir, s)));
    sections.push({ offset: { line: lines.length, column: 0 }, map });
    lines.push(...code.split('\n'));
    lines.push('});');
  }
  lines.push('})');
  return { source: lines.join('\n'), map: { version: 3, sections } };
}

const files = [[out, [...start]]];
for (const name of outputs.keys()) if (name.endsWith('.js') && !start.has(name)) files.push([path.join(dist, `${CHUNK_PREFIX}${name}`), [name]]);
for (const [file, names] of files) {
  const { source, map } = chunkFile(names);
  // src/tsnats.cts reads the files as latin1, exact only for ASCII.
  if (/[^\x00-\x7f]/.test(source)) {
    removeOld();
    console.error(`bundle: ${path.basename(file)} is not ASCII-only (src/tsnats.cts reads it as latin1); the launcher runs the unbundled modules`);
    process.exit(1);
  }
  fs.writeFileSync(file, `${source}\n//# sourceMappingURL=${path.basename(file)}.map\n`);
  fs.writeFileSync(`${file}.map`, JSON.stringify(map));
}
// A static import of an npm package becomes require() in the bundle: an
// ESM-only package would fail there (ERR_REQUIRE_ESM in Node 20), and maybe
// only when the feature using it is configured. Refuse to bundle instead.
const bundleRequire = createRequire(out);
for (const o of Object.values(result.metafile.outputs)) {
  for (const imp of o.imports ?? []) {
    if (!imp.external || imp.kind === 'dynamic-import' || imp.path.startsWith('node:')) continue;
    try {
      bundleRequire(imp.path);
    } catch (e) {
      removeOld();
      console.error(`bundle: ${imp.path} cannot be require()d (${e.code ?? e.message}); import it with import() to bundle the server. the launcher runs the unbundled modules.`);
      process.exit(0);
    }
  }
}
try {
  await bundleLibrary();
} catch (e) {
  libraryShim();
  console.error(`bundle: the embedding API stays unbundled: ${e.message}`);
}
try {
  await primeCache();
  await primeJetStreamCaches().catch((e) => console.error(`bundle: JetStream code caches not primed: ${e.message}`));
} catch (e) {
  // a bundle that does not start must not be used: the launcher falls back to the modules
  removeOld();
  console.error(`bundle: the bundled server did not start, bundle removed: ${e.message}`);
  process.exit(1);
}
