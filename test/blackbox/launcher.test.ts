// The launcher (dist/src/tsnats.cjs, the package's bin; dist/src/main.js
// loads it) runs the esbuild bundle (dist/src/tsnats.bundle.js, with its V8
// code cache) when the build made one, else the modules tsc wrote
// (TSNATS_NO_BUNDLE=1 forces that). Every way must be the same server: same
// output for -v / --help, same start-up log, same answer to a client.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TSNATS_MAIN } from '../helpers/servers.js';

const BUNDLE = join(dirname(TSNATS_MAIN), 'tsnats.bundle.js');
const BIN = join(dirname(TSNATS_MAIN), 'tsnats.cjs');
interface Mode {
  entry: string;
  env: NodeJS.ProcessEnv;
}
const MODES: Record<string, Mode> = {
  default: { entry: BIN, env: { ...process.env, TSNATS_NO_BUNDLE: '' } },
  esmEntry: { entry: TSNATS_MAIN, env: { ...process.env, TSNATS_NO_BUNDLE: '' } },
  unbundled: { entry: BIN, env: { ...process.env, TSNATS_NO_BUNDLE: '1' } },
};

function run(args: string[], { entry, env }: Mode) {
  const r = spawnSync(process.execPath, [entry, ...args], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** start on a random port, read the INFO a client gets, stop; the masked start-up log and INFO keys */
async function startAndConnect({ entry, env }: Mode, args: string[] = []): Promise<{ log: string[]; infoKeys: string[]; version: string }> {
  const proc = spawn(process.execPath, [entry, '-a', '127.0.0.1', '-p', '-1', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.setEncoding('utf8');
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not ready:\n${err}`)), 20_000);
      proc.stderr.on('data', (d: string) => {
        err += d;
        const m = /Listening for client connections on 127\.0\.0\.1:(\d+)[^]*Server is ready/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      proc.once('exit', (code) => reject(new Error(`exited ${code}:\n${err}`)));
    });
    const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let buf = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        buf += d;
        const i = buf.indexOf('\r\n');
        if (i >= 0) {
          s.destroy();
          resolve(JSON.parse(buf.slice(5, i)) as Record<string, unknown>);
        }
      });
      s.on('error', reject);
    });
    const log = err
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replace(/\bN[A-Z2-7]{55}\b/g, '<ID>').replace(/:\d+$/, ':<port>'))
      // JetStream's limits follow the free memory and disk of the moment; its node name, the random server name
      .map((l) => l.replace(/^(\[INF\]\s+(?:Max Memory|Max Storage|Node):\s+).*/, '$1<x>'));
    return { log, infoKeys: Object.keys(info).sort(), version: String(info.version) };
  } finally {
    proc.kill('SIGINT');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
  }
}

describe('launcher: bundled and unbundled runs are the same server', () => {
  it('prints the same -v and --help', () => {
    for (const args of [['-v'], ['--help']]) {
      const a = run(args, MODES.default);
      assert.equal(a.status, 0);
      assert.deepEqual(run(args, MODES.unbundled), a);
      assert.deepEqual(run(args, MODES.esmEntry), a);
    }
    assert.match(run(['-v'], MODES.default).stdout, /^nats-server: v2\.9\.10 \(tsnats \S+\)\n$/);
  });

  it('starts with the same log and INFO', async () => {
    const a = await startAndConnect(MODES.default);
    assert.deepEqual(await startAndConnect(MODES.unbundled), a);
    assert.deepEqual(await startAndConnect(MODES.esmEntry), a);
    assert.equal(a.version, '2.9.10');
    assert.ok(a.log.includes('[INF] Server is ready'), a.log.join('\n'));
  });

  it('loads the subsystems from their own chunk files the same way (JetStream, monitoring)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'launcher-js-'));
    try {
      const args = ['-js', '-sd', dir, '-m', '-1'];
      const a = await startAndConnect(MODES.default, args);
      assert.deepEqual(await startAndConnect(MODES.unbundled, args), a);
      assert.ok(a.log.includes('[INF] Starting JetStream'), a.log.join('\n'));
      assert.ok(a.infoKeys.includes('jetstream'), a.infoKeys.join(','));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the build made a bundle when esbuild is installed', (t) => {
    let esbuild = true;
    try {
      import.meta.resolve('esbuild');
    } catch {
      esbuild = process.env.ESBUILD_PATH !== undefined;
    }
    if (!esbuild) {
      t.diagnostic('esbuild not installed: only the unbundled run was compared with itself');
      return;
    }
    assert.ok(existsSync(BUNDLE), `${BUNDLE} missing although esbuild is installed`);
    assert.ok(existsSync(`${BUNDLE}.cache`), 'code cache missing');
    // what a plain server does not run is not in the file every start reads (scripts/bundle.mjs)
    const chunks = readdirSync(dirname(BUNDLE)).filter((f) => /^tsnats\.chunk-[A-Z0-9]+\.js$/.test(f));
    assert.ok(chunks.length > 0, 'no chunk files next to the bundle');
    assert.ok(!readFileSync(BUNDLE, 'latin1').includes('Starting JetStream'), 'JetStream code in the start bundle');
  });
});

describe('embedding API: the package export', () => {
  // package.json "exports" names the bundle scripts/bundle.mjs makes of
  // index.js (or, without esbuild, a file re-exporting the modules): it must
  // export what index.js does and run the same server.
  it('exports what src/index.ts does and starts a server that answers INFO', async () => {
    const root = dirname(dirname(dirname(BUNDLE)));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string; exports: { '.': { import: string } } };
    assert.equal(pkg.main, pkg.exports['.'].import);
    const file = join(root, pkg.exports['.'].import);
    const lib = (await import(pathToFileURL(file).href)) as typeof import('../../src/index.js');
    const modules = await import('../../src/index.js');
    assert.deepEqual(Object.keys(lib).sort(), Object.keys(modules).sort());
    const s = new lib.Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    try {
      const info = await new Promise<string>((resolve, reject) => {
        const c = connect(s.port, '127.0.0.1');
        let buf = '';
        c.setEncoding('latin1');
        c.on('data', (d: string) => {
          buf += d;
          if (buf.includes('\r\n')) {
            c.destroy();
            resolve(buf);
          }
        });
        c.on('error', reject);
      });
      assert.match(info, /^INFO \{.*"version":"2\.9\.10"/);
    } finally {
      await s.shutdown();
    }
  });
});

describe('launcher: code cache', () => {
  /** a copy of the bundle without its caches, under dist/ so that npm packages still resolve */
  function bundleCopy(): string {
    const dir = mkdtempSync(join(dirname(dirname(BUNDLE)), 'launcher-cache-'));
    // the launcher first: a bundle older than it counts as stale
    copyFileSync(BIN, join(dir, 'tsnats.cjs'));
    for (const f of readdirSync(dirname(BUNDLE))) {
      if (/^tsnats\.(bundle|chunk-[A-Z0-9]+)\.js$/.test(f)) copyFileSync(join(dirname(BUNDLE), f), join(dir, f));
    }
    return dir;
  }

  /**
   * One start of the copy in dir, until it is ready and, with untilCache,
   * until every file it reported has its cache: file -> 'none' | 'accepted' |
   * 'rejected', and the server's log.
   */
  async function start(dir: string, args: string[], untilCache: boolean): Promise<{ reports: Record<string, string>; log: string }> {
    const proc = spawn(process.execPath, [join(dir, 'tsnats.cjs'), '-a', '127.0.0.1', '-p', '-1', ...args], {
      env: { ...process.env, TSNATS_DEBUG_CODE_CACHE: '1', TSNATS_WRITE_CODE_CACHE: '', TSNATS_NO_BUNDLE: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => (err += d));
    const reports = (): Record<string, string> =>
      Object.fromEntries([...err.matchAll(/tsnats: code cache of (\S+): (\w+)/g)].map((m) => [m[1]!, m[2]!]));
    try {
      const t0 = Date.now();
      while (!/Server is ready/.test(err) || (untilCache && Object.keys(reports()).some((f) => !existsSync(join(dir, `${f}.cache`))))) {
        assert.equal(proc.exitCode, null, `server exited:\n${err}`);
        assert.ok(Date.now() - t0 < 60_000, `not ready${untilCache ? ' or caches not written' : ''} in 60 s:\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return { reports: reports(), log: err };
    } finally {
      proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
    }
  }

  // The launcher changes V8 flags at run time (src/tsnats.cts: the memory
  // reducer's delay before the bundle is compiled, --optimize-for-size for
  // a while after), and V8 rejects a code cache made under other flags. A
  // cache one start writes must be accepted by the next, or every start
  // compiles the bundle again (and writes it again).
  it('a code cache written by one start is accepted by the next', async (t) => {
    if (!existsSync(BUNDLE)) {
      t.diagnostic('no bundle (esbuild not installed): nothing to cache');
      return;
    }
    const dir = bundleCopy();
    try {
      for (const [untilCache, want] of [[true, 'none'], [false, 'accepted'], [false, 'accepted']] as const) {
        const { reports, log } = await start(dir, [], untilCache);
        assert.equal(reports['tsnats.bundle.js'], want, log);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A server with JetStream turns V8's lazy feedback allocation off once the
  // bundle is compiled and before the JetStream chunks are (src/tsnats.cts
  // setEagerFeedback): each file's cache must be written under the flags
  // it was compiled under, or starts with and without JetStream would keep
  // rejecting and rewriting each other's caches.
  it('code caches stay accepted across starts with and without JetStream', async (t) => {
    if (!existsSync(BUNDLE)) {
      t.diagnostic('no bundle (esbuild not installed): nothing to cache');
      return;
    }
    const dir = bundleCopy();
    const store = mkdtempSync(join(tmpdir(), 'launcher-js-'));
    const js = ['-js', '-sd', store];
    try {
      const first = (await start(dir, js, true)).reports;
      assert.ok(Object.keys(first).length >= 2, `the bundle and a JetStream chunk: ${JSON.stringify(first)}`);
      assert.deepEqual(new Set(Object.values(first)), new Set(['none']));
      for (const withJs of [true, false, true]) {
        const r = (await start(dir, withJs ? js : [], false)).reports;
        assert.ok(Object.keys(r).length >= (withJs ? 2 : 1), JSON.stringify(r));
        for (const [f, v] of Object.entries(r)) assert.equal(v, 'accepted', `${f} (${withJs ? 'with' : 'without'} JetStream): ${JSON.stringify(r)}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(store, { recursive: true, force: true });
    }
  });
});

/** CPU time (ms, all threads) a process has used, from /proc; null where there is no /proc */
function cpuMs(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return null;
  }
}

describe('launcher: start-up', () => {
  // The exact figures are in BENCHMARKS.md (npm run bench:startup); this
  // only catches a regression that makes start-up several times slower
  // (the bin needs ~0.2 s of CPU to answer on the 2-core bench machine).
  // CPU time, not wall time, is bounded: a loaded machine stretches wall
  // time by 5x and more, the CPU a start needs far less.
  it('the bin answers a client on its port within a generous CPU bound', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const proc = spawn(process.execPath, [BIN, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    try {
      const t0 = Date.now();
      let cpu: number | null = null;
      for (;;) {
        assert.equal(proc.exitCode, null, 'server exited');
        const info = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.setEncoding('latin1');
          s.once('data', (d: string) => {
            s.destroy();
            resolve(d.startsWith('INFO '));
          });
          s.once('error', () => resolve(false));
        });
        if (info) {
          cpu = cpuMs(proc.pid!);
          break;
        }
        assert.ok(Date.now() - t0 < 30_000, 'no INFO within 30 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      if (cpu !== null) assert.ok(cpu < 2000, `${cpu.toFixed(0)} ms of CPU until the first client got INFO`);
    } finally {
      proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
    }
  });
});

describe('launcher: young generation', () => {
  // The bin keeps V8's young generation at its first size
  // (--semi-space-growth-factor=1, src/tsnats.cts): under a steady load with
  // survivors V8 doubles it up to 16 MiB semi-spaces, a step of ~25 MiB of
  // RSS minutes into the load. A preloaded module makes such survivors inside
  // the server's process once its start-up settling is over and reports the
  // new space's size.
  it('does not grow under an allocation load with survivors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnats-younggen-'));
    const hook = join(dir, 'survivors.mjs');
    writeFileSync(
      hook,
      `import v8 from 'node:v8';
setTimeout(() => {
  let keep = [];
  let ticks = 0;
  const tick = () => {
    for (let k = 0; k < 20000; k++) { keep.push({ a: k, b: 'x' + k }); if (keep.length > 200000) keep = keep.slice(100000); }
    if (++ticks < 150) { setImmediate(tick); return; }
    keep = [];
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stderr.write('new_space_bytes=' + ns.space_size + '\\n');
  };
  tick();
}, 3500);
`,
    );
    const proc = spawn(process.execPath, ['--import', pathToFileURL(hook).href, BIN, '-a', '127.0.0.1', '-p', '-1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      proc.stderr.setEncoding('utf8');
      const bytes = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no report:\n${err}`)), 30_000);
        proc.stderr.on('data', (d: string) => {
          err += d;
          const m = /new_space_bytes=(\d+)/.exec(err);
          if (m) {
            clearTimeout(t);
            resolve(Number(m[1]));
          }
        });
        proc.once('exit', (code) => reject(new Error(`exited ${code}:\n${err}`)));
      });
      // 1 MiB semi-spaces: 2 MiB; grown, it is 8-32 MiB
      assert.ok(bytes <= 4 * 2 ** 20, `new space grew to ${bytes} bytes`);
    } finally {
      proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
