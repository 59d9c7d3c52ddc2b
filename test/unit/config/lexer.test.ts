import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexConf } from '../../../src/config/conf.js';
import { GO_LEX_VECTORS } from './go-lex-vectors.js';

function compareLikeGo(input: string, expected: { type: string; val: string; line: number; pos: number }[]): void {
  const got = lexConf(input);
  for (let i = 0; i < expected.length; i++) {
    const g = got[i];
    assert.ok(g, `missing item ${i} for ${JSON.stringify(input)}`);
    if (g.type === 'EOF') {
      // An early EOF only passes if the reference also expected one here.
      assert.equal(expected[i].type, 'EOF', `early EOF at item ${i} for ${JSON.stringify(input)}`);
      return;
    }
    assert.deepEqual(g, expected[i], `item ${i} for ${JSON.stringify(input)}`);
    if (g.type === 'Error') return;
  }
}

test('reproduces every token stream of the reference lexer tests', () => {
  assert.ok(GO_LEX_VECTORS.length > 100);
  for (const v of GO_LEX_VECTORS) {
    compareLikeGo(v.input, v.items);
  }
});

test('a block string ending at a NUL is closed like EOF (TestBlockStringEOF)', () => {
  const input = '\nnumbers (\n1234567890\n)\0';
  compareLikeGo(input, [
    { type: 'Key', val: 'numbers', line: 2, pos: 1 },
    { type: 'String', val: '\n1234567890\n', line: 4, pos: 10 },
  ]);
});

test('positions: first-line columns are 0-based, later lines 1-based', () => {
  const items = lexConf('a: 1\n  b: 2\n');
  assert.deepEqual(
    items.filter((i) => i.type === 'Key').map((i) => [i.val, i.line, i.pos]),
    [
      ['a', 1, 0],
      ['b', 2, 3],
    ],
  );
});

test('columns count UTF-8 bytes', () => {
  const items = lexConf('k: "é" x: 1\n');
  const err = items[items.length - 1];
  assert.equal(err.type, 'Error');
  // 'k: "é" ' is 8 bytes; the error is reported after reading 'x'.
  assert.equal(err.pos, 9);
});

test('"[1]" lexes as the string "1]" and leaves the array open (reference quirk)', () => {
  const items = lexConf('a: [1]\n');
  assert.deepEqual(
    items.slice(0, 3).map((i) => [i.type, i.val]),
    [
      ['Key', 'a'],
      ['ArrayStart', ''],
      ['String', '1]'],
    ],
  );
});

test('escape errors and hex escapes', () => {
  const bad = lexConf('a: "\\q"');
  assert.equal(bad[bad.length - 1].type, 'Error');
  assert.match(bad[bad.length - 1].val, /^Invalid escape character 'q'/);
  const hex = lexConf('a: "\\x41\\x42"');
  // The reference subtracts the unescaped length from the end offset, so
  // escapes push the column to the right (12 - 2 = 10).
  assert.deepEqual(hex[1], { type: 'String', val: 'AB', line: 1, pos: 10 });
});

test('an unterminated double-quoted string is an error', () => {
  const items = lexConf('a: "abc\n');
  assert.deepEqual(items[items.length - 1], { type: 'Error', val: 'Unexpected EOF.', line: 2, pos: 1 });
});

test('include keyword only when followed by whitespace', () => {
  assert.deepEqual(
    lexConf('include "x.conf"\n').slice(0, 1).map((i) => [i.type, i.val]),
    [['Include', 'x.conf']],
  );
  assert.deepEqual(
    lexConf('include: 5\n').slice(0, 2).map((i) => [i.type, i.val]),
    [
      ['Key', 'include'],
      ['Integer', '5'],
    ],
  );
  const err = lexConf('include [x]\n');
  assert.equal(err[err.length - 1].val, 'Expected include value but found start of an array');
});
