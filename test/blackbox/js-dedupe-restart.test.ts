// Black-box: a file stream's duplicate window survives a restart of tsnats.
// The dedupe state is read back from the store lazily, on the first message
// with headers (as the reference's ddloaded): a duplicate, a message without
// an id stored first, and Nats-Expected-Last-Msg-Id must all see it.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { api, jsPub, startJs, stopJs, tempStoreDir, type JsServer } from '../helpers/jetstream.js';

let cur: JsServer | undefined;
after(async () => {
  await stopJs(cur);
});

describe('dedupe after a restart', () => {
  it('answers a republished Nats-Msg-Id as a duplicate of the stored message', async () => {
    const dir = tempStoreDir();
    cur = await startJs('tsnats', [], dir);
    let nc = cur.nc;
    await api(nc, '$JS.API.STREAM.CREATE.D', { name: 'D', subjects: ['d.>'], storage: 'file' });
    for (let i = 1; i <= 5; i++) {
      const a = await jsPub(nc, `d.${i}`, `m${i}`, { 'Nats-Msg-Id': `id${i}` });
      assert.equal(a.seq, i);
    }
    await stopJs(cur);
    cur = await startJs('tsnats', [], dir);
    nc = cur.nc;
    // a message without headers first: it must not hide the recovered ids
    const plain = await jsPub(nc, 'd.x', 'plain');
    assert.equal(plain.seq, 6);
    const dup = await jsPub(nc, 'd.3', 'again', { 'Nats-Msg-Id': 'id3' });
    assert.equal(dup.seq, 3);
    assert.equal(dup.duplicate, true);
    const fresh = await jsPub(nc, 'd.7', 'm7', { 'Nats-Msg-Id': 'id7' });
    assert.equal(fresh.seq, 7);
    assert.equal(fresh.duplicate, undefined);
    await stopJs(cur);
    cur = undefined;
  });

  it('checks Nats-Expected-Last-Msg-Id against the last message stored before the restart', async () => {
    const dir = tempStoreDir();
    cur = await startJs('tsnats', [], dir);
    let nc = cur.nc;
    await api(nc, '$JS.API.STREAM.CREATE.E', { name: 'E', subjects: ['e'], storage: 'file' });
    await jsPub(nc, 'e', 'a', { 'Nats-Msg-Id': 'first' });
    await jsPub(nc, 'e', 'b', { 'Nats-Msg-Id': 'last' });
    await stopJs(cur);
    cur = await startJs('tsnats', [], dir);
    nc = cur.nc;
    const wrong = await jsPub(nc, 'e', 'c', { 'Nats-Expected-Last-Msg-Id': 'first' });
    assert.equal((wrong.error as Record<string, unknown> | undefined)?.err_code, 10070, JSON.stringify(wrong));
    const right = await jsPub(nc, 'e', 'c', { 'Nats-Expected-Last-Msg-Id': 'last' });
    assert.equal(right.seq, 3, JSON.stringify(right));
    await stopJs(cur);
    cur = undefined;
  });
});
