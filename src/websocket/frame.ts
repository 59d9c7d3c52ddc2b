// WebSocket framing as nats-server 2.9.10 does it (server/websocket.go):
// the streaming frame reader (wsRead), the server's outbound frames
// (wsCollapsePtoNB: one binary frame per flush, 4 KiB frames for browsers,
// permessage-deflate without context takeover) and close messages.
//
// Deliberately like the reference, not like a general WebSocket library:
// there is no frame or message size limit (the NATS parser's max_payload and
// max_control_line apply to what the frames carry), text frames carry NATS
// protocol like binary ones, RSV1 is honoured on any data frame, and a
// protocol error ends the connection without a close frame (the reference
// closes those as a read error, which skips the flush).

import zlib from 'node:zlib';

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

const FINAL_BIT = 0x80;
const RSV1_BIT = 0x40;
const MASK_BIT = 0x80;

export const MAX_CONTROL_PAYLOAD = 125;
/** From the reference's experiments: browsers behave better with 4 KiB frames. */
export const FRAME_SIZE_FOR_BROWSERS = 4096;
/** Flushes of this size or less are never compressed. */
export const COMPRESS_THRESHOLD = 64;

// RFC 6455 section 11.7
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TLS_HANDSHAKE = 1015;

/** Default cap on one inflated message (see FrameReader). */
export const DEFAULT_MAX_INFLATE = 64 * 1024 * 1024;

/** The tail RFC 7692 section 7.2.2 strips, plus an empty final block so inflate sees an end. */
const COMPRESS_LAST_BLOCK = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);

/** What the reader hands back for one chunk of socket data. */
export interface ReadResult {
  /** NATS protocol bytes, in order (views of the chunk, or inflated messages) */
  bufs: Buffer[];
  /** a control frame the server must answer: PONG payloads and the close reply */
  pongs: Buffer[];
  /** payload of the close frame to send back (status + body); set once a close frame arrived */
  closeReply: Buffer | null;
  /** a protocol error: the text the reference logs after "read error: " */
  error: string | null;
}

/**
 * The reference's wsReadInfo + wsRead: decodes client frames from a stream
 * of chunks. Unlike the reference (which blocks on the socket for the rest
 * of a header) partial headers and control payloads are kept between
 * chunks.
 */
export class FrameReader {
  /** at the start of a frame */
  private fs = true;
  /** the last data frame had FIN (a new message may start) */
  private ff = true;
  /** the current message is compressed */
  private fc = false;
  /** payload bytes left in the current frame */
  private rem = 0;
  private readonly mkey = Buffer.alloc(4);
  private mkpos = 0;
  private cbufs: Buffer[] = [];
  /** bytes of a frame header (or control frame) split across chunks */
  private partial: Buffer | null = null;
  private closed = false;

  /**
   * @param mask clients must mask their frames (false after "Nats-No-Masking: true")
   * @param maxInflate the most one compressed message may inflate to. The
   *   reference has no limit; here a message inflating beyond it is a read
   *   error, so a small "deflate bomb" cannot exhaust the process' memory.
   */
  constructor(
    private readonly mask: boolean,
    private readonly maxInflate = DEFAULT_MAX_INFLATE,
  ) {}

  read(chunk: Buffer): ReadResult {
    const res: ReadResult = { bufs: [], pongs: [], closeReply: null, error: null };
    if (this.closed) return res;
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let pos = 0;
    const max = buf.length;
    while (pos < max) {
      if (this.fs) {
        const start = pos;
        const hdr = this.parseHeader(buf, pos);
        if (hdr === null) {
          // Need more bytes for the header (or the control frame's payload).
          this.partial = Buffer.from(buf.subarray(start));
          return res;
        }
        if (typeof hdr === 'string') {
          res.error = hdr;
          this.closed = true;
          return res;
        }
        pos = hdr.pos;
        if (hdr.control) {
          const payload = buf.subarray(hdr.payloadStart, hdr.payloadStart + this.rem);
          pos = hdr.payloadStart + this.rem;
          this.rem = 0;
          if (this.mask) this.unmask(payload);
          if (hdr.op === OP_CLOSE) {
            res.closeReply = closeReplyFor(payload);
            this.closed = true;
            return res;
          }
          if (hdr.op === OP_PING) res.pongs.push(Buffer.from(payload));
          continue;
        }
        this.fs = false;
        if (this.rem === 0) {
          // An empty data frame: nothing to deliver, but a compressed
          // message may end here.
          if (this.fc && this.ff) {
            const err = this.inflate(res);
            if (err !== null) {
              res.error = err;
              this.closed = true;
              return res;
            }
          }
          this.fs = true;
          continue;
        }
      }
      if (pos < max) {
        let n = this.rem;
        if (pos + n > max) n = max - pos;
        const b = buf.subarray(pos, pos + n);
        pos += n;
        this.rem -= n;
        if (this.mask) this.unmask(b);
        if (this.fc) {
          this.cbufs.push(Buffer.from(b));
          if (this.ff && this.rem === 0) {
            const err = this.inflate(res);
            if (err !== null) {
              res.error = err;
              this.closed = true;
              return res;
            }
          }
        } else {
          res.bufs.push(b);
        }
        if (this.rem === 0) this.fs = true;
      }
    }
    return res;
  }

