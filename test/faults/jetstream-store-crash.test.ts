// The file store under kill -9 and power loss: every sequence a flush
// callback acknowledged is back intact after a reopen, nothing is invented,
// numbering continues after the last stored sequence.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStore } from '../../src/jetstream/store/file.js';
import { CRASH_LIMIT, CRASH_SIZED, crashCfg, crashLimitCfg, crashPayload, crashSizedCfg, crashSizedPayload, crashSubject } from './store-crash-child.js';
import type { StoreConfig } from '../../src/jetstream/store/types.js';
import { sleep } from './util.js';

const child = join(dirname(fileURLToPath(import.meta.url)), 'store-crash-child.js');
const root = fs.mkdtempSync(join(tmpdir(), 'tsnats-crash-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Round {
  acked: number;
  deleted: number[];
  asked: number[];
}

/** runs the child until a random moment after its first ack, then kill -9 */
async function crashRound(dir: string, mode: string): Promise<Round> {
  const p = spawn(process.execPath, [child, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let firstAck = false;
  p.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    if (!firstAck && /^A /m.test(text)) firstAck = true;
  });
  const exited = new Promise<void>((res) => p.on('exit', () => res()));
  const t0 = Date.now();
  while (!firstAck && Date.now() - t0 < 10_000) await sleep(5);
  assert.ok(firstAck, 'child never acknowledged anything');
  await sleep(10 + Math.random() * 150);
  p.kill('SIGKILL');
  await exited;
  const r: Round = { acked: 0, deleted: [], asked: [] };
  // only whole lines count: a line cut by the kill was not printed
  for (const line of text.split('\n').slice(0, -1)) {
    const [k, v] = line.split(' ');
    if (k === 'A') r.acked = Math.max(r.acked, Number(v));
    else if (k === 'D') r.deleted.push(Number(v));
    else if (k === 'R') r.asked.push(Number(v));
    else if (k === 'E') assert.fail(`child write error: ${line}`);
  }
  return r;
}

/** everything present is what the child stored; every acked seq is there */
function verify(s: FileStore, acked: number, deleted: Set<number>, maybe: Set<number>): void {
  const st = s.state();
  assert.ok(st.lastSeq >= acked, `last ${st.lastSeq} < acked ${acked}`);
  for (let seq = 1; seq <= acked; seq++) {
    const m = s.loadMsg(seq);
    if (deleted.has(seq)) {
      assert.equal(m, null, `acked removal of ${seq} undone`);
      continue;
    }
    if (maybe.has(seq)) continue;
    assert.ok(m, `acked seq ${seq} lost (acked up to ${acked})`);
  }
  assertIntact(s);
}

/** every message present is the one the child stored under its sequence, and the count agrees */
function assertIntact(s: FileStore, payload = crashPayload): void {
  let count = 0;
  for (let m = s.loadNextMsg('', 1); m !== null; m = s.loadNextMsg('', m.seq + 1)) {
    assert.equal(m.subject, crashSubject(m.seq), `subject of ${m.seq}`);
    assert.equal(m.data.toString(), payload(m.seq), `payload of ${m.seq}`);
    count++;
  }
  assert.equal(count, s.state().msgs);
}

/**
 * Rounds of kill -9 on a stream at max_msgs `limit`: after each reopen the
 * newest `limit` sequences up to the last acked one are there, intact.
 */
async function limitRounds(mode: string, cfg: StoreConfig, limit: number, blockSize: number | undefined, payload: (seq: number) => string): Promise<{ acked: number; dir: string }> {
  const dir = join(root, mode);
  let acked = 0;
  for (let round = 0; round < 6; round++) {
    const r = await crashRound(dir, mode);
    acked = Math.max(acked, r.acked);
    const s = await FileStore.open(cfg, { dir, blockSize });
    const st = s.state();
    assert.ok(st.lastSeq >= acked, `last ${st.lastSeq} < acked ${acked}`);
    assert.ok(st.msgs <= limit, `${st.msgs} messages kept`);
    // what the limit keeps: the newest `limit` sequences
    for (let seq = Math.max(1, st.lastSeq - limit + 1); seq <= acked; seq++) assert.ok(s.loadMsg(seq), `acked seq ${seq} lost (last ${st.lastSeq})`);
    assertIntact(s, payload);
    await s.stop();
  }
  return { acked, dir };
}

describe('file store crash safety', () => {
  it('kill -9 at random moments loses nothing acknowledged', async () => {
    const dir = join(root, 'kill');
    const deleted = new Set<number>();
    const maybe = new Set<number>();
    let acked = 0;
    for (let round = 0; round < 10; round++) {
      const r = await crashRound(dir, round % 2 === 0 ? 'always' : 'interval');
      acked = Math.max(acked, r.acked);
      for (const d of r.deleted) deleted.add(d);
      for (const a of r.asked) if (!r.deleted.includes(a)) maybe.add(a);
      const s = await FileStore.open(crashCfg, { dir, blockSize: 16 * 1024 });
      verify(s, acked, deleted, maybe);
      // numbering continues
      const next = s.state().lastSeq + 1;
      assert.equal(s.storeMsg(crashSubject(next), null, Buffer.from(crashPayload(next)))[0], next);
      await new Promise<void>((res, rej) => s.flush((e) => (e ? rej(e) : res())));
      acked = next;
      await s.stop();
    }
    assert.ok(acked > 10);
  });

  it('a stream at max_msgs (first blocks removed, their buffers reused): kill -9 loses nothing acknowledged that the limit keeps', async () => {
    const { acked } = await limitRounds('limit', crashLimitCfg, CRASH_LIMIT, 16 * 1024, crashPayload);
    // many blocks went through the limit
    assert.ok(acked > 4 * CRASH_LIMIT, `only ${acked} acknowledged`);
  });

  it('blocks sized to a stream at max_msgs, on paged buffers: kill -9 loses nothing acknowledged that the limit keeps', async () => {
    const { acked, dir } = await limitRounds('sized', crashSizedCfg, CRASH_SIZED, undefined, crashSizedPayload);
    // the limit removed whole blocks, and those were sized to the stream (~1.2 MiB held: 1 MiB blocks, not 4)
    assert.ok(acked > 3 * CRASH_SIZED, `only ${acked} acknowledged`);
    const blocks = fs.readdirSync(join(dir, 'msgs')).filter((f) => f.endsWith('.blk'));
    assert.ok(Math.min(...blocks.map((f) => parseInt(f, 10))) > 1, `block 1 still there: ${blocks}`);
    for (const f of blocks) assert.ok(fs.statSync(join(dir, 'msgs', f)).size <= 1024 * 1024 + 4096, `${f} over 1 MiB`);
  });

  it('syncing always, a power cut back to the synced bytes loses nothing acknowledged', async () => {
    for (let round = 0; round < 2; round++) {
      const dir = join(root, `power${round}`);
      const s = await FileStore.open(crashCfg, { dir, blockSize: 8 * 1024, syncInterval: 'always' });
      let acked = 0;
      let stop = false;
      const step = (): void => {
        if (stop) return;
        if (s.state().lastSeq - acked > 2000) {
          // the disk is slow: wait for it rather than pile up memory
          setTimeout(step, 5);
          return;
        }
        let last = 0;
        for (let i = 0; i < 1 + Math.floor(Math.random() * 30); i++) {
          const seq = s.state().lastSeq + 1;
          last = s.storeMsg(crashSubject(seq), null, Buffer.from(crashPayload(seq)))[0];
        }
        s.flush((e) => {
          if (!e) acked = Math.max(acked, last);
        });
        setImmediate(step);
      };
      step();
      const t0 = Date.now();
      while (acked === 0 && Date.now() - t0 < 10_000) await sleep(5);
      await sleep(20 + Math.random() * 200);
      // the power goes: only synced bytes survive (writes in flight are lost)
      const ackedAtCut = acked;
      const snap = join(root, `power${round}-after`);
      fs.mkdirSync(join(snap, 'msgs'), { recursive: true });
      for (const [path, synced] of s.syncedSizes()) {
        const fd = fs.openSync(path, 'r');
        const buf = Buffer.alloc(synced);
        fs.readSync(fd, buf, 0, synced, 0);
        fs.closeSync(fd);
        fs.writeFileSync(join(snap, 'msgs', path.split('/').pop()!), buf);
      }
      stop = true;
      await s.stop();
      assert.ok(ackedAtCut > 0, 'nothing was acknowledged before the cut');
      const r = await FileStore.open(crashCfg, { dir: snap, blockSize: 8 * 1024 });
      verify(r, ackedAtCut, new Set(), new Set());
      await r.stop();
    }
  });
});
