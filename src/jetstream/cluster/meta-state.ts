// The state of the JetStream meta group `_meta_` (server/jetstream_cluster.go
// jetStreamCluster.streams): which streams exist in which account, with
// which config, on which peers. Every JetStream server of the cluster keeps
// the same table by applying the same committed entries; the meta leader is
// the only one that proposes them. Pure data: no I/O, no timers, so that it
// can be tested without a server (what a server does with a change is the
// listener's business, jetstream/cluster/meta.ts).
//
// Entries are JSON (the reference encodes an op byte followed by JSON; the
// log is internal to tsnats, so JSON with an `op` field is enough).

/** A stream's placement and config (server/jetstream_cluster.go streamAssignment). */
export interface StreamAssignment {
  account: string;
  name: string;
  /** StreamConfig JSON as the API shows it (stream-config.ts streamConfigJSON) */
  config: Record<string, unknown>;
  /** creation time, ns since the epoch */
  created: number;
  /** raft group name (server/jetstream_cluster.go groupName: S-R<n><F|M>-<hash>) */
  group: string;
  /** server names, the preferred leader first */
  peers: string[];
  /** cluster the peers belong to */
  cluster: string;
}

/** Who is waiting for the answer to a create or update, carried in the entry (the reference's sa.Reply). */
export interface PendingReply {
  subject: string;
  reply: string;
  /** the request body, for the API audit advisory */
  body: string;
}

export type MetaEntry =
  | { op: 'stream'; sa: StreamAssignment; reply?: PendingReply; update?: boolean }
  | { op: 'remove'; account: string; name: string };

/** What a server does when the table changes (apply on every server, in log order). */
export interface MetaListener {
  streamAssigned(sa: StreamAssignment, prev: StreamAssignment | undefined, reply: PendingReply | undefined, update: boolean): void;
  streamRemoved(sa: StreamAssignment): void;
}

export function encodeEntry(e: MetaEntry): Buffer {
  return Buffer.from(JSON.stringify(e));
}

export function decodeEntry(b: Buffer): MetaEntry | null {
  try {
    const o = JSON.parse(b.toString('utf8')) as MetaEntry;
    if (o === null || typeof o !== 'object') return null;
    if (o.op === 'stream' && typeof o.sa === 'object' && o.sa !== null) return o;
    if (o.op === 'remove' && typeof o.account === 'string' && typeof o.name === 'string') return o;
    return null;
  } catch {
    return null;
  }
}

export class MetaState {
  /** account → stream name → assignment */
  private readonly streams = new Map<string, Map<string, StreamAssignment>>();

  constructor(private readonly listener: MetaListener | null = null) {}

  stream(account: string, name: string): StreamAssignment | undefined {
    return this.streams.get(account)?.get(name);
  }

