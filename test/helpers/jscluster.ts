// A JetStream cluster of server processes (tsnats or the reference) for
// clustered JetStream tests: random client, route and monitoring ports,
// temporary store dirs, every node routed to every other; and waiting until
// every JetStream node reports the same meta leader on /jsz (what the
// nats.js launcher's dataClusterFormed waits for).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ServerKind } from './servers.js';
import { freePort, sleep, startNode, type ClusterNode } from '../blackbox/cluster-helpers.js';

export interface JsNode {
  name: string;
  node: ClusterNode;
  http: number;
  dir: string;
  jetstream: boolean;
  tags: string[];
}

export interface JsClusterOptions {
  /** indexes of nodes started without JetStream */
  noJetStream?: number[];
  cluster?: string;
}

export async function startJsCluster(kind: ServerKind, n: number, o: JsClusterOptions = {}): Promise<JsNode[]> {
  const routePorts: number[] = [];
  for (let i = 0; i < n; i++) routePorts.push(await freePort());
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`);
  const nodes: JsNode[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${kind === 'tsnats' ? 't' : 'g'}${i + 1}`;
    const http = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tsnats-jscluster-'));
    const jetstream = !(o.noJetStream ?? []).includes(i);
    const tags = [`id:${name}`, `az:${i % 2 === 0 ? 'a' : 'b'}`];
    const extra = [`http: "127.0.0.1:${http}"`, `server_tags: ${JSON.stringify(tags)}`];
    if (jetstream) extra.push(`jetstream { store_dir: ${JSON.stringify(dir)} }`);
    const node = await startNode(kind, {
      name,
      cluster: o.cluster ?? 'JSC',
      routePort: routePorts[i],
      routes: routes.filter((_, j) => j !== i),
      extraConf: extra.join('\n'),
      process: true,
    });
    nodes.push({ name, node, http, dir, jetstream, tags });
  }
  return nodes;
}

export async function stopJsCluster(nodes: JsNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.node.stop()));
  for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
}

export async function jsz(n: JsNode, query = ''): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${n.http}/jsz${query}`);
  return (await r.json()) as Record<string, unknown>;
}

/** Every JetStream node names the same meta leader; returns its name. */
export async function waitMetaLeader(nodes: JsNode[], timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(
      nodes.filter((n) => n.jetstream).map(async (n) => ((await jsz(n).catch(() => ({}))) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader),
    );
    if (leaders.every((l) => l !== undefined && l === leaders[0])) return leaders[0]!;
    if (Date.now() > end) throw new Error(`no meta leader agreement: ${JSON.stringify(leaders)}`);
    await sleep(200);
  }
}

export async function jsApi(nc: NatsConnection, subject: string, body: unknown = ''): Promise<Record<string, unknown>> {
  const m = await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 5000 });
  return m.json<Record<string, unknown>>();
}

/** Retry `f` until it returns non-null (the cluster may still be settling). */
export { waitForValue as until } from './jetstream.js';
