// The permissions of one leafnode connection (server/leafnode.go,
// server/client.go setPermissions for a LEAF). `pub` says what may be
// delivered over the connection (and, on a spoke, what interest of the
// other side is accepted); `sub` what interest may be sent to the other
// side. On the hub they are the leaf user's permissions swapped; on the
// leaf the hub's INFO import/export plus deny_imports/deny_exports.

import { ClientPermissions, PermissionRules } from '../auth/permissions.js';
import type { SubjectPermission } from '../config/options.js';
import { subjectHasWildcard } from '../subjects/validate.js';

export class LeafPerms {
  private readonly pub: ClientPermissions | null;
  private readonly sub: ClientPermissions | null;

  constructor(
    readonly pubPerm: SubjectPermission | undefined,
    readonly subPerm: SubjectPermission | undefined,
  ) {
    this.pub = isEmpty(pubPerm) ? null : new ClientPermissions(new PermissionRules({ publish: pubPerm }));
    this.sub = isEmpty(subPerm) ? null : new ClientPermissions(new PermissionRules({ subscribe: subPerm }));
  }

  /** server/client.go pubAllowedFullCheck */
  canPublish(subject: string): boolean {
    return this.pub === null || this.pub.canPublish(subject);
  }

  /** server/client.go canSubscribe */
  canSubscribe(subject: string): boolean {
    const sp = this.sub;
    if (sp === null || sp.canSubscribe(subject, null)) return true;
    // Leafnodes take broader wildcards than their allow list: what is
    // delivered is pruned by the publish permissions (server/client.go canSubscribe).
    const r = sp.rules;
    if (r.subAllow === null || !subjectHasWildcard(subject)) return false;
    if (r.subAllow.reverseMatch(subject).psubs.length === 0) return false;
    return r.subDeny === null || r.subDeny.match(subject).psubs.length === 0;
  }

  /** These permissions with extra deny entries merged in (server/client.go mergeDenyPermissions). */
  withDenies(pubDeny: readonly string[], subDeny: readonly string[]): LeafPerms {
    return new LeafPerms(mergeDeny(this.pubPerm, pubDeny), mergeDeny(this.subPerm, subDeny));
  }
}

function isEmpty(p: SubjectPermission | undefined): boolean {
  return p === undefined || ((p.allow === undefined || p.allow.length === 0) && (p.deny === undefined || p.deny.length === 0));
}

export function mergeDeny(p: SubjectPermission | undefined, deny: readonly string[]): SubjectPermission | undefined {
  if (deny.length === 0) return p;
  const cur = p?.deny ?? [];
  const add = deny.filter((d) => !cur.includes(d));
  return { ...(p ?? {}), deny: [...cur, ...add] };
}
