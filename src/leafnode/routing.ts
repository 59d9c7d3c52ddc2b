// Leafnode message routing (server/client.go processMsgResults,
// msgHeaderForRouteOrLeaf for LEAF targets): which leaf connections a
// message goes to, with which queue groups. A client's message goes to each
// leaf connection with matching interest once; a queue group picks a member
// behind a leaf only when no local member took it, and the LMSG names the
// group, so the other side delivers to one of its members: exactly once
// across hub and leaves.

import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import type { Subscription } from '../client/subscription.js';
import type { Client, PubArgSource } from '../client/client.js';
import type { SublistResult } from '../subjects/sublist.js';
import { Kind } from '../client/connection.js';
import type { LeafConnection } from './leaf.js';
import type { LeafInterest } from './interest.js';

export class LeafRouter {
  // targets of the message being routed
  private msgSeq = 0;
  private readonly tgts: LeafConnection[] = [];

  constructor(
    private readonly server: Server,
    private readonly byAccount: ReadonlyMap<Account, Set<LeafConnection>>,
    private readonly interest: LeafInterest,
  ) {}

  /** A routed message named a queue group whose only member here is behind a leaf we are the hub of. */
  addRoutedQueueTarget(sub: Subscription): boolean {
    const ln = sub.client as LeafConnection;
    if (ln.closed || ln.isSpoke) return false;
    this.addTarget(ln, sub.queue);
    return true;
  }

  /**
   * A message from a route: leafs we are the hub of with matching interest
   * get it (server/client.go processMsgResults: a route's message goes to a
   * LEAF only when it is a hub connection), with the queue targets the
   * route's selection added.
   */
  fromRoute(src: PubArgSource, acc: Account, r: SublistResult<Subscription>, buf: Buffer, start: number, origin: string): void {
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      if (sub.client.kind !== Kind.LEAF) continue;
      const ln = sub.client as LeafConnection;
      // An LMSG from a route names the leaf cluster it came from: not back there (cluster-wide no echo).
      if (!ln.isSpoke && (origin === '' || origin !== ln.remoteCluster)) this.addTarget(ln, null);
    }
    this.dispatch(src, acc, buf, start);
  }

  /**
   * A request crossed a service import into `acc` (or a response came back):
   * make sure its response prefix interest is announced, and send it to
   * leafs with interest in `acc`.
   */
  routeImported(c: Client, acc: Account, subject: string, buf: Buffer, start: number): boolean {
    this.interest.announceResponses(acc);
    const set = this.byAccount.get(acc);
    if (set === undefined) return false;
    const r = acc.sublist.match(subject);
    for (const sub of r.psubs) {
      if (sub.client.kind === Kind.LEAF && sub.client !== c) this.addTarget(sub.client as LeafConnection, null);
    }
    for (const members of r.qsubs) {
      if (members.some((m) => m.client.kind === Kind.CLIENT)) continue;
      const m = members.find((x) => x.client.kind === Kind.LEAF && x.client !== c && !(x.client as LeafConnection).closed);
      if (m !== undefined) this.addTarget(m.client as LeafConnection, m.queue);
    }
    return this.dispatch(c, acc, buf, start);
  }

  /** Add `ln` as a destination of the current message, serving `queue` if given. */
  addTarget(ln: LeafConnection, queue: string | null): void {
    if (ln.tgtSeq !== this.msgSeq) {
      ln.tgtSeq = this.msgSeq;
      ln.tgtQs = '';
      this.tgts.push(ln);
    }
    if (queue !== null) ln.tgtQs += queue + ' ';
  }

  /** A client's queue selection picked a member behind a leaf connection. */
  addQueueTarget(sub: Subscription): void {
    this.addTarget(sub.client as LeafConnection, sub.queue);
  }

  /** Forward a client's message to every leaf connection with interest (server.routeMessage). */
  routeMessage(c: Client, buf: Buffer, start: number, r: SublistResult<Subscription>): boolean {
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      if (sub.client.kind === Kind.LEAF) this.addTarget(sub.client as LeafConnection, null);
    }
    return this.dispatch(c, c.account, buf, start);
  }

  /**
   * A message from a leaf connection (server/client.go processMsgResults
   * for a LEAF source): local subscribers; other leaf connections (not back
   * to the sender, nor to another of its cluster); queue groups only when
   * the sender named them, a local member first, else one behind a route,
   * else one behind another leaf.
   */
  deliverFromLeaf(src: LeafConnection, acc: Account, r: SublistResult<Subscription>, buf: Buffer, start: number): void {
    const cl = this.server.cluster;
    let routed = false;
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      const k = sub.client.kind;
      if (k === Kind.CLIENT) src.deliverMsg(sub, buf, start);
      else if (k === Kind.LEAF) {
        const dst = sub.client as LeafConnection;
        if (dst === src || (src.remoteCluster !== '' && src.remoteCluster === dst.remoteCluster)) continue;
        this.addTarget(dst, null);
      } else if (k === Kind.ROUTER && cl !== null && !src.isSpoke) {
        cl.addTarget(sub.client as never, null);
        routed = true;
      }
    }
    if (src.paNumQueues > 0) {
      for (const members of r.qsubs) {
        const l = members.length;
        if (l === 0 || !src.queueRequested(members[0]!.queue!)) continue;
        const first = l > 1 ? Math.floor(Math.random() * l) : 0;
        let leafMember: Subscription | null = null;
        let done = false;
        for (let k = 0; k < l; k++) {
          const sub = members[(first + k) % l]!;
          const kind = sub.client.kind;
          if (kind === Kind.LEAF) {
            if (sub.client !== src && leafMember === null && !(sub.client as LeafConnection).closed) leafMember = sub;
            continue;
          }
          if (kind === Kind.ROUTER) {
            if (cl !== null) {
              cl.addQueueTarget(sub);
              routed = true;
              done = true;
              break;
            }
            continue;
          }
          if (src.deliverMsg(sub, buf, start)) {
            done = true;
            break;
          }
        }
        if (!done && leafMember !== null) this.addTarget(leafMember.client as LeafConnection, leafMember.queue);
      }
    }
    // The routed form names the leaf cluster the message came from (server/client.go msgHeaderForRouteOrLeaf).
    if (routed && cl !== null) cl.dispatch(src, acc, buf, start, src.originBytes);
    this.dispatch(src, acc, buf, start);
  }

  /** Write the current message to every collected leaf target. */
  dispatch(src: PubArgSource, acc: Account, buf: Buffer, start: number): boolean {
    const tgts = this.tgts;
    this.msgSeq++;
    const n = tgts.length;
    if (n === 0) return false;
    let sent = 0;
    for (let i = 0; i < n; i++) {
      const ln = tgts[i]!;
      if (!ln.closed && ln.writeLeafMsg(src, buf, start)) sent++;
      ln.tgtQs = '';
    }
    tgts.length = 0;
    if (sent > 0) {
      const size = src.paSize;
      const st = this.server.stats;
      st.outMsgs += sent;
      st.outBytes += sent * size;
      acc.outMsgs += sent;
      acc.outBytes += sent * size;
    }
    return sent > 0;
  }
}
