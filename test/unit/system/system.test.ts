// Units of the system account service: Go-compatible decoding of request
// options, the server hash of tracked replies, latency sampling by tracing
// headers, and event ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOptions, OptionsError } from '../../../src/system/options.js';
import { getHash, shouldSample } from '../../../src/system/latency.js';
import { EventIds } from '../../../src/system/info.js';
import { crc32c, snappyFrame } from '../../../src/system/snappy.js';

const CONNZ = { limit: 'int', offset: 'int', sort: 'sortopt', auth: 'bool', cid: 'uint64', accounts: 'strings' } as const;

function err(body: string): string {
  try {
    decodeOptions(Buffer.from(body), 'ConnzEventOptions', CONNZ);
  } catch (e) {
    assert.ok(e instanceof OptionsError);
    return e.message;
  }
  return 'no error';
}

test('options decode as Go fills the struct', () => {
  assert.deepEqual(decodeOptions(Buffer.from('{"limit":2,"LIMIT":3,"unknown":{},"Sort":"cid","server_name":"x"}'), 'ConnzEventOptions', CONNZ), {
    limit: 3,
    sort: 'cid',
    server_name: 'x',
  });
  assert.deepEqual(decodeOptions(Buffer.alloc(0), 'X', CONNZ), {});
  assert.deepEqual(decodeOptions(Buffer.from('null'), 'X', CONNZ), {});
  assert.deepEqual(decodeOptions(Buffer.from('{"limit":null}'), 'X', CONNZ), {});
});

test('option errors carry Go encoding/json texts', () => {
  assert.equal(err('{bad'), "invalid character 'b' looking for beginning of object key string");
  assert.equal(err('[]'), 'json: cannot unmarshal array into Go value of type server.ConnzEventOptions');
  assert.equal(err('"x"'), 'json: cannot unmarshal string into Go value of type server.ConnzEventOptions');
  assert.equal(err('{"limit":"x"}'), 'json: cannot unmarshal string into Go struct field ConnzEventOptions.limit of type int');
  assert.equal(err('{"limit":1.5}'), 'json: cannot unmarshal number 1.5 into Go struct field ConnzEventOptions.limit of type int');
  assert.equal(err('{"cid":-3}'), 'json: cannot unmarshal number -3 into Go struct field ConnzEventOptions.cid of type uint64');
  assert.equal(err('{"auth":1}'), 'json: cannot unmarshal number into Go struct field ConnzEventOptions.auth of type bool');
  assert.equal(err('{"sort":true}'), 'json: cannot unmarshal bool into Go struct field ConnzEventOptions.sort of type server.SortOpt');
  assert.equal(err('{"accounts":[1]}'), 'json: cannot unmarshal number into Go struct field ConnzEventOptions.accounts of type string');
  assert.equal(err('{"tags":"x"}'), 'json: cannot unmarshal string into Go struct field ConnzEventOptions.tags of type []string');
  // the first type error is reported, after the rest was decoded
  assert.equal(err('{"auth":"x","limit":"y"}'), 'json: cannot unmarshal string into Go struct field ConnzEventOptions.auth of type bool');
});

test('the server hash of tracked replies is the reference getHash', () => {
  // nats-server 2.9.10 named NBXIYN6B… tracked a request with reply _R_.Vrv22C.lMYagd.1FHGLDpB.T
  assert.equal(getHash('NBXIYN6BFYHNF56FIHBOIBVCPWS57YYQ54M3PSKZGFHZCWBZG3IVSUB2'), '1FHGLDpB');
  assert.equal(getHash('x').length, 8);
});

test('latency sampling: percentages and tracing headers', () => {
  assert.deepEqual(shouldSample(100, ''), {});
  assert.equal(shouldSample(-1, ''), null);
  assert.equal(shouldSample(0, ''), null);
  const tp = 'NATS/1.0\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nTracestate: a=b\r\n';
  assert.deepEqual(shouldSample(0, tp), {
    Traceparent: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    Tracestate: ['a=b'],
  });
  assert.equal(shouldSample(0, 'NATS/1.0\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\n'), null);
  assert.deepEqual(shouldSample(0, 'NATS/1.0\r\nUber-Trace-Id: 479fefe9525eddb:5adb976bfc1f95c1:479fefe9525eddb:1\r\nUberctx-x: y\r\n'), {
    'Uber-Trace-Id': ['479fefe9525eddb:5adb976bfc1f95c1:479fefe9525eddb:1'],
    'Uberctx-X': ['y'],
  });
  assert.equal(shouldSample(0, 'NATS/1.0\r\nUber-Trace-Id: 479fefe9525eddb:5adb976bfc1f95c1:479fefe9525eddb:0\r\n'), null);
  assert.equal(shouldSample(0, 'NATS/1.0\r\nX-B3-Sampled: 0\r\nX-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7\r\n'), null);
  assert.deepEqual(shouldSample(0, 'NATS/1.0\r\nX-B3-TraceId: 80f1\r\n'), { 'X-B3-Traceid': ['80f1'] });
  assert.deepEqual(shouldSample(0, 'NATS/1.0\r\nB3: 80f198ee56343ba8-e457b5a2e4d86bd1-1\r\n'), { B3: ['80f198ee56343ba8-e457b5a2e4d86bd1-1'] });
  assert.equal(shouldSample(0, 'NATS/1.0\r\nB3: 0\r\n'), null);
});

