// Black-box tests of the tsnats executable (dist/src/main.js) over TCP,
// compared with the reference nats-server binary run the same way: startup
// log lines, random and fixed ports, exit status and log lines on SIGTERM /
// SIGINT, clients closed on shutdown, a port already in use.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connect as rawConnect, type RawClient } from '../helpers/rawclient.js';
import { serverCommand, startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { START, targetKinds, within } from '../clients/dual.js';

const LOG_PREFIX = /^\[(\d+)\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} (\[(?:INF|WRN|ERR|FTL|DBG|TRC)\]) (.*)$/;

/** `[pid] date time [INF] text` → `[INF] text`, server ids and ports masked; asserts the prefix format and pid */
function maskedLines(stderr: string, pid: number | undefined): string[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = LOG_PREFIX.exec(l);
      assert.ok(m, `log line without the reference prefix: ${JSON.stringify(l)}`);
      assert.equal(Number(m[1]), pid, `pid in log line ${JSON.stringify(l)}`);
      return `${m[2]} ${m[3]}`
        .replace(/\bN[A-Z2-7]{55}\b/g, '<ID>')
        .replace(/(127\.0\.0\.1|0\.0\.0\.0|\[::\]):\d+/g, '$1:<port>');
    });
}

/** resolves once the process's stdio has closed (all its output read) */
function outputDone(s: RunningServer): Promise<unknown> {
  if (s.proc.stderr?.readableEnded) return Promise.resolve();
  return once(s.proc, 'close');
}

