// Clustered JetStream operations on four tsnats processes: a consumer leader
// stepdown hands the consumer over with its acks (the new leader redelivers
// nothing that was acked before the hand-over), a stream peer removal puts
// the fourth server in the removed peer's place with every message and the
// consumers' state, and an account purge from the system account removes the
// account's streams on every server.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer } from '../helpers/servers.js';
import { freePort } from './cluster-helpers.js';
import { jsApi as api, until } from '../helpers/jscluster.js';

interface Node { name: string; server: RunningServer; dir: string; http: number }

/** messages and last sequence of `stream` in account A as server `n` holds it (/jsz) */
async function held(n: Node, stream: string): Promise<{ messages: number; last_seq: number } | null> {
  const res = await fetch(`http://127.0.0.1:${n.http}/jsz?acc=A&streams=true`);
  const j = (await res.json()) as { account_details?: { stream_detail?: { name: string; state: { messages: number; last_seq: number } }[] }[] };
  const sd = j.account_details?.[0]?.stream_detail?.find((x) => x.name === stream);
  return sd === undefined ? null : { messages: sd.state.messages, last_seq: sd.state.last_seq };
}

/** the next `n` messages of a pull consumer */
async function pullNext(nc: NatsConnection, stream: string, consumer: string, n: number): Promise<Msg[]> {
  const inbox = `_INBOX.fetch.${Math.random().toString(36).slice(2)}`;
  const sub = nc.subscribe(inbox, { max: n });
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch: n, expires: 4_000_000_000 }), { reply: inbox });
  const out: Msg[] = [];
  for await (const m of sub) {
    if (m.headers?.code !== undefined) continue; // a 408 when the request expires
    out.push(m);
  }
  return out;
}

