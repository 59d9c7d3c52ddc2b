// Differential tests of account limits from the config file
// (accounts { X { users: [...], limits { max_connections, max_subscriptions,
// max_payload } } }, server/opts.go parseAccountLimits): the connection
// limit of an account ("maximum account active connections exceeded"), its
// subscription and payload limits, and the server's own limits overriding
// an account's larger ones (logged). Same config and client actions on
// tsnats and nats-server 2.9.10; same answers and [ERR] log lines.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { differentialScenario } from '../helpers/diff.js';
import { errLines, startBoth, writeConfig, type RunningServer, type ServerPair } from '../helpers/servers.js';
import { connect, sleep, type RawClient } from '../helpers/rawclient.js';
import { sign } from '../helpers/jwt-fixture.js';

const PONG = 'PONG\r\n';
const FULL = "-ERR 'maximum account active connections exceeded'\r\n";

const nk = createUser();
const NK = nk.getPublicKey();

const config = `
max_payload: 1000
max_subscriptions: 100
accounts {
  A { users: [{user: a1, password: p}, {user: a2, password: p}], limits { max_connections: 1, max_subscriptions: 2, max_payload: 10 } }
  Z { users: [{user: z, password: p}], limits { max_conn: 0 } }
  N { users: [{nkey: ${NK}}], limits { max_connections: 1 } }
  S { users: [{user: s, password: p}], limits { max_payload: 5000, max_subs: 500 } }
  U { users: [{user: u, password: p}] }
}
`;

let pair: ServerPair;
before(async () => {
  pair = await startBoth(['-c', writeConfig(config)]);
});
after(async () => {
  await pair?.stop();
});

interface Login {
  client: RawClient;
  answer: string;
}

async function login(s: RunningServer, fields: Record<string, unknown>): Promise<Login> {
  const client = await connect(s.port, '127.0.0.1');
  const info = JSON.parse((await client.readUntil(/\r\n/, 10_000)).slice(5)) as { nonce?: string };
  const f: Record<string, unknown> = { verbose: false, pedantic: false, ...fields };
  if (f.nkey !== undefined) f.sig = sign(nk, info.nonce ?? '');
  await client.send(`CONNECT ${JSON.stringify(f)}\r\nPING\r\n`);
  const answer = await client.readUntil(/PONG\r\n|-ERR '[^']*'\r\n/, 10_000).catch(() => client.peek().toString('latin1'));
  return { client, answer };
}

describe('config account limits', () => {
  it('max_connections: the second client of the account is refused; a slot freed lets the next in', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const first = await login(s, { user: 'a1', pass: 'p' });
        const second = await login(s, { user: 'a2', pass: 'p' });
        const secondClosed = await second.client.waitClosed(5000);
        const other = await login(s, { user: 'u', pass: 'p' });
        first.client.close();
        await first.client.waitClosed(5000);
        await sleep(200);
        const third = await login(s, { user: 'a2', pass: 'p' });
        third.client.close();
        second.client.close();
        other.client.close();
        await sleep(100);
        return { first: first.answer, second: second.answer, secondClosed, other: other.answer, third: third.answer, log: errLines(s, from) };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, {
      first: PONG,
      second: FULL,
      secondClosed: true,
      other: PONG,
      third: PONG,
      log: ['[ERR] <client> - maximum account active connections exceeded'],
    });
  });

  it('max_connections 0: nobody of the account gets in', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const r = await login(s, { user: 'z', pass: 'p' });
        const closed = await r.client.waitClosed(5000);
        r.client.close();
        return { answer: r.answer, closed };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, { answer: FULL, closed: true });
  });

  it('max_connections for nkey users', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const first = await login(s, { nkey: NK });
        const second = await login(s, { nkey: NK });
        const closed = await second.client.waitClosed(5000);
        await sleep(100);
        const rest = second.client.received().toString('latin1').replace(/^INFO .*\r\n/, '');
        first.client.close();
        second.client.close();
        await sleep(100);
        return { first: first.answer, second: rest, closed, log: errLines(s, from) };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, {
      first: PONG,
      second: FULL,
      closed: true,
      log: ['[ERR] <client> - maximum account active connections exceeded', `[ERR] <client> - authentication error - Nkey "${NK}"`],
    });
  });

  it('max_subscriptions and max_payload of the account', async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const r = await login(s, { user: 'a1', pass: 'p' });
        await r.client.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPUB a 10\r\n0123456789\r\nPING\r\n');
        const subs = await r.client.readUntil(/PONG\r\n/, 10_000);
        await r.client.send('PUB a 11\r\n01234567890\r\nPING\r\n');
        const err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 10_000).catch(() => 'no -ERR');
        const closed = await r.client.waitClosed(5000);
        r.client.close();
        return { answer: r.answer, subs, err, closed };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, {
      answer: PONG,
      subs: "-ERR 'maximum subscriptions exceeded'\r\nMSG a 1 10\r\n0123456789\r\nPONG\r\n",
      err: "-ERR 'Maximum Payload Violation'\r\n",
      closed: true,
    });
  });

  it("the server's smaller max_payload and max_subscriptions override the account's, logged", async (t) => {
    const { ref } = await differentialScenario(
      t,
      async (s) => {
        const from = s.stderr().length;
        const r = await login(s, { user: 's', pass: 'p' });
        const big = 'x'.repeat(1001);
        await r.client.send(`PUB a ${big.length}\r\n${big}\r\nPING\r\n`);
        const err = await r.client.readUntil(/-ERR '[^']*'\r\n/, 10_000).catch(() => 'no -ERR');
        await r.client.waitClosed(5000);
        r.client.close();
        await sleep(100);
        return { answer: r.answer, err, log: errLines(s, from).filter((l) => !l.includes('maximum payload exceeded')) };
      },
      { servers: pair },
    );
    assert.deepEqual(ref, {
      answer: PONG,
      err: "-ERR 'Maximum Payload Violation'\r\n",
      log: [
        '[ERR] <client> - Max Payload set to 1000 from server overrides account or user config',
        '[ERR] <client> - Max Subscriptions set to 100 from server overrides account or user config',
      ],
    });
  });
});
