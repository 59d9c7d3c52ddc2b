// Differential tests, JetStream consumer delivery semantics on tsnats and
// nats-server 2.9.10: interest retention (a message goes once every
// consumer acked it), ack policy all, max_ack_pending, last_per_subject,
// headers_only, purge under a consumer, an ordered-consumer style ephemeral
// (what the clients create), deliver groups.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg } from '@nats-io/transport-node';
import { api, jsPub, mask, pull, seen, sleep, startBothJs, stopJs, compareSteps, consumerRequest, type JsServer, type Step, type StepRecorder } from '../helpers/jetstream.js';

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
const data = (ms: Msg[]): Msg[] => ms.filter((m) => m.headers === undefined || m.headers.code === 0);

describe('consumer delivery', () => {
  it('interest retention: removed once every consumer acked', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.I', { name: 'I', subjects: ['i.>'], retention: 'interest', storage: 'memory' });
      step('no interest pub', await jsPub(nc, 'i.a', 'lost'));
      step('A', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.I.A', C('I', { durable_name: 'A', ack_policy: 'explicit' })));
      step('B', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.I.B', C('I', { durable_name: 'B', ack_policy: 'explicit', filter_subject: 'i.b' })));
      for (const subj of ['i.a', 'i.b', 'i.a', 'i.b']) await jsPub(nc, subj, subj);
      step('info', await api(nc, '$JS.API.STREAM.INFO.I'));
      const a = data(await pull(nc, 'I', 'A', { batch: 4, expires: 1e9 }, { ms: 1200, count: 4 }));
      step('A got', a.map(seen));
      for (const m of a) await nc.request(m.reply!, '', { timeout: 2000 });
      step('after A acks', await api(nc, '$JS.API.STREAM.INFO.I'));
      const b = data(await pull(nc, 'I', 'B', { batch: 1, expires: 1e9 }, { ms: 1200, count: 1 }));
      await nc.request(b[0].reply!, '+ACK', { timeout: 2000 });
      step('after B ack', await api(nc, '$JS.API.STREAM.INFO.I'));
      step('delete B', await api(nc, '$JS.API.CONSUMER.DELETE.I.B'));
      step('after delete B', await api(nc, '$JS.API.STREAM.INFO.I'));
      await api(nc, '$JS.API.STREAM.DELETE.I');
    });
  });

  it('ack all, max_ack_pending, nak/term of unknown sequences', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.AA', { name: 'AA', subjects: ['aa'], storage: 'memory' });
      for (let i = 0; i < 6; i++) await jsPub(nc, 'aa', `m${i}`);
      step('create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.AA.C', C('AA', { durable_name: 'C', ack_policy: 'all', max_ack_pending: 3 })));
      const got = data(await pull(nc, 'AA', 'C', { batch: 6, expires: 500e6 }, { ms: 800 }));
      step('stalled at max_ack_pending', got.map(seen));
      step('info stalled', await api(nc, '$JS.API.CONSUMER.INFO.AA.C'));
      await nc.request(got[1].reply!, '+ACK', { timeout: 2000 });
      step('info ack 2 of 3', await api(nc, '$JS.API.CONSUMER.INFO.AA.C'));
      nc.publish('$JS.ACK.AA.C.1.99.99.0.0', '-NAK');
      nc.publish('$JS.ACK.AA.C.1.99.99.0.0', '+TERM');
      nc.publish('$JS.ACK.AA.C.1.99.99.0.0', '+WPI');
      await nc.flush();
      await sleep(50);
      step('info after unknown', await api(nc, '$JS.API.CONSUMER.INFO.AA.C'));
      const rest = data(await pull(nc, 'AA', 'C', { batch: 6, expires: 500e6 }, { ms: 800 }));
      step('rest', rest.map(seen));
      await api(nc, '$JS.API.STREAM.DELETE.AA');
    });
  });

  it('last_per_subject, headers_only, purge', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.L', { name: 'L', subjects: ['l.>'], storage: 'memory' });
      for (const [subj, d] of [['l.a', '1'], ['l.b', '2'], ['l.a', '3'], ['l.c', '4'], ['l.b', '5']]) await jsPub(nc, subj, d, { 'X-N': d });
      step('lps', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.L.P', C('L', { durable_name: 'P', deliver_policy: 'last_per_subject', filter_subject: 'l.*', ack_policy: 'none', headers_only: true })));
      step('lps msgs', data(await pull(nc, 'L', 'P', { batch: 10, expires: 400e6 }, { ms: 700 })).map(seen));
      step('lps info', await api(nc, '$JS.API.CONSUMER.INFO.L.P'));
      step('D', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.L.D', C('L', { durable_name: 'D', ack_policy: 'explicit' })));
      const two = data(await pull(nc, 'L', 'D', { batch: 2, expires: 400e6 }, { ms: 700, count: 2 }));
      step('D two', two.map(seen));
      step('purge', await api(nc, '$JS.API.STREAM.PURGE.L', { filter: 'l.a' }));
      // The reference terms a purged pending message in a goroutine of its
      // own (server/consumer.go decStreamPending: go o.processTerm): an info
      // answered before that ran had no ack_floor.last_active (once in a
      // full run)
      await sleep(100);
      step('D after purge', await api(nc, '$JS.API.CONSUMER.INFO.L.D'));
      step('purge all', await api(nc, '$JS.API.STREAM.PURGE.L'));
      step('D after purge all', await api(nc, '$JS.API.CONSUMER.INFO.L.D'));
      await jsPub(nc, 'l.z', 'after');
      step('D next', data(await pull(nc, 'L', 'D', { batch: 1, expires: 400e6 }, { ms: 700, count: 1 })).map(seen));
      await api(nc, '$JS.API.STREAM.DELETE.L');
    });
  });

  it('ordered-consumer style ephemeral and deliver groups', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.O', { name: 'O', subjects: ['o.>'], storage: 'file' });
      for (let i = 1; i <= 3; i++) await jsPub(nc, `o.${i}`, `m${i}`);
      const got: Msg[] = [];
      const sub = nc.subscribe('ord.in', { callback: (_e, m) => void got.push(m) });
      await nc.flush();
      const oc = await api(nc, '$JS.API.CONSUMER.CREATE.O', C('O', {
        deliver_subject: 'ord.in',
        deliver_policy: 'by_start_sequence',
        opt_start_seq: 2,
        ack_policy: 'none',
        max_deliver: 1,
        flow_control: true,
        idle_heartbeat: 5e9,
        mem_storage: true,
        num_replicas: 1,
      }));
      const name = String(oc.name);
      step('ordered create', oc, [name]);
      await sleep(300);
      step('ordered got', data(got).map(seen), [name]);
      step('ordered info', await api(nc, `$JS.API.CONSUMER.INFO.O.${name}`), [name]);
      sub.unsubscribe();
      const q1: Msg[] = [];
      const q2: Msg[] = [];
      const s1 = nc.subscribe('grp.in', { queue: 'g', callback: (_e, m) => void q1.push(m) });
      const s2 = nc.subscribe('grp.in', { queue: 'g', callback: (_e, m) => void q2.push(m) });
      await nc.flush();
      step('group create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.O.G', C('O', { durable_name: 'G', deliver_subject: 'grp.in', deliver_group: 'g', ack_policy: 'explicit' })));
      await sleep(300);
      step('group total', q1.length + q2.length);
      step('group info', await api(nc, '$JS.API.CONSUMER.INFO.O.G'));
      step('group wrong', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.O.G', C('O', { durable_name: 'G', deliver_subject: 'grp.other', deliver_group: 'g', ack_policy: 'explicit' })));
      s1.unsubscribe();
      s2.unsubscribe();
      await nc.flush();
      step('group moved', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.O.G', C('O', { durable_name: 'G', deliver_subject: 'grp.other', deliver_group: 'g', ack_policy: 'explicit' })));
      await api(nc, '$JS.API.STREAM.DELETE.O');
    });
  });

  it('+NXT, replay original, stream delete with consumers', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      const adv: Msg[] = [];
      const as = nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.>', { callback: (_e, m) => void adv.push(m) });
      await api(nc, '$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], storage: 'memory' });
      for (let i = 1; i <= 3; i++) {
        await jsPub(nc, `x.${i}`, `m${i}`);
        await sleep(250);
      }
      await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.X.P', C('X', { durable_name: 'P', ack_policy: 'explicit' }));
      const first = data(await pull(nc, 'X', 'P', { batch: 1, expires: 1e9 }, { ms: 1200, count: 1 }));
      const inbox = '_INBOX.nxt';
      const nxt: Msg[] = [];
      const ns = nc.subscribe(inbox, { callback: (_e, m) => void nxt.push(m) });
      await nc.flush();
      nc.publish(first[0].reply!, '+NXT {"batch":2}', { reply: inbox });
      await sleep(300);
      step('+NXT', nxt.map(seen));
      step('info after +NXT', await api(nc, '$JS.API.CONSUMER.INFO.X.P'));
      ns.unsubscribe();
      const times: number[] = [];
      const got: Msg[] = [];
      const rs = nc.subscribe('rp.in', {
        callback: (_e, m) => {
          got.push(m);
          times.push(Date.now());
        },
      });
      await nc.flush();
      step('replay create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.X.R', C('X', { durable_name: 'R', deliver_subject: 'rp.in', replay_policy: 'original' })));
      const end = Date.now() + 2000;
      while (got.length < 3 && Date.now() < end) await sleep(20);
      step('replay got', data(got).map(seen));
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      step('replay spaced as stored', gaps.length === 2 && gaps.every((g) => g >= 180 && g < 600));
      rs.unsubscribe();
      await sleep(50);
      adv.length = 0;
      step('delete stream', await api(nc, '$JS.API.STREAM.DELETE.X'));
      // the reference sends each consumer's advisory from its own goroutine:
      // under load they can trail the answer by more than 100 ms
      const until = Date.now() + 3000;
      while (adv.length < 2 && Date.now() < until) await sleep(20);
      await sleep(100);
      const evs = adv.map((m) => ({ subject: m.subject, body: mask(JSON.parse(new TextDecoder().decode(m.data))) }));
      evs.sort((a, b) => (a.subject < b.subject ? -1 : 1));
      if (s.kind === 'tsnats') assert.deepEqual(evs.map((e) => e.subject), ['$JS.EVENT.ADVISORY.CONSUMER.DELETED.X.P', '$JS.EVENT.ADVISORY.CONSUMER.DELETED.X.R']);
      // The reference queues these advisories on the stream's send queue
      // (server/consumer.go sendAdvisory: o.outq is the stream's), whose
      // goroutine the same stream stop ends: now and then (2 runs in 15 here)
      // one of them never leaves. So what is compared is each advisory that
      // came, by its consumer's name, not that both came.
      step('consumer advisories on stream delete', {
        some: evs.length > 0,
        named: evs.every((e) => /^\$JS\.EVENT\.ADVISORY\.CONSUMER\.DELETED\.X\.[PR]$/.test(e.subject) && (e.body as { consumer?: string }).consumer === e.subject.slice(-1)),
        bodies: [...new Set(evs.map((e) => JSON.stringify({ ...(e.body as object), consumer: '<P or R>' })))],
      });
      as.unsubscribe();
    });
  });

  it('bad acks: from another connection, duplicate, late, malformed bodies, after the consumer was deleted', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      const other = await connect({ servers: s.server.url, reconnect: false });
      // an ack sent as a request: the confirmation, or what else came back
      const ackReq = async (from: typeof nc, subject: string, body: string): Promise<unknown> =>
        from.request(subject, body, { timeout: 500 }).then(
          (m) => seen(m),
          (e: Error) => e.message.replace(/'\$JS\.ACK\.[^']*'/, "'<ack subject>'"),
        );
      try {
        await api(nc, '$JS.API.STREAM.CREATE.BA', { name: 'BA', subjects: ['ba'], storage: 'memory' });
        for (let i = 0; i < 5; i++) await jsPub(nc, 'ba', `m${i}`);
        await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.BA.C', C('BA', { durable_name: 'C', ack_policy: 'explicit', ack_wait: 400e6, max_deliver: 5 }));
        const ms = data(await pull(nc, 'BA', 'C', { batch: 5, expires: 500e6 }, { ms: 800, count: 5 }));
        step('delivered', ms.map(seen));
        step('ack from another connection', await ackReq(other, ms[0].reply!, '+ACK'));
        step('duplicate ack', await ackReq(nc, ms[0].reply!, '+ACK'));
        step('duplicate ack from the other', await ackReq(other, ms[0].reply!, '+ACK'));
        for (const body of ['garbage', '-NAK {"delay": "soon"}', '+TERM extra', '+WPI trailing', '-NAK {bad json', '', ' +ACK']) {
          other.publish(ms[1].reply!, body);
        }
        await other.flush();
        await sleep(50);
        step('info after malformed', await api(nc, '$JS.API.CONSUMER.INFO.BA.C'));
        // ack_wait passes: 3 and 4 are redelivered; the late ack of the first delivery of 3 still counts
        await sleep(600);
        const again = data(await pull(nc, 'BA', 'C', { batch: 5, expires: 500e6 }, { ms: 800 }));
        step('redelivered', again.map(seen));
        step('late ack', await ackReq(other, ms[2].reply!, '+ACK'));
        step('info after late ack', await api(nc, '$JS.API.CONSUMER.INFO.BA.C'));
        step('delete consumer', await api(nc, '$JS.API.CONSUMER.DELETE.BA.C'));
        step('ack after delete', await ackReq(other, ms[3].reply!, '+ACK'));
        nc.publish(ms[4].reply!, '+TERM');
        await nc.flush();
        // a new consumer of the same name: the old one's acks are for deliveries it never made
        await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.BA.C', C('BA', { durable_name: 'C', ack_policy: 'explicit', ack_wait: 400e6 }));
        step('old ack on the new consumer', await ackReq(other, ms[3].reply!, '+ACK'));
        step('info of the new consumer', await api(nc, '$JS.API.CONSUMER.INFO.BA.C'));
        step('stream info', await api(nc, '$JS.API.STREAM.INFO.BA'));
        await api(nc, '$JS.API.STREAM.DELETE.BA');
      } finally {
        await other.close();
      }
    });
  });
});
