// Clustered JetStream (server/jetstream_cluster.go): the meta group `_meta_`
// of every JetStream server of the cluster, through which the meta leader
// assigns streams to servers, and what each server does with the
// assignments it applies (run the stream, stop it, answer the client).
//
// How requests travel: every JetStream server subscribes to $JS.API.> in
// every account, and an internal subscription's interest reaches the other
// servers over routes, so a request published anywhere (also on a server
// without JetStream) is delivered to all of them. Each decides whether it
// answers (dispatch): the meta leader for what changes or lists the
// assignments, the server running a stream (its leader) for the rest, the
// meta leader for a stream nobody has. The reference does the same.
//
// Peers: route INFO says which routed servers run JetStream
// (server/route.go c.route.jetstream); their tags and cluster come in a
// small hello on $JSC.NODE.INFO in the system account (the reference learns
// them from the $SYS statsz events). The meta Raft node starts once every
// routed JetStream server has said hello and the configured routes are up
// (or after a while without them), with those servers as its peers
// (server/raft.go bootstrapRaftNode waits for the expected peers too).

import fs from 'node:fs';
import path from 'node:path';
import type { Server } from '../../server/server.js';
import type { JetStream } from '../service.js';
import type { JsAccount } from '../account.js';
import type { Stream } from '../stream.js';
import type { ApiRequest, JsApi } from '../api.js';
import { InternalClient } from '../../client/internal.js';
import { decodeStreamConfig, type StreamConfig } from '../stream-config.js';
import { getHash } from '../../server/node-hash.js';
import { randomId } from '../ids.js';
import { clusteredDispatch } from './meta-api.js';
import { raftFactory as builtinRaft, streamGroupFactory as builtinGroups } from './raft-loader.js';
import type { StreamGroup, StreamGroupOptions } from './stream-group.js';
import type { RaftNode, RaftNodeOptions, RaftPeerInfo, RaftStateMachine, RaftTransport } from './raft-types.js';
import { MetaState, encodeEntry, type MetaEntry, type MetaListener, type PendingReply, type PlacementPeer, type StreamAssignment } from './meta-state.js';

export const META_GROUP = '_meta_';
const HELLO_SUBJECT = '$JSC.NODE.INFO';
/** a server became the leader of a replicated stream (system account): every server notes it */
const LEADER_SUBJECT = '$JSC.STREAM.LEADER';
/** how often peer discovery looks at the routes until the meta group starts */
const DISCOVERY_TICK_MS = 200;
/** the routes stayed as they are this long: the peers are known */
const DISCOVERY_STABLE_MS = 300;
/** start with the peers we have after this long, even if configured routes are missing */
const DISCOVERY_MAX_MS = 8000;
/** how long followers may take to learn of a commit (the Raft heartbeat, 250 ms, and some) */
const FOLLOWER_APPLY_MS = 300;

/** The Raft implementation, loaded at run time (jetstream/cluster/raft.ts) or set by tests. */
export interface RaftFactory {
  transport(server: Server): RaftTransport;
  create(opts: RaftNodeOptions): RaftNode;
}

/** A replicated stream on this server: jetstream/cluster/stream-group.ts declares its shape. */
export type { StreamGroup, StreamGroupOptions };

export type StreamGroupFactory = (o: StreamGroupOptions) => StreamGroup;

let raftFactory: RaftFactory | null = null;
let streamGroupFactory: StreamGroupFactory | null = null;

/** Tests and the loader set the Raft implementation and the stream groups here. */
export function setRaftFactory(f: RaftFactory | null): void {
  raftFactory = f;
}

export function setStreamGroupFactory(f: StreamGroupFactory | null): void {
  streamGroupFactory = f;
}

/** The built-in Raft implementation and stream groups, unless a test set its own. */
function loadImplementations(): void {
  if (raftFactory === null) raftFactory = builtinRaft;
  if (streamGroupFactory === null) streamGroupFactory = builtinGroups;
}

interface NodeInfo {
  name: string;
  cluster: string;
  tags: string[];
  domain: string;
}

