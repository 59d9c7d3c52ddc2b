// Publish/subscribe permissions of a client connection (server/client.go
// setPermissions, canSubscribe, pubAllowedFullCheck, checkDenySub).
//
// A user's rules are compiled once into sublists (PermissionRules, shared by
// every connection of that user); each connection has a ClientPermissions
// with its own bounded caches, the delivery-time deny filter and the reply
// subjects it may answer under `allow_responses`.
//
// Semantics of the reference, kept here:
//  - publish: no allow list = everything allowed; an allow list that is
//    present but empty allows nothing; deny wins over allow.
//  - subscribe: an empty allow list means no restriction. An entry
//    "subject queue" only allows queue subscriptions in that group
//    (a wildcard queue name matches as a subject pattern).
//  - the rule subjects are matched with the sublist, so a subscription
//    subject's `*` / `>` tokens are matched as literal text against the
//    rules' tokens (a `*` rule accepts a `>` subscription token).
//  - a subscribe deny does not refuse a broader wildcard subscription
//    (deny "foo.bar" lets "foo.*" through); instead messages on denied
//    subjects are dropped at delivery once such a wildcard was accepted.

import { Sublist } from '../subjects/sublist.js';
import { subjectHasWildcard, subjectIsSubsetMatch } from '../subjects/validate.js';
import type { Permissions, ResponsePermission } from '../config/options.js';
import { DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS, DEFAULT_ALLOW_RESPONSE_MAX_MSGS } from '../config/options.js';

/** server/client.go: bounds of the per-connection caches */
export const MAX_PERM_CACHE_SIZE = 128;
export const MAX_DENY_PERM_CACHE_SIZE = 256;
export const PRUNE_SIZE = 32;
export const REPLY_PERM_LIMIT = 4096;
/** Hard cap on tracked reply subjects: the reference only prunes expired or used ones. */
export const REPLY_PERM_HARD_LIMIT = 64 * 1024;

/** One allow/deny rule in a permission sublist. */
class Rule {
  constructor(
    readonly subject: string,
    readonly queue: string | null,
  ) {}
}

function newRuleList(): Sublist<Rule> {
  return new Sublist<Rule>({ cacheSize: 1024 });
}

/** server/client.go splitSubjectQueue: "subject [queue]". */
export function splitSubjectQueue(sq: string): { subject: string; queue: string | null } | null {
  const vals = sq.trim().split(/\s+/).filter((v) => v.length > 0);
  if (vals.length === 0) return { subject: '', queue: null };
  if (vals.length > 2) return null;
  return { subject: vals[0]!, queue: vals.length === 2 ? vals[1]! : null };
}

/**
 * server/auth.go validateResponsePermissions: with allow_responses, defaults
 * fill zero values and, unless publish.allow is given, the blanket publish
 * allow is turned off. Returns a new object; the input is not modified.
 */
export function normalizePermissions(p: Permissions): Permissions {
  if (p.response === undefined) return p;
  const response: ResponsePermission = {
    maxMsgs: p.response.maxMsgs === 0 ? DEFAULT_ALLOW_RESPONSE_MAX_MSGS : p.response.maxMsgs,
    expiresMs: p.response.expiresMs === 0 ? DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS : p.response.expiresMs,
  };
  const publish = { ...(p.publish ?? {}) };
  if (publish.allow === undefined) publish.allow = [];
  return { ...p, publish, response };
}

/** A user's compiled rules; immutable, shared by that user's connections. */
export class PermissionRules {
  readonly pubAllow: Sublist<Rule> | null = null;
  readonly pubDeny: Sublist<Rule> | null = null;
  readonly subAllow: Sublist<Rule> | null = null;
  readonly subDeny: Sublist<Rule> | null = null;
  /** the subscribe deny entries as written, for the delivery filter */
  readonly denyList: readonly string[] = [];
  readonly response: ResponsePermission | null = null;
  /** publish has any rule at all */
  readonly checksPublish: boolean;

