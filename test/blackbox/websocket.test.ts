// The websocket {} block, black-box against the tsnats executable: the
// listener and its log lines, the ports file, the official client's
// wsconnect, websocket framing (control frames, fragmentation, compression,
// no-masking, browser frame sizes), the reference's treatment of bad frames
// and bad HTTP, origin checks, the websocket authorization override, wss,
// shutdown / lame duck close behaviour and reload. What the reference does
// was checked against nats-server 2.9.10 (see the differential tests for the
// side-by-side comparisons).

import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket as WsWebSocket } from 'ws';
import { wsconnect, headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { connect as tcpConnect } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer } from '../helpers/servers.js';
import { startNode, waitFor as clusterWaitFor } from './cluster-helpers.js';
import { createPKI } from '../unit/tls/certs.js';
import {
  OP,
  WsRaw,
  closePayload,
  compressedFrame,
  frame,
  installGlobalWebSocket,
  upgradeRequest,
  wsPort,
} from './websocket-helpers.js';

installGlobalWebSocket();

const WS_CONF = 'websocket { host: 127.0.0.1, port: -1, no_tls: true }\n';

async function withServer<T>(config: string, fn: (s: RunningServer, port: number) => Promise<T>, args: string[] = []): Promise<T> {
  const s = await startServer('tsnats', ['-c', writeConfig(config), ...args]);
  try {
    return await fn(s, wsPort(s));
  } finally {
    await s.stop();
  }
}

