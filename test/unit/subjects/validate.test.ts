import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  isValidLiteralSubject,
  isValidLiteralSubjectBytes,
  isValidPublishSubject,
  isValidSubject,
  isValidSubjectBytes,
  matchLiteral,
  numTokens,
  subjectHasWildcard,
  subjectIsLiteral,
  subjectIsLiteralBytes,
  subjectIsSubsetMatch,
  subjectsCollide,
  tokenAt,
} from '../../../src/subjects/validate.js';

function check(fn: (s: string) => boolean, cases: Array<[string, boolean]>): void {
  for (const [subject, want] of cases) {
    assert.equal(fn(subject), want, `${fn.name}(${JSON.stringify(subject)})`);
  }
}

// Case lists follow server/sublist_test.go (TestSublistValidSubjects,
// TestSublistValidLiteralSubjects, TestSubjectIsLiteral, ...), plus the
// whitespace and edge cases the reference code implies.
describe('isValidSubject', () => {
  it('accepts and rejects like sublist.go IsValidSubject', () => {
    check(isValidSubject, [
      ['', false],
      ['.', false],
      ['.foo', false],
      ['foo.', false],
      ['foo..bar', false],
      ['>.bar', false],
      ['foo.>.bar', false],
      ['foo.>.>', false],
      ['foo', true],
      ['foo.bar.*', true],
      ['foo.bar.>', true],
      ['*', true],
      ['>', true],
      ['*.*.>', true],
      ['foo*', true],
      ['foo**', true],
      ['foo.**', true],
      ['foo*bar', true],
      ['foo.*bar', true],
      ['foo*.bar', true],
      ['*bar', true],
      ['foo>', true],
      ['foo.>>', true],
      ['foo>bar', true],
      ['foo.>bar', true],
      ['foo>.bar', true],
      ['>bar', true],
      ['>>.bar', true],
    ]);
  });

  it('rejects the reference whitespace set in any token, but not \\v', () => {
    check(isValidSubject, [
      ['foo bar', false],
      [' ', false],
      ['foo. ', false],
      ['foo.\t', false],
      ['a\tb.c', false],
      ['a.b\nc', false],
      ['a.b\rc', false],
      ['a.\f', false],
      ['a\fb', false],
      ['a.\v', true],
      ['a\vb', true],
      ['ünïcödé.ß', true],
      ['日本.*', true],
    ]);
  });

  it('publish subjects are valid and wildcard-free', () => {
    check(isValidPublishSubject, [
      ['foo', true],
      ['foo.bar', true],
      ['foo*.bar', true],
      ['foo.>bar', true],
      ['foo.*', false],
      ['>', false],
      ['foo..bar', false],
      ['foo bar', false],
      ['', false],
    ]);
  });
});

describe('isValidLiteralSubject', () => {
  it('accepts and rejects like sublist.go IsValidLiteralSubject', () => {
    check(isValidLiteralSubject, [
      ['', false],
      ['foo', true],
      ['.foo', false],
      ['foo.', false],
      ['foo..bar', false],
      ['foo.bar.*', false],
      ['foo.bar.>', false],
      ['*', false],
      ['>', false],
      ['foo*', true],
      ['foo**', true],
      ['foo.**', true],
      ['foo*bar', true],
      ['foo.*bar', true],
      ['foo*.bar', true],
      ['*bar', true],
      ['foo>', true],
      ['foo>>', true],
      ['foo.>>', true],
      ['foo>bar', true],
      ['foo.>bar', true],
      ['foo>.bar', true],
      ['>bar', true],
      // The reference does not look for whitespace here.
      ['foo bar', true],
    ]);
  });
});

