/**
 * Large store buffers (block buffers, index columns, memory-store slabs)
 * on pages mapped for them alone, returned to the OS when the GC frees
 * them.
 *
 * Why: Node allocates an ArrayBuffer with malloc. glibc serves a request
 * of 128 KiB or more with its own mmap only until the first such mapping
 * is freed; from then on it raises its threshold to that size (up to
 * 32 MiB) and serves these requests from the main heap as well. A server
 * that allocates and frees blocks of a few MiB among long-lived small
 * allocations then fragments that heap: in the 10-minute JetStream soak
 * the heap (`[heap]` in smaps) grew 5 -> 33 MiB while the live ArrayBuffers
 * stayed at 15-22 MiB, with 14-24 MiB of the heap free inside it
 * (malloc_info), and glibc gives that back only on malloc_trim, which
 * Node does not expose. With the threshold pinned
 * (MALLOC_MMAP_THRESHOLD_=131072) the heap stayed at 5 MiB
 * (BENCHMARKS.md, "Session 11").
 *
 * How: a WebAssembly.Memory's buffer is the one ArrayBuffer Node 20 can
 * create that V8 maps itself (mmap, commit on first touch, munmap on free)
 * and that is still an ordinary one: typed arrays over it keep V8's
 * normal element kinds (a resizable ArrayBuffer is mapped the same way,
 * but its views get the RAB element kinds, 1.4x slower to index, and
 * make every call site that also sees ordinary Buffers polymorphic).
 * V8 reserves address space for each memory (10 GiB with its guard
 * regions, PROT_NONE and MAP_NORESERVE: no memory, no commit charge);
 * where that fails (an address-space rlimit), allocation falls back to
 * malloc for the rest of the process.
 */

/** WebAssembly's page size: a memory is a whole number of them */
const WASM_PAGE = 64 * 1024;

/**
 * Smaller requests stay with malloc: below glibc's initial mmap threshold
 * they come from the heap whatever we do, and a 64 KiB page granularity
 * would waste most of them.
 */
export const PAGED_MIN = 128 * 1024;

let paged = typeof WebAssembly === 'object' && typeof WebAssembly.Memory === 'function';

/** a zero-filled ArrayBuffer of at least `bytes` bytes (exactly `bytes` when from malloc) */
export function pagedArrayBuffer(bytes: number): ArrayBuffer {
  if (paged && bytes >= PAGED_MIN) {
    const pages = Math.ceil(bytes / WASM_PAGE);
    try {
      return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
    } catch {
      // address space refused (ulimit -v): malloc from now on rather than
      // paying a failed reservation (and V8's GC retry) per block
      paged = false;
    }
  }
  return new ArrayBuffer(bytes);
}

/** an uninitialised (paged: zero-filled) Buffer of n bytes */
export function pagedBuffer(n: number): Buffer {
  if (!paged || n < PAGED_MIN) return Buffer.allocUnsafe(n);
  return Buffer.from(pagedArrayBuffer(n), 0, n);
}

/** @internal tests: whether pagedBuffer still maps pages (false after a refused reservation) */
export function pagingOn(): boolean {
  return paged;
}
