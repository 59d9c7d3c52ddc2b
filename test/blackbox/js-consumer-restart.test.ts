// Black-box: a durable consumer on a file stream keeps its place across a
// restart of tsnats, after a clean stop and after kill -9: what was acked is
// never delivered again, what was delivered but not acked comes back as a
// redelivery, the rest follows.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { api, jsPub, pull, sleep, startJs, stopJs, tempStoreDir, type JsServer } from '../helpers/jetstream.js';

let cur: JsServer | undefined;
after(async () => {
  await stopJs(cur);
});

const dec = new TextDecoder();

async function scenario(signal: NodeJS.Signals): Promise<void> {
  const dir = tempStoreDir();
  cur = await startJs('tsnats', [], dir);
  let nc = cur.nc;
  await api(nc, '$JS.API.STREAM.CREATE.R', { name: 'R', subjects: ['r.>'], storage: 'file' });
  for (let i = 1; i <= 10; i++) await jsPub(nc, `r.${i}`, `m${i}`);
  const created = await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.R.D', {
    stream_name: 'R',
    config: { durable_name: 'D', ack_policy: 'explicit', ack_wait: 1500e6 },
  });
  assert.equal(created.error, undefined);
  const got = await pull(nc, 'R', 'D', { batch: 6, expires: 2e9 }, { ms: 2000, count: 6 });
  assert.deepEqual(got.map((m) => dec.decode(m.data)), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  for (const m of got.slice(0, 4)) {
    const r = await nc.request(m.reply!, '+ACK', { timeout: 2000 });
    assert.equal(r.data.length, 0);
  }
  // the state reaches the disk in batches (tens of ms), well within this
  await sleep(400);
  if (signal === 'SIGKILL') {
    cur.server.proc.kill('SIGKILL');
    await cur.server.exited;
    await cur.nc.close().catch(() => undefined);
  } else await stopJs(cur);
  cur = await startJs('tsnats', [], dir);
  nc = cur.nc;
  const info = await api(nc, '$JS.API.CONSUMER.INFO.R.D');
  assert.equal(info.error, undefined, JSON.stringify(info));
  assert.deepEqual(info.ack_floor && { c: (info.ack_floor as Record<string, number>).consumer_seq, s: (info.ack_floor as Record<string, number>).stream_seq }, { c: 4, s: 4 });
  assert.deepEqual(info.delivered && { c: (info.delivered as Record<string, number>).consumer_seq, s: (info.delivered as Record<string, number>).stream_seq }, { c: 6, s: 6 });
  assert.equal(info.num_ack_pending, 2);
  assert.equal(info.num_pending, 4);
  const rest = await pull(nc, 'R', 'D', { batch: 10, expires: 4e9 }, { ms: 4500, count: 6 });
  const seenData = rest.filter((m) => m.headers === undefined || m.headers.code === 0).map((m) => dec.decode(m.data));
  assert.deepEqual([...seenData].sort(), ['m10', 'm5', 'm6', 'm7', 'm8', 'm9']);
  // m5 and m6 come back as second deliveries
  for (const m of rest) {
    const d = dec.decode(m.data);
    const dc = Number(m.reply!.split('.')[4]);
    assert.equal(dc, d === 'm5' || d === 'm6' ? 2 : 1, `${d} delivery count`);
  }
  await stopJs(cur);
  cur = undefined;
}

describe('durable consumer state across restarts (file store)', () => {
  it('a durable deleted and created again at once starts afresh and keeps its new state', async () => {
    const dir = tempStoreDir();
    cur = await startJs('tsnats', [], dir);
    let nc = cur.nc;
    await api(nc, '$JS.API.STREAM.CREATE.DD', { name: 'DD', subjects: ['dd'], storage: 'file' });
    for (let i = 1; i <= 3; i++) await jsPub(nc, 'dd', `m${i}`);
    const cfg = { stream_name: 'DD', config: { durable_name: 'D', ack_policy: 'explicit' } };
    await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.DD.D', cfg);
    const a = await pull(nc, 'DD', 'D', { batch: 2, expires: 1e9 }, { ms: 1500, count: 2 });
    for (const m of a) await nc.request(m.reply!, '+ACK', { timeout: 2000 });
    await sleep(200);
    const [del, created] = await Promise.all([api(nc, '$JS.API.CONSUMER.DELETE.DD.D'), api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.DD.D', cfg)]);
    assert.equal(del.success, true);
    assert.equal(created.error, undefined, JSON.stringify(created));
    const b = await pull(nc, 'DD', 'D', { batch: 1, expires: 1e9 }, { ms: 1500, count: 1 });
    assert.equal(dec.decode(b[0].data), 'm1');
    await nc.request(b[0].reply!, '+ACK', { timeout: 2000 });
    await sleep(300);
    await stopJs(cur);
    cur = await startJs('tsnats', [], dir);
    nc = cur.nc;
    const info = await api(nc, '$JS.API.CONSUMER.INFO.DD.D');
    assert.equal((info.ack_floor as Record<string, number>).stream_seq, 1, JSON.stringify(info));
    assert.equal(info.num_pending, 2);
    await stopJs(cur);
    cur = undefined;
  });

  it('clean stop', async () => {
    await scenario('SIGTERM');
  });
  it('kill -9', async () => {
    await scenario('SIGKILL');
  });
});
