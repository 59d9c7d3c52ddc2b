import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReload, ReloadError } from '../../../src/config/reload.js';
import { defaultOptions, type Options } from '../../../src/config/options.js';

const js = (extra: Partial<Options> = {}): Options => ({ ...defaultOptions(), jetstream: true, storeDir: '/sd', ...extra });
const refusal = (cur: Options, next: Options, running = true): string => {
  try {
    planReload(cur, next, { jetstream: running });
  } catch (e) {
    assert.ok(e instanceof ReloadError);
    return e.message;
  }
  return 'accepted';
};

test('reload: a running JetStream keeps its store dir and limits', () => {
  assert.equal(refusal(js(), js({ storeDir: '/other' })), 'config reload not supported for jetstream storage directory');
  assert.equal(refusal(js(), js({ storeDir: '' })), 'config reload not supported for jetstream storage dir');
  assert.equal(refusal(js(), js({ jetstreamMaxMemory: 10 })), 'config reload not supported for jetstream dynamic max memory and store');
  assert.equal(refusal(js({ jetstreamMaxStore: 5 }), js({ jetstreamMaxStore: 10 })), 'config reload not supported for jetstream max memory and store');
  assert.equal(refusal(js({ jetstreamMaxStore: 5 }), js()), 'config reload not supported for jetstream max memory and max store');
  // not running: accepted
  assert.equal(refusal(js(), js({ storeDir: '/other', jetstreamMaxMemory: 10 }), false), 'accepted');
  // disabled by the same reload: dropping the dir and limits is fine
  assert.equal(refusal(js({ jetstreamMaxStore: 5 }), { ...defaultOptions() }), 'accepted');
});

test('reload: other JetStream fields are refused with their Go names', () => {
  assert.equal(refusal(js(), js({ jetstreamDomain: 'x' })), 'config reload not supported for JetStreamDomain: old=, new=x');
  assert.equal(refusal(js(), js({ jetstreamCipher: 'aes' })), 'config reload not supported for JetStreamCipher: old=ChaCha20-Poly1305, new=AES-GCM');
  assert.equal(
    refusal(js(), js({ jetstreamLimits: { maxRequestBatch: 0, maxAckPending: 10, maxHAAssets: 0, duplicateWindowMs: 60000 } })),
    'config reload not supported for JetStreamLimits: old={0 0 0 0s}, new={0 10 0 1m0s}',
  );
  assert.equal(refusal(js(), js({ jsAccDefaultDomain: { B: 'y', A: 'x' } })), 'config reload not supported for JsAccDefaultDomain: old=map[], new=map[A:x B:y]');
});

test('reload: enabling, disabling, restarting', () => {
  let p = planReload(js(), { ...js(), jetstream: false }, { jetstream: true });
  assert.equal(p.jetstream, false);
  assert.deepEqual(p.logLines, ['Reloaded: authorization users', 'Reloaded: accounts', 'Reloaded: JetStream']);
  p = planReload({ ...js(), jetstream: false }, js(), { jetstream: false });
  assert.equal(p.jetstream, true);
  // on in both, but not running (it failed to start): a restart
  p = planReload(js(), js(), { jetstream: false });
  assert.equal(p.jetstream, true);
  assert.ok(p.logLines.includes('Reloaded: JetStream'));
  p = planReload(js(), js(), { jetstream: true });
  assert.equal(p.jetstream, undefined);
  assert.ok(!p.logLines.includes('Reloaded: JetStream'));
});
