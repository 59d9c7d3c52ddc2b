// The live dashboard in a real browser (Debian's chromium driven by
// playwright-core): the page loads without console errors, the canvas
// charts draw, and the numbers move while test traffic flows.
//
// Needs chromium: `apt-get install -y chromium` (CI's .ci/run installs it).
// CHROMIUM_PATH overrides /usr/bin/chromium. Set DASHBOARD_SCREENSHOT=<file>
// to save a screenshot (docs/dashboard.png was made that way).

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { client, startEmbedded } from '../unit/monitor/helpers.js';
import { flush } from '../helpers/proto.js';
import type { RawClient } from '../helpers/rawclient.js';

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

async function textOf(page: Page, sel: string): Promise<string> {
  return (await page.textContent(sel)) ?? '';
}

test('dashboard draws live charts from the running server', async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH); this test never skips`,
  );
  const e = await startEmbedded();
  const conns: RawClient[] = [];
  const userDir = mkdtempSync(join(tmpdir(), 'tsnats-chromium-'));
  let ctx: BrowserContext | null = null;
  let traffic: NodeJS.Timeout | null = null;
  t.after(async () => {
    if (traffic !== null) clearInterval(traffic);
    if (ctx !== null) await ctx.close();
    for (const c of conns) c.socket.destroy();
    await e.stop();
    rmSync(userDir, { recursive: true, force: true });
  });

  const sub = await client(e.srv.port, 'dash-sub');
  const pub = await client(e.srv.port, 'dash-pub');
  conns.push(sub, pub);
  await flush(sub, 'SUB load.> 1\r\nSUB other 2\r\n');
  const batch = 'PUB load.x 32\r\n' + 'p'.repeat(32) + '\r\n';
  traffic = setInterval(() => {
    void pub.send(batch.repeat(200));
  }, 100);

  ctx = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 1000 } });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  const resp = await page.goto(`${e.base}/dashboard`);
  assert.equal(resp?.status(), 200);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 15_000 });

  // totals move while traffic flows
  const first = Number(await textOf(page, '#v-in-msgs'));
  await page.waitForFunction((n) => Number(document.getElementById('v-in-msgs')?.textContent) > n, first, { timeout: 15_000 });
  const second = Number(await textOf(page, '#v-in-msgs'));
  assert.ok(second > first, `in_msgs moved: ${first} -> ${second}`);
  assert.equal(await textOf(page, '#v-connections'), '2');
  assert.equal(await textOf(page, '#v-subscriptions'), '2');

  // the message-rate chart has a non-zero peak and paints pixels
  await page.waitForFunction(() => Number(document.getElementById('chart-msgs')?.getAttribute('data-max')) > 0, undefined, {
    timeout: 15_000,
  });
  for (const id of ['chart-msgs', 'chart-bytes', 'chart-conns', 'chart-slow']) {
    const info = await page.evaluate((cid) => {
      const c = document.getElementById(cid) as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
      return { points: Number(c.getAttribute('data-points')), painted, w: c.width, h: c.height };
    }, id);
    assert.ok(info.w > 0 && info.h > 0, `${id} has a size`);
    assert.ok(info.points > 0, `${id} plotted points`);
    assert.ok(info.painted > 500, `${id} painted pixels (${info.painted})`);
  }

  // the rate table lists the publisher once per-connection rates exist
  await page.waitForFunction(() => (document.getElementById('top-rate')?.textContent ?? '').includes('dash-pub'), undefined, {
    timeout: 15_000,
  });
  const pendingTable = await textOf(page, '#top-pending');
  assert.ok(pendingTable.includes('dash-sub') && pendingTable.includes('dash-pub'), pendingTable);

  if (process.env.DASHBOARD_SCREENSHOT) {
    await page.waitForTimeout(4000); // a few more seconds of history on the charts
    await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
  }
  assert.deepEqual(problems, []);
});
