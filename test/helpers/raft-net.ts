// An in-memory network for Raft unit tests: transports that deliver through
// setImmediate (or after a delay), and can drop messages or cut links.

import { createRaftNode, type RaftTuning } from '../../src/jetstream/cluster/raft.js';
import type { RaftNode, RaftStateMachine, RaftTransport } from '../../src/jetstream/cluster/raft-types.js';

type Handler = (from: string, msg: Buffer) => void;

export class MemNet {
  private readonly listeners = new Map<string, Handler>(); // key: group/id
  /** pairs "a|b" that cannot talk (both directions) */
  private readonly cut = new Set<string>();
  dropRate = 0;
  delayMs = 0;
  /** messages sent, by "from>to" */
  readonly sent = new Map<string, number>();
  /** bytes sent, by "from>to" */
  readonly sentBytes = new Map<string, number>();

  transport(self: string): RaftTransport {
    return {
      self,
      send: (group, to, msg) => this.deliver(group, self, to, Buffer.from(msg)),
      listen: (group, onMessage) => {
        const key = `${group}/${self}`;
        this.listeners.set(key, onMessage);
        return () => { if (this.listeners.get(key) === onMessage) this.listeners.delete(key); };
      },
    };
  }

  private deliver(group: string, from: string, to: string, msg: Buffer): void {
    const k = `${from}>${to}`;
    this.sent.set(k, (this.sent.get(k) ?? 0) + 1);
    this.sentBytes.set(k, (this.sentBytes.get(k) ?? 0) + msg.length);
    if (this.cut.has(`${from}|${to}`)) return;
    if (this.dropRate > 0 && Math.random() < this.dropRate) return;
    const run = (): void => { this.listeners.get(`${group}/${to}`)?.(from, msg); };
    if (this.delayMs > 0) setTimeout(run, this.delayMs); else setImmediate(run);
  }

  /** cut every link between the two sides */
  partition(a: string[], b: string[]): void {
    for (const x of a) for (const y of b) { this.cut.add(`${x}|${y}`); this.cut.add(`${y}|${x}`); }
  }

  heal(): void { this.cut.clear(); }
}

/** A state machine that records applied entries (as strings). */
export class ListMachine implements RaftStateMachine {
  entries: string[] = [];
  lastIndex = 0;
  restores = 0;
  leaderEvents: { isLeader: boolean; leader: string | null }[] = [];
  apply(entry: Buffer, index: number): void {
    if (index <= this.lastIndex) return; // idempotent after a restart
    this.entries.push(entry.toString());
    this.lastIndex = index;
  }
  snapshot(): Buffer { return Buffer.from(JSON.stringify({ e: this.entries, i: this.lastIndex })); }
  restore(b: Buffer): void {
    const v = JSON.parse(b.toString()) as { e: string[]; i: number };
    this.entries = v.e;
    this.lastIndex = v.i;
    this.restores++;
  }
  leaderChanged(isLeader: boolean, leader: string | null): void { this.leaderEvents.push({ isLeader, leader }); }
}

export interface TestNode { id: string; node: RaftNode; machine: ListMachine }

export const FAST = { electionTimeout: [150, 300] as [number, number], heartbeat: 40 };

export function startNode(net: MemNet, id: string, peers: string[], opts: { storeDir?: string | null; group?: string; machine?: ListMachine } & RaftTuning = {}): TestNode {
  const machine = opts.machine ?? new ListMachine();
  const node = createRaftNode({
    ...FAST,
    ...opts,
    group: opts.group ?? 'G',
    peers,
    transport: net.transport(id),
    machine,
    storeDir: opts.storeDir ?? null,
  });
  return { id, node, machine };
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

export async function waitFor<T>(what: string, f: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** the single leader among `nodes` that all the others follow */
export function waitLeader(nodes: TestNode[], timeoutMs = 5000): Promise<TestNode> {
  return waitFor('a leader', () => {
    const leaders = nodes.filter((n) => n.node.isLeader());
    if (leaders.length !== 1) return null;
    const l = leaders[0];
    return nodes.every((n) => n.node.leader() === l.id) ? l : null;
  }, timeoutMs);
}
