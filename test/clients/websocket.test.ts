// The official nats.js client over websocket (nats-core's wsconnect) against
// the reference nats-server 2.9.10 and tsnats, each spawned with the same
// websocket {} block; each scenario returns what it observed and the two
// results must be equal. These are the CI-sized counterparts of what the
// nats.js suite's ws_test.ts and its NATSJS_WEBSOCKET=1 mode exercise (see
// docs/compatibility.md): connect, pub/sub, request/reply and no responders,
// headers, queue groups, drain, forced reconnect, reconnect to a restarted
// server, switching servers with setServers, lame duck mode, large payloads
// and max_payload, and the getServers() view.
//
// DIFF_ONLY=reference|tsnats runs one side only.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wsconnect, headers as natsHeaders, type NatsConnection, type Status } from '@nats-io/nats-core';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { targetKinds } from './dual.js';
import { installGlobalWebSocket, wsPort } from '../blackbox/websocket-helpers.js';

installGlobalWebSocket();

const START = { timeoutMs: 60_000 };

function wsConf(port: number | string = -1, extra = ''): string {
  return `websocket { host: 127.0.0.1, port: ${port}, no_tls: true }\n${extra}`;
}

interface WsTarget {
  kind: ServerKind;
  server: RunningServer;
  wsPort: number;
  url: string;
  connect(opts?: Record<string, unknown>): Promise<NatsConnection>;
  /** stop and start again on the same websocket port */
  restart(): Promise<void>;
}

