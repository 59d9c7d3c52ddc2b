// A Raft node (the consensus of clustered JetStream's meta group and of each
// replicated stream). The behaviour follows the Raft paper and what the
// reference's server/raft.go does with it, in our own shape:
//
// - Pre-vote: a node whose election timer fires first asks whether it could
//   win (without raising its term); only with a majority of yes does it run a
//   real election. A node cut off from the others therefore does not come
//   back with a huge term and depose a healthy leader. Peers that heard from a
//   leader recently refuse both pre-votes and votes (leader stickiness),
//   except for a leadership transfer asked by the leader itself (stepDown).
// - A new leader appends a no-op so entries of earlier terms commit.
// - Proposals made during one event-loop turn go out as one append per peer;
//   the leader sends optimistically (pipelined) and, on each heartbeat,
//   re-sends from a peer's match index when it has not caught up, which is
//   how lost messages (a route down) are retried.
// - A leader that no longer hears from a majority steps down (check quorum),
//   so a minority side stops accepting proposals it could never commit.
// - Membership changes are one peer at a time through the log; a change
//   takes effect when it is appended (not when committed), as in the paper.
// - Snapshots: every `snapshotEvery` applied entries the machine's image
//   replaces the log before it; a peer that lags behind the snapshot gets it.
// - Persistence (storeDir set): term+vote, an append-only log and the
//   snapshot. Writes go through one ordered queue, coalesced per turn; a
//   vote, an append acknowledgement or the leader's own match is only given
//   after the write that backs it completed. Writes are not fsynced: they
//   survive a process crash, not a power loss (the reference's filestore
//   does not sync each write either).

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  RaftNotLeaderError,
  type RaftNode,
  type RaftNodeOptions,
  type RaftPeerInfo,
  type RaftStateMachine,
  type RaftTransport,
} from './raft-types.js';

/** Knobs beyond the shared contract (tests, tuning). */
export interface RaftTuning {
  /** applied entries between snapshots (default 8192) */
  snapshotEvery?: number;
  /** or as soon as the entries kept in memory hold this many payload bytes (default 64 MiB) */
  snapshotBytes?: number;
  /** most entries in one append message (default 512) */
  maxBatch?: number;
  /** most payload bytes in one append message (default 1 MiB) */
  maxBatchBytes?: number;
  /** where errors go (default: nowhere) */
  log?: (msg: string) => void;
}

export const DEFAULT_ELECTION_TIMEOUT: [number, number] = [1000, 2000];
export const DEFAULT_HEARTBEAT = 250;

const enum Role { Follower, Candidate, Leader }
const enum EntryType { Normal = 0, Noop = 1, Peers = 2 }
const enum MsgType { VoteReq = 1, VoteResp = 2, Append = 3, AppendResp = 4, Snapshot = 5, SnapResp = 6, TimeoutNow = 7 }

interface Entry { term: number; type: EntryType; data: Buffer }

interface Proposal { resolve: (index: number) => void; reject: (e: Error) => void; term: number }

interface PeerProgress {
  next: number;
  match: number;
  lastSeen: number;
  /** match when the previous heartbeat went out: no progress since → resend */
  matchAtLastBeat: number;
  snapshotSentAt: number;
}

// Integers in messages are 6 bytes big-endian: indexes and terms stay far below 2^48.
function w48(b: Buffer, off: number, v: number): number { b.writeUIntBE(v, off, 6); return off + 6; }
function r48(b: Buffer, off: number): number { return b.readUIntBE(off, 6); }

/** A file-backed write queue: ops run in order; consecutive appends are one write. */
type StoreOp =
  | { kind: 'append'; buf: Buffer }
  | { kind: 'truncate'; size: number }
  | { kind: 'state'; buf: Buffer }
  | { kind: 'snapshot'; snap: Buffer; log: Buffer }
  | { kind: 'callback'; cb: () => void };

class RaftStore {
  private ops: StoreOp[] = [];
  private running = false;
  private fh: fsp.FileHandle | null = null;
  private closed = false;
  /**
   * A write failed: nothing later may be reported durable, so the callbacks
   * (votes, acknowledgements, the leader's own match) stop; the node goes
   * quiet in its group rather than promise what its disk does not hold.
   */
  failed = false;
  private drainWaiters: (() => void)[] = [];

  constructor(readonly dir: string, private readonly onError: (e: unknown) => void) {}

  get logPath(): string { return path.join(this.dir, 'log'); }
  get statePath(): string { return path.join(this.dir, 'state'); }
  get snapPath(): string { return path.join(this.dir, 'snapshot'); }

