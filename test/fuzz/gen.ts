// Shared generators and settings for the fuzzers in test/fuzz (not a test
// file itself).
//
// Run counts: every fuzzer has a small default so that `npm test` stays fast;
// FUZZ_RUNS=<n> multiplies the default number of inputs (e.g. FUZZ_RUNS=100
// for a long campaign) and FUZZ_SEED=<n> replays one fast-check seed. On a
// failure fast-check prints the seed and the shrunk counterexample.

import fc from 'fast-check';

/** the FUZZ_RUNS multiplier (default 1) */
export function fuzzFactor(): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/** default run count scaled by FUZZ_RUNS */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * fuzzFactor()));
}

/** fast-check parameters: run count, an optional fixed seed, verbose counterexamples */
export function fcParams<T>(base: number): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
  return { numRuns: runs(base), ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}), endOnFailure: false };
}

/** Deterministic PRNG (mulberry32) for fuzzers that do not run under fast-check. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** the seed for a non-fast-check fuzzer: FUZZ_SEED or a fresh one (printed by the caller) */
export function seedFromEnv(): number {
  const s = Number(process.env.FUZZ_SEED);
  return Number.isFinite(s) && process.env.FUZZ_SEED !== undefined ? s >>> 0 : (Date.now() ^ (process.pid << 8)) >>> 0;
}

// ---------------------------------------------------------------------------
// Protocol frames (client → server), as latin1 strings

const tok = fc.constantFrom('foo', 'bar', 'a', 'b', 'x', '*', '>', '_INBOX', 'q', 'é', 'a*', '');
export const subjectArb = fc.array(tok, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
const sep = fc.constantFrom(' ', ' ', ' ', '\t', '  ', ' \t ');
export const eolArb = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n');
const sidArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 6 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('x', '0', '-1', '01', '99999999999') },
);
const payloadArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }) },
  { weight: 2, arbitrary: fc.constantFrom('', 'PING\r\n', '\r\n', 'hi', 'NATS/1.0\r\n\r\n', 'ab\ncd') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }) },
);
const sizeDelta = fc.oneof(
  { weight: 10, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) },
);
const weirdNumber = fc.constantFrom('-1', '+5', '0000000001', '000000002', 'abc', '2147483648', '1e3', '');

/** random upper/lower case for a verb */
const verbCase = (v: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(v) },
    { weight: 1, arbitrary: fc.constant(v.toLowerCase()) },
    { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: v.length, maxLength: v.length }).map((bs) => [...v].map((ch, i) => (bs[i] ? ch.toLowerCase() : ch)).join('')) },
  );

const optReply = fc.option(subjectArb, { nil: undefined, freq: 3 });

const pubFrame = fc
  .tuple(verbCase('PUB'), sep, subjectArb, optReply, sep, payloadArb, sizeDelta, eolArb, fc.option(weirdNumber, { freq: 12, nil: undefined }))
  .map(([v, s, subj, reply, s2, payload, d, eol, weird]) => {
    const size = weird ?? String(Math.max(0, payload.length + d));
    return `${v}${s}${subj}${reply !== undefined ? s2 + reply : ''}${s2}${size}${eol}${payload}\r\n`;
  });

const headerBlock = fc.oneof(
  fc.constant('NATS/1.0\r\n\r\n'),
  fc.constant('NATS/1.0\r\nA: B\r\n\r\n'),
  fc.constant('NATS/1.0 503\r\n\r\n'),
  fc.constant(''),
  fc.constant('xx'),
);
const hpubFrame = fc
  .tuple(verbCase('HPUB'), sep, subjectArb, optReply, headerBlock, payloadArb, sizeDelta, sizeDelta, eolArb)
  .map(([v, s, subj, reply, hdr, payload, d1, d2, eol]) => {
    const h = Math.max(0, hdr.length + d1);
    const t = Math.max(0, hdr.length + payload.length + d2);
    return `${v}${s}${subj}${reply !== undefined ? ' ' + reply : ''} ${h} ${t}${eol}${hdr}${payload}\r\n`;
  });

