// Property-based fuzzing of the protocol parser (src/protocol/parser.ts):
// generated frames (PUB/HPUB/SUB/UNSUB/CONNECT/PING/…, route frames in ROUTER
// mode), byte-level mutations of them, and random split points.
//
//  1. parse() never throws, whatever the bytes and however they are split;
//  2. for inputs where every CR is followed by LF, the events are the same
//     whole and split at random points (with CR elsewhere in a control line
//     the reference itself depends on read boundaries: see the parser header);
//  3. after a stop (error or handler refusal) no further event is reported.
//
// Default: a few thousand inputs per property; FUZZ_RUNS=<n> multiplies.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolParser, Op, ParseErrorKind, ParserKind, type ProtocolHandler } from '../../src/protocol/parser.js';
import { clientFrame, crClean, fcParams, routeFrame, show, splitAt, streamArb } from './gen.js';
import { recordCount } from './stats.js';

const OPN: Record<number, string> = {
  [Op.PUB]: 'PUB', [Op.HPUB]: 'HPUB', [Op.SUB]: 'SUB', [Op.UNSUB]: 'UNSUB', [Op.CONNECT]: 'CONNECT',
  [Op.INFO]: 'INFO', [Op.ERR]: 'ERR', [Op.RMSG]: 'RMSG', [Op.HMSG]: 'HMSG', [Op.LMSG]: 'LMSG',
  [Op.RSUB]: 'RS+', [Op.RUNSUB]: 'RS-', [Op.LSUB]: 'LS+', [Op.LUNSUB]: 'LS-', [Op.ASUB]: 'A+', [Op.AUNSUB]: 'A-',
};

/** the largest payload the recorder accepts (a real handler checks max_payload) */
const MAX_SIZE = 1 << 16;

/**
 * Records events in a split-independent form: error snippets and spill
 * lengths depend on read boundaries (as in the reference's logs), so only the
 * error kind and the server/parser.go state are kept.
 */
class Recorder implements ProtocolHandler {
  events: string[] = [];
  size = 0;
  stoppedAt = -1;
  parser: ProtocolParser | null = null;
  /** refuse the Nth callback (-1: never), to exercise handler stops */
  refuseAt = -1;
  private calls = 0;
  private push(e: string): boolean {
    if (this.stoppedAt >= 0) this.events.push(`AFTER-STOP ${e}`);
    else this.events.push(e);
    this.calls++;
    if (this.calls === this.refuseAt) {
      this.stoppedAt = this.events.length;
      return false;
    }
    return true;
  }
  onNoConnect(): boolean {
    return this.push('NOCONNECT');
  }
  onControl(op: Op, buf: Buffer, s: number, e: number): boolean {
    if (op === Op.CONNECT && this.parser) this.parser.awaitingConnect = false;
    return this.push(`${OPN[op]} [${buf.toString('latin1', s, e)}]`);
  }
  onMsgArgs(op: Op, buf: Buffer, s: number, e: number): number {
    assert.ok(s >= 0 && s <= e && e <= buf.length, `arg range ${s}..${e} in ${buf.length}`);
    const arg = buf.toString('latin1', s, e);
    if (!this.push(`${OPN[op]} [${arg}]`)) return -1;
    const parts = arg.split(/[ \t]+/).filter(Boolean);
    const last = parts[parts.length - 1] ?? '';
    if (!/^\d{1,9}$/.test(last)) {
      this.stoppedAt = this.events.length;
      return -1;
    }
    const n = Number(last);
    if (n > MAX_SIZE) {
      this.stoppedAt = this.events.length;
      return -1;
    }
    this.size = n;
    return n;
  }
  onMsg(buf: Buffer, s: number): boolean {
    assert.ok(s + this.size <= buf.length, 'payload inside its buffer');
    return this.push(`PAYLOAD [${buf.toString('latin1', s, s + this.size)}]`);
  }
  onPub(buf: Buffer, ls: number, le: number, toks: Int32Array, n: number, size: number, p: number): boolean {
    // the fast path must hand out what the state machine would
    assert.ok(n === 2 || n === 3, `fast path token count ${n}`);
    assert.equal(buf.toString('latin1', toks[2 * n - 2], toks[2 * n - 1]), String(size).padStart(toks[2 * n - 1] - toks[2 * n - 2], '0'));
    if (!this.push(`PUB [${buf.toString('latin1', ls, le)}]`)) return false;
    if (size > MAX_SIZE) return false;
    this.size = size;
    return this.onMsg(buf, p);
  }
  onPing(): boolean {
    return this.push('PING');
  }
  onPong(): boolean {
    return this.push('PONG');
  }
  onParseError(kind: ParseErrorKind, snippet: string, argLen: number, refState: number): void {
    assert.equal(typeof snippet, 'string');
    assert.ok(argLen >= 0);
    this.push(kind === ParseErrorKind.UNKNOWN_OP ? `ERR_UNKNOWN state=${refState}` : `ERR_MCL state=${refState}`);
    this.stoppedAt = this.events.length;
  }
}

