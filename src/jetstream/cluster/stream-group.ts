// A replicated stream (num_replicas > 1): the stream's peers form a Raft
// group, and the group's log, not any one store, is the truth.
//
// - Only the leader subscribes to the stream's subjects. The publishes of
//   one event-loop turn become one proposal (their subject, reply, headers,
//   body, the leader's timestamp and, for interest retention, whether a
//   consumer wants the message).
// - Every peer applies a committed entry by running the stream's normal
//   publish path (Stream.processMsg): the same checks against the same state
//   give the same sequences everywhere, and the store takes the leader's
//   timestamp. The peer that leads when the entry applies sends the PubAcks,
//   so a client is only told "stored" once a majority has the message, and a
//   new leader answers for what its predecessor proposed.
// - Purges and message deletes on the leader (the API, consumer acks on
//   workqueue/interest streams) are entries too.
// - After a restart the Raft node re-applies its log after its snapshot; a
//   file stream remembers the last entry its store holds (file `applied`,
//   written after the store's flush) and skips those.
//
// Not replicated here (see docs/clustering.md): consumers and their state,
// mirrors/sources of replicated streams. A peer that lags behind the
// leader's snapshot asks the leader for the messages it misses (catch-up,
// below), which is also how a new peer gets a stream's history.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { JetStream } from '../service.js';
import type { JsAccount } from '../account.js';
import type { Stream, StreamReplicator } from '../stream.js';
import type { StreamConfig } from '../stream-config.js';
import { nowNs, type ConsumerState } from '../store/types.js';
import { subjectIsSubsetMatch } from '../../subjects/validate.js';
import { createRaftNode, type RaftTuning } from './raft.js';
import type { RaftNode, RaftPeerInfo, RaftStateMachine, RaftTransport } from './raft-types.js';

/** What the meta layer (meta.ts) holds of a replicated stream. */
export interface StreamGroup {
  readonly stream: Stream;
  isLeader(): boolean;
  leader(): string | null;
  peers(): RaftPeerInfo[];
  update(cfg: StreamConfig): void;
  stepDown(): void;
  stop(deleteState: boolean): Promise<void>;
}

export interface StreamGroupOptions {
  js: JetStream;
  jsa: JsAccount;
  cfg: StreamConfig;
  created: number;
  group: string;
  peers: string[];
  transport: RaftTransport;
  onLeaderChange(isLeader: boolean, leader: string | null): void;
  /** tests: Raft timing and snapshot knobs */
  tuning?: RaftTuning & { electionTimeout?: [number, number]; heartbeat?: number };
}

const enum Op { Msgs = 1, Purge = 2, Delete = 3, Sync = 4, Consumer = 5, ConsumerGone = 6, Mirror = 7 }
const enum CatchupType { Request = 1, Msgs = 2, HaveMore = 3, LastQuery = 4, LastAnswer = 5 }
/** how often a group's first leader asks again for the peers' last sequences it has not heard */
const LAST_QUERY_MS = 250;
/** after this long it goes on with a majority's answers */
const LAST_WAIT_MS = 3000;

const NULL_HDR = 0xffffffff;
/** most messages (and bytes) in one catch-up answer */
const CATCHUP_BATCH = 256;
const CATCHUP_BYTES = 512 * 1024;

/** how often the leader sends its consumers' changed configs and states to the group */
const CONSUMER_SYNC_MS = 250;

/** Raft snapshots of a stream group: every this many applied entries (each is a turn's batch). */
const STREAM_SNAPSHOT_EVERY = 4096;

interface Pending { subject: string; reply: string; hdr: Buffer | null; msg: Buffer; ts: number; interest: boolean }
/** a mirror's copy of origin message `seq`; msg null: the origin's gap up to `seq` */
interface Mirrored { subject: string; hdr: Buffer | null; msg: Buffer | null; seq: number; ts: number }

class ReplicatedStream implements StreamGroup, StreamReplicator, RaftStateMachine {
  readonly stream: Stream;
  private readonly node: RaftNode;
  private readonly js: JetStream;
  private readonly jsa: JsAccount;
  private readonly raftDir: string | null;
  private readonly catchupGroup: string;
  private readonly stopCatchup: () => void;
  private readonly onLeaderChange: (isLeader: boolean, leader: string | null) => void;
  applying = false;
  applyTs = 0;
  applyInterest = true;
  /** entries up to here are in the store already (restart of a file stream) */
  private skipUpTo = 0;
  /**
   * After a restart: the store holds messages of entries after skipUpTo (a
   * crash between the store's flush and the `applied` file): the messages of
   * re-applied entries are skipped until the store's sequence is reached.
   */
  private replaySeq = 0;
  private replayUntil = 0;
  private lastApplied = 0;
  private appliedWrite: Promise<void> | null = null;
  private appliedDirty = false;
  private batch: Pending[] = [];
  private mirrorBatch: Mirrored[] = [];
  private batchScheduled = false;
  private stopped = false;
  /** a catch-up is running: up to this sequence from the leader */
  private catchupTo = 0;
  /** entries committed during a catch-up: applied once the store has what comes before them */
  private held: { entry: Buffer; index: number }[] = [];
  private catchupTimer: NodeJS.Timeout | null = null;
  private leading = false;
  /** leader: the consumers run here (from the apply of our first entry on) */
  private consumersLive = false;
  /** new leader, before it takes publishes: the last sequences its peers answered */
  private lastOf: Map<string, number> | null = null;
  private lastQueryTimer: NodeJS.Timeout | null = null;
  private lastQueryStart = 0;
  /** leaders' first entries applied (and snapshots restored): 1 at our own first = the group's first leader */
  private syncsApplied = 0;
  /** leader: the consumer records last proposed (name → config + state JSON) */
  private sentConsumers = new Map<string, string>();
  private consumerTimer: NodeJS.Timeout | null = null;
  /** messages this peer got through catch-up (tests, monitoring) */
  caughtUp = 0;

