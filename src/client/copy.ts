// Byte copies of the message path (MSG/RMSG frames into outbound slabs).
import type { PubArgSource } from './client.js';

const EMPTY = Buffer.alloc(0);
const SP = 0x20;

/** The outbound slab's DataView for the next copies (Outbound#view after reserve). */
export function setCopyTarget(view: DataView): void {
  copyDstView = view;
}

/**
 * Copy [s, e) of src into dst at d. `dst` must be the slab whose view was
 * given to setCopyTarget (writeMsg does it after Outbound#reserve). Short runs: a byte loop;
 * up to 256 bytes: 4 bytes at a time through DataViews (no allocation: the
 * source view is cached, the slab's view lives in its Outbound), about twice
 * as fast as Uint8Array#set for 16-200 byte payloads, which must allocate a
 * subarray per copy; longer: Uint8Array#set.
 */
export function copyBytes(src: Buffer, s: number, e: number, dst: Buffer, d: number): number {
  const n = e - s;
  if (n < 8) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
    return d + n;
  }
  if (n >= 64 && s === 0 && e === src.length) {
    // A whole Buffer (a JetStream delivery's payload, a view of a stored
    // message): one native copy, no subarray to make. 3-5x faster than
    // either loop below for 128 bytes (microbenchmark, views of a 4 MiB block);
    // shorter copies stay in the loops (not measured there).
    dst.set(src, d);
    return d + n;
  }
  if (src !== copySrc) {
    // Sources other than the shared read buffer are short (sids, one-off
    // buffers): a byte loop, keeping the read buffer's views cached.
    if (src.length < 4096 && n < 256) {
      for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
      return d + n;
    }
    copySrc = src;
    copySrcU8 = new Uint8Array(src.buffer, src.byteOffset, src.length);
    copySrcView = new DataView(src.buffer, src.byteOffset, src.length);
  }
  if (n < 256) {
    const sv = copySrcView;
    const dv = copyDstView;
    let i = 0;
    for (; i + 4 <= n; i += 4) dv.setUint32(d + i, sv.getUint32(s + i, true), true);
    for (; i < n; i++) dst[d + i] = src[s + i];
    return d + n;
  }
  dst.set(copySrcU8.subarray(s, e), d);
  return d + n;
}

let copySrc: Buffer = EMPTY;
let copySrcU8: Uint8Array = new Uint8Array(0);
let copySrcView: DataView = new DataView(new ArrayBuffer(0));
let copyDstView: DataView = copySrcView;

/**
 * Length of the size field of a MSG, HMSG or RMSG line: the publisher's own
 * size bytes ("hdr total" for HMSG), or `sizeStr` when the headers were
 * stripped for this receiver.
 */
export function sizeFieldLen(src: PubArgSource, withHdr: boolean, sizeStr: string | null): number {
  if (sizeStr !== null) return sizeStr.length;
  if (withHdr) return src.paHdbEnd - src.paHdbStart + 1 + (src.paSzbEnd - src.paSzbStart);
  return src.paSzbEnd - src.paSzbStart;
}

/**
 * The common end of MSG, HMSG and RMSG frames, into dst (the copy target) at
 * p: the size field (as sizeFieldLen counts it), CRLF, payLen bytes of
 * payload from buf at payStart, CRLF. Returns the new write position.
 */
export function copySizeAndPayload(
  src: PubArgSource,
  withHdr: boolean,
  sizeStr: string | null,
  buf: Buffer,
  payStart: number,
  payLen: number,
  dst: Buffer,
  p: number,
): number {
  const pbuf = src.paBuf;
  if (sizeStr !== null) {
    p += dst.write(sizeStr, p, 'latin1');
  } else if (withHdr) {
    p = copyBytes(pbuf, src.paHdbStart, src.paHdbEnd, dst, p);
    dst[p++] = SP;
    p = copyBytes(pbuf, src.paSzbStart, src.paSzbEnd, dst, p);
  } else {
    p = copyBytes(pbuf, src.paSzbStart, src.paSzbEnd, dst, p);
  }
  dst[p++] = 13;
  dst[p++] = 10;
  p = copyBytes(buf, payStart, payStart + payLen, dst, p);
  dst[p++] = 13;
  dst[p++] = 10;
  return p;
}
