// Differential tests, JetStream push consumers and the ack protocol: what a
// deliver subject receives (messages with their ack subjects, idle
// heartbeats, flow control requests), acks, naks (with delay), term,
// redelivery counts, max_deliver, advisories and ack metrics, on tsnats and
// nats-server 2.9.10.

import { after, before, describe, it } from 'node:test';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { api, jsPub, mask, seen, sleep, startBothJs, stopJs, compareSteps, consumerRequest, type JsServer, type Step, type StepRecorder, type SeenMsg } from '../helpers/jetstream.js';

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

/** A subscription whose messages pile up for the test to take. */
class Inbox {
  readonly msgs: Msg[] = [];
  private readonly sub: Subscription;
  constructor(nc: NatsConnection, subject: string) {
    this.sub = nc.subscribe(subject, { callback: (_e, m) => void this.msgs.push(m) });
  }
  /** wait until `n` messages matching `pred` are there (or ms elapse), take everything */
  async take(n: number, ms: number, pred: (m: Msg) => boolean = () => true): Promise<Msg[]> {
    const end = Date.now() + ms;
    while (this.msgs.filter(pred).length < n && Date.now() < end) await sleep(10);
    return this.msgs.splice(0);
  }
  close(): void {
    this.sub.unsubscribe();
  }
}

const isData = (m: Msg): boolean => m.headers === undefined || m.headers.code === 0;
const dataOnly = (ms: Msg[]): SeenMsg[] => ms.filter(isData).map(seen);