/** A stream this server runs for the cluster. */
interface LocalStream {
  sa: StreamAssignment;
  stream: Stream;
  /** null: one replica here, or replicas without stream groups (run by the first peer only) */
  group: StreamGroup | null;
  /** the create/update answer, sent when this server becomes the stream's leader */
  pending: PendingReply | null;
  pendingUpdate: boolean;
}

function key(account: string, name: string): string {
  return `${account}\u0000${name}`;
}

export class JetStreamCluster implements MetaListener, RaftStateMachine {
  readonly state: MetaState;
  readonly self: string;
  readonly clusterName: string;
  node: RaftNode | null = null;
  private transport: RaftTransport | null = null;
  private metaLeader: string | null = null;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly local = new Map<string, LocalStream>();
  /** the last known leader of each replicated stream (for placement when its replicas shrink, and for lists) */
  private readonly streamLeaders = new Map<string, { group: string; leader: string }>();
  private ic: InternalClient | null = null;
  private discovery: NodeJS.Timeout | null = null;
  private lastPeerKey = '';
  private stableSince = 0;
  private startedAt = 0;
  private stopped = false;

  constructor(readonly js: JetStream) {
    const srv = js.server;
    this.self = srv.serverName;
    this.clusterName = srv.clusterName;
    this.state = new MetaState(this);
  }

  private get log(): Server['logger'] {
    return this.js.server.logger;
  }

  // --- start-up and peers --------------------------------------------------------

  async start(): Promise<void> {
    const log = this.log;
    log.notice('Starting JetStream cluster');
    log.notice('Creating JetStream metadata controller');
    loadImplementations();
    const srv = this.js.server;
    const acc = srv.systemAccount ?? srv.globalAccount;
    this.ic = new InternalClient(srv, acc, 'JetStream cluster');
    this.nodes.set(this.self, this.ownInfo());
    this.ic.subscribeInternal(HELLO_SUBJECT, null, (_s, _subject, _reply, _hdr, body) => this.hello(body));
    this.ic.subscribeInternal(LEADER_SUBJECT, null, (_s, _subject, _reply, _hdr, body) => {
      try {
        const o = JSON.parse(body.toString('utf8')) as { account: string; stream: string; group: string; leader: string };
        this.streamLeaders.set(key(o.account, o.stream), { group: o.group, leader: o.leader });
      } catch {
        // not ours
      }
    });
    this.sendHello();
    this.startedAt = Date.now();
    this.discovery = setInterval(() => this.discover(), DISCOVERY_TICK_MS);
    this.discovery.unref();
  }

  private ownInfo(): NodeInfo {
    const o = this.js.server.opts;
    return { name: this.self, cluster: this.js.server.clusterName, tags: o.tags ?? [], domain: this.js.domain };
  }

  private sendHello(): void {
    this.ic?.publish(HELLO_SUBJECT, '', null, Buffer.from(JSON.stringify(this.ownInfo())));
  }

  private hello(body: Buffer): void {
    let n: NodeInfo;
    try {
      n = JSON.parse(body.toString('utf8')) as NodeInfo;
    } catch {
      return;
    }
    if (typeof n.name !== 'string' || n.name === this.self) return;
    const known = this.nodes.has(n.name);
    this.nodes.set(n.name, { name: n.name, cluster: String(n.cluster ?? ''), tags: Array.isArray(n.tags) ? n.tags.map(String) : [], domain: String(n.domain ?? '') });
    // a newcomer may have missed ours (its interest reached us after we sent it)
    if (!known) this.sendHello();
  }

  /** Routed servers: name → runs JetStream. */
  private routedServers(): Map<string, boolean> {
    const m = new Map<string, boolean>();
    const cm = this.js.server.cluster;
    if (cm === null) return m;
    for (const r of cm.routes()) if (r.remoteName !== '') m.set(r.remoteName, (m.get(r.remoteName) ?? false) || r.remoteJetStream);
    return m;
  }

