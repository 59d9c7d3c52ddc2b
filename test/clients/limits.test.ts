// Server limits as the official nats.js client meets them, against the
// reference and tsnats: max_connections (the refused client's connect()
// error, the raw bytes, existing clients unaffected) and max_subscriptions
// (a non-fatal error status, the connection and earlier subscriptions keep
// working).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { errInfo, onBoth, record, thrown, within } from './dual.js';

describe('max_connections', () => {
  const setup = { config: 'max_connections: 2\n' };

  it('the refused client gets INFO then the -ERR, then the server closes', async () => {
    await onBoth(async (t) => {
      await t.connect();
      await t.connect();
      const r = await rawConnect(t.server.port);
      await r.expectClosed(20_000);
      const text = r.received().toString('latin1');
      assert.match(text, /^INFO \{[^\r\n]*\} \r\n/);
      const after = text.replace(/^INFO [^\r\n]*\r\n/, '');
      assert.equal(after, "-ERR 'maximum connections exceeded'\r\n");
      return after;
    }, setup);
  });

  it('existing clients keep working while a third is refused', async () => {
    await onBoth(async (t) => {
      const a = await t.connect();
      const b = await t.connect();
      const ra = record(a, 'mc.x');
      await a.flush();
      const e = await thrown(() => connect({ servers: t.url, reconnect: false, timeout: 20_000 }));
      assert.ok(e instanceof Error);
      b.publish('mc.x', 'still');
      await b.flush();
      await a.flush();
      assert.deepEqual(ra.texts(), ['still']);
      return ra.texts();
    }, setup);
  });

  it("the refused nats.js connect() fails with the reference's error", async () => {
    // nats-server 2.9.10 writes INFO and the -ERR and closes the socket at once;
    // the client's CONNECT then usually hits a closed socket and connect()
    // rejects with the transport error (EPIPE), not the -ERR text. Which one
    // the client sees is a race on either server (on a loaded machine both
    // gave the -ERR text now and then; the reference once gave ECONNRESET,
    // the write arriving after the close): any of them counts as the same
    // refusal. The bytes themselves are compared in the first test of this block.
    const refusal = (e: unknown): unknown => {
      const i = errInfo(e);
      return i.message === 'write EPIPE' || i.message === 'write ECONNRESET' || i.message === 'maximum connections exceeded' ? 'refused (EPIPE, ECONNRESET or the -ERR text)' : i;
    };
    await onBoth(async (t) => {
      await t.connect();
      await t.connect();
      const e = await thrown(() => connect({ servers: t.url, reconnect: false, timeout: 20_000 }));
      return refusal(e);
    }, setup);
  });
});

describe('max_subscriptions', () => {
  const setup = { config: 'max_subscriptions: 3\n' };

  it("the 4th subscription: 'maximum subscriptions exceeded' status, it gets nothing, the first 3 work", async () => {
    await onBoth(async (t) => {
      const nc = await t.connect({ reconnect: false });
      const errors: string[] = [];
      const gotError = within(
        (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'error') {
              errors.push(`${s.error.constructor.name}:${s.error.message}`);
              return;
            }
          }
        })(),
        'error status',
      );
      const recs = [1, 2, 3, 4].map((i) => record(nc, `ms.${i}`));
      await nc.flush();
      await gotError;
      const pub = await t.connect();
      for (let i = 1; i <= 4; i++) pub.publish(`ms.${i}`, String(i));
      await pub.flush();
      await nc.flush();
      const counts = recs.map((r) => r.msgs.length);
      assert.deepEqual(counts, [1, 1, 1, 0]);
      assert.equal(nc.stats().inMsgs, 3);
      assert.equal(nc.isClosed(), false);
      assert.deepEqual(errors, ['ProtocolError:maximum subscriptions exceeded']);
      return { counts, errors };
    }, setup);
  });
});
