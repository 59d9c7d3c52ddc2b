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

const PEDANTIC_ERR = "-ERR 'Invalid Publish Subject'\r\n";

export const KNOWN: Known[] = [
  {
    // Open finding F3: the reference repeats -ERR 'Invalid Publish Subject'
    // (pedantic) when a PUB/HPUB's payload or its CRLF is not complete in the
    // same read: parser.go clonePubArg re-runs processPub.
    id: 'F3 pedantic-err-repeated-on-split-payload',
    doc: 'docs/reliability.md#open-findings',
    matches: (_input, v) => {
      const ref = v.refs[0]!;
      // runs of the error collapsed to one on both sides: then the answers agree
      const collapse = (s: string) => s.replace(new RegExp(`(?:${PEDANTIC_ERR.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})+`, 'g'), PEDANTIC_ERR);
      return ref.closed === v.ts.closed && ref.canon.includes(PEDANTIC_ERR + PEDANTIC_ERR) && collapse(ref.canon) === collapse(v.ts.canon);
    },
  },
];
