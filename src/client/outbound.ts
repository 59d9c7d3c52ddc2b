// Outbound staging for one connection: frames are copied into a slab and
// written once per flush, so a burst of messages costs one socket.write.
//
// The slab is only ever appended to. A flushed region is handed to the socket
// as a view and never overwritten, so libuv may write it whenever it likes;
// when the slab is full a new one is taken and the old one is freed by the GC
// once its last write completes. Slabs start small (idle connections stay
// cheap) and double up to MAX_SLAB while traffic keeps filling them, as the
// reference's queueOutbound does (server/client.go startBufSize/maxBufSize).

const START_SLAB = 512;
const MAX_SLAB = 64 * 1024;

export class Outbound {
  /** bytes staged and not yet handed to the socket */
  staged = 0;
  private slab: Buffer | null = null;
  private slabSize = START_SLAB;
  private start = 0;
  /** write position in the slab */
  pos = 0;
  /** full regions waiting for the next flush */
  private queue: Buffer[] | null = null;

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
    if (this.slab !== null && this.slabSize < MAX_SLAB) this.slabSize *= 2;
    const size = n > this.slabSize ? n : this.slabSize;
    const slab = Buffer.allocUnsafeSlow(size);
    this.slab = slab;
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

  /** Whether draining would need more than one write. */
  get multi(): boolean {
    return this.queue !== null;
  }

  /** Drop everything (connection closed). */
  reset(): void {
    this.slab = null;
    this.queue = null;
    this.start = 0;
    this.pos = 0;
    this.staged = 0;
    this.slabSize = START_SLAB;
  }
}
