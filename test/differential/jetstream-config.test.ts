// Differential tests of enabling JetStream: start-up failures of JetStream
// settings (both binaries, same config, same message and exit), the start-up
// lines (the Node line of both servers; the JetStream banner the reference
// prints against jetStreamStartLines over resolveJetStreamConfig on the same
// machine), and the monitoring documents of an empty JetStream (/jsz, /varz,
// /healthz, /accountz): same keys, same fixed values.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { referenceBinary, referenceOnly, serverCommand, startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { sleep } from '../helpers/rawclient.js';
import { tempStoreDir } from '../helpers/jetstream.js';
import { defaultOptions } from '../../src/config/options.js';
import { resolveJetStreamConfig } from '../../src/config/jetstream-conf.js';
import { JS_STARTING, jetStreamStartLines } from '../../src/jetstream/banner.js';
import { getHash } from '../../src/server/node-hash.js';

const dir = tempStoreDir();
let n = 0;

/** Run one binary on a config that must fail before serving; stderr lines without pid/time. */
function failing(kind: ServerKind, conf: string): { status: number | null; lines: string[] } {
  const file = join(dir, `f${++n}.conf`);
  writeFileSync(file, conf);
  const [cmd, ...pre] = serverCommand(kind);
  const r = spawnSync(cmd!, [...pre, '-a', '127.0.0.1', '-p', '-1', '-c', file], { encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
  assert.equal(r.error, undefined, `cannot run ${kind}: ${r.error?.message}`);
  const lines = (r.stderr + r.stdout)
    .split('\n')
    .filter((l) => /nats-server: |\[FTL\]/.test(l))
    .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replaceAll(file, '<conf>'));
  return { status: r.status, lines };
}

describe('JetStream start-up failures', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const cases: [string, string][] = [
    ['domain with a dot', 'jetstream { domain: "a.b" }\n'],
    ['domain with a space', 'jetstream { domain: "a b" }\n'],
    ['clustered without server_name', 'jetstream: true\ncluster { listen: "127.0.0.1:-1" }\n'],
    ['clustered without cluster name', 'jetstream: true\nserver_name: s1\ncluster { listen: "127.0.0.1:-1" }\n'],
    ['default_js_domain of an unknown account', 'default_js_domain: { B: "x" }\n'],
    ['default_js_domain of a JetStream account', 'accounts { B { jetstream: enabled } }\ndefault_js_domain: { B: "x" }\n'],
    ['JetStream on the system account', `accounts { S { jetstream: enabled } }\nsystem_account: S\njetstream { store_dir: "${join(dir, 'sys')}" }\n`],
    ['store_dir is a file', `jetstream { store_dir: "${file}" }\n`],
    // Node's recursive mkdirSync never returns here: config/jetstream-conf.ts mkdirAll walks it as Go does
    ['store_dir cannot be created', 'jetstream { store_dir: "/proc/tsnats-nope" }\n'],
    ['bad size', 'jetstream { max_file_store: "12Q" }\n'],
    ['bad account limit', 'accounts { A { jetstream { max_streams: "x" } } }\n'],
  ];
  for (const [name, conf] of cases) {
    it(name, { timeout: 60_000 }, () => {
      const ref = failing('reference', conf);
      assert.notEqual(ref.status, 0, `the reference must fail: ${ref.lines.join('\n')}`);
      assert.ok(ref.lines.length > 0);
      if (referenceOnly()) return;
      const ts = failing('tsnats', conf);
      assert.deepEqual(ts.lines, ref.lines);
      assert.equal(ts.status, ref.status);
    });
  }
});

async function monitored(kind: ServerKind, extra: string[] = []): Promise<{ s: RunningServer; http: string; sd: string }> {
  const sd = tempStoreDir();
  const s = await startServer(kind, ['-js', '-sd', sd, '-m', '-1', ...extra]);
  let m: RegExpExecArray | null = null;
  for (let i = 0; i < 200 && m === null; i++) {
    m = /Starting http monitor on (\S+)/.exec(s.stderr());
    if (m === null) await sleep(10);
  }
  assert.ok(m, `${kind}: no monitor line`);
  return { s, http: `http://${m[1]!.replace('0.0.0.0', '127.0.0.1')}`, sd };
}

