import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolParser, Op, ParseErrorKind, ParserKind, type ProtocolHandler } from '../../../src/protocol/parser.js';

const OPN: Record<number, string> = {
  [Op.PUB]: 'PUB', [Op.HPUB]: 'HPUB', [Op.SUB]: 'SUB', [Op.UNSUB]: 'UNSUB', [Op.CONNECT]: 'CONNECT',
  [Op.INFO]: 'INFO', [Op.ERR]: 'ERR', [Op.RMSG]: 'RMSG', [Op.HMSG]: 'HMSG', [Op.LMSG]: 'LMSG',
  [Op.RSUB]: 'RS+', [Op.RUNSUB]: 'RS-', [Op.LSUB]: 'LS+', [Op.LUNSUB]: 'LS-', [Op.ASUB]: 'A+', [Op.AUNSUB]: 'A-',
};

/** Records every event as a string; sizes come from the last number of the args. */
class Recorder implements ProtocolHandler {
  events: string[] = [];
  refStates: number[] = [];
  size = 0;
  noConnectOk = true;
  onNoConnect(): boolean {
    this.events.push('NOCONNECT');
    return this.noConnectOk;
  }
  onControl(op: Op, buf: Buffer, s: number, e: number): boolean {
    this.events.push(`${OPN[op]} [${buf.toString('latin1', s, e)}]`);
    return true;
  }
  onMsgArgs(op: Op, buf: Buffer, s: number, e: number): number {
    const arg = buf.toString('latin1', s, e);
    this.events.push(`${OPN[op]} [${arg}]`);
    const parts = arg.split(/[ \t]+/).filter(Boolean);
    const n = Number(parts[parts.length - 1]);
    if (!Number.isInteger(n) || n < 0) return -1;
    this.size = n;
    return n;
  }
  onMsg(buf: Buffer, s: number): boolean {
    this.events.push(`PAYLOAD [${buf.toString('latin1', s, s + this.size)}]`);
    return true;
  }
  fastPubs = 0;
  onPub(buf: Buffer, ls: number, le: number, _t: Int32Array, _n: number, size: number, p: number): boolean {
    this.fastPubs++;
    this.events.push(`PUB [${buf.toString('latin1', ls, le)}]`);
    this.size = size;
    return this.onMsg(buf, p);
  }
  onPing(): boolean {
    this.events.push('PING');
    return true;
  }
  onPong(): boolean {
    this.events.push('PONG');
    return true;
  }
  onParseError(kind: ParseErrorKind, snippet: string, argLen: number, refState: number): void {
    this.refStates.push(refState);
    this.events.push(kind === ParseErrorKind.UNKNOWN_OP ? `ERR_UNKNOWN ${snippet}` : `ERR_MCL ${argLen}`);
  }
}

function run(chunks: Buffer[], kind = ParserKind.CLIENT, mcl = 4096): string[] {
  const r = new Recorder();
  const p = new ProtocolParser(r, kind, mcl);
  for (const c of chunks) p.parse(c);
  return r.events;
}

function splits(input: string): Buffer[][] {
  const b = Buffer.from(input, 'latin1');
  const out: Buffer[][] = [[b]];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  out.push([...b].map((x) => Buffer.from([x])));
  return out;
}

/** Every split point, and byte by byte, gives the same events as one read. */
function assertSplitInvariant(input: string, kind = ParserKind.CLIENT, mcl = 4096): string[] {
  const whole = run([Buffer.from(input, 'latin1')], kind, mcl);
  for (const chunks of splits(input)) {
    // copy each chunk so that a parser keeping a view into an old chunk is caught
    const copies = chunks.map((c) => Buffer.from(c));
    const got = run(copies, kind, mcl);
    // reuse: overwrite the earlier chunks after parsing to catch stale references
    assert.deepEqual(got, whole, `split into ${chunks.map((c) => JSON.stringify(c.toString('latin1'))).join(' | ')}`);
  }
  return whole;
}