  /**
   * Decode a frame header at `pos`. Returns null when the chunk ends first,
   * the error text for a protocol error, or where the payload starts. For a
   * control frame the whole payload must be present too.
   */
  private parseHeader(
    buf: Buffer,
    pos: number,
  ): { pos: number; payloadStart: number; op: number; control: boolean } | string | null {
    const max = buf.length;
    if (pos + 2 > max) return null;
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    const op = b0 & 0x0f;
    const final = (b0 & FINAL_BIT) !== 0;
    const compressed = (b0 & RSV1_BIT) !== 0;
    pos += 2;
    if (this.mask && (b1 & MASK_BIT) === 0) return 'mask bit missing';
    let rem = b1 & 0x7f;
    let control = false;
    switch (op) {
      case OP_PING:
      case OP_PONG:
      case OP_CLOSE:
        if (rem > MAX_CONTROL_PAYLOAD) {
          return `control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`;
        }
        if (!final) return 'control frame does not have final bit set';
        control = true;
        break;
      case OP_TEXT:
      case OP_BINARY:
        if (!this.ff) return 'new message started before final frame for previous message was received';
        break;
      case OP_CONTINUATION:
        // The compressed bit may only be set on the first frame.
        if (this.ff || compressed) return 'invalid continuation frame';
        break;
      default:
        return `unknown opcode ${op}`;
    }
    if (rem === 126) {
      if (pos + 2 > max) return null;
      rem = buf.readUInt16BE(pos);
      pos += 2;
    } else if (rem === 127) {
      if (pos + 8 > max) return null;
      // Go converts the 64-bit length to int without a check; so no limit here either.
      rem = Number(buf.readBigUInt64BE(pos));
      pos += 8;
    }
    if (this.mask) {
      if (pos + 4 > max) return null;
      buf.copy(this.mkey, 0, pos, pos + 4);
      this.mkpos = 0;
      pos += 4;
    }
    if (control && pos + rem > max) return null;
    // Only now, with the whole header read, commit the message state.
    if (op === OP_TEXT || op === OP_BINARY) {
      this.ff = final;
      this.fc = compressed;
    } else if (op === OP_CONTINUATION) {
      this.ff = final;
    }
    this.rem = rem;
    return { pos, payloadStart: pos, op, control };
  }

  private inflate(res: ReadResult): string | null {
    const input = Buffer.concat([...this.cbufs, COMPRESS_LAST_BLOCK]);
    this.cbufs = [];
    this.fc = false;
    try {
      res.bufs.push(zlib.inflateRawSync(input, { maxOutputLength: this.maxInflate }));
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return `flate: message inflates beyond ${this.maxInflate} bytes`;
      return flateErrorText(e as NodeJS.ErrnoException);
    }
  }

  private unmask(b: Buffer): void {
    const k = this.mkey;
    let p = this.mkpos;
    const n = b.length;
    let i = 0;
    if (n >= 16) {
      // Align the key to p and XOR four bytes at a time.
      const key32 = (k[p & 3]! | (k[(p + 1) & 3]! << 8) | (k[(p + 2) & 3]! << 16) | (k[(p + 3) & 3]! << 24)) >>> 0;
      const words = n >>> 2;
      for (let w = 0; w < words; w++, i += 4) {
        b.writeUInt32LE((b.readUInt32LE(i) ^ key32) >>> 0, i);
      }
    }
    for (; i < n; i++) {
      b[i] = b[i]! ^ k[(p + i) & 3]!;
    }
    this.mkpos = (p + n) & 3;
  }
}

/** The reference's reply to a close frame: its status echoed, 1005 without one, 1007 for a non-UTF-8 body. */
function closeReplyFor(payload: Buffer): Buffer {
  let status = CLOSE_NO_STATUS;
  let body = '';
  if (payload.length >= 2) {
    status = payload.readUInt16BE(0);
    if (payload.length > 2) {
      const raw = payload.subarray(2);
      if (isValidUTF8(raw)) {
        body = raw.toString('utf8');
      } else {
        status = CLOSE_INVALID_PAYLOAD;
        body = 'invalid utf8 body in close frame';
      }
    }
  }
  return closeMessage(status, body);
}

function isValidUTF8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Go's compress/flate error texts, as far as zlib lets us tell them apart. */
function flateErrorText(e: NodeJS.ErrnoException): string {
  if (e.code === 'Z_BUF_ERROR') return 'unexpected EOF';
  return `flate: corrupt input (${e.message})`;
}

