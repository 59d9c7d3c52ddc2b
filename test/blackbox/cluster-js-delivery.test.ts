// JetStream push deliveries across a route: the consumer's server routes the
// message by its deliver subject and carries the stored subject after '@' in
// the $JS.ACK reply; the receiving server gives its clients the stored
// subject and the plain reply (server/client.go processMsgResults). Checked
// with the official clients in mixed clusters (tsnats with JetStream, the
// reference or tsnats without) and at the byte level with a fake route peer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Kvm, type KvEntry } from '@nats-io/kv';
import { connect as rawConnect } from '../helpers/rawclient.js';
import type { ServerKind } from '../helpers/servers.js';
import { tempStoreDir } from '../helpers/jetstream.js';
import { startNode, waitFor, sleep, type ClusterNode } from './cluster-helpers.js';

async function pair(other: ServerKind): Promise<{ js: ClusterNode; peer: ClusterNode; stop(): Promise<void> }> {
  const js = await startNode('tsnats', {
    name: 'JSNODE',
    cluster: 'C',
    process: true,
    extraConf: `jetstream { store_dir: ${JSON.stringify(tempStoreDir())} }`,
  });
  const peer = await startNode(other, { name: 'PEER', cluster: 'C', routes: [js.routeURL] });
  return {
    js,
    peer,
    stop: async () => {
      await peer.stop();
      await js.stop();
    },
  };
}

/** Wait until `nc` can reach the JetStream API (the route and its interest are up). */
async function jsReady(nc: NatsConnection): Promise<void> {
  await waitFor('JetStream API over the route', async () => {
    try {
      await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
      return true;
    } catch {
      return false;
    }
  });
}

for (const other of ['reference', 'tsnats'] as ServerKind[]) {
  describe(`JetStream deliveries over a route (tsnats JetStream node, ${other} client node)`, () => {
    it('a KV watcher on the other node sees the keys; a push consumer there gets stored subjects and its acks work', async () => {
      const c = await pair(other);
      const ncJs = await connect({ servers: c.js.url });
      const nc = await connect({ servers: c.peer.url });
      try {
        await jsReady(nc);
        const kv = await new Kvm(jetstream(ncJs)).create('b');
        await kv.put('key1', 'v1');
        const rkv = await new Kvm(jetstream(nc)).open('b');
        const seen: string[] = [];
        const w = await rkv.watch();
        void (async () => {
          for await (const e of w as AsyncIterable<KvEntry>) seen.push(`${e.key}=${e.string()}`);
        })();
        await sleep(200);
        await kv.put('key2', 'v2');
        await kv.put('a.b.c', 'v3');
        await waitFor('watched keys', () => seen.length >= 3, 10_000);
        assert.deepEqual(seen, ['key1=v1', 'key2=v2', 'a.b.c=v3']);
        w.stop();

        // a plain push consumer with explicit acks, its deliver subject subscribed on the other node
        const jsm = await jetstreamManager(ncJs);
        await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
        const got: Array<{ subject: string; reply: string }> = [];
        nc.subscribe('push.out', {
          callback: (_e, m) => {
            got.push({ subject: m.subject, reply: m.reply ?? '' });
            m.respond();
          },
        });
        await nc.flush();
        await sleep(200);
        await jsm.consumers.add('ORDERS', { durable_name: 'P', deliver_subject: 'push.out', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30_000_000_000 });
        const js = jetstream(ncJs);
        await js.publish('orders.one', 'x');
        await js.publish('orders.two.three', 'y');
        await waitFor('push deliveries', () => got.length >= 2, 10_000);
        assert.deepEqual(
          got.map((g) => g.subject),
          ['orders.one', 'orders.two.three'],
        );
        for (const g of got) assert.match(g.reply, /^\$JS\.ACK\.ORDERS\.P\.1\.\d+\.\d+\.\d+\.\d+$/, 'the reply arrives without the @ part');
        await waitFor('acks reach the consumer', async () => (await jsm.consumers.info('ORDERS', 'P')).ack_floor.stream_seq === 2, 10_000);
        await sleep(100);
        assert.equal(got.length, 2, 'acked messages are not redelivered');
      } finally {
        await nc.close();
        await ncJs.close();
        await c.stop();
      }
    });
  });
}

describe('JetStream deliveries over a route, route protocol bytes (tsnats)', () => {
  it('an RMSG sent for a push delivery is routed by the deliver subject with "<reply>@<stored subject>"; one received that way reaches clients decoded', async () => {
    const n = await startNode('tsnats', {
      name: 'JSNODE',
      cluster: 'C',
      process: true,
      extraConf: `jetstream { store_dir: ${JSON.stringify(tempStoreDir())} }`,
    });
    const nc = await connect({ servers: n.url });
    const rc = await rawConnect(n.routePort);
    try {
      await rc.readUntil('\r\n');
      void rc.send(
        'CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"NFAKEPEER","cluster":"C","lnoc":true}\r\n' +
          'INFO {"server_id":"NFAKEPEER","server_name":"NFAKEPEER","version":"2.9.10","proto":2,"go":"go1.19","host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"C","lnoc":true}\r\n' +
          'RS+ $G dlv.x\r\nPING\r\n',
      );
      await rc.readUntil('PONG\r\n');
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
      await jetstream(nc).publish('s.k1', 'hello');
      await jsm.consumers.add('S', { durable_name: 'D', deliver_subject: 'dlv.x', ack_policy: AckPolicy.Explicit });
      const text = await rc.readUntil(/RMSG \$G dlv\.x [^\r]*\r\nhello\r\n/);
      const line = /RMSG \$G dlv\.x [^\r]*\r\n/.exec(text)![0];
      // server/client.go processMsgResults: reply = reply + '@' + deliver (the stored subject)
      assert.match(line, /^RMSG \$G dlv\.x \$JS\.ACK\.S\.D\.1\.1\.1\.\d+\.0@s\.k1 5\r\n$/);

      // the other direction: the peer's delivery reaches a local client with the stored subject
      const got: Array<{ subject: string; reply: string }> = [];
      nc.subscribe('in.x', { callback: (_e, m) => void got.push({ subject: m.subject, reply: m.reply ?? '' }) });
      await nc.flush();
      await rc.readUntil('RS+ $G in.x\r\n');
      void rc.send('RMSG $G in.x $JS.ACK.S.D.1.7.7.1.0@stored.subj 2\r\nhi\r\n');
      // only $JS.ACK replies are decoded; an '@' at the end or elsewhere stays as it is
      void rc.send('RMSG $G in.x $JS.ACK.S.D.1.8.8.1.0@ 2\r\nhi\r\n');
      void rc.send('RMSG $G in.x other@x.y 2\r\nhi\r\nPING\r\n');
      await waitFor('routed messages', () => got.length >= 3, 5000);
      assert.deepEqual(got, [
        { subject: 'stored.subj', reply: '$JS.ACK.S.D.1.7.7.1.0' },
        { subject: 'in.x', reply: '$JS.ACK.S.D.1.8.8.1.0@' },
        { subject: 'in.x', reply: 'other@x.y' },
      ]);
    } finally {
      rc.close();
      await nc.close();
      await n.stop();
    }
  });
});
