// JetStream used from another account through the official client, as the
// nats.js suite does it (its jetstreamExportServerConf): account A imports
// the JS account's $JS.API.> under the prefix IPA, $JS.ACK.> and the stream
// A.> its push consumers deliver on. Push and pull consumers must deliver
// there exactly as nats-server 2.9.10 does (the stored subject on the MSG
// line, interest seen across the import). Also the account info of a JWT
// account with tiered JetStream limits.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInbox, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, type JsMsg } from '@nats-io/jetstream';
import { onBoth, within, type Target } from './dual.js';
import { Operator, operatorConfig, user } from '../helpers/jwt-fixture.js';

const EXPORT_CONFIG = `
no_auth_user: a
accounts: {
  JS: {
    jetstream: enabled
    users: [{ user: js, password: js }]
    exports: [
      { service: "$JS.API.>", response_type: stream },
      { service: "$JS.ACK.>", response_type: stream },
      { stream: "A.>", accounts: ["A"] },
    ]
  }
  A: {
    users: [{ user: a, password: s3cret }]
    imports: [
      { service: { subject: "$JS.API.>", account: JS }, to: "IPA.>" },
      { service: { subject: "$JS.ACK.>", account: JS } },
      { stream: { subject: "A.>", account: JS } },
    ]
  }
}
`;

/** the JS account's admin connection with stream S (subject s.a) holding two messages */
async function adminWithStream(t: Target): Promise<NatsConnection> {
  const admin = await t.connect({ user: 'js', pass: 'js' });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: 'S', subjects: ['s.a'] });
  const js = jetstream(admin);
  await js.publish('s.a', 'one');
  await js.publish('s.a', 'two');
  return admin;
}

function seen(m: JsMsg): { subject: string; seq: number; data: string } {
  return { subject: m.subject, seq: m.seq, data: m.string() };
}

describe('jetstream across accounts (official client)', () => {
  it('a push consumer delivers on a deliver subject imported by another account, subscribed after the consumer was made', async () => {
    await onBoth(
      async (t) => {
        await adminWithStream(t);
        const nc = await t.connect({ user: 'a', pass: 's3cret', inboxPrefix: 'A' });
        const js = jetstream(nc, { apiPrefix: 'IPA' });
        const jsm = await js.jetstreamManager();
        const ci = await jsm.consumers.add('S', { durable_name: 'me', ack_policy: AckPolicy.Explicit, deliver_subject: createInbox('A') });
        const before = ci.push_bound === true;
        const c = await js.consumers.getPushConsumer('S', 'me');
        const msgs = await c.consume();
        const got: unknown[] = [];
        const acks: Promise<boolean>[] = [];
        await within(
          (async () => {
            for await (const m of msgs) {
              got.push(seen(m));
              acks.push(m.ackAck());
              if (m.seq === 2) break;
            }
          })(),
          'the two messages through the stream import',
        );
        const acked = await within(Promise.all(acks), 'ack replies');
        const info = await c.info();
        return {
          before,
          got,
          acked,
          pending: info.num_pending,
          delivered: info.delivered.stream_seq,
          ackFloor: info.ack_floor.stream_seq,
        };
      },
      { config: EXPORT_CONFIG, jetstream: true },
    );
  });

  it('consumer listing and info through the import count messages published just before (nats.js jsm - cross account consumers)', async () => {
    const r = await onBoth(
      async (t) => {
        const nc = await t.connect({ user: 'a', pass: 's3cret' });
        const jsm = await jetstreamManager(nc, { apiPrefix: 'IPA' });
        await jsm.streams.add({ name: 'X', subjects: ['x.a'] });
        await jsm.consumers.add('X', { durable_name: 'me', ack_policy: AckPolicy.Explicit });
        const admin = await t.connect({ user: 'js', pass: 'js' });
        // plain publishes (no PubAck awaited): the stream may still be writing them
        for (let i = 0; i < 20; i++) admin.publish('x.a', `m${i}`);
        await admin.flush();
        const listed = await jsm.consumers.list('X').next();
        const info = await jsm.consumers.info('X', 'me');
        return { listed: listed.map((ci) => [ci.name, ci.num_pending]), info: info.num_pending };
      },
      { config: EXPORT_CONFIG, jetstream: true },
    );
    assert.deepEqual(r, { listed: [['me', 20]], info: 20 });
  });

  it('a pull consumer answers a request made through a service import (its _R_ reply leads back to the requester)', async () => {
    const r = await onBoth(
      async (t) => {
        const admin = await adminWithStream(t);
        await (await jetstreamManager(admin)).consumers.add('S', { durable_name: 'me', ack_policy: AckPolicy.None });
        const nc = await t.connect({ user: 'a', pass: 's3cret', inboxPrefix: 'A' });
        const c = await jetstream(nc, { apiPrefix: 'IPA' }).consumers.get('S', 'me');
        const m1 = await within(c.next(), 'first next()');
        const m2 = await within(c.next(), 'second next()');
        const none = await within(c.next({ expires: 1000 }), 'next() on an empty consumer');
        return { m1: m1 === null ? null : seen(m1), m2: m2 === null ? null : seen(m2), none };
      },
      { config: EXPORT_CONFIG, jetstream: true },
    );
    assert.deepEqual(r.m1, { subject: 's.a', seq: 1, data: 'one' });
    assert.equal(r.none, null);
  });

  it('account info of a JWT account with tiered limits lists the tiers', async () => {
    const op = await Operator.create();
    const sys = await op.account('SYS');
    const acc = await op.account('A', {
      limits: { tiered_limits: { R1: { disk_storage: 1024 * 1024, mem_storage: 0, consumer: -1, streams: -1 } } } as never,
    });
    const u = await user(acc, 'u');
    await onBoth(
      async (t) => {
        const nc = await t.connect({ authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()) });
        const jsm = await jetstreamManager(nc);
        const empty = await jsm.getAccountInfo();
        // replicas spelled out: 2.9.10 picks the tier from the raw value (R0 has no limits)
        await jsm.streams.add({ name: 'T', subjects: ['t'], num_replicas: 1 });
        await jetstream(nc).publish('t', 'x');
        await jsm.consumers.add('T', { durable_name: 'd', ack_policy: AckPolicy.None });
        const used = await jsm.getAccountInfo();
        assert.equal(empty.tiers?.R1?.limits.max_storage, 1024 * 1024);
        assert.equal(used.tiers?.R1?.streams, 1);
        const strip = (ai: typeof empty): unknown => ({ ...ai, api: undefined });
        return { empty: strip(empty), used: strip(used) };
      },
      { config: operatorConfig(op, [sys, acc], sys), jetstream: true },
    );
  });
});
