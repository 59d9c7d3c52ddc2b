// The monitor with JetStream running: a JetStreamService made of the
// jetstream/jsz.ts documents over fake views stands in for the runtime.

import test from 'node:test';
import assert from 'node:assert/strict';
import { get, getJSON, startEmbedded, type Embedded } from './helpers.js';
import type { JetStreamService, JszOptions } from '../../../src/server/features.js';
import { jetStreamVarz, jsz as jszDoc } from '../../../src/jetstream/jsz.js';
import { goTime, nowMs } from '../../../src/monitor/gofmt.js';
import { fakeAccount, fakeConsumer, fakeJetStream, fakeStream } from '../jetstream/fake-views.js';

function fakeService(health: string | null = null, leader = true): JetStreamService {
  const view = fakeJetStream([
    fakeAccount('$G', [fakeStream('ORDERS', 3, 300, [fakeConsumer('C1', 'ORDERS')])]),
    fakeAccount('B', [], { limits: {} }),
  ]);
  return {
    start: async () => {},
    shutdown: async () => {},
    varz: () => jetStreamVarz(view),
    jsz: (o: JszOptions) => jszDoc(view, o, goTime(nowMs(), true)),
    accountEnabled: (a) => a === '$G' || a === 'B',
    accountsChanged: () => {},
    subscriptionsAdded: () => {},
    healthError: () => health,
    isLeader: () => leader,
  };
}

async function withJetStream(health: string | null = null, leader = true): Promise<Embedded> {
  const e = await startEmbedded({ jetstream: true });
  e.srv.jetstream = fakeService(health, leader);
  return e;
}

test('varz and jsz read the running JetStream', async (t) => {
  const e = await withJetStream();
  t.after(() => e.stop());
  const v = await getJSON(`${e.base}/varz`);
  assert.deepEqual(Object.keys(v.jetstream as object), ['config', 'stats']);
  const j = await getJSON(`${e.base}/jsz?accounts=true`);
  assert.equal(j.disabled, undefined);
  assert.equal(j.streams, 1);
  const details = j.account_details as Record<string, unknown>[];
  assert.deepEqual(details.map((d) => d.name), ['$G', 'B']);
  // a -1 reservation is Go's uint64: the exact digits on the wire
  const raw = await get(`${e.base}/jsz?acc=%24G`);
  assert.match(raw.text, /"reserved_memory": 18446744073709551615,/);
  const s = await getJSON(`${e.base}/jsz?consumers=1&config=true&acc=%24G`);
  const sd = ((s.account_details as Record<string, unknown>[])[0]!.stream_detail as Record<string, unknown>[])[0]!;
  assert.equal(sd.name, 'ORDERS');
  assert.equal((sd.consumer_detail as unknown[]).length, 1);
  // the reference's parameter errors, in its order
  const bad = await get(`${e.base}/jsz?offset=x&accounts=y`);
  assert.equal(bad.status, 400);
  assert.equal(bad.text, `Error decoding boolean for 'accounts': strconv.ParseBool: parsing "y": invalid syntax`);
  // a lone server is the leader
  assert.equal((await get(`${e.base}/jsz?leader-only=true`)).status, 200);
  const acc = await getJSON(`${e.base}/accountz?acc=%24G`);
  assert.equal((acc.account_detail as Record<string, unknown>).jetstream_enabled, true);
});

test('jsz leader-only on a clustered server that does not lead the meta group', async (t) => {
  const e = await withJetStream(null, false);
  t.after(() => e.stop());
  const l = await get(`${e.base}/jsz?leader-only=true`);
  assert.equal(l.status, 400);
  assert.equal(l.text, 'filtered response: not leader');
  assert.equal((await get(`${e.base}/jsz`)).status, 200);
});

test('jsz and healthz without a running JetStream', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());
  const j = await getJSON(`${e.base}/jsz`);
  assert.equal(j.disabled, true);
  assert.deepEqual(j.config, { max_memory: 0, max_storage: 0 });
  const l = await get(`${e.base}/jsz?leader-only=true`);
  assert.equal(l.status, 400);
  assert.equal(l.text, 'filtered response: not leader');
  assert.equal((await get(`${e.base}/healthz?js-enabled-only=true`)).text, '{"status":"ok"}');
  const v = await getJSON(`${e.base}/varz`);
  assert.deepEqual(v.jetstream, {});
  const acc = await getJSON(`${e.base}/accountz?acc=%24G`);
  assert.equal((acc.account_detail as Record<string, unknown>).jetstream_enabled, false);
});

test('healthz: js-enabled-only skips the runtime check, js-enabled is deprecated', async (t) => {
  const e = await withJetStream('JetStream stream \'$G > ORDERS\' is not current');
  t.after(() => e.stop());
  const h = await get(`${e.base}/healthz`);
  assert.equal(h.status, 503);
  assert.equal(h.text, `{"status":"unavailable","error":"JetStream stream '$G \\u003e ORDERS' is not current"}`);
  assert.equal((await get(`${e.base}/healthz?js-enabled-only=true`)).text, '{"status":"ok"}');
  assert.equal((await get(`${e.base}/healthz?js-enabled=true`)).text, '{"status":"ok"}');
  assert.ok(e.logs.includes('[WRN] Healthcheck: js-enabled deprecated, use js-enabled-only instead'));
  assert.equal((await get(`${e.base}/healthz?js-server-only=true`)).status, 503);
  e.srv.jetstream = null;
  const off = await get(`${e.base}/healthz?js-enabled-only=true`);
  assert.equal(off.text, '{"status":"unavailable","error":"JetStream not enabled (10076)"}');
});

test('metrics: JetStream gauges with the exporter names', async (t) => {
  const e = await withJetStream();
  t.after(() => e.stop());
  const g = await get(`${e.base}/metrics`);
  assert.equal(g.status, 200);
  const line = (name: string) => g.text.split('\n').find((l) => l.startsWith(name + '{'));
  const server = line('jetstream_server_total_streams');
  assert.ok(server, g.text);
  assert.ok(server.includes(`server_id="${e.srv.serverId}"`));
  assert.match(server, /is_meta_leader="true"/);
  assert.match(server, / 1$/);
  assert.match(line('jetstream_server_jetstream_disabled')!, / 0$/);
  assert.match(line('jetstream_server_max_memory')!, / 1000$/);
  assert.match(line('jetstream_server_total_message_bytes')!, / 300$/);
  const st = line('jetstream_stream_total_messages')!;
  assert.match(st, /stream_name="ORDERS"/);
  assert.match(st, /account="\$G"/);
  assert.match(st, /stream_leader="srv-a"/);
  assert.match(st, / 3$/);
  const c = line('jetstream_consumer_num_pending')!;
  assert.match(c, /consumer_name="C1"/);
  assert.match(c, /consumer_desc="desc of C1"/);
  assert.match(c, / 4$/);
  assert.match(line('jetstream_consumer_ack_floor_stream_seq')!, / 6$/);
});

test('metrics: JetStream disabled', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());
  const g = await get(`${e.base}/metrics`);
  const l = g.text.split('\n').find((x) => x.startsWith('jetstream_server_jetstream_disabled{'));
  assert.ok(l);
  assert.match(l, / 1$/);
  assert.ok(!g.text.includes('jetstream_stream_total_messages{'));
});