async function waitLog(s: RunningServer, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(s.stderr());
    if (m) return m[0];
    if (Date.now() > deadline) throw new Error(`no log line matching ${re} in:\n${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** upgrade, CONNECT and a PONG: a ready raw websocket client */
async function rawSession(port: number, headers: Record<string, string | null> = {}, connect = '{"verbose":false,"pedantic":false}'): Promise<WsRaw> {
  const c = await WsRaw.upgrade(port, headers);
  assert.equal(c.response?.status, 101, `upgrade failed: ${c.response?.statusLine}`);
  c.send(frame(OP.BINARY, `CONNECT ${connect}\r\nPING\r\n`));
  await c.waitText('PONG\r\n');
  return c;
}

test('websocket listener: log lines, ports file, INFO', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-ws-ports-'));
  try {
    await withServer(`${WS_CONF}ports_file_dir: "${dir}"\n`, async (s, port) => {
      const err = s.stderr();
      const wsLine = err.indexOf(`Listening for websocket clients on ws://127.0.0.1:${port}`);
      assert.ok(wsLine >= 0, err);
      assert.match(err, /\[WRN\] Websocket not configured with TLS\. DO NOT USE IN PRODUCTION!/);
      // the reference starts the websocket listener before the client one
      assert.ok(wsLine < err.indexOf('Listening for client connections'), err);
      // the ports file is written just after the "Listening for client
      // connections" line that startServer returns on
      await waitLog(s, /Server is ready/);
      const files = readdirSync(dir).filter((f) => f.endsWith('.ports'));
      assert.equal(files.length, 1);
      const ports = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as Record<string, string[]>;
      assert.deepEqual(ports.websocket, [`ws://127.0.0.1:${port}`]);
      assert.deepEqual(ports.nats, [`nats://127.0.0.1:${s.port}`]);

      const c = await WsRaw.upgrade(port);
      assert.equal(c.response!.statusLine, 'HTTP/1.1 101 Switching Protocols');
      assert.equal(c.response!.headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      await c.waitText('\r\n');
      const first = c.frames[0]!;
      assert.equal(first.op, OP.BINARY);
      assert.equal(first.fin, true);
      const info = JSON.parse(/^INFO (.*) \r\n$/.exec(first.payload.toString())![1]!) as Record<string, unknown>;
      // the same INFO as on the client port: its port is the client port
      assert.equal(info.port, s.port);
      assert.equal(info.headers, true);
      assert.equal(info.auth_required, undefined);
      c.destroy();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('official client over websocket: pub/sub, request/reply, headers, queue groups, mixed with TCP clients', async () => {
  await withServer(WS_CONF, async (s, port) => {
    const ws = await wsconnect({ servers: `ws://127.0.0.1:${port}` });
    const tcp = await tcpConnect({ servers: s.url });
    try {
      // TCP responder, websocket requester
      tcp.subscribe('svc.echo', {
        callback: (_e, m) => {
          m.respond(`echo:${m.string()}`);
        },
      });
      const sub = ws.subscribe('data.>');
      const got: string[] = [];
      const done = (async () => {
        for await (const m of sub) {
          got.push(`${m.subject}=${m.string()}:${m.headers?.get('X-Test') ?? ''}`);
          if (got.length === 3) break;
        }
      })();
      await ws.flush();
      await tcp.flush();
      const r = await ws.request('svc.echo', 'hi', { timeout: 5000 });
      assert.equal(r.string(), 'echo:hi');
      const h = natsHeaders();
      h.set('X-Test', 'yes');
      tcp.publish('data.a', 'one', { headers: h });
      ws.publish('data.b', 'two');
      tcp.publish('data.c', 'x'.repeat(100_000));
      await done;
      // messages from different connections may arrive in any order
      got.sort();
      assert.equal(got[0], 'data.a=one:yes');
      assert.equal(got[1], 'data.b=two:');
      assert.ok(got[2] === `data.c=${'x'.repeat(100_000)}:`, `data.c: ${got[2]?.length} chars`);

      // queue group across a websocket and a TCP member: each message once
      const counts = { ws: 0, tcp: 0 };
      ws.subscribe('q.work', { queue: 'workers', callback: () => void counts.ws++ });
      tcp.subscribe('q.work', { queue: 'workers', callback: () => void counts.tcp++ });
      await ws.flush();
      await tcp.flush();
      for (let i = 0; i < 50; i++) tcp.publish('q.work', String(i));
      await tcp.flush();
      await ws.flush();
      // ws.flush returns after the server answered PONG, i.e. after it sent everything before it
      assert.equal(counts.ws + counts.tcp, 50);
    } finally {
      await ws.close();
      await tcp.close();
    }
  });
});

test('websocket frames: ping/pong, text frames, fragments around control frames, close replies', async () => {
  await withServer(WS_CONF, async (_s, port) => {
    const c = await rawSession(port);
    c.send(frame(OP.PING, 'are you there'));
    await c.waitFor(() => c.frames.some((f) => f.op === OP.PONG), 'a pong');
    const pong = c.frames.find((f) => f.op === OP.PONG)!;
    assert.equal(pong.payload.toString(), 'are you there');

    // text frames carry NATS protocol like binary ones
    c.send(frame(OP.TEXT, 'SUB t 1\r\nPUB t 2\r\nhi\r\nPING\r\n'));
    await c.waitText('MSG t 1 2\r\nhi\r\nPONG\r\n');

    // a message in three fragments with a PING control frame in between
    c.send(frame(OP.BINARY, 'PUB t 5\r', { fin: false }));
    c.send(frame(OP.PING, 'mid'));
    c.send(frame(OP.CONT, '\nhello\r\n', { fin: false }));
    c.send(frame(OP.CONT, 'PING\r\n'));
    await c.waitText('MSG t 1 5\r\nhello\r\nPONG\r\n');
    assert.ok(c.frames.some((f) => f.op === OP.PONG && f.payload.toString() === 'mid'));

    // one frame split over many TCP writes
    const f = frame(OP.BINARY, 'PUB t 3\r\nabc\r\nPING\r\n');
    for (const b of f) c.send(Buffer.from([b]));
    await c.waitText('MSG t 1 3\r\nabc\r\n');

    // the server's frames are unmasked and binary
    assert.ok(c.frames.every((x) => !x.masked && (x.op === OP.BINARY || x.op === OP.PONG)));

    c.send(frame(OP.CLOSE, closePayload(1000, 'bye')));
    await c.waitClosed();
    assert.deepEqual(c.closeFrame(), { status: 1000, reason: 'bye' });

    const c2 = await rawSession(port);
    c2.send(frame(OP.CLOSE, ''));
    await c2.waitClosed();
    assert.deepEqual(c2.closeFrame(), { status: 1005, reason: '' });

    const c3 = await rawSession(port);
    c3.send(frame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])])));
    await c3.waitClosed();
    assert.deepEqual(c3.closeFrame(), { status: 1007, reason: 'invalid utf8 body in close frame' });
  });
});