  /** JetStream peers we know of, online or not, as placement sees them. */
  placementPeers(): PlacementPeer[] {
    const routed = this.routedServers();
    const names = new Set<string>(this.node !== null ? this.node.peers().map((p) => p.id) : []);
    names.add(this.self);
    for (const [name, js] of routed) if (js) names.add(name);
    const out: PlacementPeer[] = [];
    for (const name of names) {
      const n = this.nodes.get(name);
      out.push({ name, cluster: n?.cluster ?? this.clusterName, tags: n?.tags ?? [], online: name === this.self || routed.has(name) });
    }
    return out;
  }

  private lastHello = 0;

  private discover(): void {
    if (this.stopped) return;
    const routed0 = this.routedServers();
    // a routed JetStream server we have no hello from: ours may have gone before its interest reached us
    const now0 = Date.now();
    if (now0 - this.lastHello >= 1000 && [...routed0].some(([n, js]) => js && !this.nodes.has(n))) {
      this.lastHello = now0;
      this.sendHello();
    }
    if (this.node !== null) return;
    const routed = this.routedServers();
    const jsPeers = [...routed].filter(([, js]) => js).map(([n]) => n);
    const peerKey = [...routed.keys()].sort().join(',') + '|' + jsPeers.filter((n) => this.nodes.has(n)).length;
    const now = Date.now();
    if (peerKey !== this.lastPeerKey) {
      this.lastPeerKey = peerKey;
      this.stableSince = now;
      return;
    }
    const configured = this.configuredPeers();
    const allHello = jsPeers.every((n) => this.nodes.has(n));
    const enoughRoutes = routed.size >= configured;
    const waited = now - this.startedAt;
    if (waited < DISCOVERY_MAX_MS && (!allHello || !enoughRoutes)) return;
    if (now - this.stableSince < DISCOVERY_STABLE_MS) return;
    if (waited < DISCOVERY_MAX_MS && jsPeers.length === 0 && configured > 0) return;
    this.startMeta([this.self, ...jsPeers].sort());
  }

  /** configured routes that are not to this server (a config shared by every node lists itself too) */
  private configuredPeers(): number {
    const srv = this.js.server;
    const own = srv.cluster?.port ?? 0;
    const local = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::1', '[::1]', srv.opts.cluster.host]);
    let n = 0;
    for (const r of srv.opts.routes) {
      let u: URL;
      try {
        u = new URL(r);
      } catch {
        n++;
        continue;
      }
      if (Number(u.port) === own && local.has(u.hostname)) continue;
      n++;
    }
    return n;
  }

  private startMeta(peers: string[]): void {
    if (this.discovery !== null) clearInterval(this.discovery);
    this.discovery = setInterval(() => this.discover(), 1000);
    this.discovery.unref();
    const f = raftFactory;
    if (f === null) {
      this.log.error(`JetStream cluster: no Raft implementation is built in, the metadata controller cannot start`);
      return;
    }
    const sys = this.js.server.systemAccount?.name ?? '$SYS';
    const storeDir = path.join(this.js.storeDir, sys, '_js_', META_GROUP);
    // server/jetstream_cluster.go setupMetaGroup: a stored group recovers, a new one bootstraps
    if (fs.existsSync(storeDir) && fs.readdirSync(storeDir).length > 0) this.log.notice('JetStream cluster recovering state');
    else {
      this.log.notice('JetStream cluster bootstrapping');
      if (this.log.debugEnabled) this.log.debug(`JetStream cluster initial peers: ${JSON.stringify(peers)}`);
    }
    try {
      this.transport = f.transport(this.js.server);
      this.node = f.create({
        group: META_GROUP,
        peers,
        transport: this.transport,
        machine: this,
        storeDir,
      });
    } catch (e) {
      // e.g. no system account for the Raft transport: JetStream stays without a meta leader
      this.log.error(`Could not start metadata controller: ${(e as Error).message}`);
      this.transport = null;
      this.node = null;
      this.stopped = true;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.discovery !== null) clearInterval(this.discovery);
    this.discovery = null;
    this.node?.stop(false);
    for (const l of this.local.values()) void l.group?.stop(false);
    this.ic?.closeInternal();
  }

  // --- RaftStateMachine ------------------------------------------------------------

  apply(entry: Buffer): void {
    this.state.apply(entry);
  }