async function waitForLog(s: RunningServer, re: RegExp, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(s.stderr())) {
    if (Date.now() > deadline) throw new Error(`no ${re} in ${s.kind} stderr:\n${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** runs `fn` for each target kind and asserts equal results (reference first) */
async function each<T>(fn: (kind: ServerKind) => Promise<T>): Promise<T> {
  const kinds = targetKinds();
  const results: T[] = [];
  for (const k of kinds) {
    try {
      results.push(await fn(k));
    } catch (e) {
      if (e instanceof Error) e.message = `[${k}] ${e.message}`;
      throw e;
    }
  }
  if (results.length === 2) {
    assert.deepEqual(results[1], results[0], `reference and tsnats differ\n--- reference ---\n${JSON.stringify(results[0], null, 1)}\n--- tsnats ---\n${JSON.stringify(results[1], null, 1)}`);
  }
  return results[0]!;
}

const STARTUP = [
  '[INF] Starting nats-server',
  '[INF]   Version:  2.9.10',
  '[INF]   Git:      [not set]',
  '[INF]   Name:     <ID>',
  '[INF]   ID:       <ID>',
  '[INF] Listening for client connections on 127.0.0.1:<port>',
  '[INF] Server is ready',
];

describe('tsnats executable', () => {
  it('prints the reference startup lines on -p -1 and listens on the printed port', async () => {
    await each(async (kind) => {
      const s = await startServer(kind, [], START);
      try {
        await waitForLog(s, /Server is ready/);
        const lines = maskedLines(s.stderr(), s.proc.pid);
        assert.deepEqual(lines, STARTUP);
        assert.ok(s.port > 0);
        // the ID line is the server_id clients see; Name is the same without -n
        const id = /ID:\s+(N[A-Z2-7]{55})/.exec(s.stderr())![1];
        const name = /Name:\s+(\S+)/.exec(s.stderr())![1];
        assert.equal(name, id);
        const nc = await connect({ servers: s.url, reconnect: false });
        assert.equal(nc.info!.server_id, id);
        assert.equal(nc.info!.port, s.port);
        await nc.close();
        assert.equal(s.stdout(), '');
        return lines;
      } finally {
        await s.stop();
      }
    });
  });

  it('two instances on -p -1 get different ports', async () => {
    await each(async (kind) => {
      const started = await Promise.allSettled([startServer(kind, [], START), startServer(kind, [], START)]);
      const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      if (ok.length < 2) {
        await Promise.all(ok.map((s) => s.stop()));
        throw (started.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
      }
      const [a, b] = ok as [RunningServer, RunningServer];
      try {
        assert.notEqual(a.port, b.port);
        const ncs = await Promise.all([a, b].map((s) => connect({ servers: s.url, reconnect: false })));
        assert.notEqual(ncs[0]!.info!.server_id, ncs[1]!.info!.server_id);
        await Promise.all(ncs.map((nc) => nc.close()));
        return true;
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });

  it('listens on a fixed port given with -p', async () => {
    await each(async (kind) => {
      let last: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        const probe = createServer();
        await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
        const port = (probe.address() as { port: number }).port;
        await new Promise((r) => probe.close(r));
        let s: RunningServer;
        try {
          s = await startServer(kind, ['-p', String(port)], START);
        } catch (e) {
          last = e; // somebody took the port in between: try another
          continue;
        }
        try {
          assert.equal(s.port, port);
          const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
          assert.equal(nc.info!.port, port);
          await nc.close();
          return true;
        } finally {
          await s.stop();
        }
      }
      throw last;
    });
  });

  for (const [signal, note] of [
    ['SIGTERM', 'the reference exits 1 on SIGTERM (server/signal.go: Shutdown(); os.Exit(1))'],
    ['SIGINT', 'the reference exits 0 on SIGINT'],
  ] as const) {
    it(`${signal}: exit status and shutdown log lines as the reference (${note})`, async () => {
      await each(async (kind) => {
        const s = await startServer(kind, [], START);
        try {
          await waitForLog(s, /Server is ready/);
          const done = outputDone(s);
          const before = s.stderr().length;
          const code = await s.stop(signal);
          await done;
          const tail = maskedLines(s.stderr().slice(before), s.proc.pid);
          return { code, signal: s.proc.signalCode, tail };
        } finally {
          await s.stop('SIGKILL');
        }
      }).then((ref) => {
        assert.equal(ref.code, signal === 'SIGTERM' ? 1 : 0);
        assert.deepEqual(ref.tail, ['[INF] Initiating Shutdown...', '[INF] Server Exiting..']);
      });
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} closes every connected client (raw and nats.js) and the process exits`, async () => {
      await each(async (kind) => {
        const s = await startServer(kind, [], START);
        const raws: RawClient[] = [];
        const ncs: NatsConnection[] = [];
        try {
          raws.push(...(await Promise.all(Array.from({ length: 5 }, () => rawConnect(s.port)))));
          for (const r of raws) {
            await r.readUntil('\r\n', 20_000);
            await r.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB x 1\r\nPING\r\n');
            await r.readUntil('PONG\r\n', 20_000);
          }
          ncs.push(...(await Promise.all(Array.from({ length: 5 }, () => connect({ servers: s.url, reconnect: false })))));
          await Promise.all(ncs.map((nc) => nc.flush()));
          const closed = Promise.all(ncs.map((nc) => nc.closed()));
          const code = await s.stop(signal);
          assert.equal(s.proc.signalCode, null, `the process died of ${s.proc.signalCode} instead of exiting`);
          assert.equal(typeof code, 'number');
          await Promise.all(raws.map((r) => r.expectClosed(20_000)));
          await closed;
          // nothing was written to the raw clients on the way out
          const tails = raws.map((r) => r.peek().toString('latin1'));
          assert.deepEqual(tails, ['', '', '', '', '']);
          assert.equal(
            ncs.every((nc) => nc.isClosed()),
            true,
          );
          // (the exit status itself is pinned by the exit-status tests above)
          return { tails };
        } finally {
          for (const r of raws) r.close();
          await Promise.all(ncs.map((nc) => nc.close().catch(() => undefined)));
          await s.stop('SIGKILL');
        }
      });
    });
  }

  it('a port already in use: [FTL] line and exit status as the reference', async () => {
    await each(async (kind) => {
      const first = await startServer(kind, [], START);
      try {
        const [cmd, ...base] = serverCommand(kind);
        const p = spawn(cmd!, [...base, '-a', '127.0.0.1', '-p', String(first.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        const [code] = (await within(once(p, 'close'), 'the second server to exit', 60_000).catch((e: unknown) => {
          p.kill('SIGKILL');
          throw e;
        })) as [number | null];
        const lines = maskedLines(err, p.pid);
        const ftl = lines.filter((l) => l.startsWith('[FTL]'));
        assert.equal(ftl.length, 1, err);
        // the first server is unaffected
        const nc = await connect({ servers: first.url, reconnect: false });
        await nc.flush();
        await nc.close();
        return { code, ftl, startLines: lines.filter((l) => l.startsWith('[INF]')) };
      } finally {
        await first.stop();
      }
    }).then((ref) => {
      assert.equal(ref.code, 1);
      assert.match(ref.ftl[0]!, /^\[FTL\] Error listening on port: 127\.0\.0\.1:<port>, "listen tcp 127\.0\.0\.1:<port>: bind: address already in use"$/);
    });
  });
});
