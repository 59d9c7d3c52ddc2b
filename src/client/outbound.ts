// Outbound staging for one connection: frames are copied into a slab and
// written once per flush, so a burst of messages costs one socket.write.
//
// A flushed region is handed to the socket as a view. By default it is never
// overwritten, so the socket may write it whenever it likes; when the slab is
// full a new one is taken and the old one is freed by the GC once its last
// write completes. Slabs start small (idle connections stay cheap) and double
// up to MAX_SLAB while traffic keeps filling them, as the reference's
// queueOutbound does (server/client.go startBufSize/maxBufSize).
//
// Reuse: when the owner knows the socket took every byte of a flush
// synchronously (a plain TCP socket whose writableLength is back to 0: the
// kernel copied the data), it calls recycle(): the current slab is rewound and
// full slabs go back to a shared pool, like the reference's nbPool. When the
// socket is backed up, the owner takes the full slabs (takeSpent) and returns
// them once the socket's write callback says they were written. Without
// either every 64 KiB of traffic cost a fresh ArrayBuffer (external memory
// that drives scavenges, pages the kernel faults in again, and a C heap that
// fragments under a steady backlog).

const START_SLAB = 512;
const MAX_SLAB = 64 * 1024;
/** full MAX_SLAB slabs always kept for reuse by all connections (4 MiB) */
const POOL_KEEP = 64;
/**
 * Upper bound of the shared pool (64 MiB). Under backlog, slabs come back
 * only after the socket has written them (returnSlabs), so the pool holds as
 * many as the peak backlog of all connections needed; the part above
 * POOL_KEEP that went unused for a whole TRIM_MS is let go.
 */
const POOL_MAX = 1024;
const TRIM_MS = 10_000;
const pool: Buffer[] = [];
/** the smallest the pool was since the last trim: that many slabs were not needed */
let poolLow = 0;
let trimTimer: NodeJS.Timeout | null = null;
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

function trimPool(): void {
  const excess = Math.min(poolLow, pool.length) - POOL_KEEP;
  if (excess > 0) pool.length -= excess;
  poolLow = pool.length;
  if (pool.length <= POOL_KEEP && trimTimer !== null) {
    clearInterval(trimTimer);
    trimTimer = null;
  }
}

/**
 * Slabs the socket has finished writing (its write callback ran): back to the
 * pool. Without this, every slab flushed while the socket was backed up was
 * left to the GC and a new one malloc'ed: under a steady backlog that churn
 * of 64 KiB blocks fragmented the C heap and RSS crept up by ~1 MB/s
 * (BENCHMARKS.md, memrun).
 */
export function returnSlabs(slabs: Buffer[]): void {
  for (let i = 0; i < slabs.length && pool.length < POOL_MAX; i++) pool.push(slabs[i]);
  if (pool.length > POOL_KEEP && trimTimer === null) {
    poolLow = pool.length;
    trimTimer = setInterval(trimPool, TRIM_MS);
    trimTimer.unref();
  }
}

export class Outbound {
  /** bytes staged and not yet handed to the socket */
  staged = 0;
  private slab: Buffer | null = null;
  /** a DataView of the current slab, for word-wise copies (client.ts copyBytes) */
  view: DataView = EMPTY_VIEW;
  private slabSize = START_SLAB;
  private start = 0;
  /** write position in the slab */
  pos = 0;
  /** full regions waiting for the next flush */
  private queue: Buffer[] | null = null;
  /** MAX_SLAB slabs behind the regions handed out by the last drain, for recycle() */
  private spent: Buffer[] | null = null;

  /**
   * Make room for n contiguous bytes and return the slab to write into at
   * `this.pos`. The caller advances with commit(n).
   */
  reserve(n: number): Buffer {
    const slab = this.slab;
    if (slab !== null && slab.length - this.pos >= n) return slab;
    return this.grow(n);
  }

  commit(n: number): void {
    this.pos += n;
    this.staged += n;
  }

  /** Stage a whole buffer (control protocol, INFO, large payloads). */
  append(b: Buffer): void {
    const n = b.length;
    if (n > MAX_SLAB) {
      // Too big to be worth copying: queue it by reference.
      this.sealRegion();
      (this.queue ??= []).push(b);
      this.staged += n;
      return;
    }
    const slab = this.reserve(n);
    b.copy(slab, this.pos);
    this.commit(n);
  }

  private grow(n: number): Buffer {
    this.sealRegion();
    const old = this.slab;
    if (old !== null && old.length === MAX_SLAB) (this.spent ??= []).push(old);
    if (old !== null && this.slabSize < MAX_SLAB) this.slabSize *= 2;
    const size = n > this.slabSize ? n : this.slabSize;
    let slab: Buffer;
    if (size === MAX_SLAB && pool.length > 0) {
      slab = pool.pop()!;
      if (pool.length < poolLow) poolLow = pool.length;
    } else {
      slab = Buffer.allocUnsafeSlow(size);
    }
    this.slab = slab;
    this.view = new DataView(slab.buffer, slab.byteOffset, slab.length);
    this.start = 0;
    this.pos = 0;
    return slab;
  }

  /** Move the current unflushed region of the slab to the queue. */
  private sealRegion(): void {
    if (this.slab !== null && this.pos > this.start) {
      (this.queue ??= []).push(this.slab.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  /**
   * Hand everything staged to `write` (in order) and forget it. Returns the
   * number of bytes handed over.
   */
  drain(write: (b: Buffer) => void): number {
    const n = this.staged;
    if (n === 0) return 0;
    const q = this.queue;
    if (q !== null) {
      this.queue = null;
      for (let i = 0; i < q.length; i++) write(q[i]);
    }
    if (this.slab !== null && this.pos > this.start) {
      write(this.slab.subarray(this.start, this.pos));
      this.start = this.pos;
    }
    this.staged = 0;
    return n;
  }

  /**
   * Everything drained so far has been consumed by the socket (nothing of it
   * is referenced any more): reuse the slabs. Only valid right after drain()
   * with nothing staged since.
   */
  recycle(): void {
    const spent = this.spent;
    if (spent !== null) {
      this.spent = null;
      returnSlabs(spent);
    }
    if (this.staged === 0 && this.queue === null) {
      this.start = 0;
      this.pos = 0;
    }
  }

  /**
   * The socket still holds part of what was drained: hand over the full slabs
   * behind it, to be given back with returnSlabs once the socket has written
   * them (null when there are none).
   */
  takeSpent(): Buffer[] | null {
    const spent = this.spent;
    this.spent = null;
    return spent;
  }

  /** The socket keeps what was drained: forget the slabs behind it (the GC frees them). */
  release(): void {
    this.spent = null;
  }

  /** Whether draining would need more than one write. */
  get multi(): boolean {
    return this.queue !== null;
  }

  /** Drop everything (connection closed). */
  reset(): void {
    this.slab = null;
    this.view = EMPTY_VIEW;
    this.queue = null;
    this.spent = null;
    this.start = 0;
    this.pos = 0;
    this.staged = 0;
    this.slabSize = START_SLAB;
  }
}
