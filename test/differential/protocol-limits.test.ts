// Differential tests, limits: max_payload, max_control_line, max_subscriptions,
// max_connections, stale connections (ping_interval/ping_max). Limits are set
// through a config file (`-c`) given to both servers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { differential, differentialScenario } from '../helpers/diff.js';
import { afterInfo, firstInfo, maskTranscript, parseServerStream } from '../helpers/mask.js';
import { CLOSES, CONNECT, CONNECT_HEADERS, CONNECT_VERBOSE, flush, hpub, msg, PONG, runner, session } from '../helpers/proto.js';
import { connect, sleep } from '../helpers/rawclient.js';
import { startBoth, writeConfig, type ServerPair } from '../helpers/servers.js';

function pin(ref: { afterInfo: string; closed: boolean }, expected: string, closed: boolean): void {
  assert.equal(ref.afterInfo, expected);
  assert.equal(ref.closed, closed, closed ? 'reference closes the connection' : 'reference keeps the connection');
}

const PING_LINE = 'PING\r\n';
const MAX_PAYLOAD = "-ERR 'Maximum Payload Violation'\r\n";
const MAX_CONTROL = "-ERR 'maximum control line exceeded'\r\n";

describe('max_payload: 8', () => {
  let servers: ServerPair | undefined;
  before(async () => {
    servers = await startBoth(['-c', writeConfig('max_payload: 8\n')]);
  });
  after(async () => {
    await servers?.stop();
  });
  const run = runner(() => servers);

  it('INFO advertises max_payload 8', async (t) => {
    const { ref } = await run(t, [], { quietMs: 200 });
    assert.equal(firstInfo(ref.data).max_payload, 8);
  });

  it('payload of exactly max_payload is delivered', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 8\r\n12345678\r\nPING\r\n']);
    pin(ref, msg('foo', 1, '12345678') + PONG, false);
  });

  it('one byte over → -ERR Maximum Payload Violation + close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 9\r\n123456789\r\nPING\r\n'], { ...CLOSES });
    pin(ref, MAX_PAYLOAD, true);
  });

  it('checked on the control line, before any payload arrives', async (t) => {
    const { ref } = await run(t, [CONNECT + 'PUB foo 9\r\n'], { ...CLOSES });
    pin(ref, MAX_PAYLOAD, true);
  });

  it('verbose: only the CONNECT +OK precedes the error', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'PUB foo 100\r\n'], { ...CLOSES });
    pin(ref, '+OK\r\n' + MAX_PAYLOAD, true);
  });

  it('HPUB: the total size (headers + payload) counts', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + hpub('foo', 'NATS/1.0\r\n\r\n', 'hi')], { ...CLOSES });
    pin(ref, MAX_PAYLOAD, true);
  });

  it('HPUB within the limit is delivered', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 4 8\r\nabcdefgh\r\nPING\r\n']);
    pin(ref, 'HMSG foo 1 4 8\r\nabcdefgh\r\n' + PONG, false);
  });

  it('log line', async (t) => {
    const { ref } = await run(t, [CONNECT + 'PUB foo 9\r\n'], { ...CLOSES, compareLogs: true });
    assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - maximum payload exceeded: 9 vs 8']);
  });
});

