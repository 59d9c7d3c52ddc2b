// Differential tests, basic client protocol: INFO, CONNECT options, PING/PONG,
// PUB/SUB/UNSUB, wildcards, queue groups, echo. Each test sends the same bytes
// to tsnats and to the reference nats-server, asserts the masked transcripts
// and close state are equal, and pins the reference's exact bytes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { differentialScenario } from '../helpers/diff.js';
import { firstInfo, maskTranscript, parseServerStream } from '../helpers/mask.js';
import { CONNECT, CONNECT_VERBOSE, flush, msg, PING, PONG, pub, runner, session } from '../helpers/proto.js';
import { connect } from '../helpers/rawclient.js';
import { startBoth, type ServerPair } from '../helpers/servers.js';

let servers: ServerPair | undefined;
before(async () => {
  servers = await startBoth();
});
after(async () => {
  await servers?.stop();
});
const run = runner(() => servers);

describe('INFO', () => {
  it('is sent first, as `INFO {json} \\r\\n`, with the reference field set and order', async (t) => {
    const { ref } = await run(t, [], { quietMs: 200 });
    assert.match(ref.text, /^INFO \{[^\r\n]*\} \r\n$/);
    assert.deepEqual(Object.keys(firstInfo(ref.data)), [
      'server_id',
      'server_name',
      'version',
      'proto',
      'go',
      'host',
      'port',
      'headers',
      'max_payload',
      'client_id',
      'client_ip',
    ]);
    const info = firstInfo(ref.data);
    assert.equal(info.version, '2.9.10');
    assert.equal(info.proto, 1);
    assert.equal(info.headers, true);
    assert.equal(info.max_payload, 1048576);
    assert.equal(info.host, '127.0.0.1');
    assert.equal(info.client_ip, '127.0.0.1');
    assert.equal(info.server_name, info.server_id);
    assert.equal(ref.closed, false);
  });

  it('keeps the key order when compared strictly', async (t) => {
    await run(t, [], { quietMs: 200, keepInfoKeyOrder: true });
  });

  it('server_name follows -n and auth_required appears with --user/--pass', async (t) => {
    const { ref } = await run(t, [], { quietMs: 200, args: ['-n', 'custom-name', '--user', 'a', '--pass', 'b'], keepInfoKeyOrder: true });
    const info = firstInfo(ref.data);
    assert.equal(info.server_name, 'custom-name');
    assert.equal(info.auth_required, true);
    const keys = Object.keys(info);
    assert.equal(keys.indexOf('auth_required'), keys.indexOf('headers') + 1);
  });
});

