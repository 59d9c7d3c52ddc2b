// A real browser on the websocket port: headless Chromium (Debian's
// chromium driven by playwright-core) loads a small page served by this
// test over http on 127.0.0.1; the page opens a raw WebSocket to tsnats and
// speaks NATS itself (CONNECT, SUB, PUB, PING) — no client library, no CDN.
// The server runs with compression on, so Chromium's permessage-deflate
// offer is accepted and the browser has to inflate tsnats' frames (sent in
// 4 KiB fragments to a Mozilla/ User-Agent when larger). A second server whose allowed_origins exclude the page's
// origin must refuse the browser (403: the WebSocket errors).
//
// Needs chromium: `apt-get install -y chromium`. CHROMIUM_PATH overrides /usr/bin/chromium.

import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { startServer, writeConfig, type RunningServer } from '../helpers/servers.js';
import { wsPort } from '../blackbox/websocket-helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The page: connects, subscribes, publishes a small and a 20 KB message, and
// collects the NATS protocol text it receives until both MSGs and a PONG arrived.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tsnats websocket</title></head>
<body><pre id="log"></pre>
<script>
window.result = { done: false, error: '', text: '', frames: 0, extensions: '' };
function run(url) {
  const big = 'B'.repeat(20000);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const dec = new TextDecoder();
  ws.onopen = () => {
    window.result.extensions = ws.extensions;
    ws.send(new TextEncoder().encode('CONNECT {"verbose":false,"pedantic":false,"lang":"browser","protocol":1}\\r\\nSUB demo.> 1\\r\\nPUB demo.hello 11\\r\\nhello world\\r\\n'));
    ws.send('PUB demo.big ' + big.length + '\\r\\n' + big + '\\r\\nPING\\r\\n');
  };
  ws.onmessage = (ev) => {
    window.result.frames++;
    window.result.text += typeof ev.data === 'string' ? ev.data : dec.decode(ev.data, { stream: true });
    const t = window.result.text;
    if (t.includes('MSG demo.hello 1 11\\r\\nhello world\\r\\n') && t.includes('MSG demo.big 1 20000\\r\\n' + big + '\\r\\n') && t.includes('PONG\\r\\n')) {
      window.result.done = true;
      ws.close(1000, 'bye');
    }
  };
  ws.onerror = () => { window.result.error = 'error'; };
  ws.onclose = (ev) => { window.result.closeCode = ev.code; };
}
run(new URLSearchParams(location.search).get('ws'));
</script></body></html>`;

test('a browser speaks NATS over a raw WebSocket to tsnats (compressed, fragmented), and allowed_origins refuses another origin', async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH); this test never skips`,
  );
  const web = http.createServer((req, res) => {
    if (req.url?.startsWith('/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  const webPort = (web.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${webPort}`;

  const servers: RunningServer[] = [];
  const userDir = mkdtempSync(join(tmpdir(), 'tsnats-chromium-ws-'));
  let ctx: BrowserContext | null = null;
  t.after(async () => {
    if (ctx !== null) await ctx.close();
    await Promise.all(servers.map((s) => s.stop()));
    web.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  const ok = await startServer('tsnats', [
    '-c',
    writeConfig(`websocket { host: 127.0.0.1, port: -1, no_tls: true, compression: true, allowed_origins: ["${origin}"] }\n`),
  ]);
  servers.push(ok);
  const refused = await startServer('tsnats', [
    '-c',
    writeConfig('websocket { host: 127.0.0.1, port: -1, no_tls: true, allowed_origins: ["http://elsewhere.example"] }\n'),
  ]);
  servers.push(refused);

  ctx = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  const resp = await page.goto(`${origin}/index.html?ws=${encodeURIComponent(`ws://127.0.0.1:${wsPort(ok)}/`)}`);
  assert.equal(resp?.status(), 200);
  await page.waitForFunction(() => (window as unknown as { result: { done: boolean; error: string } }).result.done || (window as unknown as { result: { error: string } }).result.error !== '', undefined, {
    timeout: 30_000,
  });
  const r = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as {
    done: boolean;
    error: string;
    text: string;
    frames: number;
    extensions: string;
  };
  assert.equal(r.error, '', `browser WebSocket error; server log:\n${ok.stderr()}`);
  assert.equal(r.done, true);
  assert.match(r.text, /^INFO \{.*"headers":true.*\} \r\n/);
  // permessage-deflate was negotiated with Chromium, so the browser inflated our frames
  assert.equal(r.extensions, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  // INFO, the MSGs and the PONG arrived as websocket messages (compressed ones among them)
  assert.ok(r.frames >= 2, `frames: ${r.frames}`);
  // the browser's close frame got its echo: the server logged no error for it
  await page.waitForFunction(() => (window as unknown as { result: { closeCode?: number } }).result.closeCode !== undefined, undefined, { timeout: 15_000 });
  const code = await page.evaluate(() => (window as unknown as { result: { closeCode: number } }).result.closeCode);
  assert.equal(code, 1000);
  assert.doesNotMatch(ok.stderr(), /\[ERR\]/);

  // the other server does not list this origin: the upgrade is refused
  await page.goto(`${origin}/index.html?ws=${encodeURIComponent(`ws://127.0.0.1:${wsPort(refused)}/`)}`);
  await page.waitForFunction(() => (window as unknown as { result: { error: string } }).result.error !== '', undefined, { timeout: 30_000 });
  const deadline = Date.now() + 10_000;
  while (!/origin not allowed: not in the allowed list/.test(refused.stderr()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.match(refused.stderr(), /\[ERR\] 127\.0\.0\.1:\d+ - websocket handshake error: origin not allowed: not in the allowed list/);
  assert.deepEqual(problems, []);
});
