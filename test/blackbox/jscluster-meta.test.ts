// Clustered JetStream's meta layer on tsnats processes: the JetStream nodes
// agree on a meta leader (/jsz meta_cluster), R1 streams are spread over the
// nodes and placed by tags, every node answers for every stream (the
// request reaches the server that runs it over routes, also from a node
// without JetStream), mirrors on another server copy their origin and show
// up as alternates, R3 streams and the placement errors.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startJsCluster, stopJsCluster, waitMetaLeader, jsz, jsApi, until, type JsNode } from '../helpers/jscluster.js';

describe('clustered JetStream meta layer (4 tsnats processes, one without JetStream)', () => {
  let nodes: JsNode[] = [];
  const conns: NatsConnection[] = [];
  let leader = '';

  before(async () => {
    nodes = await startJsCluster('tsnats', 4, { noJetStream: [3] });
    leader = await waitMetaLeader(nodes);
    for (const n of nodes) conns.push(await connect({ servers: n.node.url }));
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await stopJsCluster(nodes);
  });

  it('/jsz meta_cluster: same leader everywhere, replicas on the leader only', async () => {
    for (const n of nodes.slice(0, 3)) {
      const mc = (await jsz(n)).meta_cluster as Record<string, unknown>;
      assert.deepEqual(Object.keys(mc).filter((k) => k !== 'replicas'), ['name', 'leader', 'peer', 'cluster_size']);
      assert.equal(mc.name, 'JSC');
      assert.equal(mc.leader, leader);
      assert.equal(mc.cluster_size, 3);
      if (n.name === leader) {
        const reps = mc.replicas as { name: string; current: boolean; peer: string }[];
        assert.deepEqual(reps.map((r) => r.name).sort(), nodes.slice(0, 3).map((x) => x.name).filter((x) => x !== leader).sort());
      } else assert.equal(mc.replicas, undefined);
    }
  });

  it('R1 streams are spread over the JetStream nodes and answered from any node', async () => {
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await until(`create s${i}`, async () => {
        const r = await jsApi(conns[i], `$JS.API.STREAM.CREATE.S${i}`, { name: `S${i}`, subjects: [`s${i}.>`], storage: 'memory' });
        return r.error === undefined ? r : null;
      });
      assert.equal(r.did_create, true);
      placed.push((r.cluster as { leader: string }).leader);
    }
    assert.deepEqual([...placed].sort(), nodes.slice(0, 3).map((n) => n.name).sort(), 'one stream per node');
    for (let i = 0; i < 3; i++) {
      const ack = (await conns[3].request(`s${i}.x`, 'hello', { timeout: 5000 })).json<{ stream: string; seq: number }>();
      assert.deepEqual(ack, { stream: `S${i}`, seq: 1 });
    }
    // every node, the one without JetStream too, gets the same answer
    for (const nc of conns) {
      for (let i = 0; i < 3; i++) {
        const info = await jsApi(nc, `$JS.API.STREAM.INFO.S${i}`);
        assert.equal((info.state as { messages: number }).messages, 1);
        assert.deepEqual(info.cluster, { name: 'JSC', leader: placed[i] });
      }
      const names = await jsApi(nc, '$JS.API.STREAM.NAMES');
      assert.deepEqual(names.streams, ['S0', 'S1', 'S2']);
      const filtered = await jsApi(nc, '$JS.API.STREAM.NAMES', { subject: 's1.x' });
      assert.deepEqual(filtered.streams, ['S1']);
    }
    const list = await jsApi(conns[3], '$JS.API.STREAM.LIST');
    assert.equal(list.total, 3);
    assert.deepEqual((list.streams as { state: { messages: number } }[]).map((s) => s.state.messages), [1, 1, 1]);
    const acc = await jsApi(conns[1], '$JS.API.INFO');
    assert.equal(acc.streams, 3);
  });

  it('placement by tags, a mirror on another node, alternates', async () => {
    const target = nodes[2];
    const src = await jsApi(conns[0], '$JS.API.STREAM.CREATE.ORIG', { name: 'ORIG', subjects: ['orig.>'], placement: { cluster: 'JSC', tags: [`id:${target.name}`] } });
    assert.equal((src.cluster as { leader: string }).leader, target.name, JSON.stringify(src));
    for (let i = 0; i < 5; i++) await conns[0].request(`orig.${i}`, `m${i}`, { timeout: 5000 });
    const other = nodes[0];
    const m = await jsApi(conns[1], '$JS.API.STREAM.CREATE.MIR', { name: 'MIR', mirror: { name: 'ORIG' }, placement: { tags: [`id:${other.name}`] } });
    assert.equal((m.cluster as { leader: string }).leader, other.name, JSON.stringify(m));
    const mi = await until('mirror caught up', async () => {
      const r = await jsApi(conns[1], '$JS.API.STREAM.INFO.MIR');
      return (r.state as { messages: number }).messages === 5 ? r : null;
    });
    assert.deepEqual(Object.keys(mi), ['type', 'total', 'offset', 'limit', 'config', 'created', 'state', 'cluster', 'mirror']);
    const oi = await jsApi(conns[3], '$JS.API.STREAM.INFO.ORIG');
    assert.equal((oi.state as { consumer_count: number }).consumer_count, 0, 'the mirror consumer is not counted');
    assert.deepEqual(
      (oi.alternates as { name: string; cluster: string }[]).map((a) => `${a.name}@${a.cluster}`).sort(),
      ['MIR@JSC', 'ORIG@JSC'],
    );
    const bad = await jsApi(conns[0], '$JS.API.STREAM.CREATE.NOPE', { name: 'NOPE', placement: { tags: ['id:nowhere'] } });
    assert.deepEqual(bad.error, { code: 400, err_code: 10005, description: "no suitable peers for placement, tags not matched ['id:nowhere']" });
    const many = await jsApi(conns[0], '$JS.API.STREAM.CREATE.R5', { name: 'R5', num_replicas: 5 });
    assert.equal((many.error as { err_code: number }).err_code, 10005);
  });

  it('R3 stream: replicas listed, scaled down to R1, deleted', async () => {
    const r = await jsApi(conns[3], '$JS.API.STREAM.CREATE.R3', { name: 'R3', subjects: ['r3'], num_replicas: 3 });
    assert.equal((r.config as { num_replicas: number }).num_replicas, 3, JSON.stringify(r));
    const ack = (await conns[3].request('r3', 'x', { timeout: 5000 })).json<{ seq: number }>();
    assert.equal(ack.seq, 1);
    const info = await until('replicas current', async () => {
      const i = await jsApi(conns[0], '$JS.API.STREAM.INFO.R3');
      const reps = (i.cluster as { replicas?: { current: boolean }[] }).replicas;
      return reps !== undefined && reps.length === 2 && reps.every((p) => p.current) ? i : null;
    });
    const reps = (info.cluster as { replicas: Record<string, unknown>[] }).replicas;
    assert.deepEqual(Object.keys(reps[0]).filter((k) => k !== 'lag'), ['name', 'current', 'active', 'peer']);
    const down = await jsApi(conns[1], '$JS.API.STREAM.UPDATE.R3', { name: 'R3', subjects: ['r3'], num_replicas: 1 });
    assert.equal((down.config as { num_replicas: number }).num_replicas, 1, JSON.stringify(down));
    const after1 = await until('R1 info', async () => {
      const i = await jsApi(conns[2], '$JS.API.STREAM.INFO.R3');
      return (i.cluster as { replicas?: unknown[] }).replicas === undefined ? i : null;
    });
    assert.equal((after1.config as { num_replicas: number }).num_replicas, 1);
    assert.equal((after1.state as { messages: number }).messages, 1, 'the remaining replica keeps the stored messages');
    const del = await jsApi(conns[2], '$JS.API.STREAM.DELETE.R3');
    assert.deepEqual(del, { type: 'io.nats.jetstream.api.v1.stream_delete_response', success: true });
    const gone = await until('deleted', async () => {
      const i = await jsApi(conns[0], '$JS.API.STREAM.INFO.R3');
      return i.error !== undefined ? i : null;
    });
    assert.equal((gone.error as { err_code: number }).err_code, 10059);
  });

  it('a consumer of an R3 stream runs again on the next stream leader', async () => {
    const r = await jsApi(conns[3], '$JS.API.STREAM.CREATE.RC', { name: 'RC', subjects: ['rc.>'], num_replicas: 3 });
    assert.equal(r.error, undefined, JSON.stringify(r));
    for (let i = 0; i < 3; i++) await conns[3].request(`rc.${i}`, `m${i}`, { timeout: 5000 });
    const c = await jsApi(conns[3], '$JS.API.CONSUMER.CREATE.RC.D', { stream_name: 'RC', config: { durable_name: 'D', ack_policy: 'explicit' } });
    assert.equal(c.name, 'D', JSON.stringify(c));
    const leader = (c.cluster as { leader?: string } | undefined)?.leader ?? ((await jsApi(conns[3], '$JS.API.STREAM.INFO.RC')).cluster as { leader: string }).leader;
    // the meta log has the consumer before its leader goes
    await new Promise((res) => setTimeout(res, 500));
    const victim = nodes.findIndex((n) => n.name === leader);
    assert.ok(victim >= 0 && victim < 3);
    await nodes[victim].node.stop();
    const asker = conns[3];
    const info = await until('consumer on the new leader', async () => {
      const i = await jsApi(asker, '$JS.API.CONSUMER.INFO.RC.D');
      return i.error === undefined ? i : null;
    }, 30_000);
    assert.equal((info.config as { durable_name: string }).durable_name, 'D');
    assert.equal((info.num_pending as number), 3);
    const m = await asker.request('$JS.API.CONSUMER.MSG.NEXT.RC.D', JSON.stringify({ batch: 1 }), { timeout: 5000, noMux: true });
    assert.equal(m.string(), 'm0');
  });
});