describe('CONNECT', () => {
  it('verbose: +OK after CONNECT, SUB, PUB (before the own MSG), UNSUB; none for PING', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'SUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\nPONG\r\n');
    assert.equal(ref.closed, false);
  });

  it('empty object: verbose defaults to true', async (t) => {
    const { ref } = await run(t, ['CONNECT {}\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\nPONG\r\n');
  });

  it('null: defaults apply (verbose)', async (t) => {
    const { ref } = await run(t, ['CONNECT null\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\nPONG\r\n');
  });

  it('unknown fields are ignored', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"foo":1,"bar":{"x":[1,2]},"lang":"raw","version":"0.0.1","name":"n"}\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'PONG\r\n');
  });

  it('a full client CONNECT (protocol 1, headers, no_responders) is accepted silently', async (t) => {
    const { ref } = await run(t, [
      'CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"x","lang":"node","version":"3.0.0","protocol":1,"echo":true,"headers":true,"no_responders":true}\r\nPING\r\n',
    ]);
    assert.equal(ref.afterInfo, 'PONG\r\n');
  });

  it('protocol 0 is accepted', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"protocol":0}\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'PONG\r\n');
  });

  it('a second CONNECT replaces the options', async (t) => {
    const { ref } = await run(t, [CONNECT + 'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\n+OK\r\nPONG\r\n');
  });

  it('ops before CONNECT are processed (no auth configured), with the verbose default', async (t) => {
    const { ref } = await run(t, ['SUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n' + CONNECT + 'SUB bar 2\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\n+OK\r\nMSG foo 1 1\r\na\r\nPONG\r\nPONG\r\n');
  });

  it('tabs and extra spaces before the JSON, trailing spaces after it', async (t) => {
    const { ref } = await run(t, ['CONNECT\t \t{"verbose":true}   \r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\nPONG\r\n');
  });

  it('lowercase connect', async (t) => {
    const { ref } = await run(t, ['connect {"verbose":true}\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\nPONG\r\n');
  });
});

describe('PING / PONG', () => {
  it('PING → PONG, any case, \\n alone, and trailing bytes before \\n ignored', async (t) => {
    const { ref } = await run(t, ['PING\r\nping\r\nPiNg\r\nPING\nPINGX\r\nPING foo bar\r\nPING \r\n']);
    assert.equal(ref.afterInfo, PONG.repeat(7));
    assert.equal(ref.closed, false);
  });

  it('a client PONG (also with trailing junk) is ignored', async (t) => {
    const { ref } = await run(t, ['PONG\r\nPONGX\r\npong\n' + PING]);
    assert.equal(ref.afterInfo, PONG);
  });

  it('PING split across writes', async (t) => {
    const { ref } = await run(t, ['PI', 'NG', '\r', '\n'], { delayMs: 20 });
    assert.equal(ref.afterInfo, PONG);
  });
});

describe('PUB / SUB / MSG', () => {
  it('round trip without reply', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 5\r\nhello\r\nPONG\r\n');
  });

  it('round trip with reply', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo bar.baz 5\r\nhello\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 bar.baz 5\r\nhello\r\nPONG\r\n');
  });

  it('zero-length payload', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 0\r\n\r\nPUB foo r 0\r\n\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 0\r\n\r\nMSG foo 1 r 0\r\n\r\nPONG\r\n');
  });

  it('payload with CRLF, protocol words and all 256 byte values is opaque', async (t) => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const payload = Buffer.concat([Buffer.from('PING\r\nPUB x 1\r\n'), bytes]);
    const frame = Buffer.concat([Buffer.from(`${CONNECT}SUB foo 1\r\nPUB foo ${payload.length}\r\n`), payload, Buffer.from('\r\nPING\r\n')]);
    const { ref } = await run(t, [frame], { until: undefined, quietMs: 300 });
    const frames = parseServerStream(ref.data);
    assert.equal(frames[1]?.op, 'MSG');
    assert.ok(frames[1]?.op === 'MSG' && frames[1].payload.equals(payload));
    assert.equal(frames[2]?.op, 'PONG');
    assert.equal(frames.length, 3);
  });

  it('tabs and repeated spaces between args, trailing whitespace', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB\tfoo\t \t1 \r\nPUB \t foo\t\t2  \r\nhi\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
  });

  it('lowercase and mixed-case verbs', async (t) => {
    const { ref } = await run(t, [CONNECT + 'sub foo 1\r\npub foo 2\r\nhi\r\nPuB foo 2\r\nho\r\nunsub 1\r\npub foo 2\r\nhu\r\nping\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 2\r\nhi\r\nMSG foo 1 2\r\nho\r\nPONG\r\n');
  });

  it('control lines may end with \\n alone (the payload still needs \\r\\n)', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false}\nSUB foo 1\nPUB foo 2\nhi\r\nPING\n']);
    assert.equal(ref.afterInfo, 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
  });

  it('sid is an opaque token', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo abc-XYZ.9\r\nPUB foo 1\r\nx\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG foo abc-XYZ.9 1\r\nx\r\nPONG\r\n');
  });

  it('UTF-8 subjects', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB привет.* 1\r\nPUB привет.мир 1\r\nx\r\nPING\r\n']);
    assert.equal(ref.afterInfo, 'MSG привет.мир 1 1\r\nx\r\nPONG\r\n');
  });

  it('no subscriber: nothing delivered', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB bar 1\r\nx\r\nPUB foo.bar 1\r\nx\r\nPING\r\n']);
    assert.equal(ref.afterInfo, PONG);
  });
});

describe('wildcards', () => {
  // Order is Go's sublist matchLevel walk: per level the `>` node, then the `*`
  // branch recursively for the remaining tokens; at the last level the literal
  // node before the `*` node.
  it('`*` matches one token, `>` one or more; delivery order follows the sublist walk', async (t) => {
    const { ref } = await run(t, [
      CONNECT +
        'SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB foo.bar 4\r\n' +
        'PUB foo.bar 1\r\nx\r\nPUB foo.bar.baz 1\r\ny\r\nPUB foo 1\r\nz\r\nPUB bar.foo 1\r\nw\r\nPING\r\n',
    ]);
    assert.equal(
      ref.afterInfo,
      msg('foo.bar', 3, 'x') +
        msg('foo.bar', 2, 'x') +
        msg('foo.bar', 4, 'x') +
        msg('foo.bar', 1, 'x') +
        msg('foo.bar.baz', 3, 'y') +
        msg('foo.bar.baz', 2, 'y') +
        msg('foo', 3, 'z') +
        msg('bar.foo', 3, 'w') +
        PONG,
    );
  });

  it('`*` in the middle and `>` at the end', async (t) => {
    const { ref } = await run(t, [
      CONNECT + 'SUB a.*.c 1\r\nSUB a.*.> 2\r\nPUB a.b.c 1\r\n1\r\nPUB a.b 1\r\n2\r\nPUB a.b.c.d 1\r\n3\r\nPUB a.b.d 1\r\n4\r\nPING\r\n',
    ]);
    assert.equal(ref.afterInfo, msg('a.b.c', 2, '1') + msg('a.b.c', 1, '1') + msg('a.b.c.d', 2, '3') + msg('a.b.d', 2, '4') + PONG);
  });

  it('a non-pedantic PUB to a wildcard subject is matched literally against the subscriptions', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo.* 1\r\nSUB > 2\r\nSUB foo.bar 3\r\nPUB foo.* 1\r\na\r\nPUB > 1\r\nc\r\nPING\r\n']);
    assert.equal(ref.afterInfo, msg('foo.*', 2, 'a') + msg('foo.*', 1, 'a') + msg('>', 2, 'c') + PONG);
  });

  it('a PUB to a subject with an empty token is dropped', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB > 1\r\nPUB foo..bar 1\r\nb\r\nPUB .foo 1\r\nb\r\nPING\r\n']);
    assert.equal(ref.afterInfo, PONG);
  });
});