describe('max_control_line: 32', () => {
  let servers: ServerPair | undefined;
  before(async () => {
    servers = await startBoth(['-c', writeConfig('max_control_line: 32\n')]);
  });
  after(async () => {
    await servers?.stop();
  });
  const run = runner(() => servers);
  const a = (n: number) => 'a'.repeat(n);
  // CONNECT's JSON is itself subject to the limit: keep it under 32 bytes
  const SHORT_CONNECT = 'CONNECT {"verbose":false}\r\n';

  it('an argument of exactly 32 bytes is accepted (the verb does not count)', async (t) => {
    // "SUB " + 30 a + " 1" → argument is 32 bytes
    const { ref } = await run(t, [SHORT_CONNECT + `SUB ${a(30)} 1\r\nPING\r\n`]);
    pin(ref, PONG, false);
  });

  it('33 bytes → lowercase -ERR maximum control line exceeded + close', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `SUB ${a(31)} 1\r\nPING\r\n`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });

  it('PUB control line', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `PUB ${a(34)} 1\r\nx\r\n`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });

  it('an incomplete line already over the limit', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `SUB ${a(51)}`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });

  it('a long line split across writes', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `SUB ${a(30)}`, `${a(7)} 1\r\nPING\r\n`], { ...CLOSES, delayMs: 50 });
    pin(ref, MAX_CONTROL, true);
  });

  it('CONNECT JSON over the limit', async (t) => {
    const { ref } = await run(t, [`CONNECT {"verbose":false,"name":"${a(40)}"}\r\nPING\r\n`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });

  it('client -ERR argument over the limit', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `-ERR ${a(49)}\r\n`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });

  it('PING has no argument state: long junk after PING is not limited', async (t) => {
    const { ref } = await run(t, [`PING ${a(60)}\r\n`]);
    pin(ref, PONG, false);
  });

  it('log line', async (t) => {
    const { ref } = await run(t, [SHORT_CONNECT + `SUB ${a(31)} 1\r\n`], { ...CLOSES, compareLogs: true });
    assert.deepEqual(ref.log, [
      `[ERR] 127.0.0.1:<port> - cid:<cid> - maximum control line exceeded: State 47, max_control_line 32, Buffer len 0 (snip: "${a(31)} "...)`,
    ]);
  });
});

describe('default max_control_line (4096)', () => {
  let servers: ServerPair | undefined;
  before(async () => {
    servers = await startBoth();
  });
  after(async () => {
    await servers?.stop();
  });
  const run = runner(() => servers);
  const subj = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

  it('a 4096-byte argument is accepted', async (t) => {
    // argument = subject + " 1"
    const s = subj(4094);
    const { ref } = await run(t, [CONNECT + `SUB ${s} 1\r\nPUB ${s} 1\r\nx\r\nPING\r\n`]);
    pin(ref, msg(s, 1, 'x') + PONG, false);
  });

  it('a 4097-byte argument → -ERR + close', async (t) => {
    const { ref } = await run(t, [CONNECT + `SUB ${subj(4095)} 1\r\nPING\r\n`], { ...CLOSES });
    pin(ref, MAX_CONTROL, true);
  });
});

describe('max_subscriptions: 2', () => {
  let servers: ServerPair | undefined;
  before(async () => {
    servers = await startBoth(['-c', writeConfig('max_subscriptions: 2\n')]);
  });
  after(async () => {
    await servers?.stop();
  });
  const run = runner(() => servers);

  it('the third SUB → -ERR maximum subscriptions exceeded, connection stays', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n' + 'PUB c 1\r\nx\r\nPUB b 1\r\ny\r\nPING\r\n']);
    pin(ref, "-ERR 'maximum subscriptions exceeded'\r\n" + msg('b', 2, 'y') + PONG, false);
  });

  it('duplicates do not count, UNSUB frees a slot; verbose', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'SUB a 1\r\nSUB a 1\r\nSUB b 2\r\nUNSUB 1\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n']);
    pin(ref, '+OK\r\n'.repeat(6) + "-ERR 'maximum subscriptions exceeded'\r\n" + PONG, false);
  });
});

