// The system account through the official nats.js client: monitoring
// requests, CONNECT/DISCONNECT subscriptions and service latency results
// against the reference and tsnats; $SYS.REQ.USER.INFO and the LAMEDUCK
// event, which nats-server 2.10 added, against tsnats alone.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, headers, jwtAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Operator, operatorConfig, user } from '../helpers/jwt-fixture.js';
import { onBoth, within } from './dual.js';
import { startServer, writeConfig } from '../helpers/servers.js';

const CONFIG = `
accounts {
  SVC {
    users [{user: s, password: s}]
    exports [{service: "svc.echo", latency: {sampling: 100, subject: "lat.results"}}]
  }
  C {
    users [{user: c, password: c, permissions: {publish: {allow: ["svc.>", "$SYS.REQ.>", "_INBOX.>"]}, subscribe: {allow: ["_INBOX.>", "x.*"], deny: ["x.secret"]}}}]
    imports [{service: {account: SVC, subject: "svc.echo"}}]
  }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;

function keysOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 0 ? [keysOf(v[0])] : [];
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, keysOf(x)]));
  return typeof v;
}

function next(nc: NatsConnection, subject: string): Promise<Msg> {
  const sub = nc.subscribe(subject, { max: 1 });
  return within(
    (async () => {
      for await (const m of sub) return m;
      throw new Error(`no message on ${subject}`);
    })(),
    subject,
  );
}

describe('system account with the official client', () => {
  it('nc.request on $SYS.REQ.SERVER.PING.VARZ and CONNZ', async () => {
    await onBoth(
      async (t) => {
        const sys = await t.connect({ user: 'sys', pass: 'sys' });
        const varz = (await sys.request('$SYS.REQ.SERVER.PING.VARZ', '', { timeout: 5000 })).json<{ server: unknown; data: Record<string, unknown> }>();
        assert.equal(varz.data.system_account, 'SYS');
        const connz = (await sys.request('$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ auth: true }), { timeout: 5000 })).json<{
          data: { connections: { authorized_user: string; account: string }[] };
        }>();
        assert.deepEqual(
          connz.data.connections.map((c) => [c.authorized_user, c.account]),
          [['sys', 'SYS']],
        );
        return { server: keysOf(varz.server), users: connz.data.connections.map((c) => c.authorized_user) };
      },
      { config: CONFIG },
    );
  });

  it('CONNECT and DISCONNECT events of an account arrive to a subscriber of the system account', async () => {
    await onBoth(
      async (t) => {
        const sys = await t.connect({ user: 'sys', pass: 'sys' });
        const connected = next(sys, '$SYS.ACCOUNT.C.CONNECT');
        const disconnected = next(sys, '$SYS.ACCOUNT.C.DISCONNECT');
        await sys.flush();
        const c = await connect({ servers: t.url, user: 'c', pass: 'c', name: 'who' });
        const ce = (await connected).json<{ type: string; client: Record<string, unknown> }>();
        await c.close();
        const de = (await disconnected).json<{ type: string; reason: string; client: Record<string, unknown> }>();
        assert.equal(ce.type, 'io.nats.server.advisory.v1.client_connect');
        assert.equal(de.type, 'io.nats.server.advisory.v1.client_disconnect');
        assert.equal(de.reason, 'Client Closed');
        return {
          connect: [ce.client.acc, ce.client.user, ce.client.name, ce.client.kind],
          disconnect: [de.client.acc, de.client.user, de.client.name, de.reason],
          connectKeys: Object.keys(ce.client),
          disconnectKeys: Object.keys(de.client),
        };
      },
      { config: CONFIG },
    );
  });

  it('service latency results of a tracked export', async () => {
    await onBoth(
      async (t) => {
        const s = await t.connect({ user: 's', pass: 's' });
        s.subscribe('svc.echo', { callback: (_e, m) => void m.respond('pong') });
        const results: Msg[] = [];
        s.subscribe('lat.results', { callback: (_e, m) => void results.push(m) });
        await s.flush();
        const c = await t.connect({ user: 'c', pass: 'c' });
        const r = await c.request('svc.echo', 'ping', { timeout: 5000 });
        assert.equal(r.string(), 'pong');
        const h = headers();
        h.set('Traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
        c.publish('svc.echo', 'no reply', { headers: h });
        await c.flush();
        const deadline = Date.now() + 10_000;
        while (results.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        const parsed = results.map((m) => m.json<Record<string, unknown>>()).sort((a, b) => (a.status as number) - (b.status as number));
        assert.deepEqual(
          parsed.map((p) => p.status),
          [200, 400],
        );
        const ok = parsed[0]!;
        const bad = parsed[1]!;
        assert.equal(ok.type, 'io.nats.server.metric.v1.service_latency');
        assert.equal((ok.requestor as { acc: string }).acc, 'C');
        assert.equal((ok.responder as { acc: string; user: string }).user, 's');
        return {
          ok: Object.keys(ok),
          bad: Object.keys(bad),
          badDescription: bad.description,
          requestor: Object.keys(ok.requestor as object).filter((k) => k !== 'rtt'),
          responder: Object.keys(ok.responder as object).filter((k) => k !== 'rtt'),
        };
      },
      { config: CONFIG },
    );
  });

  it('service latency: a requester that stops listening before the answer gets a 408 result', async () => {
    await onBoth(
      async (t) => {
        const s = await t.connect({ user: 's', pass: 's' });
        // never answers
        s.subscribe('svc.echo', { callback: () => undefined });
        const results: Msg[] = [];
        s.subscribe('lat.results', { callback: (_e, m) => void results.push(m) });
        await s.flush();
        const c = await t.connect({ user: 'c', pass: 'c' });
        // a dedicated reply subscription, dropped when the request times out
        const err = await c.request('svc.echo', 'x', { timeout: 300, noMux: true }).then(
          () => 'answered',
          (e: Error) => e.name,
        );
        const deadline = Date.now() + 10_000;
        while (results.length < 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        const r = results.map((m) => m.json<Record<string, unknown>>());
        assert.deepEqual(
          r.map((x) => [x.status, x.description]),
          [[408, 'Request Timeout']],
        );
        return { err, keys: Object.keys(r[0]!), requestor: Object.keys(r[0]!.requestor as object).filter((k) => k !== 'rtt') };
      },
      { config: CONFIG },
    );
  });

  it('$SYS.REQ.USER.INFO answers who the requester is (nats-server 2.10)', async () => {
    const srv = await startServer('tsnats', ['-c', writeConfig(CONFIG)]);
    try {
      const c = await connect({ servers: srv.url, user: 'c', pass: 'c' });
      const info = (await c.request('$SYS.REQ.USER.INFO', '', { timeout: 5000 })).json<{
        server: { name: string };
        data: { user: string; account: string; permissions: { publish: { allow: string[] }; subscribe: { allow: string[]; deny: string[] } } };
      }>();
      assert.equal(info.data.user, 'c');
      assert.equal(info.data.account, 'C');
      assert.deepEqual([...info.data.permissions.publish.allow].sort(), ['$SYS.REQ.>', '_INBOX.>', 'svc.>']);
      assert.deepEqual([...info.data.permissions.subscribe.allow].sort(), ['_INBOX.>', 'x.*']);
      assert.deepEqual(info.data.permissions.subscribe.deny, ['x.secret']);
      // a user of the system account asks through the system account's own import
      const sys = await connect({ servers: srv.url, user: 'sys', pass: 'sys' });
      const si = (await sys.request('$SYS.REQ.USER.INFO', '', { timeout: 5000 })).json<{ data: Record<string, unknown> }>();
      assert.deepEqual(si.data, { user: 'sys', account: 'SYS' });
      await c.close();
      await sys.close();
    } finally {
      await srv.stop();
    }
  });

  it('lame duck mode sends the LAMEDUCK event (nats-server 2.10)', async () => {
    const srv = await startServer('tsnats', ['-c', writeConfig(`${CONFIG}\nlame_duck_grace_period: 1s\nlame_duck_duration: 30s\n`)]);
    try {
      const sys = await connect({ servers: srv.url, user: 'sys', pass: 'sys', reconnect: false });
      const id = (sys.info as { server_id: string }).server_id;
      const ldm = next(sys, `$SYS.SERVER.${id}.LAMEDUCK`);
      await sys.flush();
      srv.proc.kill('SIGUSR2');
      const m = (await ldm).json<{ id: string; name: string }>();
      assert.equal(m.id, id);
      await sys.close().catch(() => undefined);
    } finally {
      await srv.stop();
    }
  });
});

describe('system account in operator mode', () => {
  it('JWT accounts: events with the user key and JWT, and the imported CONNZ/STATZ', async () => {
    const op = await Operator.create();
    const sysAcc = await op.account('SYS');
    const accA = await op.account('A');
    const us = await user(sysAcc, 'sys-user');
    const ua = await user(accA, 'a-user');
    await onBoth(
      async (t) => {
        const sys = await t.connect({ authenticator: jwtAuthenticator(us.jwt, us.kp.getSeed()) });
        const connected = next(sys, `$SYS.ACCOUNT.${accA.pub}.CONNECT`);
        await sys.flush();
        const a = await t.connect({ authenticator: jwtAuthenticator(ua.jwt, ua.kp.getSeed()), name: 'jwt-a' });
        const ev = (await connected).json<{ client: Record<string, unknown> }>();
        assert.equal(ev.client.user, ua.pub);
        assert.equal(ev.client.jwt, ua.jwt);
        assert.equal(ev.client.issuer_key, accA.pub);
        const connz = (await a.request('$SYS.REQ.ACCOUNT.PING.CONNZ', '', { timeout: 5000 })).json<{ data: { connections: { name?: string }[] } }>();
        assert.deepEqual(
          connz.data.connections.map((c) => c.name),
          ['jwt-a'],
        );
        const statz = (await a.request('$SYS.REQ.ACCOUNT.PING.STATZ', '', { timeout: 5000 })).json<{ data: { account_statz: { acc: string; conns: number }[] } }>();
        assert.deepEqual(
          statz.data.account_statz.map((s) => [s.acc, s.conns]),
          [[accA.pub, 1]],
        );
        return { event: Object.keys(ev.client), connz: keysOf(connz), statz: keysOf(statz) };
      },
      { config: operatorConfig(op, [sysAcc, accA], sysAcc) },
    );
  });
});