describe('UNSUB', () => {
  it('stops delivery', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\n' + pub('foo', 'a') + 'UNSUB 1\r\n' + pub('foo', 'b') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + PONG);
  });

  it('with max: auto-unsubscribes after exactly n messages', async (t) => {
    const pubs = ['a', 'b', 'c', 'd', 'e'].map((p) => pub('foo', p)).join('');
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nUNSUB 1 3\r\n' + pubs + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + msg('foo', 1, 'b') + msg('foo', 1, 'c') + PONG);
  });

  it('with max <= already delivered: unsubscribes at once', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\n' + pub('foo', 'a') + pub('foo', 'b') + 'UNSUB 1 2\r\n' + pub('foo', 'c') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + msg('foo', 1, 'b') + PONG);
  });

  it('max counts messages delivered before the UNSUB', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\n' + pub('foo', 'a') + 'UNSUB 1 2\r\n' + pub('foo', 'b') + pub('foo', 'c') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + msg('foo', 1, 'b') + PONG);
  });

  it('max 0, -1 or not a number: unsubscribes at once', async (t) => {
    const { ref } = await run(t, [
      CONNECT + 'SUB foo 1\r\nSUB foo.a 2\r\nSUB foo.b 3\r\nUNSUB 1 0\r\nUNSUB 2 -1\r\nUNSUB 3 x\r\n' + pub('foo', '1') + pub('foo.a', '2') + pub('foo.b', '3') + PING,
    ]);
    assert.equal(ref.afterInfo, PONG);
    assert.equal(ref.closed, false);
  });

  it('unknown sid is ignored (+OK in verbose)', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'UNSUB 99\r\nUNSUB 98 5\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\n+OK\r\n+OK\r\nPONG\r\n');
  });

  it('the sid can be reused after UNSUB', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nUNSUB 1\r\nSUB bar 1\r\n' + pub('foo', 'a') + pub('bar', 'b') + PING]);
    assert.equal(ref.afterInfo, msg('bar', 1, 'b') + PONG);
  });
});

describe('duplicate sid', () => {
  it('a second SUB with an existing sid is silently ignored', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nSUB bar 1\r\n' + pub('foo', 'a') + pub('bar', 'b') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + PONG);
  });

  it('verbose: still +OK for the ignored duplicate', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'SUB foo 1\r\nSUB bar 1\r\nPING\r\n']);
    assert.equal(ref.afterInfo, '+OK\r\n+OK\r\n+OK\r\nPONG\r\n');
  });
});