const FRAMES: Array<[string, string[]]> = [
  ['PUB foo 5\r\nhello\r\n', ['PUB [foo 5]', 'PAYLOAD [hello]']],
  ['PUB foo bar 5\r\nhello\r\n', ['PUB [foo bar 5]', 'PAYLOAD [hello]']],
  ['PUB foo 0\r\n\r\n', ['PUB [foo 0]', 'PAYLOAD []']],
  ['pub\tfoo\t 2\r\nhi\r\n', ['PUB [foo\t 2]', 'PAYLOAD [hi]']],
  ['HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', ['HPUB [foo 12 14]', 'PAYLOAD [NATS/1.0\r\n\r\nhi]']],
  ['SUB foo 1\r\n', ['SUB [foo 1]']],
  ['SUB foo q 1\n', ['SUB [foo q 1]']],
  ['UNSUB 1 5\r\n', ['UNSUB [1 5]']],
  ['CONNECT {"verbose":false}\r\n', ['CONNECT [{"verbose":false}]']],
  ['CONNECT{}\r\n', ['CONNECT [{}]']],
  ['INFO {}\r\n', ['INFO [{}]']],
  ['PING\r\n', ['PING']],
  ['PINGxyz junk\r\n', ['PING']],
  ['pong\r\n', ['PONG']],
  ['+OK\r\n', []],
  ['-ERR \'boom\'\r\n', ["ERR ['boom']"]],
  ['PUB a 1\r\nx\r\nPUB b 2\r\nyy\r\nPING\r\n', ['PUB [a 1]', 'PAYLOAD [x]', 'PUB [b 2]', 'PAYLOAD [yy]', 'PING']],
  ['PUB a 10\r\n0123\r\n6789\r\n', ['PUB [a 10]', 'PAYLOAD [0123\r\n6789]']],
];

test('every frame kind parses identically at every split point and byte by byte', () => {
  for (const [input, want] of FRAMES) {
    assert.deepEqual(assertSplitInvariant(input), want, JSON.stringify(input));
  }
});

test('route verbs are parse errors for clients and frames for routes', () => {
  assert.match(run([Buffer.from('RS+ foo 1\r\n')])[0], /^ERR_UNKNOWN/);
  assert.deepEqual(assertSplitInvariant('RS+ $G foo 1\r\n', ParserKind.ROUTER), ['RS+ [$G foo 1]']);
  assert.deepEqual(assertSplitInvariant('RS- $G foo\r\n', ParserKind.ROUTER), ['RS- [$G foo]']);
  assert.deepEqual(assertSplitInvariant('LS+ $G foo\r\n', ParserKind.ROUTER), ['LS+ [$G foo]']);
  assert.deepEqual(assertSplitInvariant('RMSG $G foo 2\r\nhi\r\n', ParserKind.ROUTER), ['RMSG [$G foo 2]', 'PAYLOAD [hi]']);
  assert.deepEqual(assertSplitInvariant('HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', ParserKind.ROUTER), [
    'HMSG [$G foo 12 14]',
    'PAYLOAD [NATS/1.0\r\n\r\nhi]',
  ]);
  assert.deepEqual(assertSplitInvariant('A+ foo\r\nAu bar\r\n', ParserKind.ROUTER), ['A+ [foo]', 'A- [bar]']);
});

test('bad verbs stop the parser with an unknown-op error', () => {
  for (const bad of ['PUBX\r\n', 'PU\r\n', 'XYZ\r\n', 'UNSUB\r\n', 'MSG foo 1 2\r\n', '-ERR\r\n', '+O\r\n', 'SUBfoo 1\r\n']) {
    const ev = run([Buffer.from(bad)]);
    assert.equal(ev.length, 1, bad);
    assert.match(ev[0], /^ERR_UNKNOWN /, bad);
  }
  // nothing after the error is parsed
  assert.deepEqual(run([Buffer.from('PING\r\nXX\r\nPING\r\n')]).length, 2);
});

