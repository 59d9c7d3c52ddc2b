// The system account against nats-server 2.9.10 through the official
// client: the events (CONNECT, DISCONNECT, SERVER.CONNS, CLIENT.AUTH.ERR,
// STATSZ) and the $SYS.REQ requests (server PINGs, one server by id, the
// account requests, the imports every account gets, malformed bodies).
// Each answer is reduced to its shape: key order, value types, and the
// values that are fixed (event types, accounts, users, statuses, error
// texts); ids, times, counters and sizes are masked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { headers, jwtAuthenticator } from '@nats-io/transport-node';
import { Operator, operatorConfig, user } from '../helpers/jwt-fixture.js';
import { startBoth, writeConfig, type RunningServer } from '../helpers/servers.js';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { onBoth, within } from '../clients/dual.js';

const CONFIG = `
accounts {
  A { users [{user: a, password: a}] }
  B { users [{user: b, password: b}] }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`;

/** values kept as they are; everything else is reduced to its type */
const FIXED = new Set([
  'type',
  'acc',
  'account',
  'user',
  'name',
  'lang',
  'reason',
  'status',
  'code',
  'description',
  'kind',
  'client_type',
  'conns',
  'total_conns',
  'leafnodes',
  'account_name',
  'system_account',
  'is_system',
  'num_connections',
  'total',
  'offset',
  'limit',
  'disabled',
  'error',
]);

type Shape = unknown;

function shape(v: unknown, key = ''): Shape {
  if (Array.isArray(v)) return v.map((e) => shape(e, key));
  if (v !== null && typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x, k)]);
  // server ids (and names, which default to the id) differ between runs
  if (typeof v === 'string' && /^N[A-Z0-9]{55}$/.test(v)) return '<server id>';
  if (FIXED.has(key)) return v;
  if (v === null) return null;
  return typeof v;
}

function parse(m: Msg): Shape {
  const text = m.string();
  try {
    return shape(JSON.parse(text));
  } catch {
    return `raw:${text}`;
  }
}

/** Collect messages on `subject` until `until` matches one. */
function collect(nc: NatsConnection, subject: string): { msgs: Msg[]; waitFor(pred: (m: Msg) => boolean, what: string): Promise<Msg> } {
  const msgs: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; res: (m: Msg) => void }[] = [];
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const m of sub) {
      msgs.push(m);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(m)) {
          waiters[i]!.res(m);
          waiters.splice(i, 1);
        }
      }
    }
  })();
  return {
    msgs,
    waitFor(pred, what) {
      const found = msgs.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return within(new Promise<Msg>((res) => waiters.push({ pred, res })), what);
    },
  };
}

async function ask(nc: NatsConnection, subject: string, body = '', hdr?: Record<string, string>): Promise<Shape> {
  const h = hdr === undefined ? undefined : headers();
  if (hdr !== undefined) for (const [k, v] of Object.entries(hdr)) h!.set(k, v);
  try {
    const m = await nc.request(subject, body, { timeout: 3000, headers: h });
    return parse(m);
  } catch (e) {
    return `error:${(e as Error).message}`;
  }
}