  snapshot(): Buffer {
    return this.state.snapshot();
  }

  restore(snapshot: Buffer): void {
    this.state.restore(snapshot);
  }

  leaderChanged(isLeader: boolean, leader: string | null): void {
    const was = this.metaLeader;
    this.metaLeader = leader;
    if (leader === was) return;
    if (isLeader) this.log.notice('Self is new JetStream cluster metadata leader');
    else if (leader === null) this.log.notice('JetStream cluster no metadata leader');
    else this.log.notice(`JetStream cluster new metadata leader: ${leader}/${this.nodes.get(leader)?.cluster ?? this.clusterName}`);
  }

  isMetaLeader(): boolean {
    return this.node !== null && this.node.isLeader();
  }

  leaderName(): string | null {
    if (this.node === null) return null;
    return this.node.leader();
  }

  // --- MetaListener: what an assignment means on this server ------------------------

  streamAssigned(sa: StreamAssignment, _prev: StreamAssignment | undefined, reply: PendingReply | undefined, update: boolean): void {
    const jsa = this.js.accounts.get(sa.account);
    if (jsa === undefined) return;
    const k = key(sa.account, sa.name);
    const l = this.local.get(k);
    let cfg: StreamConfig;
    try {
      cfg = decodeStreamConfig(sa.config);
    } catch (e) {
      this.log.warn(`JetStream cluster: bad stream assignment for '${sa.account} > ${sa.name}': ${(e as Error).message}`);
      return;
    }
    const runsHere = this.runsHere(sa);
    if (!runsHere) {
      if (l !== undefined) void this.removeLocal(jsa, l);
      return;
    }
    const grouped = sa.peers.length > 1 && streamGroupFactory !== null && this.transport !== null;
    if (l !== undefined && ((l.group === null && grouped) || (l.group !== null && l.sa.group !== sa.group))) {
      // The replicas changed (the meta leader named a new group): the stream
      // stops here and starts again on its stored messages, alone or in the
      // new group (a memory stream starts empty).
      void this.removeLocal(jsa, l, false).then(() => this.createLocal(jsa, sa, cfg, reply, update));
      return;
    }
    if (l === undefined) {
      this.createLocal(jsa, sa, cfg, reply, update);
      return;
    }
    l.sa = sa;
    const s = l.stream;
    if (l.group !== null) l.group.update(cfg);
    else {
      s.update(cfg);
      if (cfg.storage === 'file') this.js.writeMeta(this.js.streamDir(jsa, cfg.name), cfg, s.created);
      this.js.api.sourcesHook?.(s);
    }
    if (reply !== undefined) {
      l.pending = reply;
      l.pendingUpdate = true;
      this.answerPending(l);
    }
  }

  /** Whether this server runs the stream (without stream groups a replicated stream runs on its first peer only). */
  private runsHere(sa: StreamAssignment): boolean {
    if (!sa.peers.includes(this.self)) return false;
    if (sa.peers.length > 1 && (streamGroupFactory === null || this.transport === null)) return sa.peers[0] === this.self;
    return true;
  }