describe('queue groups', () => {
  it('same connection, two members: each message once', async (t) => {
    // which member gets a message is random: compare payloads and counts, not sids
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const c = await session(server.port);
        const out = parseServerStream(await flush(c, 'SUB foo q 1\r\nSUB foo q 2\r\n' + pub('foo', 'a') + pub('foo', 'b')));
        c.close();
        return {
          ops: out.map((f) => f.op),
          payloads: out.map((f) => (f.op === 'MSG' ? f.payload.toString() : f.raw)),
          sidsValid: out.every((f) => f.op === 'MSG' && (f.sid === '1' || f.sid === '2') && f.subject === 'foo'),
        };
      },
      { servers },
    );
    assert.deepEqual(ref, { ops: ['MSG', 'MSG'], payloads: ['a', 'b'], sidsValid: true });
  });

  it('queue names with dots and stars are accepted (two groups: one delivery each)', async (t) => {
    // the order between different queue groups is Go map order (random): compare sorted
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const c = await session(server.port);
        const out = parseServerStream(await flush(c, 'SUB foo q.x 1\r\nSUB foo q* 2\r\n' + pub('foo', 'c')));
        c.close();
        return out.map((f) => f.raw).sort();
      },
      { servers },
    );
    assert.deepEqual(ref, [msg('foo', 1, 'c'), msg('foo', 2, 'c')]);
  });

  it('two members on two connections, n messages: each exactly once; plain subscriber gets all', async (t) => {
    const n = 60;
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const a = await session(server.port);
        const b = await session(server.port);
        const plain = await session(server.port);
        await flush(a, 'SUB work q 1\r\n');
        await flush(b, 'SUB work q 7\r\n');
        await flush(plain, 'SUB work 3\r\n');
        const p = await session(server.port);
        let body = '';
        for (let i = 0; i < n; i++) body += pub('work', `m${i}`);
        const pubOut = await flush(p, body);
        const outA = parseServerStream(await flush(a));
        const outB = parseServerStream(await flush(b));
        const outPlain = parseServerStream(await flush(plain));
        for (const c of [a, b, plain, p]) c.close();
        const payloads = (fs: ReturnType<typeof parseServerStream>, sid: string) =>
          fs.map((f) => (f.op === 'MSG' && f.subject === 'work' && f.sid === sid ? f.payload.toString() : `unexpected:${f.raw}`));
        const got = [...payloads(outA, '1'), ...payloads(outB, '7')].sort();
        return {
          pubOut,
          total: got.length,
          unique: new Set(got).size,
          allExpected: got.every((g) => /^m\d+$/.test(g)),
          plain: payloads(outPlain, '3'),
        };
      },
      { servers },
    );
    assert.equal(ref.pubOut, '');
    assert.equal(ref.total, n);
    assert.equal(ref.unique, n);
    assert.equal(ref.allExpected, true);
    assert.deepEqual(
      ref.plain,
      Array.from({ length: n }, (_, i) => `m${i}`),
    );
  });

  it('plain subscriptions are delivered before queue subscriptions', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo q 1\r\nSUB foo 2\r\n' + pub('foo', 'x') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 2, 'x') + msg('foo', 1, 'x') + PONG);
  });
});

describe('echo', () => {
  it('echo:false: own messages are not delivered to own subscriptions', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\nSUB foo 1\r\nSUB foo 2\r\nSUB foo q 3\r\n' + pub('foo', 'a') + PING]);
    assert.equal(ref.afterInfo, PONG);
  });

  it('echo:false: messages from other connections are delivered, own are not', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (server) => {
        const e = await session(server.port, 'CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\n');
        const other = await session(server.port);
        await flush(e, 'SUB bar 1\r\n');
        await flush(other, 'SUB bar 9\r\n');
        const otherPub = await flush(other, pub('bar', 'x'));
        const ePub = await flush(e, pub('bar', 'y'));
        const eOut = await flush(e);
        const otherOut = await flush(other);
        e.close();
        other.close();
        return { otherPub, ePub, eOut, otherOut };
      },
      { servers },
    );
    assert.deepEqual(ref, {
      otherPub: msg('bar', 9, 'x'),
      ePub: msg('bar', 1, 'x'),
      eOut: '',
      otherOut: msg('bar', 9, 'y'),
    });
  });

  it('echo defaults to true', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false}\r\nSUB foo 1\r\n' + pub('foo', 'a') + PING]);
    assert.equal(ref.afterInfo, msg('foo', 1, 'a') + PONG);
  });
});

describe('client-sent server ops', () => {
  it('+OK from the client is ignored (anything after +OK up to \\n too)', async (t) => {
    const { ref } = await run(t, [CONNECT + '+OK\r\n+ok\r\n+OKX\r\nPING\r\n']);
    assert.equal(ref.afterInfo, PONG);
    assert.equal(ref.closed, false);
  });

  it('INFO with a JSON object from the client is ignored', async (t) => {
    const { ref } = await run(t, [CONNECT + 'INFO {}\r\nINFO {"connect_urls":["127.0.0.1:1"],"server_id":"X"}\r\nPING\r\n']);
    assert.equal(ref.afterInfo, PONG);
    assert.equal(ref.closed, false);
  });
});

describe('masking sanity', () => {
  it('transcripts of two connections to the same server differ only in masked INFO fields', async (t) => {
    assert.ok(servers);
    const a = await connect(servers.reference.port);
    const b = await connect(servers.reference.port);
    const ia = await a.readUntil('\r\n');
    const ib = await b.readUntil('\r\n');
    a.close();
    b.close();
    assert.notEqual(ia, ib, 'client_id differs');
    assert.equal(maskTranscript(ia), maskTranscript(ib));
    t.diagnostic('masking checked on the reference');
  });
});

