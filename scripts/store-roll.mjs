#!/usr/bin/env node
// In-process file store at a limit (BENCHMARKS.md, "Session 10"): stores
// N messages of 128 B on 16 subjects into a stream with max_msgs 20,000 and
// the default 4 MiB blocks, so that blocks keep filling at the tail while
// the limit removes them at the head, flushing every 200 messages as a
// steady publisher's batches would. Prints CPU per stored message and the
// peak of ArrayBuffer memory (sampled at each flush). Build first.
//
//   node scripts/store-roll.mjs [N (400000)] [dist root (this checkout)]
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const N = Number(process.argv[2] ?? 400000);
const root = resolve(process.argv[3] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const { FileStore } = await import(pathToFileURL(join(root, 'dist/src/jetstream/store/file.js')).href);
const { storeConfig, flushed } = await import(pathToFileURL(join(root, 'dist/test/helpers/store.js')).href);

const dir = fs.mkdtempSync(join(tmpdir(), 'tsnats-store-roll-'));
try {
  const f = await FileStore.open(storeConfig({ name: 'R', maxMsgs: 20000 }), { dir });
  const body = Buffer.alloc(128, 120);
  const t0 = process.cpuUsage();
  let peakAb = 0;
  for (let i = 0; i < N; i++) {
    f.storeMsg(`s.${i % 16}`, null, body);
    if (i % 200 === 199) {
      await flushed(f);
      peakAb = Math.max(peakAb, process.memoryUsage().arrayBuffers);
    }
  }
  await flushed(f);
  const c = process.cpuUsage(t0);
  console.log(JSON.stringify({ msgs: N, nsPerMsg: Math.round(((c.user + c.system) * 1000) / N), peakArrayBuffersMiB: Number((peakAb / 2 ** 20).toFixed(1)), rssMiB: Number((process.memoryUsage().rss / 2 ** 20).toFixed(1)) }));
  await f.stop();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
