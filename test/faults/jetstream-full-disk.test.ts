// A JetStream store that runs out of disk: publishes are refused with the
// reference's error, core NATS keeps serving, the JetStream API keeps
// answering, and every message acknowledged before is back after a restart.
//
// Three setups:
//  - an 8 MiB tmpfs as store_dir with the default limits: both servers size
//    JetStream's storage to 75 % of the free space and answer the publish
//    that would cross it with 503 / 10023 "insufficient resources" (the same
//    bytes from tsnats and nats-server 2.9.10);
//  - the same tmpfs with max_file_store far beyond it, so that the writes
//    really fail with ENOSPC: tsnats answers 503 / 10077 with the write
//    error (server/stream.go NewJSStreamStoreFailedError), and publishes
//    again once space returns. tsnats only: nats-server 2.9.10 deadlocks
//    there (filestore.go writeMsgRecord calls rebuildStateLocked, which
//    read-locks the block lock it already holds) and never answers again;
//  - an injected ENOSPC in an embedded server, which needs no mount and
//    always runs (the tmpfs tests skip where mount is not permitted).

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { Server } from '../../src/index.js';
import { fileIo } from '../../src/jetstream/store/file.js';

const td = new TextDecoder();
const PAYLOAD = 16 * 1024;

const root = mkdtempSync(join(tmpdir(), 'tsnats-full-disk-'));
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(root, { recursive: true, force: true });
});

/** an 8 MiB tmpfs, or null where mounting is not permitted */
function tmpfs(name: string, size = '8m'): string | null {
  const dir = join(root, name);
  spawnSync('mkdir', ['-p', dir]);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  mounts.push(dir);
  return dir;
}

function payload(i: number): Uint8Array {
  const b = new Uint8Array(PAYLOAD);
  b.fill(97 + (i % 26));
  b.set(new TextEncoder().encode(`msg-${i}-`));
  return b;
}

interface Fill {
  /** stream sequence -> index of the payload acked there */
  acked: Map<number, number>;
  /** raw answers to the refused publishes */
  refused: string[];
  /** payload indexes of the refused publishes */
  refusedIdx: number[];
}

function msgIdHeader(i: number) {
  const h = headers();
  h.set('Nats-Msg-Id', `m-${i}`);
  return h;
}

/** publishes 16 KiB messages one by one until `extra` more have been refused after the first refusal */
async function fill(nc: NatsConnection, subject: string, max = 4000, extra = 3, withIds = false): Promise<Fill> {
  const acked = new Map<number, number>();
  const refused: string[] = [];
  const refusedIdx: number[] = [];
  for (let i = 0; i < max && refused.length <= extra; i++) {
    const m = await nc.request(subject, payload(i), { timeout: 10_000, ...(withIds ? { headers: msgIdHeader(i) } : {}) });
    const text = td.decode(m.data);
    const j = JSON.parse(text) as { seq?: number; error?: unknown };
    // a publish may be acked after a refusal (a failed batch frees what it wrote)
    if (j.error !== undefined) {
      refused.push(text);
      refusedIdx.push(i);
    } else acked.set(j.seq!, i);
  }
  return { acked, refused, refusedIdx };
}

async function coreServes(nc: NatsConnection): Promise<void> {
  const got: string[] = [];
  const sub = nc.subscribe('core.check', { callback: (_e, m) => void got.push(m.string()) });
  for (let i = 0; i < 100; i++) nc.publish('core.check', `c${i}`);
  await nc.flush();
  const t0 = Date.now();
  while (got.length < 100 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  sub.unsubscribe();
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `c${i}`), 'core NATS stopped serving');
}

/** every acked sequence holds its payload */
async function verifyAcked(nc: NatsConnection, stream: string, acked: Map<number, number>): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const si = await jsm.streams.info(stream);
  assert.ok(si.state.messages >= acked.size, `${si.state.messages} messages after restart, ${acked.size} were acked`);
  const seqs = [...acked.keys()];
  for (let i = 0; i < seqs.length; i += 64) {
    const part = seqs.slice(i, i + 64);
    const got = await Promise.all(part.map((seq) => jsm.streams.getMessage(stream, { seq })));
    part.forEach((seq, k) => {
      const m = got[k];
      assert.ok(m !== null, `acked seq ${seq} lost`);
      assert.deepEqual(m.data, payload(acked.get(seq)!), `acked seq ${seq} changed`);
    });
  }
}