  constructor(o: StreamGroupOptions) {
    this.js = o.js;
    this.jsa = o.jsa;
    this.onLeaderChange = o.onLeaderChange;
    const existing = o.jsa.streams.get(o.cfg.name);
    let s: Stream;
    if (existing !== undefined) {
      s = existing;
      if (JSON.stringify(existing.cfg) !== JSON.stringify(o.cfg)) s.update(o.cfg);
    } else {
      s = (o.js.createStream as (jsa: JsAccount, cfg: StreamConfig, created?: number) => Stream)(o.jsa, o.cfg, o.created);
    }
    this.stream = s;
    s.unsubscribe(); // until this peer leads
    // Consumers a restart recovered run on the leader only.
    if (s.consumers.size > 0) void this.stopConsumers();
    s.replicator = this;
    const file = o.cfg.storage === 'file';
    this.raftDir = file ? path.join(o.js.storeDir, '$SYS', '_js_', o.group) : null;
    let recordedSeq = -1;
    if (this.raftDir !== null) {
      try {
        // "<entry index> <store last sequence>": what the store held after that entry
        const [i, l] = fs.readFileSync(path.join(this.raftDir, 'applied'), 'utf8').trim().split(' ');
        this.skipUpTo = Number(i) || 0;
        if (l !== undefined && /^[0-9]+$/.test(l)) recordedSeq = Number(l);
      } catch { /* fresh */ }
    }
    this.lastApplied = this.skipUpTo;
    const storeSeq = s.store.state().lastSeq;
    if (recordedSeq >= 0 && storeSeq > recordedSeq) {
      this.replaySeq = recordedSeq;
      this.replayUntil = storeSeq;
    } else if (recordedSeq > storeSeq) {
      // The store lost messages it had stored (they are committed in the group): fetch them.
      this.catchupTo = recordedSeq;
    }
    this.catchupGroup = `${o.group}-c`;
    this.stopCatchup = o.transport.listen(this.catchupGroup, (from, msg) => this.onCatchup(o.transport, from, msg));
    this.transport = o.transport;
    this.node = createRaftNode({
      group: o.group,
      peers: o.peers,
      transport: o.transport,
      machine: this,
      storeDir: this.raftDir,
      snapshotEvery: STREAM_SNAPSHOT_EVERY,
      log: (m) => this.js.server.logger.warn(m),
      ...o.tuning,
    });
  }

  private readonly transport: RaftTransport;

  // --- StreamGroup ------------------------------------------------------------------

  isLeader(): boolean { return this.node.isLeader(); }
  leader(): string | null { return this.node.leader(); }
  peers(): RaftPeerInfo[] { return this.node.peers(); }
  stepDown(): void {
    // the consumers' latest state goes into the log ahead of the hand-over,
    // so a deliberate stepdown redelivers nothing
    if (this.consumersLive) {
      for (const o of this.stream.consumers.values()) o.saveState?.();
      this.syncConsumers();
    }
    this.node.stepDown();
  }
  /** the Raft node (tests, monitoring) */
  raft(): RaftNode { return this.node; }

  update(cfg: StreamConfig): void {
    this.stream.update(cfg);
    if (!this.leading) this.stream.unsubscribe();
    else if (this.consumersLive) this.startSources();
    if (cfg.storage === 'file') this.js.writeMeta(this.js.streamDir(this.jsa, cfg.name), cfg, this.stream.created);
  }

  /**
   * Replicas down to one (num_replicas 1): leave the group and delete its
   * Raft state; the stream stays, as a plain local stream taking publishes.
   */
  async detach(): Promise<Stream> {
    if (!this.stopped) {
      this.stopped = true;
      this.endLastQuery();
      this.node.stop(true);
      this.stopCatchup();
      if (this.catchupTimer !== null) clearTimeout(this.catchupTimer);
      if (this.consumerTimer !== null) clearInterval(this.consumerTimer);
      await this.flushApplied();
      if (this.raftDir !== null) await fsp.rm(this.raftDir, { recursive: true, force: true }).catch(() => undefined);
    }
    this.stream.replicator = null;
    this.stream.subscribe();
    return this.stream;
  }