  /**
   * `onError` receives the reference's text for an entry it skips
   * (`invalid subject-queue "a b c"`).
   */
  constructor(perms: Permissions, onError: (msg: string) => void = () => {}) {
    const p = normalizePermissions(perms);
    const add = (sl: Sublist<Rule>, entry: string, withQueue: boolean): void => {
      let rule: Rule;
      if (withQueue) {
        const sq = splitSubjectQueue(entry);
        if (sq === null) {
          onError(`invalid subject-queue ${JSON.stringify(entry)}`);
          return;
        }
        rule = new Rule(sq.subject, sq.queue);
      } else {
        rule = new Rule(entry, null);
      }
      // A rule the index cannot hold (empty token, `>` not last) matches nothing
      // in the reference either: its Insert fails and the error is ignored.
      sl.insert(rule);
    };
    if (p.publish) {
      if (p.publish.allow !== undefined) {
        this.pubAllow = newRuleList();
        for (const s of p.publish.allow) add(this.pubAllow, s, false);
      }
      if (p.publish.deny !== undefined && p.publish.deny.length > 0) {
        this.pubDeny = newRuleList();
        for (const s of p.publish.deny) add(this.pubDeny, s, false);
      }
    }
    if (p.response !== undefined) this.response = { ...p.response };
    if (p.subscribe) {
      if (p.subscribe.allow !== undefined && p.subscribe.allow.length > 0) {
        this.subAllow = newRuleList();
        for (const s of p.subscribe.allow) add(this.subAllow, s, true);
      }
      if (p.subscribe.deny !== undefined && p.subscribe.deny.length > 0) {
        this.subDeny = newRuleList();
        this.denyList = [...p.subscribe.deny];
        for (const s of p.subscribe.deny) add(this.subDeny, s, true);
      }
    }
    this.checksPublish = this.pubAllow !== null || this.pubDeny !== null;
  }
}

/** server/client.go queueMatches */
function queueMatches(queue: string, qsubs: readonly Rule[][]): boolean {
  if (qsubs.length === 0) return true;
  for (const group of qsubs) {
    const qname = group[0]!.queue!;
    if (queue === qname || (subjectHasWildcard(qname) && subjectIsSubsetMatch(queue, qname))) return true;
  }
  return false;
}

interface ReplyGrant {
  /** ms timestamp of the delivery that granted it */
  t: number;
  /** responses sent on it */
  n: number;
}

/** Per-connection permission state. */
export class ClientPermissions {
  /** publish decisions by subject (pcache) */
  private readonly pubCache = new Map<string, boolean>();
  /**
   * The delivery filter (mperms): the subscribe deny entries, armed once a
   * wildcard subscription that overlaps one of them was accepted.
   */
  private denyFilter: Sublist<Rule> | null = null;
  private denyCache: Map<string, boolean> | null = null;
  /** reply subjects this connection received and may answer (allow_responses) */
  readonly replies: Map<string, ReplyGrant> | null;

  constructor(readonly rules: PermissionRules) {
    this.replies = rules.response !== null ? new Map() : null;
  }

  /** Whether messages must be checked against the deny filter at delivery. */
  get filtersDelivery(): boolean {
    return this.denyFilter !== null;
  }

  /** server/client.go pubAllowedFullCheck */
  canPublish(subject: string): boolean {
    const r = this.rules;
    if (!r.checksPublish) return true;
    const cached = this.pubCache.get(subject);
    if (cached !== undefined) return cached;
    let allowed = true;
    if (r.pubAllow !== null) allowed = r.pubAllow.match(subject).psubs.length > 0;
    if (allowed && r.pubDeny !== null) allowed = r.pubDeny.match(subject).psubs.length === 0;
    if (!allowed && this.replies !== null) {
      // Reply grants are consumed, so their outcome is never cached.
      const grant = this.replies.get(subject);
      if (grant !== undefined) {
        const resp = r.response!;
        grant.n++;
        if (resp.maxMsgs > 0 && grant.n > resp.maxMsgs) this.replies.delete(subject);
        else if (resp.expiresMs > 0 && Date.now() - grant.t > resp.expiresMs) this.replies.delete(subject);
        else allowed = true;
      }
      return allowed;
    }
    this.pubCache.set(subject, allowed);
    if (this.pubCache.size > MAX_PERM_CACHE_SIZE) pruneMap(this.pubCache, PRUNE_SIZE);
    return allowed;
  }

