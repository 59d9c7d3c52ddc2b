// Bad input to JetStream never crashes tsnats or harms other clients: a
// store_dir that is not a directory stops the start as the reference does,
// malformed API requests get the reference's answers, and a flood of API
// requests is answered in order while core messaging keeps flowing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createInbox } from '@nats-io/transport-node';
import { TSNATS_MAIN, referenceBinary } from '../helpers/servers.js';
import { startJs, startJsPair, jsRequest, maskedAnswer, tempStoreDir } from '../helpers/jetstream.js';

function fatalLine(stderr: string): string {
  const l = stderr.split('\n').find((x) => x.includes('[FTL]')) ?? '';
  return l.replace(/^\[\d+\] \S+ \S+ /, '');
}

test('a store_dir that is not a directory stops the start like the reference', () => {
  const file = join(tempStoreDir(), 'not-a-dir');
  writeFileSync(file, 'x');
  const args = ['-js', '-sd', file, '-a', '127.0.0.1', '-p', '-1'];
  const r = spawnSync(referenceBinary(), args, { encoding: 'utf8', timeout: 10_000 });
  const t = spawnSync(process.execPath, [TSNATS_MAIN, ...args], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(t.status, r.status);
  assert.equal(fatalLine(t.stderr), fatalLine(r.stderr));
  assert.match(fatalLine(t.stderr), /Can't start JetStream: storage directory is not a directory/);
});

test('malformed requests get the reference answers', async () => {
  const pair = await startJsPair();
  try {
    const bodies: Array<[string, unknown]> = [
      ['$JS.API.STREAM.CREATE.A', '\u0000\u0001'],
      ['$JS.API.STREAM.CREATE.A', '[1,2,3]'],
      ['$JS.API.STREAM.CREATE.A', '"just a string"'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","subjects":"notalist"}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","subjects":[1]}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","max_msgs":-5}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","max_age":-1}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","max_msg_size":9999999999}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","storage":"disk"}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","discard":1}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","subjects":[" "]}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","subjects":["$SYS.x"]}'],
      ['$JS.API.STREAM.CREATE.A', `{"name":"A","description":"${'d'.repeat(5000)}"}`],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","max_msgs":1e300}'],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","NAME":"B"}'],
      ['$JS.API.STREAM.CREATE.A\tB', '{"name":"A\tB"}'],
      ['$JS.API.STREAM.CREATE.' + 'N'.repeat(300), `{"name":"${'N'.repeat(300)}"}`],
      ['$JS.API.STREAM.CREATE.A', '{"name":"A","subjects":["a"],"max_consumers":-1,"max_bytes":-1,"max_msgs_per_subject":-1}'],
      ['$JS.API.STREAM.PURGE.A', '{"keep":-1}'],
      ['$JS.API.STREAM.PURGE.A', '{"filter":"*.>"}'],
      ['$JS.API.STREAM.MSG.GET.A', '{"seq":-1}'],
      ['$JS.API.STREAM.MSG.DELETE.A', '{"seq":"1"}'],
      ['$JS.API.STREAM.INFO.A', '{"subjects_filter":5}'],
      ['$JS.API.STREAM.LIST', '{"offset":"x"}'],
      ['$JS.API.STREAM.INFO.A', ''],
    ];
    for (const [subject, body] of bodies) {
      const [r, t] = await Promise.all([jsRequest(pair.reference.nc, subject, body), jsRequest(pair.tsnats.nc, subject, body)]);
      assert.equal(maskedAnswer(t), maskedAnswer(r), `${subject} ${String(body).slice(0, 80)}`);
    }
  } finally {
    await pair.stop();
  }
});

test('a negative offset is read as 0 (nats-server 2.9.10 panics on it and exits)', async () => {
  const s = await startJs('tsnats');
  try {
    await jsRequest(s.nc, '$JS.API.STREAM.CREATE.A', { name: 'A' });
    for (const subj of ['$JS.API.STREAM.NAMES', '$JS.API.STREAM.LIST']) {
      const a = await jsRequest(s.nc, subj, '{"offset":-3}');
      assert.ok('json' in a, maskedAnswer(a));
      assert.equal(a.json.offset, 0);
      assert.equal(a.json.total, 1);
    }
    const info = await jsRequest(s.nc, '$JS.API.STREAM.INFO.A', '{"offset":-3,"subjects_filter":">"}');
    assert.ok('json' in info && info.json.error === undefined, maskedAnswer(info));
  } finally {
    await s.nc.close();
    await s.server.stop();
  }
});

test('a flood of API requests is answered in order while core messaging flows', async () => {
  const s = await startJs('tsnats');
  try {
    const api = s.nc;
    const core = await connect({ servers: s.server.url, reconnect: false });
    const sub = core.subscribe('core.>');
    let got = 0;
    const counting = (async () => {
      for await (const _m of sub) if (++got === 2000) break;
    })();
    await core.flush();
    await jsRequest(api, '$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f.*'] });
    const inbox = createInbox();
    const order: number[] = [];
    const N = 3000;
    const allIn = new Promise<void>((resolve) => {
      api.subscribe(`${inbox}.*`, {
        callback: (_e, m) => {
          order.push(Number(m.subject.slice(inbox.length + 1)));
          if (order.length === N) resolve();
        },
      });
    });
    await api.flush();
    const kinds = ['$JS.API.INFO', '$JS.API.STREAM.INFO.F', '$JS.API.STREAM.NAMES', '$JS.API.STREAM.CREATE.BAD', '$JS.API.STREAM.MSG.GET.F'];
    for (let i = 0; i < N; i++) {
      const subj = kinds[i % kinds.length];
      api.publish(subj, i % 3 === 0 ? '{bad' : '{"seq":1}', { reply: `${inbox}.${i}` });
      if (i % 2 === 0 && i < 4000) core.publish(`core.${i}`, 'x');
    }
    for (let i = 0; i < 500; i++) core.publish(`core.tail.${i}`, 'y');
    await allIn;
    await counting;
    assert.equal(order.length, N);
    assert.deepEqual(order, Array.from({ length: N }, (_, i) => i), 'answers in request order');
    assert.equal(got, 2000);
    await core.close();
  } finally {
    await s.nc.close();
    await s.server.stop();
  }
});
