// Replicated streams at the unit level: three embedded servers with JetStream
// on routes, each running the stream's group directly (no meta layer).

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Server, defaultOptions } from '../../../src/index.js';
import type { JetStream } from '../../../src/jetstream/service.js';
import { checkStreamConfig, decodeStreamConfig, type StreamConfig } from '../../../src/jetstream/stream-config.js';
import { createRouteTransport } from '../../../src/jetstream/cluster/raft-transport.js';
import { streamGroupFactory, type StreamGroup } from '../../../src/jetstream/cluster/stream-group.js';
import type { RaftTransport } from '../../../src/jetstream/cluster/raft-types.js';
import { waitFor, sleep } from '../../helpers/raft-net.js';

const dirs: string[] = [];

function clusterPort(s: Server): number {
  return (s as unknown as { cluster: { port: number } }).cluster.port;
}
function numRoutes(s: Server): number {
  return (s as unknown as { cluster: { numRoutes(): number } }).cluster.numRoutes();
}

async function startServer(name: string, routes: string[], storeDir?: string): Promise<Server> {
  const d = storeDir ?? mkdtempSync(join(tmpdir(), 'tsnats-sg-'));
  if (storeDir === undefined) dirs.push(d);
  const s = new Server({
    host: '127.0.0.1',
    port: -1,
    serverName: name,
    jetstream: true,
    storeDir: d,
    cluster: { ...defaultOptions().cluster, name: 'SG', host: '127.0.0.1', port: -1 },
    routes,
    noLog: true,
  } as never);
  await s.start();
  return s;
}

function config(js: JetStream, o: Record<string, unknown>): StreamConfig {
  const c = checkStreamConfig(decodeStreamConfig(o), { get: () => undefined, maxDuplicateWindow: 0, maxBytesRequired: false, maxStreamBytes: () => 0 });
  if (!('name' in c)) throw new Error('bad config');
  void js;
  return c as StreamConfig;
}

interface Peer { server: Server; js: JetStream; transport: RaftTransport; group: StreamGroup | null; leaderEvents: boolean[] }