describe('subjectIsLiteral', () => {
  it('finds whole-token wildcards only', () => {
    check(subjectIsLiteral, [
      ['foo', true],
      ['foo.bar', true],
      ['foo*.bar', true],
      ['*foo.>bar', true],
      ['', true],
      ['*', false],
      ['>', false],
      ['foo.*', false],
      ['foo.>', false],
      ['foo.*.>', false],
      ['foo.*.bar', false],
      ['foo.bar.>', false],
      ['*.bar', false],
    ]);
    assert.equal(subjectHasWildcard('foo.*'), true);
    assert.equal(subjectHasWildcard('foo*'), false);
  });
});

describe('byte-level variants', () => {
  const alphabet = fc.constantFrom('a', 'b', '.', '*', '>', ' ', '\t', '\v', '\f', 'é', '日');
  const subjects = fc.array(alphabet, { maxLength: 12 }).map((cs) => cs.join(''));

  it('agree with the string versions on arbitrary input, also at an offset', () => {
    fc.assert(
      fc.property(subjects, fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), (s, pre, post) => {
        const pb = Buffer.from(pre, 'utf8');
        const sb = Buffer.from(s, 'utf8');
        const buf = Buffer.concat([pb, sb, Buffer.from(post, 'utf8')]);
        const start = pb.length;
        const end = start + sb.length;
        assert.equal(isValidSubjectBytes(buf, start, end), isValidSubject(s));
        assert.equal(isValidLiteralSubjectBytes(buf, start, end), isValidLiteralSubject(s));
        assert.equal(subjectIsLiteralBytes(buf, start, end), subjectIsLiteral(s));
        assert.equal(isValidSubjectBytes(sb), isValidSubject(s));
      }),
      { numRuns: 3000 },
    );
  });
});

// A token-wise reading of NATS matching, used as the model.
function tokenMatch(literal: string, pattern: string): boolean {
  const lt = literal.split('.');
  const pt = pattern.split('.');
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === '>') return lt.length > i;
    if (i >= lt.length) return false;
    if (pt[i] !== '*' && pt[i] !== lt[i]) return false;
  }
  return lt.length === pt.length;
}

