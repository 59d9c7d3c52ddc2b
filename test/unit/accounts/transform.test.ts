// Unit tests of subject transforms (server/accounts.go transform).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SubjectTransform, TransformError, transformTokenize, transformUntokenize } from '../../../src/accounts/transform.js';

describe('SubjectTransform', () => {
  it('$N and {{wildcard(N)}} reorder wildcard tokens', () => {
    const t = SubjectTransform.create('a.*.*', 'b.$2.$1');
    assert.equal(t.match('a.x.y'), 'b.y.x');
    assert.equal(t.match('a.x'), null);
    assert.equal(t.match('z.x.y'), null);
    const m = SubjectTransform.create('a.*.*', 'b.{{wildcard(2)}}.{{ Wildcard( 1 ) }}');
    assert.equal(m.match('a.x.y'), 'b.y.x');
  });

  it('a trailing > carries the rest of the subject', () => {
    const t = SubjectTransform.create('foo.>', 'bar.>');
    assert.equal(t.match('foo.a.b.c'), 'bar.a.b.c');
    assert.equal(t.transformSubject('foo.x'), 'bar.x');
  });

  it('a literal source maps to its literal destination', () => {
    const t = SubjectTransform.create('foo', 'bar');
    assert.equal(t.match('foo'), 'bar');
    assert.equal(t.match('foox'), null);
  });

  it('partition is deterministic and within range', () => {
    const t = SubjectTransform.create('orders.*', 'orders.{{partition(5,1)}}.$1');
    const a = t.match('orders.123');
    assert.match(a!, /^orders\.[0-4]\.123$/);
    assert.equal(t.match('orders.123'), a);
    // FNV-1a 32 of "123" is 1916298011 (0x7237d31b); 1916298011 % 5 = 1
    assert.equal(a, 'orders.1.123');
  });

  it('split, splitFromLeft/Right, sliceFromLeft/Right', () => {
    assert.equal(SubjectTransform.create('a.*', 'b.{{split(1,-)}}').match('a.x-y--z'), 'b.x.y.z');
    assert.equal(SubjectTransform.create('a.*', 'b.{{splitfromleft(1,2)}}').match('a.abcd'), 'b.ab.cd');
    assert.equal(SubjectTransform.create('a.*', 'b.{{SplitFromRight(1,1)}}').match('a.abcd'), 'b.abc.d');
    assert.equal(SubjectTransform.create('a.*', 'b.{{slicefromleft(1,3)}}').match('a.abcdefgh'), 'b.abc.def.gh');
    assert.equal(SubjectTransform.create('a.*', 'b.{{slicefromright(1,3)}}').match('a.abcdefgh'), 'b.ab.cde.fgh');
  });

  it('invalid transforms are refused', () => {
    assert.throws(() => SubjectTransform.create('a.*', 'b.*'), TransformError);
    assert.throws(() => SubjectTransform.create('a.>', 'b'), TransformError);
    assert.throws(() => SubjectTransform.create('a.*', 'b.$2'), TransformError);
    assert.throws(() => SubjectTransform.create('a.*.*', 'b.$1'), TransformError);
    assert.throws(() => SubjectTransform.create('a.*', 'b.{{nope(1)}}'), TransformError);
    assert.throws(() => SubjectTransform.create('a..b', 'c'), TransformError);
  });

  it('reverse maps back', () => {
    const t = SubjectTransform.create('a.*.*', 'b.$2.$1');
    const r = t.reverse()!;
    assert.equal(r.match('b.y.x'), 'a.x.y');
  });
});

describe('tokenize helpers', () => {
  it('transformTokenize numbers the * tokens', () => {
    assert.equal(transformTokenize('foo.*.bar.*'), 'foo.$1.bar.$2');
  });

  it('transformUntokenize restores them and lists the placeholders', () => {
    assert.deepEqual(transformUntokenize('foo.$1.bar.$2'), { subject: 'foo.*.bar.*', placeholders: ['$1', '$2'] });
  });
});
