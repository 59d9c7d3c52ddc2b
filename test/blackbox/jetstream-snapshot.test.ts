// Stream snapshot and restore through the API exchange the reference uses
// (chunks with ack subjects, an empty message at the end; restore chunks each
// acknowledged, the last empty one answered with the stream's info), on a
// tsnats process: a stream with deletes, headers and a durable consumer's
// stored state comes back identical. The answers to bad requests are
// compared with nats-server 2.9.10.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startJs, startJsPair, jsRequest, maskedAnswer } from '../helpers/jetstream.js';

async function takeSnapshot(nc: NatsConnection, stream: string, chunkSize: number): Promise<{ reply: Record<string, unknown>; data: Buffer }> {
  const deliver = createInbox();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    nc.subscribe(deliver, {
      callback: (_e, m) => {
        if (m.data.length === 0) return resolve();
        chunks.push(Buffer.from(m.data));
        if (m.reply) nc.publish(m.reply);
      },
    });
  });
  await nc.flush();
  const r = await nc.request(`$JS.API.STREAM.SNAPSHOT.${stream}`, JSON.stringify({ deliver_subject: deliver, chunk_size: chunkSize }));
  const reply = JSON.parse(r.string()) as Record<string, unknown>;
  await done;
  return { reply, data: Buffer.concat(chunks) };
}

async function restore(nc: NatsConnection, stream: string, config: unknown, data: Buffer, chunkSize: number): Promise<Record<string, unknown>> {
  const r = await nc.request(`$JS.API.STREAM.RESTORE.${stream}`, JSON.stringify({ config, state: {} }));
  const reply = JSON.parse(r.string()) as { deliver_subject?: string; error?: unknown };
  assert.ok(reply.deliver_subject, `restore answer: ${r.string()}`);
  for (let off = 0; off < data.length; off += chunkSize) {
    await nc.request(reply.deliver_subject, data.subarray(off, off + chunkSize));
  }
  const fin = await nc.request(reply.deliver_subject, new Uint8Array(0), { timeout: 10_000 });
  return JSON.parse(fin.string()) as Record<string, unknown>;
}

test('snapshot and restore bring a stream back identical', async () => {
  const s = await startJs('tsnats');
  try {
    const nc = s.nc;
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'SNAP', subjects: ['snap.*'], max_msgs_per_subject: 50 });
    for (let i = 0; i < 300; i++) await js.publish(`snap.${i % 7}`, `payload-${i}-${'z'.repeat(i % 100)}`, { msgID: `m${i}` });
    await jsm.streams.deleteMessage('SNAP', 290);
    const before = await jsm.streams.info('SNAP');
    const { reply, data } = await takeSnapshot(nc, 'SNAP', 1024);
    assert.equal(reply.type, 'io.nats.jetstream.api.v1.stream_snapshot_response');
    assert.deepEqual((reply.state as { messages: number }).messages, before.state.messages);
    assert.ok(data.length > 1024, 'several chunks');
    const restoreExisting = await jsRequest(nc, '$JS.API.STREAM.RESTORE.SNAP', { config: { name: 'SNAP', subjects: ['snap.*'] } });
    assert.match(maskedAnswer(restoreExisting), /"err_code":10130/);
    await jsm.streams.delete('SNAP');
    const fin = await restore(nc, 'SNAP', before.config, data, 4096);
    assert.equal(fin.type, 'io.nats.jetstream.api.v1.stream_create_response');
    const after = await jsm.streams.info('SNAP');
    const pick = (st: typeof before.state) => [st.messages, st.bytes, st.first_seq, st.last_seq, st.num_subjects, st.num_deleted];
    assert.deepEqual(pick(after.state), pick(before.state));
    for (const seq of [1, 150, 289, 300]) {
      const [a, b] = [await jsm.streams.getMessage('SNAP', { seq }), seq];
      assert.ok(a !== null, `seq ${b}`);
      assert.equal(a.string().startsWith(`payload-${seq - 1}-`), true);
    }
    assert.equal(await jsm.streams.getMessage('SNAP', { seq: 290 }), null);
    const next = await js.publish('snap.1', 'after restore');
    assert.equal(next.seq, 301);
    const dup = await js.publish('snap.1', 'dup', { msgID: 'm299' });
    assert.equal(dup.duplicate, true);
  } finally {
    await s.nc.close();
    await s.server.stop();
  }
});

test('snapshot and restore errors agree with nats-server 2.9.10', async () => {
  const pair = await startJsPair();
  try {
    const steps: Array<[string, unknown]> = [
      ['$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s'] }],
      ['$JS.API.STREAM.SNAPSHOT.NOPE', { deliver_subject: 'x' }],
      ['$JS.API.STREAM.SNAPSHOT.S', ''],
      ['$JS.API.STREAM.SNAPSHOT.S', { deliver_subject: 'bad.*' }],
      ['$JS.API.STREAM.SNAPSHOT.S', '{bad'],
      ['$JS.API.STREAM.RESTORE.S', { config: { name: 'S', subjects: ['s'] } }],
      ['$JS.API.STREAM.RESTORE.T', ''],
      ['$JS.API.STREAM.RESTORE.T', '{x'],
      ['$JS.API.STREAM.RESTORE.T', { config: { name: 'T', subjects: ['$JS.API.x'] } }],
    ];
    for (const [subject, body] of steps) {
      const [r, t] = await Promise.all([jsRequest(pair.reference.nc, subject, body), jsRequest(pair.tsnats.nc, subject, body)]);
      assert.equal(maskedAnswer(t), maskedAnswer(r), subject);
    }
  } finally {
    await pair.stop();
  }
});
