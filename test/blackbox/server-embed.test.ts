// The embedding API: `new Server(opts, logger)`, start(), shutdown(),
// clientURL(), port. Start/stop leaves no open handles (compared with
// process.getActiveResourcesInfo() before and after), two servers live in one
// process on different random ports without crosstalk, and a failed start
// (port in use) rejects and leaves nothing behind.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { Server } from '../../src/index.js';
import type { Logger } from '../../src/index.js';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { record, within } from '../clients/dual.js';

/** active resources as a sorted multiset, e.g. ['TCPServerWrap', 'TCPSocketWrap', 'TCPSocketWrap'] */
function resources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/**
 * Waits (bounded) until the active resources equal `baseline`: handles closed
 * with destroy()/close() leave the list only after their libuv close
 * callback, a loop turn later. Returns the last observed list.
 */
async function settleTo(baseline: string[], ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  let now = resources();
  while (JSON.stringify(now) !== JSON.stringify(baseline) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    now = resources();
  }
  return now;
}

async function baseline(): Promise<string[]> {
  // let anything the test runner or an earlier test left in flight finish
  let prev = resources();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const now = resources();
    if (JSON.stringify(now) === JSON.stringify(prev)) break;
    prev = now;
  }
  return resources();
}

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (lvl: string) => (m: string) => void lines.push(`[${lvl}] ${m}`);
  return {
    lines,
    notice: at('INF'),
    warn: at('WRN'),
    error: at('ERR'),
    fatal: at('FTL'),
    debug: () => {},
    trace: () => {},
    debugEnabled: false,
    traceEnabled: false,
  };
}

