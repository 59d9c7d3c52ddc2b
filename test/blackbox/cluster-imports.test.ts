// Account imports across routes: stream imports (prefix and `to` remapping)
// whose publisher is on another node, and service imports whose responder
// is on another node, for every pairing of tsnats and the reference
// (nats-server 2.9.10) in both roles. reference + reference runs too, so
// that the expectations are the reference's own.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { ServerKind } from '../helpers/servers.js';
import { logged, sleep, startNode, waitFor, type ClusterNode } from './cluster-helpers.js';

const td = new TextDecoder();

const ACCOUNTS = `accounts {
  A: {
    users: [{user: a, password: a}]
    exports: [
      {stream: "events.>"}
      {stream: "orders.*"}
      {service: "svc.echo"}
      {service: "svc.time"}
    ]
  }
  B: {
    users: [{user: b, password: b}]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: "imp"}
      {stream: {account: A, subject: "orders.*"}, to: "mine.orders.*"}
      {service: {account: A, subject: "svc.echo"}, to: "echo"}
      {service: {account: A, subject: "svc.time"}, to: "time"}
    ]
  }
}`;

const pairs: Array<[ServerKind, ServerKind]> = [
  ['tsnats', 'tsnats'],
  ['tsnats', 'reference'],
  ['reference', 'tsnats'],
  ['reference', 'reference'],
];

const as = (n: ClusterNode, u: string): Promise<NatsConnection> => connect({ servers: n.url, user: u, pass: u });

async function cluster(k1: ServerKind, k2: ServerKind): Promise<[ClusterNode, ClusterNode]> {
  const n1 = await startNode(k1, { name: 'N1', cluster: 'imports', extraConf: ACCOUNTS, process: true });
  const n2 = await startNode(k2, { name: 'N2', cluster: 'imports', extraConf: ACCOUNTS, process: true, routes: [n1.routeURL] });
  return [n1, n2];
}

/** Publish `probe` on `subject` until `got` says it arrived (interest crossed the route). */
async function probeUntil(pub: NatsConnection, subject: string, got: () => boolean, what: string): Promise<void> {
  await waitFor(what, async () => {
    pub.publish(subject, 'probe');
    await pub.flush();
    await sleep(50);
    return got();
  });
}

