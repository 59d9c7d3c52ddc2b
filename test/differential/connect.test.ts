// Differential tests, CONNECT decoding (docs/reliability.md F1, F2, F4, F8)
// and Go %q quoting in log lines (F7): the same bytes to tsnats and
// nats-server 2.9.10; answers, close decision and [ERR] lines must be equal.
// The reference decodes CONNECT with Go's encoding/json into ClientOpts
// (server/client.go), whose rules src/protocol/connect.ts reproduces.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLOSES, PING, runner } from '../helpers/proto.js';
import { startBoth, type ServerPair } from '../helpers/servers.js';

let servers: ServerPair | undefined;
before(async () => {
  servers = await startBoth();
});
after(async () => {
  await servers?.stop();
});
const run = runner(() => servers);

const connect = (json: string) => Buffer.from(`CONNECT ${json}\r\n`, 'utf8');
const field = (f: string, type: string, v = 'number') =>
  `[ERR] 127.0.0.1:<port> - cid:<cid> - json: cannot unmarshal ${v} into Go struct field ClientOpts.${f} of type ${type}`;

describe('CONNECT refused by encoding/json: silent close, Go error logged', () => {
  const cases: [string, string, string][] = [
    // F1: duplicate keys are each applied; the first type error fails the CONNECT
    ['F1 duplicate key, type error first', '{"verbose":"yes","verbose":true}', field('verbose', 'bool', 'string')],
    ['F1 type error, then a CONNECT that would be refused', '{"verbose":1,"verbose":false}\r\nCONNECT {"protocol":2}', field('verbose', 'bool')],
    // F2: int fields take only what strconv.ParseInt takes
    ['F2 protocol 1.0', '{"protocol":1.0,"verbose":false}', field('protocol', 'int', 'number 1.0')],
    ['F2 protocol 1e0', '{"protocol":1e0,"verbose":false}', field('protocol', 'int', 'number 1e0')],
    ['F2 protocol 1E0', '{"verbose":false,"protocol":1E0}', field('protocol', 'int', 'number 1E0')],
    ['F2 protocol 1e100', '{"protocol":1e100,"verbose":false}', field('protocol', 'int', 'number 1e100')],
    ['F2 protocol beyond int64', '{"protocol":9223372036854775808,"verbose":false}', field('protocol', 'int', 'number 9223372036854775808')],
    ['F2 protocol -1.5', '{"protocol":-1.5,"verbose":false}', field('protocol', 'int', 'number -1.5')],
    // F8: a number into a non-number field is just "number"
    ['F8 number into bool', '{"verbose":1}', field('verbose', 'bool')],
    ['F8 number into string', '{"name":-1.5e3,"verbose":false}', field('name', 'string')],
    ['F4 number into nkey spelled with a Kelvin sign', '{"n\u212Aey":1,"verbose":false}', field('nkey', 'string')],
    ['bool into string', '{"name":true,"verbose":false}', field('name', 'string', 'bool')],
    ['object into string', '{"name":{"a":[1]},"verbose":false}', field('name', 'string', 'object')],
    ['array into int', '{"protocol":[1],"verbose":false}', field('protocol', 'int', 'array')],
    ['first of two type errors', '{"protocol":1.5,"verbose":"a"}', field('protocol', 'int', 'number 1.5')],
    ['import of the wrong type', '{"verbose":false,"import":[]}', field('import', 'server.SubjectPermission', 'array')],
    [
      'import.allow element of the wrong type (innermost struct named)',
      '{"verbose":false,"import":{"allow":["a",true]}}',
      '[ERR] 127.0.0.1:<port> - cid:<cid> - json: cannot unmarshal bool into Go struct field SubjectPermission.import.allow of type string',
    ],
    ['error context reset after a nested object', '{"import":{"allow":[]},"verbose":"x"}', field('verbose', 'bool', 'string')],
    ['top-level array', '[1]', '[ERR] 127.0.0.1:<port> - cid:<cid> - json: cannot unmarshal array into Go value of type server.ClientOpts'],
    ['syntax error wins over a type error', '{"verbose":1,"x":01}', "[ERR] 127.0.0.1:<port> - cid:<cid> - invalid character '1' after object key:value pair"],
    ['input ends in a \\u escape (Go steps a space at the end)', '{"verbose":false,"name":"\\u00', "[ERR] 127.0.0.1:<port> - cid:<cid> - invalid character ' ' in \\u hexadecimal character escape"],
    ['input ends in a number', '{"verbose":false,"protocol":1e', "[ERR] 127.0.0.1:<port> - cid:<cid> - invalid character ' ' in exponent of numeric literal"],
  ];
  for (const [name, json, log] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [connect(json), PING], { ...CLOSES, compareLogs: true });
      assert.equal(ref.afterInfo, '');
      assert.equal(ref.closed, true);
      assert.deepEqual(ref.log, [log]);
    });
  }

  it('a byte outside the ASCII range is quoted as a Go rune', async (t) => {
    const { ref } = await run(t, [Buffer.from('CONNECT {"a":\x85}\r\nPING\r\n', 'latin1')], { ...CLOSES, compareLogs: true });
    assert.deepEqual(ref.log, ["[ERR] 127.0.0.1:<port> - cid:<cid> - invalid character '\\u0085' looking for beginning of value"]);
  });
});

