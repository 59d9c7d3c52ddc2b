// Differential tests, headers: HPUB/HMSG framing, header stripping for
// subscribers that did not negotiate headers, HPUB argument errors, and the
// no-responders 503 status message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { differentialScenario } from '../helpers/diff.js';
import { CLOSES, CONNECT, CONNECT_HEADERS, flush, hmsg, hpub, msg, PING, PONG, pub, runner, session } from '../helpers/proto.js';
import { startBoth, type ServerPair } from '../helpers/servers.js';

let servers: ServerPair | undefined;
before(async () => {
  servers = await startBoth();
});
after(async () => {
  await servers?.stop();
});
const run = runner(() => servers);

const H = 'NATS/1.0\r\nA: B\r\n\r\n'; // 18 bytes
const NO_RESP = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n';
const status503 = (reply: string, sid: string | number) => `HMSG ${reply} ${sid} 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`;

function pin(ref: { afterInfo: string; closed: boolean }, expected: string, closed: boolean): void {
  assert.equal(ref.afterInfo, expected);
  assert.equal(ref.closed, closed, closed ? 'reference closes the connection' : 'reference keeps the connection');
}

describe('HPUB / HMSG', () => {
  it('round trip without reply', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\n' + hpub('foo', H, 'hi') + PING]);
    pin(ref, 'HMSG foo 1 18 20\r\nNATS/1.0\r\nA: B\r\n\r\nhi\r\n' + PONG, false);
  });

  it('round trip with reply', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\n' + hpub('foo', 'NATS/1.0\r\n\r\n', 'hi', 'rep') + PING]);
    pin(ref, 'HMSG foo 1 rep 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' + PONG, false);
  });

  it('empty payload, several headers, multi-valued header', async (t) => {
    const headers = 'NATS/1.0\r\nA: 1\r\nA: 2\r\nB-Long-Name: x: y : z\r\n\r\n';
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\n' + hpub('foo', headers, '') + PING]);
    pin(ref, hmsg('foo', 1, headers, '') + PONG, false);
  });

  it('verbose: +OK for HPUB before the own HMSG', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":true,"pedantic":false,"headers":true}\r\nSUB foo 1\r\n' + hpub('foo', H, 'x') + PING]);
    pin(ref, '+OK\r\n+OK\r\n+OK\r\n' + hmsg('foo', 1, H, 'x') + PONG, false);
  });

  it('sizes are echoed as sent (leading zeros kept)', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 018 0020\r\n' + H + 'hi\r\n' + PING]);
    pin(ref, 'HMSG foo 1 018 0020\r\n' + H + 'hi\r\n' + PONG, false);
  });

  it('header size 0: delivered as a plain MSG', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\nHPUB foo r 0 0\r\n\r\n' + PING]);
    pin(ref, 'MSG foo 1 2\r\nhi\r\nMSG foo 1 r 0\r\n\r\n' + PONG, false);
  });

  it('header bytes are not validated', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 2 2\r\nhi\r\n' + PING]);
    pin(ref, 'HMSG foo 1 2 2\r\nhi\r\n' + PONG, false);
  });

  it('lowercase hpub, tabs', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nhpub\tfoo\t12\t14\r\nNATS/1.0\r\n\r\nhi\r\n' + PING]);
    pin(ref, 'HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' + PONG, false);
  });

  it('PUB to a headers-capable subscriber stays a MSG', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\n' + pub('foo', 'hi') + PING]);
    pin(ref, msg('foo', 1, 'hi') + PONG, false);
  });
});

describe('HPUB errors', () => {
  it('HPUB without headers negotiated (no "headers" field) → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\n' + hpub('foo', 'NATS/1.0\r\n\r\n', 'hi') + PING], { ...CLOSES });
    pin(ref, '', true);
  });

  it('HPUB with headers:false → silent close', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"headers":false}\r\n' + hpub('foo', 'NATS/1.0\r\n\r\n', 'hi') + PING], { ...CLOSES });
    pin(ref, '', true);
  });

  it('HPUB before CONNECT → silent close', async (t) => {
    const { ref } = await run(t, [hpub('foo', 'NATS/1.0\r\n\r\n', 'hi') + PING], { ...CLOSES });
    pin(ref, '', true);
  });

  const cases: [string, string][] = [
    ['header size larger than total size', 'HPUB foo 14 12\r\n'],
    ['missing total size', 'HPUB foo 12\r\n'],
    ['too many args', 'HPUB foo a b 1 2\r\n'],
    ['negative header size', 'HPUB foo -1 2\r\n'],
    ['non-numeric total size', 'HPUB foo 2 x\r\n'],
    ['no args', 'HPUB \r\n'],
  ];
  for (const [name, line] of cases) {
    it(`${name} → silent close`, async (t) => {
      const { ref } = await run(t, [CONNECT_HEADERS + line + 'NATS/1.0\r\n\r\nhi\r\nPING\r\n'], { ...CLOSES });
      pin(ref, '', true);
    });
  }

  it('payload longer than the total size → -ERR Unknown Protocol Operation + close', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 12 13\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'], { ...CLOSES });
    pin(ref, "-ERR 'Unknown Protocol Operation'\r\n", true);
  });

  it('HPUB split at a miscounted header size still delivers by total size', async (t) => {
    // hdr size 10 cuts "NATS/1.0\r\n" off from the blank line: the server does not check
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB foo 1\r\nHPUB foo 10 14\r\nNATS/1.0\r\n\r\nhi\r\n' + PING]);
    pin(ref, 'HMSG foo 1 10 14\r\nNATS/1.0\r\n\r\nhi\r\n' + PONG, false);
  });
});

