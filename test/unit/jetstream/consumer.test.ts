// Unit tests of the consumer logic: request parsing, ack subjects, Go
// durations, the pull wait queue, config checks; and, on an embedded
// server, what costs what: start positions on a big stream read nothing
// they skip, redeliveries and waiting pull requests use a timer each, not
// one per message, abandoned ephemerals leave nothing behind, bad acks
// change nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Server } from '../../../src/index.js';
import type { JetStream } from '../../../src/jetstream/service.js';
import type { Stream } from '../../../src/jetstream/stream.js';
import { Consumer, ACK_NUMS, ackNumsAt, ackReplyInfo, parseNextRequest } from '../../../src/jetstream/consumer.js';
import { WaitQueue, type WaitingRequest } from '../../../src/jetstream/wait-queue.js';
import { Account } from '../../../src/accounts/account.js';
import { goDurationString, parseGoDuration } from '../../../src/jetstream/go-duration.js';
import {
  checkConsumerConfig,
  decodeConsumerConfig,
  setConsumerDefaults,
  checkConsumerUpdate,
  consumerConfigJSON,
} from '../../../src/jetstream/consumer-config.js';
import { decodeStreamConfig } from '../../../src/jetstream/stream-config.js';
import { ApiError } from '../../../src/jetstream/errors.js';

describe('pull request parsing (nextReqFromMsg)', () => {
  it('empty, number, JSON, errors', () => {
    assert.deepEqual(parseNextRequest(Buffer.from('')), { batch: 1, expires: 0, maxBytes: 0, noWait: false, heartbeat: 0 });
    assert.equal((parseNextRequest(Buffer.from(' 7 ')) as { batch: number }).batch, 7);
    assert.equal((parseNextRequest(Buffer.from('-3')) as { batch: number }).batch, -3);
    assert.equal((parseNextRequest(Buffer.from('abc')) as { batch: number }).batch, 1);
    assert.deepEqual(parseNextRequest(Buffer.from('{"batch":5,"expires":1000000000,"no_wait":true,"max_bytes":10}')), {
      batch: 5,
      expires: 1e9,
      maxBytes: 10,
      noWait: true,
      heartbeat: 0,
    });
    assert.equal((parseNextRequest(Buffer.from('{"BATCH":4}')) as { batch: number }).batch, 4, 'Go matches field names case-insensitively');
    assert.equal(parseNextRequest(Buffer.from('{"batch":"x"}')), 'json: cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int');
    assert.equal(parseNextRequest(Buffer.from('{"batch":1.5}')), 'json: cannot unmarshal number 1.5 into Go struct field JSApiConsumerGetNextRequest.batch of type int');
    assert.equal(parseNextRequest(Buffer.from('{"expires":100,"idle_heartbeat":60}')), 'heartbeat value too large');
    assert.equal(typeof parseNextRequest(Buffer.from('{"batch":')), 'string');
  });
});

describe('ack subjects', () => {
  it('parses $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>', () => {
    assert.deepEqual(ackReplyInfo('$JS.ACK.S.C.2.10.7.123.4'), { dc: 2, sseq: 10, dseq: 7 });
    assert.equal(ackReplyInfo('$JS.ACK.S.C.2.10.7.123'), null);
    assert.equal(ackReplyInfo('$JS.NAK.S.C.2.10.7.123.4'), null);
    const bad = ackReplyInfo('$JS.ACK.S.C.x.y.z.1.1')!;
    assert.ok(bad.sseq > 2 ** 52 && bad.dseq > 2 ** 52, 'a bad number is beyond any sequence');
  });

  // The ack subscription reads the numbers off the bytes (Consumer.onAckRaw);
  // what it accepts it must read as ackReplyInfo does, and it must accept
  // the subjects the consumer writes.
  it('ackNumsAt reads what ackReplyInfo reads, or declines', () => {
    const prefix = '$JS.ACK.S.C.';
    const tokens = ['0', '1', '7', '42', '123456789012345', '1234567890123456', '1733540000123456789', '', 'x', '1x', '-1', '+1', '*', '>'];
    let accepted = 0;
    let n = 0;
    const rnd = (k: number): number => (n = (n * 1103515245 + 12345) % 2 ** 31) % k;
    for (let i = 0; i < 20000; i++) {
      const parts = Array.from({ length: 3 + rnd(5) }, () => tokens[rnd(tokens.length)]!);
      const subject = prefix + parts.join('.');
      const b = Buffer.from(`xx${subject}yy`, 'latin1');
      const info = ackReplyInfo(subject);
      if (!ackNumsAt(b, 2 + prefix.length, 2 + subject.length)) continue;
      accepted++;
      assert.ok(info !== null, subject);
      assert.deepEqual({ dc: ACK_NUMS[0], sseq: ACK_NUMS[1], dseq: ACK_NUMS[2] }, info, subject);
    }
    assert.ok(accepted > 100, `accepted ${accepted}`);
    const real = Buffer.from(`${prefix}1.123.45.1733540000123456789.299877`, 'latin1');
    assert.equal(ackNumsAt(real, prefix.length, real.length), true);
    assert.deepEqual([...ACK_NUMS], [1, 123, 45]);
  });
});

