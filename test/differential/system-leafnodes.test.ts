// The system account of a hub with a leafnode, against nats-server 2.9.10:
// the account's SERVER.CONNS event when a leafnode joins and leaves, and
// its STATZ, count the leafnode (server/events.go AccountStat: conns,
// leafnodes, total_conns). The leaf is a nats-server node either way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';

function kinds(): ServerKind[] {
  const only = process.env.DIFF_ONLY;
  if (only === 'reference') return ['reference'];
  if (only === 'tsnats') return ['tsnats'];
  return ['reference', 'tsnats'];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function leafPort(s: RunningServer): number {
  const m = /Listening for leafnode connections on \S+:(\d+)/.exec(s.stderr() + s.stdout());
  if (m === null) throw new Error(`no leafnode listener in the log of ${s.kind}`);
  return Number(m[1]);
}

type Conns = { acc: string; conns: number; leafnodes: number; total_conns: number };

async function scenario(kind: ServerKind): Promise<unknown> {
  const hub = await startServer(kind, [
    '-c',
    writeConfig(`
server_name: HUB
accounts {
  A { users [{user: a, password: a}] }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
leafnodes { host: 127.0.0.1, port: -1, authorization { user: leaf, password: leaf, account: A } }
`),
  ]);
  let leaf: RunningServer | null = null;
  try {
    const sys = await connect({ servers: hub.url, user: 'sys', pass: 'sys' });
    const events: Conns[] = [];
    sys.subscribe('$SYS.ACCOUNT.A.SERVER.CONNS', { callback: (_e, m: Msg) => void events.push(JSON.parse(m.string()) as Conns) });
    await sys.flush();
    leaf = await startServer('reference', ['-c', writeConfig(`server_name: LEAF\nleafnodes { remotes [ { url: "nats://leaf:leaf@127.0.0.1:${leafPort(hub)}" } ] }\n`)]);
    const joined = await until('the leafnode counted', () => events.find((e) => e.leafnodes === 1));
    // an account with a leafnode and no client is not "in use" (numLocalConnections counts clients): no answer
    const unanswered = await sys
      .request('$SYS.REQ.ACCOUNT.A.STATZ', '', { timeout: 1000 })
      .then(() => 'answered')
      .catch(() => 'no answer');
    const statz = JSON.parse((await sys.request('$SYS.REQ.ACCOUNT.A.STATZ', '{"include_unused":true}', { timeout: 5000 })).string()) as { data: { account_statz: Conns[] } };
    const pingStatz = JSON.parse(
      (await sys.request('$SYS.REQ.ACCOUNT.PING.STATZ', JSON.stringify({ accounts: ['A'], include_unused: true }), { timeout: 5000 })).string(),
    ) as {
      data: { account_statz: Conns[] };
    };
    // LEAFZ by account: the subject's account, or the option of the server request
    const leafz = async (subject: string, body = ''): Promise<unknown> => {
      const d = (JSON.parse((await sys.request(subject, body, { timeout: 5000 })).string()) as { data: { leafnodes: number; leafs: { account: string; subscriptions_list?: string[] }[] | null } }).data;
      return [d.leafnodes, (d.leafs ?? []).map((l) => [l.account, Array.isArray(l.subscriptions_list)])];
    };
    const leafzs = {
      accA: await leafz('$SYS.REQ.ACCOUNT.A.LEAFZ'),
      accSYS: await leafz('$SYS.REQ.ACCOUNT.SYS.LEAFZ', '{"account":"A"}'),
      server: await leafz('$SYS.REQ.SERVER.PING.LEAFZ'),
      serverSYS: await leafz('$SYS.REQ.SERVER.PING.LEAFZ', '{"account":"SYS"}'),
      serverSubs: await leafz('$SYS.REQ.SERVER.PING.LEAFZ', '{"account":"A","subscriptions":true}'),
    };
    await leaf.stop();
    leaf = null;
    const left = await until('the leafnode gone', () => events.slice(events.indexOf(joined) + 1).find((e) => e.leafnodes === 0));
    await sys.close();
    const pick = (e: Conns): unknown => [e.acc, e.conns, e.leafnodes, e.total_conns];
    return {
      joined: pick(joined),
      leafzs,
      unanswered,
      statz: statz.data.account_statz.map(pick),
      pingStatz: pingStatz.data.account_statz.map(pick),
      left: pick(left),
    };
  } finally {
    await leaf?.stop();
    await hub.stop();
  }
}

test('a leafnode counts in its account SERVER.CONNS and STATZ, and LEAFZ answers by account', async () => {
  const results: Record<string, unknown> = {};
  for (const k of kinds()) results[k] = await scenario(k);
  if (results.reference !== undefined && results.tsnats !== undefined) assert.deepEqual(results.tsnats, results.reference);
  const { leafzs, ...ref } = (results.reference ?? results.tsnats) as Record<string, unknown>;
  assert.deepEqual((leafzs as { accA: unknown }).accA, [1, [['A', false]]]);
  assert.deepEqual((leafzs as { serverSYS: unknown }).serverSYS, [0, []]);
  assert.deepEqual(ref, {
    joined: ['A', 0, 1, 1],
    unanswered: 'no answer',
    statz: [['A', 0, 1, 1]],
    pingStatz: [['A', 0, 1, 1]],
    left: ['A', 0, 0, 0],
  });
});
