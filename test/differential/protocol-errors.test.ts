// Differential tests, protocol errors: unknown operations, malformed CONNECT,
// bad PUB/SUB/UNSUB arguments, invalid subjects, pedantic mode, client-sent
// -ERR/INFO/MSG, authentication failures. Each pins the reference's exact bytes
// and whether it closes the connection; a few also pin the [ERR] log lines.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLOSES, CONNECT, CONNECT_VERBOSE, msg, PING, PONG, pub, runner, UNKNOWN_OP } from '../helpers/proto.js';
import { startBoth, type ServerPair } from '../helpers/servers.js';

let servers: ServerPair | undefined;
before(async () => {
  servers = await startBoth();
});
after(async () => {
  await servers?.stop();
});
const run = runner(() => servers);

/** asserts the reference wrote exactly `expected` after INFO and closed (or not) */
function pin(ref: { afterInfo: string; closed: boolean }, expected: string, closed: boolean): void {
  assert.equal(ref.afterInfo, expected);
  assert.equal(ref.closed, closed, closed ? 'reference closes the connection' : 'reference keeps the connection');
}

describe('unknown protocol operation → -ERR + close', () => {
  const cases: [string, string][] = [
    ['unknown verb', 'XYZ\r\n'],
    ['PUBX', 'PUBX\r\n'],
    ['PU (truncated PUB)', 'PU\r\n'],
    ['P alone', 'P\r\n'],
    ['SUBX', 'SUBX foo 1\r\n'],
    ['UNSUB without a space', 'UNSUB\r\n'],
    ['HPUBX', 'HPUBX foo 0 0\r\n'],
    ['+O (truncated +OK)', '+O\r\n'],
    ['-ERR without a space', '-ERR\r\n'],
    ['MSG sent by a client', 'MSG foo 1 2\r\nhi\r\n'],
    ['HMSG sent by a client', 'HMSG foo 1 2 2\r\nhi\r\n'],
    ['RS+ (route op) sent by a client', 'RS+ foo 1\r\n'],
    ['LS+ (leaf op) sent by a client', 'LS+ foo\r\n'],
    ['A+ (account op) sent by a client', 'A+ foo\r\n'],
    ['bare CRLF', '\r\n'],
    ['leading space', ' PING\r\n'],
  ];
  for (const [name, bytes] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [CONNECT + bytes + PING], { ...CLOSES });
      pin(ref, UNKNOWN_OP, true);
    });
  }

  it('ops before the bad one are answered first', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'SUB foo 1\r\nPING\r\nBAD\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '+OK\r\n+OK\r\nPONG\r\n' + UNKNOWN_OP, true);
  });
});

describe('malformed CONNECT → silent close', () => {
  const cases: [string, string][] = [
    ['no JSON', 'CONNECT\r\n'],
    ['broken JSON', 'CONNECT {bad\r\n'],
    ['garbage after the JSON', 'CONNECT {"verbose":false} x\r\n'],
    ['wrong field type', 'CONNECT {"verbose":"yes"}\r\n'],
    ['array instead of object', 'CONNECT [1]\r\n'],
    ['CONNECTX', 'CONNECTX\r\n'],
  ];
  for (const [name, bytes] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [bytes + PING], { ...CLOSES });
      pin(ref, '', true);
    });
  }

  it('no space between CONNECT and the JSON is accepted', async (t) => {
    const { ref } = await run(t, ['CONNECT{"verbose":true}\r\nPING\r\n']);
    pin(ref, '+OK\r\n' + PONG, false);
  });
});

describe('CONNECT option errors', () => {
  it('protocol 2 → invalid client protocol', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"protocol":2}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, "-ERR 'invalid client protocol'\r\n", true);
  });

  it('protocol -1 → invalid client protocol', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"protocol":-1}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, "-ERR 'invalid client protocol'\r\n", true);
  });

  it('no_responders without headers', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"no_responders":true}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, "-ERR 'no responders requires headers support'\r\n", true);
  });

  it('no_responders with headers:false', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":true,"headers":false,"no_responders":true}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, "-ERR 'no responders requires headers support'\r\n", true);
  });
});

