// A consumer's pending set: stream sequence -> (delivery sequence, time of
// the last delivery) for every message delivered and not yet acknowledged.
//
// Deliveries mostly add increasing sequences and acks mostly remove the
// oldest, so the live sequences usually fill a short range: they are kept in
// two typed arrays used as a ring indexed by sequence, with no object or Map
// entry per message. A Map<number, Pending> had cost, per delivered message,
// an object, a boxed timestamp and, as the set filled and drained with each
// pull batch, the Map's table regrown and shrunk again: a quarter of what a
// fetch + ack load allocated. When the sequences spread too thin for the
// ring (a filtered consumer, one message left unacknowledged far behind),
// the set falls back to a Map until it empties.

/** the ring while the span of live sequences stays below this (in slots) */
function maxSpan(n: number): number {
  return 8 * n + 4096;
}

const MIN_CAP = 64;

export class PendingSet {
  private n = 0;
  // ring mode: live sequences in [lo, hi), slot seq & (cap - 1); dseq -1 = none
  private lo = 0;
  private hi = 0;
  private cap = MIN_CAP;
  private dq = new Float64Array(MIN_CAP).fill(-1);
  private tq = new Float64Array(MIN_CAP);
  /** map mode: seq -> [dseq, ts] */
  private map: Map<number, [number, number]> | null = null;

  get size(): number {
    return this.n;
  }

  has(seq: number): boolean {
    if (this.map !== null) return this.map.has(seq);
    return seq >= this.lo && seq < this.hi && this.dq[seq & (this.cap - 1)]! >= 0;
  }

  /** the delivery sequence of a pending message; -1 when seq is not pending */
  dseq(seq: number): number {
    if (this.map !== null) return this.map.get(seq)?.[0] ?? -1;
    return seq >= this.lo && seq < this.hi ? this.dq[seq & (this.cap - 1)]! : -1;
  }

  /** the time (ns) of its last delivery; 0 when seq is not pending */
  ts(seq: number): number {
    if (this.map !== null) return this.map.get(seq)?.[1] ?? 0;
    return this.has(seq) ? this.tq[seq & (this.cap - 1)]! : 0;
  }

  /** sets the delivery time of a pending message (nothing when it is not pending) */
  setTs(seq: number, ts: number): void {
    if (this.map !== null) {
      const e = this.map.get(seq);
      if (e !== undefined) e[1] = ts;
    } else if (this.has(seq)) this.tq[seq & (this.cap - 1)] = ts;
  }

  /** A delivery: a new pending message, or a redelivery (its time changes, its delivery sequence stays). */
  track(seq: number, dseq: number, ts: number): void {
    if (this.has(seq)) return this.setTs(seq, ts);
    this.add(seq, dseq, ts);
  }

  /** adds seq, which is not pending */
  add(seq: number, dseq: number, ts: number): void {
    if (this.map === null) {
      if (this.n === 0) {
        this.lo = seq;
        this.hi = seq + 1;
      } else {
        const lo = seq < this.lo ? seq : this.lo;
        const hi = seq >= this.hi ? seq + 1 : this.hi;
        if (hi - lo > this.cap) {
          if (hi - lo > maxSpan(this.n + 1)) this.toMap();
          else this.grow(hi - lo);
        }
        if (this.map === null) {
          this.lo = lo;
          this.hi = hi;
        }
      }
      if (this.map === null) {
        const i = seq & (this.cap - 1);
        this.dq[i] = dseq;
        this.tq[i] = ts;
        this.n++;
        return;
      }
    }
    this.map!.set(seq, [dseq, ts]);
    this.n++;
  }

  delete(seq: number): boolean {
    if (this.map !== null) {
      if (!this.map.delete(seq)) return false;
      if (--this.n === 0) this.map = null;
      return true;
    }
    if (!this.has(seq)) return false;
    const mask = this.cap - 1;
    this.dq[seq & mask] = -1;
    if (--this.n === 0) {
      this.lo = this.hi = 0;
      return true;
    }
    // keep [lo, hi) tight: acks mostly take the oldest
    if (seq === this.lo) {
      let s = seq + 1;
      while (this.dq[s & mask]! < 0) s++;
      this.lo = s;
    } else if (seq === this.hi - 1) {
      let s = seq - 1;
      while (this.dq[s & mask]! < 0) s--;
      this.hi = s + 1;
    }
    return true;
  }

  clear(): void {
    this.n = 0;
    this.lo = this.hi = 0;
    this.map = null;
    if (this.cap > MIN_CAP * 64) {
      this.cap = MIN_CAP;
      this.dq = new Float64Array(MIN_CAP);
      this.tq = new Float64Array(MIN_CAP);
    }
    this.dq.fill(-1);
  }

  /** The pending sequences (ascending in ring mode), as a copy: callers may delete while they walk it. */
  seqs(): number[] {
    const out: number[] = [];
    if (this.map !== null) {
      for (const s of this.map.keys()) out.push(s);
      return out;
    }
    const mask = this.cap - 1;
    for (let s = this.lo; s < this.hi; s++) if (this.dq[s & mask]! >= 0) out.push(s);
    return out;
  }

  /** the lowest pending sequence above seq (and below `below`, past which none is pending); 0 when none */
  lowestAbove(seq: number, below: number): number {
    if (this.map !== null) {
      // walk the sequence range when it is short, else the set
      if (below - seq <= this.n * 4) {
        for (let s = seq + 1; s < below; s++) if (this.map.has(s)) return s;
        return 0;
      }
      let lowest = 0;
      for (const s of this.map.keys()) if (s > seq && (lowest === 0 || s < lowest)) lowest = s;
      return lowest;
    }
    const mask = this.cap - 1;
    for (let s = seq + 1 > this.lo ? seq + 1 : this.lo; s < this.hi; s++) if (this.dq[s & mask]! >= 0) return s;
    return 0;
  }

  /** a ring of at least `span` slots, entries moved over */
  private grow(span: number): void {
    let cap = this.cap * 2;
    while (cap < span) cap *= 2;
    const dq = new Float64Array(cap).fill(-1);
    const tq = new Float64Array(cap);
    const om = this.cap - 1;
    const nm = cap - 1;
    for (let s = this.lo; s < this.hi; s++) {
      const d = this.dq[s & om]!;
      if (d < 0) continue;
      dq[s & nm] = d;
      tq[s & nm] = this.tq[s & om]!;
    }
    this.cap = cap;
    this.dq = dq;
    this.tq = tq;
  }

  private toMap(): void {
    const m = new Map<number, [number, number]>();
    const mask = this.cap - 1;
    for (let s = this.lo; s < this.hi; s++) {
      const d = this.dq[s & mask]!;
      if (d >= 0) m.set(s, [d, this.tq[s & mask]!]);
    }
    this.map = m;
    this.lo = this.hi = 0;
    this.dq.fill(-1);
  }
}