  /** Leader only: change the group's members one at a time through the log (num_replicas or peer changes). */
  async setPeers(peers: string[]): Promise<void> {
    const now = this.node.peers().map((p) => p.id);
    for (const id of peers) if (!now.includes(id)) await this.node.addPeer(id);
    for (const id of now) if (!peers.includes(id)) await this.node.removePeer(id);
  }

  async stop(deleteState: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.endLastQuery();
    this.node.stop(deleteState);
    this.stopCatchup();
    if (this.catchupTimer !== null) clearTimeout(this.catchupTimer);
    if (this.consumerTimer !== null) clearInterval(this.consumerTimer);
    this.stream.replicator = null;
    if (deleteState) await this.js.deleteStream(this.jsa, this.stream);
    else {
      await this.flushApplied();
      if (this.jsa.streams.get(this.stream.name) === this.stream) this.jsa.streams.delete(this.stream.name);
      await this.stream.stop(false);
    }
  }

  // --- StreamReplicator: the leader's side ------------------------------------------

  inbound(subject: string, reply: string, hdr: Buffer | null, msg: Buffer): void {
    if (!this.node.isLeader() || this.stopped) return; // not ours to take: the client retries
    const s = this.stream;
    let interest = true;
    if (s.cfg.retention === 'interest') {
      interest = false;
      for (const c of s.consumers.values()) {
        if (c.filterSubject === '' || subjectIsSubsetMatch(subject, c.filterSubject)) { interest = true; break; }
      }
    }
    // The views are the publisher's buffers: copy.
    this.batch.push({ subject, reply, hdr: hdr === null ? null : Buffer.from(hdr), msg: Buffer.from(msg), ts: nowNs(), interest });
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.proposeBatch);
    }
  }

  /** the leader's mirror copied a message (or skipped a gap): it is stored when the group commits it */
  mirrored(subject: string, hdr: Buffer | null, msg: Buffer | null, seq: number, ts: number): void {
    if (!this.node.isLeader() || this.stopped) return; // the next leader's mirror resumes after what was committed
    this.mirrorBatch.push({ subject, hdr: hdr === null ? null : Buffer.from(hdr), msg: msg === null ? null : Buffer.from(msg), seq, ts });
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.proposeBatch);
    }
  }

  private readonly proposeBatch = (): void => {
    this.batchScheduled = false;
    const b = this.batch;
    const mb = this.mirrorBatch;
    this.batch = [];
    this.mirrorBatch = [];
    if (this.stopped) return;
    if (b.length > 0) this.node.propose(encodeMsgs(b)).catch(() => undefined); // lost leadership: no answer, the clients retry
    if (mb.length > 0) this.node.propose(encodeMirrored(mb)).catch(() => undefined);
  };

  purge(subject: string, seq: number, keep: number): number {
    // The count the purge will have, as of now (what a client is told).
    const st = this.stream.store.state();
    let n = st.msgs;
    if (subject !== '' || seq !== 0 || keep !== 0) {
      n = subject !== '' ? this.stream.store.filteredState(st.firstSeq, subject).msgs : st.msgs;
      if (keep > 0) n = Math.max(0, n - keep);
    }
    const subj = Buffer.from(subject);
    const e = Buffer.allocUnsafe(1 + 8 + 8 + subj.length);
    e[0] = Op.Purge;
    e.writeDoubleBE(seq, 1);
    e.writeDoubleBE(keep, 9);
    subj.copy(e, 17);
    this.propose(e);
    return n;
  }

  deleteMsg(seq: number, erase: boolean): boolean {
    let exists = false;
    try { exists = this.stream.store.loadMsg(seq) !== null; } catch { exists = false; }
    if (!exists) return false;
    const e = Buffer.allocUnsafe(10);
    e[0] = Op.Delete;
    e.writeDoubleBE(seq, 1);
    e[9] = erase ? 1 : 0;
    this.propose(e);
    return true;
  }

  private propose(e: Buffer): void {
    if (!this.node.isLeader()) return;
    // Publishes of this turn go first, as they arrived before.
    if (this.batch.length > 0 || this.mirrorBatch.length > 0) this.proposeBatch();
    this.node.propose(e).catch(() => undefined);
  }

  // --- RaftStateMachine: every peer ---------------------------------------------------

  apply(entry: Buffer, index: number): void {
    if (index <= this.skipUpTo || this.stopped) return;
    if (this.catchupTo > 0) {
      this.held.push({ entry: Buffer.from(entry), index });
      return;
    }
    this.applyEntry(entry, index);
  }

  private applyEntry(entry: Buffer, index: number): void {
    const s = this.stream;
    this.applying = true;
    try {
      switch (entry[0] as Op) {
        case Op.Msgs: {
          const lead = this.node === undefined ? false : this.node.isLeader();
          decodeMsgs(entry, (subject, reply, hdr, msg, ts, interest) => {
            if (this.replaySeq < this.replayUntil) {
              // stored before the restart (assumes each took a sequence, as nearly all do)
              this.replaySeq++;
              return;
            }
            this.applyTs = ts;
            this.applyInterest = interest;
            s.processMsg(subject, lead ? reply : '', hdr, msg);
          });
          break;
        }
        case Op.Mirror:
          decodeMirrored(entry, (subject, hdr, msg, seq, ts) => {
            if (msg === null) s.skipMirrored(seq);
            else s.storeMirrored(subject, hdr, msg, seq, ts);
          });
          break;
        case Op.Purge:
          s.purge(entry.subarray(17).toString(), entry.readDoubleBE(1), entry.readDoubleBE(9));
          break;
        case Op.Delete:
          s.deleteMsg(entry.readDoubleBE(1), entry[9] === 1);
          break;
        // a leader whose consumers run is the one that proposed these
        case Op.Consumer:
          if (!this.consumersLive) this.applyConsumer(entry);
          break;
        case Op.ConsumerGone:
          if (!this.consumersLive) {
            const name = entry.subarray(1).toString();
            if (!s.consumers.has(name)) void s.store.consumerStore(name).delete().catch(() => undefined);
          }
          break;
        case Op.Sync: {
          this.syncsApplied++;
          // A new leader's last sequence: a peer with less (new in the group,
          // or its store lost messages) fetches the rest before going on.
          const last = entry.readDoubleBE(1);
          const mine = s.store.state().lastSeq;
          const leader = this.node.leader();
          if (this.node.isLeader() || leader === null) break;
          if (mine < last) {
            this.catchupTo = last;
            this.requestCatchup();
          } else if (mine > last) {
            // We hold messages the new leader lacks (the group started on the
            // messages of a stream that had fewer replicas): it hands over to us.
            const b = Buffer.allocUnsafe(9);
            b[0] = CatchupType.HaveMore;
            b.writeDoubleBE(mine, 1);
            this.transport.send(this.catchupGroup, leader, b);
          }
          break;
        }
        default:
      }
    } finally {
      this.applying = false;
      this.applyTs = 0;
      this.applyInterest = true;
    }
    this.lastApplied = index;
    this.noteApplied();
  }

  /** remember (after the store's flush) which entries the store holds */
  private noteApplied(): void {
    if (this.raftDir === null) return;
    this.appliedDirty = true;
    if (this.appliedWrite !== null) return;
    this.appliedWrite = new Promise<void>((resolve) => {
      setImmediate(() => {
        if (this.catchupTo > 0) {
          // the store is short of what the entries say: noted once the catch-up is done
          this.appliedWrite = null;
          resolve();
          return;
        }
        const index = this.lastApplied;
        const seq = this.stream.store.state().lastSeq;
        this.appliedDirty = false;
        this.stream.store.flush((err) => {
          const done = (): void => {
            this.appliedWrite = null;
            resolve();
            if (this.appliedDirty && !this.stopped) this.noteApplied();
          };
          if (err !== null) { done(); return; }
          const f = path.join(this.raftDir!, 'applied');
          fsp.mkdir(this.raftDir!, { recursive: true })
            .then(() => fsp.writeFile(f + '.tmp', `${index} ${seq}`))
            .then(() => fsp.rename(f + '.tmp', f))
            .catch(() => undefined)
            .finally(done);
        });
      });
    });
  }

  private async flushApplied(): Promise<void> {
    while (this.appliedWrite !== null) await this.appliedWrite;
  }

  snapshot(): Buffer {
    const st = this.stream.store.state();
    return Buffer.from(JSON.stringify({ first: st.firstSeq, last: st.lastSeq, msgs: st.msgs, idx: this.lastApplied }));
  }

  restore(snapshot: Buffer): void {
    this.syncsApplied++;
    let snap: { first: number; last: number; idx?: number };
    try { snap = JSON.parse(snapshot.toString()) as { first: number; last: number; idx?: number }; } catch { return; }
    const st = this.stream.store.state();
    const idx = snap.idx ?? 0;
    if (this.node === undefined) {
      // Our own snapshot, at start. Entries up to it are never applied again:
      // if it is newer than the `applied` file, it says what the store holds.
      if (idx < this.skipUpTo) return;
      this.skipUpTo = idx;
      this.lastApplied = Math.max(this.lastApplied, idx);
      this.replaySeq = this.replayUntil = this.catchupTo = 0;
      if (st.lastSeq > snap.last) {
        this.replaySeq = snap.last;
        this.replayUntil = st.lastSeq;
      } else if (st.lastSeq < snap.last) this.catchupTo = snap.last;
      return;
    }
    if (idx > this.lastApplied) this.lastApplied = idx;
    if (st.lastSeq >= snap.last) return; // the store has it
    // We miss messages the log no longer has: fetch them from the leader.
    this.catchupTo = snap.last;
    this.requestCatchup();
  }

  leaderChanged(isLeader: boolean, leader: string | null): void {
    if (this.stopped) return;
    if (isLeader !== this.leading) {
      this.leading = isLeader;
      if (!isLeader) {
        this.stream.unsubscribe();
        this.batch = [];
        this.mirrorBatch = [];
        this.consumersLive = false;
        this.sentConsumers.clear();
        this.endLastQuery();
        this.stopSources();
        if (this.consumerTimer !== null) { clearInterval(this.consumerTimer); this.consumerTimer = null; }
        void this.stopConsumers();
      }
    }
    if (this.catchupTo > 0 && leader !== null && !isLeader) this.requestCatchup();
    if (isLeader) {
      const e = Buffer.allocUnsafe(9);
      e[0] = Op.Sync;
      e.writeDoubleBE(this.stream.store.state().lastSeq, 1);
      // The consumers move here, with the state the group last had of them:
      // once this entry applies, so has everything the previous leader
      // proposed (a consumer it created or acks it took just before handing
      // over would be lost if they started at the election).
      this.node.propose(e).then(() => this.askPeersLast(), () => undefined);
    }
    // a new leader is announced once it takes publishes (takeOver)
    if (!isLeader) this.announce(false, leader);
  }

  private announce(isLeader: boolean, leader: string | null): void {
    try { this.onLeaderChange(isLeader, leader); } catch (e) { this.js.server.logger.warn(`stream group: ${String(e)}`); }
  }

  /**
   * The first leader of a group takes publishes only once every peer told it
   * their last sequence and none holds more than its own store. A group
   * starts on the stored messages of its peers (a new stream, or num_replicas
   * or peers changed), which its log does not carry: a peer that won the
   * first election with fewer messages would give new messages sequences
   * that the other copies already use; the peer with more takes over
   * instead. A peer silent for LAST_WAIT_MS is left out (down; what it holds
   * is out of reach anyway). Later leaders hold everything the log carries
   * once their first entry applied (this one): they take over at once.
   */
  private askPeersLast(): void {
    if (this.stopped || !this.leading || this.consumersLive || this.lastOf !== null) return;
    if (this.syncsApplied > 1) return this.takeOver();
    this.lastOf = new Map();
    this.lastQueryStart = Date.now();
    const q = Buffer.from([CatchupType.LastQuery]);
    const ask = (): void => {
      if (this.lastOf === null) return;
      for (const p of this.node.peers()) if (p.id !== this.transport.self && !this.lastOf.has(p.id)) this.transport.send(this.catchupGroup, p.id, q);
      this.lastQueryTimer = setTimeout(() => { ask(); this.checkPeersLast(); }, LAST_QUERY_MS);
      this.lastQueryTimer.unref();
    };
    ask();
  }

  private checkPeersLast(): void {
    const m = this.lastOf;
    if (m === null || !this.leading) return;
    const members = this.node.peers().length;
    const waited = Date.now() - this.lastQueryStart >= LAST_WAIT_MS;
    // everyone, or after a while a majority with our own copy
    if (m.size + 1 < members && !(waited && m.size + 1 > members / 2)) return;
    const mine = this.stream.store.state().lastSeq;
    let best = mine;
    let who: string | null = null;
    for (const [id, last] of m) if (last > best) { best = last; who = id; }
    this.endLastQuery();
    if (who !== null) {
      this.js.server.logger.warn(`JetStream stream '${this.jsa.name} > ${this.stream.name}': ${who} has more messages, handing leadership over`);
      this.node.stepDown(who);
      return;
    }
    this.takeOver();
  }

  private endLastQuery(): void {
    this.lastOf = null;
    if (this.lastQueryTimer !== null) { clearTimeout(this.lastQueryTimer); this.lastQueryTimer = null; }
  }

  private takeOver(): void {
    if (this.stopped || !this.leading || this.consumersLive) return;
    this.stream.subscribe();
    this.startConsumers();
    this.announce(true, this.transport.self);
  }

  // --- mirror and sources: they run on the leader ---------------------------------------

  private startSources(): void {
    const s = this.stream;
    if (s.cfg.mirror === null && s.cfg.sources.length === 0 && s.sourceTaps.length === 0) return;
    this.js.api.sourcesHook?.(s);
  }

  private stopSources(): void {
    const s = this.stream;
    for (const t of s.sourceTaps) t.stop();
    s.sourceTaps = [];
  }

  // --- consumers: they run on the leader; the group keeps their config and state ----

  private startConsumers(): void {
    if (this.stopped || !this.leading || this.consumersLive) return;
    this.consumersLive = true;
    // the mirror or sources copy on the leader only, through the group
    this.startSources();
    try { this.js.recoverConsumers?.(this.stream); } catch (e) { this.js.server.logger.warn(`stream group: consumers: ${String(e)}`); }
    this.sentConsumers.clear();
    if (this.consumerTimer === null) {
      this.consumerTimer = setInterval(() => this.syncConsumers(), CONSUMER_SYNC_MS);
      this.consumerTimer.unref();
    }
  }

  private async stopConsumers(): Promise<void> {
    const cs = [...this.stream.consumers.values()];
    this.stream.consumers.clear();
    for (const o of cs) await o.stop(false).catch(() => undefined);
  }

  /** leader: propose what changed in the consumers' stores since the last time */
  private syncConsumers(): void {
    // consumers that do not run here are not gone: they have not started
    if (!this.node.isLeader() || this.stopped || !this.consumersLive) return;
    const s = this.stream;
    const seen = new Set<string>();
    for (const name of s.consumers.keys()) {
      let cfg: string | null;
      let state: string;
      try {
        const cs = s.store.consumerStore(name);
        cfg = cs.getConfig();
        if (cfg === null) continue; // not persisted (mirror/source consumers)
        state = encodeConsumerState(cs.state());
      } catch {
        continue;
      }
      seen.add(name);
      const rec = cfg + '\u0000' + state;
      if (this.sentConsumers.get(name) === rec) continue;
      this.sentConsumers.set(name, rec);
      const nb = Buffer.from(name);
      const cb = Buffer.from(cfg);
      const sb = Buffer.from(state);
      const e = Buffer.allocUnsafe(1 + 2 + nb.length + 4 + cb.length + sb.length);
      e[0] = Op.Consumer;
      let off = e.writeUInt16BE(nb.length, 1);
      off += nb.copy(e, off);
      off = e.writeUInt32BE(cb.length, off);
      off += cb.copy(e, off);
      sb.copy(e, off);
      this.node.propose(e).catch(() => this.sentConsumers.delete(name));
    }
    for (const name of [...this.sentConsumers.keys()]) {
      if (seen.has(name)) continue;
      this.sentConsumers.delete(name);
      this.node.propose(Buffer.concat([Buffer.from([Op.ConsumerGone]), Buffer.from(name)])).catch(() => undefined);
    }
  }

  /** follower: keep the leader's consumer config and state in our own consumer store */
  private applyConsumer(e: Buffer): void {
    const nl = e.readUInt16BE(1);
    const name = e.toString('utf8', 3, 3 + nl);
    let off = 3 + nl;
    const cl = e.readUInt32BE(off);
    off += 4;
    const cfg = e.toString('utf8', off, off + cl);
    off += cl;
    const state = decodeConsumerState(e.toString('utf8', off));
    try {
      const cs = this.stream.store.consumerStore(name);
      if (cs.getConfig() !== cfg) cs.setConfig(cfg);
      if (state !== null) cs.update(state);
    } catch (err) {
      this.js.server.logger.warn(`stream group: consumer ${name}: ${String(err)}`);
    }
  }

  // --- catch-up: messages a lagging peer misses, from the leader's store ------------

  private requestCatchup(): void {
    if (this.stopped || this.catchupTo === 0) return;
    const leader = this.node === undefined ? null : this.node.leader();
    if (this.catchupTimer !== null) clearTimeout(this.catchupTimer);
    // Re-ask if no answer comes (a lost message, a leader change).
    this.catchupTimer = setTimeout(() => { this.catchupTimer = null; this.requestCatchup(); }, 1000);
    if (leader === null || leader === this.transport.self) return;
    const st = this.stream.store.state();
    const req = Buffer.allocUnsafe(17);
    req[0] = CatchupType.Request;
    req.writeDoubleBE(st.lastSeq + 1, 1);
    req.writeDoubleBE(this.catchupTo, 9);
    this.transport.send(this.catchupGroup, leader, req);
  }

  private onCatchup(t: RaftTransport, from: string, msg: Buffer): void {
    if (this.stopped || msg.length < 1) return;
    if (msg[0] === CatchupType.Request && msg.length >= 17) {
      const fromSeq = msg.readDoubleBE(1);
      const toSeq = msg.readDoubleBE(9);
      const out: Buffer[] = [Buffer.from([CatchupType.Msgs])];
      let bytes = 0;
      let n = 0;
      let seq = fromSeq;
      let lastSent = fromSeq - 1;
      const store = this.stream.store;
      while (seq <= toSeq && n < CATCHUP_BATCH && bytes < CATCHUP_BYTES) {
        const m = store.loadNextMsg('', seq);
        if (m === null || m.seq > toSeq) { lastSent = toSeq; break; }
        out.push(encodeStored(m.subject, m.hdr, m.data, m.seq, m.ts));
        bytes += m.data.length + (m.hdr?.length ?? 0);
        n++;
        lastSent = m.seq;
        seq = m.seq + 1;
      }
      if (seq > toSeq) lastSent = toSeq;
      // trailer: the last sequence this answer covers (gaps are deleted messages)
      const tail = Buffer.allocUnsafe(8);
      tail.writeDoubleBE(lastSent, 0);
      out.push(tail);
      t.send(this.catchupGroup, from, Buffer.concat(out));
      return;
    }
    if (msg[0] === CatchupType.LastQuery) {
      const a = Buffer.allocUnsafe(9);
      a[0] = CatchupType.LastAnswer;
      a.writeDoubleBE(this.stream.store.state().lastSeq, 1);
      t.send(this.catchupGroup, from, a);
      return;
    }
    if (msg[0] === CatchupType.LastAnswer && msg.length >= 9) {
      if (this.lastOf !== null && !this.lastOf.has(from)) {
        this.lastOf.set(from, msg.readDoubleBE(1));
        this.checkPeersLast();
      }
      return;
    }
    if (msg[0] === CatchupType.HaveMore && msg.length >= 9) {
      if (this.node.isLeader() && this.stream.store.state().lastSeq < msg.readDoubleBE(1)) {
        this.js.server.logger.warn(`JetStream stream '${this.jsa.name} > ${this.stream.name}': ${from} has more messages, handing leadership over`);
        this.node.stepDown(from);
      }
      return;
    }
    if (msg[0] === CatchupType.Msgs && this.catchupTo > 0) {
      const s = this.stream;
      let off = 1;
      // stored here, not proposed (storeMirrored of a mirror's leader proposes)
      this.applying = true;
      try {
        while (off < msg.length - 8) {
          const r = decodeStored(msg, off);
          off = r.next;
          s.storeMirrored(r.subject, r.hdr, r.data, r.seq, r.ts);
          this.caughtUp++;
        }
        const covered = msg.readDoubleBE(msg.length - 8);
        s.skipMirrored(covered);
      } finally {
        this.applying = false;
      }
      if (s.store.state().lastSeq >= this.catchupTo) {
        this.catchupTo = 0;
        if (this.catchupTimer !== null) { clearTimeout(this.catchupTimer); this.catchupTimer = null; }
        const held = this.held;
        this.held = [];
        for (const h of held) this.apply(h.entry, h.index);
        this.noteApplied();
      } else this.requestCatchup();
    }
  }
}