  push(op: StoreOp): void {
    if (this.closed) return;
    this.ops.push(op);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    while (this.ops.length > 0) {
      const batch = this.ops;
      this.ops = [];
      let i = 0;
      while (i < batch.length) {
        const op = batch[i];
        try {
          if (op.kind === 'append') {
            let j = i;
            const bufs: Buffer[] = [];
            while (j < batch.length) {
              const o = batch[j];
              if (o.kind !== 'append') break;
              bufs.push(o.buf);
              j++;
            }
            const fh = await this.handle();
            await fh.appendFile(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
            i = j;
            continue;
          }
          if (op.kind === 'truncate') {
            const fh = await this.handle();
            await fh.truncate(op.size);
          } else if (op.kind === 'state') {
            await writeReplace(this.statePath, op.buf);
          } else if (op.kind === 'snapshot') {
            await writeReplace(this.snapPath, op.snap);
            if (this.fh !== null) { await this.fh.close(); this.fh = null; }
            await writeReplace(this.logPath, op.log);
          } else if (!this.failed) {
            op.cb();
          }
        } catch (e) {
          if (op.kind !== 'callback') this.failed = true;
          this.onError(e);
        }
        i++;
      }
    }
    this.running = false;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private async handle(): Promise<fsp.FileHandle> {
    if (this.fh === null) this.fh = await fsp.open(this.logPath, 'a');
    return this.fh;
  }

  /** wait for every queued write, then close the log */
  async close(): Promise<void> {
    if (this.running) await new Promise<void>((r) => this.drainWaiters.push(r));
    this.closed = true;
    if (this.fh !== null) { await this.fh.close().catch(() => undefined); this.fh = null; }
  }
}

async function writeReplace(file: string, buf: Buffer): Promise<void> {
  const tmp = file + '.tmp';
  await fsp.writeFile(tmp, buf);
  await fsp.rename(tmp, file);
}

function encodeRecord(index: number, e: Entry): Buffer {
  const b = Buffer.allocUnsafe(4 + 13 + e.data.length);
  b.writeUInt32BE(13 + e.data.length, 0);
  w48(b, 4, index);
  w48(b, 10, e.term);
  b[16] = e.type;
  e.data.copy(b, 17);
  return b;
}

function encodePeers(peers: string[]): Buffer { return Buffer.from(JSON.stringify(peers)); }
function decodePeers(b: Buffer): string[] {
  const v: unknown = JSON.parse(b.toString());
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error('bad peer list');
  return v as string[];
}

function encodeSnapshotFile(index: number, term: number, peers: string[], data: Buffer): Buffer {
  const p = encodePeers(peers);
  const b = Buffer.allocUnsafe(16 + p.length + data.length);
  w48(b, 0, index);
  w48(b, 6, term);
  b.writeUInt32BE(p.length, 12);
  p.copy(b, 16);
  data.copy(b, 16 + p.length);
  return b;
}

interface Snapshot { index: number; term: number; peers: string[]; data: Buffer }

function decodeSnapshotFile(b: Buffer): Snapshot {
  const plen = b.readUInt32BE(12);
  return {
    index: r48(b, 0),
    term: r48(b, 6),
    peers: decodePeers(b.subarray(16, 16 + plen)),
    data: Buffer.from(b.subarray(16 + plen)),
  };
}

class Node implements RaftNode {
  readonly group: string;
  readonly id: string;
  private readonly transport: RaftTransport;
  private readonly machine: RaftStateMachine;
  private readonly store: RaftStore | null;
  private readonly elMin: number;
  private readonly elMax: number;
  private readonly hbMs: number;
  private readonly snapshotEvery: number;
  private readonly snapshotBytes: number;
  /** payload bytes of the entries in `log` */
  private logBytes = 0;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly logErr: (msg: string) => void;

  private role = Role.Follower;
  private curTerm = 0;
  private votedFor = '';
  private leaderId: string | null = null;
  private lastLeaderContact = 0;

  /** log[i] has index base + i + 1; base is the snapshot's last index */
  private log: Entry[] = [];
  private base = 0;
  private baseTerm = 0;
  /** file offset where the record of log[i] starts, and the file's logical size */
  private offsets: number[] = [];
  private fileSize = 0;
  private snap: Snapshot | null = null;

  private members: string[];
  /** the membership before any Peers entry or snapshot */
  private readonly initialMembers: string[];
  private commitIndex = 0;
  private appliedIndex = 0;
  /** the leader's commit we last heard (followers: isCurrent) */
  private leaderCommit = 0;
  /** the last index our own store holds (durable) */
  private durableIndex = 0;

  private votes = new Set<string>();
  private preVoting = false;
  private progress = new Map<string, PeerProgress>();
  private proposals = new Map<number, Proposal>();
  private flushScheduled = false;
  private electionTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unlisten: () => void;
  private lastNotified: { isLeader: boolean; leader: string | null } = { isLeader: false, leader: null };
  private transferTo: string | null = null;
  private transferUntil = 0;

  constructor(opts: RaftNodeOptions & RaftTuning) {
    this.group = opts.group;
    this.transport = opts.transport;
    this.id = opts.transport.self;
    this.machine = opts.machine;
    [this.elMin, this.elMax] = opts.electionTimeout ?? DEFAULT_ELECTION_TIMEOUT;
    this.hbMs = opts.heartbeat ?? DEFAULT_HEARTBEAT;
    this.snapshotEvery = opts.snapshotEvery ?? 8192;
    this.snapshotBytes = opts.snapshotBytes ?? 64 * 1024 * 1024;
    this.maxBatch = opts.maxBatch ?? 512;
    this.maxBatchBytes = opts.maxBatchBytes ?? 1 << 20;
    this.logErr = opts.log ?? (() => undefined);
    this.members = [...new Set(opts.peers)];
    if (!this.members.includes(this.id)) this.members.push(this.id);
    this.initialMembers = [...this.members];
    this.store = opts.storeDir !== null ? new RaftStore(opts.storeDir, (e) => this.logErr(`raft ${this.group}: store: ${String(e)}`)) : null;
    if (opts.storeDir !== null) this.recover(opts.storeDir);
    this.durableIndex = this.lastIndex();
    this.unlisten = this.transport.listen(this.group, (from, msg) => {
      try {
        this.receive(from, msg);
      } catch (e) {
        this.logErr(`raft ${this.group}: bad message from ${from}: ${String(e)}`);
      }
    });
    if (this.members.length === 1 && this.members[0] === this.id) {
      // A group of one elects itself at once.
      setImmediate(() => { if (!this.stopped && this.role !== Role.Leader) this.becomeCandidate(false); });
    }
    if (this.curTerm === 0 && this.lastIndex() === 0) {
      // A new group has nobody to wait for: its first election comes soon
      // (spread out so that one peer usually wins it), which is what a client
      // creating a replicated stream waits for. Later ones use the full timeout.
      this.electionTimer = setTimeout(() => this.electionTimeout(), 50 + Math.random() * Math.min(300, this.elMin));
    } else this.resetElectionTimer();
  }

  // ---------------------------------------------------------------- recovery

  private recover(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const store = this.store!;
    try {
      const st = fs.readFileSync(store.statePath);
      this.curTerm = r48(st, 0);
      this.votedFor = st.subarray(6).toString();
    } catch { /* fresh */ }
    try {
      const s = decodeSnapshotFile(fs.readFileSync(store.snapPath));
      this.snap = s;
      this.base = s.index;
      this.baseTerm = s.term;
      this.members = s.peers;
      this.machine.restore(s.data);
      this.commitIndex = this.appliedIndex = s.index;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logErr(`raft ${this.group}: snapshot unreadable: ${String(e)}`);
    }
    let buf: Buffer;
    try { buf = fs.readFileSync(store.logPath); } catch { buf = Buffer.alloc(0); }
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt32BE(off);
      if (len < 13 || off + 4 + len > buf.length) break; // torn tail
      const index = r48(buf, off + 4);
      if (index <= this.base) { off += 4 + len; continue; }
      if (index !== this.lastIndex() + 1) break;
      const e: Entry = { term: r48(buf, off + 10), type: buf[off + 16] as EntryType, data: Buffer.from(buf.subarray(off + 17, off + 4 + len)) };
      this.offsets.push(off);
      this.log.push(e);
      this.logBytes += e.data.length;
      off += 4 + len;
    }
    this.fileSize = off;
    if (off < buf.length) fs.truncateSync(store.logPath, off); // startup only: drop a torn write
    this.recomputeMembers();
  }

  // ---------------------------------------------------------------- log helpers

  private lastIndex(): number { return this.base + this.log.length; }
  private lastTerm(): number { return this.log.length > 0 ? this.log[this.log.length - 1].term : this.baseTerm; }
  /** term of entry `i`, or -1 when unknown (compacted before the snapshot, or past the end) */
  private termAt(i: number): number {
    if (i === this.base) return this.baseTerm;
    if (i < this.base || i > this.lastIndex()) return -1;
    return this.log[i - this.base - 1].term;
  }
  private entry(i: number): Entry { return this.log[i - this.base - 1]; }

  private appendLocal(e: Entry): number {
    this.log.push(e);
    this.logBytes += e.data.length;
    const index = this.lastIndex();
    if (this.store !== null) {
      const rec = encodeRecord(index, e);
      this.offsets.push(this.fileSize);
      this.fileSize += rec.length;
      this.store.push({ kind: 'append', buf: rec });
    }
    if (e.type === EntryType.Peers) this.members = decodePeers(e.data);
    return index;
  }

  /** drop entries from index `from` on (a conflicting suffix) */
  private truncateFrom(from: number): void {
    const k = from - this.base - 1;
    if (k < 0 || k >= this.log.length) return;
    const dropped = this.log.slice(k);
    const hadPeers = dropped.some((e) => e.type === EntryType.Peers);
    for (const e of dropped) this.logBytes -= e.data.length;
    this.log.length = k;
    if (this.store !== null) {
      this.fileSize = this.offsets[k];
      this.offsets.length = k;
      this.store.push({ kind: 'truncate', size: this.fileSize });
    }
    if (this.durableIndex > this.lastIndex()) this.durableIndex = this.lastIndex();
    if (hadPeers) this.recomputeMembers();
  }

  private recomputeMembers(): void {
    for (let i = this.log.length - 1; i >= 0; i--) {
      if (this.log[i].type === EntryType.Peers) { this.members = decodePeers(this.log[i].data); return; }
    }
    this.members = this.snap !== null ? this.snap.peers : this.initialMembers;
  }

  /** run `cb` once everything queued so far is durable (at once without a store) */
  private afterDurable(cb: () => void): void {
    if (this.store === null) cb();
    else this.store.push({ kind: 'callback', cb });
  }

  private persistState(): void {
    if (this.store === null) return;
    const v = Buffer.from(this.votedFor);
    const b = Buffer.allocUnsafe(6 + v.length);
    w48(b, 0, this.curTerm);
    v.copy(b, 6);
    this.store.push({ kind: 'state', buf: b });
  }

  // ---------------------------------------------------------------- public API

  propose(entry: Buffer): Promise<number> {
    if (this.role !== Role.Leader || this.stopped) return Promise.reject(new RaftNotLeaderError(this.leaderId));
    return this.proposeTyped(EntryType.Normal, entry);
  }

  private proposeTyped(type: EntryType, data: Buffer): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const index = this.appendLocal({ term: this.curTerm, type, data });
      this.proposals.set(index, { resolve, reject, term: this.curTerm });
      this.leaderAppended(index);
    });
  }

  /** the leader appended `index`: count our own copy once durable, send this turn's batch */
  private leaderAppended(index: number): void {
    const term = this.curTerm;
    this.afterDurable(() => {
      if (index > this.durableIndex && this.curTerm === term && this.termAt(index) === term) this.durableIndex = index;
      if (this.role === Role.Leader) this.advanceCommit();
    });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.role === Role.Leader && !this.stopped) for (const p of this.otherMembers()) this.sendAppend(p, false);
      });
    }
  }

  isLeader(): boolean { return this.role === Role.Leader; }
  leader(): string | null { return this.leaderId; }
  term(): number { return this.curTerm; }
  applied(): number { return this.appliedIndex; }

  isCurrent(): boolean {
    if (this.stopped) return false;
    if (this.role === Role.Leader) return true;
    if (this.leaderId === null) return false;
    if (Date.now() - this.lastLeaderContact > this.elMax) return false;
    return this.appliedIndex >= this.leaderCommit;
  }

  peers(): RaftPeerInfo[] {
    const now = Date.now();
    const last = this.lastIndex();
    return this.members.map((id) => {
      if (id === this.id) return { id, current: this.isCurrent(), lastSeenMs: 0, lag: 0 };
      const p = this.role === Role.Leader ? this.progress.get(id) : undefined;
      if (p === undefined) return { id, current: false, lastSeenMs: 0, lag: 0 };
      const seen = p.lastSeen === 0 ? 0 : now - p.lastSeen;
      return { id, current: p.lastSeen !== 0 && seen <= this.elMax && p.match >= this.commitIndex, lastSeenMs: seen, lag: Math.max(0, last - p.match) };
    });
  }

  stepDown(preferred?: string): void {
    if (this.role !== Role.Leader) return;
    let target: string | null = null;
    const others = this.otherMembers();
    if (preferred !== undefined && others.includes(preferred)) target = preferred;
    else {
      // The most caught-up live peer; among equals a random one, as the
      // reference's map iteration does (raft.go StepDown): a fixed order
      // would hand leadership back and forth between the same two peers.
      let best = -1;
      let ties = 0;
      const now = Date.now();
      for (const id of others) {
        const p = this.progress.get(id);
        if (p === undefined || now - p.lastSeen > this.elMax) continue;
        if (p.match > best) { best = p.match; target = id; ties = 1; }
        else if (p.match === best && Math.random() * ++ties < 1) target = id;
      }
    }
    if (target !== null) {
      // Catch it up first, then tell it to run at once (TimeoutNow); we stop leading now.
      this.sendAppend(target, false);
      this.transferTo = target;
      this.transferUntil = Date.now() + this.elMax;
      this.send(target, this.encodeHeader(MsgType.TimeoutNow, 7));
    }
    this.becomeFollower(this.curTerm, null);
    // Do not compete with the peer we handed leadership to.
    this.resetElectionTimer(this.elMax);
  }

  async addPeer(id: string): Promise<void> {
    if (this.role !== Role.Leader) throw new RaftNotLeaderError(this.leaderId);
    if (this.members.includes(id)) return;
    await this.changeMembers([...this.members, id]);
  }

  async removePeer(id: string): Promise<void> {
    if (this.role !== Role.Leader) throw new RaftNotLeaderError(this.leaderId);
    if (!this.members.includes(id)) return;
    await this.changeMembers(this.members.filter((m) => m !== id));
  }

  private pendingPeers: Promise<unknown> = Promise.resolve();

  private changeMembers(next: string[]): Promise<void> {
    // One change at a time: the next waits until the previous committed.
    const run = this.pendingPeers.catch(() => undefined).then(async () => {
      if (this.role !== Role.Leader) throw new RaftNotLeaderError(this.leaderId);
      for (const id of next) if (id !== this.id && !this.progress.has(id)) this.progress.set(id, this.newProgress());
      await this.proposeTyped(EntryType.Peers, encodePeers(next));
      for (const id of [...this.progress.keys()]) if (!this.members.includes(id)) this.progress.delete(id);
      if (!this.members.includes(this.id)) this.stepDown();
    });
    this.pendingPeers = run;
    return run;
  }

  stop(deleteState = false): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.unlisten();
    this.failProposals();
    this.role = Role.Follower;
    if (this.store !== null) {
      const dir = this.store.dir;
      void this.store.close().then(() => {
        if (deleteState) return fsp.rm(dir, { recursive: true, force: true });
      }).catch((e) => this.logErr(`raft ${this.group}: close: ${String(e)}`));
    }
  }

  /** resolves once every queued write is done (tests, orderly shutdown) */
  async flushed(): Promise<void> {
    if (this.store === null) return;
    await new Promise<void>((r) => this.store!.push({ kind: 'callback', cb: r }));
  }

  // ---------------------------------------------------------------- roles and timers

  private otherMembers(): string[] { return this.members.filter((m) => m !== this.id); }
  private quorum(): number { return Math.floor(this.members.length / 2) + 1; }

  private clearTimers(): void {
    if (this.electionTimer !== null) { clearTimeout(this.electionTimer); this.electionTimer = null; }
    if (this.heartbeatTimer !== null) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = null; }
  }

  private resetElectionTimer(extra = 0): void {
    if (this.stopped) return;
    if (this.electionTimer !== null) clearTimeout(this.electionTimer);
    const ms = this.elMin + Math.random() * (this.elMax - this.elMin) + extra;
    this.electionTimer = setTimeout(() => this.electionTimeout(), ms);
  }

  private electionTimeout(): void {
    this.electionTimer = null;
    if (this.stopped || this.role === Role.Leader) return;
    if (!this.members.includes(this.id)) { this.resetElectionTimer(); return; } // removed, or not yet added
    this.becomeCandidate(true);
  }

  private notifyLeader(): void {
    const isLeader = this.role === Role.Leader;
    if (this.lastNotified.isLeader === isLeader && this.lastNotified.leader === this.leaderId) return;
    this.lastNotified = { isLeader, leader: this.leaderId };
    try { this.machine.leaderChanged(isLeader, this.leaderId); } catch (e) { this.logErr(`raft ${this.group}: leaderChanged: ${String(e)}`); }
  }

  private becomeFollower(term: number, leader: string | null): void {
    const wasLeader = this.role === Role.Leader;
    if (term > this.curTerm) {
      this.curTerm = term;
      this.votedFor = '';
      this.persistState();
    }
    this.role = Role.Follower;
    this.preVoting = false;
    this.leaderId = leader;
    if (this.heartbeatTimer !== null) { clearInterval(this.heartbeatTimer); this.heartbeatTimer = null; }
    if (wasLeader) this.failProposals();
    this.resetElectionTimer();
    this.notifyLeader();
  }

  private failProposals(): void {
    if (this.proposals.size === 0) return;
    const ps = [...this.proposals.values()];
    this.proposals.clear();
    const err = new RaftNotLeaderError(this.leaderId);
    for (const p of ps) p.reject(err);
  }

  /** pre: ask without raising the term; real: raise the term and vote for ourselves */
  private becomeCandidate(pre: boolean, transfer = false): void {
    const wasLeaderKnown = this.leaderId !== null;
    this.leaderId = null;
    this.votes = new Set([this.id]);
    if (pre) {
      this.preVoting = true;
      this.role = Role.Follower;
    } else {
      this.preVoting = false;
      this.role = Role.Candidate;
      this.curTerm++;
      this.votedFor = this.id;
      this.persistState();
    }
    if (wasLeaderKnown) this.notifyLeader();
    this.resetElectionTimer();
    const req = Buffer.allocUnsafe(20);
    req[0] = MsgType.VoteReq;
    w48(req, 1, pre ? this.curTerm + 1 : this.curTerm);
    w48(req, 7, this.lastIndex());
    w48(req, 13, this.lastTerm());
    req[19] = (pre ? 1 : 0) | (transfer ? 2 : 0);
    // Our own vote must be durable before it counts; peers' replies wait for theirs.
    this.afterDurable(() => {
      if (this.stopped) return;
      if (this.quorum() <= 1 && this.members.includes(this.id)) {
        if (pre) this.becomeCandidate(false); else if (this.role === Role.Candidate) this.becomeLeader();
        return;
      }
      for (const p of this.otherMembers()) this.send(p, req);
    });
  }

  private becomeLeader(): void {
    this.role = Role.Leader;
    this.leaderId = this.id;
    this.preVoting = false;
    if (this.electionTimer !== null) { clearTimeout(this.electionTimer); this.electionTimer = null; }
    this.progress.clear();
    for (const p of this.otherMembers()) this.progress.set(p, this.newProgress());
    this.transferTo = null;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.hbMs);
    this.notifyLeader();
    // Entries of earlier terms commit only with one of ours (Raft §5.4.2).
    void this.proposeTyped(EntryType.Noop, Buffer.alloc(0)).catch(() => undefined);
  }

  private newProgress(): PeerProgress {
    return { next: this.lastIndex() + 1, match: 0, lastSeen: Date.now(), matchAtLastBeat: -1, snapshotSentAt: 0 };
  }

  private heartbeat(): void {
    if (this.role !== Role.Leader || this.stopped) return;
    const now = Date.now();
    // Check quorum: a leader that cannot reach a majority steps down.
    let heard = 1;
    for (const id of this.otherMembers()) {
      const p = this.progress.get(id);
      if (p !== undefined && now - p.lastSeen <= this.elMax) heard++;
    }
    if (heard < this.quorum()) {
      this.becomeFollower(this.curTerm, null);
      return;
    }
    for (const id of this.otherMembers()) {
      const p = this.progress.get(id);
      if (p === undefined) continue;
      // No progress since the last beat: what we sent may be lost, go again from its match.
      if (p.match < this.lastIndex() && p.match === p.matchAtLastBeat) p.next = p.match + 1;
      p.matchAtLastBeat = p.match;
      // A peer silent for an election timeout (down, its route gone) gets
      // empty probes only, not a full batch per beat, until it answers.
      this.sendAppend(id, true, now - p.lastSeen > this.elMax);
    }
  }

  // ---------------------------------------------------------------- sending

  private send(to: string, msg: Buffer): void {
    if (this.stopped) return;
    this.transport.send(this.group, to, msg);
  }

  private encodeHeader(type: MsgType, size: number): Buffer {
    const b = Buffer.allocUnsafe(size);
    b[0] = type;
    w48(b, 1, this.curTerm);
    return b;
  }

  private sendAppend(to: string, heartbeat: boolean, probe = false): void {
    let p = this.progress.get(to);
    if (p === undefined) { p = this.newProgress(); this.progress.set(to, p); }
    const last = this.lastIndex();
    if (p.next <= this.base) {
      this.sendSnapshot(to, p);
      return;
    }
    if (p.next > last + 1) p.next = last + 1;
    if (p.next > last && !heartbeat) return;
    if (probe) p.next = Math.max(p.match + 1, this.base + 1);
    const prev = p.next - 1;
    let n = 0;
    let bytes = 0;
    for (let i = p.next; i <= last && n < this.maxBatch && !probe; i++) {
      const e = this.entry(i);
      if (n > 0 && bytes + e.data.length > this.maxBatchBytes) break;
      bytes += e.data.length + 11;
      n++;
    }
    const b = this.encodeHeader(MsgType.Append, 29 + bytes);
    w48(b, 7, prev);
    w48(b, 13, this.termAt(prev));
    w48(b, 19, this.commitIndex);
    b.writeUInt32BE(n, 25);
    let off = 29;
    for (let i = 0; i < n; i++) {
      const e = this.entry(p.next + i);
      off = w48(b, off, e.term);
      b[off++] = e.type;
      b.writeUInt32BE(e.data.length, off);
      off += 4;
      off += e.data.copy(b, off);
    }
    p.next += n;
    this.send(to, b);
  }

  private sendSnapshot(to: string, p: PeerProgress): void {
    const now = Date.now();
    // A snapshot can be large: once per election timeout unless answered.
    if (now - p.snapshotSentAt < this.elMax) return;
    p.snapshotSentAt = now;
    if (this.snap === null) return;
    const s = this.snap;
    const peers = encodePeers(s.peers);
    const b = this.encodeHeader(MsgType.Snapshot, 23 + peers.length + s.data.length);
    w48(b, 7, s.index);
    w48(b, 13, s.term);
    b.writeUInt32BE(peers.length, 19);
    peers.copy(b, 23);
    s.data.copy(b, 23 + peers.length);
    this.send(to, b);
  }

  // ---------------------------------------------------------------- receiving

  private receive(from: string, msg: Buffer): void {
    if (this.stopped || msg.length < 7) return;
    const type = msg[0] as MsgType;
    const term = r48(msg, 1);
    switch (type) {
      case MsgType.VoteReq: return this.onVoteReq(from, term, msg);
      case MsgType.VoteResp: return this.onVoteResp(from, term, msg);
      case MsgType.Append: return this.onAppend(from, term, msg);
      case MsgType.AppendResp: return this.onAppendResp(from, term, msg);
      case MsgType.Snapshot: return this.onSnapshot(from, term, msg);
      case MsgType.SnapResp: return this.onSnapResp(from, term, msg);
      case MsgType.TimeoutNow:
        if (term === this.curTerm && this.role !== Role.Leader && this.members.includes(this.id)) this.becomeCandidate(false, true);
        return;
      default:
    }
  }

  private onVoteReq(from: string, term: number, msg: Buffer): void {
    const lastIndex = r48(msg, 7);
    const lastTerm = r48(msg, 13);
    const pre = (msg[19] & 1) !== 0;
    const transfer = (msg[19] & 2) !== 0;
    const reply = (granted: boolean): void => {
      const b = this.encodeHeader(MsgType.VoteResp, 8);
      if (pre) w48(b, 1, term); // a pre-vote answer carries the term asked about
      b[7] = (pre ? 1 : 0) | (granted ? 2 : 0);
      this.send(from, b);
    };
    const upToDate = lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
    // Leader stickiness: while we hear from a leader, nobody else may start a term.
    const leaderAlive = !transfer && (this.role === Role.Leader || (this.leaderId !== null && Date.now() - this.lastLeaderContact < this.elMin));
    if (pre) {
      reply(term > this.curTerm && upToDate && !leaderAlive);
      return;
    }
    if (term < this.curTerm) { reply(false); return; }
    if (leaderAlive && term > this.curTerm) { reply(false); return; }
    if (term > this.curTerm) this.becomeFollower(term, null);
    const canVote = this.votedFor === '' || this.votedFor === from;
    if (canVote && upToDate) {
      this.votedFor = from;
      this.persistState();
      this.resetElectionTimer();
      this.afterDurable(() => reply(true));
    } else {
      this.afterDurable(() => reply(false));
    }
  }

  private onVoteResp(from: string, term: number, msg: Buffer): void {
    const pre = (msg[7] & 1) !== 0;
    const granted = (msg[7] & 2) !== 0;
    if (pre) {
      if (!this.preVoting || this.role !== Role.Follower || term !== this.curTerm + 1) return;
      if (!granted) return;
      this.votes.add(from);
      if (this.countVotes() >= this.quorum()) this.becomeCandidate(false);
      return;
    }
    if (term > this.curTerm) { this.becomeFollower(term, null); return; }
    if (this.role !== Role.Candidate || term !== this.curTerm || !granted) return;
    this.votes.add(from);
    if (this.countVotes() >= this.quorum()) this.becomeLeader();
  }

  private countVotes(): number {
    let n = 0;
    for (const v of this.votes) if (this.members.includes(v)) n++;
    return n;
  }

  private appendResp(to: string, success: boolean, index: number): void {
    const b = this.encodeHeader(MsgType.AppendResp, 14);
    b[7] = success ? 1 : 0;
    w48(b, 8, index);
    this.send(to, b);
  }

  private acceptLeader(from: string, term: number): void {
    if (term > this.curTerm || this.role !== Role.Follower || this.leaderId !== from) {
      this.becomeFollower(term, from);
    } else {
      this.resetElectionTimer();
    }
    this.lastLeaderContact = Date.now();
  }

  private onAppend(from: string, term: number, msg: Buffer): void {
    if (term < this.curTerm) { this.appendResp(from, false, this.lastIndex()); return; }
    this.acceptLeader(from, term);
    const prev = r48(msg, 7);
    const prevTerm = r48(msg, 13);
    const leaderCommit = r48(msg, 19);
    const n = msg.readUInt32BE(25);
    this.leaderCommit = Math.max(this.leaderCommit, leaderCommit);
    if (prev > this.lastIndex()) {
      this.afterDurable(() => this.appendResp(from, false, this.lastIndex()));
      return;
    }
    if (prev >= this.base && this.termAt(prev) !== prevTerm) {
      // Committed entries match the leader's: it can resume after our commit.
      const hint = Math.min(this.commitIndex, prev - 1);
      this.afterDurable(() => this.appendResp(from, false, hint));
      return;
    }
    let off = 29;
    let index = prev;
    for (let i = 0; i < n; i++) {
      const eterm = r48(msg, off);
      const etype = msg[off + 6] as EntryType;
      const len = msg.readUInt32BE(off + 7);
      off += 11;
      index++;
      if (index <= this.base) { off += len; continue; } // in our snapshot already
      const have = this.termAt(index);
      if (have === eterm) { off += len; continue; }
      if (have !== -1) this.truncateFrom(index);
      this.appendLocal({ term: eterm, type: etype, data: Buffer.from(msg.subarray(off, off + len)) });
      off += len;
    }
    const matched = index;
    // Commit only what we know matches the leader's log.
    const newCommit = Math.min(leaderCommit, matched);
    this.afterDurable(() => {
      if (this.termAt(matched) === -1 && matched > this.base) return;
      if (matched > this.durableIndex && matched <= this.lastIndex()) this.durableIndex = matched;
      this.appendResp(from, true, matched);
    });
    if (newCommit > this.commitIndex) {
      this.commitIndex = newCommit;
      this.applyCommitted();
    }
  }

  private onAppendResp(from: string, term: number, msg: Buffer): void {
    if (term > this.curTerm) { this.becomeFollower(term, null); return; }
    if (this.role !== Role.Leader || term !== this.curTerm) return;
    const p = this.progress.get(from);
    if (p === undefined) return;
    p.lastSeen = Date.now();
    const success = msg[7] === 1;
    const index = r48(msg, 8);
    if (success) {
      if (index > p.match) p.match = index;
      if (p.next <= p.match) p.next = p.match + 1;
      this.advanceCommit();
      if (p.next <= this.lastIndex()) this.sendAppend(from, false);
      if (this.transferTo === from && p.match === this.lastIndex() && Date.now() < this.transferUntil) {
        this.send(from, this.encodeHeader(MsgType.TimeoutNow, 7));
      }
    } else {
      // The follower's answer is the truth (responses arrive in order), even
      // below what it acknowledged before: a peer without a store restarted empty.
      if (index < p.match) p.match = index;
      p.next = Math.max(Math.min(index + 1, p.next - 1), 1);
      this.sendAppend(from, false);
    }
  }

  private onSnapshot(from: string, term: number, msg: Buffer): void {
    if (term < this.curTerm) return;
    this.acceptLeader(from, term);
    const index = r48(msg, 7);
    const sterm = r48(msg, 13);
    const plen = msg.readUInt32BE(19);
    const peers = decodePeers(msg.subarray(23, 23 + plen));
    const data = Buffer.from(msg.subarray(23 + plen));
    const reply = (): void => {
      const b = this.encodeHeader(MsgType.SnapResp, 13);
      w48(b, 7, index);
      this.send(from, b);
    };
    if (index <= this.commitIndex) { reply(); return; }
    if (this.termAt(index) === sterm) {
      // We hold the entries: keep the suffix, drop what the snapshot covers.
      this.compactTo(index, sterm, { index, term: sterm, peers, data }, false);
    } else {
      this.log = [];
      this.logBytes = 0;
      this.offsets = [];
      this.base = index;
      this.baseTerm = sterm;
      this.snap = { index, term: sterm, peers, data };
      this.members = peers;
      this.writeSnapshot();
    }
    try { this.machine.restore(data); } catch (e) { this.logErr(`raft ${this.group}: restore: ${String(e)}`); }
    this.commitIndex = Math.max(this.commitIndex, index);
    this.appliedIndex = index;
    this.durableIndex = Math.max(this.durableIndex, index);
    this.recomputeMembers();
    this.afterDurable(reply);
    this.applyCommitted();
  }

  private onSnapResp(from: string, term: number, msg: Buffer): void {
    if (term > this.curTerm) { this.becomeFollower(term, null); return; }
    if (this.role !== Role.Leader || term !== this.curTerm) return;
    const p = this.progress.get(from);
    if (p === undefined) return;
    const index = r48(msg, 7);
    p.lastSeen = Date.now();
    p.snapshotSentAt = 0;
    if (index > p.match) p.match = index;
    p.next = Math.max(p.next, p.match + 1);
    this.advanceCommit();
    this.sendAppend(from, false);
  }

  // ---------------------------------------------------------------- commit and apply

  private advanceCommit(): void {
    const matches = [this.durableIndex];
    for (const id of this.otherMembers()) matches.push(this.progress.get(id)?.match ?? 0);
    if (!this.members.includes(this.id)) matches.shift(); // a leader on its way out does not count itself
    matches.sort((a, b) => b - a);
    const n = matches[this.quorum() - 1] ?? 0;
    if (n > this.commitIndex && this.termAt(n) === this.curTerm) {
      this.commitIndex = n;
      this.applyCommitted();
    }
  }

  private applyCommitted(): void {
    while (this.appliedIndex < this.commitIndex && this.appliedIndex < this.lastIndex()) {
      const index = this.appliedIndex + 1;
      const e = this.entry(index);
      this.appliedIndex = index;
      if (e.type === EntryType.Normal) {
        try { this.machine.apply(e.data, index); } catch (err) { this.logErr(`raft ${this.group}: apply ${index}: ${String(err)}`); }
      }
      const p = this.proposals.get(index);
      if (p !== undefined) {
        this.proposals.delete(index);
        if (p.term === e.term) p.resolve(index); else p.reject(new RaftNotLeaderError(this.leaderId));
      }
      if (this.stopped) return;
    }
    if (this.appliedIndex - this.base >= this.snapshotEvery || (this.logBytes >= this.snapshotBytes && this.appliedIndex - this.base >= 16)) this.takeSnapshot();
  }

  private takeSnapshot(): void {
    const index = this.appliedIndex;
    const term = this.termAt(index);
    let data: Buffer;
    try { data = this.machine.snapshot(); } catch (e) { this.logErr(`raft ${this.group}: snapshot: ${String(e)}`); return; }
    // Membership as of the snapshot: the last Peers entry at or before it.
    let peers = this.snap?.peers ?? this.initialMembers;
    for (let i = index; i > this.base; i--) {
      const e = this.entry(i);
      if (e.type === EntryType.Peers) { peers = decodePeers(e.data); break; }
    }
    this.compactTo(index, term, { index, term, peers, data }, true);
  }

  /** make `snap` the base of the log, keeping the entries after it */
  private compactTo(index: number, term: number, snap: Snapshot, _local: boolean): void {
    const k = index - this.base;
    this.log = this.log.slice(k);
    this.logBytes = 0;
    for (const e of this.log) this.logBytes += e.data.length;
    this.base = index;
    this.baseTerm = term;
    this.snap = snap;
    this.writeSnapshot();
  }

  private writeSnapshot(): void {
    if (this.store === null || this.snap === null) return;
    const s = this.snap;
    const recs: Buffer[] = [];
    this.offsets = [];
    let size = 0;
    for (let i = 0; i < this.log.length; i++) {
      const r = encodeRecord(this.base + i + 1, this.log[i]);
      this.offsets.push(size);
      size += r.length;
      recs.push(r);
    }
    this.fileSize = size;
    this.store.push({ kind: 'snapshot', snap: encodeSnapshotFile(s.index, s.term, s.peers, s.data), log: Buffer.concat(recs) });
  }
}

/** Create and start a Raft node (timers run until stop()). */
export function createRaftNode(opts: RaftNodeOptions & RaftTuning): RaftNode {
  return new Node(opts);
}

export type { RaftNode, RaftNodeOptions } from './raft-types.js';
