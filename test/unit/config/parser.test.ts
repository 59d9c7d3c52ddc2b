import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  confMapToPlain,
  parseConf,
  parseConfFile,
  type ConfMap,
  type ConfNode,
} from '../../../src/config/conf.js';
import { ConfigError } from '../../../src/config/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const plain = (text: string, env: Record<string, string> = {}): Record<string, unknown> =>
  confMapToPlain(parseConf(text, { env }));

function get(m: ConfMap, key: string): ConfNode {
  const n = m.get(key);
  assert.ok(n, `missing key ${key}`);
  return n;
}

function parseError(text: string, env: Record<string, string> = {}, file?: string): ConfigError {
  try {
    parseConf(text, { env, file });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

test('three key/value separators and optional value terminators', () => {
  assert.deepEqual(plain("foo='1'; bar=2.2; baz=true; boo=22"), { foo: '1', bar: 2.2, baz: true, boo: 22 });
  assert.deepEqual(plain('a = 1\nb: 2\nc 3\n'), { a: 1, b: 2, c: 3 });
  assert.deepEqual(plain('{ a: 1, b: 2 }'), { a: 1, b: 2 });
});

test('maps and arrays, nested, with any separators', () => {
  // A number directly before ']' lexes as a string like "3]" in the
  // reference, hence the space.
  assert.deepEqual(plain('m { a: 1; b = [1, 2\n 3 ]\n c { d: x } }'), {
    m: { a: 1, b: [1, 2, 3], c: { d: 'x' } },
  });
  assert.deepEqual(plain('arr: [ {a: 1}, {b: 2} ]'), { arr: [{ a: 1 }, { b: 2 }] });
  assert.deepEqual(plain('m = {}\narr = []\n'), { m: {}, arr: [] });
});

test('comments with # and //, also inside blocks and arrays', () => {
  assert.deepEqual(plain('# top\n// top\na: 1 # after\nb: 2 // after\nm { # in map\n c: 3 // x\n}\nl: [1, # in array\n 2 ]\n'), {
    a: 1,
    b: 2,
    m: { c: 3 },
    l: [1, 2],
  });
});

test('strings: single-quoted raw, double-quoted escapes, bare strings', () => {
  assert.deepEqual(plain(`a: 'x\\ty'\nb: "x\\ty\\n\\r\\"\\\\\\x41"\nc: hello.world\nd: 127.0.0.1:4222\ne: 3xyz`), {
    a: 'x\\ty',
    b: 'x\ty\n\r"\\A',
    c: 'hello.world',
    d: '127.0.0.1:4222',
    e: '3xyz',
  });
  assert.deepEqual(plain('a: "1k"'), { a: '1k' }, 'a quoted size stays a string');
});

test('integer size suffixes: powers of 1000 without b/i, of 1024 with', () => {
  const cases: [string, number][] = [
    ['1', 1],
    ['-5', -5],
    ['1k', 1000],
    ['1K', 1000],
    ['1kb', 1024],
    ['1KB', 1024],
    ['1ki', 1024],
    ['1kib', 1024],
    ['2m', 2_000_000],
    ['2mb', 2 * 1024 ** 2],
    ['2MiB', 2 * 1024 ** 2],
    ['3g', 3e9],
    ['3gb', 3 * 1024 ** 3],
    ['3Gi', 3 * 1024 ** 3],
    ['1t', 1e12],
    ['1tb', 1024 ** 4],
    ['1tib', 1024 ** 4],
    ['1p', 1e15],
    ['1pb', 1024 ** 5],
    ['1pi', 1024 ** 5],
    ['1e', 1e18],
    ['1eb', 1024 ** 6],
    ['-2k', -2000],
  ];
  for (const [src, want] of cases) {
    assert.equal(plain(`v: ${src}`).v, want, src);
  }
});

test('an unknown size suffix sets nothing (reference quirk)', () => {
  assert.deepEqual(plain('a: 1kbb\nb: 2\n'), { b: 2 });
});

test('integers out of int64 range are errors', () => {
  const e = parseError('\nport: 99999999999999999999\n');
  assert.equal(e.code, 'CONF_LITERAL');
  assert.equal(e.message, "integer '99999999999999999999' is out of the range");
  assert.equal(e.line, 2);
});

test('integer, float, bool and datetime kinds', () => {
  const m = parseConf('i: 1\nf: 1.5\nb: yes\nd: 2016-05-04T18:53:41Z\n', { env: {} });
  assert.equal(get(m, 'i').kind, 'integer');
  assert.equal(get(m, 'f').kind, 'float');
  assert.equal(get(m, 'b').kind, 'bool');
  const d = get(m, 'd');
  assert.equal(d.kind, 'datetime');
  assert.equal((d.value as Date).toISOString(), '2016-05-04T18:53:41.000Z');
});

test('booleans in any case: true/false, yes/no, on/off', () => {
  assert.deepEqual(plain('a: TRUE\nb: No\nc: on\nd: OFF\ne: Yes\nf: false\n'), {
    a: true,
    b: false,
    c: true,
    d: false,
    e: true,
    f: false,
  });
});

test('invalid datetimes are errors', () => {
  const e = parseError('d: 2020-13-01T00:00:00Z');
  assert.equal(e.message, "expected Zulu formatted DateTime, but got '2020-13-01T00:00:00Z'");
  assert.equal(parseError('d: 2021-02-29T00:00:00Z').code, 'CONF_LITERAL');
  assert.equal(plain('d: 2020-02-29T23:59:59Z').d instanceof Date, true);
});

test('block strings ( ... ) end at a ) alone on its line', () => {
  assert.deepEqual(plain('text (\n  line one\n  (nested)\n)\nafter: 1\n'), {
    text: '\n  line one\n  (nested)\n',
    after: 1,
  });
});

test('variables: defined earlier in the file, block scoped, then environment', () => {
  assert.deepEqual(plain('index = 22\nnest {\n index = 11\n foo = $index\n}\nbar = $index\n'), {
    index: 22,
    nest: { index: 11, foo: 11 },
    bar: 22,
  });
  assert.deepEqual(plain('foo = $MYVAR', { MYVAR: '22' }), { foo: 22 });
  assert.deepEqual(plain('foo = $MYVAR', { MYVAR: 'xyz' }), { foo: 'xyz' });
  assert.deepEqual(plain('foo = $MYVAR', { MYVAR: '1kb' }), { foo: 1024 });
  assert.deepEqual(plain('foo = $MYVAR', { MYVAR: '{a: 1, b: [x]}' }), { foo: { a: 1, b: ['x'] } });
  // File definitions win over the environment.
  assert.deepEqual(plain('MYVAR: 1\nfoo = $MYVAR', { MYVAR: '2' }), { MYVAR: 1, foo: 1 });
});

test('a used variable definition is marked, an unused one is not', () => {
  const m = parseConf('A: 1\nB: 2\nx: $A\n', { env: {} });
  assert.equal(get(m, 'A').usedVariable, true);
  assert.equal(get(m, 'B').usedVariable, false);
  assert.equal(get(m, 'x').usedVariable, false);
});

test('bare bcrypt hashes are not variables', () => {
  assert.deepEqual(plain('pass: $2a$11$abcdefghijklmnopqrstuv'), { pass: '$2a$11$abcdefghijklmnopqrstuv' });
});

test('undefined variable: reference message with the line', () => {
  const e = parseError('\n\nauthorization {\n  user: $NOPE\n}\n', {}, 'x.conf');
  assert.equal(e.code, 'CONF_VARIABLE');
  assert.equal(e.message, "variable reference for 'NOPE' on line 4 can not be found");
  assert.equal(e.file, 'x.conf');
  assert.equal(e.line, 4);
});

test('an environment value that does not parse is an error naming the variable', () => {
  const e = parseError('name: $V', { V: 'hello world' });
  assert.equal(
    e.message,
    "variable reference for 'V' on line 1 could not be parsed: Parse error on line 1: 'Expected a top-level value to end with a new line, comment or EOF, but got 'w' instead.'",
  );
});

test('an environment variable that expands to itself is an error, not a hang', () => {
  const e = parseError('name: $V', { V: '$V' });
  assert.equal(e.code, 'CONF_VARIABLE');
  assert.match(e.message, /'V'/);
});

test('syntax errors: reference text with the line', () => {
  const cases: [string, number, string][] = [
    ['a: "abc\n', 2, "Parse error on line 2: 'Unexpected EOF.'"],
    ['a {\n b: 1\n', 3, "Parse error on line 3: 'Unexpected EOF processing map.'"],
    ['\nfoo = [1, 2,,]\n', 2, "Parse error on line 2: 'Unexpected array value terminator ','.'"],
    [
      'foo { a: 1 b: 2 }\n',
      1,
      `Parse error on line 1: 'Expected a map value terminator "," or a map terminator "}", but got 'b' instead.'`,
    ],
    ['a: (\nnever closed\n', 3, "Parse error on line 3: 'Unexpected EOF processing block.'"],
    ['a: .5', 1, "Parse error on line 1: 'Floats must start with a digit'"],
    ['= 5', 1, "Parse error on line 1: 'Unexpected key separator '=''"],
  ];
  for (const [text, line, msg] of cases) {
    const e = parseError(text, {}, 'bad.conf');
    assert.equal(e.code, 'CONF_SYNTAX', text);
    assert.equal(e.message, msg, text);
    assert.equal(e.line, line, text);
    assert.equal(e.file, 'bad.conf', text);
  }
});

test('positions: map values carry their key position, array elements their own', () => {
  const m = parseConf('\n  outer {\n    inner: 5\n  }\nlist: [a,\n  b]\n', { file: 'p.conf', env: {} });
  const outer = get(m, 'outer');
  assert.deepEqual([outer.file, outer.line, outer.column], ['p.conf', 2, 3]);
  const inner = (outer.value as ConfMap).get('inner')!;
  assert.deepEqual([inner.line, inner.column], [3, 5]);
  const list = get(m, 'list').value as ConfNode[];
  assert.deepEqual(
    list.map((n) => [n.line, n.column]),
    [
      [5, 8],
      [6, 3],
    ],
  );
});

test('includes are relative to the including file, nested and inside blocks', () => {
  write('inc/base.conf', 'port: 4333\ninclude deeper/more.conf\n');
  write('inc/deeper/more.conf', 'debug: true\n');
  write('inc/auth.conf', 'user: u\npassword: p\n');
  const main = write('main.conf', "include 'inc/base.conf'\nauthorization {\n  include \"inc/auth.conf\"\n}\n");
  const m = parseConfFile(main);
  assert.deepEqual(confMapToPlain(m), { port: 4333, debug: true, authorization: { user: 'u', password: 'p' } });
  // Values keep the file they came from.
  assert.equal(get(m, 'debug').file, join(dir, 'inc/deeper/more.conf'));
  assert.equal(get(m, 'port').line, 1);
});

test('included keys are visible as variables afterwards', () => {
  write('vars.conf', 'PORT: 4999\n');
  const main = write('usevars.conf', 'include vars.conf\nport: $PORT\n');
  assert.equal(confMapToPlain(parseConfFile(main)).port, 4999);
});

test('a missing include: error naming the include and the path', () => {
  const main = write('missing.conf', 'port: 1\ninclude ./nope.conf\n');
  try {
    parseConfFile(main);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'CONF_INCLUDE');
    assert.equal(e.message, `error parsing include file './nope.conf', open ${join(dir, 'nope.conf')}: no such file or directory`);
    assert.equal(e.file, main);
    assert.equal(e.line, 2);
  }
});

test('an error inside an include points at the included file', () => {
  write('broken.conf', 'a: 1\nb: [\n');
  const main = write('inc-broken.conf', 'include broken.conf\n');
  try {
    parseConfFile(main);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'CONF_INCLUDE');
    assert.match(e.message, /^error parsing include file 'broken.conf', Parse error on line 3: /);
    assert.equal(e.file, join(dir, 'broken.conf'));
    assert.equal(e.line, 3);
  }
});

test('include loops are detected and name the file', () => {
  const a = write('loop/a.conf', 'include b.conf\n');
  write('loop/b.conf', 'include a.conf\n');
  try {
    parseConfFile(a);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'CONF_INCLUDE_LOOP');
    assert.match(e.message, /^error parsing include file 'b.conf', error parsing include file 'a.conf', include loop detected: '.*a\.conf'/);
  }
  const self = write('loop/self.conf', 'include self.conf\n');
  assert.throws(() => parseConfFile(self), (e: unknown) => e instanceof ConfigError && e.code === 'CONF_INCLUDE_LOOP');
});

test('a missing top-level file: Go-style open error', () => {
  const p = join(dir, 'does-not-exist.conf');
  assert.throws(
    () => parseConfFile(p),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONF_READ' && e.message === `open ${p}: no such file or directory`,
  );
});

test('key redefinition: the last one wins', () => {
  assert.deepEqual(plain('a: 1\na: 2\n'), { a: 2 });
});
