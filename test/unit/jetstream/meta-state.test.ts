// The clustered JetStream meta state (jetstream/cluster/meta-state.ts): the
// assignment table every server keeps, its entries, snapshots, placement,
// and the same table on three Raft peers (in-memory network).

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { MetaState, encodeEntry, decodeEntry, selectPeers, orderedInfo, type MetaListener, type StreamAssignment, type PlacementPeer } from '../../../src/jetstream/cluster/meta-state.js';
import type { RaftStateMachine } from '../../../src/jetstream/cluster/raft-types.js';
import { MemNet, FAST, waitFor, waitLeader, type TestNode } from '../../helpers/raft-net.js';
import { createRaftNode } from '../../../src/jetstream/cluster/raft.js';

function sa(name: string, peers: string[], account = '$G', extra: Record<string, unknown> = {}): StreamAssignment {
  return { account, name, config: { name, subjects: [`${name}.>`], ...extra }, created: 1, group: `S-R${peers.length}F-x`, peers, cluster: 'C' };
}

class Recorder implements MetaListener {
  events: string[] = [];
  streamAssigned(a: StreamAssignment, prev: StreamAssignment | undefined, reply: unknown, update: boolean): void {
    this.events.push(`assign ${a.account}/${a.name} ${a.peers.join(',')}${prev !== undefined ? ' prev' : ''}${reply !== undefined ? ' reply' : ''}${update ? ' update' : ''}`);
  }
  streamRemoved(a: StreamAssignment): void {
    this.events.push(`remove ${a.account}/${a.name}`);
  }
}

describe('MetaState', () => {
  it('applies stream assignments and removals, per account, and tells the listener', () => {
    const r = new Recorder();
    const st = new MetaState(r);
    st.apply(encodeEntry({ op: 'stream', sa: sa('B', ['n1']), reply: { subject: '$JS.API.STREAM.CREATE.B', reply: '_INBOX.1', body: '{}' } }));
    st.apply(encodeEntry({ op: 'stream', sa: sa('A', ['n2', 'n3', 'n1']) }));
    st.apply(encodeEntry({ op: 'stream', sa: sa('A', ['n2']), update: true }));
    st.apply(encodeEntry({ op: 'stream', sa: sa('A', ['n1'], 'OTHER') }));
    assert.deepEqual(st.accountStreams('$G').map((s) => s.name), ['A', 'B']);
    assert.deepEqual(st.stream('$G', 'A')?.peers, ['n2']);
    assert.deepEqual(Object.fromEntries(st.load()), { n1: 2, n2: 1 });
    st.apply(encodeEntry({ op: 'remove', account: '$G', name: 'B' }));
    st.apply(encodeEntry({ op: 'remove', account: '$G', name: 'B' })); // twice: nothing more
    assert.equal(st.stream('$G', 'B'), undefined);
    assert.deepEqual(r.events, [
      'assign $G/B n1 reply',
      'assign $G/A n2,n3,n1',
      'assign $G/A n2 prev update',
      'assign OTHER/A n1',
      'remove $G/B',
    ]);
  });

  it('ignores entries it cannot read', () => {
    const r = new Recorder();
    const st = new MetaState(r);
    for (const b of ['', 'null', '[]', '{"op":"stream"}', '{"op":"remove","account":1}', '{"op":"x"}', 'not json']) {
      assert.equal(decodeEntry(Buffer.from(b)), null, b);
      st.apply(Buffer.from(b));
    }
    assert.deepEqual(r.events, []);
  });

  it('restores a snapshot: what went, appeared and changed is reported', () => {
    const a = new MetaState();
    a.apply(encodeEntry({ op: 'stream', sa: sa('KEEP', ['n1']) }));
    a.apply(encodeEntry({ op: 'stream', sa: sa('CHANGED', ['n2']) }));
    a.apply(encodeEntry({ op: 'stream', sa: sa('NEW', ['n3']) }));
    const snap = a.snapshot();
    const r = new Recorder();
    const b = new MetaState(r);
    b.apply(encodeEntry({ op: 'stream', sa: sa('KEEP', ['n1']) }));
    b.apply(encodeEntry({ op: 'stream', sa: sa('CHANGED', ['n1']) }));
    b.apply(encodeEntry({ op: 'stream', sa: sa('GONE', ['n1']) }));
    r.events = [];
    b.restore(snap);
    assert.deepEqual(r.events.sort(), ['assign $G/CHANGED n2 prev update', 'assign $G/NEW n3', 'remove $G/GONE']);
    assert.deepEqual([...b.all()].map((s) => s.name).sort(), ['CHANGED', 'KEEP', 'NEW']);
    b.restore(Buffer.from('garbage'));
    assert.equal([...b.all()].length, 3, 'a bad snapshot changes nothing');
  });
});

