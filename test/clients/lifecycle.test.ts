// Connection lifecycle with the official nats.js client against the reference
// and tsnats (both spawned as processes): what the client sees when the server
// shuts down or enters lame duck mode, and reconnecting to a server restarted on the same port
// (subscriptions are re-established, messages flow again, a partially
// consumed max is carried over, request/reply works again).

import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { describe, it } from 'node:test';
import { ClosedConnectionError, type NatsConnection, type Status } from '@nats-io/transport-node';
import { errInfo, onBoth, record, settle, thrown, within } from './dual.js';

/** records status events and lets a test wait for the next one of a type */
class StatusWatch {
  readonly events: Status['type'][] = [];
  private waiters: { type: Status['type']; after: number; resolve: () => void }[] = [];

  constructor(nc: NatsConnection) {
    void (async () => {
      for await (const s of nc.status()) {
        this.events.push(s.type);
        for (const w of [...this.waiters]) {
          if (w.type === s.type && this.count(w.type) > w.after) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    })();
  }

  count(type: Status['type']): number {
    return this.events.filter((e) => e === type).length;
  }

  /** resolves once there have been more than `after` events of `type` (default: the current count) */
  next(type: Status['type'], after = this.count(type)): Promise<void> {
    if (this.count(type) > after) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ type, after, resolve }));
  }
}

const RECONNECT = { reconnectTimeWait: 100, reconnectJitter: 0, maxReconnectAttempts: -1 } as const;

describe('server shutdown', () => {
  it('with reconnect off: disconnect then close, closed() resolves, subscriptions end, publish fails', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnect: false });
      const watch = new StatusWatch(nc);
      const sub = nc.subscribe('sd.x');
      const loop = (async () => {
        let n = 0;
        for await (const _m of sub) n++;
        return n;
      })();
      nc.publish('sd.x', 'one');
      await nc.flush();
      const closed = nc.closed();
      await t.stop();
      const res: unknown = await within(closed, 'closed() after server shutdown');
      const n = await within(loop, 'subscription iterator end');
      assert.equal(n, 1);
      assert.equal(res === undefined || res instanceof Error, true);
      assert.equal(nc.isClosed(), true);
      assert.equal(sub.isClosed(), true);
      const e = await thrown(() => nc.publish('sd.x', 'late'));
      assert.ok(e instanceof ClosedConnectionError);
      await within(watch.next('close', 0), 'close status');
      assert.deepEqual(watch.events, ['disconnect', 'close']);
      return { res: res === undefined ? null : errInfo(res), events: watch.events, publish: errInfo(e) };
    });
  });

  it('every connected client is closed by the shutdown', async () => {
    await onBoth(async (t) => {
      const conns = await Promise.all(Array.from({ length: 10 }, () => t.connect({ reconnect: false })));
      await settle(conns, 1);
      const closed = conns.map((nc) => nc.closed());
      await t.stop();
      await within(Promise.all(closed), 'all closed()');
      assert.equal(conns.filter((nc) => nc.isClosed()).length, 10);
      return conns.length;
    });
  });

  it('with a reconnect limit and the server gone: the client gives up and closes', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnectTimeWait: 50, reconnectJitter: 0, maxReconnectAttempts: 3 });
      const watch = new StatusWatch(nc);
      await nc.flush();
      const closed = nc.closed();
      await t.stop();
      await within(closed, 'closed() after giving up reconnecting', 60_000);
      assert.equal(nc.isClosed(), true);
      assert.equal(watch.events[0], 'disconnect');
      await within(watch.next('close', 0), 'close status');
      assert.equal(watch.events.at(-1), 'close');
      assert.equal(watch.count('reconnect'), 0);
      return { first: watch.events[0], last: watch.events.at(-1) };
    });
  });
});