describe('PUB argument errors → silent close', () => {
  const cases: [string, string][] = [
    ['missing size', 'PUB foo\r\n'],
    ['no args', 'PUB \r\n'],
    ['too many args', 'PUB foo 1 2 3 4\r\n'],
    ['negative size', 'PUB foo -1\r\n'],
    ['non-numeric size', 'PUB foo bar\r\n'],
    ['size with a plus sign', 'PUB foo +5\r\n'],
    ['size with 10 digits', 'PUB foo 0000000001\r\n'],
    ['size overflowing int64', 'PUB foo 99999999999999999999\r\n'],
  ];
  for (const [name, bytes] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [CONNECT + bytes + 'x\r\nPING\r\n'], { ...CLOSES });
      pin(ref, '', true);
    });
  }

  it('a 9-digit size with leading zeros is valid, and MSG repeats the size bytes as sent', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 000000002\r\nhi\r\nPUB foo r 02\r\nho\r\nPING\r\n']);
    pin(ref, 'MSG foo 1 000000002\r\nhi\r\nMSG foo 1 r 02\r\nho\r\n' + PONG, false);
  });
});

describe('PUB payload framing errors → -ERR + close', () => {
  it('payload longer than announced', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 3\r\nabcd\r\nPING\r\n'], { ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('payload shorter than announced (next op eaten as payload)', async (t) => {
    const { ref } = await run(t, [CONNECT + 'PUB foo 5\r\nab\r\nPING\r\n'], { ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('payload terminated by \\n only', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nPUB foo 2\nhi\nPING\n'], { ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('zero-size payload without its CRLF', async (t) => {
    const { ref } = await run(t, [CONNECT + 'PUB foo 0\r\nPING\r\n'], { ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('payload followed by \\r and something other than \\n', async (t) => {
    const { ref } = await run(t, [CONNECT + 'PUB foo 1\r\nx\rPING\r\n'], { ...CLOSES });
    pin(ref, UNKNOWN_OP, true);
  });

  it('message before the framing error is delivered', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\n' + pub('foo', 'ok') + 'PUB foo 1\r\nxy\r\n'], { ...CLOSES });
    pin(ref, msg('foo', 1, 'ok') + UNKNOWN_OP, true);
  });
});

describe('SUB errors', () => {
  it('invalid subjects → -ERR Invalid Subject, connection stays', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB foo.bar. 3\r\nSUB .foo 4\r\nSUB foo.*x 5\r\nPING\r\n']);
    pin(ref, "-ERR 'Invalid Subject'\r\n".repeat(4) + PONG, false);
  });

  it('invalid subject in verbose mode: -ERR only, no +OK', async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + 'SUB foo..bar 1\r\nPING\r\n']);
    pin(ref, "+OK\r\n-ERR 'Invalid Subject'\r\n" + PONG, false);
  });

  it('an invalid SUB does not take the sid', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo..bar 1\r\nSUB foo 1\r\n' + pub('foo', 'x') + PING]);
    pin(ref, "-ERR 'Invalid Subject'\r\n" + msg('foo', 1, 'x') + PONG, false);
  });

  it('too many args → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo bar baz 1 2\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });

  it('missing sid → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });

  it('no args → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB \r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });
});

describe('UNSUB errors', () => {
  it('too many args → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo 1\r\nUNSUB 1 2 3\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });

  it('no args → silent close', async (t) => {
    const { ref } = await run(t, [CONNECT + 'UNSUB \r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });
});

describe('pedantic', () => {
  it('is on by default: invalid publish subject → -ERR, but the message is still published', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\na\r\nPUB foo.x 1\r\nc\r\nPING\r\n']);
    pin(ref, "-ERR 'Invalid Publish Subject'\r\n" + msg('foo.*', 1, 'a') + msg('foo.x', 1, 'c') + PONG, false);
  });

  it('explicit pedantic: wildcard and empty-token publish subjects', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"pedantic":true}\r\nSUB > 1\r\nPUB foo.> 1\r\na\r\nPUB foo..bar 1\r\nb\r\nPUB * 1\r\nc\r\nPING\r\n']);
    pin(
      ref,
      "-ERR 'Invalid Publish Subject'\r\n" +
        msg('foo.>', 1, 'a') +
        "-ERR 'Invalid Publish Subject'\r\n" +
        "-ERR 'Invalid Publish Subject'\r\n" +
        msg('*', 1, 'c') +
        PONG,
      false,
    );
  });

  it('pedantic + verbose: -ERR before +OK', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":true,"pedantic":true}\r\nPUB foo.> 1\r\na\r\nPING\r\n']);
    pin(ref, "+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\n" + PONG, false);
  });

  it('pedantic:false: no error for wildcard publish subjects', async (t) => {
    const { ref } = await run(t, [CONNECT + 'SUB foo.* 1\r\nPUB foo.* 1\r\na\r\nPING\r\n']);
    pin(ref, msg('foo.*', 1, 'a') + PONG, false);
  });

  it('pedantic does not change SUB validation', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.*x 1\r\nSUB foo..bar 2\r\nPING\r\n']);
    pin(ref, "-ERR 'Invalid Subject'\r\n" + PONG, false);
  });
});

describe('server ops sent by the client', () => {
  it("-ERR from the client closes the connection silently", async (t) => {
    const { ref } = await run(t, [CONNECT_VERBOSE + "-ERR 'foo'\r\nPING\r\n"], { ...CLOSES });
    pin(ref, '+OK\r\n', true);
  });

  it('INFO with invalid JSON closes silently', async (t) => {
    const { ref } = await run(t, [CONNECT + 'INFO bad\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });

  it('INFO without JSON closes silently', async (t) => {
    const { ref } = await run(t, [CONNECT + 'INFO\r\nPING\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });
});

describe('authentication (--user a --pass b)', () => {
  let auth: ServerPair | undefined;
  before(async () => {
    auth = await startBoth(['--user', 'a', '--pass', 'b']);
  });
  after(async () => {
    await auth?.stop();
  });
  const runAuth = runner(() => auth);
  const AUTH_VIOLATION = "-ERR 'Authorization Violation'\r\n";

  it('correct credentials', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":false,"user":"a","pass":"b"}\r\nPING\r\n']);
    pin(ref, PONG, false);
  });

  it('correct credentials, verbose', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":true,"user":"a","pass":"b"}\r\nPING\r\n']);
    pin(ref, '+OK\r\n' + PONG, false);
  });

  it('wrong password → Authorization Violation + close', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":false,"user":"a","pass":"x"}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, AUTH_VIOLATION, true);
  });

  it('unknown user', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":true,"user":"z","pass":"b"}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, AUTH_VIOLATION, true);
  });

  it('CONNECT without credentials', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":false}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, AUTH_VIOLATION, true);
  });

  it('a token instead of user/pass', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"verbose":false,"auth_token":"b"}\r\nPING\r\n'], { ...CLOSES });
    pin(ref, AUTH_VIOLATION, true);
  });

  for (const [name, bytes] of [
    ['PING', 'PING\r\n'],
    ['SUB', 'SUB foo 1\r\n'],
    ['PUB', 'PUB foo 1\r\nx\r\n'],
    ['an unknown op', 'XYZ\r\n'],
    ['lowercase ping', 'ping\r\n'],
  ] as const) {
    it(`first op ${name} instead of CONNECT → Authorization Violation + close`, async (t) => {
      const { ref } = await runAuth(t, [bytes], { ...CLOSES });
      pin(ref, AUTH_VIOLATION, true);
    });
  }

  it('malformed CONNECT JSON wins over auth: silent close', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {bad json\r\n'], { ...CLOSES });
    pin(ref, '', true);
  });

  it('lowercase connect with credentials is accepted', async (t) => {
    const { ref } = await runAuth(t, ['connect {"verbose":false,"user":"a","pass":"b"}\r\nPING\r\n']);
    pin(ref, PONG, false);
  });

  it('a client that sends nothing gets Authentication Timeout (~2 s) + close', async (t) => {
    const { ref } = await runAuth(t, [], { until: "-ERR 'Authentication Timeout'\r\n", untilTimeoutMs: 6000, quietMs: 200 });
    pin(ref, "-ERR 'Authentication Timeout'\r\n", true);
  });

  it('a partial CONNECT does not stop the authentication timer', async (t) => {
    const { ref } = await runAuth(t, ['CONNECT {"user":'], { until: "-ERR 'Authentication Timeout'\r\n", untilTimeoutMs: 6000, quietMs: 200 });
    pin(ref, "-ERR 'Authentication Timeout'\r\n", true);
  });
});

describe('token authentication (--auth s3cr3t)', () => {
  it('wrong token → Authorization Violation + close; right token accepted', async (t) => {
    const { ref } = await run(t, ['CONNECT {"verbose":false,"auth_token":"nope"}\r\nPING\r\n'], {
      ...CLOSES,
      args: ['--auth', 's3cr3t'],
    });
    pin(ref, "-ERR 'Authorization Violation'\r\n", true);
    const ok = await run(t, ['CONNECT {"verbose":false,"auth_token":"s3cr3t"}\r\nPING\r\n'], { args: ['--auth', 's3cr3t'] });
    pin(ok.ref, PONG, false);
  });
});

describe('[ERR] log lines', () => {
  const logCases: [string, string, string[]][] = [
    ['parser error', CONNECT + 'PUBX\r\n', [`[ERR] 127.0.0.1:<port> - cid:<cid> - Client parser ERROR, state=31, i=${CONNECT.length + 3}: proto='"X\\r"...'`]],
    ['JSON: no input', 'CONNECT\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - unexpected end of JSON input']],
    ['JSON: bad object key', 'CONNECT {bad\r\n', ["[ERR] 127.0.0.1:<port> - cid:<cid> - invalid character 'b' looking for beginning of object key string"]],
    ['JSON: wrong type', 'CONNECT {"verbose":"yes"}\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - json: cannot unmarshal string into Go struct field ClientOpts.verbose of type bool']],
    ['invalid client protocol', 'CONNECT {"protocol":2}\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - invalid client protocol']],
    ['PUB parse error', CONNECT + 'PUB foo\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - processPub Parse Error: "foo"']],
    ['PUB bad size', CONNECT + 'PUB foo -1\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - processPub Bad or Missing Size: "foo -1"']],
    ['SUB parse error', CONNECT + 'SUB foo bar baz 1 2\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - processSub Parse Error: "foo bar baz 1 2"']],
    ['UNSUB parse error', CONNECT + 'UNSUB 1 2 3\r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - processUnsub Parse Error: "1 2 3"']],
    ['UNSUB without args: the \\r is part of the arg', CONNECT + 'UNSUB \r\n', ['[ERR] 127.0.0.1:<port> - cid:<cid> - processUnsub Parse Error: "\\r"']],
    ['client -ERR', CONNECT + "-ERR 'foo'\r\n", ["[ERR] 127.0.0.1:<port> - cid:<cid> - Client Error 'foo'"]],
  ];
  for (const [name, bytes, expected] of logCases) {
    it(name, async (t) => {
      const { ref } = await run(t, [bytes], { ...CLOSES, compareLogs: true });
      assert.equal(ref.closed, true);
      assert.deepEqual(ref.log, expected);
    });
  }

  it('Authorization Violation logs "authentication error"', async (t) => {
    const { ref } = await run(t, ['PING\r\n'], { ...CLOSES, compareLogs: true, args: ['--user', 'a', '--pass', 'b'] });
    assert.deepEqual(ref.log, ['[ERR] 127.0.0.1:<port> - cid:<cid> - authentication error']);
  });
});