async function startOn(kind: ServerKind, conf: string): Promise<RunningServer> {
  let last: unknown;
  for (let i = 0; i < 10; i++) {
    try {
      return await startServer(kind, ['-c', writeConfig(conf)], START);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

async function runOn<T>(kind: ServerKind, extra: string, scenario: (t: WsTarget) => Promise<T>): Promise<T> {
  let server = await startOn(kind, wsConf(-1, extra));
  const port = wsPort(server);
  const conns: NatsConnection[] = [];
  const t: WsTarget = {
    kind,
    get server() {
      return server;
    },
    wsPort: port,
    url: `ws://127.0.0.1:${port}`,
    async connect(opts = {}) {
      const nc = await wsconnect({ servers: `ws://127.0.0.1:${port}`, timeout: 10_000, ...opts });
      conns.push(nc);
      return nc;
    },
    async restart() {
      await server.stop();
      server = await startOn(kind, wsConf(port, extra));
    },
  };
  try {
    return await scenario(t);
  } catch (e) {
    if (e instanceof Error) e.message = `[${kind}] ${e.message}\n--- ${kind} stderr (tail) ---\n${server.stderr().slice(-2000)}`;
    throw e;
  } finally {
    await Promise.all(conns.map((nc) => (nc.isClosed() ? undefined : nc.close().catch(() => undefined))));
    await server.stop();
  }
}

async function onBothWs<T>(scenario: (t: WsTarget) => Promise<T>, extra = ''): Promise<T> {
  const kinds = targetKinds();
  const settled = await Promise.allSettled(kinds.map((k) => runOn(k, extra, scenario)));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map(String).join('\n\n'));
  const results = settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  if (results.length === 2) {
    assert.deepEqual(results[1], results[0], `outcomes differ\n--- reference ---\n${JSON.stringify(results[0])}\n--- tsnats ---\n${JSON.stringify(results[1])}`);
  }
  return results[0]!;
}

/** the next status event of a type */
function nextStatus(nc: NatsConnection, type: Status['type']): Promise<Status> {
  return (async () => {
    for await (const s of nc.status()) if (s.type === type) return s;
    throw new Error(`status stream ended before ${type}`);
  })();
}

describe('nats.js over websocket: tsnats and nats-server 2.9.10 behave alike', () => {
  it('connect, flush, server info, getServers lists the websocket listen address', async () => {
    const r = await onBothWs(async (t) => {
      const nc = await t.connect();
      await nc.flush();
      const info = nc.info!;
      const listens = nc.getServers().map((s) => s.listen);
      return {
        headers: info.headers,
        proto: info.proto,
        maxPayload: info.max_payload,
        authRequired: info.auth_required ?? false,
        hasWsPort: listens.some((l) => l.includes(`:${t.wsPort}`)),
        server: nc.getServer() === `127.0.0.1:${t.wsPort}`,
      };
    });
    assert.equal(r.hasWsPort, true);
    assert.equal(r.server, true);
  });

  it('pub/sub, request/reply, no responders, headers, queue groups', async () => {
    const r = await onBothWs(async (t) => {
      const a = await t.connect({ name: 'a' });
      const b = await t.connect({ name: 'b' });
      b.subscribe('svc.add', {
        callback: (_e, m) => {
          const [x, y] = m.string().split('+').map(Number);
          m.respond(String(x! + y!));
        },
      });
      const got: string[] = [];
      b.subscribe('evt.*', {
        callback: (_e, m) => {
          got.push(`${m.subject}|${m.string()}|${m.headers?.get('Trace-Id') ?? ''}`);
        },
      });
      const q: Record<string, number> = { a: 0, b: 0 };
      a.subscribe('jobs', { queue: 'w', callback: () => void q.a!++ });
      b.subscribe('jobs', { queue: 'w', callback: () => void q.b!++ });
      await b.flush();
      await a.flush();
      const sum = (await a.request('svc.add', '2+3', { timeout: 5000 })).string();
      let noResp = '';
      try {
        await a.request('svc.none', 'x', { timeout: 3000 });
      } catch (e) {
        noResp = (e as Error).name;
      }
      const h = natsHeaders();
      h.set('Trace-Id', 't-1');
      a.publish('evt.one', 'hello', { headers: h });
      a.publish('evt.two', '');
      for (let i = 0; i < 40; i++) a.publish('jobs', String(i));
      await a.flush();
      await b.flush();
      return { sum, noResp, got, queued: q.a! + q.b! };
    });
    assert.equal(r.sum, '5');
    assert.equal(r.queued, 40);
    assert.deepEqual(r.got, ['evt.one|hello|t-1', 'evt.two||']);
  });

  it('large payloads up to max_payload, and the violation beyond it', async () => {
    const r = await onBothWs(
      async (t) => {
        const nc = await t.connect();
        const sizes = [0, 1, 125, 126, 65535, 65536, 1024 * 1024, 2 * 1024 * 1024];
        const seen: number[] = [];
        const sub = nc.subscribe('big', { max: sizes.length });
        const done = (async () => {
          for await (const m of sub) seen.push(m.data.length);
        })();
        for (const n of sizes) nc.publish('big', new Uint8Array(n).fill(7));
        await done;
        let err = '';
        try {
          nc.publish('big', new Uint8Array(2 * 1024 * 1024 + 1));
        } catch (e) {
          err = (e as Error).message;
        }
        return { seen, err };
      },
      'max_payload: 2MB\n',
    );
    assert.deepEqual(r.seen, [0, 1, 125, 126, 65535, 65536, 1024 * 1024, 2 * 1024 * 1024]);
    assert.match(r.err, /max_payload|payload/i);
  });

  it('drain delivers what was published before it', async () => {
    const r = await onBothWs(async (t) => {
      const nc = await t.connect();
      const pub = await t.connect();
      let n = 0;
      nc.subscribe('d', { callback: () => void n++ });
      await nc.flush();
      for (let i = 0; i < 200; i++) pub.publish('d', 'x');
      await pub.flush();
      await nc.drain();
      return { n, closed: nc.isClosed() };
    });
    assert.deepEqual(r, { n: 200, closed: true });
  });

  it('forced reconnect and reconnect to a restarted server: subscriptions come back', async () => {
    const r = await onBothWs(async (t) => {
      const nc = await t.connect({ reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const got: string[] = [];
      nc.subscribe('r', { callback: (_e, m) => void got.push(m.string()) });
      await nc.flush();
      const rec1 = nextStatus(nc, 'reconnect');
      await nc.reconnect();
      await rec1;
      nc.publish('r', 'after forced reconnect');
      await nc.flush();
      const dis = nextStatus(nc, 'disconnect');
      const rec2 = nextStatus(nc, 'reconnect');
      await t.restart();
      await dis;
      await rec2;
      nc.publish('r', 'after restart');
      await nc.flush();
      return { got, server: nc.getServer() === `127.0.0.1:${t.wsPort}` };
    });
    assert.deepEqual(r.got, ['after forced reconnect', 'after restart']);
  });

  it('lame duck mode reaches websocket clients as an ldm status', async () => {
    const r = await onBothWs(
      async (t) => {
        const nc = await t.connect({ reconnect: false });
        await nc.flush();
        const ldm = nextStatus(nc, 'ldm');
        t.server.proc.kill('SIGUSR2');
        const s = await ldm;
        await nc.closed();
        return { type: s.type, closed: nc.isClosed() };
      },
      'lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n',
    );
    assert.deepEqual(r, { type: 'ldm', closed: true });
  });
});

describe('nats.js over websocket: switching servers', () => {
  it('setServers replaces the pool and a reconnect dials the new websocket server', async () => {
    for (const kind of targetKinds()) {
      const s0 = await startOn(kind, wsConf());
      const s1 = await startOn(kind, wsConf());
      const p0 = wsPort(s0);
      const p1 = wsPort(s1);
      try {
        const nc = await wsconnect({ servers: `ws://127.0.0.1:${p0}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
        assert.equal(nc.getServer(), `127.0.0.1:${p0}`, kind);
        const rec = nextStatus(nc, 'reconnect');
        nc.setServers([`ws://127.0.0.1:${p1}`]);
        await nc.reconnect();
        await rec;
        assert.equal(nc.getServer(), `127.0.0.1:${p1}`, kind);
        await nc.flush();
        await nc.close();
      } finally {
        await Promise.all([s0.stop(), s1.stop()]);
      }
    }
  });
});