describe('Go durations', () => {
  it('String()', () => {
    assert.equal(goDurationString(0), '0s');
    assert.equal(goDurationString(1e9), '1s');
    assert.equal(goDurationString(1.5e9), '1.5s');
    assert.equal(goDurationString(500e6), '500ms');
    assert.equal(goDurationString(90e9), '1m30s');
    assert.equal(goDurationString(3600e9 + 1e9), '1h0m1s');
    assert.equal(goDurationString(1500), '1.5µs');
  });
  it('ParseDuration', () => {
    assert.equal(parseGoDuration('1s'), 1e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('300ms'), 300e6);
    assert.equal(parseGoDuration('1h2m'), 3720e9);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('5'), null);
    assert.equal(parseGoDuration('s'), null);
    assert.equal(parseGoDuration('1x'), null);
  });
});

describe('wait queue', () => {
  const acc = new Account('A', 0);
  const wr = (reply: string, n: number): WaitingRequest => ({ reply, acc, interest: reply, n, d: 0, b: 0, expires: 0, received: Date.now(), hb: 0, hbt: 0, noWait: false });
  it('a request wanting more goes to the back; done ones leave; bounded', () => {
    const q = new WaitQueue(2);
    assert.equal(q.add(wr('a', 2)), true);
    assert.equal(q.add(wr('b', 1)), true);
    assert.equal(q.add(wr('c', 1)), false);
    assert.equal(q.pop()!.reply, 'a');
    assert.equal(q.peek()!.reply, 'b');
    assert.equal(q.pop()!.reply, 'b');
    assert.equal(q.length, 1);
    const last = q.pop()!;
    assert.equal(last.reply, 'a');
    assert.equal(last.d, 2);
    assert.equal(q.length, 0);
    assert.equal(q.pop(), null);
  });
});

describe('consumer config', () => {
  const stream = decodeStreamConfig({ name: 'S', subjects: ['s.>'], num_replicas: 1 });
  const none = { maxRequestBatch: 0, maxAckPending: 0 };
  const src = (): { subjects: string[]; hasExt: boolean } => ({ subjects: [], hasExt: false });
  const check = (o: Record<string, unknown>): string | null => {
    const c = decodeConsumerConfig(o);
    setConsumerDefaults(c, none, -1);
    const e = checkConsumerConfig(c, none, stream, -1, false, src);
    return e === null ? null : e.description;
  };
  it('defaults as setConsumerConfigDefaults', () => {
    const c = decodeConsumerConfig({ ack_policy: 'explicit' });
    setConsumerDefaults(c, none, 100);
    const j = consumerConfigJSON(c);
    assert.equal(j.ack_wait, 30e9);
    assert.equal(j.max_deliver, -1);
    assert.equal(j.max_waiting, 512);
    assert.equal(j.max_ack_pending, 100, 'the account limit when lower than 1000');
    const b = decodeConsumerConfig({ ack_policy: 'explicit', backoff: [2e9, 5e9], max_deliver: 5 });
    setConsumerDefaults(b, none, -1);
    assert.equal(b.ackWait, 2e9, 'the first backoff is the ack wait');
  });
  it('checks', () => {
    assert.equal(check({ filter_subject: 't.>' }), 'consumer filter subject is not a valid subset of the interest subjects');
    assert.equal(check({ filter_subject: 's.a' }), null);
    assert.equal(check({ filter_subject: '>' }), null, 'a wider wildcard that matches a stream subject');
    assert.equal(check({ deliver_policy: 'by_start_time' }), 'consumer delivery policy is deliver by start time, but optional start time is not set');
    assert.equal(check({ sample_freq: '-5' }), 'failed to parse consumer sampling configuration: %!s(<nil>)');
    assert.equal(check({ sample_freq: '50%' }), null);
    assert.equal(check({ deliver_subject: 'd', max_ack_pending: 5 }), 'consumer requires ack policy for max ack pending');
    assert.equal(check({ durable_name: 'a', name: 'b' }), 'Consumer Durable and Name have to be equal if both are provided');
    assert.equal(check({ max_batch: -1 }), 'consumer max request batch needs to be > 0');
    assert.equal(check({ max_expires: 10 }), 'consumer max request expires needs to be >= 1ms');
  });
  it('JSON decoding as Go', () => {
    assert.throws(() => decodeConsumerConfig({ deliver_policy: null }), /unmarshal/);
    assert.throws(() => decodeConsumerConfig({ ack_wait: '1s' }), /unmarshal/);
    assert.equal(decodeConsumerConfig({ deliver_policy: 'undefined' }).deliverPolicy, 'all');
    assert.equal(decodeConsumerConfig({ Durable_Name: 'x' }).durable, 'x');
  });
  it('updates: what may change', () => {
    const a = decodeConsumerConfig({ durable_name: 'd', ack_policy: 'explicit', deliver_subject: 'x' });
    const b = { ...a, ackPolicy: 'all' as const };
    assert.equal(checkConsumerUpdate(a, b, () => false), 'ack policy can not be updated');
    const c = { ...a, description: 'new', maxAckPending: 7 };
    assert.equal(checkConsumerUpdate(a, c, () => false), null);
    const d = { ...a, deliverSubject: 'y' };
    assert.equal(checkConsumerUpdate(a, d, () => false), null);
    const e = checkConsumerUpdate(a, d, () => true);
    assert.ok(e instanceof ApiError && e.description === 'consumer name already in use');
    assert.equal(checkConsumerUpdate(a, { ...a, deliverSubject: '' }, () => false), 'can not update push consumer to pull based');
  });
});

