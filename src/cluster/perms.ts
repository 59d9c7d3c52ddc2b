// cluster { permissions { import, export } } (server/route.go
// setRoutePermissions): import maps to publish, export to subscribe.
//   canImport(subject): may we ask the peer for this interest (send RS+)?
//   canExport(subject): do we accept the peer's RS+ for this subject?
// Lists are matched through a Sublist as the reference does, so a subscription
// subject with wildcards is checked with the same token rules.

import type { RoutePermissions, SubjectPermission } from '../config/options.js';
import { Sublist, type SubLike } from '../subjects/sublist.js';

class Entry implements SubLike {
  readonly queue = null;
  constructor(readonly subject: string) {}
}

function compile(list: string[] | undefined): Sublist<Entry> | null {
  if (list === undefined) return null;
  const sl = new Sublist<Entry>({ cacheSize: 0 });
  for (const s of list) sl.insert(new Entry(s));
  return sl;
}

class Side {
  private readonly allow: Sublist<Entry> | null;
  private readonly deny: Sublist<Entry> | null;
  constructor(p: SubjectPermission | undefined) {
    this.allow = compile(p?.allow);
    this.deny = compile(p?.deny);
  }

  allowed(subject: string): boolean {
    if (this.allow !== null && this.allow.match(subject).psubs.length === 0) return false;
    if (this.deny !== null && this.deny.match(subject).psubs.length > 0) return false;
    return true;
  }
}

export class RoutePerms {
  private readonly imp: Side;
  private readonly exp: Side;

  constructor(p: RoutePermissions) {
    this.imp = new Side(p.import);
    this.exp = new Side(p.export);
  }

  /** null when no permissions are configured: everything is allowed. */
  static from(p: RoutePermissions | undefined): RoutePerms | null {
    if (p === undefined || (p.import === undefined && p.export === undefined)) return null;
    return new RoutePerms(p);
  }

  canImport(subject: string): boolean {
    return this.imp.allowed(subject);
  }

  canExport(subject: string): boolean {
    return this.exp.allowed(subject);
  }
}
