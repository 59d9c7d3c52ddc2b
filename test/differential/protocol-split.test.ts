// Differential tests, framing across TCP reads: every op sent one byte per
// write, splits at CR/LF boundaries and inside payloads, large payloads and
// long pipelines. The transcript must not depend on how the bytes arrive.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countOps, parseServerStream } from '../helpers/mask.js';
import { CLOSES, bytewise, CONNECT, CONNECT_HEADERS, hmsg, hpub, msg, PING, PONG, pub, runner, UNKNOWN_OP } from '../helpers/proto.js';
import { startBoth, type ServerPair } from '../helpers/servers.js';

let servers: ServerPair | undefined;
before(async () => {
  servers = await startBoth();
});
after(async () => {
  await servers?.stop();
});
const run = runner(() => servers);

function pin(ref: { afterInfo: string; closed: boolean }, expected: string, closed: boolean): void {
  assert.equal(ref.afterInfo, expected);
  assert.equal(ref.closed, closed, closed ? 'reference closes the connection' : 'reference keeps the connection');
}

/** deterministic split of `s` into chunks of 1..maxLen bytes (seeded LCG) */
function randomSplit(s: string | Buffer, seed: number, maxLen: number): Buffer[] {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const out: Buffer[] = [];
  let x = seed >>> 0;
  let i = 0;
  while (i < b.length) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const n = 1 + (x % maxLen);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('one byte per write', () => {
  it('CONNECT, SUB, PUB with reply, UNSUB, PING', async (t) => {
    const bytes = CONNECT + 'SUB foo 1\r\n' + pub('foo', 'hello', 'r') + 'UNSUB 1\r\n' + pub('foo', 'x') + PING;
    const { ref } = await run(t, bytewise(bytes), { delayMs: 2 });
    pin(ref, msg('foo', 1, 'hello', 'r') + PONG, false);
  });

  it('HPUB with headers', async (t) => {
    const bytes = CONNECT_HEADERS + 'SUB foo 1\r\n' + hpub('foo', 'NATS/1.0\r\nK: V\r\n\r\n', 'body', 'r') + PING;
    const { ref } = await run(t, bytewise(bytes), { delayMs: 2 });
    pin(ref, hmsg('foo', 1, 'NATS/1.0\r\nK: V\r\n\r\n', 'body', 'r') + PONG, false);
  });

  it('verbose CONNECT and a queue SUB', async (t) => {
    const bytes = 'CONNECT {"verbose":true,"pedantic":false}\r\nSUB foo q 1\r\n' + pub('foo', 'x') + PING;
    const { ref } = await run(t, bytewise(bytes), { delayMs: 2 });
    pin(ref, '+OK\r\n+OK\r\n+OK\r\n' + msg('foo', 1, 'x') + PONG, false);
  });

  it('an unknown op still fails at the same byte', async (t) => {
    const { ref } = await run(t, bytewise(CONNECT + 'SUB foo 1\r\nPUBX\r\n'), { delayMs: 2, ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('a payload longer than announced still fails', async (t) => {
    const { ref } = await run(t, bytewise(CONNECT + 'SUB foo 1\r\nPUB foo 3\r\nabcd\r\n'), { delayMs: 2, ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('\\n-only control lines', async (t) => {
    const { ref } = await run(t, bytewise('CONNECT {"verbose":false}\nSUB foo 1\nPUB foo 2\nhi\r\nPING\n'), { delayMs: 2 });
    pin(ref, msg('foo', 1, 'hi') + PONG, false);
  });
});

describe('split points', () => {
  it('between \\r and \\n of a control line and of a payload', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r', '\nPUB foo 2\r', '\nhi\r', '\nPING\r', '\n'], { delayMs: 20 });
    pin(ref, msg('foo', 1, 'hi') + PONG, false);
  });

  it('inside the verb and inside the size', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nP', 'UB foo 1', '2\r\nhello', ' world!\r\nPING\r\n'], { delayMs: 20 });
    pin(ref, msg('foo', 1, 'hello world!') + PONG, false);
  });

  it('HPUB split between headers and payload', async (t) => {
    const h = 'NATS/1.0\r\nA: B\r\n\r\n';
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 18 20\r\nNATS/1.0\r\n', 'A: B\r\n\r\n', 'hi\r\nPING\r\n'], { delayMs: 20 });
    pin(ref, hmsg('foo', 1, h, 'hi') + PONG, false);
  });

  it('seeded random splits of a mixed stream give the same transcript as one write', async (t) => {
    const stream =
      CONNECT_HEADERS +
      'SUB a.* 1\r\nSUB a.> 2\r\nSUB b q 3\r\n' +
      pub('a.x', 'one') +
      hpub('a.y.z', 'NATS/1.0\r\nX: 1\r\n\r\n', 'two', 'rr') +
      pub('b', 'three', 'r') +
      'UNSUB 2 1\r\n' +
      pub('a.q', 'four') +
      pub('a.q.q', 'five') +
      PING;
    const expected =
      msg('a.x', 2, 'one') +
      msg('a.x', 1, 'one') +
      hmsg('a.y.z', 2, 'NATS/1.0\r\nX: 1\r\n\r\n', 'two', 'rr') +
      msg('b', 3, 'three', 'r') +
      msg('a.q', 1, 'four') +
      PONG;
    const whole = await run(t, [stream]);
    pin(whole.ref, expected, false);
    for (const seed of [1, 7, 42]) {
      const { ref } = await run(t, randomSplit(stream, seed, 9), { delayMs: 1 });
      pin(ref, expected, false);
    }
  });
});

describe('large payloads and pipelines', () => {
  it('a 300 KB payload in one write', async (t) => {
    const payload = Buffer.alloc(300 * 1024, 'x');
    payload.write('start', 0);
    payload.write('end', payload.length - 3);
    const frame = Buffer.concat([Buffer.from(CONNECT + `SUB big 1\r\nPUB big ${payload.length}\r\n`), payload, Buffer.from('\r\n' + PING)]);
    const { ref } = await run(t, [frame], { quietMs: 200 });
    const frames = parseServerStream(ref.data);
    assert.deepEqual(
      frames.map((f) => f.op),
      ['INFO', 'MSG', 'PONG'],
    );
    assert.ok(frames[1]?.op === 'MSG' && frames[1].payload.equals(payload));
    assert.equal(ref.closed, false);
  });

  it('a 300 KB payload in random chunks of up to 8 KB', async (t) => {
    const payload = Buffer.alloc(300 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const frame = Buffer.concat([Buffer.from(CONNECT + `SUB big 1\r\nPUB big ${payload.length}\r\n`), payload, Buffer.from('\r\n' + PING)]);
    const { ref } = await run(t, randomSplit(frame, 3, 8192), { delayMs: 1, quietMs: 200 });
    const frames = parseServerStream(ref.data);
    assert.deepEqual(
      frames.map((f) => f.op),
      ['INFO', 'MSG', 'PONG'],
    );
    assert.ok(frames[1]?.op === 'MSG' && frames[1].payload.equals(payload));
  });

  it('1000 PUBs pipelined in one write arrive in order', async (t) => {
    let body = '';
    let expected = '';
    for (let i = 0; i < 1000; i++) {
      body += pub('p', `m${i}`);
      expected += msg('p', 1, `m${i}`);
    }
    const { ref } = await run(t, [CONNECT + 'SUB p 1\r\n' + body + PING], { quietMs: 200 });
    pin(ref, expected + PONG, false);
    assert.equal(countOps(ref.data).MSG, 1000);
  });

  it('an incomplete 10000-byte payload swallows the next PUB → -ERR after the good messages (nats-server TestIncompletePubArg)', async (t) => {
    const head = 'PUB example 10000\r\n';
    const good = 'A'.repeat(10000) + '\r\n';
    const bad = 'B'.repeat(3371);
    const bad2 = 'C'.repeat(10000) + '\r\n';
    const { ref } = await run(t, [CONNECT + 'SUB example 1\r\n' + head + good + head + good + head + bad + head + bad2], { quietMs: 300 });
    assert.deepEqual(
      parseServerStream(ref.data).map((f) => f.op),
      ['INFO', 'MSG', 'MSG', '-ERR'],
    );
    assert.ok(ref.afterInfo.endsWith(UNKNOWN_OP));
    assert.equal(ref.closed, true);
  });

  it('a payload of exactly the default max_payload (1 MB)', async (t) => {
    const payload = Buffer.alloc(1024 * 1024, 'z');
    const frame = Buffer.concat([Buffer.from(CONNECT + `SUB big 1\r\nPUB big ${payload.length}\r\n`), payload, Buffer.from('\r\n' + PING)]);
    const { ref } = await run(t, [frame], { quietMs: 300 });
    assert.deepEqual(
      parseServerStream(ref.data).map((f) => f.op),
      ['INFO', 'MSG', 'PONG'],
    );
  });

  it('one byte over the default max_payload → -ERR Maximum Payload Violation + close', async (t) => {
    const { ref } = await run(t, [CONNECT + `PUB big ${1024 * 1024 + 1}\r\n`], { ...CLOSES });
    pin(ref, "-ERR 'Maximum Payload Violation'\r\n", true);
  });
});

// server/parser.go: when a PUB/HPUB's payload (or its CRLF) does not end in
// the read its control line ended in, clonePubArg runs processPub again and
// the pedantic check's -ERR comes twice (finding F3; tsnats reproduces it
// through ProtocolHandler.onMsgSpans, off the whole-frame fast path).
describe('pedantic -ERR repeated when the payload spans reads (F3)', () => {
  const PEDANTIC = 'CONNECT {"verbose":false,"pedantic":true}\r\n';
  const ERR = "-ERR 'Invalid Publish Subject'\r\n";
  const cases: [string, string[], string][] = [
    ['payload cut', [PEDANTIC + 'PUB foo..bar 5\r\nhel', 'lo\r\nPING\r\n'], ERR + ERR + PONG],
    ['CRLF cut', [PEDANTIC + 'PUB foo..bar 5\r\nhello', '\r\nPING\r\n'], ERR + ERR + PONG],
    ['read ends with the control line', [PEDANTIC + 'PUB foo..bar 5\r\n', 'hello\r\nPING\r\n'], ERR + ERR + PONG],
    ['control line itself split, then the payload', [PEDANTIC + 'PUB foo..', 'bar 5\r\nhel', 'lo\r\nPING\r\n'], ERR + ERR + PONG],
    ['whole frame in one read: once', [PEDANTIC + 'PUB foo..bar 5\r\nhello\r\n', 'PING\r\n'], ERR + PONG],
    ['HPUB headers cut', [PEDANTIC.replace('}', ',"headers":true}') + 'HPUB foo.* 12 14\r\nNATS/1.0\r\n', '\r\nhi\r\nPING\r\n'], ERR + ERR + PONG],
    ['verbose: +OK once, after the message', ['CONNECT {"verbose":true,"pedantic":true}\r\nPUB foo.> 1\r\n', 'a\r\nPING\r\n'], '+OK\r\n' + ERR + ERR + '+OK\r\n' + PONG],
    ['a valid subject: nothing repeated', [PEDANTIC + 'SUB foo 1\r\nPUB foo 5\r\nhel', 'lo\r\nPING\r\n'], msg('foo', 1, 'hello') + PONG],
  ];
  for (const [name, chunks, expected] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, chunks, { delayMs: 50 });
      pin(ref, expected, false);
    });
  }
  it('one byte per write', async (t) => {
    const { ref } = await run(t, [PEDANTIC, ...bytewise('PUB foo..bar 2\r\nhi\r\nPING\r\n')], { delayMs: 2 });
    pin(ref, ERR + ERR + PONG, false);
  });
});

// Found by the differential fuzzer's split lane (seed 470467456): when the
// byte after the payload is already in the read and is not CR, the
// reference fails there, before it would keep the frame for the next read,
// so the pedantic -ERR is not repeated.
describe('a bad payload end in the same read: no repeated pedantic -ERR', () => {
  const found: [string, number[]][] = [
    ['5055422020202a20350d0a5d2336470d0a535542202a2e78207120310d0a50756220782e612e6120330d0a7350750d0a50494e470d0a', [17, 46, 36]],
    ['434f4e4e454354207b226e616d65223a22615c75303065395c75643830305c2278227d0d0a50554220612e2a2e206261722e666f6f20390d0a7e7c02a80a3935a930507d64540d0a7075622020612e2a20666f6f2e626150494e470d0a', [67]],
    ['434f4e4e454354207b7d0d0a505542096261722e692020300d0a0d0a505542202e78203e2e612e3e20360d0ac02a397b7c626e38590d0a4850554220666f6f2e2a203e2e612031322031340a4e0d0a4850554220666f6f2e2a203e2e612031322031340a4e4154532f312e300d0a0d0a68690d0a50494e470d0a', [65, 98, 51]],
  ];
  for (const [hex, cuts] of found) {
    it(`${hex.slice(0, 24)}… cut at ${cuts.join(',')}`, async (t) => {
      const input = Buffer.from(hex, 'hex');
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks = points.map((c, k) => input.subarray(k === 0 ? 0 : points[k - 1], c));
      chunks.push(input.subarray(points[points.length - 1]));
      const { ref } = await run(t, chunks, { delayMs: 50, ...CLOSES });
      assert.equal(ref.afterInfo.split("-ERR 'Invalid Publish Subject'").length - 1, 1);
    });
  }
});