describe('account imports across routes', () => {
  for (const [k1, k2] of pairs) {
    it(`${k1} + ${k2}: stream imports (prefix, to) deliver a remote publisher's messages exactly once`, async () => {
      const [n1, n2] = await cluster(k1, k2);
      const conns: NatsConnection[] = [];
      try {
        const a1 = await as(n1, 'a');
        const a2 = await as(n2, 'a');
        const b1 = await as(n1, 'b');
        const b2 = await as(n2, 'b');
        conns.push(a1, a2, b1, b2);
        // what each B subscriber saw: "<subject> <payload>"
        const seen = new Map<string, string[]>();
        const sub = (nc: NatsConnection, name: string, subject: string, queue?: string) => {
          const l: string[] = [];
          seen.set(name, l);
          nc.subscribe(subject, { queue, callback: (_e, m) => void l.push(`${m.subject} ${td.decode(m.data)}`) });
        };
        sub(b1, 'b1.imp', 'imp.events.>');
        sub(b2, 'b2.imp', 'imp.events.>');
        sub(b1, 'b1.orders', 'mine.orders.*');
        sub(b2, 'b2.orders', 'mine.orders.*');
        // a subscriber narrower than the import, on one node only
        sub(b2, 'b2.narrow', 'imp.events.only.*');
        await Promise.all([b1.flush(), b2.flush()]);
        const has = (name: string, entry: string) => () => seen.get(name)!.includes(entry);
        await probeUntil(a1, 'events.p1', has('b2.imp', 'imp.events.p1 probe'), 'N1 publisher reaches B on N2');
        await probeUntil(a2, 'events.p2', has('b1.imp', 'imp.events.p2 probe'), 'N2 publisher reaches B on N1');
        await probeUntil(a1, 'orders.p', has('b2.orders', 'mine.orders.p probe'), 'N1 orders reach B on N2');
        await probeUntil(a2, 'orders.p', has('b1.orders', 'mine.orders.p probe'), 'N2 orders reach B on N1');
        await probeUntil(a1, 'events.only.p', has('b2.narrow', 'imp.events.only.p probe'), 'narrow subscriber on N2');
        for (const l of seen.values()) l.length = 0;

        for (let i = 0; i < 10; i++) {
          a1.publish('events.one', `n1-${i}`);
          a2.publish('events.two', `n2-${i}`);
          a1.publish(`orders.${i}`, 'n1');
          a2.publish(`orders.${i}`, 'n2');
          a1.publish('events.only.x', `n1-${i}`);
        }
        await Promise.all([a1.flush(), a2.flush()]);
        const events = [...Array(10).keys()].flatMap((i) => [`imp.events.one n1-${i}`, `imp.events.two n2-${i}`, `imp.events.only.x n1-${i}`]);
        const orders = [...Array(10).keys()].flatMap((i) => [`mine.orders.${i} n1`, `mine.orders.${i} n2`]);
        await waitFor('every message', () => seen.get('b1.imp')!.length >= 30 && seen.get('b2.imp')!.length >= 30 && seen.get('b1.orders')!.length >= 20 && seen.get('b2.orders')!.length >= 20 && seen.get('b2.narrow')!.length >= 10);
        await sleep(300);
        for (const name of ['b1.imp', 'b2.imp']) assert.deepEqual([...seen.get(name)!].sort(), [...events].sort(), name);
        for (const name of ['b1.orders', 'b2.orders']) assert.deepEqual([...seen.get(name)!].sort(), [...orders].sort(), name);
        assert.deepEqual(seen.get('b2.narrow'), [...Array(10).keys()].map((i) => `imp.events.only.x n1-${i}`));
      } finally {
        await Promise.all(conns.map((c) => c.close()));
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });

    it(`${k1} + ${k2}: request/reply through a service import with the responder on the other node`, async () => {
      const [n1, n2] = await cluster(k1, k2);
      const conns: NatsConnection[] = [];
      try {
        const a1 = await as(n1, 'a');
        const a2 = await as(n2, 'a');
        const b1 = await as(n1, 'b');
        const b2 = await as(n2, 'b');
        conns.push(a1, a2, b1, b2);
        const infos: string[] = [];
        const responder = (nc: NatsConnection, subject: string, who: string) =>
          nc.subscribe(subject, {
            callback: (_e, m: Msg) => {
              infos.push(m.headers?.get('Nats-Request-Info') ?? '');
              m.respond(`${who}:${m.subject}:${td.decode(m.data)}`);
            },
          });
        responder(a1, 'svc.echo', 'A@N1');
        responder(a2, 'svc.time', 'A@N2');
        await Promise.all([a1.flush(), a2.flush()]);
        const ask = async (nc: NatsConnection, subject: string, data: string) => td.decode((await nc.request(subject, data, { timeout: 500 })).data);
        await waitFor('the services answer across the route', async () => {
          try {
            return (await ask(b2, 'echo', 'x')) === 'A@N1:svc.echo:x' && (await ask(b1, 'time', 'y')) === 'A@N2:svc.time:y';
          } catch {
            return false;
          }
        });
        infos.length = 0;
        // many requests, both directions, concurrently: every reply reaches its requester
        const want: Promise<string>[] = [];
        for (let i = 0; i < 20; i++) {
          want.push(ask(b2, 'echo', `r${i}`));
          want.push(ask(b1, 'time', `t${i}`));
        }
        const got = await Promise.all(want);
        for (let i = 0; i < 20; i++) {
          assert.equal(got[2 * i], `A@N1:svc.echo:r${i}`);
          assert.equal(got[2 * i + 1], `A@N2:svc.time:t${i}`);
        }
        // the request crossed the import on the requester's node: the responder sees B's client info
        assert.equal(infos.length, 40);
        for (const h of infos) assert.equal((JSON.parse(h) as { acc: string }).acc, 'B');
        // nothing in A answers on the import subjects themselves
        const outcome = await b2.request('svc.echo', '', { timeout: 1000 }).then(
          () => 'reply',
          (e: Error & { isNoResponders?: () => boolean }) => (e.isNoResponders?.() ? 'no-responders' : e.message),
        );
        assert.equal(outcome, 'no-responders');
      } finally {
        await Promise.all(conns.map((c) => c.close()));
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }

  const triples: Array<[ServerKind, ServerKind, ServerKind]> = [
    ['tsnats', 'tsnats', 'tsnats'],
    ['tsnats', 'reference', 'tsnats'],
    ['reference', 'tsnats', 'reference'],
    ['reference', 'reference', 'reference'],
  ];
  for (const kinds of triples) {
    it(`${kinds.join(' + ')}: queue groups through imports are served once across three nodes`, async () => {
      const n1 = await startNode(kinds[0], { name: 'N1', cluster: 'imports3', extraConf: ACCOUNTS, process: true });
      const n2 = await startNode(kinds[1], { name: 'N2', cluster: 'imports3', extraConf: ACCOUNTS, process: true, routes: [n1.routeURL] });
      const n3 = await startNode(kinds[2], { name: 'N3', cluster: 'imports3', extraConf: ACCOUNTS, process: true, routes: [n1.routeURL] });
      const nodes = [n1, n2, n3];
      const conns: NatsConnection[] = [];
      try {
        const a = await Promise.all(nodes.map((n) => as(n, 'a')));
        const b = await Promise.all(nodes.map((n) => as(n, 'b')));
        conns.push(...a, ...b);
        // importers: a queue group in B with members on N1 and N2, a plain subscriber on N3
        const group: string[] = [];
        const plain: string[] = [];
        for (const i of [0, 1]) b[i]!.subscribe('imp.events.>', { queue: 'workers', callback: (_e, m) => void group.push(td.decode(m.data)) });
        b[2]!.subscribe('imp.events.>', { callback: (_e, m) => void plain.push(td.decode(m.data)) });
        // responders: a queue group in A on N2 and N3
        for (const i of [1, 2]) a[i]!.subscribe('svc.echo', { queue: 'svc', callback: (_e, m) => void m.respond(`N${i + 1}:${td.decode(m.data)}`) });
        await Promise.all([...a, ...b].map((c) => c.flush()));
        // wait for the full mesh: every node's publisher reaches the plain importer on N3, and the group
        for (const i of [0, 1, 2]) {
          await waitFor(`N${i + 1} reaches N3`, async () => {
            a[i]!.publish('events.probe', `probe-${i}`);
            await a[i]!.flush();
            await sleep(50);
            return plain.includes(`probe-${i}`);
          });
        }
        await waitFor('B on N1 asks the service', async () => {
          try {
            return (await b[0]!.request('echo', 'p', { timeout: 500 })).data.length > 0;
          } catch {
            return false;
          }
        });
        await sleep(300);
        group.length = 0;
        plain.length = 0;
        const sent: string[] = [];
        for (const i of [0, 1, 2]) {
          for (let k = 0; k < 20; k++) {
            a[i]!.publish(`events.n${i}`, `m${i}-${k}`);
            sent.push(`m${i}-${k}`);
          }
        }
        await Promise.all(a.map((c) => c.flush()));
        await waitFor('every message in the group and at the plain importer', () => group.length >= 60 && plain.length >= 60);
        await sleep(300);
        assert.deepEqual([...group].sort(), [...sent].sort(), 'the queue group got each message once');
        assert.deepEqual([...plain].sort(), [...sent].sort(), 'the plain importer got each message once');
        const answers = await Promise.all([...Array(20).keys()].map((k) => b[k % 3]!.request('echo', `q${k}`, { timeout: 2000 })));
        for (let k = 0; k < 20; k++) assert.match(td.decode(answers[k]!.data), new RegExp(`^N[23]:q${k}$`));
      } finally {
        await Promise.all(conns.map((c) => c.close()));
        await Promise.all([n3.stop(), n2.stop(), n1.stop()]);
      }
    });
  }

  const NO_IMPORT = `accounts {
  A: { users: [{user: a, password: a}], exports: [{stream: "events.>"}] }
  B: { users: [{user: b, password: b}] }
}`;
  const WITH_IMPORT = `accounts {
  A: { users: [{user: a, password: a}], exports: [{stream: "events.>"}] }
  B: { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: "events.>"}, prefix: "imp"}] }
}`;
  /** Rewrite a process node's config file with `from` replaced by `to`, and SIGHUP it. */
  async function reloadWith(n: ClusterNode, from: string, to: string): Promise<void> {
    const cmd = n.proc!.command;
    const file = cmd[cmd.indexOf('-c') + 1]!;
    writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
    const before = logged(n, 'Reloaded server configuration').length;
    n.proc!.proc.kill('SIGHUP');
    await waitFor(`${n.spec.name} reloaded`, () => logged(n, 'Reloaded server configuration').length > before);
  }
  for (const k1 of ['tsnats', 'reference'] as ServerKind[]) {
    it(`${k1} publisher node + tsnats subscriber node: an import added and removed by a reload follows existing subscriptions`, async () => {
      const n1 = await startNode(k1, { name: 'N1', cluster: 'reload', extraConf: NO_IMPORT, process: true });
      const n2 = await startNode('tsnats', { name: 'N2', cluster: 'reload', extraConf: NO_IMPORT, process: true, routes: [n1.routeURL] });
      const conns: NatsConnection[] = [];
      try {
        const a1 = await as(n1, 'a');
        const b2 = await as(n2, 'b');
        conns.push(a1, b2);
        const got: string[] = [];
        b2.subscribe('imp.events.>', { callback: (_e, m) => void got.push(td.decode(m.data)) });
        const probe = await as(n2, 'b');
        conns.push(probe);
        // the route is up when B's own interest crosses it
        const seen: string[] = [];
        const b1 = await as(n1, 'b');
        conns.push(b1);
        b1.subscribe('route.up', { callback: () => void seen.push('x') });
        await waitFor('route up', async () => {
          probe.publish('route.up', '');
          await probe.flush();
          await sleep(50);
          return seen.length > 0;
        });
        a1.publish('events.before', 'before');
        await a1.flush();
        await sleep(300);
        assert.equal(got.length, 0, 'no import yet');
        await reloadWith(n1, NO_IMPORT, WITH_IMPORT);
        await reloadWith(n2, NO_IMPORT, WITH_IMPORT);
        await probeUntil(a1, 'events.after', () => got.includes('probe'), 'the import works after the reload');
        await reloadWith(n2, WITH_IMPORT, NO_IMPORT);
        await reloadWith(n1, WITH_IMPORT, NO_IMPORT);
        await sleep(300);
        got.length = 0;
        a1.publish('events.gone', 'gone');
        await a1.flush();
        await sleep(500);
        assert.equal(got.length, 0, 'the import is gone');
      } finally {
        await Promise.all(conns.map((c) => c.close()));
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }

  it('the route sees the same RS+ and HMSG lines from tsnats and the reference (raw route peer)', async (t) => {
    const wire: Record<string, string[]> = {};
    for (const kind of ['tsnats', 'reference'] as ServerKind[]) {
      const n = await startNode(kind, { name: 'W', cluster: 'wire', extraConf: ACCOUNTS, process: true });
      const peer = netConnect({ host: '127.0.0.1', port: n.routePort });
      let text = '';
      peer.on('data', (d: Buffer) => void (text += d.toString('latin1')));
      peer.on('error', () => undefined);
      const conns: NatsConnection[] = [];
      try {
        await waitFor('route INFO', () => text.includes('INFO '));
        const info = { server_id: 'FAKEWIREPEER', server_name: 'fake', version: '2.9.10', proto: 2, host: '127.0.0.1', port: 1, headers: true, max_payload: 1048576, cluster: 'wire', lnoc: true };
        peer.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"name":"FAKEWIREPEER","cluster":"wire","lnoc":true}\r\nINFO ${JSON.stringify(info)}\r\nRS+ A svc.echo\r\nPING\r\n`);
        await waitFor('PONG', () => text.includes('PONG'));
        const b = await as(n, 'b');
        conns.push(b);
        for (const subj of ['imp.events.>', 'imp.events.only.*', 'imp.>', '*.events.x', 'mine.orders.*', 'mine.orders.7']) b.subscribe(subj, { callback: () => undefined });
        b.subscribe('imp.events.q', { queue: 'g', callback: () => undefined });
        b.subscribe('imp.events.q', { queue: 'g', callback: () => undefined });
        await b.flush();
        b.publish('echo', 'hi', { reply: 'my.reply' });
        await b.flush();
        await waitFor('the request on the route', () => /HMSG A svc\.echo /.test(text));
        await sleep(200);
        wire[kind] = text
          .split('\r\n')
          .filter((l) => /^(RS[+-]|RMSG|HMSG) [AB] /.test(l))
          .map((l) => l.replace(/_R_\.[A-Za-z0-9]{6}\.[A-Za-z0-9]+/g, '_R_.<prefix>.<token>').replace(/_R_\.[A-Za-z0-9]{6}\.>/g, '_R_.<prefix>.>'))
          // header sizes depend on the Nats-Request-Info JSON (start time, ids)
          .map((l) => l.replace(/^(HMSG .*) \d+ \d+$/, '$1 <hdr> <total>'))
          .sort();
      } finally {
        peer.destroy();
        await Promise.all(conns.map((c) => c.close()));
        await n.stop();
      }
    }
    assert.ok(wire.reference!.includes('RS+ A events.>'), wire.reference!.join('\n'));
    assert.ok(wire.reference!.some((l) => l.startsWith('HMSG A svc.echo _R_.<prefix>.<token>')), wire.reference!.join('\n'));
    t.diagnostic(wire.reference!.join(' | '));
    assert.deepEqual(wire.tsnats, wire.reference);
  });

  for (const [k1, k2] of pairs) {
    it(`${k1} + ${k2}: a response that carries its own reply subject, answered by the requester across the route`, async () => {
      const [n1, n2] = await cluster(k1, k2);
      const conns: NatsConnection[] = [];
      try {
        const a1 = await as(n1, 'a');
        const b2 = await as(n2, 'b');
        conns.push(a1, b2);
        const acks: string[] = [];
        a1.subscribe('ack.from.requester', { callback: (_e, m) => void acks.push(td.decode(m.data)) });
        a1.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`resp:${td.decode(m.data)}`, { reply: 'ack.from.requester' }) });
        await a1.flush();
        let answered: Msg | null = null;
        await waitFor('the service answers across the route', async () => {
          try {
            answered = await b2.request('echo', 'x', { timeout: 500 });
            return true;
          } catch {
            return false;
          }
        });
        const m = answered as Msg | null;
        assert.ok(m !== null);
        assert.equal(td.decode(m.data), 'resp:x');
        assert.match(m.reply ?? '', /^_R_\./, 'the reply is mapped into the requester account');
        m.respond('ack');
        await b2.flush();
        await waitFor('the responder gets the answer to its response', () => acks.length > 0, 5000);
        assert.deepEqual(acks, ['ack']);
      } finally {
        await Promise.all(conns.map((c) => c.close()));
        await Promise.all([n2.stop(), n1.stop()]);
      }
    });
  }
});