// --- on an embedded server ---------------------------------------------------------

let server: Server;
let nc: NatsConnection;
let dir: string;
const dec = new TextDecoder();

// 20 s: the scale tests send thousands of requests at once, and under a load of 15 on
// 2 cores answering them all took over 5 s (no speed is asserted here)
async function req(subject: string, body: unknown = ''): Promise<Record<string, unknown>> {
  const m = await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 20_000 });
  return JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
}

function streamOf(name: string): Stream {
  const js = server.jetstream as unknown as JetStream;
  return js.accounts.get('$G')!.streams.get(name)!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One pull: nc.request cannot be used, as a pulled message keeps its stream
 * subject, which the client's request mux does not recognise (the reference
 * does the same).
 */
async function next(stream: string, consumer: string): Promise<{ subject: string; reply: string; data: string }> {
  const inbox = `_INBOX.next.${Math.random().toString(36).slice(2)}`;
  const sub = nc.subscribe(inbox, { max: 1, timeout: 2000 });
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, '', { reply: inbox });
  for await (const m of sub) return { subject: m.subject, reply: m.reply ?? '', data: dec.decode(m.data) };
  throw new Error('no message');
}

/** Count setTimeout calls while `fn` runs (and `settleMs` after). */
async function countTimers(fn: () => Promise<void>, settleMs: number): Promise<number> {
  const orig = globalThis.setTimeout;
  let n = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    n++;
    return orig(...args);
  }) as typeof setTimeout;
  try {
    await fn();
    await new Promise((r) => orig(r, settleMs));
  } finally {
    globalThis.setTimeout = orig;
  }
  return n;
}

