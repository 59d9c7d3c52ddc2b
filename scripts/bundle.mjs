#!/usr/bin/env node
// `npm run build`, after tsc: bundles the executable's body
// (dist/src/cli/main.js and every module of ours it imports, statically or
// with import()) into dist/src/tsnats.bundle.js, which the launcher (dist/src/tsnats.cjs) runs with
// V8's code cache (see src/tsnats.cts for why), then starts it once so that
// the code cache (dist/src/tsnats.bundle.js.cache) holds the start-up path and a
// client connection's. npm packages stay outside the bundle (require()d from
// node_modules at first use, as before).
//
// esbuild comes from node_modules, or from the package directory named by
// $ESBUILD_PATH. Without it the build still works: the launcher then
// imports the tsc output directly (slower start, same behaviour).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
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

function removeOld() {
  for (const f of [out, `${out}.map`, cacheFile]) fs.rmSync(f, { force: true });
}

/** Start the bundled server once, make one client connection, let it write its code cache. */
async function primeCache() {
  const child = spawn(process.execPath, [path.join(dist, 'tsnats.cjs'), '-a', '127.0.0.1', '-p', '-1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TSNATS_WRITE_CODE_CACHE: '1' },
  });
  let err = '';
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "Server is ready" in 20 s:\n${err}`)), 20000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      err += d;
      const m = /Listening for client connections on [^\n]*:(\d+)\n[^]*Server is ready/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${err}`)));
  });
  await new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n');
    });
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      got += d;
      if (got.includes('PONG')) sock.end();
    });
    sock.on('close', resolve);
    sock.on('error', resolve);
  });
  const stamp = fs.existsSync(cacheFile) ? fs.statSync(cacheFile).mtimeMs : 0;
  const until = Date.now() + 5000;
  while (Date.now() < until && (!fs.existsSync(cacheFile) || fs.statSync(cacheFile).mtimeMs === stamp)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  if (!fs.existsSync(cacheFile)) console.error('bundle: no code cache written (the server compiles the bundle at each start)');
}

const esbuild = await loadEsbuild();
if (esbuild === null) {
  removeOld();
  console.error('bundle: esbuild not installed, the launcher runs the unbundled modules');
  process.exit(0);
}
removeOld();
const result = await esbuild.build({
  entryPoints: [path.join(dist, 'cli', 'main.js')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // V8 keeps the bundle's source in the heap for the life of the process
  // (functions compile from it on first call): without comments and
  // indentation it is 40% smaller, and ASCII-only it is a one-byte string
  // (one non-ASCII character in a comment made it UTF-16, 1.5 MB).
  minifyWhitespace: true,
  charset: 'ascii',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // createRequire(import.meta.url) (lazy npm packages and built-ins) needs a URL in CommonJS too
  define: { 'import.meta.url': '__tsnats_import_meta_url' },
  // ...and in the bundle it is the bundle's own require (the launcher's, in
  // the same directory): node:module itself loads Node's ESM loader and
  // source-map support, ~0.8 ms and 0.3 MB at every start.
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
  // The file is the CommonJS wrapper function itself (src/tsnats.cts compiles
  // it as is): wrapping at run time would keep a second copy of the source.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) {\"use strict\";var __tsnats_import_meta_url = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '})' },
});
// src/tsnats.cts reads the bundle as latin1, exact only for ASCII.
if (fs.readFileSync(out).some((b) => b > 0x7f)) {
  removeOld();
  console.error('bundle: the bundle is not ASCII-only (src/tsnats.cts reads it as latin1); the launcher runs the unbundled modules');
  process.exit(1);
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
  await primeCache();
} catch (e) {
  // a bundle that does not start must not be used: the launcher falls back to the modules
  removeOld();
  console.error(`bundle: the bundled server did not start, bundle removed: ${e.message}`);
  process.exit(1);
}
