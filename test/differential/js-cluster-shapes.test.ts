// Clustered JetStream, tsnats against nats-server 2.9.10: three JetStream
// nodes each, the same requests, the same answers up to what legitimately
// differs (server names, ids, times, counters). Compared: /jsz meta_cluster,
// stream create/info with `cluster` (and its replicas) and `alternates`,
// mirror info across servers, consumer info's `cluster`, the placement
// errors byte for byte, names and delete answers.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startJsCluster, stopJsCluster, waitMetaLeader, jsz, jsApi, until, type JsNode } from '../helpers/jscluster.js';
import type { ServerKind } from '../helpers/servers.js';

/** the JSON's shape: keys in order, scalars as their type, arrays by their first element */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = shape(x);
    return o;
  }
  return v === null ? null : typeof v;
}

/** a peer's `lag` is there only while it lags */
function noLag(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'lag' ? undefined : x)));
}

interface Side {
  nodes: JsNode[];
  ncs: NatsConnection[];
  leader: string;
}

async function side(kind: ServerKind): Promise<Side> {
  const nodes = await startJsCluster(kind, 3);
  const leader = await waitMetaLeader(nodes);
  const ncs: NatsConnection[] = [];
  for (const n of nodes) ncs.push(await connect({ servers: n.node.url }));
  return { nodes, ncs, leader };
}

