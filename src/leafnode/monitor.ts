// What /leafz and /varz report about leafnode connections
// (server/monitor.go Leafz, LeafInfo).

import type { Server } from '../server/server.js';
import { goRTT, goTime } from '../monitor/gofmt.js';
import type { LeafConnection } from './leaf.js';

export interface LeafzOptions {
  subscriptions: boolean;
  account: string;
}

export function leafzOf(srv: Server, conns: LeafConnection[], opts: LeafzOptions): Record<string, unknown> {
  const leafs: Record<string, unknown>[] = [];
  for (const ln of conns) {
    if (opts.account !== '' && ln.account.name !== opts.account) continue;
    const li: Record<string, unknown> = {
      account: ln.account.name,
      ip: ln.host,
      port: ln.port,
      rtt: goRTT(ln.rttMs),
      in_msgs: ln.inMsgs,
      out_msgs: ln.outMsgs,
      in_bytes: ln.inBytes,
      out_bytes: ln.outBytes,
      subscriptions: ln.subs.size,
    };
    if (opts.subscriptions && ln.subs.size > 0) li.subscriptions_list = [...ln.subs.values()].map((s) => s.subject);
    leafs.push(li);
  }
  return { server_id: srv.serverId, now: goTime(Date.now(), true), leafnodes: leafs.length, leafs: leafs.length > 0 ? leafs : null };
}