function encodeConsumerState(st: ConsumerState | null): string {
  if (st === null) return '';
  return JSON.stringify({
    d: [st.delivered.consumerSeq, st.delivered.streamSeq],
    a: [st.ackFloor.consumerSeq, st.ackFloor.streamSeq],
    p: [...st.pending].map(([seq, p]) => [seq, p.sequence, p.ts]),
    r: [...st.redelivered],
  });
}

function decodeConsumerState(text: string): ConsumerState | null {
  if (text === '') return null;
  try {
    const v = JSON.parse(text) as { d: [number, number]; a: [number, number]; p: [number, number, number][]; r: [number, number][] };
    return {
      delivered: { consumerSeq: v.d[0], streamSeq: v.d[1] },
      ackFloor: { consumerSeq: v.a[0], streamSeq: v.a[1] },
      pending: new Map(v.p.map(([seq, sequence, ts]) => [seq, { sequence, ts }])),
      redelivered: new Map(v.r),
    };
  } catch {
    return null;
  }
}

// --- entry encoding -----------------------------------------------------------------------
// Msgs: op(1) count(4), then per message: ts(8, double: the store's ns number as is)
// interest(1) subjectLen(2) subject replyLen(2) reply hdrLen(4, 0xffffffff = none) hdr msgLen(4) msg