async function createStream(nc: NatsConnection, name: string, subject: string): Promise<void> {
  const m = await nc.request(`$JS.API.STREAM.CREATE.${name}`, JSON.stringify({ name, subjects: [subject], storage: 'file' }), { timeout: 10_000 });
  assert.match(td.decode(m.data), /"did_create":true/);
}

describe('a JetStream store on a full disk', () => {
  it('default limits on a small tmpfs: the reference\'s "insufficient resources", core serves, nothing acked lost after restart', async (t) => {
    const answers: Record<string, string> = {};
    for (const kind of ['reference', 'tsnats'] as ServerKind[]) {
      const dir = tmpfs(`default-${kind}`);
      if (dir === null) return t.skip('mount -t tmpfs is not permitted here; the injected-error test covers the write path');
      let srv: RunningServer = await startServer(kind, ['-js', '-sd', dir]);
      let nc = await connect({ servers: srv.url, reconnect: false });
      try {
        await createStream(nc, 'FULL', 'full');
        const f = await fill(nc, 'full');
        assert.ok(f.acked.size > 100, `${kind}: only ${f.acked.size} acked`);
        assert.equal(new Set(f.refused).size, 1, `${kind}: refusals differ: ${f.refused.join(' | ')}`);
        answers[kind] = f.refused[0]!;
        await coreServes(nc);
        // the JetStream API still answers
        const si = await (await jetstreamManager(nc)).streams.info('FULL');
        assert.equal(si.state.messages, f.acked.size, `${kind}: stored count`);
        await nc.close();
        await srv.stop();
        srv = await startServer(kind, ['-js', '-sd', dir]);
        nc = await connect({ servers: srv.url, reconnect: false });
        await verifyAcked(nc, 'FULL', f.acked);
      } finally {
        await nc.close().catch(() => {});
        await srv.stop();
      }
    }
    assert.equal(answers.tsnats, answers.reference);
    assert.equal(answers.reference, '{"error":{"code":503,"err_code":10023,"description":"insufficient resources"},"stream":"FULL","seq":0}');
  });

  it('max_file_store beyond a small tmpfs: writes fail with ENOSPC, publishes get the storage error, nothing acked lost, publishing resumes with space', async (t) => {
    const dir = tmpfs('enospc');
    if (dir === null) return t.skip('mount -t tmpfs is not permitted here; the injected-error test covers the write path');
    const conf = join(root, 'enospc.conf');
    writeFileSync(conf, `jetstream { store_dir: "${dir}", max_file_store: 1GB }\n`);
    let srv = await startServer('tsnats', ['-c', conf]);
    let nc = await connect({ servers: srv.url, reconnect: false });
    try {
      await createStream(nc, 'FULL', 'full');
      const f = await fill(nc, 'full');
      assert.ok(f.acked.size > 100, `only ${f.acked.size} acked`);
      for (const r of f.refused) {
        const j = JSON.parse(r) as { error: { code: number; err_code: number; description: string }; stream: string; seq: number };
        assert.equal(j.error.code, 503, r);
        assert.equal(j.error.err_code, 10077, r);
        assert.match(j.error.description, /no space left on device/, r);
        assert.equal(j.stream, 'FULL');
        assert.equal(j.seq, 0);
      }
      assert.match(srv.stderr(), /\[ERR\] JetStream failed to store a msg on stream '\$G > FULL': .*no space left on device/);
      await coreServes(nc);
      const jsm = await jetstreamManager(nc);
      assert.equal((await jsm.streams.info('FULL')).state.messages, f.acked.size, 'stored count is not the acked count (an acked message dropped, or a refused one stored)');
      // space returns: the next publish is stored right after the acked ones
      assert.equal(spawnSync('mount', ['-o', 'remount,size=16m', dir]).status, 0, 'remount');
      const last = Math.max(...f.acked.keys());
      const m = await nc.request('full', payload(100_000), { timeout: 10_000 });
      const j = JSON.parse(td.decode(m.data)) as { seq?: number; error?: unknown };
      assert.equal(j.error, undefined, td.decode(m.data));
      assert.equal(j.seq, last + 1);
      f.acked.set(j.seq!, 100_000);
      await nc.close();
      await srv.stop();
      srv = await startServer('tsnats', ['-c', conf]);
      nc = await connect({ servers: srv.url, reconnect: false });
      await verifyAcked(nc, 'FULL', f.acked);
      assert.equal((await (await jetstreamManager(nc)).streams.info('FULL')).state.last_seq, last + 1);
    } finally {
      await nc.close().catch(() => {});
      await srv.stop();
    }
  });

  it('injected ENOSPC (embedded server): the storage error, core serves, nothing acked lost after restart', async () => {
    const dir = mkdtempSync(join(root, 'inject-'));
    const opts = { host: '127.0.0.1', port: -1, jetstream: true, storeDir: dir, jetstreamMaxStore: 1 << 30 };
    let server = new Server(opts as never);
    await server.start();
    let nc = await connect({ servers: server.clientURL(), reconnect: false });
    const origWrite = fileIo.write;
    const origWriteSync = fileIo.writeSync;
    try {
      await createStream(nc, 'FULL', 'full');
      // the "disk" takes 4 MiB more, then every write fails as on a full file system
      let budget = 4 << 20;
      const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      fileIo.write = ((fd: number, buf: Buffer, off: number, len: number, pos: number, cb: (err: NodeJS.ErrnoException | null, n: number) => void) => {
        if (len > budget) return process.nextTick(cb, enospc(), 0);
        budget -= len;
        return origWrite(fd, buf, off, len, pos, cb);
      }) as typeof fileIo.write;
      fileIo.writeSync = ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
        if (len > budget) throw enospc();
        budget -= len;
        return origWriteSync(fd, buf, off, len, pos);
      }) as typeof fileIo.writeSync;
      const f = await fill(nc, 'full', 4000, 3, true);
      assert.ok(f.acked.size > 100, `only ${f.acked.size} acked`);
      for (const r of f.refused) assert.match(r, /^\{"error":\{"code":503,"err_code":10077,"description":"[^"]*no space left on device[^"]*"\},"stream":"FULL","seq":0\}$/);
      await coreServes(nc);
      const jsm = await jetstreamManager(nc);
      assert.equal((await jsm.streams.info('FULL')).state.messages, f.acked.size, 'stored count is not the acked count (an acked message dropped, or a refused one stored)');
      fileIo.write = origWrite;
      fileIo.writeSync = origWriteSync;
      // the refused publishes retried with their Nats-Msg-Id are stored, not
      // answered as duplicates of messages that were never written
      for (const i of f.refusedIdx) {
        const m = await nc.request('full', payload(i), { timeout: 10_000, headers: msgIdHeader(i) });
        const j = JSON.parse(td.decode(m.data)) as { seq?: number; duplicate?: boolean; error?: unknown };
        assert.equal(j.error, undefined, td.decode(m.data));
        assert.equal(j.duplicate, undefined, `retry of m-${i} answered as a duplicate: ${td.decode(m.data)}`);
        f.acked.set(j.seq!, i);
      }
      await nc.close();
      await server.shutdown();
      server = new Server(opts as never);
      await server.start();
      nc = await connect({ servers: server.clientURL(), reconnect: false });
      await verifyAcked(nc, 'FULL', f.acked);
      // numbering continues after the acked messages
      const last = Math.max(...f.acked.keys());
      const m = await nc.request('full', payload(1), { timeout: 10_000 });
      assert.equal((JSON.parse(td.decode(m.data)) as { seq: number }).seq, last + 1, td.decode(m.data));
    } finally {
      fileIo.write = origWrite;
      fileIo.writeSync = origWriteSync;
      await nc.close().catch(() => {});
      await server.shutdown();
    }
  });
});
