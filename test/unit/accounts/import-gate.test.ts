import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Sublist } from '../../../src/subjects/sublist.js';
import { Account } from '../../../src/accounts/account.js';
import { TSub, sub } from '../subjects/helpers.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** mayMatchAt must agree with mayMatch (and both with match) on every subject. */
function agrees(sl: Sublist<TSub>, subjects: string[]): void {
  for (const s of subjects) {
    const b = bytes(`xx ${s} yy`);
    const any = sl.match(s).psubs.length > 0;
    assert.equal(sl.mayMatch(s), sl.mayMatchAt(b, 3, 3 + s.length), s);
    if (any) assert.equal(sl.mayMatch(s), true, `${s} matches, so it may match`);
  }
}

test('Sublist.mayMatch/mayMatchAt follow inserts and removes of first tokens', () => {
  const sl = new Sublist<TSub>();
  const subjects = ['$SYS.REQ.X', '$SYS', '$SY', 'foo', 'foo.bar', 'fo', 'bar.baz', '_R_.abc.def', 'a'];
  agrees(sl, subjects);
  assert.equal(sl.mayMatch('foo'), false);
  const s1 = sub('$SYS.REQ.*');
  sl.insert(s1);
  agrees(sl, subjects);
  assert.equal(sl.mayMatchAt(bytes('$SYS.REQ.X'), 0, 10), true);
  assert.equal(sl.mayMatchAt(bytes('$SY'), 0, 3), false);
  assert.equal(sl.mayMatchAt(bytes('foo'), 0, 3), false);
  const s2 = sub('foo.>');
  sl.insert(s2);
  agrees(sl, subjects);
  assert.equal(sl.mayMatchAt(bytes('foo.bar'), 0, 7), true);
  assert.deepEqual(sl.firstTokens()?.sort(), ['$SYS', 'foo']);
  sl.remove(s2);
  agrees(sl, subjects);
  assert.equal(sl.mayMatchAt(bytes('foo.bar'), 0, 7), false, 'the removed first token is forgotten');
  // more than four first tokens: mayMatch looks the token up, mayMatchAt says maybe
  for (const t of ['a', 'b', 'c', 'd', 'e']) sl.insert(sub(`${t}.x`));
  assert.equal(sl.mayMatch('a.x'), true);
  assert.equal(sl.mayMatch('z.x'), false);
  assert.equal(sl.mayMatchAt(bytes('z.x'), 0, 3), true);
  // a wildcard first token: anything may match
  sl.insert(sub('*.y'));
  assert.equal(sl.firstTokens(), null);
  assert.equal(sl.mayMatch('q.y'), true);
  assert.equal(sl.mayMatchAt(bytes('q'), 0, 1), true);
});

test('Account.importGate opens exactly the first bytes an import path can start with', () => {
  const acc = new Account('A', 0);
  acc.refreshCrossAccount();
  assert.equal(acc.crossAccount, false);
  assert.equal(acc.importGate.every((v) => v === 0), true, 'closed without imports');

  const idx = new Sublist<TSub>();
  idx.insert(sub('$SYS.REQ.ACCOUNT.PING.CONNZ'));
  idx.insert(sub('svc.>'));
  acc.serviceImportIndex = idx as unknown as Account['serviceImportIndex'];
  acc.refreshCrossAccount();
  assert.equal(acc.crossAccount, true);
  const open = (c: string): boolean => acc.importGate[c.charCodeAt(0)] === 1;
  assert.equal(open('$'), true);
  assert.equal(open('s'), true);
  assert.equal(open('f'), false);
  assert.equal(open('_'), false);

  acc.respPrefix = '_R_.abcdef.';
  acc.refreshCrossAccount();
  assert.equal(open('_'), true, 'responses on _R_');
  assert.equal(open('f'), false);

  // a wildcard first token in the service imports: every subject may need the import path
  idx.insert(sub('*.q'));
  acc.refreshCrossAccount();
  assert.equal(acc.importGate.every((v) => v === 1), true);

  // stream importers match any subject
  const b = new Account('B', 0);
  b.streamImporters = [];
  b.refreshCrossAccount();
  assert.equal(b.importGate.every((v) => v === 1), true);
  b.streamImporters = null;
  b.refreshCrossAccount();
  assert.equal(b.importGate.every((v) => v === 0), true);
});