/** wsCreateCloseMessage: 2-byte status, then the body, cut to fit a control frame with "..." */
export function closeMessage(status: number, body: string): Buffer {
  let b = Buffer.from(body, 'utf8');
  if (b.length > MAX_CONTROL_PAYLOAD - 2) {
    b = Buffer.concat([b.subarray(0, MAX_CONTROL_PAYLOAD - 5), Buffer.from('...')]);
  }
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(status, 0);
  b.copy(out, 2);
  return out;
}

/** An unmasked server frame header (wsFillFrameHeader with useMasking=false). */
export function frameHeader(first: boolean, final: boolean, compressed: boolean, op: number, len: number): Buffer {
  let b0 = first ? op : 0;
  if (final) b0 |= FINAL_BIT;
  if (compressed) b0 |= RSV1_BIT;
  if (len <= 125) return Buffer.from([b0, len]);
  if (len < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = b0;
    h[1] = 126;
    h.writeUInt16BE(len, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = b0;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

/** A whole control frame (server side: never masked, never compressed). */
export function controlFrame(op: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(true, true, false, op, payload.length), payload]);
}

/** Close status for the reason a connection is closed (wsEnqueueCloseMessage). */
export function closeStatusFor(reason: string): number {
  switch (reason) {
    case 'Client Closed':
      return CLOSE_NORMAL;
    case 'Authentication Timeout':
    case 'Authentication Failure':
    case 'Slow Consumer (Pending Bytes)':
    case 'Slow Consumer (Write Deadline)':
    case 'Maximum Account Connections Exceeded':
    case 'Maximum Connections Exceeded':
    case 'Maximum Control Line Exceeded':
    case 'Maximum Subscriptions Exceeded':
    case 'Missing Account':
    case 'Authentication Expired':
    case 'Credentials Revoked':
      return CLOSE_POLICY_VIOLATION;
    case 'TLS Handshake Failure':
      return CLOSE_TLS_HANDSHAKE;
    case 'Parse Error':
    case 'Protocol Violation':
    case 'Bad Client Protocol Version':
      return CLOSE_PROTOCOL_ERROR;
    case 'Maximum Message Payload Exceeded':
      return CLOSE_MESSAGE_TOO_BIG;
    case 'Server Shutdown':
      return CLOSE_GOING_AWAY;
    case 'Write Error':
    case 'Read Error':
    case 'Stale Connection':
      return CLOSE_ABNORMAL;
    default:
      return CLOSE_INTERNAL_ERROR;
  }
}

/**
 * Frame what one flush hands over (wsCollapsePtoNB). Returns the buffers to
 * write, in order. `maxFrame` 0 = one frame for everything; browsers get
 * 4 KiB frames. With `compress` and more than 64 bytes the flush becomes one
 * compressed message (fragmented at `maxFrame` unless `noCompFrag`).
 */
export function frameOutbound(
  nb: readonly Buffer[],
  compress: boolean,
  maxFrame: number,
  noCompFrag: boolean,
): Buffer[] {
  const out: Buffer[] = [];
  if (nb.length === 0) return out;
  let usz = 0;
  for (const b of nb) usz += b.length;
  if (usz === 0) return out;
  if (compress && usz > COMPRESS_THRESHOLD) {
    const mfs = maxFrame > 0 && noCompFrag ? 0 : maxFrame;
    const input = nb.length === 1 ? nb[0]! : Buffer.concat(nb as Buffer[], usz);
    // Go: flate.NewWriter(BestSpeed) + Flush(), a fresh stream per flush
    // (no context takeover); the flush's 00 00 ff ff tail is dropped.
    const z = zlib.deflateRawSync(input, { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    let p = z.subarray(0, z.length - 4);
    if (mfs > 0 && p.length > mfs) {
      for (let first = true; p.length > 0; first = false) {
        const lp = Math.min(p.length, mfs);
        const final = lp === p.length;
        out.push(frameHeader(first, final, first, OP_BINARY, lp), p.subarray(0, lp));
        p = p.subarray(lp);
      }
    } else {
      out.push(frameHeader(true, true, true, OP_BINARY, p.length), p);
    }
    return out;
  }
  if (maxFrame > 0) {
    // Frames of at most maxFrame bytes; small buffers are packed together.
    let hdrIdx = out.push(Buffer.alloc(0)) - 1;
    let total = 0;
    for (const buf of nb) {
      let b = buf;
      if (total + b.length <= maxFrame) {
        out.push(b);
        total += b.length;
        continue;
      }
      while (b.length > 0) {
        const endStart = total !== 0;
        if (endStart) out[hdrIdx] = frameHeader(true, true, false, OP_BINARY, total);
        total = Math.min(b.length, maxFrame);
        if (endStart) hdrIdx = out.push(Buffer.alloc(0)) - 1;
        out.push(b.subarray(0, total));
        b = b.subarray(total);
      }
    }
    if (total > 0) out[hdrIdx] = frameHeader(true, true, false, OP_BINARY, total);
    return out.filter((b) => b.length > 0);
  }
  out.push(frameHeader(true, true, false, OP_BINARY, usz));
  for (const b of nb) out.push(b);
  return out;
}
