// The subscription index: a trie of subject tokens with a bounded cache of
// match results in front of it. Behaviour follows nats-server 2.9.10
// (server/sublist.go); the shape is our own, tuned for V8.
//
// Hot path: match() on a cached subject is one Map lookup and two counter
// increments, no allocation. On a miss the subject is split once, the trie
// walked, and the result stored in the cache. Results are shared between the
// cache and every caller: nothing in this file mutates an array after it has
// been handed out; changes build new arrays.

import { matchLiteral, subjectIsLiteral } from './validate.js';

/** What the index needs to know about a subscription. */
export interface SubLike {
  readonly subject: string;
  /** queue group name; null for a plain subscription */
  readonly queue: string | null;
  /**
   * Optional weight of a queue subscription that stands for several remote
   * members (a route's RS+ with a weight). It appears that many times in its
   * group in match results, so queue selection stays proportional. Callers
   * that change it must call updateRemoteQSub(). Absent means 1.
   */
  readonly queueWeight?: number;
}

/**
 * psubs: every matching plain subscription. qsubs: one array per matching
 * queue group (all members of that group). Shared: treat as immutable.
 */
export interface SublistResult<S> {
  readonly psubs: S[];
  readonly qsubs: S[][];
}

/** The fields of /subsz (sublist.go SublistStats). */
export interface SublistStats {
  numSubs: number;
  numCache: number;
  numInserts: number;
  numRemoves: number;
  numMatches: number;
  cacheHitRate: number;
  maxFanout: number;
  avgFanout: number;
}

export interface SublistOptions {
  /** maximum number of cached match results; 0 disables the cache. Default 1024. */
  cacheSize?: number;
}

/** Default cache bound (sublist.go slCacheMax). */
export const DEFAULT_CACHE_SIZE = 1024;

// Past this many wildcard subscriptions in one removeBatch it is cheaper to
// drop the whole cache than to scan it once per wildcard.
const BATCH_WILDCARD_SCAN_LIMIT = 8;

// Upper bound of the miss-admission stride when the cache thrashes.
const MAX_ADMIT_EVERY = 64;

// Arrays that start out holding objects, so the shared empty result has the
// same elements kind as real results and readers' loops stay monomorphic.
function objectArray<T>(): T[] {
  const a: unknown[] = [null];
  a.length = 0;
  return a as T[];
}

// One shared empty result, like sublist.go's emptyResult: a miss on an
// uninterested subject allocates nothing that survives.
const EMPTY_RESULT: SublistResult<never> = { psubs: objectArray(), qsubs: objectArray() };

// Immutable array form of a node's queue groups, what a match copies from:
// names[i] with members[i], each member repeated by its weight.
class QueueSnapshot<S extends SubLike> {
  readonly names: string[] = [];
  readonly members: S[][] = [];

  constructor(groups: Map<string, Set<S>>) {
    groups.forEach((set, name) => {
      const arr: S[] = [];
      for (const sub of set) pushWeighted(arr, sub);
      this.names.push(name);
      this.members.push(arr);
    });
  }
}

class TrieNode<S extends SubLike> {
  next: TrieLevel<S> | null = null;
  /** plain subscriptions; null when there are none */
  psubs: Set<S> | null = null;
  /** immutable array snapshot of psubs, rebuilt lazily after a change */
  plist: S[] | null = null;
  /** queue group name -> members; null when there are none, groups never empty */
  qsubs: Map<string, Set<S>> | null = null;
  /** snapshot of qsubs, rebuilt lazily after a change */
  qsnap: QueueSnapshot<S> | null = null;

  isEmpty(): boolean {
    return this.psubs === null && this.qsubs === null && this.next === null;
  }

  hasSubs(): boolean {
    return this.psubs !== null || this.qsubs !== null;
  }
}

class TrieLevel<S extends SubLike> {
  readonly nodes = new Map<string, TrieNode<S>>();
  /** the `*` child */
  pwc: TrieNode<S> | null = null;
  /** the `>` child */
  fwc: TrieNode<S> | null = null;

  isEmpty(): boolean {
    return this.nodes.size === 0 && this.pwc === null && this.fwc === null;
  }

  child(token: string): TrieNode<S> | undefined {
    if (token === '*') return this.pwc ?? undefined;
    if (token === '>') return this.fwc ?? undefined;
    return this.nodes.get(token);
  }