function encodeMsgs(b: Pending[]): Buffer {
  let size = 5;
  const subjects: Buffer[] = [];
  const replies: Buffer[] = [];
  for (const m of b) {
    const sb = Buffer.from(m.subject);
    const rb = Buffer.from(m.reply);
    subjects.push(sb);
    replies.push(rb);
    size += 8 + 1 + 2 + sb.length + 2 + rb.length + 4 + (m.hdr?.length ?? 0) + 4 + m.msg.length;
  }
  const e = Buffer.allocUnsafe(size);
  e[0] = Op.Msgs;
  e.writeUInt32BE(b.length, 1);
  let off = 5;
  for (let i = 0; i < b.length; i++) {
    const m = b[i];
    off = e.writeDoubleBE(m.ts, off);
    e[off++] = m.interest ? 1 : 0;
    off = e.writeUInt16BE(subjects[i].length, off);
    off += subjects[i].copy(e, off);
    off = e.writeUInt16BE(replies[i].length, off);
    off += replies[i].copy(e, off);
    if (m.hdr === null) off = e.writeUInt32BE(NULL_HDR, off);
    else {
      off = e.writeUInt32BE(m.hdr.length, off);
      off += m.hdr.copy(e, off);
    }
    off = e.writeUInt32BE(m.msg.length, off);
    off += m.msg.copy(e, off);
  }
  return e;
}