describe('matchLiteral', () => {
  it('matches the cases of sublist_test.go TestSublistMatchLiterals', () => {
    const cases: Array<[string, string, boolean]> = [
      ['foo', 'foo', true],
      ['foo', 'bar', false],
      ['foo', '*', true],
      ['foo', '>', true],
      ['foo.bar', '>', true],
      ['foo.bar', 'foo.>', true],
      ['foo.bar', 'bar.>', false],
      ['stats.test.22', 'stats.>', true],
      ['stats.test.22', 'stats.*.*', true],
      ['foo.bar', 'foo', false],
      ['stats.test.foos', 'stats.test.foos', true],
      ['stats.test.foos', 'stats.test.foo', false],
      ['stats.test', 'stats.test.*', false],
      ['stats.test.foos', 'stats.*', false],
      ['stats.test.foos', 'stats.*.*.foos', false],
      // wildcard characters that are not whole tokens are plain text
      ['*bar', '*bar', true],
      ['foo*', 'foo*', true],
      ['foo*bar', 'foo*bar', true],
      ['foo.***.bar', 'foo.***.bar', true],
      ['>bar', '>bar', true],
      ['foo>', 'foo>', true],
      ['foo>bar', 'foo>bar', true],
      ['foo.>>>.bar', 'foo.>>>.bar', true],
      ['foox', 'foo*', false],
      ['foo.bar', 'foo.*bar', false],
      // `>` needs at least one token; `*` exactly one
      ['foo', 'foo.>', false],
      ['foo', 'foo.*', false],
      ['a.b.c', '*.>', true],
      ['a', '*.>', false],
      ['a.b', '*.*.*', false],
      // a wildcard in the literal is just text to it
      ['foo.*', 'foo.*', true],
      ['foo.>', 'foo.bar', false],
      ['', '*', false],
      ['', '>', false],
      ['', '', true],
    ];
    for (const [lit, pat, want] of cases) {
      assert.equal(matchLiteral(lit, pat), want, `matchLiteral(${lit}, ${pat})`);
    }
  });

  it('agrees with token-wise matching for valid literals and patterns', () => {
    const lit = fc.constantFrom('a', 'b', 'ab', 'a*', '>b');
    const pat = fc.constantFrom('a', 'b', 'ab', 'a*', '>b', '*', '*', '>');
    const literal = fc.array(lit, { minLength: 1, maxLength: 5 }).map((t) => t.join('.'));
    const pattern = fc
      .array(pat, { minLength: 1, maxLength: 5 })
      .map((t) => t.map((x, i) => (x === '>' && i !== t.length - 1 ? '*' : x)).join('.'));
    fc.assert(
      fc.property(literal, pattern, (l, p) => {
        assert.ok(isValidSubject(p) && isValidPublishSubject(l));
        assert.equal(matchLiteral(l, p), tokenMatch(l, p));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('subjectsCollide', () => {
  it('follows sublist.go SubjectsCollide', () => {
    const cases: Array<[string, string, boolean]> = [
      ['foo.*', 'foo.*.bar.>', false],
      ['foo.*.bar.>', 'foo.*', false],
      ['foo.*', 'foo.foo', true],
      ['foo.*', '*.foo', true],
      ['foo.bar.>', '*.bar.foo', true],
      ['foo.bar', 'foo.bar', true],
      ['foo.bar', 'foo.baz', false],
      ['foo.*', 'bar.*', false],
      ['foo.>', 'foo.*.*', true],
      ['*.*', '*.*.*', false],
      ['>', 'a.b.c', true],
      ['a.>', 'a', false],
      ['*', '>', true],
    ];
    for (const [a, b, want] of cases) {
      assert.equal(subjectsCollide(a, b), want, `subjectsCollide(${a}, ${b})`);
    }
  });
});

describe('subjectIsSubsetMatch', () => {
  it('follows sublist_test.go TestIsSubsetMatch', () => {
    const cases: Array<[string, string, boolean]> = [
      ['foo.*', '>', true],
      ['foo.*', '*.*', true],
      ['foo.*', 'foo.*', true],
      ['foo.*', 'foo.bar', false],
      ['foo.>', '>', true],
      ['foo.>', '*.>', true],
      ['foo.>', 'foo.>', true],
      ['foo.>', 'foo.bar', false],
      ['foo..bar', 'foo.*', false],
      ['foo.*', 'foo..bar', false],
      ['foo.bar', 'foo.*', true],
      ['foo.bar', 'foo.bar', true],
      ['foo.bar.baz', 'foo.*', false],
      ['foo', 'foo.>', false],
      ['>', 'foo.>', false],
      ['*.bar', 'foo.*', false],
    ];
    for (const [subject, test, want] of cases) {
      assert.equal(subjectIsSubsetMatch(subject, test), want, `subjectIsSubsetMatch(${subject}, ${test})`);
    }
  });
});

describe('numTokens / tokenAt', () => {
  it('count and index tokens like sublist.go', () => {
    assert.equal(numTokens(''), 0);
    assert.equal(numTokens('foo'), 1);
    assert.equal(numTokens('foo.bar.baz'), 3);
    assert.equal(numTokens('foo..'), 3);
    assert.equal(tokenAt('foo.bar.baz.*', 0), '');
    assert.equal(tokenAt('foo.bar.baz.*', 1), 'foo');
    assert.equal(tokenAt('foo.bar.baz.*', 2), 'bar');
    assert.equal(tokenAt('foo.bar.baz.*', 3), 'baz');
    assert.equal(tokenAt('foo.bar.baz.*', 4), '*');
    assert.equal(tokenAt('foo.bar.baz.*', 5), '');
    assert.equal(tokenAt('foo', 1), 'foo');
    assert.equal(tokenAt('a..b', 2), '');
    assert.equal(tokenAt('a..b', 3), 'b');
  });
});