  private createLocal(jsa: JsAccount, sa: StreamAssignment, cfg: StreamConfig, reply: PendingReply | undefined, update: boolean): void {
    const k = key(sa.account, sa.name);
    let l: LocalStream;
    try {
      if (sa.peers.length > 1 && streamGroupFactory !== null && this.transport !== null) {
        const holder: { l: LocalStream | null } = { l: null };
        const group = streamGroupFactory({
          js: this.js,
          jsa,
          cfg,
          created: sa.created,
          group: sa.group,
          peers: sa.peers,
          transport: this.transport,
          onLeaderChange: (isLeader) => {
            if (holder.l === null) return;
            if (isLeader) {
              this.answerPending(holder.l);
              const sa0 = holder.l.sa;
              this.ic?.publish(LEADER_SUBJECT, '', null, Buffer.from(JSON.stringify({ account: sa0.account, stream: sa0.name, group: sa0.group, leader: this.self })));
            }
          },
        });
        l = { sa, stream: group.stream, group, pending: reply ?? null, pendingUpdate: update };
        holder.l = l;
      } else {
        const existing = jsa.streams.get(cfg.name);
        let s: Stream;
        if (existing !== undefined) {
          // recovered from disk at start: the assignment confirms it, and only
          // now does it take publishes and run its consumers (service.ts
          // recoverAccount leaves that to the assignment when clustered)
          s = existing;
          if (JSON.stringify(existing.cfg) !== JSON.stringify(cfg)) {
            s.update(cfg);
            if (cfg.storage === 'file') this.js.writeMeta(this.js.streamDir(jsa, cfg.name), cfg, s.created);
          }
          s.subscribe();
          if (s.consumers.size === 0) this.js.recoverConsumers?.(s);
        } else s = this.js.createStream(jsa, cfg, sa.created);
        this.js.api.sourcesHook?.(s);
        l = { sa, stream: s, group: null, pending: reply ?? null, pendingUpdate: update };
        if (existing === undefined) this.js.api.streamAdvisory(jsa, cfg.name, 'create');
      }
    } catch (e) {
      this.log.warn(`JetStream cluster: error creating stream '${sa.account} > ${sa.name}': ${(e as Error).message}`);
      if (reply !== undefined) this.js.api.respondTo(jsa, reply, update ? 'update' : 'create', 'error creating store for stream');
      return;
    }
    this.local.set(k, l);
    this.answerPending(l);
  }

  private async removeLocal(jsa: JsAccount, l: LocalStream, deleteData = true): Promise<void> {
    const k = key(l.sa.account, l.sa.name);
    if (this.local.get(k) === l) this.local.delete(k);
    for (const t of l.stream.sourceTaps) t.stop();
    if (l.group !== null) {
      jsa.streams.delete(l.sa.name);
      await l.group.stop(deleteData);
    } else if (deleteData) await this.js.deleteStream(jsa, l.stream);
    else {
      jsa.streams.delete(l.sa.name);
      await l.stream.stop(false);
    }
  }

  streamRemoved(sa: StreamAssignment): void {
    const jsa = this.js.accounts.get(sa.account);
    const l = this.local.get(key(sa.account, sa.name));
    if (jsa === undefined || l === undefined) return;
    void this.removeLocal(jsa, l).then(() => this.js.api.streamAdvisory(jsa, sa.name, 'delete'));
  }

  /** The create/update answer goes out from the stream's leader, once it has one (the reference's sa.Reply). */
  private answerPending(l: LocalStream): void {
    if (l.pending === null) return;
    if (l.group !== null && !l.group.isLeader()) return;
    const p = l.pending;
    l.pending = null;
    const send = (): void => this.js.api.respondStream(l.stream, p, l.pendingUpdate ? 'update' : 'create', this.streamExtras(l.stream, ''));
    // The meta leader applies an entry before the followers hear that it is
    // committed (with the next append or heartbeat): answering at once would
    // let the client ask a follower about it before that follower knows.
    if (this.isMetaLeader()) setTimeout(send, FOLLOWER_APPLY_MS).unref();
    else send();
  }

  // --- what the API asks ----------------------------------------------------------------

  /** Raft groups on this server (/jsz ha_assets): the meta group and the replicated streams */
  raftGroups(): number {
    let n = this.node !== null ? 1 : 0;
    for (const l of this.local.values()) if (l.group !== null) n++;
    return n;
  }

  /** The stream runs here and this server answers for it (R1 host or group leader). */
  isStreamLeader(account: string, name: string): boolean {
    const l = this.local.get(key(account, name));
    if (l === undefined) return false;
    return l.group === null || l.group.isLeader();
  }

  localStream(account: string, name: string): { stream: Stream; group: StreamGroup | null } | undefined {
    return this.local.get(key(account, name));
  }

  /** Whether the origin of a mirror/source can be read from this server's store. */
  isLocalStream(account: string, name: string): boolean {
    const sa = this.state.stream(account, name);
    if (sa === undefined) return true; // not (yet) assigned: wait for it locally as a lone server does
    return this.local.has(key(account, name));
  }