test('system account: events of a client of an account, and an authentication error', async () => {
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'sys', pass: 'sys' });
      const events = collect(sys, '$SYS.ACCOUNT.A.>');
      const authErr = collect(sys, '$SYS.SERVER.*.CLIENT.AUTH.ERR');
      const statsz = collect(sys, '$SYS.SERVER.*.STATSZ');
      await sys.flush();
      const a = await t.connect({ user: 'a', pass: 'a', name: 'client-a' });
      a.publish('x', 'hello');
      await a.flush();
      const connect = await events.waitFor((m) => m.subject === '$SYS.ACCOUNT.A.CONNECT', 'CONNECT');
      await a.close();
      const disconnect = await events.waitFor((m) => m.subject === '$SYS.ACCOUNT.A.DISCONNECT', 'DISCONNECT');
      await events.waitFor((m) => m.subject === '$SYS.ACCOUNT.A.SERVER.CONNS' && (JSON.parse(m.string()) as { conns: number }).conns === 0, 'CONNS 0');
      await t.connect({ user: 'a', pass: 'wrong', reconnect: false }).catch(() => undefined);
      const ae = await authErr.waitFor(() => true, 'CLIENT.AUTH.ERR');
      const st = await statsz.waitFor(() => true, 'STATSZ');
      const d = JSON.parse(disconnect.string()) as { sent: { msgs: number; bytes: number }; client: { acc: string; user: string; name: string } };
      // the client's view: the one message it published is what it sent
      assert.deepEqual(d.sent, { msgs: 1, bytes: 5 });
      assert.equal(d.client.name, 'client-a');
      const conns = events.msgs.filter((m) => m.subject.endsWith('.CONNS')).map((m) => [m.subject, (JSON.parse(m.string()) as { conns: number }).conns]);
      return {
        connect: parse(connect),
        disconnect: parse(disconnect),
        conns,
        subjects: [...new Set(events.msgs.map((m) => m.subject))].sort(),
        authErr: parse(ae),
        statsz: (shape(JSON.parse(st.string())) as [string, unknown][]).map(([k, v]) => [k, Array.isArray(v) ? v.map((e) => (e as [string, unknown])[0]) : v]),
      };
    },
    { config: CONFIG },
  );
});

test('system account: server requests answered with the reference envelopes', async () => {
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'sys', pass: 'sys' });
      const a = await t.connect({ user: 'a', pass: 'a', name: 'client-a' });
      a.subscribe('foo.>');
      await a.flush();
      const id = (sys.info as { server_id: string }).server_id;
      const out: Record<string, Shape> = {};
      for (const x of ['STATSZ', 'CONNZ', 'SUBSZ', 'ROUTEZ', 'GATEWAYZ', 'LEAFZ', 'ACCOUNTZ', 'JSZ', 'HEALTHZ']) {
        out[`PING.${x}`] = await ask(sys, `$SYS.REQ.SERVER.PING.${x}`);
      }
      out.PING = await ask(sys, '$SYS.REQ.SERVER.PING');
      out.VARZ = await ask(sys, `$SYS.REQ.SERVER.${id}.VARZ`);
      out['CONNZ subs'] = await ask(sys, `$SYS.REQ.SERVER.${id}.CONNZ`, JSON.stringify({ subscriptions: true, acc: 'A', auth: true }));
      out['SUBSZ subs'] = await ask(sys, `$SYS.REQ.SERVER.${id}.SUBSZ`, JSON.stringify({ subscriptions: true, account: 'A', test: 'foo.bar' }));
      out['ACCOUNTZ A'] = await ask(sys, `$SYS.REQ.SERVER.${id}.ACCOUNTZ`, JSON.stringify({ account: 'B' }));
      out['ACCOUNTZ none'] = await ask(sys, `$SYS.REQ.SERVER.${id}.ACCOUNTZ`, JSON.stringify({ account: 'NOPE' }));
      out['JSZ leader'] = await ask(sys, `$SYS.REQ.SERVER.${id}.JSZ`, JSON.stringify({ leader_only: true }));
      out['filtered out'] = await ask(sys, `$SYS.REQ.SERVER.${id}.VARZ`, JSON.stringify({ server_name: 'no-such-server' }));
      out['filtered in'] = await ask(sys, `$SYS.REQ.SERVER.${id}.HEALTHZ`, JSON.stringify({ server_name: id.slice(0, 10) }));
      out['gzip'] = await sys
        .request(`$SYS.REQ.SERVER.${id}.HEALTHZ`, '', { timeout: 3000, headers: (() => { const h = headers(); h.set('Accept-Encoding', 'gzip'); return h; })() })
        .then((m) => [m.headers?.get('Content-Encoding'), m.data[0], m.data[1]]);
      // framed Snappy: the stream identifier chunk, then the chunks of the answer
      out['snappy'] = await sys
        .request(`$SYS.REQ.SERVER.${id}.HEALTHZ`, '', { timeout: 3000, headers: (() => { const h = headers(); h.set('Accept-Encoding', 'snappy'); return h; })() })
        .then((m) => [m.headers?.get('Content-Encoding'), Buffer.from(m.data.subarray(0, 10)).toString('hex')]);
      return out;
    },
    { config: CONFIG },
  );
});

