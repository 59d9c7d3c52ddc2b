// The websocket building blocks in isolation (src/websocket): the frame
// reader and the outbound framing against cases from the reference's
// server/websocket_test.go, the HTTP request head parser, and the origin
// checks (TestWSCheckOrigin's table).

import test from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { FrameReader, closeMessage, closeStatusFor, frameOutbound, frameHeader, OP_BINARY } from '../../src/websocket/frame.js';
import { OriginPolicy, acceptKey, parseRequestURI, splitHostPort, wsUpgrade } from '../../src/websocket/handshake.js';
import { HttpParseError, checkPartialHead, findHeadEnd, parseRequestHead } from '../../src/websocket/http.js';
import { OP, closePayload, frame } from './websocket-helpers.js';

const text = (bufs: Buffer[]) => Buffer.concat(bufs).toString();

test('frame reader: every split point of a stream of frames gives the same data', () => {
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const stream = Buffer.concat([
    frame(OP.BINARY, 'PUB a 5\r\nhello\r\n', { key }),
    frame(OP.PING, 'p1', { key }),
    frame(OP.BINARY, 'x'.repeat(300), { key, fin: false }),
    frame(OP.CONT, 'y'.repeat(70_000), { key }),
    frame(OP.TEXT, 'PING\r\n', { key }),
  ]);
  const want = 'PUB a 5\r\nhello\r\n' + 'x'.repeat(300) + 'y'.repeat(70_000) + 'PING\r\n';
  for (const split of [1, 2, 3, 5, 7, 13, 126, 4096, stream.length]) {
    const r = new FrameReader(true);
    const got: Buffer[] = [];
    const pongs: string[] = [];
    for (let i = 0; i < stream.length; i += split) {
      const res = r.read(Buffer.from(stream.subarray(i, i + split)));
      assert.equal(res.error, null);
      got.push(...res.bufs.map((b) => Buffer.from(b)));
      pongs.push(...res.pongs.map((p) => p.toString()));
    }
    assert.equal(text(got), want, `split ${split}`);
    assert.deepEqual(pongs, ['p1'], `split ${split}`);
  }
});

test('frame reader: protocol errors with the reference texts', () => {
  const cases: Array<[Buffer[], string]> = [
    [[frame(OP.BINARY, 'x', { mask: false })], 'mask bit missing'],
    [[frame(3, 'x')], 'unknown opcode 3'],
    [[frame(OP.CLOSE, Buffer.alloc(126))], 'control frame length bigger than maximum allowed of 125 bytes'],
    [[frame(OP.PONG, 'x', { fin: false })], 'control frame does not have final bit set'],
    [[frame(OP.CONT, 'x')], 'invalid continuation frame'],
    [[frame(OP.BINARY, 'x', { fin: false }), frame(OP.TEXT, 'y')], 'new message started before final frame for previous message was received'],
    [[frame(OP.BINARY, 'x', { fin: false }), frame(OP.CONT, 'y', { rsv1: true })], 'invalid continuation frame'],
  ];
  for (const [frames, want] of cases) {
    const r = new FrameReader(true);
    const res = r.read(Buffer.concat(frames));
    assert.equal(res.error, want);
  }
  // without masking required, an unmasked frame is fine
  const nm = new FrameReader(false);
  assert.equal(text(nm.read(frame(OP.BINARY, 'PING\r\n', { mask: false })).bufs), 'PING\r\n');
});

test('frame reader: close replies echo the status, 1005 without one, 1007 for a bad body', () => {
  const reply = (payload: Buffer) => {
    const res = new FrameReader(true).read(frame(OP.CLOSE, payload));
    const p = res.closeReply!;
    return p.length === 0 ? null : [p.readUInt16BE(0), p.subarray(2).toString()];
  };
  assert.deepEqual(reply(closePayload(1000, 'bye')), [1000, 'bye']);
  assert.deepEqual(reply(closePayload(4321)), [4321, '']);
  assert.deepEqual(reply(Buffer.alloc(0)), [1005, '']);
  assert.deepEqual(reply(Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])])), [1007, 'invalid utf8 body in close frame']);
  // data before the close frame in the same read is delivered
  const r = new FrameReader(true).read(Buffer.concat([frame(OP.BINARY, 'PING\r\n'), frame(OP.CLOSE, closePayload(1000))]));
  assert.equal(text(r.bufs), 'PING\r\n');
  assert.notEqual(r.closeReply, null);
});