type MsgVisitor = (subject: string, reply: string, hdr: Buffer | null, msg: Buffer, ts: number, interest: boolean) => void;

function decodeMsgs(e: Buffer, visit: MsgVisitor): void {
  const n = e.readUInt32BE(1);
  let off = 5;
  for (let i = 0; i < n; i++) {
    const ts = e.readDoubleBE(off);
    off += 8;
    const interest = e[off++] === 1;
    const sl = e.readUInt16BE(off);
    off += 2;
    const subject = e.toString('utf8', off, off + sl);
    off += sl;
    const rl = e.readUInt16BE(off);
    off += 2;
    const reply = e.toString('utf8', off, off + rl);
    off += rl;
    const hl = e.readUInt32BE(off);
    off += 4;
    let hdr: Buffer | null = null;
    if (hl !== NULL_HDR) {
      hdr = e.subarray(off, off + hl);
      off += hl;
    }
    const ml = e.readUInt32BE(off);
    off += 4;
    const msg = e.subarray(off, off + ml);
    off += ml;
    visit(subject, reply, hdr, msg, ts, interest);
  }
}

// Mirror entries: count(4), then per copy seq(8) ts(8) subjectLen(2) subject
// hdrLen(4) hdr msgLen(4) msg; msgLen NULL_HDR is a skip up to seq.
function encodeMirrored(b: Mirrored[]): Buffer {
  let size = 5;
  const subjects: Buffer[] = [];
  for (const m of b) {
    const sb = Buffer.from(m.subject);
    subjects.push(sb);
    size += 8 + 8 + 2 + sb.length + 4 + (m.hdr?.length ?? 0) + 4 + (m.msg?.length ?? 0);
  }
  const e = Buffer.allocUnsafe(size);
  e[0] = Op.Mirror;
  let off = e.writeUInt32BE(b.length, 1);
  for (let i = 0; i < b.length; i++) {
    const m = b[i];
    off = e.writeDoubleBE(m.seq, off);
    off = e.writeDoubleBE(m.ts, off);
    off = e.writeUInt16BE(subjects[i].length, off);
    off += subjects[i].copy(e, off);
    if (m.hdr === null) off = e.writeUInt32BE(NULL_HDR, off);
    else {
      off = e.writeUInt32BE(m.hdr.length, off);
      off += m.hdr.copy(e, off);
    }
    if (m.msg === null) off = e.writeUInt32BE(NULL_HDR, off);
    else {
      off = e.writeUInt32BE(m.msg.length, off);
      off += m.msg.copy(e, off);
    }
  }
  return e;
}

