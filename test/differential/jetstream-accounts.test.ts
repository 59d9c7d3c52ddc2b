// JetStream per account against nats-server 2.9.10: accounts with JetStream
// enabled or limited, an account without it (every API request answered
// "jetstream not enabled for account"), account limits on streams and
// storage, and streams isolated between accounts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { startServer, writeConfig } from '../helpers/servers.js';
import { jsRequest, maskedAnswer, tempStoreDir } from '../helpers/jetstream.js';

const CONFIG = `
jetstream {}
accounts {
  A { jetstream: enabled, users [ { user: a, password: a } ] }
  B { users [ { user: b, password: b } ] }
  L {
    jetstream { max_streams: 2, max_mem: 1024, max_file: 4096, max_consumers: 3 }
    users [ { user: l, password: l } ]
  }
}
`;

type Step = [user: string, subject: string, body?: unknown];

const STEPS: Step[] = [
  ['a', '$JS.API.INFO'],
  ['b', '$JS.API.INFO'],
  ['l', '$JS.API.INFO'],
  ['b', '$JS.API.STREAM.CREATE.X', { name: 'X' }],
  ['b', '$JS.API.STREAM.NAMES'],
  ['b', '$JS.API.STREAM.INFO.X'],
  ['a', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1'] }],
  ['l', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1'], storage: 'memory', max_bytes: 512 }],
  ['l', '$JS.API.STREAM.CREATE.S2', { name: 'S2', subjects: ['s2'], storage: 'memory', max_bytes: 1024 }],
  ['l', '$JS.API.STREAM.CREATE.S3', { name: 'S3', subjects: ['s3'], max_bytes: 8192 }],
  ['l', '$JS.API.STREAM.CREATE.S4', { name: 'S4', subjects: ['s4'], max_bytes: 1000, max_consumers: 5 }],
  ['l', '$JS.API.STREAM.CREATE.S5', { name: 'S5', subjects: ['s5'], max_bytes: 1000 }],
  ['l', '$JS.API.STREAM.CREATE.S6', { name: 'S6', subjects: ['s6'], max_bytes: 1000 }],
  ['l', '$JS.API.STREAM.NAMES'],
  ['a', '$JS.API.STREAM.NAMES'],
  ['a', 's1', 'hello'],
  ['l', 's1', 'x'.repeat(600)],
  ['l', 's1', 'small'],
  ['l', '$JS.API.INFO'],
  ['a', '$JS.API.INFO'],
];

async function run(kind: 'tsnats' | 'reference'): Promise<string[]> {
  const srv = await startServer(kind, ['-c', writeConfig(CONFIG), '-sd', tempStoreDir()]);
  const conns = new Map<string, Awaited<ReturnType<typeof connect>>>();
  try {
    for (const u of ['a', 'b', 'l']) conns.set(u, await connect({ servers: srv.url, user: u, pass: u, reconnect: false }));
    const out: string[] = [];
    for (const [user, subject, body] of STEPS) out.push(maskedAnswer(await jsRequest(conns.get(user)!, subject, body ?? '', { timeout: 1000 })));
    return out;
  } finally {
    for (const c of conns.values()) await c.close();
    await srv.stop();
  }
}

test('JetStream per account agrees with nats-server 2.9.10', async () => {
  const [r, t] = await Promise.all([run('reference'), run('tsnats')]);
  for (let i = 0; i < STEPS.length; i++) assert.equal(t[i], r[i], `step ${i}: ${STEPS[i].join(' ')}`);
});
