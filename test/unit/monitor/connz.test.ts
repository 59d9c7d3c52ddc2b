// /connz against an embedded server: fields, every sort key, filters, paging,
// closed connections, and a page out of 2000 connections.

import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { client, get, getJSON, startEmbedded, type Embedded } from './helpers.js';
import { flush } from '../../helpers/proto.js';
import { SORT_OPTIONS, selectTop } from '../../../src/monitor/connz.js';
import type { RawClient } from '../../helpers/rawclient.js';

interface ConnInfo {
  cid: number;
  name?: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
  subscriptions_list?: string[];
  subscriptions_list_detail?: Array<Record<string, unknown>>;
  reason?: string;
  stop?: string;
  [k: string]: unknown;
}
interface Connz {
  server_id: string;
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[] | null;
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('connz', async (t) => {
  const e: Embedded = await startEmbedded();
  const clients: RawClient[] = [];
  t.after(async () => {
    for (const c of clients) c.socket.destroy();
    await e.stop();
  });
  const port = e.srv.port;
  const sub = await client(port, 'sub');
  clients.push(sub);
  await flush(sub, 'SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\nSUB baz 3\r\n');
  const pub = await client(port, 'pub');
  clients.push(pub);
  await flush(pub, 'PUB foo 5\r\nhello\r\nPUB foo 5\r\nhello\r\nPUB foo 3\r\nabc\r\n');
  await flush(sub);
  const gone = await client(port, 'gone');
  await flush(gone, 'SUB x.y 9\r\n');
  gone.socket.end();
  await waitFor(() => e.srv.closedClients.length === 1, 'closed client');

  await t.test('open connections with subscriptions and counters', async () => {
    const cz = await getJSON<Connz>(`${e.base}/connz?subs=1`);
    assert.equal(cz.server_id, e.srv.serverId);
    assert.equal(cz.total, 2);
    assert.equal(cz.num_connections, 2);
    assert.equal(cz.limit, 1024);
    const [s, p] = cz.connections!;
    assert.equal(s.name, 'sub');
    assert.equal(s.out_msgs, 3);
    assert.equal(s.out_bytes, 13);
    assert.equal(s.subscriptions, 3);
    assert.deepEqual([...s.subscriptions_list!].sort(), ['bar', 'baz', 'foo']);
    assert.equal(p.name, 'pub');
    assert.equal(p.in_msgs, 3);
    assert.equal(p.in_bytes, 13);
    assert.equal(p.subscriptions_list, undefined, 'omitempty list for a client without subscriptions');
    for (const k of ['kind', 'type', 'ip', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle', 'pending_bytes', 'lang', 'version']) {
      assert.ok(k in s, `field ${k}`);
    }
    assert.equal(s.kind, 'Client');
    assert.equal(s.type, 'nats');
    assert.equal(s.stop, undefined);
  });

  await t.test('subs=detail shows queue group, max and msgs', async () => {
    const cz = await getJSON<Connz>(`${e.base}/connz?subs=detail&cid=${e.srv.clients.keys().next().value}`);
    const d = cz.connections![0].subscriptions_list_detail!;
    const bar = d.find((x) => x.subject === 'bar')!;
    assert.deepEqual(bar, { subject: 'bar', qgroup: 'q', sid: '2', msgs: 0, max: 5, cid: cz.connections![0].cid });
    const foo = d.find((x) => x.subject === 'foo')!;
    assert.equal(foo.msgs, 3);
    assert.equal('max' in foo, false);
    assert.equal('account' in foo, false);
  });

  await t.test('closed connections keep their subscriptions and reason', async () => {
    const cz = await getJSON<Connz>(`${e.base}/connz?state=closed&subs=detail`);
    assert.equal(cz.total, 1);
    const c = cz.connections![0];
    assert.equal(c.name, 'gone');
    assert.equal(c.reason, 'Client Closed');
    assert.match(c.stop!, /Z$/);
    assert.equal(c.subscriptions, 1);
    assert.deepEqual(c.subscriptions_list_detail, [{ account: '$G', subject: 'x.y', sid: '9', msgs: 0, cid: c.cid }]);
    const all = await getJSON<Connz>(`${e.base}/connz?state=all`);
    assert.equal(all.total, 3);
    assert.deepEqual(
      all.connections!.map((x) => x.name),
      ['sub', 'pub', 'gone'],
    );
  });

  await t.test('every sort key is accepted where it applies', async () => {
    for (const s of SORT_OPTIONS) {
      const closedOnly = s === 'stop' || s === 'reason';
      const g = await get(`${e.base}/connz?sort=${s}${closedOnly ? '&state=closed' : ''}`);
      assert.equal(g.status, 200, `sort=${s}: ${g.text}`);
      const cz = JSON.parse(g.text) as Connz;
      assert.equal(cz.num_connections, closedOnly ? 1 : 2);
    }
    const byIn = await getJSON<Connz>(`${e.base}/connz?sort=msgs_from`);
    assert.equal(byIn.connections![0].name, 'pub');
    const byOut = await getJSON<Connz>(`${e.base}/connz?sort=bytes_to`);
    assert.equal(byOut.connections![0].name, 'sub');
    const bySubs = await getJSON<Connz>(`${e.base}/connz?sort=subs`);
    assert.equal(bySubs.connections![0].name, 'sub');
    // uptime ascending: the youngest connection first
    const byUp = await getJSON<Connz>(`${e.base}/connz?sort=uptime&state=all`);
    assert.equal(byUp.connections![0].name, 'gone');
  });

  await t.test('bad parameters give the reference errors', async () => {
    const cases: Array<[string, string]> = [
      ['sort=nope', 'invalid sorting option: nope'],
      ['sort=stop', 'sort by stop only valid on closed connections'],
      ['sort=reason&state=all', 'sort by reason only valid on closed connections'],
      ['state=half', 'Error decoding state for half'],
      ['offset=a', `Error decoding int for 'offset': strconv.Atoi: parsing "a": invalid syntax`],
      ['auth=yes', `Error decoding boolean for 'auth': strconv.ParseBool: parsing "yes": invalid syntax`],
      ['cid=x', `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "x": invalid syntax`],
    ];
    for (const [qs, want] of cases) {
      const g = await get(`${e.base}/connz?${qs}`);
      assert.equal(g.status, 400, qs);
      assert.equal(g.text, want, qs);
      assert.equal(g.headers.get('content-type'), 'text/plain; charset=utf-8');
    }
  });

  await t.test('filters: cid, user, unknown account', async () => {
    const one = await getJSON<Connz>(`${e.base}/connz?cid=999999`);
    assert.equal(one.limit, 1);
    assert.equal(one.num_connections, 0);
    assert.deepEqual(one.connections, []);
    const none = await getJSON<Connz>(`${e.base}/connz?user=nobody`);
    assert.equal(none.num_connections, 0);
    // server/monitor.go returns its half-built answer for an unknown account
    const acc = await getJSON<Connz>(`${e.base}/connz?acc=NOPE`);
    assert.equal(acc.server_id, '');
    assert.equal(acc.connections, null);
    const g = await getJSON<Connz>(`${e.base}/connz?acc=$G`);
    assert.equal(g.total, 2);
  });
});

test('selectTop returns the same page as a full sort', () => {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 50; round++) {
    const n = 1 + (rnd() % 500);
    const rows = Array.from({ length: n }, (_, i) => ({ id: i, v: rnd() % 37 }));
    const cmp = (a: { id: number; v: number }, b: { id: number; v: number }) => b.v - a.v || a.id - b.id;
    const k = rnd() % (n + 3);
    const want = [...rows].sort(cmp).slice(0, k);
    assert.deepEqual(selectTop([...rows], k, cmp), want);
  }
});

test('connz pages through 2000 connections', async (t) => {
  const e = await startEmbedded();
  const socks: net.Socket[] = [];
  t.after(async () => {
    for (const s of socks) s.destroy();
    await e.stop();
  });
  const N = 2000;
  await new Promise<void>((resolve, reject) => {
    let opened = 0;
    for (let i = 0; i < N; i++) {
      const s = net.connect(e.srv.port, '127.0.0.1', () => {
        // the first 10 connections publish i+1 messages each, so sort=msgs_from has a known order
        s.write(`CONNECT {"verbose":false,"pedantic":false,"name":"c${i}"}\r\n` + (i < 10 ? 'PUB x 1\r\na\r\n'.repeat(i + 1) : '') + 'PING\r\n');
        if (++opened === N) resolve();
      });
      s.on('error', reject);
      s.on('data', () => {});
      socks.push(s);
    }
  });
  await waitFor(() => e.srv.clients.size === N && e.srv.stats.inMsgs === 55, '2000 connections and 55 messages');

  const page = await getJSON<Connz>(`${e.base}/connz?offset=1990&limit=20`);
  assert.equal(page.total, N);
  assert.equal(page.num_connections, 10);
  const cids = [...e.srv.clients.keys()].sort((a, b) => a - b);
  assert.deepEqual(
    page.connections!.map((c) => c.cid),
    cids.slice(1990),
  );

  const def = await getJSON<Connz>(`${e.base}/connz`);
  assert.equal(def.num_connections, 1024, 'default limit');
  assert.equal(def.connections![1023].cid, cids[1023]);

  const top = await getJSON<Connz>(`${e.base}/connz?sort=msgs_from&limit=3`);
  assert.deepEqual(
    top.connections!.map((c) => [c.name, c.in_msgs]),
    [
      ['c9', 10],
      ['c8', 9],
      ['c7', 8],
    ],
  );
  const second = await getJSON<Connz>(`${e.base}/connz?sort=msgs_from&limit=3&offset=3`);
  assert.deepEqual(
    second.connections!.map((c) => c.name),
    ['c6', 'c5', 'c4'],
  );
  const past = await getJSON<Connz>(`${e.base}/connz?offset=5000`);
  assert.equal(past.num_connections, 0);
  assert.deepEqual(past.connections, []);
});