async function json(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return (await r.json()) as Record<string, unknown>;
}

/** Keys everywhere, values where they are fixed ('*' masks those that depend on the server). */
function shape(v: unknown, masked: ReadonlySet<string>, key = ''): unknown {
  if (masked.has(key)) return '*';
  if (Array.isArray(v)) return v.map((x) => shape(x, masked));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x, masked, k)]));
  }
  return v;
}

const MASK = new Set(['server_id', 'now', 'max_memory', 'max_storage', 'store_dir']);

describe('JetStream start-up lines and monitoring of an empty JetStream', () => {
  it('the Node line follows Name, same hash', { timeout: 60_000 }, async () => {
    const ref = await startServer('reference', ['-js', '-sd', tempStoreDir(), '-n', 'node-test-1']);
    const refLines = ref.stderr().split('\n');
    await ref.stop();
    const pick = (lines: string[]) => lines.map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '')).filter((l) => /^\[INF\] +(Name|Node|ID):/.test(l)).map((l) => l.replace(/ID: +\S+/, 'ID: *'));
    const want = pick(refLines);
    assert.deepEqual(want, ['[INF]   Name:     node-test-1', `[INF]   Node:     ${getHash('node-test-1')}`, '[INF]   ID: *']);
    if (referenceOnly()) return;
    const ts = await startServer('tsnats', ['-js', '-sd', tempStoreDir(), '-n', 'node-test-1']);
    const tsLines = ts.stderr().split('\n');
    await ts.stop();
    assert.deepEqual(pick(tsLines), want);
    const shut = (lines: string[]) => lines.map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '')).filter((l) => /JetStream/.test(l) && !/Store Directory/.test(l));
    assert.deepEqual(shut(ts.stderr().split('\n')), shut(ref.stderr().split('\n')), 'Starting / shutdown lines');
  });

  it('tsnats logs the reference start and shutdown lines', { timeout: 60_000 }, async () => {
    const run = async (kind: ServerKind, extra: string[]): Promise<string[]> => {
      const sd = tempStoreDir();
      const s = await startServer(kind, ['-js', '-sd', sd, '-n', 'lines-1', ...extra]);
      await s.stop();
      return s
        .stderr()
        .split('\n')
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, '').replaceAll(sd, '<sd>'))
        .filter((l) => l.startsWith('[INF]') && !/Version|Git:|ID:|Listening|Starting nats|Server is ready|Exiting|Initiating Shutdown|Starting http/.test(l))
        // free disk space moves between two readings
        .map((l) => l.replace(/(Max Storage: +)\S+ \S+/, '$1*'));
    };
    for (const extra of [[], ['-c', writeConfig('jetstream { max_mem: "64M", max_file: "1G", domain: hub }\n')]]) {
      const ref = await run('reference', extra);
      assert.ok(ref.includes('[INF] ---------------- JETSTREAM ----------------'), ref.join('\n'));
      if (referenceOnly()) continue;
      assert.deepEqual(await run('tsnats', extra), ref);
    }
  });

  it('the banner: jetStreamStartLines prints what the reference prints', { timeout: 60_000 }, async () => {
    const sd = tempStoreDir();
    const ref = await startServer('reference', ['-js', '-sd', sd]);
    const lines = ref
      .stderr()
      .split('\n')
      .map((l) => l.replace(/^\[\d+\] \S+ \S+ \[INF\] ?/, ''));
    await ref.stop();
    const from = lines.indexOf('Starting JetStream');
    const to = lines.indexOf('-------------------------------------------');
    assert.ok(from >= 0 && to > from, lines.join('\n'));
    const got = lines.slice(from, to + 1);
    const want = [JS_STARTING, ...jetStreamStartLines(resolveJetStreamConfig({ ...defaultOptions(), jetstream: true, storeDir: sd }))];
    // free disk space may move between the two readings: the storage line by shape and size
    const storage = (a: string[]) => a.find((l) => l.startsWith('  Max Storage:'))!;
    assert.match(storage(want), /^ {2}Max Storage: {5}\d+\.\d\d [KMGTPE]B$/);
    assert.equal(storage(want).slice(-2), storage(got).slice(-2));
    assert.ok(Math.abs(parseFloat(storage(want).slice(19)) - parseFloat(storage(got).slice(19))) < 1, `${storage(want)} vs ${storage(got)}`);
    assert.deepEqual(
      want.map((l) => (l.startsWith('  Max Storage:') ? '*' : l)),
      got.map((l) => (l.startsWith('  Max Storage:') ? '*' : l)),
    );
    // a domain and fixed limits
    const ref2 = await startServer('reference', ['-c', writeConfig(`jetstream { store_dir: "${sd}", max_mem: "1G", max_file: 5000000, domain: hub }\n`)]);
    const lines2 = ref2.stderr().split('\n').map((l) => l.replace(/^\[\d+\] \S+ \S+ \[INF\] ?/, ''));
    await ref2.stop();
    const o = { ...defaultOptions(), jetstream: true, storeDir: sd, jetstreamMaxMemory: 1024 ** 3, jetstreamMaxStore: 5e6, jetstreamDomain: 'hub' };
    const b = lines2.indexOf('---------------- JETSTREAM ----------------');
    assert.deepEqual(lines2.slice(b, b + 6), jetStreamStartLines(resolveJetStreamConfig(o)).slice(7));
  });

  it('/jsz, /varz, /healthz, /accountz agree', { timeout: 60_000 }, async () => {
    const ref = await monitored('reference');
    const ts = referenceOnly() ? ref : await monitored('tsnats');
    try {
      for (const path of ['/jsz', '/jsz?leader-only=true']) {
        const [a, b] = await Promise.all([json(ref.http + path), json(ts.http + path)]);
        assert.deepEqual(shape(b, MASK), shape(a, MASK), path);
      }
      const [va, vb] = await Promise.all([json(ref.http + '/varz'), json(ts.http + '/varz')]);
      assert.deepEqual(shape(vb.jetstream, MASK), shape(va.jetstream, MASK), '/varz jetstream');
      const cfg = (v: Record<string, unknown>) => (v.jetstream as { config: Record<string, unknown> }).config;
      assert.equal(cfg(vb).store_dir, join(ts.sd, 'jetstream'));
      assert.equal(cfg(va).store_dir, join(ref.sd, 'jetstream'));
      for (const path of ['/healthz', '/healthz?js-enabled-only=true', '/healthz?js-server-only=true']) {
        const [a, b] = await Promise.all([json(ref.http + path), json(ts.http + path)]);
        assert.deepEqual(b, a, path);
      }
      const [aa, ab] = await Promise.all([json(ref.http + '/accountz?acc=%24G'), json(ts.http + '/accountz?acc=%24G')]);
      const en = (d: Record<string, unknown>) => (d.account_detail as Record<string, unknown>).jetstream_enabled;
      assert.equal(en(ab), en(aa));
      assert.equal(en(aa), true);
    } finally {
      await ref.s.stop();
      if (ts !== ref) await ts.s.stop();
    }
  });
});

describe('INFO with JetStream', () => {
  it('advertises jetstream: true after max_payload', { timeout: 60_000 }, async () => {
    const info = async (kind: ServerKind): Promise<string[]> => {
      const s = await startServer(kind, ['-js', '-sd', tempStoreDir()]);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          const sock = connect(s.port, '127.0.0.1');
          sock.once('data', (d) => {
            resolve(d.toString('utf8'));
            sock.destroy();
          });
          sock.once('error', reject);
        });
        const o = JSON.parse(line.slice(5)) as Record<string, unknown>;
        assert.equal(o.jetstream, true);
        return Object.keys(o).filter((k) => k !== 'tsnats');
      } finally {
        await s.stop();
      }
    };
    const ref = await info('reference');
    if (referenceOnly()) return;
    assert.deepEqual(await info('tsnats'), ref);
  });
});

// the reference binary must exist: a missing one fails here
assert.ok(referenceBinary());