  removeChild(token: string): void {
    if (token === '*') this.pwc = null;
    else if (token === '>') this.fwc = null;
    else this.nodes.delete(token);
  }
}

// Subscription subjects as the reference's Insert accepts them: no empty
// token, nothing after `>`. Whitespace is not checked there (the protocol
// parser already splits on it), so it is not checked here either.
function insertableTokens(subject: string): string[] | null {
  const toks = subject.split('.');
  const last = toks.length - 1;
  for (let i = 0; i <= last; i++) {
    const t = toks[i]!;
    if (t.length === 0) return null;
    if (t === '>' && i !== last) return null;
  }
  return toks;
}

function weightOf(sub: SubLike): number {
  const w = sub.queueWeight;
  // sublist.go shadows a remote queue sub qw times; a weight below 1 never
  // comes off the wire (interest would have been removed instead), so treat
  // it as one rather than produce an empty group.
  return w !== undefined && w > 1 ? Math.floor(w) : 1;
}

function pushWeighted<S extends SubLike>(into: S[], sub: S): void {
  const w = weightOf(sub);
  into.push(sub);
  for (let k = 1; k < w; k++) into.push(sub);
}

export class Sublist<S extends SubLike> {
  private readonly root = new TrieLevel<S>();
  private cache: Map<string, SublistResult<S>> | null;
  private readonly cacheMax: number;

  private numSubs = 0;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private cacheHits = 0;
  private _genid = 0;
  /** rootTokens()' list and the genid it was built at */
  private rootToks: string[] | null = null;
  private rootToksGen = -1;

  // Cache admission (see admit()): misses in the current window, cacheHits
  // when it began, and "cache only every admitEvery-th miss".
  private readonly admitWindow: number;
  private winMisses = 0;
  private winHitsBase = 0;
  private admitEvery = 1;
  private admitTick = 0;

  // Scratch state for one trie walk; match() never re-enters itself.
  private toks: string[] = [];
  /** the deepest token index the walk looked up among literal tokens */
  private litDepth = -1;
  private keyToks = 0;
  private ntoks = 0;
  private rPsubs: S[] | null = null;
  private rPsubsOwned = false;
  private rQsubs: S[][] | null = null;
  private rQnames: string[] = [];
  private rQowned: boolean[] = [];

