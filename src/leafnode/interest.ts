// Leafnode interest (server/leafnode.go smap, updateLeafNodes, updateSmap,
// initLeafNodeSmapAndSendSubs): what each leaf connection is told with
// LS+/LS-. Local subscriptions, and those other leaf connections brought,
// are announced to each leaf connection of their account (a queue group's
// LS+ repeats with its weight). A spoke (a connection we dialed to a hub)
// only forwards local interest and that of leafs we are the hub of, so that
// interest does not bounce between hubs. Service import subjects, mapping
// sources, response prefixes and interest covered by stream imports (the
// reference's shadow subscriptions) are interest too.

import { randomBytes } from 'node:crypto';
import type { Server } from '../server/server.js';
import type { Account } from '../accounts/account.js';
import { Subscription } from '../client/subscription.js';
import { Kind } from '../client/connection.js';
import { shadowSubjects } from '../cluster/imports.js';
import { LDS_PREFIX } from './proto.js';
import type { LeafConnection } from './leaf.js';

const NUID_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function nuid(): string {
  const b = randomBytes(22);
  let s = '';
  for (let i = 0; i < 22; i++) s += NUID_DIGITS[b[i]! % 62];
  return s;
}

export class LeafInterest {
  /** per account loop detection subject ("$LDS." + nuid) */
  private readonly lds = new Map<Account, string>();
  /**
   * Interest in exporting accounts for subscriptions covered by stream
   * imports: the reference's shadow subscriptions, which leafs of the
   * exporter hear about (server/client.go addShadowSubscriptions).
   */
  private readonly shadows = new Map<Subscription, Array<{ acc: Account; sub: Subscription }>>();
  /** accounts whose `_R_` response prefix interest was announced */
  private readonly respAnnounced = new Map<Account, string>();

  constructor(
    private readonly server: Server,
    /** registered leaf connections per account (owned by the manager) */
    private readonly byAccount: ReadonlyMap<Account, Set<LeafConnection>>,
  ) {}

  /** The loop detection subject of an account (server/leafnode.go: acc.lds). */
  ldsSubject(acc: Account): string {
    let s = this.lds.get(acc);
    if (s === undefined) {
      s = LDS_PREFIX + nuid();
      this.lds.set(acc, s);
    }
    return s;
  }

  /** server/leafnode.go initLeafNodeSmapAndSendSubs */
  initSmapAndSendSubs(c: LeafConnection): void {
    const acc = c.account;
    const smap = c.smap;
    smap.clear();
    const perms = c.lperms;
    for (const sub of acc.sublist.all()) {
      if (sub.closed || sub.client === c) continue;
      const k = sub.client.kind;
      // A spoke sends only local interest; a hub the cluster's as well (server/leafnode.go initLeafNodeSmapAndSendSubs).
      if (k === Kind.ROUTER && c.isSpoke) continue;
      if (c.isSpoke && k === Kind.LEAF && (sub.client as LeafConnection).isSpoke) continue;
      if (perms !== null && !perms.canSubscribe(sub.subject)) continue;
      // Interest of the leaf cluster at the other end (through another of its leaf connections) is its own.
      if (sub.origin !== null && sub.origin === c.remoteCluster) continue;
      const key = sub.queue === null ? sub.subject : `${sub.subject} ${sub.queue}`;
      const n = sub.queue !== null && sub.queueWeight > 0 ? sub.queueWeight : 1;
      smap.set(key, (smap.get(key) ?? 0) + n);
    }
    for (const list of this.shadows.values()) {
      for (const sh of list) {
        if (sh.acc !== acc || sh.sub.client === c) continue;
        if (perms !== null && !perms.canSubscribe(sh.sub.subject)) continue;
        if (c.isSpoke && sh.sub.client.kind === Kind.LEAF && (sh.sub.client as LeafConnection).isSpoke) continue;
        const key = sh.sub.queue === null ? sh.sub.subject : `${sh.sub.subject} ${sh.sub.queue}`;
        smap.set(key, (smap.get(key) ?? 0) + 1);
      }
    }
    // Leafnodes only send on interest: imported services and mapped subjects are interest too.
    if (acc.serviceImports !== null) {
      for (const from of acc.serviceImports.keys()) {
        if (c.isSpoke && perms !== null && !perms.canSubscribe(from)) continue;
        smap.set(from, (smap.get(from) ?? 0) + 1);
      }
    }
    if (acc.mappings !== null) {
      for (const m of acc.mappings) {
        if (c.isSpoke && perms !== null && !perms.canSubscribe(m.src)) continue;
        smap.set(m.src, (smap.get(m.src) ?? 0) + 1);
      }
    }
    const lds = this.ldsSubject(acc);
    smap.set(lds, (smap.get(lds) ?? 0) + 1);
    if (acc.respPrefix !== null) {
      const k = acc.respPrefix + '>';
      smap.set(k, (smap.get(k) ?? 0) + 1);
      this.respAnnounced.set(acc, acc.respPrefix);
    }
    let text = '';
    const trace = this.server.logger.traceEnabled;
    for (const [key, n] of smap) {
      const line = key.includes(' ') ? `LS+ ${key} ${n}` : `LS+ ${key}`;
      if (trace) c.traceOut('LS+', line.slice(4));
      text += line + '\r\n';
    }
    if (text !== '') c.enqueue(Buffer.from(text, 'latin1'));
  }

