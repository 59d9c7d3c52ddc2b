import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { FlagError } from '../../../src/cli/errors.js';
import { parseGoBool, parseGoFlags, parseGoInt, type FlagDef } from '../../../src/cli/goflag.js';

describe('parseGoInt (strconv.ParseInt(s, 0, 64))', () => {
  const ok = (s: string, v: bigint) => assert.deepEqual(parseGoInt(s), { value: v }, s);
  const bad = (s: string, e: string) => assert.deepEqual(parseGoInt(s), { error: e }, s);

  it('parses decimal with sign', () => {
    ok('4222', 4222n);
    ok('+5', 5n);
    ok('-1', -1n);
    ok('0', 0n);
    ok('-0', 0n);
  });
  it('honours base prefixes and leading-zero octal', () => {
    ok('0x10', 16n);
    ok('0X1f', 31n);
    ok('0o17', 15n);
    ok('0b101', 5n);
    ok('010', 8n);
  });
  it('accepts underscores only between digits', () => {
    ok('5_0', 50n);
    ok('0x_1f', 31n);
    ok('1_000_000', 1000000n);
    bad('_5', 'parse error');
    bad('5_', 'parse error');
    bad('5__0', 'parse error');
  });
  it('rejects malformed numbers', () => {
    bad('', 'parse error');
    bad('abc', 'parse error');
    bad('1e3', 'parse error');
    bad('08', 'parse error');
    bad('0x', 'parse error');
    bad('-', 'parse error');
    bad(' 1', 'parse error');
    bad('1.5', 'parse error');
  });
  it('reports range errors', () => {
    ok('9223372036854775807', 9223372036854775807n);
    ok('-9223372036854775808', -9223372036854775808n);
    bad('9223372036854775808', 'value out of range');
    bad('-9223372036854775809', 'value out of range');
    bad('99999999999999999999', 'value out of range');
  });
});

describe('parseGoBool', () => {
  it('accepts exactly strconv.ParseBool spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true, t);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false, f);
    for (const x of ['yes', 'no', 'tRUE', '', 'on']) assert.equal(parseGoBool(x), undefined, x);
  });
});

const DEFS: FlagDef[] = [
  { names: ['p', 'port'], kind: 'int', key: 'port' },
  { names: ['D', 'debug'], kind: 'bool', key: 'debug' },
  { names: ['c'], kind: 'string', key: 'config' },
];

function flagErr(argv: string[], code: string, message: string) {
  assert.throws(
    () => parseGoFlags(DEFS, argv),
    (e: unknown) => e instanceof FlagError && e.code === code && e.message === message,
    argv.join(' '),
  );
}

describe('parseGoFlags', () => {
  it('accepts one or two dashes, with = or a separate value', () => {
    for (const argv of [['-p', '5'], ['-p=5'], ['--p', '5'], ['--port=5'], ['--port', '5']]) {
      const r = parseGoFlags(DEFS, argv);
      assert.equal(r.values.get('port'), 5, argv.join(' '));
      assert.deepEqual(r.args, []);
    }
  });
  it('lets the last alias win', () => {
    const r = parseGoFlags(DEFS, ['-p', '1', '--port', '2', '-p=3']);
    assert.equal(r.values.get('port'), 3);
    assert.deepEqual(r.given, ['p', 'port', 'p']);
  });
  it('never lets a boolean consume the next argument', () => {
    const r = parseGoFlags(DEFS, ['-D', 'false', '-p', '1']);
    assert.equal(r.values.get('debug'), true);
    assert.deepEqual(r.args, ['false', '-p', '1']);
    assert.equal(r.values.has('port'), false);
    assert.equal(parseGoFlags(DEFS, ['-D=false']).values.get('debug'), false);
  });
  it('takes a value that looks like a flag', () => {
    assert.equal(parseGoFlags(DEFS, ['-p', '-1']).values.get('port'), -1);
    assert.equal(parseGoFlags(DEFS, ['-c', '-D']).values.get('config'), '-D');
    assert.equal(parseGoFlags(DEFS, ['-c=a=b']).values.get('config'), 'a=b');
  });
  it('stops at --, at a lone -, and at the first non-flag', () => {
    assert.deepEqual(parseGoFlags(DEFS, ['-D', '--', '-p', '1']).args, ['-p', '1']);
    assert.deepEqual(parseGoFlags(DEFS, ['-', '-D']).args, ['-', '-D']);
    assert.deepEqual(parseGoFlags(DEFS, ['x', '-D']).args, ['x', '-D']);
  });
  it('fails with the flag package messages', () => {
    flagErr(['--bogus'], 'FLAG_UNDEFINED', 'flag provided but not defined: -bogus');
    flagErr(['--bogus=1'], 'FLAG_UNDEFINED', 'flag provided but not defined: -bogus');
    flagErr(['-p', 'abc'], 'FLAG_INVALID_VALUE', 'invalid value "abc" for flag -p: parse error');
    flagErr(['--port=abc'], 'FLAG_INVALID_VALUE', 'invalid value "abc" for flag -port: parse error');
    flagErr(['-p='], 'FLAG_INVALID_VALUE', 'invalid value "" for flag -p: parse error');
    flagErr(['-p', '99999999999999999999'], 'FLAG_INVALID_VALUE', 'invalid value "99999999999999999999" for flag -p: value out of range');
    flagErr(['-D=yes'], 'FLAG_INVALID_BOOL', 'invalid boolean value "yes" for -D: parse error');
    flagErr(['-p'], 'FLAG_NEEDS_ARGUMENT', 'flag needs an argument: -p');
    flagErr(['---p', '1'], 'FLAG_BAD_SYNTAX', 'bad flag syntax: ---p');
    flagErr(['-=x'], 'FLAG_BAD_SYNTAX', 'bad flag syntax: -=x');
  });
  it('reports the first error only, in argument order', () => {
    flagErr(['-p', 'x', '--bogus'], 'FLAG_INVALID_VALUE', 'invalid value "x" for flag -p: parse error');
  });
});