describe('clustered JetStream operations on four tsnats processes', () => {
  const nodes: Node[] = [];
  const conns: NatsConnection[] = [];
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await Promise.allSettled(nodes.map((n) => n.server.stop()));
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  });

  it('starts', async () => {
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
    for (let i = 0; i < 4; i++) {
      const name = `n${i + 1}`;
      const dir = mkdtempSync(join(tmpdir(), 'tsnats-jsadm-'));
      const http = await freePort();
      const conf = writeConfig(`server_name: ${name}
http: "127.0.0.1:${http}"
jetstream { store_dir: "${dir}" }
cluster { name: JSA, listen: "127.0.0.1:${ports[i]}", routes: [${routes}] }
accounts {
  A { jetstream: enabled, users [ { user: a, password: a } ] }
  SYS { users [ { user: sys, password: sys } ] }
}
system_account: SYS
`);
      nodes.push({ name, dir, http, server: await startServer('tsnats', ['-c', conf]) });
    }
    const urls = nodes.map((n) => n.server.url);
    conns.push(await connect({ servers: urls, user: 'a', pass: 'a' }));
    conns.push(await connect({ servers: urls, user: 'sys', pass: 'sys' }));
    await until('stream create', async () => {
      const r = await api(conns[0], '$JS.API.STREAM.CREATE.R3', { name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
      return r.error === undefined ? r : null;
    });
  });

  it('consumer leader stepdown keeps what was acked before it', async () => {
    const nc = conns[0];
    for (let i = 1; i <= 6; i++) await nc.request(`r3.${i}`, `m${i}`, { timeout: 5000 });
    await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.R3.C', { stream_name: 'R3', config: { durable_name: 'C', ack_policy: 'explicit' } });
    const first = await pullNext(nc, 'R3', 'C', 3);
    assert.deepEqual(first.map((m) => m.string()), ['m1', 'm2', 'm3']);
    for (const m of first) m.respond(Buffer.from('+ACK'));
    const before = await until('acks taken', async () => {
      const i = await api(nc, '$JS.API.CONSUMER.INFO.R3.C');
      const c = i.cluster as { leader?: string } | undefined;
      return (i.ack_floor as { stream_seq: number }).stream_seq === 3 && c?.leader !== undefined ? c.leader : null;
    });
    // right away: the leader's periodic consumer sync (250 ms) has likely not run yet
    const down = await api(nc, '$JS.API.CONSUMER.LEADER.STEPDOWN.R3.C');
    assert.deepEqual(down, { type: 'io.nats.jetstream.api.v1.consumer_leader_stepdown_response', success: true });
    const info = await until('a new consumer leader', async () => {
      const i = await api(nc, '$JS.API.CONSUMER.INFO.R3.C');
      const l = (i.cluster as { leader?: string } | undefined)?.leader;
      return i.error === undefined && l !== undefined && l !== before ? i : null;
    });
    assert.equal((info.ack_floor as { stream_seq: number }).stream_seq, 3, JSON.stringify(info));
    const next = await pullNext(nc, 'R3', 'C', 3);
    assert.deepEqual(next.map((m) => m.string()), ['m4', 'm5', 'm6']);
  });

  it('a consumer created just before a stepdown moves with it', async () => {
    const nc = conns[0];
    await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.R3.NEW', { stream_name: 'R3', config: { durable_name: 'NEW', ack_policy: 'explicit' } });
    const down = await api(nc, '$JS.API.CONSUMER.LEADER.STEPDOWN.R3.NEW');
    assert.equal(down.success, true, JSON.stringify(down));
    const info = await until('the consumer on the new leader', async () => {
      const i = await api(nc, '$JS.API.CONSUMER.INFO.R3.NEW');
      return i.error === undefined ? i : null;
    });
    assert.equal((info.config as { durable_name: string }).durable_name, 'NEW');
    assert.equal(info.num_pending, 6);
  });

  it('stream peer remove: another server takes the place of the removed peer, with the messages and the consumers', async () => {
    const nc = conns[0];
    const info = await until('replicas current', async () => {
      const i = await api(nc, '$JS.API.STREAM.INFO.R3');
      const reps = (i.cluster as { replicas?: { current: boolean }[] }).replicas;
      return reps !== undefined && reps.length === 2 && reps.every((p) => p.current) ? i : null;
    });
    const c = info.cluster as { leader: string; replicas: { name: string }[] };
    const before = [c.leader, ...c.replicas.map((p) => p.name)];
    const spare = nodes.map((n) => n.name).find((n) => !before.includes(n))!;
    const removed = c.replicas[0].name;
    const r = await api(nc, '$JS.API.STREAM.PEER.REMOVE.R3', { peer: removed });
    assert.deepEqual(r, { type: 'io.nats.jetstream.api.v1.stream_remove_peer_response', success: true });
    // the spare has every message once it leads (leadership handed over until it lands there)
    const led = await until('the spare leads with every message', async () => {
      const i = await api(nc, '$JS.API.STREAM.INFO.R3');
      const cl = i.cluster as { leader?: string; replicas?: { name: string; current: boolean }[] } | undefined;
      const peers = [cl?.leader, ...(cl?.replicas ?? []).map((p) => p.name)];
      if (peers.includes(removed) || !peers.includes(spare) || !(cl?.replicas ?? []).every((p) => p.current)) return null;
      if (cl?.leader === spare) return i;
      await api(nc, '$JS.API.STREAM.LEADER.STEPDOWN.R3').catch(() => undefined);
      return null;
    }, 60_000);
    assert.equal((led.state as { messages: number }).messages, 6);
    const ci = await until('consumer C on the new leader', async () => {
      const i = await api(nc, '$JS.API.CONSUMER.INFO.R3.C');
      return i.error === undefined ? i : null;
    });
    assert.equal((ci.ack_floor as { stream_seq: number }).stream_seq, 3, JSON.stringify(ci));
    assert.equal((ci.delivered as { stream_seq: number }).stream_seq, 6, JSON.stringify(ci));
  });

  it('replicated mirror and sourced streams copy on their leader and replicate, across a leader change', async () => {
    const nc = conns[0];
    const create = async (name: string, cfg: Record<string, unknown>): Promise<Record<string, unknown>> =>
      until(`create ${name}`, async () => {
        const r = await api(nc, `$JS.API.STREAM.CREATE.${name}`, { name, num_replicas: 3, ...cfg });
        return r.error === undefined ? r : null;
      });
    await create('ORIG', { subjects: ['orig.>'] });
    await create('MIR', { mirror: { name: 'ORIG' } });
    await create('SRC', { sources: [{ name: 'ORIG' }] });
    for (let i = 1; i <= 20; i++) await nc.request(`orig.${i}`, `o${i}`, { timeout: 5000 });
    /** every peer of `stream` holds `n` messages */
    const everywhere = async (stream: string, n: number): Promise<void> => {
      await until(`${stream}: ${n} messages on its three peers`, async () => {
        const states = await Promise.all(nodes.map((x) => held(x, stream)));
        const have = states.filter((st) => st !== null);
        return have.length === 3 && have.every((st) => st!.messages === n && st!.last_seq === n) ? true : null;
      }, 30_000);
    };
    await everywhere('MIR', 20);
    await everywhere('SRC', 20);
    const lead = async (stream: string): Promise<string> =>
      until(`${stream} leader`, async () => ((await api(nc, `$JS.API.STREAM.INFO.${stream}`)).cluster as { leader?: string } | undefined)?.leader ?? null);
    const [m0, s0] = [await lead('MIR'), await lead('SRC')];
    await api(nc, '$JS.API.STREAM.LEADER.STEPDOWN.MIR');
    await api(nc, '$JS.API.STREAM.LEADER.STEPDOWN.SRC');
    await until('new leaders', async () => ((await lead('MIR')) !== m0 && (await lead('SRC')) !== s0 ? true : null));
    for (let i = 21; i <= 30; i++) await nc.request(`orig.${i}`, `o${i}`, { timeout: 5000 });
    await everywhere('MIR', 30);
    await everywhere('SRC', 30);
    // the sourced copies are each origin message once, in order
    const seen: string[] = [];
    for (let seq = 1; seq <= 30; seq++) {
      const r = await api(nc, '$JS.API.STREAM.MSG.GET.SRC', { seq });
      seen.push(Buffer.from((r.message as { data: string }).data, 'base64').toString());
    }
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `o${i + 1}`));
    const mi = await api(nc, '$JS.API.STREAM.INFO.MIR');
    assert.equal((mi.mirror as { name: string; lag: number }).name, 'ORIG');
  });

  it('an account purge from the system account removes the streams everywhere', async () => {
    const [a, sys] = conns;
    await until('stream create', async () => {
      const r = await api(a, '$JS.API.STREAM.CREATE.R1', { name: 'R1', subjects: ['r1'] });
      return r.error === undefined ? r : null;
    });
    const purge = await api(sys, '$JS.API.ACCOUNT.PURGE.A');
    assert.deepEqual(purge, { type: 'io.nats.jetstream.api.v1.account_purge_response', initiated: true });
    await until('no streams left', async () => {
      const r = await api(a, '$JS.API.STREAM.NAMES');
      return r.total === 0 ? r : null;
    });
    await until('stream folders gone on every server', async () =>
      nodes.every((n) => !existsSync(join(n.dir, 'jetstream', 'A', 'streams', 'R3')) && !existsSync(join(n.dir, 'jetstream', 'A', 'streams', 'R1'))) ? true : null,
    );
    const logs = nodes.map((n) => n.server.stderr()).join('');
    assert.match(logs, /Purge request for account A \(streams: 5, consumer: \d+, hasAccount: true\)/);
  });
});