test('system account: account requests and the imports every account has', async () => {
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'sys', pass: 'sys' });
      const a = await t.connect({ user: 'a', pass: 'a', name: 'client-a' });
      a.subscribe('foo.bar');
      await a.flush();
      const out: Record<string, Shape> = {};
      for (const x of ['CONNZ', 'LEAFZ', 'JSZ', 'STATZ', 'INFO']) out[`A.${x}`] = await ask(sys, `$SYS.REQ.ACCOUNT.A.${x}`);
      // the reference also lists the internal subscriptions of the account's system imports: filter on the client's subject
      out['A.SUBSZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.A.SUBSZ', JSON.stringify({ test: 'foo.bar' }));
      out['B.STATZ unused'] = await ask(sys, '$SYS.REQ.ACCOUNT.B.STATZ', JSON.stringify({ include_unused: true }));
      out['B.STATZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.B.STATZ');
      out['PING.STATZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.PING.STATZ', JSON.stringify({ accounts: ['A'] }));
      out['NSUBS'] = await sys
        .request('$SYS.REQ.ACCOUNT.NSUBS', JSON.stringify({ acc: 'A', subject: 'foo.bar' }), { timeout: 3000 })
        .then((m) => m.string())
        .catch((e: Error) => `error:${e.message}`);
      sys.subscribe('dbg.x');
      sys.subscribe('dbg.*', { queue: 'q' });
      await sys.flush();
      for (const body of ['dbg.x', 'dbg.x q', 'dbg.>', 'nothing']) {
        out[`DEBUG.SUBSCRIBERS ${body}`] = await sys
          .request('$SYS.DEBUG.SUBSCRIBERS', body, { timeout: 3000 })
          .then((m) => m.string())
          .catch((e: Error) => `error:${e.message}`);
      }
      // a user of account A asks about its own account only
      out['A asks PING.CONNZ'] = await ask(a, '$SYS.REQ.ACCOUNT.PING.CONNZ');
      out['A asks SERVER.PING.CONNZ'] = await ask(a, '$SYS.REQ.SERVER.PING.CONNZ');
      out['A asks PING.STATZ'] = await ask(a, '$SYS.REQ.ACCOUNT.PING.STATZ');
      out['A asks VARZ'] = await ask(a, '$SYS.REQ.SERVER.PING.VARZ');
      return out;
    },
    { config: CONFIG },
  );
});

test('system account: malformed request bodies get the reference errors', async () => {
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'sys', pass: 'sys' });
      const id = (sys.info as { server_id: string }).server_id;
      const out: Record<string, Shape> = {};
      const bodies = ['{bad', '[]', '"x"', '5', 'null', '{"limit":"x"}', '{"limit":1.5}', '{"sort":"xyz"}', '{"offset":-1,"LIMIT":2}', '{"state":"open"}', '{"cid":-3}', '{"tags":"x"}', '{"auth":1}', '{}', '{"sort":"stop"}'];
      for (const b of bodies) out[`CONNZ ${b}`] = await ask(sys, `$SYS.REQ.SERVER.${id}.CONNZ`, b);
      out['STATSZ bad'] = await ask(sys, `$SYS.REQ.SERVER.${id}.STATSZ`, '{bad');
      out['SUBSZ bad test'] = await ask(sys, `$SYS.REQ.SERVER.${id}.SUBSZ`, '{"subscriptions":true,"test":"foo.*"}');
      out['ACC STATZ bad'] = await ask(sys, '$SYS.REQ.ACCOUNT.A.STATZ', '{"accounts":[1]}');
      out['ACC INFO missing'] = await ask(sys, '$SYS.REQ.ACCOUNT.NOPE.INFO');
      out['ACC CONNZ missing'] = await ask(sys, '$SYS.REQ.ACCOUNT.NOPE.CONNZ');
      out['ACC JSZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.A.JSZ', '{"streams":true}');
      // the server is still there
      out.after = await ask(sys, `$SYS.REQ.SERVER.${id}.HEALTHZ`);
      return out;
    },
    { config: CONFIG },
  );
});

