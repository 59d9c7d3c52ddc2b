// Shared pieces of the leafnode tests (test/differential/leafnode-*.test.ts,
// test/faults/leafnode.test.ts): waiting, the leafnode port a server logged,
// hub and leaf start-up, and the probe that tells interest crossed.

import type { NatsConnection } from '@nats-io/transport-node';
import { startServer, writeConfig, type RunningServer, type ServerKind } from './servers.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function serverLog(s: RunningServer): string {
  return s.stderr() + s.stdout();
}

/** The leafnode port a server logged at start-up. */
export function leafPort(s: RunningServer): number {
  const m = /Listening for leafnode connections on \S+:(\d+)/.exec(serverLog(s));
  if (m === null) throw new Error(`no leafnode listener in the log of ${s.kind}`);
  return Number(m[1]);
}

/** The monitoring port a server logged at start-up. */
export function monitorPort(s: RunningServer): number {
  const m = /Starting http monitor on \S+:(\d+)|Listening for monitoring connections on \S+:(\d+)/.exec(serverLog(s));
  if (m === null) throw new Error(`no monitor listener in the log of ${s.kind}`);
  return Number(m[1] ?? m[2]);
}

/** a port below the ephemeral range (cluster-helpers.ts) */
export { freePort } from '../blackbox/cluster-helpers.js';

export async function startHub(kind: ServerKind, port = -1, extra = ''): Promise<RunningServer> {
  const conf = writeConfig(`server_name: HUB_${kind}\nleafnodes { host: 127.0.0.1, port: ${port} }\n${extra}`);
  return startServer(kind, ['-c', conf]);
}

export async function startLeaf(kind: ServerKind, hubLeafPort: number, extra = ''): Promise<RunningServer> {
  const conf = writeConfig(`server_name: LEAF_${kind}\nleafnodes { reconnect: 1, remotes [ { url: "nats://127.0.0.1:${hubLeafPort}" } ] }\n${extra}`);
  return startServer(kind, ['-c', conf]);
}

/** Publish on `pub` until `sub` sees it: the interest crossed the leaf connection. */
export async function interestCrossed(pub: NatsConnection, sub: NatsConnection, subject: string, timeoutMs = 10_000): Promise<void> {
  let seen = false;
  const s = sub.subscribe(subject, { callback: () => void (seen = true) });
  await sub.flush();
  await waitFor(
    `interest in ${subject}`,
    async () => {
      pub.publish(subject, 'probe');
      await pub.flush();
      await sleep(30);
      return seen;
    },
    timeoutMs,
  );
  s.unsubscribe();
  await sub.flush();
}