test('websocket protocol errors: connection closed without close frame, read error logged, server unharmed', async () => {
  const cases: Array<[string, Buffer[], string]> = [
    ['unmasked frame', [frame(OP.BINARY, 'PING\r\n', { mask: false })], 'mask bit missing'],
    ['unknown opcode', [frame(3, 'x')], 'unknown opcode 3'],
    ['control frame too big', [frame(OP.PING, Buffer.alloc(126))], 'control frame length bigger than maximum allowed of 125 bytes'],
    ['fragmented control frame', [frame(OP.PING, 'x', { fin: false })], 'control frame does not have final bit set'],
    ['continuation first', [frame(OP.CONT, 'x')], 'invalid continuation frame'],
    ['new message inside a fragmented one', [frame(OP.BINARY, 'PI', { fin: false }), frame(OP.BINARY, 'NG\r\n')], 'new message started before final frame for previous message was received'],
    ['compressed continuation', [frame(OP.BINARY, 'PI', { fin: false }), frame(OP.CONT, 'NG\r\n', { rsv1: true })], 'invalid continuation frame'],
  ];
  await withServer(WS_CONF, async (s, port) => {
    for (const [name, frames, text] of cases) {
      const c = await rawSession(port);
      for (const f of frames) c.send(f);
      await c.waitClosed();
      assert.equal(c.closeFrame(), null, `${name}: no close frame for a read error`);
      await waitLog(s, new RegExp(`\\[ERR\\] 127\\.0\\.0\\.1:\\d+ - wid:\\d+ - read error: ${text.replace(/[.*+?()[\]]/g, '\\$&')}`));
    }
    // the server still serves websocket and TCP clients
    const ok = await rawSession(port);
    ok.destroy();
    const tcp = await tcpConnect({ servers: s.url });
    await tcp.flush();
    await tcp.close();
  });
});

test('websocket frame size is not limited; max_payload applies to what the frames carry', async () => {
  await withServer(`${WS_CONF}max_payload: 2MB\n`, async (_s, port) => {
    const c = await rawSession(port);
    c.send(frame(OP.BINARY, 'SUB big 1\r\n'));
    // one 1.5 MB frame carrying one message within max_payload
    const payload = 'y'.repeat(1_500_000);
    c.send(frame(OP.BINARY, `PUB big ${payload.length}\r\n${payload}\r\nPING\r\n`));
    await c.waitText(`MSG big 1 ${payload.length}\r\n${payload}\r\nPONG\r\n`, 20_000);

    // a PUB beyond max_payload: -ERR, then close frame 1009
    const c2 = await rawSession(port);
    c2.send(frame(OP.BINARY, `PUB big 3000000\r\n`));
    await c2.waitClosed();
    assert.match(c2.text(), /-ERR 'Maximum Payload Violation'\r\n$/);
    assert.deepEqual(c2.closeFrame(), { status: 1009, reason: 'Maximum Message Payload Exceeded' });
  });
});

test('websocket random garbage after the upgrade never crashes the server', async () => {
  await withServer(WS_CONF, async (s, port) => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 30; i++) {
      const c = await WsRaw.upgrade(port);
      const junk = Buffer.alloc(1 + (rnd() % 300));
      for (let j = 0; j < junk.length; j++) junk[j] = rnd() & 0xff;
      c.send(junk);
      c.send(frame(OP.BINARY, 'PING\r\n'));
      c.destroy();
    }
    const ok = await rawSession(port);
    ok.destroy();
    assert.equal(s.proc.exitCode, null);
  });
});