describe('header stripping for subscribers without headers', () => {
  it('HPUB delivered as MSG with the payload only (with and without reply)', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const noHdr = await session(server.port, 'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n');
        const absent = await session(server.port, CONNECT);
        const withHdr = await session(server.port, CONNECT_HEADERS);
        const publisher = await session(server.port, CONNECT_HEADERS);
        for (const c of [noHdr, absent, withHdr]) await flush(c, 'SUB foo 1\r\n');
        const pubOut = await flush(publisher, hpub('foo', H, 'hi') + hpub('foo', H, '', 'r') + hpub('foo', 'NATS/1.0\r\n\r\n', 'payload', 'r2'));
        const out = { pubOut, noHdr: await flush(noHdr), absent: await flush(absent), withHdr: await flush(withHdr) };
        for (const c of [noHdr, absent, withHdr, publisher]) c.close();
        return out;
      },
      { servers },
    );
    assert.equal(ref.pubOut, '');
    const stripped = msg('foo', 1, 'hi') + msg('foo', 1, '', 'r') + msg('foo', 1, 'payload', 'r2');
    assert.equal(ref.noHdr, stripped);
    assert.equal(ref.absent, stripped);
    assert.equal(ref.withHdr, hmsg('foo', 1, H, 'hi') + hmsg('foo', 1, H, '', 'r') + hmsg('foo', 1, 'NATS/1.0\r\n\r\n', 'payload', 'r2'));
  });
});

describe('no responders', () => {
  it('PUB with reply and no subscriber → 503 HMSG on the reply subscription', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r 1\r\nPUB foo r 2\r\nhi\r\n' + PING]);
    pin(ref, status503('r', 1) + PONG, false);
  });

  it('HPUB with reply and no subscriber → 503', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB _INBOX.abc 7\r\n' + hpub('foo', 'NATS/1.0\r\n\r\n', 'hi', '_INBOX.abc') + PING]);
    pin(ref, status503('_INBOX.abc', 7) + PONG, false);
  });

  it('the reply subscription may be a wildcard; the 503 names the reply subject', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB _INBOX.> 3\r\n' + pub('foo', 'x', '_INBOX.a.b') + PING]);
    pin(ref, status503('_INBOX.a.b', 3) + PONG, false);
  });

  it('with two own subscriptions matching the reply, the first in sublist order gets it', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r.* 1\r\nSUB r.x 2\r\n' + pub('foo', 'x', 'r.x') + PING]);
    pin(ref, status503('r.x', 2) + PONG, false);
  });

  it('verbose: +OK then the 503', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":true,"pedantic":false,"headers":true,"no_responders":true}\r\nSUB r 1\r\n' + pub('foo', 'hi', 'r') + PING]);
    pin(ref, '+OK\r\n+OK\r\n+OK\r\n' + status503('r', 1) + PONG, false);
  });

  it('no reply subject → nothing', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r 1\r\n' + pub('foo', 'hi') + PING]);
    pin(ref, PONG, false);
  });

  it('no own subscription for the reply → nothing', async (t) => {
    const { ref } = await run(t, [NO_RESP + pub('foo', 'hi', 'r') + PING]);
    pin(ref, PONG, false);
  });

  it('a subscriber exists → delivered, no 503', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r 1\r\nSUB foo 2\r\n' + pub('foo', 'hi', 'r') + PING]);
    pin(ref, msg('foo', 2, 'hi', 'r') + PONG, false);
  });

  it('a queue subscriber counts as a responder', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r 1\r\nSUB foo q 2\r\n' + pub('foo', 'hi', 'r') + PING]);
    pin(ref, msg('foo', 2, 'hi', 'r') + PONG, false);
  });

  it('after the only responder unsubscribes → 503', async (t) => {
    const { ref } = await run(t, [NO_RESP + 'SUB r 1\r\nSUB foo 2\r\nUNSUB 2\r\n' + pub('foo', 'hi', 'r') + PING]);
    pin(ref, status503('r', 1) + PONG, false);
  });

  it('without no_responders in CONNECT → nothing', async (t) => {
    const { ref } = await run(t, [CONNECT_HEADERS + 'SUB r 1\r\n' + pub('foo', 'hi', 'r') + PING]);
    pin(ref, PONG, false);
  });

  it('responder on another connection → no 503; requester gets the reply', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const responder = await session(server.port, CONNECT);
        const requester = await session(server.port, NO_RESP);
        await flush(responder, 'SUB svc 1\r\n');
        const reqOut1 = await flush(requester, 'SUB _INBOX.1 5\r\n' + pub('svc', 'q', '_INBOX.1'));
        const respIn = await flush(responder);
        await flush(responder, pub('_INBOX.1', 'answer'));
        const reqOut2 = await flush(requester);
        await flush(responder, 'UNSUB 1\r\n');
        const reqOut3 = await flush(requester, pub('svc', 'q2', '_INBOX.1'));
        responder.close();
        requester.close();
        return { reqOut1, respIn, reqOut2, reqOut3 };
      },
      { servers },
    );
    assert.deepEqual(ref, {
      reqOut1: '',
      respIn: msg('svc', 1, 'q', '_INBOX.1'),
      reqOut2: msg('_INBOX.1', 5, 'answer'),
      reqOut3: status503('_INBOX.1', 5),
    });
  });
});
