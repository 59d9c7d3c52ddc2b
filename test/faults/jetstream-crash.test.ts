// kill -9 while publishers run: every message whose PubAck a client
// received is back after a restart on the same store_dir, byte for byte;
// nothing is invented (every stored message was sent by a publisher); the
// sequence continues after the last stored message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startServer } from '../helpers/servers.js';
import { tempStoreDir } from '../helpers/jetstream.js';

const ROUNDS = 5;
const PUBLISHERS = 3;

interface Acked {
  seq: number;
  subject: string;
  data: string;
}

async function publishUntilDead(nc: NatsConnection, id: number, acked: Acked[], sent: Set<string>): Promise<void> {
  const js = jetstream(nc, { timeout: 2000 });
  for (let i = 0; ; i++) {
    const subject = `crash.p${id}`;
    const data = `p${id}-m${i}-${'x'.repeat(i % 50)}`;
    sent.add(data);
    // a window of 32 in flight, as an async publisher does
    const batch: Promise<void>[] = [];
    for (let k = 0; k < 32; k++, i++) {
      const d = `p${id}-m${i}-${'y'.repeat(i % 70)}`;
      sent.add(d);
      batch.push(
        js.publish(subject, d).then((a) => {
          acked.push({ seq: a.seq, subject, data: d });
        }),
      );
    }
    try {
      await Promise.all(batch);
    } catch {
      return; // the server is gone
    }
  }
}

type Jsm = Awaited<ReturnType<typeof jetstreamManager>>;

/**
 * Every acked message is stored with its payload; every stored message in
 * [from, to] is one a publisher sent. Requests go 256 at a time.
 */
async function verify(jsm: Jsm, acked: Map<number, Acked>, sent: Set<string>, from: number, to: number): Promise<string[]> {
  const problems: string[] = [];
  const seqs = new Set<number>([...acked.keys()]);
  for (let s = from; s <= to; s++) seqs.add(s);
  const list = [...seqs].sort((a, b) => a - b);
  for (let i = 0; i < list.length; i += 256) {
    const part = list.slice(i, i + 256);
    const got = await Promise.all(part.map((seq) => jsm.streams.getMessage('CRASH', { seq })));
    part.forEach((seq, k) => {
      const m = got[k];
      const a = acked.get(seq);
      if (a !== undefined && (m === null || m.string() !== a.data || m.subject !== a.subject)) problems.push(`acked seq ${seq} lost or changed`);
      if (m !== null && !sent.has(m.string())) problems.push(`seq ${seq} holds a payload nobody sent`);
    });
    if (problems.length > 10) break;
  }
  return problems;
}

test('kill -9 during publishing loses no acknowledged message', async () => {
  const dir = tempStoreDir();
  let lastSeq = 0;
  let prevLast = 0;
  /** acks of the previous round: checked after each restart (all of them once more at the end) */
  let lastRound = new Map<number, Acked>();
  const allAcked = new Map<number, Acked>();
  const sent = new Set<string>();
  for (let round = 0; round < ROUNDS; round++) {
    const srv = await startServer('tsnats', ['-js', '-sd', dir]);
    const nc = await connect({ servers: srv.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    if (round === 0) await jsm.streams.add({ name: 'CRASH', subjects: ['crash.*'] });
    else {
      // everything acked in earlier rounds is still there, and nothing is invented
      const si = await jsm.streams.info('CRASH');
      assert.ok(si.state.last_seq >= lastSeq, `round ${round}: last_seq ${si.state.last_seq} < acked ${lastSeq}`);
      const problems = await verify(jsm, lastRound, sent, prevLast + 1, si.state.last_seq);
      assert.deepEqual(problems, [], `round ${round}`);
      prevLast = si.state.last_seq;
      // the sequence continues after what is stored
      const js = jetstream(nc);
      const a = await js.publish('crash.check', `check-${round}`);
      sent.add(`check-${round}`);
      assert.equal(a.seq, si.state.last_seq + 1);
      allAcked.set(a.seq, { seq: a.seq, subject: 'crash.check', data: `check-${round}` });
    }
    const pubConns = await Promise.all(Array.from({ length: PUBLISHERS }, () => connect({ servers: srv.url, reconnect: false })));
    const acked: Acked[] = [];
    const running = pubConns.map((c, i) => publishUntilDead(c, round * 10 + i, acked, sent));
    await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 400)));
    srv.proc.kill('SIGKILL');
    await srv.exited;
    await Promise.allSettled(running);
    await Promise.allSettled([nc.close(), ...pubConns.map((c) => c.close())]);
    assert.ok(acked.length > 0, `round ${round}: no publish was acknowledged before the kill`);
    lastRound = new Map(acked.map((a) => [a.seq, a]));
    for (const a of acked) {
      allAcked.set(a.seq, a);
      if (a.seq > lastSeq) lastSeq = a.seq;
    }
  }
  // a last check after the final kill
  const srv = await startServer('tsnats', ['-js', '-sd', dir]);
  try {
    const nc = await connect({ servers: srv.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    const si = await jsm.streams.info('CRASH');
    const problems = await verify(jsm, allAcked, sent, 1, si.state.last_seq);
    assert.deepEqual(problems, [], `${allAcked.size} acknowledged messages checked`);
    console.log(`# kill -9 rounds: ${ROUNDS}, acknowledged messages checked: ${allAcked.size}, stored: ${si.state.messages}`);
    await nc.close();
  } finally {
    await srv.stop();
  }
});