  constructor(opts?: SublistOptions) {
    const size = opts?.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(size) || size < 0) {
      throw new RangeError(`Sublist cacheSize must be a non-negative integer, got ${size}`);
    }
    this.cacheMax = size;
    this.cache = size > 0 ? new Map() : null;
    this.admitWindow = Math.max(1, size >> 1);
  }

  /**
   * After match(): how many leading tokens its result depends on, 0 when
   * unknown (a cache hit, an invalid subject). A walk that looked no token
   * past the first k up among literal tokens (only `*` and `>` below that)
   * gives the same result for every subject of the same token count that
   * shares those k tokens: until genid changes, the result may be reused for
   * them. A client acking JetStream messages publishes a new subject per
   * ack, `$JS.ACK.<stream>.<consumer>.<five numbers>`, whose numbers only
   * the consumer's `*` subscription looks at (Client.matchSubject).
   */
  get lastMatchKeyTokens(): number {
    return this.keyToks;
  }

  /** Bumps on every successful insert/remove (once per removeBatch). */
  get genid(): number {
    return this._genid;
  }

  get cacheEnabled(): boolean {
    return this.cache !== null;
  }

  /** Number of subscriptions held. */
  count(): number {
    return this.numSubs;
  }

  /** Number of cached results. */
  cacheCount(): number {
    return this.cache === null ? 0 : this.cache.size;
  }

  /**
   * Adds a subscription. Returns false when its subject is not insertable
   * (empty token or `>` not last): the caller answers -ERR 'Invalid Subject'.
   * Inserting the same object twice is a no-op that returns true.
   */
  insert(sub: S): boolean {
    const toks = insertableTokens(sub.subject);
    if (toks === null) return false;

    let level = this.root;
    let node: TrieNode<S> | undefined;
    const last = toks.length - 1;
    for (let i = 0; i <= last; i++) {
      const t = toks[i]!;
      if (t === '*') {
        node = level.pwc ??= new TrieNode<S>();
      } else if (t === '>') {
        node = level.fwc ??= new TrieNode<S>();
      } else {
        node = level.nodes.get(t);
        if (node === undefined) {
          node = new TrieNode<S>();
          level.nodes.set(t, node);
        }
      }
      if (i < last) level = node.next ??= new TrieLevel<S>();
    }
    const leaf = node!;

    if (sub.queue === null) {
      const ps = (leaf.psubs ??= new Set<S>());
      if (ps.has(sub)) return true;
      ps.add(sub);
      leaf.plist = null;
    } else {
      const qs = (leaf.qsubs ??= new Map<string, Set<S>>());
      let group = qs.get(sub.queue);
      if (group === undefined) {
        group = new Set<S>();
        qs.set(sub.queue, group);
      } else if (group.has(sub)) {
        return true;
      }
      group.add(sub);
      leaf.qsnap = null;
    }

    this.numSubs++;
    this.inserts++;
    this._genid++;
    if (this.cache !== null) this.addToCache(sub);
    return true;
  }

  /** Removes a subscription; false if it was not in the index. */
  remove(sub: S): boolean {
    if (!this.removeFromTrie(sub)) return false;
    if (this.cache !== null) this.removeFromCache(sub.subject);
    this._genid++;
    return true;
  }

  /**
   * Removes many subscriptions at once (a closing connection). Ones not in
   * the index are skipped. The cache is scrubbed per subscription while that
   * stays cheap, else dropped whole as sublist.go RemoveBatch always does.
   */
  removeBatch(subs: Iterable<S>): void {
    const cache = this.cache;
    let dropCache = false;
    let wildcards = 0;
    let removed = false;
    for (const sub of subs) {
      if (!this.removeFromTrie(sub)) continue;
      removed = true;
      if (cache === null || dropCache) continue;
      if (subjectIsLiteral(sub.subject)) {
        cache.delete(sub.subject);
      } else if (++wildcards > BATCH_WILDCARD_SCAN_LIMIT) {
        dropCache = true;
      } else {
        this.removeFromCache(sub.subject);
      }
    }
    if (dropCache) this.cache = new Map();
    if (removed) this._genid++;
  }

  /**
   * Call after changing a queue subscription's queueWeight in place: drops
   * the cached results that include it (sublist.go UpdateRemoteQSub).
   */
  updateRemoteQSub(sub: S): void {
    const toks = insertableTokens(sub.subject);
    if (toks !== null) {
      let level: TrieLevel<S> | null = this.root;
      let node: TrieNode<S> | undefined;
      for (let i = 0; i < toks.length && level !== null; i++) {
        node = level.child(toks[i]!);
        level = node === undefined ? null : node.next;
      }
      // The weights are baked into the node's queue snapshot.
      if (node !== undefined) node.qsnap = null;
    }
    if (this.cache !== null) this.removeFromCache(sub.subject);
    this._genid++;
  }

  /**
   * Every subscription interested in the literal publish subject `subject`.
   * A subject with an empty token (or empty) matches nothing. A `*` or `>`
   * token in it is compared as literal text against subscriptions' literal
   * tokens, as the reference does.
   */
  match(subject: string): SublistResult<S> {
    this.matches++;
    this.keyToks = 0;
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache.get(subject);
      if (hit !== undefined) {
        this.cacheHits++;
        return hit;
      }
    }
    // Invalid subjects are answered without being cached (sublist.go match).
    if (!this.tokenize(subject)) return EMPTY_RESULT;

    this.beginCollect();
    this.litDepth = -1;
    this.matchLevel(this.root, 0);
    this.keyToks = this.litDepth + 1;
    const result = this.endCollect();
    if (cache !== null && this.admit()) {
      cache.set(subject, result);
      if (cache.size > this.cacheMax) this.shrinkCache();
    }
    return result;
  }

  /**
   * False when no subscription can match `subject` because none has its
   * first token (nor a wildcard there): one Map lookup, no cache entry, no
   * tokenizing. For small indexes walked with mostly unrelated subjects,
   * such as an account's service imports (every account imports a few
   * `$SYS.REQ` subjects, and every PubAck inbox or JetStream ack subject
   * published in it was a guaranteed cache miss there).
   */
  mayMatch(subject: string): boolean {
    const root = this.root;
    if (root.fwc !== null || root.pwc !== null) return true;
    const toks = this.rootTokens();
    if (toks === null) {
      const dot = subject.indexOf('.');
      return root.nodes.has(dot < 0 ? subject : subject.slice(0, dot));
    }
    // a few first tokens (the usual case): compared in place, no substring
    for (let k = 0; k < toks.length; k++) {
      const tok = toks[k]!;
      const n = tok.length;
      if (subject.startsWith(tok) && (subject.length === n || subject.charCodeAt(n) === 0x2e)) return true;
    }
    return false;
  }

  /**
   * mayMatch on a subject held as latin1 bytes, buf[start, end): a client's
   * publish asks before it makes a string of the subject at all.
   */
  mayMatchAt(buf: Buffer, start: number, end: number): boolean {
    const root = this.root;
    if (root.fwc !== null || root.pwc !== null) return true;
    const toks = this.rootTokens();
    if (toks === null) return true;
    const len = end - start;
    for (let k = 0; k < toks.length; k++) {
      const tok = toks[k]!;
      const n = tok.length;
      if (len < n || (len > n && buf[start + n] !== 0x2e)) continue;
      let i = 0;
      while (i < n && buf[start + i] === tok.charCodeAt(i)) i++;
      if (i === n) return true;
    }
    return false;
  }

  /**
   * The literal first tokens of the subscriptions held, null when one has a
   * wildcard there (then any subject may match). Account.refreshCrossAccount
   * builds its first-byte import gate from this.
   */
  firstTokens(): string[] | null {
    const root = this.root;
    if (root.fwc !== null || root.pwc !== null) return null;
    return [...root.nodes.keys()];
  }

  /**
   * The root's literal first tokens as an array (null when there are more
   * than four: mayMatch then looks the token up), rebuilt only after an
   * insert or remove. mayMatchAt runs for every client publish in every
   * account (they all import `$SYS.REQ` subjects), and iterating the Map's
   * keys there cost an iterator per message: ~30% of onMsg's self time in
   * a pub-only profile.
   */
  private rootTokens(): string[] | null {
    if (this.rootToksGen !== this._genid) {
      const nodes = this.root.nodes;
      this.rootToks = nodes.size > 4 ? null : [...nodes.keys()];
      this.rootToksGen = this._genid;
    }
    return this.rootToks;
  }

  /** Whether match(subject) would return anything; cheaper on a cache miss. */
  hasInterest(subject: string): boolean {
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache.get(subject);
      if (hit !== undefined) return hit.psubs.length > 0 || hit.qsubs.length > 0;
    }
    if (!this.tokenize(subject)) return false;
    return this.interestLevel(this.root, 0);
  }

  /**
   * Subscriptions whose subjects are covered by the wildcard `subject`, for
   * permission checks of leafnode subscriptions (sublist.go ReverseMatch).
   * Reference quirk kept: a `*` in `subject` only descends into literal
   * tokens, while a `>` collects everything below including wildcard subs.
   * Not cached.
   */
  reverseMatch(subject: string): SublistResult<S> {
    const toks = subject.split('.');
    this.beginCollect();
    this.reverseLevel(this.root, toks, 0, null);
    return this.endCollect();
  }

  /** Every subscription, in no particular order. */
  all(): S[] {
    const out: S[] = [];
    collectAll(this.root, out);
    return out;
  }

  /** The figures /subsz reports for this sublist (sublist.go Stats). */
  stats(): SublistStats {
    const { totFanout, maxFanout, cached } = this.fanout();
    return {
      numSubs: this.numSubs,
      numCache: this.cache === null ? 0 : this.cache.size,
      numInserts: this.inserts,
      numRemoves: this.removes,
      numMatches: this.matches,
      cacheHitRate: this.matches > 0 ? this.cacheHits / this.matches : 0,
      maxFanout,
      avgFanout: totFanout > 0 ? totFanout / cached : 0,
    };
  }

  /**
   * /subsz over several sublists (one per account), combined the way
   * sublist.go SublistStats.add does: sums, max of maxFanout, and rates
   * recomputed from the summed raw counts rather than averaged.
   */
  static aggregateStats<T extends SubLike>(lists: Iterable<Sublist<T>>): SublistStats {
    const st: SublistStats = {
      numSubs: 0,
      numCache: 0,
      numInserts: 0,
      numRemoves: 0,
      numMatches: 0,
      cacheHitRate: 0,
      maxFanout: 0,
      avgFanout: 0,
    };
    let hits = 0;
    let tot = 0;
    let cached = 0;
    for (const sl of lists) {
      const f = sl.fanout();
      st.numSubs += sl.numSubs;
      st.numCache += sl.cache === null ? 0 : sl.cache.size;
      st.numInserts += sl.inserts;
      st.numRemoves += sl.removes;
      st.numMatches += sl.matches;
      hits += sl.cacheHits;
      tot += f.totFanout;
      cached += f.cached;
      if (f.maxFanout > st.maxFanout) st.maxFanout = f.maxFanout;
    }
    if (tot > 0) st.avgFanout = tot / cached;
    if (st.numMatches > 0) st.cacheHitRate = hits / st.numMatches;
    return st;
  }

  /** Depth of the deepest subscription subject held (sublist.go numLevels). */
  numLevels(): number {
    return depthOf(this.root, 0);
  }

  /** Trie size, for tests: both are 0 once every subscription is removed. */
  debugNodeCounts(): { nodes: number; levels: number } {
    const acc = { nodes: 0, levels: 0 };
    countLevel(this.root, acc);
    // The root level is permanent; report only what subscriptions created.
    acc.levels--;
    return acc;
  }

  // -------------------------------------------------------------------------

  // Fanout is measured over cached results: a group counts once, however
  // many members it has (sublist.go Stats).
  private fanout(): { totFanout: number; maxFanout: number; cached: number } {
    let tot = 0;
    let max = 0;
    let cached = 0;
    if (this.cache !== null) {
      for (const r of this.cache.values()) {
        const f = r.psubs.length + r.qsubs.length;
        cached++;
        tot += f;
        if (f > max) max = f;
      }
    }
    return { totFanout: tot, maxFanout: max, cached };
  }

  // Splits `subject` into this.toks; false for an empty subject or one with
  // an empty token, which the reference's match treats as matching nothing.
  private tokenize(subject: string): boolean {
    const len = subject.length;
    const toks = this.toks;
    let n = 0;
    let start = 0;
    for (;;) {
      const dot = subject.indexOf('.', start);
      if (dot === -1) break;
      if (dot === start) return false;
      toks[n++] = subject.slice(start, dot);
      start = dot + 1;
    }
    if (start === len) return false;
    toks[n++] = start === 0 ? subject : subject.slice(start);
    this.ntoks = n;
    return true;
  }

  private matchLevel(level: TrieLevel<S>, i: number): void {
    const toks = this.toks;
    const last = this.ntoks - 1;
    for (;;) {
      if (level.fwc !== null) this.addNode(level.fwc);
      const pwc = level.pwc;
      let node: TrieNode<S> | undefined;
      if (level.nodes.size !== 0) {
        node = level.nodes.get(toks[i]!);
        if (i > this.litDepth) this.litDepth = i;
      }
      if (i === last) {
        if (node !== undefined) this.addNode(node);
        if (pwc !== null) this.addNode(pwc);
        return;
      }
      if (pwc !== null && pwc.next !== null) this.matchLevel(pwc.next, i + 1);
      if (node === undefined || node.next === null) return;
      level = node.next;
      i++;
    }
  }

  private interestLevel(level: TrieLevel<S>, i: number): boolean {
    const toks = this.toks;
    const last = this.ntoks - 1;
    for (;;) {
      // A `>` node cannot have children, so it exists only while it has subs.
      if (level.fwc !== null) return true;
      const pwc = level.pwc;
      const node = level.nodes.size === 0 ? undefined : level.nodes.get(toks[i]!);
      if (i === last) {
        return (node !== undefined && node.hasSubs()) || (pwc !== null && pwc.hasSubs());
      }
      if (pwc !== null && pwc.next !== null && this.interestLevel(pwc.next, i + 1)) return true;
      if (node === undefined || node.next === null) return false;
      level = node.next;
      i++;
    }
  }

  private reverseLevel(
    level: TrieLevel<S> | null,
    toks: string[],
    i: number,
    node: TrieNode<S> | null,
  ): void {
    for (; i < toks.length; i++) {
      // A node without children has an (implicit) empty level below it.
      if (level === null) return;
      const t = toks[i]!;
      if (t === '>') {
        this.addAllBelow(level);
        return;
      }
      if (t === '*') {
        for (const n of level.nodes.values()) this.reverseLevel(n.next, toks, i + 1, n);
        return;
      }
      const n = level.nodes.get(t);
      if (n === undefined) return;
      node = n;
      level = n.next;
    }
    if (node !== null) this.addNode(node);
  }

  private addAllBelow(level: TrieLevel<S>): void {
    if (level.pwc !== null) this.addNode(level.pwc);
    if (level.fwc !== null) this.addNode(level.fwc);
    for (const n of level.nodes.values()) {
      this.addNode(n);
      if (n.next !== null) this.addAllBelow(n.next);
    }
  }

  private beginCollect(): void {
    this.rPsubs = null;
    this.rPsubsOwned = false;
    this.rQsubs = null;
  }

  private endCollect(): SublistResult<S> {
    const psubs = this.rPsubs;
    const qsubs = this.rQsubs;
    this.rPsubs = null;
    this.rQsubs = null;
    // Group names are only recorded alongside groups; skip the costly
    // length store when there were none.
    if (qsubs !== null) {
      this.rQnames.length = 0;
      this.rQowned.length = 0;
    }
    if (psubs === null && qsubs === null) return EMPTY_RESULT;
    return { psubs: psubs ?? EMPTY_RESULT.psubs, qsubs: qsubs ?? EMPTY_RESULT.qsubs };
  }

  // Accumulates one node's subscriptions into the scratch result. Arrays
  // are taken from the node's immutable snapshots as they are; only when a
  // second node adds to the plain list or to the same queue group is a
  // private copy made.
  private addNode(node: TrieNode<S>): void {
    const ps = node.psubs;
    if (ps !== null) {
      let plist = node.plist;
      if (plist === null) plist = node.plist = Array.from(ps);
      const acc = this.rPsubs;
      if (acc === null) {
        this.rPsubs = plist;
      } else {
        let into = acc;
        if (!this.rPsubsOwned) {
          into = this.rPsubs = acc.slice();
          this.rPsubsOwned = true;
        }
        for (let k = 0; k < plist.length; k++) into.push(plist[k]!);
      }
    }
    const qs = node.qsubs;
    if (qs !== null) {
      let snap = node.qsnap;
      if (snap === null) snap = node.qsnap = new QueueSnapshot(qs);
      const groups = (this.rQsubs ??= []);
      const names = this.rQnames;
      const owned = this.rQowned;
      for (let g = 0; g < snap.names.length; g++) {
        const name = snap.names[g]!;
        const members = snap.members[g]!;
        const slot = names.indexOf(name);
        if (slot === -1) {
          groups.push(members);
          names.push(name);
          owned.push(false);
          continue;
        }
        let into = groups[slot]!;
        if (!owned[slot]) {
          into = groups[slot] = into.slice();
          owned[slot] = true;
        }
        for (let k = 0; k < members.length; k++) into.push(members[k]!);
      }
    }
  }

  private removeFromTrie(sub: S): boolean {
    const toks = insertableTokens(sub.subject);
    if (toks === null) return false;

    const depth = toks.length;
    const levels: TrieLevel<S>[] = new Array(depth);
    const nodes: TrieNode<S>[] = new Array(depth);
    let level: TrieLevel<S> | null = this.root;
    for (let i = 0; i < depth; i++) {
      if (level === null) return false;
      const n = level.child(toks[i]!);
      if (n === undefined) return false;
      levels[i] = level;
      nodes[i] = n;
      level = n.next;
    }
    const leaf = nodes[depth - 1]!;

    if (sub.queue === null) {
      const ps = leaf.psubs;
      if (ps === null || !ps.delete(sub)) return false;
      leaf.plist = null;
      if (ps.size === 0) leaf.psubs = null;
    } else {
      const qs = leaf.qsubs;
      const group = qs?.get(sub.queue);
      if (group === undefined || !group.delete(sub)) return false;
      leaf.qsnap = null;
      if (group.size === 0) {
        qs!.delete(sub.queue);
        if (qs!.size === 0) leaf.qsubs = null;
      }
    }
    this.numSubs--;
    this.removes++;

    // Prune bottom-up; once a node stays, everything above it stays too.
    for (let i = depth - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (n.next !== null && n.next.isEmpty()) n.next = null;
      if (!n.isEmpty()) break;
      levels[i]!.removeChild(toks[i]!);
    }
    return true;
  }

  // A new subscription joins every cached result it matches. A literal
  // subscription can only match the cache entry of its own subject.
  // A new subscription invalidates the cached results it matches; they are
  // rebuilt by the next miss. The reference appends the new sub to them
  // instead, which makes delivery order depend on the cache's history;
  // rebuilding keeps results in trie-walk order, the order a fresh
  // reference server delivers in.
  private addToCache(sub: S): void {
    this.removeFromCache(sub.subject);
  }

  // A removed subscription invalidates the cached results it matched; they
  // are dropped and rebuilt on the next miss.
  private removeFromCache(subject: string): void {
    const cache = this.cache!;
    if (subjectIsLiteral(subject)) {
      cache.delete(subject);
      return;
    }
    cache.forEach((_r, key) => {
      if (matchLiteral(key, subject)) cache.delete(key);
    });
  }

  // Whether this miss's result should enter the cache. Normally always. When
  // a window of misses (half the cache size) saw fewer hits than misses, the
  // cache is thrashing, typically on a stream of one-off subjects such as
  // request replies: each insert then costs more than it will ever save and
  // flushes entries that do get hit. Only every admitEvery-th miss is then
  // cached, doubling up to 64 while thrashing lasts and back to every miss
  // as soon as a window is mostly hits. (The reference always caches.)
  private admit(): boolean {
    if (++this.winMisses >= this.admitWindow) {
      const hits = this.cacheHits - this.winHitsBase;
      this.admitEvery = hits < this.winMisses ? Math.min(this.admitEvery * 2, MAX_ADMIT_EVERY) : 1;
      this.winMisses = 0;
      this.winHitsBase = this.cacheHits;
    }
    if (this.admitEvery === 1) return true;
    if (++this.admitTick < this.admitEvery) return false;
    this.admitTick = 0;
    return true;
  }

  // Over the bound: keep the newest half (sublist.go sweeps down to
  // slCacheSweep = slCacheMax/2, dropping in arbitrary order).
  //
  // The survivors are copied into a new Map instead of deleting the oldest
  // entries in place. A long-lived Map sits in V8's old generation; churning
  // it makes it reallocate its backing table there, and each dead table
  // keeps young subject strings alive through scavenges until the next full
  // GC, so garbage gets promoted in bulk. With unique subjects (request
  // replies) that made a miss 2-3x slower; a fresh Map stays young and dies
  // young. The copy is amortised one set() per miss.
  private shrinkCache(): void {
    const old = this.cache!;
    const fresh = new Map<string, SublistResult<S>>();
    let skip = old.size - (this.cacheMax >> 1);
    old.forEach((r, key) => {
      if (skip > 0) skip--;
      else fresh.set(key, r);
    });
    this.cache = fresh;
  }
}