const queueArb = fc.option(fc.constantFrom('q', 'g1', 'q.x', 'q*'), { nil: undefined, freq: 4 });
const subFrame = fc
  .tuple(verbCase('SUB'), sep, subjectArb, queueArb, sidArb, eolArb)
  .map(([v, s, subj, q, sid, eol]) => `${v}${s}${subj}${q !== undefined ? ' ' + q : ''} ${sid}${eol}`);
const unsubFrame = fc
  .tuple(verbCase('UNSUB'), sep, sidArb, fc.option(fc.oneof(fc.integer({ min: 0, max: 3 }).map(String), weirdNumber), { nil: undefined, freq: 3 }), eolArb)
  .map(([v, s, sid, max, eol]) => `${v}${s}${sid}${max !== undefined ? ' ' + max : ''}${eol}`);

function utf8AsLatin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

const connectField = fc.oneof(
  fc.constantFrom(
    '"verbose":false',
    '"verbose":true',
    '"pedantic":false',
    '"pedantic":true',
    '"headers":true',
    '"headers":false',
    '"no_responders":true',
    '"echo":false',
    '"protocol":1',
    '"protocol":0',
    '"protocol":2',
    '"name":"n"',
    '"lang":"ts"',
    '"VERBOSE":false',
    '"Pedantic":false',
    '"verbose":1',
    '"verbose":"yes"',
    '"verbose":null',
    '"x":[1,{"y":2}]',
    '"headers":true,"headers":false',
    // what Go's encoding/json does differently from JSON.parse (src/protocol/connect.ts)
    '"protocol":1.0',
    '"protocol":1e0',
    '"protocol":-0',
    '"protocol":99999999999999999999',
    '"protocol":"1"',
    '"name":1',
    '"name":"a\\u00e9\\ud800\\"x"',
    '"\\u0076erbose":false',
    '"verbose":[]',
    '"import":{"allow":[1]}',
    '"export":{"deny":"x"}',
    '"import":{"allow":["a"]}',
    '"verbose":false,"verbose":null',
    // UTF-8 as latin1 text (inputs are built with Buffer.from(…, 'latin1')): ſ (U+017F) and K (U+212A) fold to s and k
    utf8AsLatin1('"verboſe":false'),
    utf8AsLatin1('"n\u212Aey":1'),
    utf8AsLatin1('"name":"é\u00a0"'),
  ),
);
export const connectJson = fc
  .array(connectField, { maxLength: 4 })
  .map((fs) => `{${fs.join(',')}}`);
/** CONNECT JSON without duplicate keys (duplicates are rarer in real clients; connectJson has them) */
export const connectJsonUnique = fc
  .uniqueArray(connectField, { maxLength: 4, selector: (f) => (/^"([^"]*)"/.exec(f)?.[1] ?? f).toLowerCase() })
  .map((fs) => `{${fs.filter((f) => !f.includes(',')).join(',')}}`);
const connectFrame = fc
  .tuple(verbCase('CONNECT'), fc.constantFrom(' ', '', '\t', '  '), fc.oneof({ weight: 8, arbitrary: connectJson }, { weight: 1, arbitrary: fc.constantFrom('null', '[1]', '{bad', '', '{}x', '"s"') }), eolArb)
  .map(([v, s, j, eol]) => `${v}${s}${j}${eol}`);

const simpleFrame = fc.oneof(
  fc.tuple(verbCase('PING'), fc.constantFrom('', '', 'X', ' foo'), eolArb).map(([v, x, e]) => `${v}${x}${e}`),
  fc.tuple(verbCase('PONG'), eolArb).map(([v, e]) => `${v}${e}`),
  fc.constantFrom('+OK\r\n', 'INFO {}\r\n', 'INFO {"connect_urls":["a:1"]}\r\n', "-ERR 'boom'\r\n", 'INFO bad\r\n'),
);

const junkFrame = fc.oneof(
  fc.constantFrom('MSG foo 1 2\r\nhi\r\n', 'XYZ\r\n', '\r\n', ' PING\r\n', 'PUBX\r\n', 'RS+ $G foo\r\n', 'SUBfoo 1\r\n', '+O\r\n'),
  fc.string({ maxLength: 6, unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }),
);

/** one client frame; `weights` lets callers tune the mix */
export const clientFrame: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: pubFrame },
  { weight: 2, arbitrary: hpubFrame },
  { weight: 5, arbitrary: subFrame },
  { weight: 2, arbitrary: unsubFrame },
  { weight: 2, arbitrary: connectFrame },
  { weight: 3, arbitrary: simpleFrame },
  { weight: 1, arbitrary: junkFrame },
);