describe('push consumers', () => {
  it('ack, nak, nak with delay, term, redelivery, max_deliver advisory', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      const adv = new Inbox(nc, '$JS.EVENT.>');
      const d = new Inbox(nc, 'd.ack');
      await nc.flush();
      await api(nc, '$JS.API.STREAM.CREATE.A', { name: 'A', subjects: ['a.>'], storage: 'memory' });
      step('create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.A.C', C('A', { durable_name: 'C', deliver_subject: 'd.ack', ack_policy: 'explicit', ack_wait: 400e6, max_deliver: 3, sample_freq: '100%' })));
      for (let i = 1; i <= 4; i++) await jsPub(nc, `a.${i}`, `m${i}`, i === 2 ? { 'X-Test': 'two' } : undefined);
      const first = await d.take(4, 2000);
      // The pending count in each ack reply (the last token) says how many
      // messages were stored but not yet delivered when that one went out:
      // m2's is 0 or 1 in either server depending on whether m3's publish
      // got in first (it was 1 from nats-server, 0 from tsnats once under load).
      step('first deliveries', dataOnly(first).map((m) => ({ ...m, reply: m.reply.replace(/\.\d+$/, '.<pending>') })));
      const byData = new Map(first.map((m) => [new TextDecoder().decode(m.data), m]));
      const r1 = await nc.request(byData.get('m1')!.reply!, '+ACK', { timeout: 2000 });
      step('ack confirm', { len: r1.data.length, hdr: r1.headers === undefined });
      nc.publish(byData.get('m2')!.reply!, '-NAK');
      nc.publish(byData.get('m3')!.reply!, '+TERM');
      nc.publish(byData.get('m4')!.reply!, '-NAK {"delay": 600000000}');
      await nc.flush();
      step('nak redelivery', dataOnly(await d.take(1, 1000)));
      await sleep(50);
      step('info after nak', await api(nc, '$JS.API.CONSUMER.INFO.A.C'));
      // m2 is not acked again: ack_wait redelivers it once more, then max_deliver stops it;
      // m4 comes back after its nak delay
      const later = dataOnly(await d.take(3, 2500));
      later.sort((x, y) => (x.data < y.data ? -1 : x.data > y.data ? 1 : x.reply < y.reply ? -1 : 1));
      step('redeliveries', later);
      await sleep(800);
      step('after max_deliver', dataOnly(await d.take(0, 10)));
      step('info end', await api(nc, '$JS.API.CONSUMER.INFO.A.C'));
      const events = adv.msgs.splice(0).filter((m) => !m.subject.startsWith('$JS.EVENT.ADVISORY.API'));
      const evs = events.map((m) => ({ subject: m.subject, body: mask(JSON.parse(new TextDecoder().decode(m.data))) }));
      evs.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
      step('events', evs);
      step('delete', await api(nc, '$JS.API.CONSUMER.DELETE.A.C'));
      await sleep(50);
      step('delete event', adv.msgs.splice(0).filter((m) => m.subject.includes('CONSUMER.DELETED')).map((m) => ({ subject: m.subject, body: mask(JSON.parse(new TextDecoder().decode(m.data))) })));
      // acks after the consumer is gone: nobody answers, nothing breaks
      const late = await nc.request(byData.get('m2')!.reply!, '+ACK', { timeout: 300 }).then(
        () => 'answered',
        (e: Error) => e.message,
      );
      step('ack after delete', late.replace(/\.\d{10,}\./, '.<ts>.'));
      adv.close();
      d.close();
      await api(nc, '$JS.API.STREAM.DELETE.A');
    });
  });

  it('idle heartbeats and flow control', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h.>'], storage: 'memory' });
      const d = new Inbox(nc, 'd.hb');
      await nc.flush();
      step('create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.H.C', C('H', { durable_name: 'C', deliver_subject: 'd.hb', ack_policy: 'none', idle_heartbeat: 250e6, flow_control: true })));
      await jsPub(nc, 'h.1', 'one');
      const got = await d.take(2, 1500, (m) => !isData(m));
      const hb = got.filter((m) => !isData(m)).map(seen);
      step('data', dataOnly(got));
      step('first heartbeat', hb[0]);
      // enough bytes to pass half the first flow control window (2 MiB / 2)
      const big = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 20; i++) await jsPub(nc, 'h.big', big);
      const all = await d.take(21, 3000, (m) => isData(m) || m.headers?.code === 100);
      const fcIdx = all.findIndex((m) => m.headers?.description === 'FlowControl Request');
      step('fc position', { fcIdx: all.slice(0, fcIdx).filter(isData).length, n: all.filter(isData).length });
      const fc = all[fcIdx];
      step('fc msg', seen(fc));
      fc.respond();
      await sleep(600);
      const hb2 = d.msgs.splice(0).filter((m) => m.headers?.description === 'Idle Heartbeat').map(seen);
      step('heartbeat after fc reply', hb2[0]);
      step('info', await api(nc, '$JS.API.CONSUMER.INFO.H.C'));
      d.close();
      await api(nc, '$JS.API.STREAM.DELETE.H');
    });
  });

  it('ephemeral push consumer goes away when its deliver subject loses interest', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.E', { name: 'E', subjects: ['e.>'], storage: 'memory' });
      const d = new Inbox(nc, 'd.eph');
      await nc.flush();
      const c = await api(nc, '$JS.API.CONSUMER.CREATE.E', C('E', { deliver_subject: 'd.eph', inactive_threshold: 300e6 }));
      const name = String(c.name);
      step('create', c, [name]);
      await jsPub(nc, 'e.1', 'x');
      step('got', dataOnly(await d.take(1, 1000)), [name]);
      step('info bound', await api(nc, `$JS.API.CONSUMER.INFO.E.${name}`), [name]);
      d.close();
      await nc.flush();
      await sleep(1200);
      step('info after', await api(nc, `$JS.API.CONSUMER.INFO.E.${name}`), [name]);
      await api(nc, '$JS.API.STREAM.DELETE.E');
    });
  });

  it('backoff schedule, max_deliver, num_redelivered', async () => {
    await both(async (s, step) => {
      const nc = s.nc;
      await api(nc, '$JS.API.STREAM.CREATE.BO', { name: 'BO', subjects: ['bo'], storage: 'memory' });
      const d = new Inbox(nc, 'd.bo');
      const adv = new Inbox(nc, '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>');
      await nc.flush();
      step('create', await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.BO.C', C('BO', { durable_name: 'C', deliver_subject: 'd.bo', ack_policy: 'explicit', backoff: [200e6, 400e6], max_deliver: 3 })));
      const t0 = Date.now();
      await jsPub(nc, 'bo', 'x');
      const got = await d.take(3, 2500);
      const at = got.map(() => 0);
      step('deliveries', dataOnly(got));
      step('count', at.length);
      await sleep(900);
      step('no fourth', dataOnly(await d.take(0, 10)));
      step('info', await api(nc, '$JS.API.CONSUMER.INFO.BO.C'));
      step('advisory', adv.msgs.map((m) => ({ subject: m.subject, body: mask(JSON.parse(new TextDecoder().decode(m.data))) })));
      step('took at least the backoffs', Date.now() - t0 >= 600);
      d.close();
      adv.close();
      await api(nc, '$JS.API.STREAM.DELETE.BO');
    });
  });
});
