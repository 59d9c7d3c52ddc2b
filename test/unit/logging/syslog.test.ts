import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

import { defaultOptions, type Options } from '../../../src/config/options.js';
import { LoggerError, createLogger, type LoggerDeps } from '../../../src/logging/logger.js';
import {
  LoggerProcessTransport,
  formatLocalMessage,
  formatNetworkMessage,
  parseRemoteSyslogUrl,
  syslogTag,
} from '../../../src/logging/syslog.js';

const savedTZ = process.env.TZ;
let dir: string;
before(() => {
  process.env.TZ = 'UTC';
  dir = mkdtempSync(join(tmpdir(), 'tsnats-syslog-'));
});
after(() => {
  if (savedTZ === undefined) delete process.env.TZ;
  else process.env.TZ = savedTZ;
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2023, 3, 5, 6, 7, 8) * 1000 + 9;
const deps: LoggerDeps = { clock: () => T0, pid: 4242, hostname: 'testhost', syslogTag: 'tsnats' };

function opts(over: Partial<Options>): Options {
  return { ...defaultOptions(), debug: true, trace: true, ...over };
}

function logAll(log: ReturnType<typeof createLogger>): void {
  log.notice('info msg');
  log.warn('warn msg');
  log.error('error msg');
  log.fatal('fatal msg');
  log.debug('debug msg');
  log.trace('trace msg');
}

// remote writers use facility 0 (the reference dials with LOG_DEBUG)
const REMOTE_EXPECTED = [
  '<5>2023-04-05T06:07:08Z testhost tsnats[4242]: info msg\n',
  '<4>2023-04-05T06:07:08Z testhost tsnats[4242]: warn msg\n',
  '<3>2023-04-05T06:07:08Z testhost tsnats[4242]: error msg\n',
  '<2>2023-04-05T06:07:08Z testhost tsnats[4242]: fatal msg\n',
  '<7>2023-04-05T06:07:08Z testhost tsnats[4242]: debug msg\n',
  '<5>2023-04-05T06:07:08Z testhost tsnats[4242]: trace msg\n',
];

async function streamServer(listen: (s: net.Server) => void): Promise<{ server: net.Server; received: (bytes: number) => Promise<string> }> {
  let buf = '';
  let waiter: { bytes: number; resolve: (s: string) => void } | undefined;
  const check = () => {
    if (waiter && Buffer.byteLength(buf) >= waiter.bytes) {
      waiter.resolve(buf);
      waiter = undefined;
    }
  };
  const server = net.createServer((c) => {
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      check();
    });
  });
  listen(server);
  await once(server, 'listening');
  return {
    server,
    received: (bytes) =>
      new Promise((resolve) => {
        waiter = { bytes, resolve };
        check();
      }),
  };
}