function decodeMirrored(e: Buffer, visit: (subject: string, hdr: Buffer | null, msg: Buffer | null, seq: number, ts: number) => void): void {
  const n = e.readUInt32BE(1);
  let off = 5;
  for (let i = 0; i < n; i++) {
    const seq = e.readDoubleBE(off);
    const ts = e.readDoubleBE(off + 8);
    off += 16;
    const sl = e.readUInt16BE(off);
    off += 2;
    const subject = e.toString('utf8', off, off + sl);
    off += sl;
    const hl = e.readUInt32BE(off);
    off += 4;
    let hdr: Buffer | null = null;
    if (hl !== NULL_HDR) {
      hdr = e.subarray(off, off + hl);
      off += hl;
    }
    const ml = e.readUInt32BE(off);
    off += 4;
    let msg: Buffer | null = null;
    if (ml !== NULL_HDR) {
      msg = e.subarray(off, off + ml);
      off += ml;
    }
    visit(subject, hdr, msg, seq, ts);
  }
}

// Catch-up messages: seq(8) ts(8) subjectLen(2) subject hdrLen(4) hdr msgLen(4) msg
function encodeStored(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: number): Buffer {
  const sb = Buffer.from(subject);
  const hl = hdr === null ? 0 : hdr.length;
  const b = Buffer.allocUnsafe(16 + 2 + sb.length + 4 + hl + 4 + data.length);
  let off = b.writeDoubleBE(seq, 0);
  off = b.writeDoubleBE(ts, off);
  off = b.writeUInt16BE(sb.length, off);
  off += sb.copy(b, off);
  off = b.writeUInt32BE(hdr === null ? NULL_HDR : hl, off);
  if (hdr !== null) off += hdr.copy(b, off);
  off = b.writeUInt32BE(data.length, off);
  data.copy(b, off);
  return b;
}

function decodeStored(b: Buffer, start: number): { subject: string; hdr: Buffer | null; data: Buffer; seq: number; ts: number; next: number } {
  let off = start;
  const seq = b.readDoubleBE(off);
  const ts = b.readDoubleBE(off + 8);
  off += 16;
  const sl = b.readUInt16BE(off);
  off += 2;
  const subject = b.toString('utf8', off, off + sl);
  off += sl;
  const hl = b.readUInt32BE(off);
  off += 4;
  let hdr: Buffer | null = null;
  if (hl !== NULL_HDR) {
    hdr = Buffer.from(b.subarray(off, off + hl));
    off += hl;
  }
  const dl = b.readUInt32BE(off);
  off += 4;
  const data = Buffer.from(b.subarray(off, off + dl));
  off += dl;
  return { subject, hdr, data, seq, ts, next: off };
}

/** The meta layer creates a replicated stream on each of its peers through this. */
export const streamGroupFactory = (o: StreamGroupOptions): StreamGroup => new ReplicatedStream(o);
