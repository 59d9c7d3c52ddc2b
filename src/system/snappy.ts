// The Snappy framing format (github.com/google/snappy framing_format.txt),
// for $SYS answers requested with "Accept-Encoding: snappy" or "s2" (the
// reference writes them with s2's Snappy-compatible writer). The data goes
// in uncompressed chunks, which every framed-Snappy reader accepts; the
// answers are small JSON documents, so compression would gain little.

const STREAM_ID = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const UNCOMPRESSED = 0x01;
/** framing_format.txt: uncompressed chunks carry at most 65536 bytes of data */
const MAX_CHUNK = 65536;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** framing_format.txt: the checksum is masked so that CRCs of CRCs are not CRCs */
function masked(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** `data` as a framed Snappy stream of uncompressed chunks. */
export function snappyFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [STREAM_ID];
  for (let off = 0; off < data.length || off === 0; off += MAX_CHUNK) {
    const chunk = data.subarray(off, Math.min(data.length, off + MAX_CHUNK));
    const len = chunk.length + 4;
    const h = Buffer.alloc(8);
    h[0] = UNCOMPRESSED;
    h[1] = len & 0xff;
    h[2] = (len >>> 8) & 0xff;
    h[3] = (len >>> 16) & 0xff;
    h.writeUInt32LE(masked(crc32c(chunk)), 4);
    parts.push(h, chunk);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}
