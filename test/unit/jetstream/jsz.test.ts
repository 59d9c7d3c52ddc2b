import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsz, jetStreamVarz, accountDetail, configJSON, uint64 } from '../../../src/jetstream/jsz.js';
import { goJSONBig } from '../../../src/monitor/gofmt.js';
import type { JszOptions } from '../../../src/server/features.js';
import { fakeAccount, fakeConsumer, fakeJetStream, fakeStream } from './fake-views.js';

const NOW = '2026-12-06T00:00:00Z';
const opts = (o: Partial<JszOptions> = {}): JszOptions => ({
  account: '',
  accounts: false,
  streams: false,
  consumers: false,
  config: false,
  leaderOnly: false,
  offset: 0,
  limit: 0,
  ...o,
});

test('empty JetStream: the reference keys, in order', () => {
  const js = fakeJetStream([fakeAccount('$G', [], { memoryUsed: 0, storeUsed: 0, apiTotal: 0, apiErrors: 0 })], { apiTotal: 0, apiErrors: 0 });
  const doc = jsz(js, opts(), NOW);
  assert.deepEqual(Object.keys(doc), [
    'server_id', 'now', 'config', 'memory', 'storage', 'reserved_memory', 'reserved_storage', 'accounts', 'ha_assets', 'api',
    'streams', 'consumers', 'messages', 'bytes',
  ]);
  assert.deepEqual(doc.config, { max_memory: 1000, max_storage: 2000, store_dir: '/sd/jetstream' });
  assert.equal(doc.accounts, 1);
  assert.deepEqual(doc.api, { total: 0, errors: 0 });
  assert.deepEqual(jetStreamVarz(js), {
    config: { max_memory: 1000, max_storage: 2000, store_dir: '/sd/jetstream' },
    stats: { memory: 0, storage: 0, reserved_memory: 0, reserved_storage: 0, accounts: 1, ha_assets: 0, api: { total: 0, errors: 0 } },
  });
});

test('accounts: reservations as uint64, totals, filters', () => {
  const a = fakeAccount('A', [fakeStream('S1', 3, 300, [fakeConsumer('C1', 'S1')]), fakeStream('S2', 2, 200)]);
  const b = fakeAccount('B', [], { limits: { '': { ...fakeAccount('x', []).limits['']!, maxMemory: 1024, maxStore: 4096 } } });
  const g = fakeAccount('$G', [], { limits: {} });
  const js = fakeJetStream([b, a, g]);
  let doc = jsz(js, opts(), NOW);
  assert.equal(doc.streams, 2);
  assert.equal(doc.consumers, 1);
  assert.equal(doc.messages, 5);
  assert.equal(doc.bytes, 500);
  assert.equal(doc.memory, 30);
  assert.equal(doc.storage, 60);
  assert.equal(doc.account_details, undefined);

  doc = jsz(js, opts({ accounts: true }), NOW);
  const details = doc.account_details as Record<string, unknown>[];
  assert.deepEqual(details.map((d) => d.name), ['B', 'A', '$G']);
  assert.deepEqual(Object.keys(details[1]!), ['name', 'id', 'memory', 'storage', 'reserved_memory', 'reserved_storage', 'accounts', 'ha_assets', 'api']);
  assert.equal(details[0]!.reserved_memory, 1024);
  assert.equal(details[1]!.reserved_memory, 18446744073709551615n);
  assert.equal(details[2]!.reserved_memory, 0);
  assert.match(goJSONBig(details[1]), /"reserved_memory": 18446744073709551615,/);

  // offset sorts by name; limit cuts
  doc = jsz(js, opts({ accounts: true, offset: 1, limit: 1 }), NOW);
  assert.deepEqual((doc.account_details as Record<string, unknown>[]).map((d) => d.name), ['A']);
  doc = jsz(js, opts({ accounts: true, offset: 5 }), NOW);
  assert.equal(doc.account_details, undefined);
  // acc= picks one account even without accounts=true
  doc = jsz(js, opts({ account: 'B' }), NOW);
  assert.deepEqual((doc.account_details as Record<string, unknown>[]).map((d) => d.name), ['B']);
});

test('streams and consumers: details, config only when asked', () => {
  const a = fakeAccount('A', [fakeStream('S1', 3, 300, [fakeConsumer('C1', 'S1')])], { nameTag: 'Alpha' });
  const js = fakeJetStream([a], { clusterName: 'c1' });
  let d = (jsz(js, opts({ consumers: true }), NOW).account_details as Record<string, unknown>[])[0]!;
  assert.equal(d.name, 'Alpha');
  assert.equal(d.id, 'A');
  const sd = (d.stream_detail as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(sd), ['name', 'created', 'cluster', 'state', 'consumer_detail']);
  assert.deepEqual(sd.cluster, { name: 'c1', leader: 'srv-a' });
  const cd = (sd.consumer_detail as Record<string, unknown>[])[0]!;
  assert.equal(cd.config, undefined, 'consumer config only with config=true');
  d = (jsz(js, opts({ streams: true, config: true }), NOW).account_details as Record<string, unknown>[])[0]!;
  const sd2 = (d.stream_detail as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(sd2), ['name', 'created', 'cluster', 'config', 'state']);
  d = accountDetail(js, a, true, true, true);
  const cd2 = ((d.stream_detail as Record<string, unknown>[])[0]!.consumer_detail as Record<string, unknown>[])[0]!;
  assert.deepEqual(cd2.config, { durable_name: 'C1', description: 'desc of C1', ack_policy: 'explicit' });
});

test('config JSON and uint64', () => {
  assert.deepEqual(configJSON({ maxMemory: 1, maxStore: 2, storeDir: '/x', domain: 'hub', compressOk: true }), {
    max_memory: 1,
    max_storage: 2,
    store_dir: '/x',
    domain: 'hub',
    compress_ok: true,
  });
  assert.equal(uint64(5), 5);
  assert.equal(uint64(-1), 18446744073709551615n);
});