  /** server/client.go canSubscribe; `queue` null for a plain subscription. */
  canSubscribe(subject: string, queue: string | null): boolean {
    const r = this.rules;
    let allowed = true;
    if (r.subAllow !== null) {
      const m = r.subAllow.match(subject);
      allowed = m.psubs.length > 0;
      if (queue !== null && queue !== '' && m.qsubs.length > 0) allowed = queueMatches(queue, m.qsubs);
    }
    if (allowed && r.subDeny !== null) {
      const m = r.subDeny.match(subject);
      allowed = m.psubs.length === 0;
      if (queue !== null && queue !== '' && m.qsubs.length > 0) allowed = !queueMatches(queue, m.qsubs);
      if (allowed && this.denyFilter === null && subjectHasWildcard(subject)) {
        for (const d of r.denyList) {
          if (subjectIsSubsetMatch(d, subject)) {
            this.loadDenyFilter();
            break;
          }
        }
      }
    }
    return allowed;
  }

  // server/client.go loadMsgDenyFilter: the deny entries are inserted as
  // written (a "subject queue" entry becomes a subject that never matches).
  private loadDenyFilter(): void {
    const sl = newRuleList();
    for (const d of this.rules.denyList) sl.insert(new Rule(d, null));
    this.denyFilter = sl;
    this.denyCache = new Map();
  }

  /** server/client.go checkDenySub: true when a delivery on `subject` must be dropped. */
  deniesDelivery(subject: string): boolean {
    const cache = this.denyCache!;
    const cached = cache.get(subject);
    if (cached !== undefined) return cached;
    const denied = this.denyFilter!.match(subject).psubs.length > 0;
    cache.set(subject, denied);
    if (!denied && cache.size > MAX_DENY_PERM_CACHE_SIZE) pruneMap(cache, PRUNE_SIZE);
    return denied;
  }

  /** A message with `reply` was delivered to this connection: it may answer it. */
  trackReply(reply: string): void {
    const replies = this.replies!;
    replies.set(reply, { t: Date.now(), n: 0 });
    if (replies.size > REPLY_PERM_LIMIT) this.pruneReplies();
  }

  // server/client.go pruneReplyPerms, plus a hard cap (oldest first) so a
  // flood of unanswered requests cannot grow the map without bound.
  private pruneReplies(): void {
    const replies = this.replies!;
    const resp = this.rules.response!;
    const now = Date.now();
    for (const [k, g] of replies) {
      if (resp.maxMsgs > 0 && g.n >= resp.maxMsgs) replies.delete(k);
      else if (resp.expiresMs > 0 && now - g.t > resp.expiresMs) replies.delete(k);
    }
    if (replies.size > REPLY_PERM_HARD_LIMIT) pruneMap(replies, replies.size - REPLY_PERM_HARD_LIMIT);
  }

  /** Forget the delivery filter; canSubscribe re-arms it (server/client.go processSubsOnConfigReload). */
  resetDenyFilter(): void {
    this.denyFilter = null;
    this.denyCache = null;
  }

  /** Number of cached publish decisions (tests, monitoring). */
  get cachedPublishDecisions(): number {
    return this.pubCache.size;
  }

  /** Number of reply subjects currently granted. */
  get grantedReplies(): number {
    return this.replies === null ? 0 : this.replies.size;
  }
}

/** Drop the `n` oldest entries (the reference deletes arbitrary ones). */
function pruneMap(m: Map<string, unknown>, n: number): void {
  let i = 0;
  for (const k of m.keys()) {
    if (i++ >= n) break;
    m.delete(k);
  }
}
