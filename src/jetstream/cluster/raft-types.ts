// The contract between the Raft implementation (raft.ts, raft-transport.ts)
// and the clustered JetStream layers built on it (the meta group that
// assigns streams and consumers, and the per-stream groups that replicate
// messages). Both sides are written against this file only, so either can
// change its inside without touching the other. The reference's equivalent
// is the RaftNode interface of server/raft.go.

/** How Raft messages of a group travel between servers (routes, in tsnats). */
export interface RaftTransport {
  /** This server's id in every group (the server name, unique in the cluster). */
  readonly self: string;
  /** Send `msg` to peer `to` of `group`; fire and forget, may be lost. */
  send(group: string, to: string, msg: Buffer): void;
  /** Receive the group's messages; returns the function that stops receiving. */
  listen(group: string, onMessage: (from: string, msg: Buffer) => void): () => void;
}

/** What a group applies: implemented by the meta layer and the stream layer. */
export interface RaftStateMachine {
  /**
   * Committed entries, in log order, exactly once per entry on every peer
   * (after a restart, entries after the last snapshot are applied again:
   * apply must be idempotent for them or the machine must snapshot often).
   */
  apply(entry: Buffer, index: number): void;
  /** A compact image of the machine's state, so the log before it can go. */
  snapshot(): Buffer;
  /** Replace the machine's state with a snapshot (a lagging or new peer). */
  restore(snapshot: Buffer): void;
  /** Leadership of this group changed (leader is null while there is none). */
  leaderChanged(isLeader: boolean, leader: string | null): void;
}

export interface RaftPeerInfo {
  id: string;
  /** has acknowledged the leader's latest heartbeat or append */
  current: boolean;
  /** ms since the leader last heard from it (0 on followers: unknown) */
  lastSeenMs: number;
  /** entries the peer is behind the leader's last index (0 on followers: unknown) */
  lag: number;
}

export interface RaftNode {
  readonly group: string;
  readonly id: string;
  /**
   * Append an entry through the leader. Resolves with its index once it is
   * committed (a majority stored it), rejects with RaftNotLeaderError on a
   * follower and when leadership is lost before commit.
   */
  propose(entry: Buffer): Promise<number>;
  isLeader(): boolean;
  leader(): string | null;
  term(): number;
  /** index of the last committed and applied entry */
  applied(): number;
  /** true once the peer has caught up with the leader after (re)start */
  isCurrent(): boolean;
  peers(): RaftPeerInfo[];
  /** leader only: hand leadership to `preferred` or to any current peer */
  stepDown(preferred?: string): void;
  /** leader only: membership changes go through the log */
  addPeer(id: string): Promise<void>;
  removePeer(id: string): Promise<void>;
  /** stop timers and receiving; `deleteState` also removes the stored log */
  stop(deleteState?: boolean): void;
}

export interface RaftNodeOptions {
  group: string;
  peers: string[];            // every member, including transport.self
  transport: RaftTransport;
  machine: RaftStateMachine;
  /** directory for term, vote, log and snapshot; null keeps them in memory */
  storeDir: string | null;
  /** ms; randomised in [min, max] per election (reference: 4–9 s in 2.9.10) */
  electionTimeout?: [number, number];
  /** ms between leader heartbeats */
  heartbeat?: number;
}

export class RaftNotLeaderError extends Error {
  constructor(readonly leader: string | null) {
    super('not leader');
    this.name = 'RaftNotLeaderError';
  }
}