describe('consumers on an embedded server', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsnats-consumer-unit-'));
    server = new Server({ host: '127.0.0.1', port: -1, jetstream: true, storeDir: dir } as never);
    await server.start();
    nc = await connect({ servers: server.clientURL(), reconnect: false });
  });
  after(async () => {
    await nc.close();
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starting positions on a big stream read nothing they skip', async () => {
    await req('$JS.API.STREAM.CREATE.BIG', { name: 'BIG', subjects: ['big.>'], storage: 'memory' });
    const s = streamOf('BIG');
    const N = 100_000;
    const body = Buffer.from('x');
    const t0 = Date.now() * 1e6;
    for (let i = 0; i < N; i++) s.store.storeMsg(`big.${i % 100}`, null, body);
    const mid = s.store.loadMsg(N / 2)!.ts;
    // count message reads while consumers are created and their first message delivered
    const store = s.store as unknown as Record<string, (...a: unknown[]) => unknown>;
    let reads = 0;
    for (const k of ['loadNextMsg', 'loadMsg']) {
      const orig = store[k].bind(s.store);
      store[k] = (...a: unknown[]) => {
        reads++;
        return orig(...a);
      };
    }
    const cfgs: Record<string, unknown>[] = [
      { durable_name: 'L', deliver_policy: 'last', ack_policy: 'explicit' },
      { durable_name: 'N', deliver_policy: 'new', ack_policy: 'explicit' },
      { durable_name: 'Q', deliver_policy: 'by_start_sequence', opt_start_seq: N - 5, ack_policy: 'explicit' },
      { durable_name: 'T', deliver_policy: 'by_start_time', opt_start_time: new Date(mid / 1e6).toISOString(), ack_policy: 'explicit' },
      { durable_name: 'F', deliver_policy: 'last', filter_subject: 'big.7', ack_policy: 'explicit' },
    ];
    for (const c of cfgs) {
      const r = await req(`$JS.API.CONSUMER.DURABLE.CREATE.BIG.${c.durable_name}`, { stream_name: 'BIG', config: c });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
    }
    const info = await req('$JS.API.CONSUMER.INFO.BIG.Q');
    assert.equal(info.num_pending, 6);
    const f = await req('$JS.API.CONSUMER.INFO.BIG.F');
    assert.equal((f.delivered as Record<string, number>).stream_seq, N - 100 + 7);
    const m = await next('BIG', 'Q');
    assert.equal(m.subject, `big.${(N - 5 - 1) % 100}`);
    assert.ok(reads < 20, `reads: ${reads}`);
    assert.ok(t0 > 0);
    await req('$JS.API.STREAM.DELETE.BIG');
  });

  it('1000 pending messages: one redelivery timer, not one per message', async () => {
    await req('$JS.API.STREAM.CREATE.RD', { name: 'RD', subjects: ['rd'], storage: 'memory' });
    for (let i = 0; i < 1000; i++) nc.publish('rd', 'x');
    await nc.flush();
    await req('$JS.API.CONSUMER.DURABLE.CREATE.RD.C', { stream_name: 'RD', config: { durable_name: 'C', ack_policy: 'explicit', ack_wait: 300e6 } });
    let got = 0;
    const inbox = '_INBOX.rd';
    const sub = nc.subscribe(inbox, { callback: () => void got++ });
    await nc.flush();
    const timers = await countTimers(async () => {
      nc.publish('$JS.API.CONSUMER.MSG.NEXT.RD.C', JSON.stringify({ batch: 2000, expires: 3e9 }), { reply: inbox });
      while (got < 1000) await sleep(10);
    }, 700);
    // first delivery of 1000 and their redelivery after ack_wait
    assert.ok(got >= 1900, `got ${got}`);
    assert.ok(timers < 40, `setTimeout calls: ${timers}`);
    sub.unsubscribe();
    await req('$JS.API.STREAM.DELETE.RD');
  });

  it('a waiting pull request costs no polling', async () => {
    await req('$JS.API.STREAM.CREATE.W', { name: 'W', subjects: ['w'], storage: 'memory' });
    await req('$JS.API.CONSUMER.DURABLE.CREATE.W.C', { stream_name: 'W', config: { durable_name: 'C', ack_policy: 'explicit' } });
    const inbox = '_INBOX.w';
    const answers: string[] = [];
    const sub = nc.subscribe(inbox, { callback: (_e, m) => void answers.push(`${m.headers?.code} ${m.headers?.description}`) });
    await nc.flush();
    const timers = await countTimers(async () => {
      nc.publish('$JS.API.CONSUMER.MSG.NEXT.W.C', JSON.stringify({ batch: 1, expires: 600e6 }), { reply: inbox });
      await nc.flush();
    }, 900);
    assert.deepEqual(answers, ['408 Request Timeout']);
    assert.ok(timers <= 4, `setTimeout calls: ${timers}`);
    sub.unsubscribe();
    await req('$JS.API.STREAM.DELETE.W');
  });

  it('thousands of abandoned ephemerals go away and leave nothing behind', async () => {
    await req('$JS.API.STREAM.CREATE.EPH', { name: 'EPH', subjects: ['eph.>'], storage: 'memory' });
    const s = streamOf('EPH');
    const subsBefore = server.globalAccount.sublist.count();
    const reqs: Promise<Record<string, unknown>>[] = [];
    for (let i = 0; i < 1000; i++) reqs.push(req(`$JS.API.CONSUMER.CREATE.EPH.p${i}`, { stream_name: 'EPH', config: { inactive_threshold: 200e6 } }));
    for (let i = 0; i < 1000; i++) {
      reqs.push(req('$JS.API.CONSUMER.CREATE.EPH', { stream_name: 'EPH', config: { deliver_subject: `nobody.${i}`, inactive_threshold: 200e6 } }));
    }
    for (const r of await Promise.all(reqs)) assert.equal(r.error, undefined);
    const deadline = Date.now() + 8000;
    while (s.consumers.size > 0 && Date.now() < deadline) await sleep(100);
    assert.equal(s.consumers.size, 0);
    assert.equal(server.globalAccount.sublist.count(), subsBefore);
    await req('$JS.API.STREAM.DELETE.EPH');
  });

  it('abandoned ephemerals of a file stream leave no consumer files behind', async () => {
    // ephemerals of file streams are stored as the reference's are (restored after a restart)
    await req('$JS.API.STREAM.CREATE.EPHF', { name: 'EPHF', subjects: ['ephf.>'], storage: 'file' });
    const s = streamOf('EPHF');
    const reqs: Promise<Record<string, unknown>>[] = [];
    for (let i = 0; i < 150; i++) reqs.push(req('$JS.API.CONSUMER.CREATE.EPHF', { stream_name: 'EPHF', config: { inactive_threshold: 200e6 } }));
    for (let i = 0; i < 150; i++) {
      reqs.push(req('$JS.API.CONSUMER.CREATE.EPHF', { stream_name: 'EPHF', config: { deliver_subject: `nobody.${i}`, inactive_threshold: 200e6 } }));
    }
    for (const r of await Promise.all(reqs)) assert.equal(r.error, undefined);
    assert.equal(s.store.consumerNames().length, 300);
    const deadline = Date.now() + 8000;
    while ((s.consumers.size > 0 || s.store.consumerNames().length > 0) && Date.now() < deadline) await sleep(100);
    assert.equal(s.consumers.size, 0);
    assert.deepEqual(s.store.consumerNames(), []);
    await req('$JS.API.STREAM.DELETE.EPHF');
  });

  it('memory back to baseline after thousands of consumers came and went', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    await req('$JS.API.STREAM.CREATE.MEM', { name: 'MEM', subjects: ['mem'], storage: 'memory' });
    const s = streamOf('MEM');
    const round = async (): Promise<void> => {
      const ps: Promise<Record<string, unknown>>[] = [];
      for (let i = 0; i < 1500; i++) ps.push(req(`$JS.API.CONSUMER.CREATE.MEM.c${i}`, { stream_name: 'MEM', config: { inactive_threshold: 100e6 } }));
      for (let i = 0; i < 1500; i++) {
        ps.push(req('$JS.API.CONSUMER.CREATE.MEM', { stream_name: 'MEM', config: { deliver_subject: `gone.${i}`, inactive_threshold: 100e6 } }));
      }
      for (const r of await Promise.all(ps)) assert.equal(r.error, undefined);
      const deadline = Date.now() + 8000;
      while (s.consumers.size > 0 && Date.now() < deadline) await sleep(50);
      assert.equal(s.consumers.size, 0);
    };
    // two rounds first: maps and caches reach the size they keep (under load
    // the first round alone left the baseline ~1 MB short of that)
    await round();
    await round();
    await sleep(200);
    gc();
    gc();
    const base = process.memoryUsage().heapUsed;
    const twoRounds = async (): Promise<number> => {
      await round();
      await round();
      await sleep(200);
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const grown1 = (await twoRounds()) - base;
    const grown2 = (await twoRounds()) - base - grown1;
    // 6000 consumers per two rounds: a leak of a few hundred bytes each shows
    // in both steps; a one-time growth (caches settling under a loaded
    // machine's timing: 2.9 and 3.4 MB seen in the first step) in one only
    const grown = Math.min(grown1, grown2);
    assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown1} then ${grown2} bytes`);
    await req('$JS.API.STREAM.DELETE.MEM');
  });

  it('bad acks change nothing; duplicate acks count once', async () => {
    await req('$JS.API.STREAM.CREATE.BA', { name: 'BA', subjects: ['ba'], storage: 'memory', retention: 'workqueue' });
    for (let i = 0; i < 5; i++) nc.publish('ba', `m${i}`);
    await nc.flush();
    await req('$JS.API.CONSUMER.DURABLE.CREATE.BA.C', { stream_name: 'BA', config: { durable_name: 'C', ack_policy: 'explicit' } });
    const m1 = await next('BA', 'C');
    const m2 = await next('BA', 'C');
    // never delivered, malformed, for other consumers, garbage bodies
    for (const subj of ['$JS.ACK.BA.C.1.4.4.0.0', '$JS.ACK.BA.C.x.y.z.0.0', '$JS.ACK.BA.C.1.2', '$JS.ACK.BA.NOPE.1.1.1.0.0']) nc.publish(subj, '+ACK');
    nc.publish(m1.reply, 'garbage');
    nc.publish(m1.reply, '-NAK {"delay": "soon"}');
    nc.publish(m1.reply, '+TERM extra');
    await nc.flush();
    await sleep(50);
    let info = await req('$JS.API.CONSUMER.INFO.BA.C');
    assert.equal(info.num_ack_pending, 2);
    assert.equal((await req('$JS.API.STREAM.INFO.BA')).state && ((await req('$JS.API.STREAM.INFO.BA')).state as Record<string, number>).messages, 5);
    const a = await nc.request(m2.reply, '+ACK', { timeout: 2000 });
    const b = await nc.request(m2.reply, '+ACK', { timeout: 2000 });
    assert.equal(a.data.length + b.data.length, 0);
    info = await req('$JS.API.CONSUMER.INFO.BA.C');
    assert.equal(info.num_ack_pending, 1);
    const st = (await req('$JS.API.STREAM.INFO.BA')).state as Record<string, number>;
    assert.equal(st.messages, 4, 'the workqueue removed the acked message only');
    await req('$JS.API.STREAM.DELETE.BA');
  });

  it('random ack traffic: no crash, counts stay consistent', async () => {
    await req('$JS.API.STREAM.CREATE.RA', { name: 'RA', subjects: ['ra'], storage: 'memory', retention: 'interest' });
    await req('$JS.API.CONSUMER.DURABLE.CREATE.RA.C', { stream_name: 'RA', config: { durable_name: 'C', ack_policy: 'explicit', ack_wait: 200e6, max_deliver: 4 } });
    await req('$JS.API.CONSUMER.DURABLE.CREATE.RA.A', { stream_name: 'RA', config: { durable_name: 'A', ack_policy: 'all' } });
    for (let i = 0; i < 50; i++) nc.publish('ra', `m${i}`);
    await nc.flush();
    const inbox = '_INBOX.ra';
    const sub = nc.subscribe(inbox);
    nc.publish('$JS.API.CONSUMER.MSG.NEXT.RA.C', JSON.stringify({ batch: 30, expires: 1e9 }), { reply: inbox });
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const bodies = ['', '+ACK', '-NAK', '+WPI', '+TERM', '+NXT', '+NXT 5', '-NAK {"delay":1}', '-NAK 10ms', '-NAK {', 'junk', '+OK', '-NAK -1s'];
    const num = (): string => ['0', '1', '7', '30', '99', '-1', 'x', '', '18446744073709551615'][rnd(9)];
    for (let i = 0; i < 3000; i++) {
      const c = ['C', 'A', 'Z'][rnd(3)];
      const subj = `$JS.ACK.RA.${c}.${num()}.${num()}.${num()}.${num()}.${num()}`;
      if (subj.includes('..') || subj.endsWith('.')) continue;
      nc.publish(subj, bodies[rnd(bodies.length)], rnd(4) === 0 ? { reply: inbox } : undefined);
    }
    await nc.flush();
    await sleep(500);
    for (const name of ['C', 'A']) {
      const info = await req(`$JS.API.CONSUMER.INFO.RA.${name}`);
      assert.equal(info.error, undefined);
      const d = info.delivered as Record<string, number>;
      assert.ok((info.num_ack_pending as number) <= d.consumer_seq, name);
      assert.ok((info.num_pending as number) >= 0 && (info.num_pending as number) <= 50, name);
    }
    const st = (await req('$JS.API.STREAM.INFO.RA')).state as Record<string, number>;
    assert.ok(st.messages <= 50);
    sub.unsubscribe();
    await req('$JS.API.STREAM.DELETE.RA');
  });

  it('the consumer class is what the stream holds', async () => {
    await req('$JS.API.STREAM.CREATE.K', { name: 'K', subjects: ['k'], storage: 'memory' });
    await req('$JS.API.CONSUMER.DURABLE.CREATE.K.C', { stream_name: 'K', config: { durable_name: 'C' } });
    assert.ok(streamOf('K').consumers.get('C') instanceof Consumer);
    await req('$JS.API.STREAM.DELETE.K');
  });
});