describe('CONNECT accepted by encoding/json', () => {
  const cases: [string, string, string][] = [
    // F1: null leaves the earlier value (verbose stays false: no +OK)
    ['F1 null after false', '{"verbose":false,"verbose":null}', 'PONG\r\n'],
    ['F1 the last duplicate wins', '{"verbose":false,"protocol":2,"protocol":1}', 'PONG\r\n'],
    ['F1 folded duplicates in order', '{"verbose":true,"Verbose":false}', 'PONG\r\n'],
    ['F1 folded duplicates in order (2)', '{"Verbose":false,"verbose":true}', '+OK\r\nPONG\r\n'],
    // F4: Unicode simple folding of keys
    ['F4 ſ (U+017F) matches s', '{"verboſe":false}', 'PONG\r\n'],
    ['F4 K (U+212A) alone is no field', '{"\u212Aey":1,"verbose":false}', 'PONG\r\n'],
    ['escaped key', '{"\\u0076erbose":false}', 'PONG\r\n'],
    ['upper-case key', '{"VERBOSE":false}', 'PONG\r\n'],
    ['protocol -0', '{"protocol":-0,"verbose":false}', 'PONG\r\n'],
    ['unknown keys with nested values', '{"verbose":false,"unknown":{"a":[1,{"b":"c\\"}"}]},"pedantic":false}', 'PONG\r\n'],
    ['import/export with good values', '{"verbose":false,"export":{"ALLOW":["a"],"x":{"y":[1,2,{"z":null}]}},"import":{"allow":[null]}}', 'PONG\r\n'],
    ['strings with escapes and surrogates', '{"verbose":false,"name":"a\\"b\\u00e9\\ud83d\\ude00\\ud800"}', 'PONG\r\n'],
    ['top-level null keeps the defaults', 'null', '+OK\r\nPONG\r\n'],
  ];
  for (const [name, json, answer] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [connect(json), PING], { compareLogs: true });
      assert.equal(ref.afterInfo, answer);
      assert.equal(ref.closed, false);
    });
  }

  it('protocol at the int64 limit is decoded, then refused as a protocol', async (t) => {
    const { ref } = await run(t, [connect('{"protocol":-9223372036854775808,"verbose":false}'), PING], { ...CLOSES, compareLogs: true });
    assert.equal(ref.afterInfo, "-ERR 'invalid client protocol'\r\n");
  });
});

