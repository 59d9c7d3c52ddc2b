// Config fuzzing: grammar-shaped texts, mutated real configuration files,
// lexer soup and absurd nesting go through the conf parser and the whole
// load path the executable takes (file → options → command line →
// validation). Anything thrown must be a ConfigError, and no input may hang:
// the campaign runs in a worker thread (test/fuzz/conf.worker.ts) watched
// from here; a worker that stops making progress for HANG_MS is killed and
// the input it was on is reported.
//
// Default 3,000 inputs; FUZZ_RUNS=<n> multiplies, FUZZ_SEED=<n> replays.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { runs, seedFromEnv } from './gen.js';
import { recordCount } from './stats.js';
import type { ConfWorkerData, ConfWorkerResult } from './conf.worker.js';

/** no single input may take this long (generous: a loaded 2-core machine) */
const HANG_MS = 30_000;

it('config parser and loader: only ConfigError, never a hang', { timeout: 30 * 60_000 }, async (t) => {
  const seed = seedFromEnv();
  const numRuns = runs(3000);
  t.diagnostic(`seed ${seed} (FUZZ_SEED=${seed} to replay), ${numRuns} inputs`);
  const shared = new SharedArrayBuffer(8 + 256 * 1024);
  const counter = new Int32Array(shared, 0, 2);
  const data: ConfWorkerData = { confFuzz: true, numRuns, seed, shared };
  const worker = new Worker(fileURLToPath(new URL('./conf.worker.js', import.meta.url)), { workerData: data });
  let lastCount = -1;
  let lastChange = Date.now();
  const result = await new Promise<ConfWorkerResult | { hang: string }>((resolve, reject) => {
    const watch = setInterval(() => {
      const n = Atomics.load(counter, 0);
      if (n !== lastCount) {
        lastCount = n;
        lastChange = Date.now();
        return;
      }
      if (Date.now() - lastChange > HANG_MS) {
        clearInterval(watch);
        const len = Atomics.load(counter, 1);
        const text = new TextDecoder().decode(new Uint8Array(shared, 8, len).slice());
        void worker.terminate();
        resolve({ hang: text });
      }
    }, 500);
    worker.once('message', (m: ConfWorkerResult) => {
      clearInterval(watch);
      resolve(m);
    });
    worker.once('error', (e) => {
      clearInterval(watch);
      reject(e);
    });
  });
  if ('hang' in result) assert.fail(`config loading hung for ${HANG_MS} ms on input ${JSON.stringify(result.hang)} (seed ${seed})`);
  await worker.terminate();
  recordCount('config parser + loader', result.inputs, `${result.parsed} parsed, ${result.configErrors} ConfigError`);
  assert.equal(result.failure, undefined, result.failure);
  assert.equal(result.inputs, numRuns);
  // the generators must reach both outcomes
  assert.ok(result.parsed > numRuns / 10, `only ${result.parsed} inputs parsed`);
  assert.ok(result.configErrors > numRuns / 10, `only ${result.configErrors} inputs were rejected`);
});
