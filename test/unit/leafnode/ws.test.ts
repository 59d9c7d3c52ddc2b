// The dialing side's websocket upgrade (server/leafnode.go
// leafNodeSolicitWSConnection): what it makes of the hub's 101 answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { pmcSupport, wsUpgrade } from '../../../src/leafnode/ws.js';
import { acceptKey } from '../../../src/websocket/handshake.js';

/** A one-shot hub answering the upgrade request with `answer(key)`. */
async function upgradeAgainst(answer: (key: string) => string, noMasking: boolean, compress: boolean) {
  let request = '';
  const srv = net.createServer((s) => {
    s.on('data', (d) => {
      request += d.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      const key = /Sec-Websocket-Key: (\S+)/.exec(request)![1]!;
      s.write(Buffer.from(answer(key), 'latin1'));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  try {
    return { result: await wsUpgrade(sock, `127.0.0.1:${port}`, noMasking, compress, 2000).catch((e: Error) => e), request: () => request };
  } finally {
    sock.destroy();
    srv.close();
  }
}

const ok = (key: string, extra = '') => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`;

test('pmcSupport: permessage-deflate and both no_context_takeover parameters', () => {
  assert.deepEqual(pmcSupport(['permessage-deflate; server_no_context_takeover; client_no_context_takeover']), { compress: true, noCtxTakeover: true });
  assert.deepEqual(pmcSupport(['x-other, PerMessage-Deflate ;Client_No_Context_Takeover; server_no_context_takeover']), { compress: true, noCtxTakeover: true });
  assert.deepEqual(pmcSupport(['permessage-deflate; server_no_context_takeover']), { compress: true, noCtxTakeover: false });
  assert.deepEqual(pmcSupport([]), { compress: false, noCtxTakeover: false });
});

test('wsUpgrade: compression and no-masking as the hub answers', async () => {
  const pmc = 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n';
  const a = await upgradeAgainst((k) => ok(k, pmc + 'Nats-No-Masking: true\r\n'), true, true);
  assert.deepEqual(a.result, { rest: Buffer.alloc(0), compress: true, mask: false });
  assert.match(a.request(), /Sec-Websocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n/);
  assert.match(a.request(), /Nats-No-Masking: true\r\n/);
  // a hub that ignores both: uncompressed, masked
  const b = await upgradeAgainst((k) => ok(k), true, true);
  assert.deepEqual(b.result, { rest: Buffer.alloc(0), compress: false, mask: true });
  // compression agreed without no_context_takeover: refused
  const c = await upgradeAgainst((k) => ok(k, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'), false, true);
  assert.ok(c.result instanceof Error && c.result.message === 'compression negotiation error');
  // a wrong accept key
  const d = await upgradeAgainst(() => ok('not-the-key'), false, false);
  assert.ok(d.result instanceof Error && d.result.message === 'invalid websocket connection');
  // bytes after the head are handed on
  const e = await upgradeAgainst((k) => ok(k) + '\x82\x02hi', false, false);
  assert.ok(!(e.result instanceof Error));
  assert.equal(e.result.rest.toString('latin1'), '\x82\x02hi');
});
