// JetStream push deliveries on a route, same bytes from tsnats and the
// reference. A hub (the node under test, clustered with a fake route peer)
// has a JetStream leaf (the reference, standalone JetStream) whose push
// consumer delivers to a subject the fake peer subscribed: the leaf sends it
// routed by the deliver subject with the stored subject after '@' in the
// $JS.ACK reply, and the hub must hand it on to the route as it came
// (server/client.go processMsgResults, sendToRoutesOrLeafs). The other way,
// an RMSG carrying "<reply>@<subject>" reaches the hub's clients decoded.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { connect as rawConnect } from '../helpers/rawclient.js';
import { startServer, writeConfig, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { tempStoreDir } from '../helpers/jetstream.js';
import { startNode, waitFor, type ClusterNode } from '../blackbox/cluster-helpers.js';

const CONNECT = 'CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"NFAKEPEER","cluster":"C","lnoc":true}\r\n';
const INFO =
  'INFO {"server_id":"NFAKEPEER","server_name":"NFAKEPEER","version":"2.9.10","proto":2,"go":"go1.19","host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"C","lnoc":true}\r\n';

interface Seen {
  rmsg: string;
  clients: Array<{ subject: string; reply: string }>;
}

async function run(kind: ServerKind): Promise<Seen> {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  try {
    const hub: ClusterNode = await startNode(kind, { name: 'HUB', cluster: 'C', process: true, extraConf: 'leafnodes { listen: "127.0.0.1:-1" }' });
    cleanup.push(() => hub.stop());
    const lm = /Listening for leafnode connections on \S+:(\d+)/.exec(hub.log().join('\n'));
    assert.ok(lm !== null, 'hub leafnode port');
    const rc = await rawConnect(hub.routePort);
    cleanup.push(() => rc.close());
    await rc.readUntil('\r\n');
    void rc.send(CONNECT + INFO + 'RS+ $G dlv.x\r\nPING\r\n');
    await rc.readUntil('PONG\r\n');

    const leafConf = writeConfig(
      `server_name: JSLEAF\nlisten: "127.0.0.1:-1"\njetstream { store_dir: ${JSON.stringify(tempStoreDir())} }\nleafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${lm[1]}" } ] }\n`,
    );
    const leaf: RunningServer = await startServer('reference', ['-c', leafConf], { defaultArgs: false });
    cleanup.push(() => leaf.stop());
    await waitFor('leaf connection', () => /Leafnode connection created/.test(leaf.stderr()));

    const lnc = await connect({ servers: leaf.url });
    cleanup.push(() => lnc.close());
    const jsm = await jetstreamManager(lnc);
    await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
    await jetstream(lnc).publish('s.k1', 'hello');
    await jsm.consumers.add('S', { durable_name: 'D', deliver_subject: 'dlv.x', ack_policy: AckPolicy.Explicit });
    // The reference sends an LMSG with the leaf's origin cluster here (a JetStream leaf has one): the
    // subject and reply are compared, the frame kind is the route's LMSG support (not this test's concern).
    const text = await rc.readUntil(/[RL]MSG (?:\S+ )?\$G dlv\.x [^\r]*\r\nhello\r\n/, 10_000);
    const m = /[RL]MSG (?:\S+ )?\$G (dlv\.x \S+) [^\r]*\r\n/.exec(text)!;
    const rmsg = m[1]!.replace(/\.\d{10,}\./, '.<ts>.');

    const nc = await connect({ servers: hub.url });
    cleanup.push(() => nc.close());
    const clients: Array<{ subject: string; reply: string }> = [];
    nc.subscribe('in.x', { callback: (_e, m) => void clients.push({ subject: m.subject, reply: m.reply ?? '' }) });
    await nc.flush();
    await rc.readUntil('RS+ $G in.x\r\n');
    void rc.send(
      'RMSG $G in.x $JS.ACK.S.D.1.7.7.1.0@stored.subj 2\r\nhi\r\n' +
        'RMSG $G in.x $JS.ACK.S.D.1.8.8.1.0@ 2\r\nhi\r\n' +
        'RMSG $G in.x $JS.ACK.a@b@c.d 2\r\nhi\r\n' +
        'RMSG $G in.x other@x.y 2\r\nhi\r\n',
    );
    await waitFor('routed messages', () => clients.length >= 4, 5000);

    // a routed delivery for a client behind the hub's leaf: the hub hands it on as it came, the leaf decodes it
    const leafClients: Array<{ subject: string; reply: string }> = [];
    lnc.subscribe('lf.x', { callback: (_e, m) => void leafClients.push({ subject: m.subject, reply: m.reply ?? '' }) });
    await lnc.flush();
    // the reference announces a leaf's interest with its origin cluster (LS+), tsnats with RS+ for now
    await rc.readUntil(/[RL]S\+ (?:\S+ )?\$G lf\.x\r\n/, 10_000);
    void rc.send('RMSG $G lf.x $JS.ACK.S.D.1.9.9.1.0@leaf.stored 2\r\nhi\r\n');
    await waitFor('the leaf client', () => leafClients.length >= 1, 5000);
    clients.push(...leafClients);
    return { rmsg, clients };
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}

describe('JetStream deliveries on a route (differential)', () => {
  const results = new Map<ServerKind, Seen>();
  after(() => results.clear());
  for (const kind of ['reference', 'tsnats'] as ServerKind[]) {
    it(`${kind}: a leaf's JetStream delivery goes on to the route as it came; a routed one reaches clients decoded`, async () => {
      const seen = await run(kind);
      results.set(kind, seen);
      assert.equal(seen.rmsg, 'dlv.x $JS.ACK.S.D.1.1.1.<ts>.0@s.k1');
      assert.deepEqual(seen.clients, [
        { subject: 'stored.subj', reply: '$JS.ACK.S.D.1.7.7.1.0' },
        { subject: 'in.x', reply: '$JS.ACK.S.D.1.8.8.1.0@' },
        { subject: 'c.d', reply: '$JS.ACK.a@b' },
        { subject: 'in.x', reply: 'other@x.y' },
        { subject: 'leaf.stored', reply: '$JS.ACK.S.D.1.9.9.1.0' },
      ]);
    });
  }
  it('tsnats and the reference agree', () => {
    assert.deepEqual(results.get('tsnats'), results.get('reference'));
  });
});