describe('max_connections: 1', () => {
  it('the second connection gets INFO, then -ERR maximum connections exceeded, then close', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const first = await session(server.port, CONNECT);
        const second = await connect(server.port);
        await second.readUntil("-ERR 'maximum connections exceeded'\r\n", 5000).catch(() => '');
        const secondClosed = await second.waitClosed(3000);
        const firstStill = await flush(first);
        first.close();
        // the slot frees once the server has processed the close: retry a bounded number of times
        let thirdAccepted = false;
        for (let i = 0; i < 50 && !thirdAccepted; i++) {
          const third = await connect(server.port);
          await third.send(CONNECT + PING_LINE);
          const got = await third.readUntil(PONG, 1000).catch(() => '');
          thirdAccepted = got.endsWith(PONG) && !got.includes('-ERR');
          third.close();
          if (!thirdAccepted) await sleep(100);
        }
        return {
          second: maskTranscript(second.received()),
          secondAfterInfo: afterInfo(second.received()),
          secondFrames: parseServerStream(second.received()).map((f) => f.op),
          secondClosed,
          firstStill,
          thirdAccepted,
        };
      },
      { config: 'max_connections: 1\n' },
    );
    assert.equal(ref.secondAfterInfo, "-ERR 'maximum connections exceeded'\r\n");
    assert.deepEqual(ref.secondFrames, ['INFO', '-ERR']);
    assert.equal(ref.secondClosed, true);
    assert.equal(ref.firstStill, '');
    assert.equal(ref.thirdAccepted, true);
  });
});

describe('stale connection (ping_interval 200ms)', () => {
  it('ping_max 2: PING, PING, -ERR Stale Connection, close', async (t) => {
    const { ref } = await differential(t, [CONNECT], {
      config: 'ping_interval: "200ms"\nping_max: 2\n',
      until: "-ERR 'Stale Connection'\r\n",
      untilTimeoutMs: 8000,
      quietMs: 200,
      keepServerPings: true,
    });
    pin(ref, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n", true);
  });

  it('ping_max 1: PING, -ERR Stale Connection, close (also without CONNECT)', async (t) => {
    const { ref } = await differential(t, [], {
      config: 'ping_interval: "200ms"\nping_max: 1\n',
      until: "-ERR 'Stale Connection'\r\n",
      untilTimeoutMs: 8000,
      quietMs: 200,
      keepServerPings: true,
    });
    pin(ref, "PING\r\n-ERR 'Stale Connection'\r\n", true);
  });

  it('unprompted PONGs do not count as answers (nats-server TestUnpromptedPong)', async (t) => {
    const { ref } = await differential(t, [CONNECT + PONG.repeat(50)], {
      config: 'ping_interval: "200ms"\nping_max: 2\n',
      until: "-ERR 'Stale Connection'\r\n",
      untilTimeoutMs: 8000,
      quietMs: 200,
      keepServerPings: true,
    });
    pin(ref, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n", true);
  });

  it('default interval: even an active client gets a first server PING soon after CONNECT', async (t) => {
    // the reference sends it min(ping_interval, 2 s) + 0–20 % after CONNECT because it has no RTT sample yet
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const c = await connect(server.port);
        await c.readUntil('\r\n');
        await c.send(CONNECT);
        let gotPing = false;
        const deadline = Date.now() + 8000;
        while (!gotPing && !c.isClosed && Date.now() < deadline) {
          await c.send('PUB keepalive 1\r\nx\r\n');
          gotPing = (await c.readUntil(PING_LINE, 200).catch(() => '')) !== '';
        }
        const rest = await flush(c);
        c.close();
        return { gotPing, rest };
      },
      {},
    );
    assert.deepEqual(ref, { gotPing: true, rest: '' });
  });

  it('a client that answers every PING stays connected', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const c = await session(server.port, CONNECT);
        const ops: string[] = [];
        const until = Date.now() + 1500;
        while (Date.now() < until && !c.isClosed) {
          const got = await c.readUntil('PING\r\n', 600).catch(() => '');
          if (got) {
            ops.push(...parseServerStream(got).map((f) => f.op));
            await c.send(PONG);
          }
        }
        // flush drops server PINGs that arrive before our PONG
        const tail = await flush(c);
        const closed = c.isClosed;
        c.close();
        return { closed, onlyPings: ops.every((o) => o === 'PING'), sawPing: ops.length > 0, tail };
      },
      { config: 'ping_interval: "200ms"\nping_max: 1\n' },
    );
    assert.deepEqual(ref, { closed: false, onlyPings: true, sawPing: true, tail: '' });
  });
});