  streamCount(account: string): number {
    return this.state.accountStreams(account).length;
  }

  /**
   * `cluster` and `alternates` of a stream's info (server/jetstream_cluster.go
   * clusterInfo, streamAlternates): the requester's cluster is ours, so the
   * alternates keep the table's order.
   */
  streamExtras(s: Stream, _requester: string, withAlternates = true): Record<string, unknown> {
    const sa = this.state.stream(s.jsa.name, s.name);
    if (sa === undefined) return {};
    return this.streamExtrasOf(sa, withAlternates);
  }

  streamExtrasOf(sa: StreamAssignment, withAlternates = true): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const l = this.local.get(key(sa.account, sa.name));
    const ci: Record<string, unknown> = {};
    if (sa.cluster !== '') ci.name = sa.cluster;
    let leader: string | null;
    if (l !== undefined) leader = l.group !== null ? l.group.leader() : this.self;
    else leader = sa.peers.length === 1 ? sa.peers[0] : this.knownLeader(sa);
    if (leader !== null && leader !== '') ci.leader = leader;
    if (l !== undefined && l.group !== null) {
      const reps = l.group
        .peers()
        .filter((p) => p.id !== this.self)
        .map((p) => peerJSON(p));
      if (reps.length > 0) ci.replicas = reps;
    }
    out.cluster = ci;
    if (!withAlternates) return out;
    const alts: Record<string, unknown>[] = [];
    for (const o of this.state.accountStreams(sa.account)) {
      const mirror = o.config.mirror as { name?: string } | null | undefined;
      if (o.name === sa.name || (mirror !== undefined && mirror !== null && mirror.name === sa.name)) {
        const a: Record<string, unknown> = { name: o.name };
        if (this.js.domain !== '') a.domain = this.js.domain;
        a.cluster = o.cluster;
        alts.push(a);
      }
    }
    if (alts.length > 1) out.alternates = alts;
    return out;
  }

  /** /jsz meta_cluster (server/monitor.go MetaClusterInfo) */
  metaJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    if (this.clusterName !== '') o.name = this.clusterName;
    const leader = this.leaderName();
    if (leader !== null) {
      o.leader = leader;
      o.peer = getHash(leader);
    }
    if (this.node !== null && this.node.isLeader()) {
      const reps = this.node
        .peers()
        .filter((p) => p.id !== this.self)
        .map((p) => peerJSON(p));
      if (reps.length > 0) o.replicas = reps;
    }
    o.cluster_size = this.node !== null ? this.node.peers().length : this.placementPeers().length;
    return o;
  }

  /** Propose through the meta leader. */
  propose(e: MetaEntry): Promise<number> {
    if (this.node === null) return Promise.reject(new Error('no meta group'));
    return this.node.propose(encodeEntry(e));
  }

  /** server/jetstream_cluster.go groupName */
  newGroupName(replicas: number, storage: string): string {
    return `S-R${replicas}${storage === 'memory' ? 'M' : 'F'}-${getHash(randomId(22))}`;
  }

  /** the known leader of a replicated stream's current group, or null */
  knownLeader(sa: StreamAssignment): string | null {
    const l = this.local.get(key(sa.account, sa.name));
    if (l?.group) return l.group.leader();
    const k = this.streamLeaders.get(key(sa.account, sa.name));
    return k !== undefined && k.group === sa.group && sa.peers.includes(k.leader) ? k.leader : null;
  }

  /** the stream's peers now (for the info of a stream that runs elsewhere) */
  peersOf(account: string, name: string): string[] {
    return this.state.stream(account, name)?.peers ?? [];
  }

  /** An API request reached this server: true when the local handlers should answer it. */
  dispatch(api: JsApi, req: ApiRequest): boolean {
    return clusteredDispatch(this, api, req);
  }
}

function peerJSON(p: RaftPeerInfo): Record<string, unknown> {
  const o: Record<string, unknown> = { name: p.id, current: p.current, active: Math.round(p.lastSeenMs * 1e6) };
  if (p.lag > 0) o.lag = p.lag;
  o.peer = getHash(p.id);
  return o;
}