test('system account: the default $SYS, a configured one, and no_system_account', async () => {
  const scenario = async (t: Parameters<Parameters<typeof onBoth>[0]>[0]): Promise<Record<string, Shape>> => {
    const g = await t.connect();
    const out: Record<string, Shape> = {};
    out['ACCOUNT.PING.CONNZ'] = await ask(g, '$SYS.REQ.ACCOUNT.PING.CONNZ');
    out['SERVER.PING.CONNZ'] = await ask(g, '$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ limit: 1 }));
    out['ACCOUNT.PING.STATZ'] = await ask(g, '$SYS.REQ.ACCOUNT.PING.STATZ');
    out['SERVER.PING'] = await ask(g, '$SYS.REQ.SERVER.PING');
    return out;
  };
  const dflt = await onBoth(scenario, {});
  assert.equal((dflt['ACCOUNT.PING.CONNZ'] as [string, unknown][])[1]![0], 'data');
  const none = await onBoth(scenario, { config: 'no_system_account: true\n' });
  assert.match(String(none['ACCOUNT.PING.CONNZ']), /^error:/);
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'op', pass: 'op' });
      const a = await t.connect({ user: 'u', pass: 'u' });
      const events: Msg[] = [];
      sys.subscribe('$SYS.ACCOUNT.>', { callback: (_e, m) => void events.push(m) });
      await sys.flush();
      const b = await t.connect({ user: 'u', pass: 'u', name: 'late' });
      await b.close();
      const deadline = Date.now() + 5000;
      while (!events.some((m) => m.subject.endsWith('.DISCONNECT')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return {
        varz: await ask(sys, '$SYS.REQ.SERVER.PING.VARZ'),
        fromU: await ask(a, '$SYS.REQ.ACCOUNT.PING.STATZ'),
        events: [...new Set(events.map((m) => m.subject))].sort(),
      };
    },
    {
      config: `
accounts {
  OPS { users [{user: op, password: op}] }
  U { users [{user: u, password: u}] }
}
system_account: OPS
`,
    },
  );
});

