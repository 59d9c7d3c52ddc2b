// Worker half of the config fuzzer (test/fuzz/conf.fuzz.test.ts): runs the
// property in a worker thread so that the main thread can notice a hang
// (a synchronous infinite loop cannot be timed out from its own thread).
// The input under test is published in shared memory before each call; the
// main thread reads it back when the worker stops making progress.
//
// Loaded as a plain module (e.g. by the test runner) it does nothing.

import { parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConf } from '../../src/config/conf.js';
import { ConfigError, applyConf, loadConfigFile, validateOptions } from '../../src/config/load.js';
import { defaultOptions } from '../../src/config/options.js';
import { mergeFlags, parseFlags } from '../../src/cli/flags.js';
import { anyConf, FUZZ_ENV } from './conf-gen.js';

export interface ConfWorkerData {
  confFuzz: true;
  numRuns: number;
  seed: number;
  /** Int32Array over it: [0] inputs started, [1] byte length of the current input; bytes from offset 8 */
  shared: SharedArrayBuffer;
}

export interface ConfWorkerResult {
  inputs: number;
  parsed: number;
  configErrors: number;
  /** set when the property failed: the counterexample and the unexpected error */
  failure?: string;
}

function runCampaign(d: ConfWorkerData): ConfWorkerResult {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-conffuzz-'));
  const file = join(dir, 'fuzz.conf');
  writeFileSync(join(dir, 'inc.conf'), 'max_payload: 1024\n');
  writeFileSync(join(dir, 'loop.conf'), 'include loop.conf\n');
  const counter = new Int32Array(d.shared, 0, 2);
  const bytes = new Uint8Array(d.shared, 8);
  const enc = new TextEncoder();
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(FUZZ_ENV)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  const res: ConfWorkerResult = { inputs: 0, parsed: 0, configErrors: 0 };
  try {
    const out = fc.check(
      fc.property(anyConf, (text) => {
        const b = enc.encode(text);
        const n = Math.min(b.length, bytes.length);
        bytes.set(b.subarray(0, n));
        Atomics.store(counter, 1, n);
        Atomics.add(counter, 0, 1);
        res.inputs++;
        // 1. the text parser alone
        try {
          parseConf(text, { file, env: FUZZ_ENV });
          res.parsed++;
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          res.configErrors++;
        }
        // 2. the whole load path the executable takes: file, options, command line, validation
        writeFileSync(file, text);
        try {
          const { options } = loadConfigFile(file);
          const merged = mergeFlags(options, parseFlags(['-c', file]));
          validateOptions(merged);
          applyConf(parseConf(text, { file, env: FUZZ_ENV }), defaultOptions(), file);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: d.numRuns, seed: d.seed },
    );
    if (out.failed) {
      const ce = out.counterexample ? JSON.stringify(out.counterexample[0]) : '(none)';
      res.failure = `seed ${d.seed}, path ${out.counterexamplePath}: input ${ce}\n${out.errorInstance instanceof Error ? out.errorInstance.stack : String(out.errorInstance)}`;
    }
  } finally {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

const data = workerData as Partial<ConfWorkerData> | null;
if (parentPort && data && data.confFuzz === true) {
  parentPort.postMessage(runCampaign(data as ConfWorkerData));
}
