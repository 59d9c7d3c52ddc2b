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

/** the fields of server.ClientOpts (server/client.go), lower case */
const CLIENT_OPTS = new Set([
  'echo', 'verbose', 'pedantic', 'tls_required', 'jwt', 'nkey', 'sig', 'auth_token', 'user', 'pass', 'name', 'lang',
  'version', 'protocol', 'account', 'new_account', 'headers', 'no_responders',
]);

/** the JSON texts of the CONNECT lines in an input (roughly: the rest of each line starting with "connect") */
function connectJsons(input: Buffer): string[] {
  return input
    .toString('latin1')
    .split('\n')
    .filter((l) => /^connect/i.test(l))
    .map((l) => l.slice(7));
}

/** the ClientOpts keys of one JSON text, in order, lower-cased (only top-level-looking "key": pairs) */
function optKeys(json: string): string[] {
  return [...json.matchAll(/"([^"\\]*)"\s*:/g)].map((m) => m[1]!.toLowerCase()).filter((k) => CLIENT_OPTS.has(k));
}

const PEDANTIC_ERR = "-ERR 'Invalid Publish Subject'\r\n";

export const KNOWN: Known[] = [
  {
    // Open finding F1: decodeConnect (src/client/client.ts) decodes with
    // JSON.parse, which keeps only the LAST of duplicate keys. encoding/json
    // applies every occurrence in order: a type error in any occurrence
    // fails the CONNECT (silent close), and a later null keeps the earlier value.
    id: 'F1 connect-duplicate-keys',
    doc: 'docs/reliability.md#open-findings',
    matches: (input) =>
      connectJsons(input).some((j) => {
        const ks = optKeys(j);
        return new Set(ks).size !== ks.length;
      }),
  },
  {
    // Open finding F2: "protocol" given as 1.0, 1e0, 1e100 …: encoding/json
    // refuses a non-integer literal for an int field (close); tsnats accepts
    // any number whose value is an integer.
    id: 'F2 connect-protocol-number-literal',
    doc: 'docs/reliability.md#open-findings',
    matches: (input) => connectJsons(input).some((j) => /"protocol"\s*:\s*-?\d+(\.\d*|[eE])/i.test(j)),
  },
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