// A copy of `r` with `sub` added; `r` itself is left untouched.
function withSub<S extends SubLike>(r: SublistResult<S>, sub: S): SublistResult<S> {
  if (sub.queue === null) {
    const psubs = r.psubs.slice();
    psubs.push(sub);
    return { psubs, qsubs: r.qsubs };
  }
  const qsubs = r.qsubs.slice();
  const queue = sub.queue;
  let slot = -1;
  for (let i = 0; i < qsubs.length; i++) {
    if (qsubs[i]![0]!.queue === queue) {
      slot = i;
      break;
    }
  }
  const group = slot === -1 ? [] : qsubs[slot]!.slice();
  pushWeighted(group, sub);
  if (slot === -1) qsubs.push(group);
  else qsubs[slot] = group;
  return { psubs: r.psubs, qsubs };
}

function collectAll<S extends SubLike>(level: TrieLevel<S>, out: S[]): void {
  const visit = (n: TrieNode<S>): void => {
    if (n.psubs !== null) for (const s of n.psubs) out.push(s);
    if (n.qsubs !== null) for (const g of n.qsubs.values()) for (const s of g) out.push(s);
    if (n.next !== null) collectAll(n.next, out);
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}

function depthOf<S extends SubLike>(level: TrieLevel<S>, depth: number): number {
  if (level.isEmpty()) return depth;
  depth++;
  let max = depth;
  const visit = (n: TrieNode<S>): void => {
    if (n.next !== null) max = Math.max(max, depthOf(n.next, depth));
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
  return max;
}

function countLevel<S extends SubLike>(level: TrieLevel<S>, acc: { nodes: number; levels: number }): void {
  acc.levels++;
  const visit = (n: TrieNode<S>): void => {
    acc.nodes++;
    if (n.next !== null) countLevel(n.next, acc);
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}