  /** A local subscription was added (server.subAdded). */
  subAdded(acc: Account, sub: Subscription): void {
    if (sub.client.kind !== Kind.CLIENT) return;
    this.updateLeafNodes(acc, sub, 1);
    if (acc.streamImports.length > 0) this.addShadows(acc, sub);
  }

  /** Local subscriptions went away (server.subsRemoved). */
  subsRemoved(acc: Account, subs: Subscription[]): void {
    for (const s of subs) {
      if (s.client.kind !== Kind.CLIENT) continue;
      this.updateLeafNodes(acc, s, -1);
      if (this.shadows.size > 0) this.removeShadows(s);
    }
  }

  /** A leaf connection's LS+/LS- changed its interest by `delta`. */
  leafSubChanged(from: LeafConnection, acc: Account, sub: Subscription, delta: number): void {
    if (delta === 0) return;
    this.updateLeafNodes(acc, sub, delta);
    if (from.isSpoke) return;
    // Interest of a leaf we are the hub of is the cluster's too.
    const cl = this.server.cluster;
    if (cl !== null && from.registered) cl.leafInterest(acc, sub.subject, sub.queue, delta, sub.origin);
    if (sub.closed) this.removeShadows(sub);
    else if (acc.streamImports.length > 0 && !this.shadows.has(sub)) this.addShadows(acc, sub);
  }

  private addShadows(acc: Account, sub: Subscription): void {
    const list = shadowSubjects(acc, sub.subject);
    if (list.length === 0) return;
    const subs = list.map((sh) => {
      const shadow = new Subscription(sub.client, sh.subject, sub.queue, sub.sid);
      shadow.origin = sub.origin;
      return { acc: sh.acc, sub: shadow };
    });
    this.shadows.set(sub, subs);
    for (const sh of subs) this.updateLeafNodes(sh.acc, sh.sub, 1);
  }

  private removeShadows(sub: Subscription): void {
    const subs = this.shadows.get(sub);
    if (subs === undefined) return;
    this.shadows.delete(sub);
    for (const sh of subs) this.updateLeafNodes(sh.acc, sh.sub, -1);
  }

  /** server/leafnode.go updateLeafNodes */
  private updateLeafNodes(acc: Account, sub: Subscription, delta: number): void {
    const set = this.byAccount.get(acc);
    if (set === undefined) return;
    const isLds = sub.subject.startsWith(LDS_PREFIX);
    const origin = sub.origin;
    for (const ln of set) {
      if (ln === sub.client || ln.closed) continue;
      let skip = (origin !== null && origin === ln.remoteCluster) || (ln.lperms !== null && !ln.lperms.canSubscribe(sub.subject));
      if (skip && isLds) skip = false;
      if (skip) continue;
      this.updateSmap(ln, sub, delta);
    }
  }

  /** server/leafnode.go updateSmap */
  private updateSmap(ln: LeafConnection, sub: Subscription, delta: number): void {
    if (!ln.registered) return;
    // A spoke forwards local interest and that of leafs it is the hub of.
    if (ln.isSpoke && sub.client.kind === Kind.LEAF && (sub.client as LeafConnection).isSpoke) return;
    const key = sub.queue === null ? sub.subject : `${sub.subject} ${sub.queue}`;
    const cur = ln.smap.get(key) ?? 0;
    const update = sub.queue !== null || cur === 0 || cur + delta <= 0;
    const n = cur + delta;
    if (n > 0) ln.smap.set(key, n);
    else ln.smap.delete(key);
    if (!update) return;
    if (ln.isSpoke && ln.lperms !== null) {
      const c0 = key.charCodeAt(0);
      const exempt = (c0 === 0x24 || c0 === 0x5f) && (key.startsWith(LDS_PREFIX) || key.startsWith('$GR.') || key.startsWith('_GR_.'));
      if (!exempt && !ln.lperms.canSubscribe(key)) return;
    }
    ln.sendSubUpdate(key, n > 0 ? n : 0);
  }

  /** A route's RS+/RS- changed the cluster's interest (cluster/route.ts). */
  routeSubChanged(acc: Account, sub: Subscription, delta: number): void {
    if (delta !== 0) this.updateLeafNodes(acc, sub, delta);
  }

  /** Interest in `acc`'s `_R_.<prefix>.>` once it has one (server/accounts.go newServiceReply). */
  announceResponses(acc: Account): void {
    const prefix = acc.respPrefix;
    if (prefix === null || this.respAnnounced.get(acc) === prefix) return;
    const set = this.byAccount.get(acc);
    this.respAnnounced.set(acc, prefix);
    if (set === undefined) return;
    const key = prefix + '>';
    for (const ln of set) {
      if (ln.smap.has(key)) continue;
      ln.smap.set(key, 1);
      ln.sendSubUpdate(key, 1);
    }
  }
}
