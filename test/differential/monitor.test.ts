// Differential monitoring test: the same workload against the reference
// nats-server 2.9.10 (spawned with -m) and an embedded tsnats, then every
// endpoint is compared: status, Content-Type, key sets and key order, value
// types (recursively), exact counters after the workload, and the error
// answers for bad parameters. Values that legitimately differ (ids, times,
// ports, memory) are compared by type only.
//
// Both run without a system account (the reference's $SYS account adds
// internal subscriptions and clients that tsnats does not have) and with a
// 64 KiB max_pending, so a reader that stops is cut as a slow consumer by
// pending bytes on both, well before the write deadline.

import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, writeConfig, type RunningServer } from '../helpers/servers.js';
import { flush } from '../helpers/proto.js';
import type { RawClient } from '../helpers/rawclient.js';
import { client, get, startEmbedded, type Embedded, type Got } from '../unit/monitor/helpers.js';
import { loadConfigFile } from '../../src/config/load.js';

const N = 30; // messages
const M = 23; // bytes each

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

interface Target {
  name: 'reference' | 'tsnats';
  natsPort: number;
  base: string;
  clients: RawClient[];
}

/** A value's shape: objects keep key order, arrays compare as multisets of element shapes. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return ['array', ...v.map((x) => JSON.stringify(shape(x))).sort()];
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = shape(x);
    return { keys: Object.keys(v as object), fields: o };
  }
  return typeof v;
}

function diffShape(a: unknown, b: unknown, path: string, out: string[]): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: array length ${a.length} vs ${b.length}`);
    const sa = a.map((x) => JSON.stringify(shape(x))).sort();
    const sb = b.map((x) => JSON.stringify(shape(x))).sort();
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
      if (sa[i] !== sb[i]) out.push(`${path}[*]: element shape ${sa[i]} vs ${sb[i]}`);
    }
    return;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.join(',') !== kb.join(',')) out.push(`${path}: keys [${ka.join(',')}] vs [${kb.join(',')}]`);
    for (const k of ka) {
      if (k in (b as object)) diffShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
    }
    return;
  }
  const ta = a === null ? 'null' : Array.isArray(a) ? 'array' : typeof a;
  const tb = b === null ? 'null' : Array.isArray(b) ? 'array' : typeof b;
  if (ta !== tb) out.push(`${path}: ${ta} vs ${tb}`);
}

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function workload(t: Target): Promise<void> {
  const sub = await client(t.natsPort, 'sub');
  t.clients.push(sub);
  await flush(sub, 'SUB foo 1\r\nSUB bar q 2\r\nUNSUB 2 5\r\n');
  const pub = await client(t.natsPort, 'pub');
  t.clients.push(pub);
  await flush(pub, `PUB foo ${M}\r\n${'m'.repeat(M)}\r\n`.repeat(N));
  await flush(sub);
  const gone = await client(t.natsPort, 'gone');
  await flush(gone, 'SUB x.y 9\r\n');
  gone.socket.end();
  await waitFor(async () => {
    const g = await get(`${t.base}/connz?state=closed`);
    return (JSON.parse(g.text) as { total: number }).total === 1;
  }, `${t.name}: closed connection listed`);
}

const ENDPOINTS = [
  '/varz',
  '/connz',
  '/connz?subs=1',
  '/connz?subs=detail&auth=1',
  '/connz?state=closed&subs=1',
  '/connz?state=closed&subs=detail',
  '/connz?state=all&sort=uptime',
  '/connz?sort=msgs_to&limit=1',
  '/connz?sort=bytes_from&offset=1',
  '/connz?state=closed&sort=stop',
  '/connz?state=closed&sort=reason',
  '/connz?cid=999999',
  '/connz?acc=NOPE',
  '/connz?acc=$G',
  '/routez',
  '/routez?subs=detail',
  '/subsz',
  '/subsz?subs=1',
  '/subsz?subs=1&test=foo',
  '/subsz?subs=1&test=nomatch',
  '/subsz?subs=1&offset=5&limit=1',
  '/subscriptionsz',
  '/healthz',
  '/healthz?js-enabled-only=true',
  '/accountz',
  '/accountz?acc=$G',
  '/accstatz',
  '/accstatz?unused=1',
  '/gatewayz',
  '/leafz',
  '/leafz?subs=1',
  '/jsz',
  '/jsz?accounts=1',
  '/varz?callback=cb',
  '/connz?callback=cb',
];

const ERRORS = [
  '/connz?sort=nope',
  '/connz?sort=stop',
  '/connz?sort=reason&state=open',
  '/connz?state=bad',
  '/connz?limit=x',
  '/connz?offset=1.5',
  '/connz?subs=maybe',
  '/connz?auth=2',
  '/connz?cid=-1',
  '/connz?cid=99999999999999999999999',
  '/routez?subs=x',
  '/subsz?subs=x',
  '/subsz?test=foo.*',
  '/subsz?limit=z',
  '/accountz?acc=NOPE',
  '/accstatz?unused=x',
  '/healthz?js-enabled-only=x',
  '/healthz?js-server-only=nope',
  '/jsz?accounts=q',
  '/jsz?leader-only=true',
  '/gatewayz?accs=q',
  '/leafz?subs=q',
  '/nope',
  '/varz/',
  '/VARZ',
  '//varz',
  '//connz//?x=1',
];

test('monitoring endpoints match nats-server 2.9.10', async (t) => {
  const httpPort = await freePort();
  const ref: RunningServer = await startServer('reference', ['-c', writeConfig('no_system_account: true\nmax_pending: 65536\nmax_payload: 65536\n'), '-m', String(httpPort)]);
  const ts: Embedded = await startEmbedded({ noSystemAccount: true, maxPending: 65536, maxPayload: 65536 });
  const targets: Target[] = [
    { name: 'reference', natsPort: ref.port, base: `http://127.0.0.1:${httpPort}`, clients: [] },
    { name: 'tsnats', natsPort: ts.srv.port, base: ts.base, clients: [] },
  ];
  t.after(async () => {
    for (const x of targets) for (const c of x.clients) c.socket.destroy();
    await ts.stop();
    await ref.stop();
  });
  assert.match(ref.stderr(), new RegExp(`Starting http monitor on 127\\.0\\.0\\.1:${httpPort}`));

  for (const x of targets) await workload(x);

  const fetchBoth = async (p: string): Promise<[Got, Got]> => [await get(targets[0].base + p), await get(targets[1].base + p)];

  await t.test('same document shapes and headers for every endpoint', async () => {
    const problems: string[] = [];
    for (const p of ENDPOINTS) {
      const [r, s] = await fetchBoth(p);
      if (r.status !== s.status) problems.push(`${p}: status ${r.status} vs ${s.status}`);
      if (r.headers.get('content-type') !== s.headers.get('content-type')) {
        problems.push(`${p}: content-type ${r.headers.get('content-type')} vs ${s.headers.get('content-type')}`);
      }
      const unwrap = (x: string) => (p.includes('callback=cb') ? x.replace(/^cb\(/, '').replace(/\)$/, '') : x);
      if (p.includes('callback=cb')) {
        assert.match(r.text, /^cb\(\{/);
        assert.match(s.text, /^cb\(\{/);
      }
      diffShape(JSON.parse(unwrap(r.text)), JSON.parse(unwrap(s.text)), p, problems);
    }
    assert.deepEqual(problems, []);
  });

  await t.test('exact counters after N messages of M bytes', async () => {
    const [r, s] = await fetchBoth('/varz');
    for (const [g, name] of [
      [r, 'reference'],
      [s, 'tsnats'],
    ] as const) {
      const v = JSON.parse(g.text) as Record<string, unknown>;
      assert.deepEqual(
        {
          in_msgs: v.in_msgs,
          out_msgs: v.out_msgs,
          in_bytes: v.in_bytes,
          out_bytes: v.out_bytes,
          connections: v.connections,
          total_connections: v.total_connections,
          subscriptions: v.subscriptions,
          slow_consumers: v.slow_consumers,
        },
        { in_msgs: N, out_msgs: N, in_bytes: N * M, out_bytes: N * M, connections: 2, total_connections: 3, subscriptions: 2, slow_consumers: 0 },
        name,
      );
    }
    // the request history is the same, so the per-path counters are too
    assert.deepEqual(JSON.parse(s.text).http_req_stats, JSON.parse(r.text).http_req_stats);

    const pick = (g: Got) =>
      (JSON.parse(g.text) as { connections: Array<Record<string, unknown>> }).connections.map((c) => ({
        name: c.name,
        in_msgs: c.in_msgs,
        out_msgs: c.out_msgs,
        in_bytes: c.in_bytes,
        out_bytes: c.out_bytes,
        subscriptions: c.subscriptions,
        lang: c.lang,
        version: c.version,
      }));
    const [cr, cs] = await fetchBoth('/connz?state=all');
    assert.deepEqual(pick(cs), pick(cr));
    const [sr, ss] = await fetchBoth('/subsz');
    const subsKeys = (g: Got) => {
      const o = JSON.parse(g.text) as Record<string, number>;
      return { num_subscriptions: o.num_subscriptions, num_inserts: o.num_inserts, num_removes: o.num_removes };
    };
    assert.deepEqual(subsKeys(ss), subsKeys(sr));
    // which subscription lands on a page follows the reference's map order,
    // so only the paging numbers are compared
    const [pr, ps] = await fetchBoth('/subsz?subs=1&offset=1&limit=1');
    const paging = (g: Got) => {
      const o = JSON.parse(g.text) as { total: number; offset: number; limit: number; subscriptions_list: unknown[] };
      return [o.total, o.offset, o.limit, o.subscriptions_list.length];
    };
    assert.deepEqual(paging(ps), paging(pr));
    assert.deepEqual(paging(ps), [1, 1, 1, 1]);
    const [ar, as] = await fetchBoth('/accstatz');
    const strip = (g: Got) => (JSON.parse(g.text) as { account_statz: unknown }).account_statz;
    assert.deepEqual(strip(as), strip(ar));
    const [dr, ds] = await fetchBoth('/connz?state=closed&subs=detail');
    const det = (g: Got) =>
      (JSON.parse(g.text) as { connections: Array<Record<string, unknown>> }).connections.map((c) => ({
        reason: c.reason,
        subs: (c.subscriptions_list_detail as Array<Record<string, unknown>>).map(({ cid: _cid, ...rest }) => rest),
      }));
    assert.deepEqual(det(ds), det(dr));
  });

  await t.test('same errors, 404s and redirects', async () => {
    const problems: string[] = [];
    for (const p of ERRORS) {
      const [r, s] = await fetchBoth(p);
      if (r.status !== s.status) problems.push(`${p}: status ${r.status} vs ${s.status}`);
      if (r.text !== s.text) problems.push(`${p}: body ${JSON.stringify(r.text)} vs ${JSON.stringify(s.text)}`);
      for (const h of ['content-type', 'location', 'x-content-type-options']) {
        if (r.headers.get(h) !== s.headers.get(h)) problems.push(`${p}: ${h} ${r.headers.get(h)} vs ${s.headers.get(h)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  await t.test('a slow consumer is counted the same', async () => {
    for (const x of targets) {
      const slow = await client(x.natsPort, 'slow');
      x.clients.push(slow);
      await flush(slow, 'SUB big 1\r\n');
      slow.socket.pause(); // never read again
      const pub = x.clients[1];
      const payload = 'z'.repeat(60_000);
      const burst = `PUB big ${payload.length}\r\n${payload}\r\n`.repeat(64);
      await waitFor(async () => {
        if (slow.isClosed) return true;
        await pub.send(burst);
        const v = JSON.parse((await get(`${x.base}/varz`)).text) as { slow_consumers: number };
        return v.slow_consumers > 0;
      }, `${x.name}: slow consumer`, 30_000);
    }
    const [r, s] = await fetchBoth('/varz');
    assert.equal((JSON.parse(r.text) as { slow_consumers: number }).slow_consumers, 1);
    assert.equal((JSON.parse(s.text) as { slow_consumers: number }).slow_consumers, 1);
    const reasons = async (x: Target) =>
      (JSON.parse((await get(`${x.base}/connz?state=closed&sort=stop`)).text) as { connections: Array<{ name: string; reason: string }> })
        .connections.filter((c) => c.name === 'slow')
        .map((c) => c.reason);
    await waitFor(async () => (await reasons(targets[0])).length === 1 && (await reasons(targets[1])).length === 1, 'slow consumer closed');
    assert.deepEqual(await reasons(targets[1]), await reasons(targets[0]));
  });
});

const ACCOUNTS_CONF = `
no_system_account: true
accounts {
  A {
    users = [{user: a, password: pa}]
    exports = [{service: "svc2", accounts: [B]}, {service: "svc.>"}, {stream: "st.>"}]
    mappings = { "m1": "m2" }
  }
  B {
    users = [{user: b, password: pb}]
    imports = [{service: {account: A, subject: "svc.>"}}, {stream: {account: A, subject: "st.>"}, prefix: "pre"}, {service: {account: A, subject: "svc2"}, to: "mysvc"}]
  }
}
`;

test('accounts, users and auth=1 match nats-server 2.9.10', async (t) => {
  const conf = writeConfig(ACCOUNTS_CONF);
  const httpPort = await freePort();
  const ref = await startServer('reference', ['-c', conf, '-m', String(httpPort)]);
  const opts = loadConfigFile(conf).options;
  const ts = await startEmbedded({ ...opts, host: '127.0.0.1', port: -1, httpHost: '127.0.0.1', httpPort: -1 });
  const targets: Target[] = [
    { name: 'reference', natsPort: ref.port, base: `http://127.0.0.1:${httpPort}`, clients: [] },
    { name: 'tsnats', natsPort: ts.srv.port, base: ts.base, clients: [] },
  ];
  t.after(async () => {
    for (const x of targets) for (const c of x.clients) c.socket.destroy();
    await ts.stop();
    await ref.stop();
  });
  for (const x of targets) {
    const a = await client(x.natsPort, 'ca', { user: 'a', pass: 'pa' });
    const b = await client(x.natsPort, 'cb', { user: 'b', pass: 'pb' });
    x.clients.push(a, b);
    await flush(a, 'SUB own 1\r\n');
    await flush(b, 'PUB x 2\r\nhi\r\n');
    const gone = await client(x.natsPort, 'gone', { user: 'a', pass: 'pa' });
    await flush(gone, 'SUB g 1\r\n');
    gone.socket.end();
    await waitFor(async () => (JSON.parse((await get(`${x.base}/connz?state=closed`)).text) as { total: number }).total === 1, 'closed');
  }
  const paths = [
    '/varz',
    '/accountz',
    '/accountz?acc=A',
    '/accountz?acc=B',
    '/accstatz',
    '/connz?auth=1',
    '/connz?auth=1&subs=1&state=all',
    '/connz?acc=A&auth=1',
    '/connz?acc=A&state=closed',
    '/connz?user=a',
    '/connz?user=b&auth=1',
  ];
  const problems: string[] = [];
  for (const p of paths) {
    const r = await get(targets[0].base + p);
    const s = await get(targets[1].base + p);
    if (r.status !== s.status) problems.push(`${p}: status ${r.status} vs ${s.status}`);
    diffShape(JSON.parse(r.text), JSON.parse(s.text), p, problems);
  }
  assert.deepEqual(problems, []);

  const who = async (x: Target, q: string) =>
    (JSON.parse((await get(`${x.base}/connz?${q}`)).text) as { total: number; connections: Array<Record<string, unknown>> | null }).connections?.map(
      (c) => [c.name, c.authorized_user, c.account],
    );
  for (const q of ['auth=1', 'acc=A&auth=1', 'user=b&auth=1', 'acc=A&state=closed&auth=1', 'state=closed&auth=1']) {
    assert.deepEqual(await who(targets[1], q), await who(targets[0], q), q);
  }
  const varzAuth = async (x: Target) => (JSON.parse((await get(`${x.base}/varz`)).text) as { auth_required?: boolean }).auth_required;
  assert.equal(await varzAuth(targets[1]), true);
  assert.equal(await varzAuth(targets[0]), true);
  const exports = async (x: Target) =>
    (JSON.parse((await get(`${x.base}/accountz?acc=A`)).text) as { account_detail: Record<string, unknown> }).account_detail;
  // the reference walks Go maps: compare as sets
  const sorted = (v: unknown) => (v as unknown[]).map((x) => JSON.stringify(x)).sort();
  const [ea, eb] = [await exports(targets[0]), await exports(targets[1])];
  assert.deepEqual(sorted(eb.exports), sorted(ea.exports));
  assert.deepEqual(eb.mappings, ea.mappings);
  const imports = async (x: Target) =>
    (JSON.parse((await get(`${x.base}/accountz?acc=B`)).text) as { account_detail: Record<string, unknown> }).account_detail.imports;
  assert.deepEqual(sorted(await imports(targets[1])), sorted(await imports(targets[0])));
});

test('the executable logs the monitor start like nats-server', async (t) => {
  const lines: Record<string, string[]> = {};
  for (const kind of ['reference', 'tsnats'] as const) {
    const port = await freePort();
    const srv = await startServer(kind, ['-m', String(port)]);
    t.after(() => srv.stop());
    await waitFor(async () => srv.stderr().includes('Server is ready'), `${kind}: ready line`);
    const text = srv.stderr();
    assert.ok(text.includes(`[INF] Starting http monitor on 127.0.0.1:${port}\n`), `${kind}: ${text}`);
    const g = await get(`http://127.0.0.1:${port}/healthz`);
    assert.equal(g.text, '{"status":"ok"}', kind);
    // the order of the startup lines, without timestamps, ids and ports
    lines[kind] = text
      .split('\n')
      .filter((l) => /Starting http monitor|Listening for client connections|Server is ready/.test(l))
      .map((l) => l.replace(/^.*\[INF\] /, '').replace(/:\d+$/, ':<port>'));
  }
  assert.deepEqual(lines.tsnats, lines.reference);
});
