// Input counts of the fuzzers. Each fuzzer reports how many inputs it ran;
// the count is printed (as a TAP comment line) and, when FUZZ_STATS_FILE is
// set, appended to that file as a JSON line — the figures in
// docs/reliability.md come from such runs.

import { appendFileSync } from 'node:fs';

export function recordCount(fuzzer: string, inputs: number, note = ''): void {
  const line = { fuzzer, inputs, note, runs: process.env.FUZZ_RUNS ?? '1', at: new Date().toISOString() };
  process.stdout.write(`fuzz ${fuzzer}: ${inputs} inputs${note ? ` (${note})` : ''}\n`);
  const file = process.env.FUZZ_STATS_FILE;
  if (file) appendFileSync(file, JSON.stringify(line) + '\n');
}
