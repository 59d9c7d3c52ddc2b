// $JS.API.ACCOUNT.PURGE.<account> against nats-server 2.9.10 on a lone
// server: the system account deletes an account's streams and consumers and
// its store folder; an account may purge itself; the answer is `initiated`
// also for an account with nothing. One deliberate difference, checked on
// tsnats alone: 2.9.10 lets any account purge any other account (its purge
// subscription also receives the requests other accounts send through their
// JetStream API import); tsnats ignores such a request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startServer, writeConfig, type ServerKind } from '../helpers/servers.js';
import { jsRequest, maskedAnswer, tempStoreDir } from '../helpers/jetstream.js';

const CONFIG = `
accounts {
  A { jetstream: enabled, users [ { user: a, password: a } ] }
  B { jetstream: enabled, users [ { user: b, password: b } ] }
  SYS { users [ { user: sys, password: sys } ] }
}
system_account: SYS
`;

type Step = [user: string, subject: string, body?: unknown];

const STEPS: Step[] = [
  ['b', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1'] }],
  ['b', '$JS.API.STREAM.CREATE.S2', { name: 'S2', subjects: ['s2'], storage: 'memory' }],
  ['b', '$JS.API.CONSUMER.DURABLE.CREATE.S1.D', { stream_name: 'S1', config: { durable_name: 'D', ack_policy: 'explicit' } }],
  ['b', 's1', 'one'],
  ['a', '$JS.API.STREAM.CREATE.KEEP', { name: 'KEEP', subjects: ['keep'] }],
  ['a', 'keep', 'kept'],
  ['sys', '$JS.API.ACCOUNT.PURGE.B'],
  ['b', '$JS.API.STREAM.NAMES'],
  ['b', '$JS.API.CONSUMER.INFO.S1.D'],
  ['b', '$JS.API.INFO'],
  ['a', '$JS.API.STREAM.INFO.KEEP'],
  ['sys', '$JS.API.ACCOUNT.PURGE.NOPE'],
  ['sys', '$JS.API.ACCOUNT.PURGE.B', { ignored: true }],
  ['b', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1'] }],
  ['b', 's1', 'again'],
  ['b', '$JS.API.ACCOUNT.PURGE.B'],
  ['b', '$JS.API.STREAM.NAMES'],
];

async function run(kind: ServerKind): Promise<{ answers: string[]; dirs: string[]; log: string }> {
  const sd = tempStoreDir();
  const srv = await startServer(kind, ['-c', writeConfig(CONFIG), '-js', '-sd', sd]);
  const conns = new Map<string, Awaited<ReturnType<typeof connect>>>();
  try {
    for (const u of ['a', 'b', 'sys']) conns.set(u, await connect({ servers: srv.url, user: u, pass: u, reconnect: false }));
    const answers: string[] = [];
    for (const [user, subject, body] of STEPS) {
      answers.push(maskedAnswer(await jsRequest(conns.get(user)!, subject, body ?? '', { timeout: 2000 })));
    }
    const dirs = fs.readdirSync(path.join(sd, 'jetstream')).sort();
    return { answers, dirs, log: srv.stderr() };
  } finally {
    for (const c of conns.values()) await c.close();
    await srv.stop();
  }
}

test('account purge agrees with nats-server 2.9.10', async () => {
  const [r, t] = await Promise.all([run('reference'), run('tsnats')]);
  for (let i = 0; i < STEPS.length; i++) assert.equal(t.answers[i], r.answers[i], `step ${i}: ${STEPS[i].join(' ')}`);
  // B's folder went with its last purge, A's stays
  assert.deepEqual(t.dirs, r.dirs);
  assert.deepEqual(t.dirs, ['A']);
  for (const line of ['Purge request for account B (streams: 2, hasAccount: true)', 'Purge request for account NOPE (streams: 0, hasAccount: false)']) {
    assert.ok(r.log.includes(line), `reference logs ${line}`);
    assert.ok(t.log.includes(line), `tsnats logs ${line}`);
  }
});

test('tsnats: an account cannot purge another account', async () => {
  const sd = tempStoreDir();
  const srv = await startServer('tsnats', ['-c', writeConfig(CONFIG), '-js', '-sd', sd]);
  const a = await connect({ servers: srv.url, user: 'a', pass: 'a', reconnect: false });
  const b = await connect({ servers: srv.url, user: 'b', pass: 'b', reconnect: false });
  try {
    assert.match(maskedAnswer(await jsRequest(b, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s'] })), /did_create/);
    const ans = await jsRequest(a, '$JS.API.ACCOUNT.PURGE.B', '', { timeout: 500 });
    assert.deepEqual(ans, { timeout: true });
    assert.match(maskedAnswer(await jsRequest(b, '$JS.API.STREAM.NAMES')), /"streams":\["S"\]/);
    assert.match(srv.stderr(), /account purge of "B" requested from account "A" ignored/);
  } finally {
    await a.close();
    await b.close();
    await srv.stop();
  }
});
