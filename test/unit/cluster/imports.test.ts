// Shadow subjects of stream imports (cluster/imports.ts): the interest a
// subscription in an importing account stands for in the exporting account,
// as server/client.go addShadowSubscriptions computes it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Account, StreamImport } from '../../../src/accounts/account.js';
import { SubjectTransform, transformTokenize, transformUntokenize } from '../../../src/accounts/transform.js';
import { shadowSubjects } from '../../../src/cluster/imports.js';

function importer(from: string, to: string): Account {
  const a = new Account('A', 16);
  const b = new Account('B', 16);
  let tr: SubjectTransform | null = null;
  let usePub = false;
  let t = to;
  if (from.includes('*') || from.includes('>')) {
    if (to === from) usePub = true;
    else {
      tr = SubjectTransform.create(from, transformTokenize(to));
      t = transformUntokenize(to).subject;
    }
  }
  b.streamImports.push(new StreamImport(b, a, from, t, tr, usePub));
  return b;
}

const shadows = (acc: Account, subject: string) => shadowSubjects(acc, subject).map((s) => `${s.acc.name} ${s.subject}`);

describe('shadowSubjects', () => {
  it('a prefix import: exact, narrower, wider and overlapping subscriptions', () => {
    const b = importer('events.>', 'imp.events.>');
    assert.deepEqual(shadows(b, 'imp.events.>'), ['A events.>']);
    assert.deepEqual(shadows(b, 'imp.events.only.*'), ['A events.only.*']);
    assert.deepEqual(shadows(b, 'imp.>'), ['A events.>']);
    assert.deepEqual(shadows(b, '*.events.x'), ['A events.x']);
    assert.deepEqual(shadows(b, 'other.>'), []);
  });

  it('a `to` remapping with a wildcard', () => {
    const b = importer('orders.*', 'mine.orders.*');
    assert.deepEqual(shadows(b, 'mine.orders.*'), ['A orders.*']);
    assert.deepEqual(shadows(b, 'mine.orders.7'), ['A orders.7']);
    assert.deepEqual(shadows(b, 'mine.>'), ['A orders.*']);
  });

  it('a literal import and a wildcard import without renaming', () => {
    const lit = importer('price', 'price.usd');
    assert.deepEqual(shadows(lit, 'price.usd'), ['A price']);
    assert.deepEqual(shadows(lit, 'price.*'), ['A price']);
    const same = importer('metrics.>', 'metrics.>');
    assert.deepEqual(shadows(same, 'metrics.cpu'), ['A metrics.cpu']);
    assert.deepEqual(shadows(same, 'metrics.>'), ['A metrics.>']);
  });

  it('an invalid import (expired activation) announces nothing', () => {
    const b = importer('events.>', 'imp.events.>');
    b.streamImports[0]!.invalid = true;
    assert.deepEqual(shadows(b, 'imp.events.>'), []);
  });
});
