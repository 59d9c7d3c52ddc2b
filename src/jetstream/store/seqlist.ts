// The ascending list of live sequences of one subject. Appends are always at
// the tail (sequences only grow), and the usual removals are at the head
// (limits, max_age, acks of the oldest), so both ends are O(1); an interior
// removal shifts the shorter side. Lets loadLastMsg, max_msgs_per_subject and
// filteredState of a literal subject answer without scanning the stream.

// Sequences are kept as offsets from the first one in a Uint32Array (4 bytes
// a message), moving to a Float64Array in the unlikely case that a subject
// spans more than 2^32 sequences.
export class SeqList {
  private a: Uint32Array | Float64Array;
  private readonly off: number;
  private head = 0;
  private tail = 0;

  constructor(first: number) {
    this.off = first;
    this.a = new Uint32Array(2);
    this.a[0] = 0;
    this.tail = 1;
  }

  get length(): number {
    return this.tail - this.head;
  }

  first(): number {
    return this.tail > this.head ? this.a[this.head]! + this.off : 0;
  }

  last(): number {
    return this.tail > this.head ? this.a[this.tail - 1]! + this.off : 0;
  }

  at(i: number): number {
    return this.a[this.head + i]! + this.off;
  }

  push(seq: number): void {
    const v = seq - this.off;
    if (this.tail === this.a.length || (v > 0xffffffff && this.a instanceof Uint32Array)) {
      const n = this.tail - this.head;
      if (this.head >= n && !(v > 0xffffffff && this.a instanceof Uint32Array)) {
        // At least half is dead space at the front: slide instead of growing.
        this.a.copyWithin(0, this.head, this.tail);
      } else {
        const b = v > 0xffffffff || this.a instanceof Float64Array ? new Float64Array(this.a.length * 2) : new Uint32Array(this.a.length * 2);
        b.set(this.a.subarray(this.head, this.tail));
        this.a = b;
      }
      this.head = 0;
      this.tail = n;
    }
    this.a[this.tail++] = v;
  }

  /** index (0-based, from the head) of the first seq >= seq; length when none */
  lowerBound(seq: number): number {
    seq -= this.off;
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.a[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** removes seq; false when absent */
  remove(seq: number): boolean {
    const a = this.a;
    seq -= this.off;
    if (this.tail === this.head) return false;
    if (a[this.head] === seq) {
      this.head++;
      return true;
    }
    if (a[this.tail - 1] === seq) {
      this.tail--;
      return true;
    }
    const i = this.head + this.lowerBound(seq + this.off);
    if (i >= this.tail || a[i] !== seq) return false;
    if (i - this.head < this.tail - i) {
      a.copyWithin(this.head + 1, this.head, i);
      this.head++;
    } else {
      a.copyWithin(i, i + 1, this.tail);
      this.tail--;
    }
    return true;
  }
}
