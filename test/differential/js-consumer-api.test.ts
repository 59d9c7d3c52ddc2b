// Differential tests, JetStream consumers: the CONSUMER.* API (create in its
// three forms, info, names, list, delete, stepdown) with its errors, and
// pull requests (MSG.NEXT) with their status answers, on tsnats and
// nats-server 2.9.10, each started with -js -sd <own tmp dir>. Times,
// ids and generated names are masked; everything else must be equal.

import { after, before, describe, it } from 'node:test';
import { api, jsPub, pull, seen, sleep, startBothJs, stopJs, compareSteps, consumerRequest, type JsServer, type Step, type StepRecorder } from '../helpers/jetstream.js';

let ref: JsServer | undefined;
let ts: JsServer | undefined;

before(async () => {
  [ref, ts] = await startBothJs();
});
after(async () => {
  await stopJs(ref);
  await stopJs(ts);
});

const both = (fn: (s: JsServer, step: StepRecorder) => Promise<void>): Promise<Step[]> => compareSteps(ref!, ts!, fn);
const C = consumerRequest;

describe('consumer API', () => {
  it('create forms, info, names, list, delete', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      step('stream', await api(nc, '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1.*'], storage: 'memory' }));
      for (let i = 0; i < 5; i++) await jsPub(nc, `s1.${i % 2 === 0 ? 'a' : 'b'}`, `m${i}`);
      step('durable pull', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D1', C('S1', { durable_name: 'D1', ack_policy: 'explicit' })));
      step('durable again same', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D1', C('S1', { durable_name: 'D1', ack_policy: 'explicit' })));
      step('durable change policy', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D1', C('S1', { durable_name: 'D1', ack_policy: 'all' })));
      step('durable update desc', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D1', C('S1', { durable_name: 'D1', ack_policy: 'explicit', description: 'hi', max_ack_pending: 20 })));
      step('named filtered', await api(nc, '$JS.API.CONSUMER.CREATE.S1.N1.s1.a', C('S1', { name: 'N1', filter_subject: 's1.a', ack_policy: 'explicit', deliver_policy: 'last' })));
      step('named filter mismatch', await api(nc, '$JS.API.CONSUMER.CREATE.S1.N2.s1.a', C('S1', { filter_subject: 's1.b' })));
      step('named durable', await api(nc, '$JS.API.CONSUMER.CREATE.S1.D2', C('S1', { durable_name: 'D2', deliver_policy: 'by_start_sequence', opt_start_seq: 3, ack_policy: 'none' })));
      step('named durable mismatch', await api(nc, '$JS.API.CONSUMER.CREATE.S1.D3', C('S1', { durable_name: 'D4' })));
      const eph = await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 'push.none', ack_policy: 'explicit', deliver_policy: 'new' }));
      const ephName = String(eph.name);
      step('legacy ephemeral push', eph, [ephName]);
      step('ephemeral with durable', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { durable_name: 'X' })));
      step('durable missing name', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D5', C('S1', {})));
      step('durable name mismatch', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D5', C('S1', { durable_name: 'D6' })));
      step('stream mismatch', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D5', C('S2', { durable_name: 'D5' })));
      step('stream not found', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.NOPE.D5', C('NOPE', { durable_name: 'D5' })));
      step('invalid json', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.D5', '{bad'));
      step('empty body', await api(nc, '$JS.API.CONSUMER.CREATE.S1', ''));
      step('bad enum', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { ack_policy: 'sometimes' })));
      step('dot in name', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { name: 'a.b' })));
      step('wildcard durable', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.a*', C('S1', { durable_name: 'a*' })));
      step('path sep', await api(nc, '$JS.API.CONSUMER.CREATE.S1.a\\b', C('S1', {})));
      step('filter outside', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.F', C('S1', { durable_name: 'F', filter_subject: 'other.>' })));
      step('fc without hb', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 'x.y', flow_control: true })));
      step('hb on pull', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.P', C('S1', { durable_name: 'P', idle_heartbeat: 1e9 })));
      step('small hb', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 'x.y', idle_heartbeat: 1e6 })));
      step('deliver cycle', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 's1.x' })));
      step('deliver wildcard', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 'x.*' })));
      step('by seq without seq', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_policy: 'by_start_sequence' })));
      step('all with seq', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { opt_start_seq: 2 })));
      step('lps without filter', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_policy: 'last_per_subject' })));
      step('backoff vs max_deliver', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.B', C('S1', { durable_name: 'B', ack_policy: 'explicit', backoff: [1e9, 2e9], max_deliver: 2 })));
      step('bad sampling', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.B', C('S1', { durable_name: 'B', sample_freq: 'x%' })));
      step('push max waiting', await api(nc, '$JS.API.CONSUMER.CREATE.S1', C('S1', { deliver_subject: 'x.y', max_waiting: 3 })));
      step('pull rate limit', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.R', C('S1', { durable_name: 'R', rate_limit_bps: 1000 })));
      step('replicas', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S1.R', C('S1', { durable_name: 'R', num_replicas: 3 })));
      step('info D1', await api(nc, '$JS.API.CONSUMER.INFO.S1.D1'));
      step('info N1', await api(nc, '$JS.API.CONSUMER.INFO.S1.N1'));
      step('info D2', await api(nc, '$JS.API.CONSUMER.INFO.S1.D2'));
      step('info missing', await api(nc, '$JS.API.CONSUMER.INFO.S1.NOPE'));
      step('info no stream', await api(nc, '$JS.API.CONSUMER.INFO.NOPE.D1'));
      step('info body', await api(nc, '$JS.API.CONSUMER.INFO.S1.D1', '{"x":1}'));
      step('info ephemeral', await api(nc, `$JS.API.CONSUMER.INFO.S1.${ephName}`), [ephName]);
      // generated names sort anywhere: the listings below see the named ones only
      step('delete ephemeral', await api(nc, `$JS.API.CONSUMER.DELETE.S1.${ephName}`), [ephName]);
      step('names', await api(nc, '$JS.API.CONSUMER.NAMES.S1'), [ephName]);
      step('names offset', await api(nc, '$JS.API.CONSUMER.NAMES.S1', { offset: 2 }), [ephName]);
      step('names offset big', await api(nc, '$JS.API.CONSUMER.NAMES.S1', { offset: 20 }), [ephName]);
      step('names no stream', await api(nc, '$JS.API.CONSUMER.NAMES.NOPE'));
      step('names bad json', await api(nc, '$JS.API.CONSUMER.NAMES.S1', '{"offset":"x"}'));
      step('list', await api(nc, '$JS.API.CONSUMER.LIST.S1'), [ephName]);
      step('stepdown', await api(nc, '$JS.API.CONSUMER.LEADER.STEPDOWN.S1.D1'));
      step('delete body', await api(nc, '$JS.API.CONSUMER.DELETE.S1.D1', '{"a":1}'));
      step('delete', await api(nc, '$JS.API.CONSUMER.DELETE.S1.D1'));
      step('delete again', await api(nc, '$JS.API.CONSUMER.DELETE.S1.D1'));
      step('delete no stream', await api(nc, '$JS.API.CONSUMER.DELETE.NOPE.D1'));
      step('info deleted', await api(nc, '$JS.API.CONSUMER.INFO.S1.D1'));
      step('stream info', await api(nc, '$JS.API.STREAM.INFO.S1'));
      step('delete stream', await api(nc, '$JS.API.STREAM.DELETE.S1'));
    });
  });

  it('workqueue rules', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      step('stream', await api(nc, '$JS.API.STREAM.CREATE.WQ', { name: 'WQ', subjects: ['wq.>'], retention: 'workqueue', storage: 'memory' }));
      step('not explicit', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.A', C('WQ', { durable_name: 'A', ack_policy: 'all' })));
      step('A', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.A', C('WQ', { durable_name: 'A', ack_policy: 'explicit', filter_subject: 'wq.a.>' })));
      step('unfiltered', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.B', C('WQ', { durable_name: 'B', ack_policy: 'explicit' })));
      step('overlap', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.B', C('WQ', { durable_name: 'B', ack_policy: 'explicit', filter_subject: 'wq.*.x' })));
      step('not deliver all', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.B', C('WQ', { durable_name: 'B', ack_policy: 'explicit', filter_subject: 'wq.b', deliver_policy: 'new' })));
      step('B', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.B', C('WQ', { durable_name: 'B', ack_policy: 'explicit', filter_subject: 'wq.b' })));
      step('pull none ack', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.WQ.C', C('WQ', { durable_name: 'C', filter_subject: 'wq.c' })));
      for (let i = 0; i < 3; i++) await jsPub(nc, 'wq.b', `b${i}`);
      const msgs = await pull(nc, 'WQ', 'B', { batch: 2 }, { ms: 500, count: 2 });
      step('pulled', msgs.map(seen));
      for (const m of msgs) {
        const r = await nc.request(m.reply!, '+ACK', { timeout: 2000 });
        step('ack reply', r.data.length);
      }
      await sleep(50);
      step('stream after acks', await api(nc, '$JS.API.STREAM.INFO.WQ'));
      step('info B', await api(nc, '$JS.API.CONSUMER.INFO.WQ.B'));
      step('delete stream', await api(nc, '$JS.API.STREAM.DELETE.WQ'));
    });
  });
});

describe('pull requests (MSG.NEXT)', () => {
  it('batch, no_wait, expires, max_bytes, limits', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      step('stream', await api(nc, '$JS.API.STREAM.CREATE.P', { name: 'P', subjects: ['p.>'], storage: 'memory' }));
      step('consumer', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.P.C', C('P', { durable_name: 'C', ack_policy: 'explicit', max_batch: 10, max_expires: 2e9, max_bytes: 1000 })));
      step('no_wait empty', (await pull(nc, 'P', 'C', { batch: 1, no_wait: true }, { ms: 300, count: 1 })).map(seen));
      for (let i = 0; i < 4; i++) await jsPub(nc, `p.${i}`, `payload-${i}`);
      step('one', (await pull(nc, 'P', 'C', '', { ms: 300, count: 1 })).map(seen));
      step('batch 2 as number', (await pull(nc, 'P', 'C', '2', { ms: 300, count: 2 })).map(seen));
      step('no_wait more than left', (await pull(nc, 'P', 'C', { batch: 5, no_wait: true }, { ms: 400, count: 2 })).map(seen));
      step('expires nothing left', (await pull(nc, 'P', 'C', { batch: 3, expires: 200e6 }, { ms: 700, count: 1 })).map(seen));
      step('batch over max', (await pull(nc, 'P', 'C', { batch: 11 }, { ms: 300, count: 1 })).map(seen));
      step('expires over max', (await pull(nc, 'P', 'C', { batch: 1, expires: 3e9 }, { ms: 300, count: 1 })).map(seen));
      step('max_bytes over max', (await pull(nc, 'P', 'C', { batch: 1, max_bytes: 2000 }, { ms: 300, count: 1 })).map(seen));
      step('bad request', (await pull(nc, 'P', 'C', '{"batch":"x"}', { ms: 300, count: 1 })).map(seen));
      step('hb too large', (await pull(nc, 'P', 'C', { batch: 1, expires: 1e9, idle_heartbeat: 800e6 }, { ms: 300, count: 1 })).map(seen));
      await jsPub(nc, 'p.big', 'x'.repeat(200));
      step('max_bytes too small', (await pull(nc, 'P', 'C', { batch: 2, max_bytes: 50, expires: 1e9 }, { ms: 500, count: 1 })).map(seen));
      step('heartbeat', (await pull(nc, 'P', 'C', { batch: 5, expires: 1000e6, idle_heartbeat: 300e6 }, { ms: 1300, count: 4 })).map(seen));
      step('info', await api(nc, '$JS.API.CONSUMER.INFO.P.C'));
      step('push', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.P.PU', C('P', { durable_name: 'PU', deliver_subject: 'pu.x' })));
      step('next on push', (await pull(nc, 'P', 'PU', '', { ms: 300, count: 1 })).map(seen));
      step('delete stream', await api(nc, '$JS.API.STREAM.DELETE.P'));
    });
  });

  it('waiting request gets 409 Consumer Deleted', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.W', { name: 'W', subjects: ['w.>'], storage: 'memory' });
      await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.W.C', C('W', { durable_name: 'C', ack_policy: 'explicit' }));
      const p = pull(nc, 'W', 'C', { batch: 1, expires: 5e9 }, { ms: 1000, count: 1 });
      await sleep(100);
      step('info waiting', await api(nc, '$JS.API.CONSUMER.INFO.W.C'));
      step('delete', await api(nc, '$JS.API.CONSUMER.DELETE.W.C'));
      step('answer', (await p).map(seen));
      await api(nc, '$JS.API.STREAM.DELETE.W');
    });
  });

  it('odd pull requests: negative or zero batch, negative or absurd expires', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.OD', { name: 'OD', subjects: ['od'], storage: 'memory' });
      await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.OD.C', C('OD', { durable_name: 'C', ack_policy: 'explicit' }));
      step('negative expires, empty', (await pull(nc, 'OD', 'C', { batch: 1, expires: -5 }, { ms: 300, count: 1 })).map(seen));
      step('absurd expires waits', (await pull(nc, 'OD', 'C', { batch: 1, expires: 9e18 }, { ms: 300, count: 1 })).map(seen));
      for (let i = 0; i < 3; i++) await jsPub(nc, 'od', `m${i}`);
      await sleep(100);
      step('negative batch', (await pull(nc, 'OD', 'C', '-2', { ms: 300, count: 1 })).map(seen));
      step('zero batch json', (await pull(nc, 'OD', 'C', { batch: 0, expires: 200e6 }, { ms: 400, count: 2 })).map(seen));
      step('info', await api(nc, '$JS.API.CONSUMER.INFO.OD.C'));
      await api(nc, '$JS.API.STREAM.DELETE.OD');
    });
  });
});