describe('remote syslog', () => {
  it('sends each message as one UDP datagram in the log/syslog network format', async () => {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      sock.on('message', (m) => {
        got.push(m.toString('utf8'));
        if (got.length === REMOTE_EXPECTED.length) resolve();
      }),
    );
    const log = createLogger(opts({ remoteSyslog: `udp://127.0.0.1:${sock.address().port}` }), deps);
    await log.ready;
    logAll(log);
    await all;
    await log.close();
    sock.close();
    assert.deepEqual(got, REMOTE_EXPECTED);
  });

  it('queues messages logged before the UDP socket is connected', async () => {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const first = once(sock, 'message');
    const log = createLogger(opts({ remoteSyslog: `udp://localhost:${sock.address().port}` }), deps);
    log.notice('early');
    const [m] = await first;
    await log.close();
    sock.close();
    assert.equal(m.toString(), '<5>2023-04-05T06:07:08Z testhost tsnats[4242]: early\n');
  });

  it('streams messages over TCP without framing', async () => {
    const { server, received } = await streamServer((s) => s.listen(0, '127.0.0.1'));
    const port = (server.address() as net.AddressInfo).port;
    const log = createLogger(opts({ remoteSyslog: `tcp://127.0.0.1:${port}` }), deps);
    await log.ready;
    logAll(log);
    const text = await received(Buffer.byteLength(REMOTE_EXPECTED.join('')));
    await log.close();
    server.close();
    assert.equal(text, REMOTE_EXPECTED.join(''));
  });

  it('redials TCP after the server dropped the connection', async () => {
    const conns: net.Socket[] = [];
    let second: (s: string) => void;
    const secondData = new Promise<string>((r) => (second = r));
    const server = net.createServer((c) => {
      conns.push(c);
      if (conns.length === 1) {
        c.once('data', () => c.destroy());
      } else {
        c.setEncoding('utf8');
        c.once('data', (d: string) => second(d));
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const log = createLogger(opts({ remoteSyslog: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}` }), deps);
    await log.ready;
    log.notice('first');
    // Messages written into the dying connection are lost (as with Go);
    // keep logging until the redialled connection carries one.
    let done = false;
    secondData.then(() => (done = true));
    for (let i = 0; i < 500 && !done; i++) {
      log.notice('again');
      await new Promise((r) => setTimeout(r, 5));
    }
    const d = await secondData;
    await log.close();
    server.close();
    assert.equal(conns.length, 2);
    assert.ok(d.startsWith('<5>2023-04-05T06:07:08Z testhost tsnats[4242]: again\n'));
  });

  it('uses the local format for unix:// addresses', async () => {
    const path = join(dir, 'remote.sock');
    const { server, received } = await streamServer((s) => s.listen(path));
    const log = createLogger(opts({ remoteSyslog: `unix://${path}` }), deps);
    await log.ready;
    log.warn('over unix');
    const expected = '<4>Apr  5 06:07:08 tsnats[4242]: over unix\n';
    const text = await received(Buffer.byteLength(expected));
    await log.close();
    server.close();
    assert.equal(text, expected);
  });

  it('rejects what the reference rejects, with its texts', async () => {
    assert.throws(
      () => createLogger(opts({ remoteSyslog: 'syslog://127.0.0.1:514' }), deps),
      (e: unknown) => e instanceof LoggerError && e.code === 'SYSLOG_NETWORK' && e.referenceText === 'error invalid network type: "syslog"',
    );
    assert.throws(
      () => createLogger(opts({ remoteSyslog: '127.0.0.1:514' }), deps),
      (e: unknown) =>
        e instanceof LoggerError && e.code === 'SYSLOG_URL' && e.referenceText === 'parse "127.0.0.1:514": first path segment in URL cannot contain colon',
    );
    const noPort = createLogger(opts({ remoteSyslog: 'udp://127.0.0.1' }), deps);
    await assert.rejects(noPort.ready, (e: unknown) => {
      assert.ok(e instanceof LoggerError);
      assert.equal(e.referenceText, 'error connecting to syslog: "dial udp: address 127.0.0.1: missing port in address"');
      return true;
    });
  });

  it('reports a refused TCP connection like the reference', async () => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    const log = createLogger(opts({ remoteSyslog: `tcp://127.0.0.1:${port}` }), deps);
    await assert.rejects(log.ready, (e: unknown) => {
      assert.ok(e instanceof LoggerError);
      assert.equal(e.code, 'SYSLOG_CONNECT');
      assert.equal(e.referenceText, `error connecting to syslog: "dial tcp 127.0.0.1:${port}: connect: connection refused"`);
      return true;
    });
  });

  it('parses the supported URL forms', () => {
    assert.deepEqual(parseRemoteSyslogUrl('udp://127.0.0.1:514'), { network: 'udp', address: '127.0.0.1:514' });
    assert.deepEqual(parseRemoteSyslogUrl('tcp://[::1]:514'), { network: 'tcp', address: '[::1]:514' });
    assert.deepEqual(parseRemoteSyslogUrl('unix:///dev/log'), { network: 'unix', address: '/dev/log' });
  });
});

describe('local syslog', () => {
  it('writes the local format with facility daemon to a stream socket', async () => {
    const path = join(dir, 'local.sock');
    const { server, received } = await streamServer((s) => s.listen(path));
    const log = createLogger(opts({ syslog: true }), { ...deps, syslogPaths: [join(dir, 'absent.sock'), path] });
    logAll(log);
    await log.ready;
    const expected = [
      '<29>Apr  5 06:07:08 tsnats[4242]: info msg\n',
      '<28>Apr  5 06:07:08 tsnats[4242]: warn msg\n',
      '<27>Apr  5 06:07:08 tsnats[4242]: error msg\n',
      '<26>Apr  5 06:07:08 tsnats[4242]: fatal msg\n',
      '<31>Apr  5 06:07:08 tsnats[4242]: debug msg\n',
      '<29>Apr  5 06:07:08 tsnats[4242]: trace msg\n',
    ].join('');
    const text = await received(Buffer.byteLength(expected));
    await log.close();
    server.close();
    assert.equal(text, expected);
  });

  it('fails like the reference when there is no syslog socket', async () => {
    const log = createLogger(opts({ syslog: true }), { ...deps, syslogPaths: [join(dir, 'nope1'), join(dir, 'nope2')] });
    await assert.rejects(log.ready, (e: unknown) => {
      assert.ok(e instanceof LoggerError);
      assert.equal(e.referenceText, 'error connecting to syslog: "Unix syslog delivery error"');
      return true;
    });
  });

  it('feeds datagram sockets through logger --prio-prefix, one record per line', async () => {
    const script = join(dir, 'fake-logger.mjs');
    const outFile = join(dir, 'fake-logger.out');
    writeFileSync(
      script,
      `#!${process.execPath}\nimport { writeFileSync } from 'node:fs';\nlet input = '';\nprocess.stdin.setEncoding('utf8');\nprocess.stdin.on('data', (d) => (input += d));\nprocess.stdin.on('end', () => writeFileSync(${JSON.stringify(outFile)}, JSON.stringify({ args: process.argv.slice(2), input })));\n`,
    );
    chmodSync(script, 0o755);
    const t = new LoggerProcessTransport('/some/dgram.sock', { tag: 'tsnats', pid: 4242, hostname: 'h', clock: () => T0 }, script);
    await t.ready;
    t.deliver(29, 'one');
    t.deliver(27, 'two\nlines\n');
    await t.close();
    const rec = JSON.parse(readFileSync(outFile, 'utf8'));
    assert.deepEqual(rec.args, ['--prio-prefix', '-t', 'tsnats', '--id=4242', '-u', '/some/dgram.sock', '--socket-errors=on']);
    assert.equal(rec.input, '<29>one\n<27>two\n<27>lines\n');
  });

  it('produces the reference local format through the real logger(1)', async (t) => {
    const help = spawnSync('logger', ['--help'], { encoding: 'utf8' });
    if (help.error || !help.stdout.includes('--prio-prefix')) {
      t.skip('util-linux logger with --prio-prefix not installed');
      return;
    }
    const path = join(dir, 'real-logger.sock');
    const { server, received } = await streamServer((s) => s.listen(path));
    const tr = new LoggerProcessTransport(path, { tag: 'tsnats', pid: 4242, hostname: 'h', clock: () => T0 });
    await tr.ready;
    tr.deliver(29, 'via logger');
    await tr.close();
    const text = await received(1);
    server.close();
    assert.match(text, /^<29>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d tsnats\[4242\]: via logger\n?$/);
  });
});

describe('syslog helpers', () => {
  it('formats network and local messages without doubling newlines', () => {
    const id = { tag: 'x', pid: 1, hostname: 'h', clock: () => T0 };
    assert.equal(formatNetworkMessage(13, 'm\n', id), '<13>2023-04-05T06:07:08Z h x[1]: m\n');
    assert.equal(formatLocalMessage(13, 'm', id), '<13>Apr  5 06:07:08 x[1]: m\n');
  });
  it('derives the tag from the executable name', () => {
    assert.equal(syslogTag(['/usr/bin/node', '/opt/tsnats/dist/src/main.js']), 'tsnats');
    assert.equal(syslogTag(['/usr/bin/node', '/usr/local/bin/nats-server']), 'nats-server');
    assert.equal(syslogTag(['/usr/bin/node']), 'tsnats');
  });
});