describe('embedding API', () => {
  it('start() then shutdown() with no clients leaves no open handles', async () => {
    const before = await baseline();
    const s = new Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    assert.equal(s.isRunning, true);
    assert.ok(resources().includes('TCPServerWrap'), 'a listening socket while running');
    await s.shutdown();
    assert.equal(s.isRunning, false);
    assert.deepEqual(await settleTo(before), before);
  });

  it('start/shutdown with connected nats.js and raw clients leaves no open handles once the clients are gone', async () => {
    const before = await baseline();
    const s = new Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    const nc = await connect({ servers: s.clientURL(), reconnect: false });
    const r = record(nc, 'embed.x');
    nc.publish('embed.x', 'hi');
    await nc.flush();
    assert.deepEqual(r.texts(), ['hi']);
    const raw = await rawConnect(s.port);
    await raw.readUntil('\r\n', 20_000);
    const ncClosed = nc.closed();
    await s.shutdown();
    await within(ncClosed, 'nats.js client closed by shutdown');
    await raw.expectClosed(20_000);
    assert.deepEqual(await settleTo(before), before);
  });

  it('five start/shutdown cycles do not accumulate handles', async () => {
    const before = await baseline();
    for (let i = 0; i < 5; i++) {
      const s = new Server({ host: '127.0.0.1', port: -1 });
      await s.start();
      const nc = await connect({ servers: s.clientURL(), reconnect: false });
      await nc.flush();
      await nc.close();
      await s.shutdown();
    }
    assert.deepEqual(await settleTo(before), before);
  });

  it('shutdown() is idempotent and can be awaited twice', async () => {
    const s = new Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    await Promise.all([s.shutdown(), s.shutdown()]);
    await s.shutdown();
    assert.equal(s.isRunning, false);
  });

  it('clientURL() and port: the real port when started with -1, and a client connects to it', async () => {
    const s = new Server({ host: '127.0.0.1', port: -1 });
    await s.start();
    try {
      assert.ok(s.port > 0 && s.port < 65536);
      assert.equal(s.clientURL(), `nats://127.0.0.1:${s.port}`);
      const nc = await connect({ servers: s.clientURL(), reconnect: false });
      assert.equal(nc.info!.port, s.port);
      assert.equal(nc.info!.server_id, s.serverId);
      assert.equal(nc.info!.version, '2.9.10');
      await nc.close();
    } finally {
      await s.shutdown();
    }
  });

  it('a logger passed to the constructor gets the reference startup lines', async () => {
    const log = memoryLogger();
    const s = new Server({ host: '127.0.0.1', port: -1 }, log);
    await s.start();
    await s.shutdown();
    const masked = log.lines.map((l) => l.replace(/\bN[A-Z2-7]{55}\b/g, '<ID>').replace(/:\d+$/, ':<port>'));
    assert.deepEqual(masked.slice(0, 7), [
      '[INF] Starting nats-server',
      '[INF]   Version:  2.9.10',
      '[INF]   Git:      [not set]',
      '[INF]   Name:     <ID>',
      '[INF]   ID:       <ID>',
      '[INF] Listening for client connections on 127.0.0.1:<port>',
      '[INF] Server is ready',
    ]);
    assert.ok(log.lines.includes(`[INF] Listening for client connections on 127.0.0.1:${s.port}`));
  });

  it('two servers in one process: different ports and ids, no crosstalk, one stops while the other serves', async () => {
    const before = await baseline();
    const a = new Server({ host: '127.0.0.1', port: -1 });
    const b = new Server({ host: '127.0.0.1', port: -1 });
    await Promise.all([a.start(), b.start()]);
    try {
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.clientURL(), b.clientURL());
      assert.notEqual(a.serverId, b.serverId);
      const na = await connect({ servers: a.clientURL(), reconnect: false });
      const nb = await connect({ servers: b.clientURL(), reconnect: false });
      assert.equal(na.info!.server_id, a.serverId);
      assert.equal(nb.info!.server_id, b.serverId);
      const ra = record(na, 'shared.subject');
      const rb = record(nb, 'shared.subject');
      await na.flush();
      await nb.flush();
      for (let i = 0; i < 100; i++) na.publish('shared.subject', `a${i}`);
      for (let i = 0; i < 50; i++) nb.publish('shared.subject', `b${i}`);
      await na.flush();
      await nb.flush();
      assert.equal(ra.msgs.length, 100);
      assert.equal(rb.msgs.length, 50);
      assert.ok(ra.texts().every((x) => x.startsWith('a')));
      assert.ok(rb.texts().every((x) => x.startsWith('b')));

      const naClosed = na.closed();
      await a.shutdown();
      await within(naClosed, 'client of the stopped server closed');
      nb.publish('shared.subject', 'still-here');
      await nb.flush();
      assert.equal(rb.msgs.length, 51);
      assert.equal(b.isRunning, true);
      await nb.close();
    } finally {
      await Promise.all([a.shutdown(), b.shutdown()]);
    }
    assert.deepEqual(await settleTo(before), before);
  });

  it('options reach clients: maxPayload in INFO, honoured by nats.js, enforced on a raw client', async () => {
    const s = new Server({ host: '127.0.0.1', port: -1, maxPayload: 1024, serverName: 'embedded-one' });
    await s.start();
    try {
      const nc = await connect({ servers: s.clientURL(), reconnect: false });
      assert.equal(nc.info!.max_payload, 1024);
      assert.equal(nc.info!.server_name, 'embedded-one');
      const r = record(nc, 'mp.embed');
      await nc.flush();
      nc.publish('mp.embed', new Uint8Array(1024));
      assert.throws(() => nc.publish('mp.embed', new Uint8Array(1025)), (e: unknown) => e instanceof Error && e.constructor.name === 'InvalidArgumentError');
      await nc.flush();
      assert.deepEqual(
        r.msgs.map((m) => m.data.length),
        [1024],
      );
      const raw = await rawConnect(s.port);
      await raw.readUntil('\r\n', 20_000);
      await raw.send('CONNECT {"verbose":false,"pedantic":false}\r\nPUB mp.embed 1025\r\n');
      await raw.expectClosed(20_000);
      assert.equal(raw.received().toString('latin1').replace(/^INFO [^\r\n]*\r\n/, ''), "-ERR 'Maximum Payload Violation'\r\n");
      await nc.flush();
      assert.equal(r.msgs.length, 1);
      await nc.close();
    } finally {
      await s.shutdown();
    }
  });

  it('start() on a port in use rejects, and the failed server leaves no handles', async () => {
    const first = new Server({ host: '127.0.0.1', port: -1 });
    await first.start();
    try {
      const before = await baseline();
      const second = new Server({ host: '127.0.0.1', port: first.port });
      await assert.rejects(second.start(), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, /address already in use|EADDRINUSE/);
        return true;
      });
      assert.equal(second.isRunning, false);
      await second.shutdown();
      assert.deepEqual(await settleTo(before), before);
      // the first server is unaffected
      const nc = await connect({ servers: first.clientURL(), reconnect: false });
      await nc.flush();
      await nc.close();
    } finally {
      await first.shutdown();
    }
  });
});