test('frame reader: compressed messages, fragmented, and the inflate cap', () => {
  const msg = 'PUB c 3\r\nabc\r\n'.repeat(50);
  const z = zlib.deflateRawSync(Buffer.from(msg), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const body = z.subarray(0, z.length - 4);
  const r = new FrameReader(true);
  const a = r.read(frame(OP.BINARY, body.subarray(0, 7), { rsv1: true, fin: false }));
  assert.deepEqual(a.bufs, []);
  const b = r.read(frame(OP.CONT, body.subarray(7)));
  assert.equal(text(b.bufs), msg);
  // a message inflating beyond the cap is a read error, not an allocation
  const bomb = zlib.deflateRawSync(Buffer.alloc(5_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const capped = new FrameReader(true, 1_000_000).read(frame(OP.BINARY, bomb.subarray(0, bomb.length - 4), { rsv1: true }));
  assert.match(capped.error ?? '', /^flate: message inflates beyond 1000000 bytes/);
  // RSV1 without negotiation is still honoured, as the reference does: garbage is a flate error
  const bad = new FrameReader(true).read(frame(OP.BINARY, 'PING\r\n', { rsv1: true }));
  assert.match(bad.error ?? '', /^flate: /);
});

test('outbound framing: one frame per flush; browsers get 4096-byte frames split like wsCollapsePtoNB', () => {
  const hdr = Buffer.from('MSG b 1 10000\r\n');
  const payload = Buffer.alloc(10_000, 0x62);
  const crlf = Buffer.from('\r\n');
  const sizes = (out: Buffer[]) => {
    const lens: number[] = [];
    for (let i = 0; i < out.length; ) {
      const h = out[i]!;
      let len = h[1]! & 0x7f;
      if (len === 126) len = h.readUInt16BE(2);
      let got = 0;
      i++;
      while (got < len) got += out[i++]!.length;
      lens.push(len);
    }
    return lens;
  };
  // the reference's sizes for the same three buffers
  assert.deepEqual(sizes(frameOutbound([hdr, payload, crlf], false, 4096, false)), [15, 4096, 4096, 1810]);
  assert.deepEqual(sizes(frameOutbound([hdr, payload, crlf], false, 0, false)), [10_017]);
  // header encodings (TestWSCreateFrameHeader)
  assert.deepEqual([...frameHeader(true, true, false, OP_BINARY, 10)], [0x82, 10]);
  assert.deepEqual([...frameHeader(true, true, false, OP_BINARY, 600)], [0x82, 126, 0x02, 0x58]);
  assert.deepEqual([...frameHeader(true, true, true, OP_BINARY, 100_000)], [0xc2, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
  assert.deepEqual([...frameHeader(false, false, false, OP_BINARY, 1)], [0x00, 1]);
  // compression: not at or below 64 bytes; above, one RSV1 message that inflates back
  const small = frameOutbound([Buffer.alloc(64, 0x61)], true, 0, false);
  assert.equal(small[0]![0], 0x82);
  const big = frameOutbound([Buffer.alloc(20_000, 0x61)], true, 0, false);
  assert.equal(big[0]![0], 0xc2);
  const inflated = zlib.inflateRawSync(Buffer.concat([big[1]!, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.equal(inflated.length, 20_000);
  // compressed for a browser: fragments, RSV1 only on the first; Safari: never fragmented
  const rnd = randomBytes(30_000); // incompressible: several 4 KiB fragments
  const frag = frameOutbound([rnd], true, 4096, false);
  assert.ok(frag.length > 2);
  assert.equal(frag[0]![0], 0x42);
  assert.equal(frag[2]![0], 0x00);
  assert.equal(frag[frag.length - 2]![0], 0x80);
  assert.equal(frameOutbound([rnd], true, 4096, true).length, 2);
});

test('close messages: status mapping and truncation with "..."', () => {
  assert.equal(closeStatusFor('Client Closed'), 1000);
  assert.equal(closeStatusFor('Authentication Failure'), 1008);
  assert.equal(closeStatusFor('Maximum Message Payload Exceeded'), 1009);
  assert.equal(closeStatusFor('Server Shutdown'), 1001);
  assert.equal(closeStatusFor('Protocol Violation'), 1002);
  assert.equal(closeStatusFor('Stale Connection'), 1006);
  assert.equal(closeStatusFor('Duplicate Route'), 1011);
  const long = closeMessage(1000, 'x'.repeat(200));
  assert.equal(long.length, 125);
  assert.equal(long.subarray(long.length - 3).toString(), '...');
});

test('HTTP heads: parse, net/http refusals, partial heads refused early', () => {
  const req = parseRequestHead(Buffer.from('GET /x HTTP/1.1\r\nhost: a\r\nsec-websocket-key: k\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n'));
  assert.equal(req.host, 'a');
  assert.deepEqual(req.headers.get('Sec-Websocket-Key'), ['k']);
  assert.deepEqual(req.headers.get('X-Multi'), ['1', '2']);
  const refusal = (s: string) => {
    try {
      parseRequestHead(Buffer.from(s));
      return 'accepted';
    } catch (e) {
      return (e as HttpParseError).response.split('\r\n')[0];
    }
  };
  assert.equal(refusal('GET / HTTP/1.1\r\n\r\n'), 'HTTP/1.1 400 Bad Request: missing required Host header');
  assert.equal(refusal('GET / HTTP/3.0\r\nHost: a\r\n\r\n'), 'HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version');
  assert.equal(refusal('GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x\r\n\r\n'), 'HTTP/1.1 501 Not Implemented');
  assert.equal(refusal('GET nope HTTP/1.1\r\nHost: a\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
  assert.equal(refusal('GET / HTTP/1.0\r\n\r\n'), 'accepted');
  assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\nrest')), 24);
  assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n')), -1);
  assert.throws(() => checkPartialHead(Buffer.from('CONNECT {"verbose":false}\r\n')), HttpParseError);
  assert.throws(() => checkPartialHead(Buffer.from('GET / HTTP/1.1\r\nno colon here\r\n')), HttpParseError);
  assert.doesNotThrow(() => checkPartialHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nUpgr')));
});

test('upgrade checks and accept key (RFC 6455 example)', () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  const cfg = { compression: true, jwtCookie: 'jwt', origins: new OriginPolicy(false, []) };
  const ok = wsUpgrade(
    parseRequestHead(
      Buffer.from(
        'GET /leafnode HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\nCookie: a=1; jwt="tok"\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n',
      ),
    ),
    cfg,
    false,
  );
  assert.ok('kind' in ok);
  assert.equal(ok.kind, 'leaf');
  assert.equal(ok.compress, true);
  assert.equal(ok.clientIP, '10.0.0.1');
  // the cookie is only read for clients (and mqtt), not leafnodes
  assert.equal(ok.cookieJwt, '');
  const c = wsUpgrade(
    parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nCookie: a=1; jwt="tok"\r\nUser-Agent: Mozilla/5.0 Version/17 Safari/605\r\nSec-WebSocket-Extensions: x, permessage-deflate\r\n\r\n')),
    cfg,
    false,
  );
  assert.ok('kind' in c);
  assert.equal(c.cookieJwt, 'tok');
  assert.equal(c.browser, true);
  assert.equal(c.noCompFrag, true);
});

test('origins: the reference TestWSCheckOrigin table', () => {
  const some = ['http://host1.com', 'http://host2.com:1234'];
  const cases: Array<[string, boolean, string[], string, boolean, string, string]> = [
    ['any', false, [], '', false, 'http://any.host.com', ''],
    ['same origin ok', true, [], 'host.com', false, 'http://host.com:80', ''],
    ['same origin bad host', true, [], 'host.com', false, 'http://other.host.com', 'not same origin'],
    ['same origin bad port', true, [], 'host.com', false, 'http://host.com:81', 'not same origin'],
    ['same origin bad scheme', true, [], 'host.com', true, 'http://host.com', 'not same origin'],
    ['same origin bad uri', true, [], 'host.com', false, '@@@://invalid:url:1234', 'invalid URI'],
    ['same origin bad url', true, [], 'host.com', false, 'http://invalid:url:1234', 'too many colons'],
    ['same origin bad req host', true, [], 'invalid:url:1234', false, 'http://host.com', 'too many colons'],
    ['no origin same origin ignored', true, [], '', false, '', ''],
    ['no origin list ignored', true, some, '', false, '', ''],
    ['allowed from list', false, some, '', false, 'http://host2.com:1234', ''],
    ['allowed with different path', false, some, '', false, 'http://host1.com/some/path', ''],
    ['list bad port', false, some, '', false, 'http://host1.com:1234', 'not in the allowed list'],
    ['list bad scheme', false, some, '', false, 'https://host2.com:1234', 'not in the allowed list'],
  ];
  for (const [name, same, list, host, tls, origin, err] of cases) {
    const p = new OriginPolicy(same, list);
    const head = `GET / HTTP/1.0\r\n${host ? `Host: ${host}\r\n` : ''}${origin ? `Origin: ${origin}\r\n` : ''}\r\n`;
    const got = p.check(parseRequestHead(Buffer.from(head)), tls);
    if (err === '') assert.equal(got, null, name);
    else assert.ok(got !== null && got.includes(err), `${name}: ${got}`);
  }
  assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: '80' });
  assert.equal((splitHostPort('a:b:c') as { error: string }).error, 'address a:b:c: too many colons in address');
  assert.deepEqual(parseRequestURI('https://User@Example.com:8443/p?q'), { scheme: 'https', host: 'Example.com:8443' });
});