test('system account: an account JSZ answers that account alone (server/monitor.go JszAccount)', async () => {
  await onBoth(
    async (t) => {
      const sys = await t.connect({ user: 'sys', pass: 'sys' });
      const a = await t.connect({ user: 'a', pass: 'a' });
      const created = await a.request('$JS.API.STREAM.CREATE.S', JSON.stringify({ name: 'S', subjects: ['s.>'], storage: 'memory' }), { timeout: 5000 });
      assert.equal((JSON.parse(created.string()) as { error?: unknown }).error, undefined);
      await a.request('$JS.API.CONSUMER.DURABLE.CREATE.S.D', JSON.stringify({ stream_name: 'S', config: { durable_name: 'D', ack_policy: 'explicit' } }), { timeout: 5000 });
      await a.request('s.1', 'x', { timeout: 5000 });
      const out: Record<string, Shape> = {};
      for (const body of ['', '{}', '{"streams":true}', '{"consumer":true}', '{"streams":true,"consumer":true}', '{"streams":true,"consumer":true,"config":true}', '{"accounts":true,"account":"B"}']) {
        out[`A.JSZ ${body}`] = await ask(sys, '$SYS.REQ.ACCOUNT.A.JSZ', body);
      }
      out['B.JSZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.B.JSZ');
      out['NOPE.JSZ'] = await ask(sys, '$SYS.REQ.ACCOUNT.NOPE.JSZ');
      out['HEALTHZ js options'] = await ask(sys, '$SYS.REQ.SERVER.PING.HEALTHZ', '{"js-enabled-only":true,"js-server-only":true}');
      out['PING.JSZ accounts'] = await ask(sys, '$SYS.REQ.SERVER.PING.JSZ', '{"accounts":true,"streams":true}');
      // the account's own figures: one stream's message counted in its storage
      const raw = JSON.parse((await sys.request('$SYS.REQ.ACCOUNT.A.JSZ', '{"streams":true}', { timeout: 3000 })).string()) as {
        data: { id: string; memory: number; stream_detail: { name: string; state: { messages: number } }[] };
      };
      assert.equal(raw.data.id, 'A');
      assert.ok(raw.data.memory > 0);
      assert.deepEqual(
        raw.data.stream_detail.map((s) => [s.name, s.state.messages]),
        [['S', 1]],
      );
      return out;
    },
    {
      jetstream: true,
      config: `
accounts {
  A { jetstream: enabled, users [{user: a, password: a}] }
  B { users [{user: b, password: b}] }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`,
    },
  );
});

/**
 * Another server's SERVER.CONNS count (here one a system user publishes, as
 * a server of the cluster would) counts toward the account's
 * max_connections at the next login; connected clients stay (2.9.10
 * disconnects none, server/accounts.go updateRemoteServer), and a count back
 * at 0 lets clients in again. Config and JWT accounts alike.
 */
async function remoteCountScenario(t: Parameters<Parameters<typeof onBoth>[0]>[0], sysOpts: object, accOpts: () => object, acc: string): Promise<Record<string, unknown>> {
  const sys = await t.connect(sysOpts);
  const first = await t.connect({ ...accOpts(), name: 'first' });
  let firstClosed = false;
  void first.closed().then(() => (firstClosed = true));
  const fake = (conns: number, seq: number): string =>
    JSON.stringify({
      type: 'io.nats.server.advisory.v1.account_connections',
      id: `ev${seq}`,
      timestamp: new Date().toISOString(),
      server: { name: 'X', host: '0.0.0.0', id: 'NREMOTESERVERFORTHETEST', ver: '2.9.10', seq, jetstream: false, time: new Date().toISOString() },
      acc,
      conns,
      leafnodes: 0,
      total_conns: conns,
    });
  const login = async (name: string): Promise<string> => {
    try {
      const nc = await t.connect({ ...accOpts(), name, reconnect: false });
      const closed = await Promise.race([nc.closed(), new Promise<string>((r) => setTimeout(() => r('open'), 500))]);
      return closed === 'open' ? 'open' : `closed:${closed instanceof Error ? closed.message : String(closed)}`;
    } catch (e) {
      return `refused:${(e as Error).message}`;
    }
  };
  const out: Record<string, unknown> = {};
  sys.publish(`$SYS.SERVER.ACCOUNT.${acc}.CONNS`, fake(5, 1));
  await sys.flush();
  await new Promise((r) => setTimeout(r, 300));
  out.overLimit = await login('second');
  out.statz = await ask(sys, `$SYS.REQ.ACCOUNT.${acc}.STATZ`);
  // a malformed count and one claiming to come from the server itself change nothing
  sys.publish(`$SYS.SERVER.ACCOUNT.${acc}.CONNS`, '{bad');
  sys.publish(`$SYS.SERVER.ACCOUNT.${acc}.CONNS`, '');
  await sys.flush();
  sys.publish(`$SYS.SERVER.ACCOUNT.${acc}.CONNS`, fake(0, 2));
  await sys.flush();
  await new Promise((r) => setTimeout(r, 300));
  out.backUnder = await login('third');
  out.firstClosed = firstClosed;
  assert.equal(firstClosed, false, 'the connected client stays');
  // the client sees the -ERR or only the closed socket; the server logs why
  assert.notEqual(out.overLimit, 'open');
  out.overLimit = 'refused';
  assert.equal(out.backUnder, 'open');
  const logs = t.server.stderr();
  out.logs = [
    /second" - maximum account active connections exceeded/.test(logs),
    logs.includes('SYSTEM - Error unmarshalling account connection event message: invalid character \'b\' looking for beginning of object key string'),
    logs.includes('SYSTEM - No message body provided'),
  ];
  assert.deepEqual(out.logs, [true, true, true]);
  return out;
}

