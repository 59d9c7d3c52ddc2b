// The monitoring listener: routing like Go's ServeMux, headers, JSONP, base
// path, the monitoring token, HTTPS, startup errors, and the JSON of the
// endpoints that report features tsnats does not serve.

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import net from 'node:net';
import { get, getJSON, startEmbedded, client, captureLogger } from './helpers.js';
import { flush } from '../../helpers/proto.js';
import { Server } from '../../../src/server/server.js';

test('routing, headers and JSONP', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());

  assert.ok(
    e.logs.includes(`[INF] Starting http monitor on 127.0.0.1:${e.srv.monitor!.port}`),
    `log line missing: ${e.logs.join('\n')}`,
  );
  const i = e.logs.findIndex((l) => l.includes('Starting http monitor'));
  const j = e.logs.findIndex((l) => l.includes('Listening for client connections'));
  assert.ok(i >= 0 && i < j, 'monitor starts before the client listener, as the reference');

  const root = await get(`${e.base}/`);
  assert.equal(root.status, 200);
  assert.equal(root.headers.get('content-type'), 'text/html; charset=utf-8');
  for (const p of ['varz', 'jsz', 'connz', 'accountz', 'accstatz', 'subsz', 'routez', 'leafz', 'gatewayz', 'healthz']) {
    assert.ok(root.text.includes(`<a href=./${p}`), `index links ${p}`);
  }

  for (const p of ['/nope', '/varz/', '/VARZ', '/connz/x']) {
    const g = await get(`${e.base}${p}`);
    assert.equal(g.status, 404, p);
    assert.equal(g.text, '404 page not found\n');
    assert.equal(g.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(g.headers.get('x-content-type-options'), 'nosniff');
  }

  const redir = await get(`${e.base}//varz?x=1`);
  assert.equal(redir.status, 301);
  assert.equal(redir.headers.get('location'), '/varz?x=1');
  assert.equal(redir.text, '<a href="/varz?x=1">Moved Permanently</a>.\n\n');

  const v = await get(`${e.base}/varz`);
  assert.equal(v.headers.get('content-type'), 'application/json');
  assert.match(v.text, /^\{\n {2}"server_id": "/);

  const cb = await get(`${e.base}/varz?callback=myFn`);
  assert.equal(cb.headers.get('content-type'), 'application/javascript');
  assert.match(cb.text, /^myFn\(\{\n/);
  assert.ok(cb.text.endsWith('})'));

  // encoded paths are decoded before matching, as r.URL.Path is in Go
  assert.equal((await get(`${e.base}/%76arz`)).status, 200);

  const hz = await get(`${e.base}/healthz`);
  assert.equal(hz.text, '{"status":"ok"}');
  const bad = await get(`${e.base}/healthz?js-enabled-only=x`);
  assert.equal(bad.status, 400);
  assert.equal(bad.text, `Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing "x": invalid syntax`);

  const varz = await getJSON(`${e.base}/varz`);
  const stats = varz.http_req_stats as Record<string, number>;
  assert.deepEqual(Object.keys(stats), [...Object.keys(stats)].sort(), 'sorted keys like a Go map');
  assert.equal(stats['/'], 1);
  assert.equal(stats['/varz'], 4);
  assert.equal(stats['/healthz'], 2, 'healthz counts before decoding, like the reference');
});

test('varz, subsz and accstatz arithmetic after a known workload', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());
  const sub = await client(e.srv.port, 's');
  const pub = await client(e.srv.port, 'p');
  t.after(() => {
    sub.socket.destroy();
    pub.socket.destroy();
  });
  await flush(sub, 'SUB a.* 1\r\nSUB a.b 2\r\n');
  const N = 25;
  const M = 17;
  const payload = 'x'.repeat(M);
  await flush(pub, `PUB a.b ${M}\r\n${payload}\r\n`.repeat(N));
  await flush(sub);
  const v = await getJSON(`${e.base}/varz`);
  assert.equal(v.in_msgs, N);
  assert.equal(v.in_bytes, N * M);
  assert.equal(v.out_msgs, 2 * N, 'two matching subscriptions');
  assert.equal(v.out_bytes, 2 * N * M);
  assert.equal(v.connections, 2);
  assert.equal(v.total_connections, 2);
  assert.equal(v.subscriptions, 2);
  assert.equal(v.slow_consumers, 0);
  assert.equal(v.port, e.srv.port);
  assert.equal(v.http_port, -1, 'the configured port, as the reference reports it');

  const s = await getJSON(`${e.base}/subsz?subs=1&test=a.b`);
  assert.equal(s.num_subscriptions, 2);
  assert.equal(s.total, 2);
  const list = s.subscriptions_list as Array<Record<string, unknown>>;
  assert.deepEqual(list.map((x) => x.subject).sort(), ['a.*', 'a.b']);
  assert.equal(list[0].account, '$G');
  const none = await getJSON(`${e.base}/subsz?subs=1&test=zzz`);
  assert.equal('server_id' in none, false, 'an empty page prints only the stats');
  const badTest = await get(`${e.base}/subsz?test=a.*`);
  assert.equal(badTest.status, 400);
  assert.equal(badTest.text, 'invalid test subject, must be valid publish subject: a.*');

  const st = await getJSON(`${e.base}/accstatz`);
  const acc = (st.account_statz as Array<Record<string, unknown>>)[0];
  assert.deepEqual(acc, {
    acc: '$G',
    conns: 2,
    leafnodes: 0,
    total_conns: 2,
    sent: { msgs: 2 * N, bytes: 2 * N * M },
    received: { msgs: N, bytes: N * M },
    slow_consumers: 0,
  });
  const az = await get(`${e.base}/accountz?acc=nope`);
  assert.equal(az.status, 400);
  assert.equal(az.text, 'Account nope does not exist');
  const detail = await getJSON(`${e.base}/accountz?acc=$G`);
  const d = detail.account_detail as Record<string, unknown>;
  assert.equal(d.client_connections, 2);
  assert.equal(d.subscriptions, 2);

  const jsz = await get(`${e.base}/jsz?leader-only=true`);
  assert.equal(jsz.status, 400);
  assert.equal(jsz.text, 'filtered response: not leader');
  const leafz = await getJSON(`${e.base}/leafz`);
  assert.equal(leafz.leafs, null);
  const rz = await getJSON(`${e.base}/routez?subs=1`);
  assert.deepEqual(rz.routes, []);
  assert.equal(rz.num_routes, 0);
});

test('routez reports what the RouteInfoProvider gives', async (t) => {
  const e = await startEmbedded();
  t.after(() => e.stop());
  const start = new Date(Date.now() - 65_000);
  e.srv.routeInfoProvider = {
    numRoutes: () => 1,
    numRemotes: () => 1,
    routes: () => [
      {
        cid: 7,
        remoteId: 'NREMOTE',
        didSolicit: true,
        isConfigured: true,
        host: '127.0.0.1',
        port: 6333,
        start,
        lastActivity: Date.now(),
        rttMs: 1.5,
        inMsgs: 3,
        outMsgs: 4,
        inBytes: 30,
        outBytes: 40,
        pendingBytes: () => 0,
        numSubs: () => 1,
        subscriptions: () => [{ subject: 'foo', queue: 'g', sid: 'foo g', nm: 2, max: 0 }],
      },
    ],
  };
  const rz = await getJSON(`${e.base}/routez?subs=detail`);
  assert.equal(rz.num_routes, 1);
  const r = (rz.routes as Array<Record<string, unknown>>)[0];
  assert.equal(r.rid, 7);
  assert.equal(r.remote_id, 'NREMOTE');
  assert.equal(r.rtt, '1.5ms');
  assert.equal(r.uptime, '1m5s');
  assert.equal(r.pending_size, 0);
  assert.deepEqual(r.subscriptions_list_detail, [{ subject: 'foo', qgroup: 'g', sid: 'foo g', msgs: 2, cid: 7 }]);
  const v = await getJSON(`${e.base}/varz`);
  assert.equal(v.routes, 1);
  assert.equal(v.remotes, 1);
});

test('http_base_path prefixes every endpoint', async (t) => {
  const e = await startEmbedded({ httpBasePath: 'nats/' });
  t.after(() => e.stop());
  assert.ok(e.base.endsWith('/nats'));
  const port = e.srv.monitor!.port;
  assert.equal((await get(`http://127.0.0.1:${port}/varz`)).status, 404);
  assert.equal((await get(`http://127.0.0.1:${port}/`)).status, 404);
  assert.equal((await get(`${e.base}/varz`)).status, 200);
  const root = await get(`${e.base}`);
  assert.equal(root.status, 200);
  assert.ok(root.text.includes('<a href=./nats/varz>'));
  const v = await getJSON(`${e.base}/varz`);
  assert.equal(v.http_base_path, 'nats/');
});

test('monitoring_token protects everything but /healthz', async (t) => {
  const e = await startEmbedded({ monitoringToken: 's3cret' });
  t.after(() => e.stop());
  for (const p of ['/varz', '/connz', '/metrics', '/dashboard', '/dashboard/data', '/']) {
    const g = await get(`${e.base}${p}`);
    assert.equal(g.status, 401, p);
    assert.equal(g.headers.get('www-authenticate'), 'Bearer realm="nats-monitoring"');
    const wrong = await get(`${e.base}${p}`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401, p);
    const ok = await get(`${e.base}${p}`, { headers: { Authorization: 'Bearer s3cret' } });
    assert.equal(ok.status, 200, p);
  }
  assert.equal((await get(`${e.base}/varz?token=s3cret`)).status, 200);
  assert.equal((await get(`${e.base}/healthz`)).status, 200);
  // unknown paths stay 404 so the token does not reveal which paths exist
  assert.equal((await get(`${e.base}/nope`)).status, 404);
  // the token in force is read per request, so a config reload applies
  e.srv.opts = { ...e.srv.opts, monitoringToken: 'other' };
  assert.equal((await get(`${e.base}/varz`, { headers: { Authorization: 'Bearer s3cret' } })).status, 401);
  assert.equal((await get(`${e.base}/varz`, { headers: { Authorization: 'bearer other' } })).status, 200);
  e.srv.opts = { ...e.srv.opts, monitoringToken: undefined };
  assert.equal((await get(`${e.base}/varz`)).status, 200);
});

test('healthz reports an unserved JetStream as unavailable', async (t) => {
  const e = await startEmbedded({ jetstream: true });
  t.after(() => e.stop());
  const g = await get(`${e.base}/healthz`);
  assert.equal(g.status, 503);
  assert.equal(g.text, '{"status":"unavailable","error":"JetStream not enabled (10076)"}');
  assert.equal(g.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.ok(e.logs.some((l) => l.startsWith('[WRN] Healthcheck failed: "JetStream not enabled (10076)"')));
});

test('startup errors use the reference messages', async () => {
  const both = new Server({ host: '127.0.0.1', port: -1, httpPort: -1, httpsPort: -1 });
  await assert.rejects(both.start(), { name: 'MonitorStartError', message: "Can't start monitoring: can't specify both HTTP (-1) and HTTPs (-1) ports" });
  await both.shutdown();
  const noTLS = new Server({ host: '127.0.0.1', port: -1, httpsPort: -1 });
  await assert.rejects(noTLS.start(), { message: "Can't start monitoring: TLS cert and key required for HTTPS" });
  await noTLS.shutdown();

  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const busy = new Server({ host: '127.0.0.1', port: -1, httpHost: '127.0.0.1', httpPort: port }, captureLogger([]));
    await assert.rejects(busy.start(), {
      message: `Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:${port}: bind: address already in use`,
    });
    await busy.shutdown();
  } finally {
    blocker.close();
  }
});

test('https monitoring with the server TLS certificate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-mon-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const e = await startEmbedded({
    httpPort: 0,
    httpsPort: -1,
    tlsConfig: { certFile: cert, keyFile: key, verify: false, verifyAndMap: false, insecure: false, timeoutMs: 2000 },
  });
  t.after(() => e.stop());
  assert.ok(e.base.startsWith('https://'));
  assert.ok(e.logs.some((l) => l === `[INF] Starting https monitor on 127.0.0.1:${e.srv.monitor!.port}`));
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${e.base}/varz`, { ca: execFileSync('cat', [cert]) }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (s += d));
        res.on('end', () => resolve(s));
      })
      .on('error', reject);
  });
  const v = JSON.parse(body) as Record<string, unknown>;
  assert.equal(v.server_id, e.srv.serverId);
  assert.equal(v.https_port, -1);
});