test('event ids are 22 base62 characters, unique', () => {
  const ids = new EventIds();
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = ids.next();
    assert.match(id, /^[0-9A-Za-z]{22}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
});

test('framed Snappy: stream identifier, uncompressed chunks with masked CRC-32C', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const data = Buffer.from('{"status":"ok"}');
  const f = snappyFrame(data);
  assert.equal(f.subarray(0, 10).toString('latin1'), '\xff\x06\x00\x00sNaPpY');
  assert.equal(f[10], 0x01);
  assert.equal(f[11]! | (f[12]! << 8) | (f[13]! << 16), data.length + 4);
  const crc = crc32c(data);
  assert.equal(f.readUInt32LE(14), (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  assert.deepEqual(f.subarray(18), data);
  // chunks of at most 64 KiB
  const big = snappyFrame(Buffer.alloc(65536 * 2 + 10, 7));
  assert.equal(big.length, 10 + 3 * 8 + 65536 * 2 + 10);
});

test('client events nobody would hear are not built; with a subscriber they are', async () => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { loadConfigFile } = await import('../../../src/config/load.js');
  const { Server } = await import('../../../src/server/server.js');
  const { SystemAccountService } = await import('../../../src/system/index.js');
  await import('../../../src/system/register.js');
  const { connect } = await import('@nats-io/transport-node');
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-sys-'));
  const conf = join(dir, 'server.conf');
  writeFileSync(conf, 'listen: "127.0.0.1:-1"\naccounts { A { users [{user: a, password: a}] }, SYS { users [{user: sys, password: sys}] } }\nsystem_account: SYS\n');
  const opts = loadConfigFile(conf).options;
  const quiet = { notice() {}, warn() {}, error() {}, fatal() {}, debug() {}, trace() {}, debugEnabled: false, traceEnabled: false };
  const srv = new Server(opts, quiet as never);
  await srv.start();
  try {
    const sys = srv.system as InstanceType<typeof SystemAccountService>;
    const url = `nats://127.0.0.1:${srv.port}`;
    for (let i = 0; i < 3; i++) await (await connect({ servers: url, user: 'a', pass: 'a' })).close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sys.events.built, 0, 'no subscriber: no CONNECT/DISCONNECT built');
    const watcher = await connect({ servers: url, user: 'sys', pass: 'sys' });
    const seen: string[] = [];
    watcher.subscribe('$SYS.ACCOUNT.A.*', { callback: (_e, m) => void seen.push(m.subject) });
    await watcher.flush();
    await (await connect({ servers: url, user: 'a', pass: 'a' })).close();
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['$SYS.ACCOUNT.A.CONNECT', '$SYS.ACCOUNT.A.DISCONNECT']);
    assert.equal(sys.events.built, 2);
    await watcher.close();
  } finally {
    await srv.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an account a reload adds is tracked: its CONNS request goes to the other servers', async () => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { loadConfigFile } = await import('../../../src/config/load.js');
  const { Server } = await import('../../../src/server/server.js');
  await import('../../../src/system/register.js');
  const { connect } = await import('@nats-io/transport-node');
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-sys-'));
  const conf = join(dir, 'server.conf');
  const text = (extra: string): string =>
    `listen: "127.0.0.1:-1"\naccounts { A { users [{user: a, password: a}] }, SYS { users [{user: sys, password: sys}] }${extra} }\nsystem_account: SYS\n`;
  writeFileSync(conf, text(''));
  const quiet = { notice() {}, warn() {}, error() {}, fatal() {}, debug() {}, trace() {}, debugEnabled: false, traceEnabled: false };
  const srv = new Server(loadConfigFile(conf).options, quiet as never);
  await srv.start();
  try {
    const watcher = await connect({ servers: `nats://127.0.0.1:${srv.port}`, user: 'sys', pass: 'sys' });
    const seen: string[] = [];
    watcher.subscribe('$SYS.REQ.ACCOUNT.*.CONNS', { callback: (_e, m) => void seen.push(`${m.subject} ${m.reply ?? ''}`) });
    await watcher.flush();
    writeFileSync(conf, text(', NEW { users [{user: n, password: n}] }'));
    const next = loadConfigFile(conf).options;
    srv.reload(next);
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [`$SYS.REQ.ACCOUNT.NEW.CONNS $SYS._INBOX_.${srv.serverId}`]);
    await watcher.close();
  } finally {
    await srv.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a STATSZ heartbeat nobody but the server itself would get is not built, but its sequence number goes by', async () => {
  const { Server } = await import('../../../src/index.js');
  const { serverInfo } = await import('../../../src/system/info.js');
  const s = new Server({ host: '127.0.0.1', port: -1 });
  await s.start();
  try {
    const sys = s.systemAccount!;
    const seq0 = serverInfo(s).seq as number;
    // every message of the system account leaves through its send()
    const ctx = s.system as unknown as { send(subject: string, ...rest: unknown[]): void };
    const sent: string[] = [];
    const send = ctx.send.bind(ctx);
    ctx.send = (subject, ...rest) => {
      sent.push(subject);
      send(subject, ...rest);
    };
    await new Promise((r) => setTimeout(r, 1300));
    const seq1 = serverInfo(s).seq as number;
    assert.deepEqual(sent, []);
    // heartbeats at 0.25 (maybe before seq0 under load), 0.5 and 1 s: at least two numbers went by unsent
    assert.ok(seq1 - seq0 >= 3, `seq ${seq0} -> ${seq1}`);
    assert.ok(sys.sublist.match(`$SYS.SERVER.${s.serverId}.STATSZ`).psubs.length >= 1, 'the server hears STATSZ subjects itself');
  } finally {
    await s.shutdown();
  }
});