describe('lame duck mode (SIGUSR2)', () => {
  it("clients get INFO ldm ('update', 'ldm' statuses), new connections are refused, clients are closed, exit 0", async () => {
    await onBoth(
      async (t) => {
        const ncs = await Promise.all([0, 1, 2].map(() => t.connect({ reconnect: false })));
        const watches = ncs.map((nc) => new StatusWatch(nc));
        await settle(ncs, 1);
        const ldm = Promise.all(watches.map((w) => w.next('ldm', 0)));
        const closed = Promise.all(ncs.map((nc) => nc.closed()));
        t.server.proc.kill('SIGUSR2');
        await within(ldm, 'ldm status on every client', 60_000);
        // the listener is closed before the INFO goes out
        const refused = await new Promise<string>((resolve) => {
          const s = createConnection({ host: '127.0.0.1', port: t.server.port });
          s.once('connect', () => {
            s.destroy();
            resolve('connected');
          });
          s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        assert.equal(refused, 'ECONNREFUSED');
        await within(closed, 'clients closed by lame duck mode', 120_000);
        const code = await within(t.server.exited, 'server exit', 120_000);
        for (const w of watches) await within(w.next('close', 0), 'close status');
        assert.equal(code, 0);
        for (const w of watches) assert.deepEqual(w.events, ['update', 'ldm', 'disconnect', 'close']);
        return { code, refused, events: watches.map((w) => w.events) };
      },
      { config: 'lame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n' },
    );
  });
});

describe('reconnect after a restart on the same port', () => {
  it('subscriptions are re-established and messages flow again', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect(RECONNECT);
      const watch = new StatusWatch(nc);
      const plain = record(nc, 'rc.x');
      const wild = record(nc, 'rc.>');
      const queue = record(nc, 'rc.q', { queue: 'g' });
      nc.publish('rc.x', 'before');
      await nc.flush();
      assert.deepEqual(plain.texts(), ['before']);
      const idBefore = nc.info!.server_id;

      const reconnected = watch.next('reconnect');
      await t.restart();
      await within(reconnected, 'reconnect status', 60_000);
      await nc.flush();
      assert.notEqual(nc.info!.server_id, idBefore, 'client learned the new server INFO');

      const other = await t.connect();
      for (let i = 0; i < 10; i++) other.publish('rc.x', `after${i}`);
      for (let i = 0; i < 10; i++) other.publish('rc.q', `q${i}`);
      await other.flush();
      await nc.flush();
      assert.deepEqual(plain.texts(), ['before', ...Array.from({ length: 10 }, (_, i) => `after${i}`)]);
      assert.equal(wild.msgs.length, 1 + 10 + 10);
      assert.equal(queue.msgs.length, 10);
      assert.equal(watch.count('disconnect'), 1);
      assert.equal(watch.count('reconnect'), 1);
      return { plain: plain.texts(), wild: wild.msgs.length, queue: queue.msgs.length };
    });
  });

  it('a subscription with max still ends after max messages in total across the reconnect', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect(RECONNECT);
      const watch = new StatusWatch(nc);
      const r = record(nc, 'rc.max', { max: 5 });
      nc.publish('rc.max', '1');
      nc.publish('rc.max', '2');
      await nc.flush();
      assert.equal(r.msgs.length, 2);
      const reconnected = watch.next('reconnect');
      await t.restart();
      await within(reconnected, 'reconnect status', 60_000);
      await nc.flush();
      const other = await t.connect();
      for (let i = 3; i <= 10; i++) other.publish('rc.max', String(i));
      await other.flush();
      await nc.flush();
      // nats.js re-sends a plain SUB on reconnect and enforces the rest of the max itself
      assert.deepEqual(r.texts(), ['1', '2', '3', '4', '5']);
      assert.equal(r.sub.isClosed(), true);
      return r.texts();
    });
  });

  it('request/reply works again after both sides reconnect', async () => {
    await onBoth(async (t) => {
      const srv = await t.connect(RECONNECT);
      const sw = new StatusWatch(srv);
      srv.subscribe('rc.svc', { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
      const nc = await t.connect(RECONNECT);
      const cw = new StatusWatch(nc);
      await srv.flush();
      const before = await nc.request('rc.svc', 'a', { timeout: 10_000 });
      const back = [sw.next('reconnect'), cw.next('reconnect')];
      await t.restart();
      await within(Promise.all(back), 'both reconnect', 60_000);
      await srv.flush();
      await nc.flush();
      const after = await nc.request('rc.svc', 'b', { timeout: 10_000 });
      return [before.string(), after.string()];
    });
  });
});
