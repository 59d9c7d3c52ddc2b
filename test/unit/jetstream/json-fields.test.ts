import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { field, folded, str } from '../../../src/jetstream/json.js';
import { decodeStreamConfig } from '../../../src/jetstream/stream-config.js';

// encoding/json matches a field's name case-insensitively, the last matching
// key in document order winning: folded() must decide as field() does.
describe('folded field lookup', () => {
  it('reads lower-case objects directly, own keys only', () => {
    const o = JSON.parse('{"name":"S","subjects":["a"]}') as Record<string, unknown>;
    const f = folded(o);
    assert.equal(str(f, 'name'), 'S');
    assert.equal(field(f, 'NAME'), 'S');
    assert.equal(field(f, 'description'), undefined);
    // inherited properties are no fields
    assert.equal(field(f, 'constructor'), undefined);
    assert.equal(field(f, 'toString'), undefined);
  });

  it('takes the last of keys equal but for case, as field() on the raw object', () => {
    for (const text of ['{"Name":"A","name":"B"}', '{"name":"A","NAME":"B"}', '{"nAmE":"B"}', '{"name":"A","max_msgs":1,"Name":"B"}']) {
      const o = JSON.parse(text) as Record<string, unknown>;
      assert.equal(field(o, 'name'), 'B', text);
      assert.equal(field(folded(o), 'name'), 'B', text);
    }
  });

  it('decodes a stream config the same whatever the keys\' case', () => {
    const lower = decodeStreamConfig(JSON.parse('{"name":"S","subjects":["s.1"],"max_msgs":5,"storage":"memory","allow_direct":true}'));
    const mixed = decodeStreamConfig(JSON.parse('{"Name":"S","SUBJECTS":["s.1"],"Max_Msgs":5,"Storage":"memory","allow_DIRECT":true}'));
    assert.deepEqual(mixed, lower);
    assert.equal(lower.maxMsgs, 5);
    assert.equal(lower.storage, 'memory');
    assert.equal(lower.allowDirect, true);
  });

  it('leaves what is not an object to field(), as before', () => {
    for (const v of ['x', 5, true, [], ['a']] as unknown[]) {
      assert.equal(folded(v as Record<string, unknown>), v);
      assert.equal(field(folded(v as Record<string, unknown>), 'name'), undefined);
    }
    assert.equal(decodeStreamConfig('x' as unknown as Record<string, unknown>).name, '');
    assert.throws(() => decodeStreamConfig(null as unknown as Record<string, unknown>), TypeError);
  });

  it('keeps rejecting wrong types', () => {
    assert.throws(() => decodeStreamConfig(JSON.parse('{"name":1}')), /name/);
    assert.throws(() => decodeStreamConfig(JSON.parse('{"Max_Msgs":"x"}')), /max_msgs/);
  });
});
