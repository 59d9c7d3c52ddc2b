// Divergences between tsnats and the reference that the differential fuzzer
// knows about (not a test file): open findings reported to the server's
// owners (docs/reliability.md, "Open findings"; minimal inputs in
// test/fuzz/corpus/pending/) and intended differences
// (docs/intended-differences.md). A divergence matching none of these fails
// the fuzzer.

import type { Verdict } from './difflib.js';

export interface Known {
  id: string;
  /** where it is written down */
  doc: string;
  matches(input: Buffer, v: Verdict, lane: string): boolean;
}

export const KNOWN: Known[] = [
  // none open: F1-F8 of docs/reliability.md are fixed; when the fuzzer finds
  // a new divergence, it is written down there and recognised here until fixed
];