/** route frames, for the parser in ROUTER mode */
export const routeFrame: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('RS+', 'RS-', 'LS+', 'LS-', 'rs+', 'A+', 'A-', 'Au'), subjectArb, queueArb, eolArb).map(([v, s, q, e]) => `${v} $G ${s}${q !== undefined ? ' ' + q + ' 1' : ''}${e}`),
  fc.tuple(fc.constantFrom('RMSG', 'LMSG', 'rmsg'), subjectArb, payloadArb, sizeDelta, eolArb).map(([v, s, p, d, e]) => `${v} $G ${s} ${Math.max(0, p.length + d)}${e}${p}\r\n`),
  fc.tuple(subjectArb, headerBlock, payloadArb, eolArb).map(([s, h, p, e]) => `HMSG $G ${s} ${h.length} ${h.length + p.length}${e}${h}${p}\r\n`),
  clientFrame,
);

// ---------------------------------------------------------------------------
// Mutations of a byte string

export type Mutation =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'set'; at: number; byte: number }
  | { k: 'insert'; at: number; bytes: number[] }
  | { k: 'delete'; at: number; n: number }
  | { k: 'dup'; at: number; n: number }
  | { k: 'truncate'; at: number };

const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x00, 0x2e, 0x2a, 0x3e, 0x30, 0x39, 0x7b, 0x7d, 0x22),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), byte: interestingByte }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(interestingByte, { minLength: 1, maxLength: 4 }) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
);

export function mutate(input: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    const len = b.length;
    const at = len === 0 ? 0 : m.at % (len + (m.k === 'insert' ? 1 : 0));
    switch (m.k) {
      case 'flip':
        if (len > 0) b[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (len > 0) b[at] = m.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(len, at + m.n))]);
        break;
      case 'dup':
        b = Buffer.concat([b.subarray(0, Math.min(len, at + m.n)), b.subarray(at, Math.min(len, at + m.n)), b.subarray(Math.min(len, at + m.n))]);
        break;
      case 'truncate':
        // keep at least half, so truncation does not dominate
        b = b.subarray(0, Math.max(at, len >> 1));
        break;
    }
  }
  return b;
}

/** a stream of frames, optionally mutated */
export function streamArb(frame: fc.Arbitrary<string>, maxFrames = 8, maxMutations = 3): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      fc.array(frame, { minLength: 1, maxLength: maxFrames }),
      fc.oneof({ weight: 2, arbitrary: fc.constant([] as Mutation[]) }, { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: maxMutations }) }),
    )
    .map(([frames, muts]) => mutate(Buffer.from(frames.join(''), 'latin1'), muts));
}

/** split points (sorted, distinct, inside the buffer) → chunks */
export function splitAt(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => (buf.length === 0 ? 0 : p % buf.length)))].filter((p) => p > 0).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(Buffer.from(buf.subarray(prev, c)));
    prev = c;
  }
  out.push(Buffer.from(buf.subarray(prev)));
  return out;
}

/** every CR is immediately followed by LF (the parser's documented split-invariance domain) */
export function crClean(buf: Buffer): boolean {
  for (let i = buf.indexOf(0x0d); i !== -1; i = buf.indexOf(0x0d, i + 1)) {
    if (buf[i + 1] !== 0x0a) return false;
  }
  return true;
}

/** printable description of bytes for failure messages */
export function show(buf: Buffer): string {
  return JSON.stringify(buf.toString('latin1'));
}