interface Setup {
  kind: ParserKind;
  mcl: number;
  awaitingConnect: boolean;
  refuseAt: number;
}

function run(chunks: Buffer[], s: Setup): string[] {
  const r = new Recorder();
  r.refuseAt = s.refuseAt;
  const p = new ProtocolParser(r, s.kind, s.mcl);
  r.parser = p;
  p.awaitingConnect = s.awaitingConnect;
  for (const c of chunks) {
    p.parse(c);
    // the parser may keep views of nothing it does not own: scribble over the chunk
    c.fill(0x5a);
  }
  // a second parse after a stop must do nothing
  if (p.isStopped) p.parse(Buffer.from('PING\r\n'));
  return r.events;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  kind: fc.constant(ParserKind.CLIENT),
  mcl: fc.constantFrom(4096, 4096, 64, 16),
  awaitingConnect: fc.boolean(),
  refuseAt: fc.oneof({ weight: 5, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
});
const routeSetupArb: fc.Arbitrary<Setup> = setupArb.map((s) => ({ ...s, kind: ParserKind.ROUTER, awaitingConnect: false }));
const splitsArb = fc.array(fc.nat(), { maxLength: 12 });

function checkInput(input: Buffer, setup: Setup, points: number[]): void {
  let whole: string[];
  let split: string[];
  try {
    whole = run([Buffer.from(input)], setup);
    split = run(splitAt(input, points), setup);
  } catch (e) {
    throw new Error(`parser threw on ${show(input)} (${JSON.stringify(setup)}): ${(e as Error).stack}`);
  }
  for (const ev of [whole, split]) {
    assert.ok(!ev.some((e) => e.startsWith('AFTER-STOP')), `event after stop: ${JSON.stringify(ev)} for ${show(input)}`);
  }
  // byte-by-byte is the extreme split
  const bytewise = run([...input].map((b) => Buffer.from([b])), setup);
  if (crClean(input)) {
    assert.deepEqual(split, whole, `split at ${JSON.stringify(points)} changed the events for ${show(input)}`);
    assert.deepEqual(bytewise, whole, `byte-by-byte changed the events for ${show(input)}`);
  }
}

describe('protocol parser fuzzing', () => {
  it('client mode: generated and mutated frames, random splits', () => {
    let n = 0;
    let clean = 0;
    fc.assert(
      fc.property(streamArb(clientFrame, 8, 4), setupArb, splitsArb, (input, setup, points) => {
        n++;
        if (crClean(input)) clean++;
        checkInput(input, setup, points);
      }),
      fcParams(20000),
    );
    recordCount('parser (client mode)', n, `${clean} CR-clean (split-invariance checked)`);
    // the generator must keep producing inputs in the split-invariance domain
    assert.ok(clean > n / 3, `only ${clean} of ${n} inputs were CR-clean`);
  });

  it('router mode: route frames, mutations, random splits', () => {
    let n = 0;
    fc.assert(
      fc.property(streamArb(routeFrame, 8, 4), routeSetupArb, splitsArb, (input, setup, points) => {
        n++;
        checkInput(input, setup, points);
      }),
      fcParams(8000),
    );
    recordCount('parser (router mode)', n);
  });

  it('arbitrary bytes never throw', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), setupArb, fc.boolean(), splitsArb, (bytes, setup, router, points) => {
        n++;
        const input = Buffer.from(bytes);
        checkInput(input, router ? { ...setup, kind: ParserKind.ROUTER, awaitingConnect: false } : setup, points);
      }),
      fcParams(10000),
    );
    recordCount('parser (arbitrary bytes)', n);
  });
});
