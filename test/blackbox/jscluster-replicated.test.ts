// Replicated JetStream streams on three tsnats processes (the meta layer
// assigns the R3 stream, its Raft group replicates the messages): what the
// nats.js cluster tests need — every node agrees on a meta leader, R3
// streams and KV buckets take writes, and when the stream leader dies
// another node takes over with the data.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { startServer, writeConfig, type RunningServer } from '../helpers/servers.js';
import { freePort, sleep } from './cluster-helpers.js';
import { jsApi as api, until } from '../helpers/jscluster.js';

interface Node { name: string; server: RunningServer; dir: string; conf: string }

describe('replicated JetStream on three tsnats processes', () => {
  const nodes: Node[] = [];
  const conns: NatsConnection[] = [];
  let killed = '';
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await Promise.allSettled(nodes.map((n) => n.server.stop()));
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  });

  it('R3 stream: acks after replication, survives the loss of its leader', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
    for (let i = 0; i < 3; i++) {
      const name = `n${i + 1}`;
      const dir = mkdtempSync(join(tmpdir(), 'tsnats-jsc-'));
      const conf = writeConfig(`server_name: ${name}
jetstream { store_dir: "${dir}" }
cluster { name: JSC, listen: "127.0.0.1:${ports[i]}", routes: [${routes}] }
`);
      nodes.push({ name, dir, conf, server: await startServer('tsnats', ['-c', conf]) });
    }
    const nc = await connect({ servers: nodes.map((n) => n.server.url), reconnect: true, maxReconnectAttempts: -1 });
    conns.push(nc);
    // The meta group elects a leader (stream create is answered then).
    const created = await until('stream create', async () => {
      const r = await api(nc, '$JS.API.STREAM.CREATE.R3', { name: 'R3', subjects: ['r3.>'], num_replicas: 3, storage: 'file' });
      return r.error === undefined ? r : null;
    });
    const cluster = created.cluster as { leader: string; replicas?: { name: string }[] };
    assert.ok(nodes.some((n) => n.name === cluster.leader), JSON.stringify(created));
    const acks: number[] = [];
    for (let i = 0; i < 20; i++) {
      const m = await nc.request(`r3.${i}`, `v${i}`, { timeout: 5000 });
      acks.push(m.json<{ seq: number }>().seq);
    }
    assert.deepEqual(acks, Array.from({ length: 20 }, (_, i) => i + 1));
    const info = await until('replicas current', async () => {
      const r = await api(nc, '$JS.API.STREAM.INFO.R3');
      const c = r.cluster as { leader: string; replicas?: { name: string; current: boolean }[] };
      return c.replicas?.length === 2 && c.replicas.every((p) => p.current) ? r : null;
    });
    const leader = (info.cluster as { leader: string }).leader;
    // A KV bucket with 3 replicas: puts go through its stream group, gets are direct gets on its leader.
    const kv = await until('kv bucket', async () => new Kvm(nc).create('B3', { replicas: 3 }));
    await kv.put('k', 'v1');
    await kv.put('k', 'v2');
    await kv.delete('gone');
    assert.equal((await kv.get('k'))?.string(), 'v2');
    assert.equal((await kv.get('k'))?.revision, 2);
    // A durable pull consumer on the leader: 10 messages fetched and acked.
    const cc = await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.R3.D', { stream_name: 'R3', config: { durable_name: 'D', ack_policy: 'explicit' } });
    assert.equal(cc.error, undefined, JSON.stringify(cc));
    for (let i = 0; i < 10; i++) {
      const m = await nc.request('$JS.API.CONSUMER.MSG.NEXT.R3.D', JSON.stringify({ batch: 1 }), { timeout: 5000, noMux: true });
      assert.equal(m.string(), `v${i}`);
      await nc.request(m.reply!, '+ACK', { timeout: 5000 }).catch(() => undefined);
    }
    await sleep(1000); // the consumer's state reaches the group
    // The stream leader dies; another node takes over with the data (nats.js "repub on 503").
    const victim = nodes.find((n) => n.name === leader)!;
    await victim.server.stop('SIGKILL');
    killed = victim.name;
    const ack = await until('publish after leader loss', async () => {
      const m = await nc.request('r3.after', 'x', { timeout: 2000 });
      const j = m.json<{ seq?: number; error?: unknown }>();
      return j.seq !== undefined ? j : null;
    });
    assert.equal(ack.seq, 21);
    const after = await until('stream info from the new leader', async () => {
      const r = await api(nc, '$JS.API.STREAM.INFO.R3');
      const c = r.cluster as { leader?: string } | undefined;
      return c?.leader !== undefined && c.leader !== leader ? r : null;
    });
    assert.equal((after.state as { messages: number }).messages, 21);
    // The consumer moved with the stream leader, with its ack floor.
    const next = await until('consumer on the new leader', async () => {
      const m = await nc.request('$JS.API.CONSUMER.MSG.NEXT.R3.D', JSON.stringify({ batch: 1 }), { timeout: 2000, noMux: true });
      return m.headers?.code !== undefined ? null : m;
    });
    assert.equal(next.string(), 'v10');
    const msg = await api(nc, '$JS.API.STREAM.MSG.GET.R3', { seq: 7 });
    assert.equal(Buffer.from((msg.message as { data: string }).data, 'base64').toString(), 'v6');
  });

  it('a restarted follower takes no publishes of its own before its assignment', async () => {
    // after the first test: the old leader is dead, two nodes remain; bring it back
    const dead = nodes.find((n) => n.name === killed)!;
    assert.ok(dead !== undefined, 'the first test killed a leader');
    const nc = conns[0];
    const before = await until('stream info', async () => {
      const r = await api(nc, '$JS.API.STREAM.INFO.R3');
      return (r.cluster as { leader?: string } | undefined)?.leader !== undefined ? r : null;
    });
    const base = (before.state as { last_seq: number }).last_seq;
    dead.server = await startServer('tsnats', ['-c', dead.conf]);
    // Published while the restarted node recovers its store and before the
    // meta layer assigns the stream to it: stored once, by the group.
    for (let i = 0; i < 20; i++) {
      const m = await nc.request(`r3.w${i}`, `w${i}`, { timeout: 5000 });
      assert.equal(m.json<{ seq: number }>().seq, base + i + 1);
    }
    // Make the restarted node the leader: its copy must be the group's.
    const si = await until(`${dead.name} leads with the group's messages`, async () => {
      const r = await api(nc, '$JS.API.STREAM.INFO.R3');
      const c = r.cluster as { leader?: string; replicas?: { current: boolean }[] };
      if (c.leader === dead.name) return r;
      if (c.replicas?.every((p) => p.current)) await api(nc, '$JS.API.STREAM.LEADER.STEPDOWN.R3').catch(() => undefined);
      await sleep(1000);
      return null;
    }, 60_000);
    assert.equal((si.state as { messages: number }).messages, base + 20);
    assert.equal((si.state as { last_seq: number }).last_seq, base + 20);
    const msg = await api(nc, '$JS.API.STREAM.MSG.GET.R3', { seq: base + 20 });
    assert.equal(Buffer.from((msg.message as { data: string }).data, 'base64').toString(), 'w19');
  });
});