  /** the account's assignments, sorted by name */
  accountStreams(account: string): StreamAssignment[] {
    const m = this.streams.get(account);
    if (m === undefined) return [];
    return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  *all(): Iterable<StreamAssignment> {
    for (const m of this.streams.values()) yield* m.values();
  }

  /** streams per server name (placement spreads R1 streams by it) */
  load(): Map<string, number> {
    const n = new Map<string, number>();
    for (const sa of this.all()) for (const p of sa.peers) n.set(p, (n.get(p) ?? 0) + 1);
    return n;
  }

  apply(entry: Buffer): void {
    const e = decodeEntry(entry);
    if (e === null) return;
    if (e.op === 'stream') {
      const sa = e.sa;
      let m = this.streams.get(sa.account);
      if (m === undefined) {
        m = new Map();
        this.streams.set(sa.account, m);
      }
      const prev = m.get(sa.name);
      m.set(sa.name, sa);
      this.listener?.streamAssigned(sa, prev, e.reply, e.update === true);
      return;
    }
    const m = this.streams.get(e.account);
    const prev = m?.get(e.name);
    if (m === undefined || prev === undefined) return;
    m.delete(e.name);
    if (m.size === 0) this.streams.delete(e.account);
    this.listener?.streamRemoved(prev);
  }

  snapshot(): Buffer {
    return Buffer.from(JSON.stringify({ streams: [...this.all()] }));
  }

  /** Replace the table; the listener hears about what appeared, changed and went. */
  restore(snap: Buffer): void {
    let list: StreamAssignment[] = [];
    try {
      const o = JSON.parse(snap.toString('utf8')) as { streams?: StreamAssignment[] };
      if (Array.isArray(o.streams)) list = o.streams;
    } catch {
      return;
    }
    const next = new Map<string, Map<string, StreamAssignment>>();
    for (const sa of list) {
      let m = next.get(sa.account);
      if (m === undefined) next.set(sa.account, (m = new Map()));
      m.set(sa.name, sa);
    }
    const gone: StreamAssignment[] = [];
    for (const sa of this.all()) if (next.get(sa.account)?.get(sa.name) === undefined) gone.push(sa);
    const before = new Map<string, StreamAssignment>();
    for (const sa of this.all()) before.set(`${sa.account}\u0000${sa.name}`, sa);
    this.streams.clear();
    for (const [k, v] of next) this.streams.set(k, v);
    for (const sa of gone) this.listener?.streamRemoved(sa);
    for (const sa of list) {
      const prev = before.get(`${sa.account}\u0000${sa.name}`);
      if (prev !== undefined && JSON.stringify(prev) === JSON.stringify(sa)) continue;
      this.listener?.streamAssigned(sa, prev, undefined, prev !== undefined);
    }
  }
}

/** A peer the meta leader may place streams on. */
export interface PlacementPeer {
  name: string;
  cluster: string;
  tags: string[];
  /** false while the peer is not reachable */
  online: boolean;
}

/**
 * Choose `replicas` peers for a stream (server/jetstream_cluster.go
 * selectPeerGroup, simplified): peers of the wanted cluster, online, with
 * every placement tag; the least loaded first (ties by name, so that
 * placement is deterministic for a given table). Returns the reference's
 * error text when there are not enough.
 */
export function selectPeers(
  peers: PlacementPeer[],
  replicas: number,
  cluster: string,
  tags: string[],
  load: Map<string, number>,
): string[] | string {
  const missingTags = new Set<string>();
  let offline = false;
  const ok: PlacementPeer[] = [];
  for (const p of peers) {
    if (p.cluster !== cluster) continue;
    const lower = new Set(p.tags.map((t) => t.toLowerCase()));
    const missing = tags.filter((t) => !lower.has(t.toLowerCase()));
    if (missing.length > 0) {
      for (const t of missing) missingTags.add(t);
      continue;
    }
    if (!p.online) {
      offline = true;
      continue;
    }
    ok.push(p);
  }
  if (ok.length < replicas) {
    let msg = 'no suitable peers for placement';
    if (offline) msg += ', peer offline';
    if (missingTags.size > 0) msg += `, tags not matched [${[...missingTags].map((t) => `'${t}'`).join(', ')}]`;
    return msg;
  }
  ok.sort((a, b) => {
    const d = (load.get(a.name) ?? 0) - (load.get(b.name) ?? 0);
    if (d !== 0) return d;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return ok.slice(0, replicas).map((p) => p.name);
}

/**
 * StreamInfo JSON in the reference's field order (server/stream.go
 * StreamInfo: config, created, state, domain, cluster, mirror, sources,
 * alternates), with the cluster's fields merged in.
 */
export function orderedInfo(info: Record<string, unknown>, extras: Record<string, unknown>): Record<string, unknown> {
  const all: Record<string, unknown> = { ...info, ...extras };
  const o: Record<string, unknown> = {};
  for (const k of ['total', 'offset', 'limit', 'config', 'created', 'state', 'domain', 'cluster', 'mirror', 'sources', 'alternates']) {
    if (all[k] !== undefined) o[k] = all[k];
  }
  for (const [k, v] of Object.entries(all)) if (!(k in o)) o[k] = v;
  return o;
}

