// Self-tests of the test harness: stream parsing and masking, the raw client
// (against a local scripted TCP server), and process management of servers.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { maskLogLine, problemLogLines } from './diff.js';
import { afterInfo, countOps, firstInfo, maskTranscript, parseServerStream } from './mask.js';
import { connect, sendAndCollect } from './rawclient.js';
import { startServer } from './servers.js';
import { sleep } from './rawclient.js';

const INFO_A =
  'INFO {"server_id":"AAA","server_name":"AAA","version":"2.9.10","proto":1,"go":"go1.19.8","host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"client_id":4,"client_ip":"127.0.0.1"} \r\n';
const INFO_B =
  'INFO {"server_id":"BBB","server_name":"BBB","version":"0.0.0","proto":1,"go":"node20","host":"127.0.0.1","port":2,"headers":true,"max_payload":1048576,"client_id":1,"client_ip":"127.0.0.1"} \r\n';

describe('mask', () => {
  it('frames MSG/HMSG by size so payload bytes never look like ops', () => {
    const data = INFO_A + 'MSG a 1 12\r\nINFO x\r\nPING\r\nHMSG b 2 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n+OK\r\n-ERR \'x\'\r\n';
    const frames = parseServerStream(data);
    assert.deepEqual(
      frames.map((f) => f.op),
      ['INFO', 'MSG', 'HMSG', 'PONG', '+OK', '-ERR'],
    );
    const m = frames[1]!;
    assert.ok(m.op === 'MSG' && m.payload.toString() === 'INFO x\r\nPING' && m.subject === 'a' && m.sid === '1' && m.reply === undefined);
    const h = frames[2]!;
    assert.ok(h.op === 'HMSG' && h.reply === 'r' && h.headers.toString() === 'NATS/1.0\r\n\r\n' && h.payload.toString() === 'hi');
    assert.equal(frames.map((f) => f.raw).join(''), data);
    assert.deepEqual(countOps(data), { INFO: 1, MSG: 1, HMSG: 1, PONG: 1, '+OK': 1, '-ERR': 1 });
  });

  it('reports an incomplete message as PARTIAL', () => {
    const frames = parseServerStream('MSG a 1 10\r\nabc');
    assert.deepEqual(
      frames.map((f) => f.op),
      ['PARTIAL'],
    );
  });

  it('masks identity fields, keeps presence, framing and other values', () => {
    assert.equal(maskTranscript(INFO_A + 'PONG\r\n'), maskTranscript(INFO_B + 'PONG\r\n'));
    assert.match(maskTranscript(INFO_A), / \r\n$/);
    // a differing unmasked value, an extra field, or a missing field is a difference
    assert.notEqual(maskTranscript(INFO_A), maskTranscript(INFO_A.replace('1048576', '8')));
    assert.notEqual(maskTranscript(INFO_A), maskTranscript(INFO_A.replace('"headers":true,', '')));
    assert.notEqual(maskTranscript(INFO_A), maskTranscript(INFO_A.replace('"headers":true,', '"headers":true,"extra":1,')));
    // -ERR text is exact
    assert.notEqual(maskTranscript("-ERR 'a'\r\n"), maskTranscript("-ERR 'A'\r\n"));
    // key order only matters on request
    const reordered = INFO_A.replace('"headers":true,"max_payload":1048576', '"max_payload":1048576,"headers":true');
    assert.equal(maskTranscript(INFO_A), maskTranscript(reordered));
    assert.notEqual(maskTranscript(INFO_A, { keepInfoKeyOrder: true }), maskTranscript(reordered, { keepInfoKeyOrder: true }));
    assert.equal(maskTranscript(INFO_A + '', { ignoreInfoFields: ['extra'] }), maskTranscript(INFO_A.replace('"proto":1,', '"proto":1,"extra":2,'), { ignoreInfoFields: ['extra'] }));
  });

  it('drops server PINGs unless asked to keep them; payloads are untouched', () => {
    const data = 'PING\r\nMSG a 1 6\r\nPING\r\n\r\nPONG\r\n';
    assert.equal(maskTranscript(data), 'MSG a 1 6\r\nPING\r\n\r\nPONG\r\n');
    assert.equal(maskTranscript(data, { keepServerPings: true }), data);
  });

  it('firstInfo and afterInfo', () => {
    assert.equal(firstInfo(INFO_A).server_id, 'AAA');
    assert.equal(afterInfo(INFO_A + 'PONG\r\n'), 'PONG\r\n');
    assert.equal(afterInfo('PONG\r\n'), 'PONG\r\n');
    assert.throws(() => firstInfo('PONG\r\n'));
  });

  it('masks log lines', () => {
    const line = '[1234] 2026/11/27 03:59:50.619108 [ERR] 127.0.0.1:35264 - cid:5 - maximum connections exceeded';
    assert.equal(maskLogLine(line), '[ERR] 127.0.0.1:<port> - cid:<cid> - maximum connections exceeded');
    assert.deepEqual(problemLogLines(`[1] 2026/11/27 03:59:50.619108 [INF] hello\n${line}\n`), [
      '[ERR] 127.0.0.1:<port> - cid:<cid> - maximum connections exceeded',
    ]);
  });
});