describe('replicated stream groups', () => {
  const peers: Peer[] = [];
  const conns: NatsConnection[] = [];
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    for (const p of peers) await p.group?.stop(false);
    for (const p of peers) await p.server.shutdown().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function makeGroup(p: Peer, cfg: StreamConfig, names: string[], group = 'S-test'): void {
    const jsa = p.js.accounts.get('$G')!;
    p.group = streamGroupFactory({
      js: p.js,
      jsa,
      cfg,
      created: 1,
      group,
      peers: names,
      transport: p.transport,
      onLeaderChange: (isLeader) => p.leaderEvents.push(isLeader),
      tuning: { electionTimeout: [300, 600], heartbeat: 80, snapshotEvery: 64 },
    });
  }

  it('stores on every peer what the leader acknowledged, and a new leader continues', async () => {
    const a = await startServer('sa', []);
    const url = `nats://127.0.0.1:${clusterPort(a)}`;
    const servers = [a, await startServer('sb', [url]), await startServer('sc', [url])];
    await waitFor('mesh', () => servers.every((s) => numRoutes(s) === 2), 10000);
    const names = servers.map((s) => s.serverName);
    for (const s of servers) peers.push({ server: s, js: s.jetstream as unknown as JetStream, transport: createRouteTransport(s), group: null, leaderEvents: [] });
    const cfg = config(peers[0].js, { name: 'R3', subjects: ['r3.>'], storage: 'file', num_replicas: 3, duplicate_window: 60e9 });
    for (const p of peers) makeGroup(p, cfg, names);
    const leader = await waitFor('leader', () => {
      const l = peers.filter((p) => p.group!.isLeader());
      return l.length === 1 && peers.every((p) => p.group!.leader() === l[0].server.serverName) ? l[0] : null;
    }, 10000);
    // announced once a majority told it their last sequences (none has more)
    await waitFor('leader announced', () => leader.leaderEvents.at(-1) === true, 10000);
    for (const p of peers) if (p !== leader) assert.notEqual(p.leaderEvents.at(-1), true);
    // A client on a follower's server publishes: only the leader takes it (route interest).
    const follower = peers.find((p) => p !== leader)!;
    const nc = await connect({ servers: follower.server.clientURL(), reconnect: false });
    conns.push(nc);
    await sleep(200); // the leader's subscription reaches the follower's server
    const acks: Record<string, unknown>[] = [];
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      ps.push(nc.request(`r3.${i % 5}`, `m${i}`, { timeout: 5000 }).then((m) => { acks.push(m.json()); }));
    }
    await Promise.all(ps);
    const seqs = acks.map((a) => a.seq as number).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(acks.every((a) => a.stream === 'R3'));
    // Every peer's store has the same 50 messages, with the same timestamps.
    await waitFor('replicas', () => peers.every((p) => p.group!.stream.store.state().lastSeq === 50));
    const ref = leader.group!.stream.store;
    for (const p of peers) {
      for (const seq of [1, 25, 50]) {
        const m = p.group!.stream.store.loadMsg(seq)!;
        const r = ref.loadMsg(seq)!;
        assert.equal(m.subject, r.subject);
        assert.equal(m.ts, r.ts);
        assert.equal(Buffer.from(m.data).toString(), Buffer.from(r.data).toString());
      }
    }
    // Duplicates are caught on the replicated state too.
    const h = (await import('@nats-io/transport-node')).headers();
    h.set('Nats-Msg-Id', 'x1');
    const d1 = (await nc.request('r3.dup', 'a', { timeout: 5000, headers: h })).json<Record<string, unknown>>();
    const d2 = (await nc.request('r3.dup', 'a', { timeout: 5000, headers: h })).json<Record<string, unknown>>();
    assert.equal(d1.seq, 51);
    assert.equal(d2.seq, 51);
    assert.equal(d2.duplicate, true);
    // A purge through the leader reaches every peer.
    leader.group!.stream.purge('r3.0', 0, 0);
    await waitFor('purge replicated', () => peers.every((p) => p.group!.stream.store.state().msgs === 41));
    // The leader steps down: another peer leads and continues the sequence.
    leader.group!.stepDown();
    const l2 = await waitFor('new leader', () => {
      const l = peers.filter((p) => p.group!.isLeader());
      return l.length === 1 && l[0] !== leader ? l[0] : null;
    }, 10000);
    await sleep(300);
    const ack = (await nc.request('r3.after', 'x', { timeout: 5000 })).json<Record<string, unknown>>();
    assert.equal(ack.seq, 52);
    await waitFor('after on all', () => peers.every((p) => p.group!.stream.store.state().lastSeq === 52));
    assert.ok(l2.leaderEvents.includes(true));
    assert.equal(leader.group!.isLeader(), false);
  });

  it('a peer that missed the compacted log catches up from the leader', async () => {
    // The first test's cluster: stop a follower's group, write more than a snapshot's worth, restart it.
    const leader = peers.find((p) => p.group!.isLeader())!;
    const lagging = peers.find((p) => p !== leader)!;
    const names = peers.map((p) => p.server.serverName);
    const cfg = lagging.group!.stream.cfg;
    await lagging.group!.stop(false);
    lagging.group = null;
    const nc = conns[0];
    // Snapshots come every 64 entries here: the leader compacts past what the lagging peer has.
    const raft = (leader.group as unknown as { raft(): { applied(): number } }).raft();
    const start = raft.applied();
    let sent = 0;
    while (raft.applied() - start < 200) {
      await nc.request(`r3.lag`, `l${sent++}`, { timeout: 5000 });
    }
    const last = leader.group!.stream.store.state().lastSeq;
    makeGroup(lagging, cfg, names);
    await waitFor('caught up', () => lagging.group!.stream.store.state().lastSeq === last, 15000);
    const m = lagging.group!.stream.store.loadMsg(last)!;
    assert.equal(Buffer.from(m.data).toString(), `l${sent - 1}`);
    assert.equal(lagging.group!.stream.store.state().msgs, leader.group!.stream.store.state().msgs);
    assert.ok((lagging.group as unknown as { caughtUp: number }).caughtUp > 0, 'through catch-up');
  });

  it('a restarted peer re-applies its own log without storing anything twice', async () => {
    const leader = peers.find((p) => p.group!.isLeader())!;
    const f = peers.find((p) => p !== leader)!;
    const names = peers.map((p) => p.server.serverName);
    const cfg = f.group!.stream.cfg;
    const nc = conns[0];
    for (let i = 0; i < 5; i++) await nc.request('r3.restart', `a${i}`, { timeout: 5000 });
    await waitFor('follower has them', () => f.group!.stream.store.state().lastSeq === leader.group!.stream.store.state().lastSeq);
    const lastBefore = f.group!.stream.store.state().lastSeq;
    await f.group!.stop(false);
    f.group = null;
    // As if it crashed after its store's flush but before noting the last two entries as stored.
    const appliedFile = join(f.js.storeDir, '$SYS', '_js_', 'S-test', 'applied');
    const [idx, seq] = readFileSync(appliedFile, 'utf8').split(' ').map(Number);
    assert.equal(seq, lastBefore);
    writeFileSync(appliedFile, `${idx - 2} ${seq - 2}`);
    for (let i = 0; i < 3; i++) await nc.request('r3.restart', `b${i}`, { timeout: 5000 });
    makeGroup(f, cfg, names);
    const want = leader.group!.stream.store.state();
    await waitFor('restarted follower current', () => f.group!.stream.store.state().lastSeq === want.lastSeq, 10000);
    await sleep(300);
    const got = f.group!.stream.store.state();
    assert.equal(got.lastSeq, want.lastSeq);
    assert.equal(got.msgs, want.msgs);
    assert.equal(Buffer.from(f.group!.stream.store.loadMsg(want.lastSeq)!.data).toString(), 'b2');
    // Again without any `applied` file: its own Raft snapshot says what its store holds.
    await f.group!.stop(false);
    f.group = null;
    rmSync(appliedFile);
    for (let i = 0; i < 2; i++) await nc.request('r3.restart', `c${i}`, { timeout: 5000 });
    makeGroup(f, cfg, names);
    const want2 = leader.group!.stream.store.state();
    await waitFor('restarted follower current again', () => f.group!.stream.store.state().lastSeq === want2.lastSeq, 10000);
    await sleep(300);
    assert.equal(f.group!.stream.store.state().lastSeq, want2.lastSeq);
    assert.equal(f.group!.stream.store.state().msgs, want2.msgs);
  });

  it('one replica to three: the messages of the single copy reach the new peers, whoever leads', async () => {
    const names = peers.map((p) => p.server.serverName);
    const cfg = config(peers[0].js, { name: 'UP', subjects: ['up.>'], storage: 'file' });
    // The old single copy lives on the last peer (not necessarily the first leader).
    const owner = peers[2];
    const jsa = owner.js.accounts.get('$G')!;
    const single = (owner.js.createStream as (a: unknown, c: StreamConfig) => { processMsg(s: string, r: string, h: Buffer | null, m: Buffer): void; store: { state(): { lastSeq: number } } })(jsa, cfg);
    for (let i = 0; i < 10; i++) single.processMsg(`up.${i}`, '', null, Buffer.from(`u${i}`));
    assert.equal(single.store.state().lastSeq, 10);
    // what each leader held when it started taking publishes
    const tookOver: number[] = [];
    const groups: StreamGroup[] = [];
    for (const p of peers) {
      const g = streamGroupFactory({
        js: p.js, jsa: p.js.accounts.get('$G')!, cfg: { ...cfg, replicas: 3 } as StreamConfig, created: 1, group: 'S-up', peers: names, transport: p.transport,
        onLeaderChange: (isLeader) => { if (isLeader) tookOver.push(g.stream.store.state().lastSeq); },
        tuning: { electionTimeout: [300, 600], heartbeat: 80 },
      });
      groups.push(g);
    }
    try {
      await waitFor('every copy has the 10 messages', () => groups.every((g) => g.stream.store.state().lastSeq === 10), 15000);
      const leader = await waitFor('leader with the data', () => groups.find((g) => g.isLeader() && g.stream.store.state().lastSeq === 10), 15000);
      await sleep(300);
      const ack = (await conns[0].request('up.new', 'n', { timeout: 5000 })).json<{ seq: number }>();
      assert.equal(ack.seq, 11);
      await waitFor('11 everywhere', () => groups.every((g) => g.stream.store.state().lastSeq === 11));
      for (const g of groups) assert.equal(Buffer.from(g.stream.store.loadMsg(5)!.data).toString(), 'u4');
      // an emptier peer that won the first election handed over instead of taking publishes
      assert.ok(tookOver.length > 0 && tookOver.every((n) => n >= 10), JSON.stringify(tookOver));
      assert.ok(leader.isLeader() || groups.some((g) => g.isLeader()));
    } finally {
      for (const g of groups) await g.stop(true);
    }
  });
});