describe('selectPeers', () => {
  const peers: PlacementPeer[] = [
    { name: 'a', cluster: 'C', tags: ['id:a', 'AZ:1'], online: true },
    { name: 'b', cluster: 'C', tags: ['id:b', 'az:2'], online: true },
    { name: 'c', cluster: 'C', tags: ['id:c', 'az:1'], online: false },
    { name: 'd', cluster: 'D', tags: ['id:d'], online: true },
  ];
  it('least loaded first, then by name; offline and other clusters left out', () => {
    assert.deepEqual(selectPeers(peers, 1, 'C', [], new Map()), ['a']);
    assert.deepEqual(selectPeers(peers, 1, 'C', [], new Map([['a', 2]])), ['b']);
    assert.deepEqual(selectPeers(peers, 2, 'C', [], new Map([['a', 2]])), ['b', 'a']);
    assert.deepEqual(selectPeers(peers, 1, 'D', [], new Map()), ['d']);
  });
  it('tags must all match, case-insensitively', () => {
    assert.deepEqual(selectPeers(peers, 1, 'C', ['az:1'], new Map([['a', 5]])), ['a']);
    assert.deepEqual(selectPeers(peers, 1, 'C', ['id:b', 'az:2'], new Map()), ['b']);
  });
  it('the reference error text when there are not enough', () => {
    assert.equal(selectPeers(peers, 3, 'C', [], new Map()), 'no suitable peers for placement, peer offline');
    assert.equal(selectPeers(peers, 1, 'C', ['id:x'], new Map()), "no suitable peers for placement, tags not matched ['id:x']");
    assert.equal(selectPeers(peers, 1, 'E', [], new Map()), 'no suitable peers for placement');
  });
});

describe('orderedInfo', () => {
  it('puts the cluster fields where the reference has them', () => {
    const o = orderedInfo({ config: {}, created: 't', state: {}, mirror: {}, total: 0 }, { cluster: { name: 'C' }, alternates: [] });
    assert.deepEqual(Object.keys(o), ['total', 'config', 'created', 'state', 'cluster', 'mirror', 'alternates']);
  });
});

describe('MetaState on three Raft peers', () => {
  const nodes: (TestNode & { state: MetaState })[] = [];
  after(() => {
    for (const n of nodes) n.node.stop();
  });
  it('every peer ends with the same table, also one that was cut off', async () => {
    const net = new MemNet();
    const ids = ['n1', 'n2', 'n3'];
    for (const id of ids) {
      const state = new MetaState();
      const machine: RaftStateMachine = {
        apply: (e) => state.apply(e),
        snapshot: () => state.snapshot(),
        restore: (b) => state.restore(b),
        leaderChanged: () => undefined,
      };
      const node = createRaftNode({ ...FAST, group: '_meta_', peers: ids, transport: net.transport(id), machine, storeDir: null, snapshotEvery: 4 });
      nodes.push({ id, node, machine: null as never, state });
    }
    const leader = (await waitLeader(nodes)) as (typeof nodes)[number];
    const cut = nodes.find((n) => n !== leader)!;
    net.partition([cut.id], ids.filter((i) => i !== cut.id));
    for (let i = 0; i < 10; i++) await leader.node.propose(encodeEntry({ op: 'stream', sa: sa(`S${i}`, [ids[i % 3]]) }));
    await leader.node.propose(encodeEntry({ op: 'remove', account: '$G', name: 'S3' }));
    net.heal();
    const want = JSON.stringify(leader.state.accountStreams('$G'));
    assert.equal(leader.state.accountStreams('$G').length, 9);
    await waitFor('same table everywhere', () => nodes.every((n) => JSON.stringify(n.state.accountStreams('$G')) === want), 10_000);
  });
});