test('system account: remote SERVER.CONNS counts toward max_connections at login, config and JWT accounts', async () => {
  await onBoth((t) => remoteCountScenario(t, { user: 'sys', pass: 'sys' }, () => ({ user: 'a', pass: 'a' }), 'A'), {
    config: `
accounts {
  A { users [{user: a, password: a}], limits { max_connections: 2 } }
  SYS { users [{user: sys, password: sys}] }
}
system_account: SYS
`,
  });
  const op = await Operator.create();
  const sysAcc = await op.account('SYS');
  const accA = await op.account('A', { limits: { conn: 2 } as never });
  const us = await user(sysAcc, 'sys-user');
  const ua = await user(accA, 'a-user');
  await onBoth(
    (t) =>
      remoteCountScenario(t, { authenticator: jwtAuthenticator(us.jwt, us.kp.getSeed()) }, () => ({ authenticator: jwtAuthenticator(ua.jwt, ua.kp.getSeed()) }), accA.pub),
    { config: operatorConfig(op, [sysAcc, accA], sysAcc) },
  );
});

test('system account: users without the permissions, and events forged in an ordinary account', async () => {
  await onBoth(
    async (t) => {
      const out: Record<string, unknown> = {};
      // a system account user allowed to publish "foo" only: its requests are violations, nothing answers
      const limited = await t.connect({ user: 'mon', pass: 'mon' });
      const errs: string[] = [];
      void (async () => {
        for await (const s of limited.status()) if (s.type === 'error') errs.push(String((s as { error?: Error }).error?.message ?? s.type));
      })();
      out.limitedPing = await ask(limited, '$SYS.REQ.SERVER.PING.VARZ');
      out.limitedSub = await limited
        .subscribe('$SYS.ACCOUNT.>')
        .closed.then(() => 'closed')
        .catch((e: Error) => `error:${e.message}`);
      await new Promise((r) => setTimeout(r, 300));
      out.limitedErrors = errs.map((e) => e.replace(/"[^"]*"/g, '<subj>')).sort();
      // a user of A publishes a SERVER.CONNS "event" in its own account: not the system account's, it counts for nothing
      const a = await t.connect({ user: 'a', pass: 'a' });
      a.publish('$SYS.SERVER.ACCOUNT.A.CONNS', JSON.stringify({ server: { id: 'NFORGED', seq: 1 }, acc: 'A', conns: 50 }));
      await a.flush();
      await new Promise((r) => setTimeout(r, 200));
      out.loginAfterForgery = await t
        .connect({ user: 'a', pass: 'a', reconnect: false })
        .then(() => 'open')
        .catch((e: Error) => `refused:${e.message}`);
      // A asks for another account's and the server's documents: no responders, as A imports its own only
      out.aAsksB = await ask(a, '$SYS.REQ.ACCOUNT.B.CONNZ');
      out.aAsksServer = await ask(a, '$SYS.REQ.SERVER.PING.STATSZ');
      assert.equal(out.loginAfterForgery, 'open');
      assert.match(String(out.limitedPing), /^error:/);
      assert.ok((out.limitedErrors as string[]).some((e) => /permissions violation/i.test(e)), String(out.limitedErrors));
      assert.match(String(out.aAsksB), /^error:/);
      return out;
    },
    {
      config: `
accounts {
  A { users [{user: a, password: a}], limits { max_connections: 3 } }
  B { users [{user: b, password: b}] }
  SYS { users [{user: sys, password: sys}, {user: mon, password: mon, permissions: {publish: ["foo"], subscribe: ["_INBOX.>"]}}] }
}
system_account: SYS
`,
    },
  );
});

test('system account: a flood of PINGs from many clients is answered in full', async () => {
  await onBoth(
    async (t) => {
      const clients = 10;
      const each = 40;
      const conns: NatsConnection[] = [];
      for (let i = 0; i < clients; i++) conns.push(await t.connect({ user: 'sys', pass: 'sys' }));
      const counts = await Promise.all(
        conns.map(async (nc) => {
          let n = 0;
          const inbox = `flood.${Math.random().toString(36).slice(2)}`;
          const sub = nc.subscribe(`${inbox}.>`, { callback: () => void n++ });
          await nc.flush();
          for (let k = 0; k < each; k++) {
            nc.publish(k % 2 === 0 ? '$SYS.REQ.SERVER.PING' : '$SYS.REQ.SERVER.PING.HEALTHZ', '', { reply: `${inbox}.${k}` });
          }
          const deadline = Date.now() + 20_000;
          while (n < each && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          sub.unsubscribe();
          return n;
        }),
      );
      // the server still answers a plain request afterwards
      const after = await ask(conns[0]!, '$SYS.REQ.SERVER.PING.HEALTHZ');
      assert.deepEqual(counts, new Array(clients).fill(each));
      return { counts, after };
    },
    { config: CONFIG },
  );
});

test('system account: the MSG/HMSG lines of the system client (internalSendLoop leaves two spaces before the size)', async () => {
  const pair = await startBoth(['-c', writeConfig(CONFIG)]);
  try {
    const lines = async (s: RunningServer): Promise<string[]> => {
      const c = await rawConnect(s.port);
      await c.readUntil('\r\n');
      const h = 'NATS/1.0\r\nAccept-Encoding: gzip\r\n\r\n';
      await c.send(
        'CONNECT {"user":"sys","pass":"sys","verbose":false,"headers":true,"protocol":1}\r\nSUB r 1\r\nSUB $SYS.ACCOUNT.A.CONNECT 2\r\n' +
          `PUB $SYS.REQ.SERVER.PING r 0\r\n\r\nHPUB $SYS.REQ.SERVER.PING.HEALTHZ r ${h.length} ${h.length}\r\n${h}\r\nPING\r\n`,
      );
      await c.readUntil(/HMSG r 1 [^\r]*\r\n/, 5000);
      const a = await rawConnect(s.port);
      await a.readUntil('\r\n');
      await a.send('CONNECT {"user":"a","pass":"a","verbose":false}\r\nPING\r\n');
      await a.readUntil('PONG\r\n');
      await c.readUntil(/MSG \$SYS\.ACCOUNT\.A\.CONNECT[^\r]*\r\n/, 5000);
      const text = c.received().toString('latin1');
      a.close();
      c.close();
      // the lines' shape: sizes reduced to N
      return text
        .split('\r\n')
        .filter((l) => /^H?MSG /.test(l))
        .map((l) => l.replace(/\d+/g, 'N'));
    };
    const [ref, ts] = await Promise.all([lines(pair.reference), lines(pair.tsnats)]);
    assert.deepEqual(ref, ['MSG r N  N', 'HMSG r N  N N', 'MSG $SYS.ACCOUNT.A.CONNECT N  N']);
    assert.deepEqual(ts, ref);
  } finally {
    await pair.stop();
  }
});