describe('clustered JetStream answers: tsnats vs nats-server (3 nodes each)', () => {
  const sides: Partial<Record<ServerKind, Side>> = {};
  before(async () => {
    sides.reference = await side('reference');
    sides.tsnats = await side('tsnats');
  });
  after(async () => {
    for (const s of Object.values(sides)) {
      for (const nc of s.ncs) await nc.close().catch(() => undefined);
      await stopJsCluster(s.nodes);
    }
  });

  /** run `f` on both sides */
  async function both<T>(f: (s: Side) => Promise<T>): Promise<{ ref: T; ts: T }> {
    return { ref: await f(sides.reference!), ts: await f(sides.tsnats!) };
  }

  it('/jsz meta_cluster', async () => {
    const r = await both(async (s) => {
      const lead = s.nodes.find((n) => n.name === s.leader)!;
      const follower = s.nodes.find((n) => n.name !== s.leader)!;
      return { lead: (await jsz(lead)).meta_cluster, follower: (await jsz(follower)).meta_cluster };
    });
    assert.deepEqual(shape(noLag(r.ts.lead)), shape(noLag(r.ref.lead)));
    assert.deepEqual(shape(r.ts.follower), shape(r.ref.follower));
  });

  it('/jsz?leader-only answers on the meta leader only', async () => {
    const r = await both(async (s) => {
      const out: { status: number; text: string }[] = [];
      for (const n of s.nodes) {
        const res = await fetch(`http://127.0.0.1:${n.http}/jsz?leader-only=true`);
        const text = await res.text();
        out.push({ status: res.status, text: res.status === 200 ? String((JSON.parse(text) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader === n.name) : text });
      }
      return out.sort((a, b) => a.status - b.status);
    });
    assert.deepEqual(r.ts, r.ref);
    assert.deepEqual(r.ts.map((x) => x.status), [200, 400, 400]);
    assert.equal(r.ts[0].text, 'true');
    assert.equal(r.ts[1].text, 'filtered response: not leader');
  });

  it('R1 create placed by tags, mirror on another node, alternates', async () => {
    const r = await both(async (s) => {
      const nc = s.ncs[0];
      const created = await jsApi(nc, '$JS.API.STREAM.CREATE.ORIG', { name: 'ORIG', subjects: ['orig.>'], placement: { tags: [`id:${s.nodes[2].name}`] } });
      for (let i = 0; i < 2; i++) await nc.request(`orig.${i}`, `m${i}`, { timeout: 5000 });
      const mirror = await jsApi(s.ncs[1], '$JS.API.STREAM.CREATE.MIR', { name: 'MIR', mirror: { name: 'ORIG' }, placement: { tags: [`id:${s.nodes[1].name}`] } });
      const minfo = await until('mirror caught up', async () => {
        const i = await jsApi(nc, '$JS.API.STREAM.INFO.MIR');
        return (i.state as { messages: number }).messages === 2 ? i : null;
      });
      const oinfo = await jsApi(s.ncs[1], '$JS.API.STREAM.INFO.ORIG');
      return { created, mirror, minfo, oinfo, leaders: [(created.cluster as { leader: string }).leader, (mirror.cluster as { leader: string }).leader] };
    });
    assert.deepEqual(r.ref.leaders, ['g3', 'g2']);
    assert.deepEqual(r.ts.leaders, ['t3', 't2']);
    for (const k of ['created', 'mirror', 'minfo', 'oinfo'] as const) {
      const mask = (x: Record<string, unknown>): unknown => {
        const o = { ...x };
        // the mirror's active time is -1 until its first message, a duration after
        if (o.mirror !== undefined) o.mirror = { ...(o.mirror as object), active: 0 };
        // the mirror's create answer may come before or after its first
        // messages arrive, on either server: num_subjects is omitted while 0
        if (k === 'mirror') o.state = { ...(o.state as object), num_subjects: undefined };
        return shape(o);
      };
      assert.deepEqual(mask(r.ts[k]), mask(r.ref[k]), k);
    }
    const alts = (x: Record<string, unknown>): string[] => (x.alternates as { name: string; cluster: string }[]).map((a) => `${a.name}@${a.cluster}`).sort();
    assert.deepEqual(alts(r.ts.oinfo), alts(r.ref.oinfo));
    assert.deepEqual((r.ts.oinfo.state as { consumer_count: number }).consumer_count, (r.ref.oinfo.state as { consumer_count: number }).consumer_count);
  });

  it('R3 create and info list the replicas', async () => {
    const r = await both(async (s) => {
      const created = await jsApi(s.ncs[0], '$JS.API.STREAM.CREATE.R3', { name: 'R3', subjects: ['r3'], num_replicas: 3 });
      const info = await until('replicas current', async () => {
        const i = await jsApi(s.ncs[1], '$JS.API.STREAM.INFO.R3');
        const reps = (i.cluster as { replicas?: { current: boolean }[] }).replicas;
        return reps !== undefined && reps.length === 2 && reps.every((p) => p.current) ? i : null;
      });
      return { created: noLag(created), info: noLag(info) };
    });
    assert.deepEqual(shape(r.ts.created), shape(r.ref.created));
    assert.deepEqual(shape(r.ts.info), shape(r.ref.info));
  });

  it('consumer info carries the cluster', async () => {
    const r = await both(async (s) => jsApi(s.ncs[2], '$JS.API.CONSUMER.CREATE.ORIG.DD', { stream_name: 'ORIG', config: { durable_name: 'DD' } }));
    assert.deepEqual(shape(r.ts), shape(r.ref));
  });

  it('consumer leader stepdown: errors byte for byte, then the leader moves', async () => {
    const leaderOf = async (nc: NatsConnection): Promise<string | null> => {
      const i = await jsApi(nc, '$JS.API.CONSUMER.INFO.R3.C3');
      return (i.cluster as { leader?: string } | undefined)?.leader ?? null;
    };
    const r = await both(async (s) => {
      const nc = s.ncs[0];
      await jsApi(nc, '$JS.API.CONSUMER.DURABLE.CREATE.R3.C3', { stream_name: 'R3', config: { durable_name: 'C3', ack_policy: 'explicit' } });
      const before = await until('consumer leader', () => leaderOf(nc));
      const errors: string[] = [];
      for (const [subj, body] of [
        ['$JS.API.CONSUMER.LEADER.STEPDOWN.NONE.C3', ''],
        ['$JS.API.CONSUMER.LEADER.STEPDOWN.R3.NONE', ''],
        ['$JS.API.CONSUMER.LEADER.STEPDOWN.R3.C3', '{"x":1}'],
      ] as [string, string][]) {
        errors.push(JSON.stringify(await jsApi(nc, subj, body)));
      }
      const ok = await jsApi(s.ncs[1], '$JS.API.CONSUMER.LEADER.STEPDOWN.R3.C3');
      const after = await until('a new consumer leader', async () => {
        const l = await leaderOf(nc);
        return l !== null && l !== before ? l : null;
      });
      return { errors, ok, moved: after !== before };
    });
    assert.deepEqual(r.ts.errors, r.ref.errors);
    assert.deepEqual(r.ts.ok, r.ref.ok);
    assert.deepEqual(r.ts.ok, { type: 'io.nats.jetstream.api.v1.consumer_leader_stepdown_response', success: true });
    assert.equal(r.ts.moved, true);
  });

  it('placement errors, names and delete answer byte for byte', async () => {
    const r = await both(async (s) => {
      const nc = s.ncs[1];
      const out: string[] = [];
      for (const [subj, body] of [
        ['$JS.API.STREAM.CREATE.R5', { name: 'R5', num_replicas: 5 }],
        ['$JS.API.STREAM.CREATE.NT', { name: 'NT', placement: { tags: ['id:nowhere'] } }],
        ['$JS.API.STREAM.CREATE.NC', { name: 'NC', placement: { cluster: 'other' } }],
        ['$JS.API.STREAM.CREATE.ORIG', { name: 'ORIG', subjects: ['other'] }],
        ['$JS.API.STREAM.NAMES', {}],
        ['$JS.API.STREAM.NAMES', { subject: 'orig.1' }],
        ['$JS.API.STREAM.INFO.NONE', ''],
        ['$JS.API.STREAM.DELETE.MIR', ''],
        ['$JS.API.STREAM.DELETE.MIR', ''],
      ] as [string, unknown][]) {
        out.push(JSON.stringify(await jsApi(nc, subj, body)));
      }
      return out;
    });
    assert.deepEqual(r.ts, r.ref);
  });
  it('stream peer remove: errors byte for byte, and with no server to take its place the peer goes', async () => {
    const r = await both(async (s) => {
      const nc = s.ncs[0];
      await jsApi(nc, '$JS.API.STREAM.CREATE.PR', { name: 'PR', subjects: ['pr'], num_replicas: 3 });
      for (let i = 0; i < 5; i++) await nc.request('pr', `m${i}`, { timeout: 5000 });
      const info = await until('replicas current', async () => {
        const i = await jsApi(nc, '$JS.API.STREAM.INFO.PR');
        const reps = (i.cluster as { replicas?: { current: boolean }[] }).replicas;
        return reps !== undefined && reps.length === 2 && reps.every((p) => p.current) ? i : null;
      });
      const c = info.cluster as { leader: string; replicas: { name: string }[] };
      const member = c.replicas[0].name;
      const out: string[] = [];
      for (const body of ['', '{}', 'nope', '{"peer":"nobody"}', JSON.stringify({ peer: member })]) {
        out.push(JSON.stringify(await jsApi(nc, '$JS.API.STREAM.PEER.REMOVE.PR', body)));
      }
      out.push(JSON.stringify(await jsApi(nc, '$JS.API.STREAM.PEER.REMOVE.NONE', '{"peer":"x"}')));
      const after = await until('one replica left', async () => {
        const i = await jsApi(nc, '$JS.API.STREAM.INFO.PR');
        const reps = (i.cluster as { replicas?: { name: string; current: boolean }[] }).replicas ?? [];
        return reps.length === 1 && reps[0].current && reps[0].name !== member && i.cluster !== undefined ? i : null;
      });
      return { out, messages: (after.state as { messages: number }).messages, replicas: (after.config as { num_replicas: number }).num_replicas };
    });
    assert.deepEqual(r.ts.out, r.ref.out);
    assert.match(r.ts.out[4], /peer remap failed/);
    assert.deepEqual({ messages: r.ts.messages, replicas: r.ts.replicas }, { messages: 5, replicas: 3 });
    assert.deepEqual({ messages: r.ref.messages, replicas: r.ref.replicas }, { messages: 5, replicas: 3 });
  });
});