test('websocket compression: permessage-deflate negotiated, server frames compressed above 64 bytes, client frames inflated', async () => {
  await withServer('websocket { host: 127.0.0.1, port: -1, no_tls: true, compression: true }\n', async (_s, port) => {
    const c = await WsRaw.upgrade(port, { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
    assert.equal(
      c.response!.headers.get('sec-websocket-extensions'),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    );
    c.send(compressedFrame('CONNECT {"verbose":false}\r\nSUB z 1\r\nPING\r\n'));
    await c.waitText('PONG\r\n');
    // the INFO (> 64 bytes) came compressed, the PONG (6 bytes) not
    assert.equal(c.frames[0]!.rsv1, true);
    assert.match(c.text(), /^INFO \{/);
    const pong = c.frames[c.frames.length - 1]!;
    assert.equal(pong.rsv1, false);
    const body = 'z'.repeat(5000);
    c.send(compressedFrame(`PUB z ${body.length}\r\n${body}\r\n`));
    await c.waitText(`MSG z 1 ${body.length}\r\n${body}\r\n`);
    const last = c.frames[c.frames.length - 1]!;
    assert.equal(last.rsv1, true);
    assert.ok(last.payload.length < 200, `compressed ${last.payload.length} bytes`);
    // a compressed message fragmented over two frames
    const z = zlib.deflateRawSync(Buffer.from('PUB z 2\r\nok\r\n'), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const zz = z.subarray(0, z.length - 4);
    c.send(frame(OP.BINARY, zz.subarray(0, 5), { rsv1: true, fin: false }));
    c.send(frame(OP.CONT, zz.subarray(5)));
    await c.waitText('MSG z 1 2\r\nok\r\n');

    // no offer from the client: no compression
    const plain = await WsRaw.upgrade(port);
    assert.equal(plain.response!.headers.get('sec-websocket-extensions'), undefined);
    await plain.waitText('\r\n');
    assert.equal(plain.frames[0]!.rsv1, false);
    c.destroy();
    plain.destroy();
  });
  // compression not enabled: an offer is ignored
  await withServer(WS_CONF, async (_s, port) => {
    const c = await WsRaw.upgrade(port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
    assert.equal(c.response!.headers.get('sec-websocket-extensions'), undefined);
    c.destroy();
  });
});

test('websocket Nats-No-Masking, browser frame size and X-Forwarded-For', async () => {
  await withServer(WS_CONF, async (s, port) => {
    const nm = await WsRaw.upgrade(port, { 'Nats-No-Masking': 'true' });
    assert.equal(nm.response!.headers.get('nats-no-masking'), 'true');
    nm.send(frame(OP.BINARY, 'CONNECT {"verbose":false}\r\nPING\r\n', { mask: false }));
    await nm.waitText('PONG\r\n');
    nm.destroy();

    // a browser's User-Agent: frames of at most 4096 bytes
    const br = await rawSession(port, { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0' });
    const body = 'b'.repeat(10_000);
    br.send(frame(OP.BINARY, `SUB b 1\r\nPUB b ${body.length}\r\n${body}\r\nPING\r\n`));
    await br.waitText(`${body}\r\nPONG\r\n`);
    assert.ok(br.frames.every((f) => f.payload.length <= 4096));
    assert.ok(br.frames.length >= 4);
    // a non-browser gets the whole flush in one frame
    const nb = await rawSession(port);
    nb.send(frame(OP.BINARY, `SUB b 1\r\nPUB b ${body.length}\r\n${body}\r\nPING\r\n`));
    await nb.waitText(`${body}\r\nPONG\r\n`);
    assert.ok(nb.frames.some((f) => f.payload.length > 10_000));
    br.destroy();
    nb.destroy();

    // X-Forwarded-For: the log prefix starts with the forwarded address
    const xf = await rawSession(port, { 'X-Forwarded-For': '1.2.3.4' });
    xf.send(frame(3, 'x'));
    await xf.waitClosed();
    await waitLog(s, /\[ERR\] 1\.2\.3\.4\/127\.0\.0\.1:\d+ - wid:\d+ - read error: unknown opcode 3/);
    const x6 = await rawSession(port, { 'X-Forwarded-For': '::1' });
    x6.send(frame(3, 'x'));
    await x6.waitClosed();
    await waitLog(s, /\[ERR\] \[::1\]\/127\.0\.0\.1:\d+ - wid:\d+ - read error: unknown opcode 3/);
    const bad = await rawSession(port, { 'X-Forwarded-For': 'not an ip' });
    bad.send(frame(3, 'y'));
    await bad.waitClosed();
    assert.doesNotMatch(s.stderr(), /not an ip/);
  });
});

test('websocket HTTP refusals: status, headers, logged reason, keep-alive then upgrade on the same connection', async () => {
  await withServer(WS_CONF, async (s, port) => {
    const c = await WsRaw.open(port);
    c.send(upgradeRequest({}, '/', 'POST'));
    await c.waitFor(() => c.raw.includes('Method Not Allowed\n'), '405');
    let txt = c.raw.toString();
    assert.match(txt, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    assert.match(txt, /\r\nSec-Websocket-Version: 13\r\n/);
    assert.match(txt, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
    assert.match(txt, /\r\nX-Content-Type-Options: nosniff\r\n/);
    assert.match(txt, /\r\nContent-Length: 19\r\n/);
    await waitLog(s, /\[ERR\] 127\.0\.0\.1:\d+ - websocket handshake error: request method must be GET/);
    // the connection stays open (HTTP/1.1 keep-alive): a valid upgrade now works
    assert.equal(c.closed, false);
    const c2 = await WsRaw.open(port);
    c2.send(upgradeRequest({ 'Sec-WebSocket-Key': null }));
    await c2.waitFor(() => c2.raw.includes('Bad Request\n'), '400');
    txt = c2.raw.toString();
    assert.match(txt, /^HTTP\/1\.1 400 Bad Request\r\n/);
    await waitLog(s, /websocket handshake error: key missing/);
    c2.destroy();
    for (const [hdrs, reason] of [
      [{ Upgrade: null }, "invalid value for header 'Upgrade'"],
      [{ Connection: 'keep-alive' }, "invalid value for header 'Connection'"],
      [{ 'Sec-WebSocket-Version': '12' }, 'invalid version'],
    ] as const) {
      const x = await WsRaw.open(port);
      x.send(upgradeRequest(hdrs));
      await x.waitFor(() => x.raw.includes('Bad Request\n'), reason);
      await waitLog(s, new RegExp(`websocket handshake error: ${reason}`));
      x.destroy();
    }
    // a request net/http itself refuses
    const m = await WsRaw.open(port);
    m.send('GET / HTTP/1.1\r\n\r\n');
    await m.waitClosed();
    assert.equal(
      m.raw.toString(),
      'HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header',
    );
    // data sent before the upgrade completed: no response, closed, logged
    const early = await WsRaw.open(port);
    early.send(upgradeRequest() + 'PING\r\n');
    await early.waitClosed();
    assert.equal(early.raw.length, 0);
    await waitLog(s, /websocket handshake error: client sent data before handshake is complete/);
    // any path upgrades, except /leafnode (no leafnode support: closed after the 101)
    const p = await WsRaw.upgrade(port, {}, { path: '/some/path?x=1' });
    assert.equal(p.response!.status, 101);
    await p.waitText('INFO ');
    p.destroy();
    const leaf = await WsRaw.upgrade(port, {}, { path: '/leafnode' });
    assert.equal(leaf.response!.status, 101);
    await leaf.waitClosed();
    await waitLog(s, /\[ERR\] Not configured to accept leaf node connections/);
    c.destroy();
  });
});

test('a plain NATS TCP client on the websocket port gets an HTTP 400, the server keeps serving', async () => {
  await withServer(WS_CONF, async (s, port) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => (data += d));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('CONNECT {"verbose":false}\r\nPING\r\n');
    await closed;
    assert.equal(data, 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    const tcp = await tcpConnect({ servers: s.url });
    await tcp.flush();
    await tcp.close();
  });
});

test('websocket handshake_timeout closes a connection that sends no request', async () => {
  await withServer('websocket { host: 127.0.0.1, port: -1, no_tls: true, handshake_timeout: "300ms" }\n', async (_s, port) => {
    const c = await WsRaw.open(port);
    await c.waitClosed();
    assert.equal(c.raw.length, 0);
    // a prompt request still upgrades
    const ok = await rawSession(port);
    ok.destroy();
  });
});

test('websocket same_origin and allowed_origins', async () => {
  await withServer('websocket { host: 127.0.0.1, port: -1, no_tls: true, same_origin: true }\n', async (s, port) => {
    const ok = await WsRaw.upgrade(port, { Host: 'example.com', Origin: 'http://example.com:80' });
    assert.equal(ok.response!.status, 101);
    ok.destroy();
    const noOrigin = await WsRaw.upgrade(port, { Host: 'example.com' });
    assert.equal(noOrigin.response!.status, 101);
    noOrigin.destroy();
    const bad = await WsRaw.upgrade(port, { Host: 'example.com', Origin: 'http://other.com' });
    assert.equal(bad.response!.statusLine, 'HTTP/1.1 403 Forbidden');
    await waitLog(s, /websocket handshake error: origin not allowed: not same origin/);
    bad.destroy();
  });
  await withServer(
    'websocket { host: 127.0.0.1, port: -1, no_tls: true, allowed_origins: ["http://host1.com", "https://host2.com:1234"] }\n',
    async (s, port) => {
      for (const [origin, status] of [
        ['http://host1.com', 101],
        ['http://host1.com/some/path', 101],
        ['https://host2.com:1234', 101],
        ['http://host1.com:81', 403],
        ['http://host2.com:1234', 403],
        ['http://invalid:url:1234', 403],
      ] as const) {
        const c = await WsRaw.upgrade(port, { Origin: origin });
        assert.equal(c.response!.status, status, origin);
        c.destroy();
      }
      await waitLog(s, /origin not allowed: address invalid:url:1234: too many colons in address/);
      await waitLog(s, /origin not allowed: not in the allowed list/);
    },
  );
});

test('websocket authorization overrides the server authorization for websocket clients', async () => {
  const conf = 'websocket { host: 127.0.0.1, port: -1, no_tls: true, authorization { user: wsuser, password: wspass, timeout: 1 } }\n';
  await withServer(conf, async (s, port) => {
    // TCP clients need nothing
    const tcp = await tcpConnect({ servers: s.url });
    await tcp.flush();
    // websocket clients must authenticate
    const c = await WsRaw.upgrade(port);
    await c.waitText('\r\n');
    assert.match(c.text(), /"auth_required":true/);
    c.send(frame(OP.BINARY, 'CONNECT {"verbose":false,"user":"wsuser","pass":"wrong"}\r\nPING\r\n'));
    await c.waitClosed();
    assert.match(c.text(), /-ERR 'Authorization Violation'\r\n/);
    assert.deepEqual(c.closeFrame(), { status: 1008, reason: 'Authentication Failure' });
    const good = await rawSession(port, {}, '{"verbose":false,"user":"wsuser","pass":"wspass"}');
    good.destroy();
    const nc = await wsconnect({ servers: `ws://127.0.0.1:${port}`, user: 'wsuser', pass: 'wspass' });
    await nc.flush();
    await nc.close();
    // the websocket auth timeout (1 s)
    const idle = await WsRaw.upgrade(port);
    await idle.waitClosed();
    assert.match(idle.text(), /-ERR 'Authentication Timeout'\r\n/);
    assert.deepEqual(idle.closeFrame(), { status: 1008, reason: 'Authentication Timeout' });
    await tcp.close();
  });
  await withServer('websocket { host: 127.0.0.1, port: -1, no_tls: true, authorization { token: s3cr3t } }\n', async (_s, port) => {
    const ok = await rawSession(port, {}, '{"verbose":false,"auth_token":"s3cr3t"}');
    ok.destroy();
    const bad = await WsRaw.upgrade(port);
    bad.send(frame(OP.BINARY, 'CONNECT {"verbose":false,"auth_token":"nope"}\r\n'));
    await bad.waitClosed();
    assert.match(bad.text(), /-ERR 'Authorization Violation'/);
  });
  // no_auth_user in the websocket block: websocket clients without credentials are that user
  const users = `authorization { users [ { user: alice, password: apw }, { user: bob, password: bpw, permissions { publish: "bob.>" } } ] }\n`;
  await withServer(`${users}websocket { host: 127.0.0.1, port: -1, no_tls: true, no_auth_user: bob }\n`, async (s, port) => {
    const c = await rawSession(port);
    c.send(frame(OP.BINARY, 'PUB alice.x 1\r\nx\r\nPING\r\n'));
    await c.waitText(`-ERR 'Permissions Violation for Publish to "alice.x"'`);
    c.destroy();
    // TCP clients without credentials are refused
    await assert.rejects(tcpConnect({ servers: s.url, reconnect: false }));
  });
});

test('wss: TLS listener, plain HTTP refused, official client over wss', async () => {
  const pki = createPKI();
  try {
    const conf = `websocket { host: 127.0.0.1, port: -1, tls { cert_file: "${pki.server.cert}", key_file: "${pki.server.key}" } }\n`;
    await withServer(conf, async (s, port) => {
      assert.match(s.stderr(), new RegExp(`Listening for websocket clients on wss://127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(s.stderr(), /DO NOT USE IN PRODUCTION/);
      const ca = readFileSync(pki.caFile);
      const c = await WsRaw.upgrade(port, {}, { tls: { ca, servername: 'localhost' } });
      assert.equal(c.response!.status, 101);
      c.send(frame(OP.BINARY, 'CONNECT {"verbose":false}\r\nPING\r\n'));
      await c.waitText('PONG\r\n');
      c.destroy();
      // plain HTTP on the wss port
      const p = await WsRaw.open(port);
      p.send(upgradeRequest());
      await p.waitClosed();
      assert.equal(p.raw.toString(), 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
      // the official client, trusting the test CA
      const g = globalThis as unknown as { WebSocket: unknown };
      const saved = g.WebSocket;
      g.WebSocket = class extends WsWebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { ca });
        }
      };
      let nc: NatsConnection | undefined;
      try {
        nc = await wsconnect({ servers: `wss://127.0.0.1:${port}` });
        const r = nc.subscribe('t', { max: 1 });
        nc.publish('t', 'secure');
        for await (const m of r) assert.equal(m.string(), 'secure');
      } finally {
        await nc?.close();
        g.WebSocket = saved;
      }
      // a TLS handshake failure is logged as the reference does
      const bad = await WsRaw.open(port);
      bad.send(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
      await bad.waitClosed();
      await waitLog(s, /\[ERR\] websocket: TLS handshake error from 127\.0\.0\.1:\d+: /);
    });
  } finally {
    pki.cleanup();
  }
});

test('websocket clients: close frame 1001 on shutdown, INFO ldm in lame duck mode', async () => {
  const s = await startServer('tsnats', ['-c', writeConfig(WS_CONF)]);
  const port = wsPort(s);
  const c = await rawSession(port);
  await s.stop('SIGTERM');
  await c.waitClosed();
  assert.deepEqual(c.closeFrame(), { status: 1001, reason: 'Server Shutdown' });

  const s2 = await startServer('tsnats', ['-c', writeConfig(`${WS_CONF}lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n`)]);
  try {
    const c2 = await rawSession(wsPort(s2), {}, '{"verbose":false,"protocol":1}');
    s2.proc.kill('SIGUSR2');
    await c2.waitText(/INFO \{[^\r]*"ldm":true/);
    await c2.waitClosed(15_000);
    assert.deepEqual(c2.closeFrame(), { status: 1001, reason: 'Server Shutdown' });
  } finally {
    await s2.stop();
  }
});

test('websocket survives a config reload (random port kept), reload with the same file succeeds', async () => {
  const file = writeConfig(WS_CONF);
  const s = await startServer('tsnats', ['-c', file]);
  try {
    const port = wsPort(s);
    const c = await rawSession(port);
    s.proc.kill('SIGHUP');
    await waitLog(s, /Reloaded server configuration/);
    assert.doesNotMatch(s.stderr(), /config reload not supported/);
    c.send(frame(OP.BINARY, 'PING\r\n'));
    await c.waitFor(() => c.text().split('PONG').length === 3, 'second PONG');
    const c2 = await rawSession(port);
    c2.destroy();
    c.destroy();
  } finally {
    await s.stop();
  }
});

// server/server.go copyInfo/generateClientInfoJSON: a websocket client gets
// the cluster's websocket URLs as connect_urls, never the TCP client URLs
// that TCP clients get. The peer here has no websocket listener, so on both
// servers the websocket client's INFO has no connect_urls at all.
for (const kind of ['tsnats', 'reference'] as const) {
  test(`${kind}: in a cluster, TCP clients get connect_urls and websocket clients do not`, async () => {
    const b = await startNode(kind, { name: 'B', cluster: 'wsc', process: true });
    const a = await startNode(kind, { name: 'A', cluster: 'wsc', routes: [b.routeURL], process: true, extraConf: WS_CONF });
    try {
      let tcpInfo: Record<string, unknown> = {};
      await clusterWaitFor('the route', async () => {
        tcpInfo = await tcpInfoOf(a.clientPort);
        return Array.isArray(tcpInfo.connect_urls) && (tcpInfo.connect_urls as string[]).some((u) => u.endsWith(`:${b.clientPort}`));
      });
      const c = await WsRaw.upgrade(wsPort(a.proc!));
      try {
        await c.waitText('\r\n');
        const info = JSON.parse(/^INFO (.*) \r\n$/.exec(c.frames[0]!.payload.toString())![1]!) as Record<string, unknown>;
        assert.equal(info.cluster, 'wsc');
        assert.equal(info.connect_urls, undefined, JSON.stringify(info));
      } finally {
        c.sock.destroy();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
}

/** the INFO a plain TCP client gets first */
function tcpInfoOf(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^INFO (.*)\r\n/.exec(buf);
      if (m) {
        s.destroy();
        resolve(JSON.parse(m[1]!) as Record<string, unknown>);
      }
    });
    s.on('error', reject);
  });
}
