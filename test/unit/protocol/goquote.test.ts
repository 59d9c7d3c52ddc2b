// goQuote (Go's strconv.Quote, fmt %q) against outputs of the reference:
// each expected text is what nats-server 2.9.10 logged as
// `Client parser ERROR, state=0, i=0: proto='<here>...'` for the bytes (hex)
// followed by "\r\n" (its snippet stops before the last byte, so "\r" ends it).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRuneGo, goQuote, goQuoteBytes } from '../../../src/protocol/goquote.js';
import { protoSnippet } from '../../../src/protocol/parser.js';

const FROM_REFERENCE_LOG: [string, string][] = [
  ["0b9d", "\"\\v\\x9d\\r\""],
  ["01", "\"\\x01\\r\""],
  ["7fff", "\"\\x7f\\xff\\r\""],
  ["00070809", "\"\\x00\\a\\b\\t\\r\""],
  ["0a0c5c22", "\"\\n\\f\\\\\\\"\\r\""],
  ["27606a", "\"'`j\\r\""],
  ["c3a9", "\"é\\r\""],
  ["e282ac", "\"€\\r\""],
  ["f09f9880", "\"😀\\r\""],
  ["e282", "\"\\xe2\\x82\\r\""],
  ["f09f98", "\"\\xf0\\x9f\\x98\\r\""],
  ["eda080", "\"\\xed\\xa0\\x80\\r\""],
  ["c0af", "\"\\xc0\\xaf\\r\""],
  ["c2a0", "\"\\u00a0\\r\""],
  ["e2808b", "\"\\u200b\\r\""],
  ["efbfbd", "\"�\\r\""],
  ["f4908080", "\"\\xf4\\x90\\x80\\x80\\r\""],
  ["c2ad", "\"\\u00ad\\r\""],
  ["e280a8", "\"\\u2028\\r\""],
  ["cdb8", "\"\\u0378\\r\""],
  ["f3a08081", "\"\\U000e0001\\r\""],
  ["d8b0", "\"ذ\\r\""],
  ["e0a080", "\"ࠀ\\r\""],
  ["ff", "\"\\xff\\r\""],
  ["80", "\"\\x80\\r\""],
  ["c2", "\"\\xc2\\r\""],
  ["e19ab0", "\"ᚰ\\r\""],
  ["5a20", "\"Z \\r\""],
  ["f0908080", "\"𐀀\\r\""],
  ["f0af0000", "\"\\xf0\\xaf\\x00\\x00\\r\""],
];

describe('goQuoteBytes matches the reference log (fmt %q)', () => {
  for (const [hex, expected] of FROM_REFERENCE_LOG) {
    it(hex, () => {
      const bytes = Buffer.concat([Buffer.from(hex, 'hex'), Buffer.from('\r')]);
      assert.equal(goQuoteBytes(bytes), expected);
      // protoSnippet of the whole read (bytes + "\n") is the same text
      assert.equal(protoSnippet(Buffer.concat([bytes, Buffer.from('\n')]), 0, 32), expected);
    });
  }
});

describe('goQuote', () => {
  it('escapes quotes and backslashes, keeps printable text', () => {
    assert.equal(goQuote('a"b\\c d'), '"a\\"b\\\\c d"');
    assert.equal(goQuote(''), '""');
    assert.equal(goQuote('héllo €'), '"héllo €"');
  });
  it('a lone surrogate is U+FFFD, printed as is (Go string conversion)', () => {
    assert.equal(goQuote('x\ud800y'), '"x\ufffdy"');
  });
  it('range of a buffer', () => {
    assert.equal(goQuoteBytes(Buffer.from('abcdef'), 1, 3), '"bc"');
  });
});

describe('decodeRuneGo (utf8.DecodeRune)', () => {
  const dec = (hex: string): [number, number] => {
    const b = Buffer.from(hex, 'hex');
    const d = decodeRuneGo(b, 0, b.length);
    return [d & 0x1fffff, d >>> 21];
  };
  it('well-formed sequences', () => {
    assert.deepEqual(dec('41'), [0x41, 1]);
    assert.deepEqual(dec('c3a9'), [0xe9, 2]);
    assert.deepEqual(dec('e282ac'), [0x20ac, 3]);
    assert.deepEqual(dec('f09f9880'), [0x1f600, 4]);
    assert.deepEqual(dec('f48fbfbf'), [0x10ffff, 4]);
  });
  it('everything else is RuneError of width 1', () => {
    for (const h of ['80', 'c0af', 'c1bf', 'e282', 'e08080', 'eda080', 'f08f8080', 'f4908080', 'f5808080', 'ff', 'f09f98']) {
      assert.deepEqual(dec(h), [0xfffd, 1], h);
    }
  });
});
