// The store directory removed under a running server (an operator's rm -rf,
// a volume unmounted): tsnats and nats-server 2.9.10 both answer the
// publishes that need a new block file with 503 / 10077 and the OS error,
// log it, and keep serving everyone else. tsnats used to throw out of the
// store's flush (the process exited) or, when the throw came out of a
// publish, retry the write every turn of the event loop at full CPU.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startServer, type ServerKind } from '../helpers/servers.js';

const td = new TextDecoder();
const root = mkdtempSync(join(tmpdir(), 'tsnats-store-removed-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** user + system CPU of a process, in clock ticks (/proc/PID/stat utime, stime) */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
  describe(`${kind}: store directory removed while running`, () => {
    it('publishes get 503/10077 with the OS error, core and other clients keep working, no busy loop', async () => {
      const sd = join(root, kind);
      const srv = await startServer(kind, ['-js', '-sd', sd]);
      const nc = await connect({ port: srv.port });
      try {
        // blocks of 4 MiB (tsnats) and 8 MB (the reference's defaultLargeBlockSize)
        const add = await nc.request(
          '$JS.API.STREAM.CREATE.GONE',
          JSON.stringify({ name: 'GONE', subjects: ['gone.>'], storage: 'file' }),
          { timeout: 10_000 },
        );
        assert.equal(JSON.parse(td.decode(add.data)).error, undefined, td.decode(add.data));
        const body = new Uint8Array(16 * 1024).fill(120);
        for (let i = 0; i < 50; i++) {
          const a = JSON.parse(td.decode((await nc.request(`gone.${i}`, body, { timeout: 10_000 })).data));
          assert.equal(a.seq, i + 1);
        }
        rmSync(sd, { recursive: true, force: true });
        // publish until a new block is needed: every answer is an ack or the storage error
        let refused: { error: { code: number; err_code: number; description: string } } | null = null;
        for (let i = 50; i < 1500 && refused === null; i++) {
          const a = JSON.parse(td.decode((await nc.request(`gone.${i}`, body, { timeout: 10_000 })).data));
          if (a.error !== undefined) refused = a;
          else assert.ok(a.seq > 0);
        }
        assert.ok(refused !== null, 'no publish was refused after the store directory went');
        assert.equal(refused.error.code, 503);
        assert.equal(refused.error.err_code, 10077);
        // the first refusal names the block it could not create, in filestore.go's words
        assert.match(refused.error.description, /^Error creating msg block file \[""\]: open .*\/msgs\/\d+\.blk: no such file or directory$/);
        // everyone else is still served
        const other = await connect({ port: srv.port });
        const sub = other.subscribe('core.x', { max: 1, timeout: 10_000 });
        other.publish('core.x', 'still here');
        for await (const m of sub) assert.equal(m.string(), 'still here');
        const info = JSON.parse(td.decode((await other.request('$JS.API.INFO', '', { timeout: 10_000 })).data));
        assert.equal(info.streams, 1);
        await other.close();
        assert.match(srv.stderr(), /\[ERR\] JetStream failed to store a msg on stream '\$G > GONE': .*no such file or directory/);
        // 2.9.10 may then hang the publisher's connection for good (a lock
        // its store error path keeps, as with a full disk): what follows is
        // tsnats' own promise.
        if (kind === 'reference') return;
        const again = JSON.parse(td.decode((await nc.request('gone.again', body, { timeout: 10_000 })).data));
        assert.equal(again.error?.code, 503);
        // and nothing spins: an idle second costs little CPU
        const t0 = cpuTicks(srv.proc.pid!);
        await new Promise((r) => setTimeout(r, 1000));
        const used = cpuTicks(srv.proc.pid!) - t0;
        assert.ok(used < 50, `${used} ticks of CPU in an idle second`);
      } finally {
        await srv.stop('SIGKILL');
        await nc.close().catch(() => undefined);
      }
    });
  });
}