describe('raw client', () => {
  let srv: NetServer;
  let port = 0;
  // a scripted server: greets, echoes "echo:<line>", closes on "bye"
  before(async () => {
    srv = createServer((s: Socket) => {
      s.write('HELLO\r\n');
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          if (line === 'bye') s.end('BYE\r\n');
          else s.write(`echo:${line}\r\n`);
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const addr = srv.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  after(async () => {
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('readUntil consumes up to the match; readFor collects until quiet', async () => {
    const c = await connect(port);
    assert.equal(await c.readUntil('\r\n'), 'HELLO\r\n');
    await c.send('a\r\nb\r\n');
    assert.equal(await c.readUntil(/echo:a\r\n/), 'echo:a\r\n');
    assert.equal(await c.readFor(100), 'echo:b\r\n');
    assert.equal(c.received().toString(), 'HELLO\r\necho:a\r\necho:b\r\n');
    await assert.rejects(c.readUntil('never', 100), /timed out/);
    c.close();
  });

  it('closed / expectClosed and reads after close', async () => {
    const c = await connect(port);
    await c.send('bye\r\n');
    await c.expectClosed(2000);
    assert.equal(c.isClosed, true);
    await c.closed;
    assert.equal(await c.readFor(50), 'HELLO\r\nBYE\r\n');
    await assert.rejects(c.readUntil('x', 1000), /connection closed/);
    await c.send('ignored after close\r\n');
  });

  it('expectClosed rejects when the server keeps the connection', async () => {
    const c = await connect(port);
    await assert.rejects(c.expectClosed(100), /expected the server to close/);
    c.close();
  });

  it('sendAndCollect waits for the first line, sends chunks with a delay, reports closing', async () => {
    const open = await sendAndCollect(port, ['x', '\r\n'], { delayMs: 10, quietMs: 100 });
    assert.equal(open.text, 'HELLO\r\necho:x\r\n');
    assert.equal(open.closed, false);
    open.client.close();
    const closed = await sendAndCollect(port, ['bye\r\n'], { quietMs: 100 });
    assert.equal(closed.text, 'HELLO\r\nBYE\r\n');
    assert.equal(closed.closed, true);
  });
});

describe('server processes', () => {
  it('the reference starts on a random port, prints the listening line; SIGINT exits 0', async () => {
    const s = await startServer('reference');
    assert.ok(s.port > 0 && s.port !== 4222);
    assert.equal(s.host, '127.0.0.1');
    assert.match(s.stderr(), /Listening for client connections on 127\.0\.0\.1:\d+/);
    const c = await connect(s.port);
    assert.match(await c.readUntil('\r\n'), /^INFO /);
    c.close();
    assert.equal(await s.stop('SIGINT'), 0);
    assert.equal(await s.stop(), 0, 'stop is idempotent');
  });

  it('the reference exits 1 on SIGTERM (the default stop signal)', async () => {
    const s = await startServer('reference');
    assert.equal(await s.stop(), 1);
    assert.match(s.stderr(), /Server Exiting/);
  });

  it('a missing reference binary fails with a clear message', async () => {
    const saved = process.env.NATS_SERVER_BIN;
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      await assert.rejects(startServer('reference'), /reference nats-server binary not found/);
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved;
    }
  });

  it('a server that exits before listening fails with its output', async () => {
    await assert.rejects(startServer('reference', ['--no-such-flag']), /exited \(code \d+\) before listening[\s\S]*no-such-flag/);
  });

  it('servers of a test process that is SIGKILLed are killed too (watchdog)', async () => {
    const helper = new URL('./servers.js', import.meta.url).href;
    const code = `const { startServer } = await import(${JSON.stringify(helper)});
const s = await startServer('reference');
process.stdout.write(String(s.proc.pid) + '\\n');
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    assert.equal(signal, 'SIGKILL');
    const pid = Number(out.trim());
    assert.ok(pid > 0, `server pid printed: ${JSON.stringify(out)}`);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await sleep(50);
    assert.equal(alive(), false, 'the orphaned server was killed');
  });
});
