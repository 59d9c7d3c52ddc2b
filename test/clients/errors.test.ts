// Server -ERR responses as the official nats.js client surfaces them, against
// the reference and tsnats: a non-fatal 'Invalid Subject' (status error, the
// connection stays up), a fatal 'maximum control line exceeded' (closed() with
// a ProtocolError), and pedantic mode's 'Invalid Publish Subject' (the message
// is still delivered).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError, type NatsConnection } from '@nats-io/transport-node';
import { errInfo, onBoth, record, within } from './dual.js';

/** collects status events as "type:ErrorClass:message" and waits for a matching one */
function statusLog(nc: NatsConnection) {
  const events: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const err = 'error' in s && s.error instanceof Error ? s.error : undefined;
      events.push(`${s.type}:${err ? err.constructor.name : ''}:${err ? err.message : ''}`);
      for (const w of [...waiters]) {
        if (events.some((e) => w.re.test(e))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  })();
  return {
    events,
    waitFor(re: RegExp): Promise<void> {
      if (events.some((e) => re.test(e))) return Promise.resolve();
      return within(new Promise<void>((resolve) => waiters.push({ re, resolve })), `status ${re}`);
    },
  };
}

describe('server errors seen by the client', () => {
  it("subscribe to an invalid subject: status error 'Invalid Subject', connection stays usable", async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnect: false });
      const log = statusLog(nc);
      nc.subscribe('bad..subject', { callback: () => {} });
      await nc.flush();
      await log.waitFor(/^error:/);
      const r = record(nc, 'good.after');
      nc.publish('good.after', 'x');
      await nc.flush();
      assert.deepEqual(r.texts(), ['x']);
      assert.equal(nc.isClosed(), false);
      assert.deepEqual(log.events, ['error:ProtocolError:Invalid Subject']);
      return log.events;
    });
  });

  it("subscribe with a control line over 4096 bytes: closed() with ProtocolError 'maximum control line exceeded'", async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnect: false });
      const log = statusLog(nc);
      nc.subscribe('x'.repeat(5000), { callback: () => {} });
      const res: unknown = await within(nc.closed(), 'closed()');
      assert.ok(res instanceof ProtocolError, `closed() resolved with ${String(res)}`);
      assert.equal(res.message, 'maximum control line exceeded');
      await log.waitFor(/^disconnect:/);
      return { closed: errInfo(res), events: log.events };
    });
  });

  it("pedantic client publishing to a wildcard subject: 'Invalid Publish Subject', but the message is delivered", async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ pedantic: true, reconnect: false });
      const log = statusLog(nc);
      const r = record(nc, 'ped.>');
      await nc.flush();
      nc.publish('ped.*', 'wild');
      nc.publish('ped.ok', 'fine');
      await nc.flush();
      await log.waitFor(/^error:/);
      assert.deepEqual(
        r.msgs.map((m) => [m.subject, m.string()]),
        [
          ['ped.*', 'wild'],
          ['ped.ok', 'fine'],
        ],
      );
      assert.equal(nc.isClosed(), false);
      assert.deepEqual(log.events, ['error:ProtocolError:Invalid Publish Subject']);
      return { got: r.texts(), events: log.events };
    });
  });

  it('non-pedantic client publishing to a wildcard subject: no error, delivered literally', async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnect: false });
      const log = statusLog(nc);
      const r = record(nc, 'np.>');
      const star = record(nc, 'np.*');
      const lit = record(nc, 'np.x');
      await nc.flush();
      nc.publish('np.*', 'wild');
      await nc.flush();
      assert.deepEqual([r.msgs.length, star.msgs.length, lit.msgs.length], [1, 1, 0]);
      // a PING/PONG later no error status has been reported
      await nc.flush();
      assert.deepEqual(log.events, []);
      return [r.msgs.length, star.msgs.length, lit.msgs.length];
    });
  });
});