describe('log lines quote client bytes as Go %q (F7)', () => {
  const cases: [string, Buffer, string][] = [
    ['control bytes and invalid UTF-8', Buffer.from('0b9d0d0a', 'hex'), `proto='"\\v\\x9d\\r"...'`],
    ['DEL and 0xff', Buffer.from('7fff0d0a', 'hex'), `proto='"\\x7f\\xff\\r"...'`],
    ['NUL, bell, backspace, tab', Buffer.from('000708090d0a', 'hex'), `proto='"\\x00\\a\\b\\t\\r"...'`],
    ['valid UTF-8, non-printable runes', Buffer.from('c3a9c2a0e2808bf3a080810d0a', 'hex'), `proto='"é\\u00a0\\u200b\\U000e0001\\r"...'`],
    ['a truncated sequence, byte by byte', Buffer.from('e282f09f980d0a', 'hex'), `proto='"\\xe2\\x82\\xf0\\x9f\\x98\\r"...'`],
  ];
  for (const [name, bytes, snippet] of cases) {
    it(name, async (t) => {
      const { ref } = await run(t, [bytes], { ...CLOSES, compareLogs: true });
      assert.deepEqual(ref.log, [`[ERR] 127.0.0.1:<port> - cid:<cid> - Client parser ERROR, state=0, i=0: ${snippet}`]);
    });
  }

  it("the client's name in the log prefix", async (t) => {
    const { ref } = await run(t, [connect('{"verbose":false,"name":"a\\u0001\\t\\u00a0é\\"","lang":"x"}'), 'XYZ\r\n'], { ...CLOSES, compareLogs: true, delayMs: 50 }); // two reads: i=0 in the snippet
    assert.equal(ref.log.length, 1);
    assert.ok(ref.log[0].includes(' - "x:a\\x01\\t\\u00a0é\\"" - Client parser ERROR'), ref.log[0]);
  });
});

describe('client bytes in -ERR texts and log lines: Go %q of the bytes', () => {
  const pre = 'CONNECT {"verbose":false}\r\n';
  const parseErrors: [string, string, string][] = [
    ['PUB args: valid UTF-8 printed raw', 'PUB a b c d\xc3\xa9\r\n', 'processPub Parse Error: "a b c dé"'],
    ['PUB args: invalid bytes as \\x', 'PUB a b c d\xff\x01\r\n', 'processPub Parse Error: "a b c d\\xff\\x01"'],
    ['SUB args: a non-printable rune as \\u', 'SUB a b c \xc2\xa0\r\n', 'processSub Parse Error: "a b c \\u00a0"'],
    ['UNSUB args: a truncated sequence byte by byte', 'UNSUB 1 2 \xe2\x82\r\n', 'processUnsub Parse Error: "1 2 \\xe2\\x82"'],
  ];
  for (const [name, frame, log] of parseErrors) {
    it(name, async (t) => {
      const { ref } = await run(t, [Buffer.from(pre + frame, 'latin1')], { ...CLOSES, compareLogs: true });
      assert.deepEqual(ref.log, [`[ERR] 127.0.0.1:<port> - cid:<cid> - ${log}`]);
    });
  }

  it('permission violations: -ERR and log', async (t) => {
    const config = 'authorization { users: [{user: a, password: b, permissions: {publish: {deny: ">"}, subscribe: {deny: ">"}}}] }\n';
    const login = 'CONNECT {"verbose":false,"user":"a","pass":"b"}\r\n';
    const frames = 'PUB a\xc3\xa9 1\r\nx\r\nPUB a\xff\x01 1\r\nx\r\nSUB \xc2\xa0 1\r\nSUB x q\xe2\x82 2\r\nPUB a"b\\c 1\r\nx\r\nPING\r\n';
    const { ref } = await run(t, [Buffer.from(login + frames, 'latin1')], { config, compareLogs: true });
    assert.equal(
      ref.data.toString('latin1').replace(/^INFO .*\r\n/, ''),
      "-ERR 'Permissions Violation for Publish to \"a\xc3\xa9\"'\r\n" +
        "-ERR 'Permissions Violation for Publish to \"a\\xff\\x01\"'\r\n" +
        "-ERR 'Permissions Violation for Subscription to \"\\u00a0\"'\r\n" +
        "-ERR 'Permissions Violation for Subscription to \"x\" using queue \"q\\xe2\\x82\"'\r\n" +
        "-ERR 'Permissions Violation for Publish to \"a\\\"b\\\\c\"'\r\nPONG\r\n",
    );
    assert.ok(ref.log.some((l) => l.endsWith('Publish Violation - User "a", Subject "aé"')), ref.log.join('\n'));
  });
});