test('payload must be followed by exactly CRLF', () => {
  const ev = run([Buffer.from('PUB foo 3\r\nabcd\r\n')]);
  assert.deepEqual(ev.slice(0, 1), ['PUB [foo 3]']);
  assert.match(ev[1], /^ERR_UNKNOWN "d/);
  for (const chunks of splits('PUB foo 2\r\nhi\nPING\r\n')) {
    const got = run(chunks.map((c) => Buffer.from(c)));
    assert.equal(got[0], 'PUB [foo 2]');
    assert.match(got[1], /^ERR_UNKNOWN/);
    assert.equal(got.length, 2);
  }
});

test('a CR inside a one-read control line drops only the last byte (server/parser.go)', () => {
  assert.deepEqual(run([Buffer.from('SUB foo\r 1\r\n')]), ['SUB [foo\r 1]']);
  assert.deepEqual(run([Buffer.from('SUB foo 1\n')]), ['SUB [foo 1]']);
});

test('the first byte after the verb spaces always starts the argument', () => {
  // "PUB \r\n" → argument "\r" then the line goes on to the next '\n'
  assert.deepEqual(run([Buffer.from('CONNECT\r\n')]), ['CONNECT [\r]']);
  assert.deepEqual(run([Buffer.from('SUB \nfoo 1\n')]), ['SUB [\nfoo 1]']);
});

test('max_control_line counts the argument, complete or still arriving', () => {
  const arg = 'a'.repeat(33) + ' 1';
  assert.deepEqual(run([Buffer.from(`SUB ${'a'.repeat(30)} 1\r\n`)], ParserKind.CLIENT, 32), [`SUB [${'a'.repeat(30)} 1]`]);
  // a line complete in one read reports a spill buffer of 0, as the reference's log does
  assert.deepEqual(run([Buffer.from(`SUB ${arg}\r\n`)], ParserKind.CLIENT, 32), ['ERR_MCL 0']);
  // incomplete line already over the limit
  assert.deepEqual(run([Buffer.from(`SUB ${arg}`)], ParserKind.CLIENT, 32), ['ERR_MCL 35']);
  // routes are not limited
  assert.deepEqual(run([Buffer.from(`RS+ ${'b'.repeat(100)}\r\n`)], ParserKind.ROUTER, 32), [`RS+ [${'b'.repeat(100)}]`]);
});

test('awaitingConnect asks the handler before any non-CONNECT op', () => {
  const r = new Recorder();
  r.noConnectOk = false;
  const p = new ProtocolParser(r);
  p.awaitingConnect = true;
  p.parse(Buffer.from('PING\r\n'));
  assert.deepEqual(r.events, ['NOCONNECT']);
  assert.equal(p.isStopped, true);
  const r2 = new Recorder();
  const p2 = new ProtocolParser(r2);
  p2.awaitingConnect = true;
  p2.parse(Buffer.from('CONNECT {}\r\n'));
  assert.deepEqual(r2.events, ['CONNECT [{}]']);
});

test('a large payload split across many reads arrives whole', () => {
  const payload = Buffer.alloc(200_000, 0x61);
  const frame = Buffer.concat([Buffer.from(`PUB big ${payload.length}\r\n`), payload, Buffer.from('\r\nPING\r\n')]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < frame.length; i += 7919) chunks.push(Buffer.from(frame.subarray(i, i + 7919)));
  const ev = run(chunks);
  assert.equal(ev.length, 3);
  assert.equal(ev[1], `PAYLOAD [${payload.toString('latin1')}]`);
  assert.equal(ev[2], 'PING');
});

test('a handler returning false stops parsing', () => {
  const r = new Recorder();
  r.onPing = () => {
    r.events.push('PING');
    return false;
  };
  const p = new ProtocolParser(r);
  p.parse(Buffer.from('PING\r\nPING\r\n'));
  assert.deepEqual(r.events, ['PING']);
});

test('errors carry server/parser.go state numbers', () => {
  const cases: Array<[string, number]> = [
    ['PUBX\r\n', 31], // OP_PUB
    ['PU\r\n', 30], // OP_PU
    ['XYZ\r\n', 0], // OP_START
    ['-ERR\r\n', 7], // OP_MINUS_ERR
    ['+O\r\n', 2], // OP_PLUS_O
    ['UNSUB\r\n', 63], // OP_UNSUB
    ['PUB foo 2\r\nhiX\r\n', 41], // MSG_END_R
  ];
  for (const [input, st] of cases) {
    const r = new Recorder();
    new ProtocolParser(r).parse(Buffer.from(input));
    assert.deepEqual(r.refStates, [st], input);
  }
  const r = new Recorder();
  new ProtocolParser(r, ParserKind.CLIENT, 8).parse(Buffer.from('SUB aaaaaaaaaaaa 1\r\n'));
  assert.deepEqual(r.refStates, [47]); // SUB_ARG
});

test('whole PUB frames take the onPub fast path, anything odd the state machine', () => {
  const r = new Recorder();
  new ProtocolParser(r).parse(Buffer.from('PUB a 1\r\nx\r\nPUB b r 2\r\nyy\r\npub\tc  0\r\n\r\n'));
  assert.equal(r.fastPubs, 3);
  assert.deepEqual(r.events, ['PUB [a 1]', 'PAYLOAD [x]', 'PUB [b r 2]', 'PAYLOAD [yy]', 'PUB [c  0]', 'PAYLOAD []']);
  for (const odd of ['PUB a 1\nx\r\n', 'PUB a\r 1\r\nx\r\n', 'PUB a b c 1\r\nx\r\n', 'PUB a 1\r\nxy\r\n']) {
    const o = new Recorder();
    new ProtocolParser(o).parse(Buffer.from(odd));
    assert.equal(o.fastPubs, 0, odd);
  }
});

test('a frame whose payload ends in a later read keeps its arguments when the read buffer is reused', () => {
  // The server reads every socket into one shared buffer: the handler still
  // reads the control line (subject, reply, sizes) when the payload completes.
  class LineAtPayload extends Recorder {
    line: { buf: Buffer; s: number; e: number } | null = null;
    override onMsgArgs(op: Op, buf: Buffer, s: number, e: number): number {
      this.line = { buf, s, e };
      return super.onMsgArgs(op, buf, s, e);
    }
    override onPub(buf: Buffer, ls: number, le: number, t: Int32Array, n: number, size: number, p: number): boolean {
      this.line = { buf, s: ls, e: le };
      return super.onPub(buf, ls, le, t, n, size, p);
    }
    override onMsg(buf: Buffer, s: number): boolean {
      const l = this.line!;
      this.events.push(`LINE [${l.buf.toString('latin1', l.s, l.e)}]`);
      return super.onMsg(buf, s);
    }
  }
  const wire = 'PUB foo.bar reply.to 11\r\nhello world\r\nHPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n';
  for (let cut = 1; cut < wire.length; cut++) {
    for (const kind of [ParserKind.CLIENT, ParserKind.ROUTER]) {
      const r = new LineAtPayload();
      const p = new ProtocolParser(r, kind);
      const shared = Buffer.alloc(wire.length);
      for (const part of [wire.slice(0, cut), wire.slice(cut)]) {
        shared.fill(0x58); // what the next read leaves in the buffer
        shared.write(part, 'latin1');
        p.parse(shared.subarray(0, part.length));
      }
      shared.fill(0x58);
      const payloads = r.events.filter((e) => e.startsWith('LINE'));
      assert.deepEqual(payloads, ['LINE [foo.bar reply.to 11]', 'LINE [h 12 14]'], `cut at ${cut}`);
    }
  }
});

test('RMSG lines in one read (the routes shortcut) parse as the state machine does at every split point', () => {
  const cases: Array<[string, string[]]> = [
    ['RMSG $G foo 2\r\nhi\r\n', ['RMSG [$G foo 2]', 'PAYLOAD [hi]']],
    ['rmsg\t \t$G foo bar 2\r\nhi\r\nRMSG $G x 0\r\n\r\n', ['RMSG [$G foo bar 2]', 'PAYLOAD [hi]', 'RMSG [$G x 0]', 'PAYLOAD []']],
    ['RmSg $G foo + r q 1\nx\r\n', ['RMSG [$G foo + r q 1]', 'PAYLOAD [x]']],
    ['RS+ $G foo\r\nRMSG $G foo 1\r\nx\r\n', ['RS+ [$G foo]', 'RMSG [$G foo 1]', 'PAYLOAD [x]']],
  ];
  for (const [input, want] of cases) assert.deepEqual(assertSplitInvariant(input, ParserKind.ROUTER), want, JSON.stringify(input));
  // errors: same events and server/parser.go states with or without the shortcut
  for (const [input, st] of [
    ['RMSGX $G foo 1\r\n', 68],
    ['RMSG$G foo 1\r\n', 68],
    ['RMSG $G foo 1\r\nxy\r\n', 41],
  ] as Array<[string, number]>) {
    const r = new Recorder();
    new ProtocolParser(r, ParserKind.ROUTER).parse(Buffer.from(input));
    assert.deepEqual(r.refStates, [st], input);
    for (const chunks of splits(input)) {
      const rs = new Recorder();
      const ps = new ProtocolParser(rs, ParserKind.ROUTER);
      for (const c of chunks) ps.parse(c);
      assert.deepEqual(rs.refStates, [st], input);
    }
  }
});

test('payloads that span reads arrive whole and intact while their buffers are reused', () => {
  const size = 20_000;
  const payload = (k: number): string => String.fromCharCode(0x41 + k).repeat(size);
  class Copy extends Recorder {
    got: string[] = [];
    override onMsg(buf: Buffer, s: number): boolean {
      this.got.push(buf.toString('latin1', s, s + this.size));
      return true;
    }
  }
  // two connections, their large payloads interleaved read by read
  const a = new Copy();
  const b = new Copy();
  const pa = new ProtocolParser(a, ParserKind.CLIENT);
  const pb = new ProtocolParser(b, ParserKind.ROUTER);
  const wa = Buffer.from(`PUB foo ${size}\r\n${payload(0)}\r\nPUB foo ${size}\r\n${payload(1)}\r\nPUB foo 3\r\nabc\r\n`, 'latin1');
  const wb = Buffer.from(`RMSG $G foo ${size}\r\n${payload(2)}\r\nRMSG $G foo ${size}\r\n${payload(3)}\r\n`, 'latin1');
  const read = Buffer.alloc(7000);
  for (let off = 0; off < Math.max(wa.length, wb.length); off += read.length) {
    for (const [p, w] of [[pa, wa], [pb, wb]] as Array<[ProtocolParser, Buffer]>) {
      if (off >= w.length) continue;
      const n = w.copy(read, 0, off, Math.min(w.length, off + read.length));
      p.parse(read.subarray(0, n));
      read.fill(0x58); // the next read overwrites the buffer
    }
  }
  assert.deepEqual(a.got, [payload(0), payload(1), 'abc']);
  assert.deepEqual(b.got, [payload(2), payload(3)]);
});
