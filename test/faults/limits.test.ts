// Limits under pressure, each with exact counts, each run against tsnats and
// the reference with the same expectations. Complements
// test/differential/protocol-limits.test.ts (which pins the exact bytes at
// tiny limits): here the limits are hit by many clients at once, at real
// sizes, or by input that trickles in.
//
//  - max_connections: 80 simultaneous clients against a limit of 50
//  - max_subscriptions: 150 SUBs against a limit of 100
//  - max_payload: the default 1 MiB and a 64 KiB HPUB limit, at the byte
//  - max_control_line: a line that trickles in 64 bytes at a time
//  - auth timeout: 20 silent clients and a half CONNECT, an honest client stays
//  - ping_max: 10 silent clients get exactly ping_max PINGs, then Stale Connection

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { connect, type RawClient } from '../helpers/rawclient.js';
import { parseServerStream, withoutServerPings } from '../helpers/mask.js';
import { Client, getJson, monitorPort, sleep, waitFor, type Varz } from './util.js';

const KINDS: ServerKind[] = ['tsnats', 'reference'];
const CONNECT = 'CONNECT {"verbose":false,"pedantic":false}\r\n';

async function withServer<T>(kind: ServerKind, config: string, fn: (s: RunningServer) => Promise<T>, extra: string[] = []): Promise<T> {
  const s = await startServer(kind, ['-c', writeConfig(config), ...extra]);
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** connect, read INFO, send CONNECT+PING; resolves with 'ok' (PONG) or the -ERR line */
async function tryClient(port: number): Promise<{ outcome: string; c: RawClient }> {
  const c = await connect(port, { timeoutMs: 30_000 });
  await c.readUntil('\r\n', 30_000).catch(() => '');
  await c.send(CONNECT + 'PING\r\n');
  const got = await c.readUntil(/PONG\r\n|-ERR [^\r]*\r\n/, 30_000).catch(() => '');
  const m = /-ERR [^\r]*/.exec(got);
  return { outcome: m ? m[0] : got.includes('PONG') ? 'ok' : `nothing: ${JSON.stringify(got)}`, c };
}

for (const kind of KINDS) {
  describe(`${kind}: limits under pressure`, () => {
    it('max_connections 50: 80 at once → exactly 50 in, 30 refused; freed slots are reused', { timeout: 120_000 }, async () => {
      await withServer(kind, 'max_connections: 50\n', async (s) => {
        const http = monitorPort(s.stderr());
        const results = await Promise.all(Array.from({ length: 80 }, () => tryClient(s.port)));
        const ok = results.filter((r) => r.outcome === 'ok');
        const refused = results.filter((r) => r.outcome === "-ERR 'maximum connections exceeded'");
        assert.equal(ok.length, 50, JSON.stringify(results.map((r) => r.outcome)));
        assert.equal(refused.length, 30);
        await Promise.all(refused.map((r) => r.c.expectClosed(10_000)));
        // free 10 slots: once the server has seen the closes, exactly 10 newcomers fit
        for (const r of ok.slice(0, 10)) r.c.close();
        await waitFor('40 connections', async () => (await getJson<Varz>(http, '/varz')).connections === 40, 30_000, 50);
        const second = await Promise.all(Array.from({ length: 12 }, () => tryClient(s.port)));
        assert.equal(second.filter((r) => r.outcome === 'ok').length, 10);
        assert.equal(second.filter((r) => r.outcome === "-ERR 'maximum connections exceeded'").length, 2);
        for (const r of [...results, ...second]) r.c.close();
      }, ['-m', '-1']);
    });

    it('max_subscriptions 100: 150 SUBs → 50 refused, exactly 100 deliver', { timeout: 60_000 }, async () => {
      await withServer(kind, 'max_subscriptions: 100\n', async (s) => {
        const c = await connect(s.port);
        await c.readUntil('\r\n');
        let subs = CONNECT;
        for (let i = 1; i <= 150; i++) subs += `SUB s.${i} ${i}\r\n`;
        await c.send(subs + 'PING\r\n');
        const first = withoutServerPings(await c.readUntil('PONG\r\n', 20_000));
        const errs = parseServerStream(first).filter((f) => f.op === '-ERR');
        assert.equal(errs.length, 50);
        assert.ok(errs.every((f) => f.raw === "-ERR 'maximum subscriptions exceeded'\r\n"));
        let pubs = '';
        for (let i = 1; i <= 150; i++) pubs += `PUB s.${i} 1\r\nx\r\n`;
        await c.send(pubs + 'PING\r\n');
        const second = withoutServerPings(await c.readUntil('PONG\r\n', 20_000));
        const msgs = parseServerStream(second).filter((f) => f.op === 'MSG');
        assert.equal(msgs.length, 100);
        assert.deepEqual(msgs.map((m) => (m.op === 'MSG' ? Number(m.sid) : 0)), Array.from({ length: 100 }, (_, i) => i + 1));
        assert.equal(c.isClosed, false);
        c.close();
      });
    });

    it('max_payload: 1 MiB default and 64 KiB HPUB, exactly at the limit and one byte over', { timeout: 60_000 }, async () => {
      const exchange = async (port: number, head: string, frame: Buffer, ping = true): Promise<{ text: string; closed: boolean }> => {
        const c = await connect(port);
        await c.readUntil('\r\n');
        await c.send(head);
        // the frame in 16 KiB writes
        for (let i = 0; i < frame.length; i += 16384) await c.send(frame.subarray(i, i + 16384));
        if (ping) await c.send('PING\r\n');
        const text = await c.readUntil(/PONG\r\n|-ERR [^\r]*\r\n/, 20_000).catch(() => '');
        if (text.includes('-ERR')) await c.waitClosed(5000);
        const closed = c.isClosed;
        c.close();
        // only the tail: the delivered MSG carries the payload
        return { text: withoutServerPings(text).replace(/x{16,}/g, (m) => `<${m.length} x>`), closed };
      };
      const big = (n: number) => Buffer.from(`PUB p ${n}\r\n${'x'.repeat(n)}\r\n`);
      await withServer(kind, '\n', async (s) => {
        const sub = CONNECT + 'SUB p 1\r\n';
        assert.deepEqual(await exchange(s.port, sub, big(1048576)), { text: 'MSG p 1 1048576\r\n<1048576 x>\r\nPONG\r\n', closed: false });
        // over the limit the server answers right after the control line and closes: no payload is sent
        // (writing into a reset connection would make the kernel drop the -ERR before it is read)
        assert.deepEqual(await exchange(s.port, sub, Buffer.from('PUB p 1048577\r\n'), false), { text: "-ERR 'Maximum Payload Violation'\r\n", closed: true });
      });
      await withServer(kind, 'max_payload: 65536\n', async (s) => {
        const head = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB h 1\r\n';
        const hdr = 'NATS/1.0\r\nA: B\r\n\r\n';
        const hpub = (total: number) => Buffer.from(`HPUB h ${hdr.length} ${total}\r\n${hdr}${'x'.repeat(total - hdr.length)}\r\n`);
        assert.deepEqual(await exchange(s.port, head, hpub(65536)), {
          text: `HMSG h 1 ${hdr.length} 65536\r\n${hdr}<${65536 - hdr.length} x>\r\nPONG\r\n`,
          closed: false,
        });
        assert.deepEqual(await exchange(s.port, head, Buffer.from(`HPUB h ${hdr.length} 65537\r\n`), false), { text: "-ERR 'Maximum Payload Violation'\r\n", closed: true });
      });
    });

    it('max_control_line 1 KiB: a line trickling in is cut as soon as it is over, before its end', { timeout: 60_000 }, async () => {
      await withServer(kind, 'max_control_line: 1024\n', async (s) => {
        const c = await connect(s.port);
        await c.readUntil('\r\n');
        await c.send(CONNECT + 'PING\r\n');
        await c.readUntil('PONG\r\n');
        await c.send('SUB ');
        let sent = 0;
        // 64 bytes at a time, never a newline; the server must not wait for one
        while (!c.isClosed && sent < 64 * 1024) {
          await c.send('a'.repeat(64));
          sent += 64;
          await sleep(5);
        }
        await c.expectClosed(10_000);
        assert.equal(withoutServerPings(c.received()).replace(/^INFO [^\n]*\n/, ''), "PONG\r\n-ERR 'maximum control line exceeded'\r\n");
        assert.ok(sent > 1024 && sent < 16 * 1024, `cut after ${sent} bytes`);
      });
    });

    // the limits are generous so that a client of this (possibly loaded) test process answers in time
    it('auth timeout 2 s: 20 silent clients and a half CONNECT time out, an authenticated one stays', { timeout: 60_000 }, async () => {
      await withServer(kind, 'authorization { user: a, password: b, timeout: 2 }\n', async (s) => {
        const good = await Client.open(s.port, { user: 'a', pass: 'b' });
        const silent = await Promise.all(Array.from({ length: 20 }, () => connect(s.port)));
        const half = await connect(s.port);
        await half.readUntil('\r\n');
        await half.send('CONNECT {"user":"a","pa');
        await Promise.all([...silent, half].map((c) => c.expectClosed(15_000)));
        for (const c of [...silent, half]) {
          const after = withoutServerPings(c.received()).replace(/^INFO [^\n]*\n/, '');
          assert.equal(after, "-ERR 'Authentication Timeout'\r\n");
        }
        await sleep(500);
        await good.flush();
        assert.equal(good.isClosed, false);
        assert.deepEqual(good.errors, []);
        good.close();
      });
    });

    it('ping_max 3: 10 silent clients get exactly 3 PINGs then Stale Connection; an answering one stays', { timeout: 60_000 }, async () => {
      await withServer(kind, 'ping_interval: "1s"\nping_max: 3\n', async (s) => {
        const answering = await Client.open(s.port);
        const silent = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const c = await connect(s.port);
            await c.readUntil('\r\n');
            await c.send(CONNECT);
            return c;
          }),
        );
        await Promise.all(silent.map((c) => c.expectClosed(20_000)));
        for (const c of silent) {
          const after = c.received().toString('latin1').replace(/^INFO [^\n]*\n/, '');
          assert.equal(after, "PING\r\nPING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
        }
        await sleep(1000);
        await answering.flush();
        assert.equal(answering.isClosed, false, 'the client answering PINGs stays');
        answering.close();
      });
    });
  });
}

