// The NATS protocol parser: a byte state machine over Buffers that never
// touches a socket. It recognises verbs and frames the control line and the
// payload; what an argument list means is decided by the handler (client or
// route), because only the handler knows the connection's options and limits.
//
// Behaviour follows server/parser.go of nats-server 2.9, including its quirks:
//  - verbs are case-insensitive, PUB/SUB/… need a space or tab after the verb,
//    CONNECT/INFO do not;
//  - PING, PONG and +OK ignore every byte up to the next '\n';
//  - the first byte after the verb's spaces always starts the argument, even
//    when it is '\r' or '\n';
//  - a '\r' anywhere in a one-chunk control line removes only the line's last
//    byte; once the line spans reads, '\r' bytes of later reads are dropped;
//  - the payload must be followed by exactly "\r\n".
//
// Zero-copy: arguments and payloads are handed out as (buffer, start, end)
// ranges of the read chunk. Only a control line or a payload that spans reads
// is copied (once) into a parser-owned buffer.

import { goQuoteBytes } from './goquote.js';

/** Frame kinds reported to the handler. */
export const enum Op {
  PUB = 1,
  HPUB,
  SUB,
  UNSUB,
  CONNECT,
  INFO,
  ERR,
  /** RMSG from a route */
  RMSG,
  /** HMSG from a route */
  HMSG,
  /** LMSG from a route (origin cluster) */
  LMSG,
  RSUB,
  RUNSUB,
  LSUB,
  LUNSUB,
  ASUB,
  AUNSUB,
}

export const enum ParserKind {
  CLIENT = 0,
  ROUTER = 1,
}

export const enum ParseErrorKind {
  /** bad verb or bad framing: the reference answers -ERR 'Unknown Protocol Operation' and closes */
  UNKNOWN_OP = 1,
  /** control line longer than max_control_line */
  MAX_CONTROL_LINE = 2,
}

export interface ProtocolHandler {
  /**
   * An op other than CONNECT arrived while the handler asked for a CONNECT
   * first (awaitingConnect). Return true to go on (e.g. no_auth_user applies),
   * false when the connection was closed.
   */
  onNoConnect(): boolean;
  /** A control line without payload. Return false when the connection was closed. */
  onControl(op: Op, buf: Buffer, start: number, end: number): boolean;
  /**
   * The control line of a frame with payload (PUB, HPUB, RMSG, HMSG, LMSG).
   * Returns the payload size the frame announces (headers included), or -1
   * when the handler closed the connection or rejected the frame.
   */
  onMsgArgs(op: Op, buf: Buffer, start: number, end: number): number;
  /** The payload of the last onMsgArgs frame: buf[start, start + size). Return false to stop. */
  onMsg(buf: Buffer, start: number): boolean;
  /**
   * The payload (or its CRLF) of the last onMsgArgs frame does not end in the
   * read its control line ended in. server/parser.go then runs clonePubArg,
   * which runs processPub/processHeaderPub again, repeating their side
   * effects (the pedantic -ERR). Never called for frames wholly in a read.
   */
  onMsgSpans?(): void;
  /**
   * Clients only: a whole plain PUB frame. Args line is buf[lineStart,
   * lineEnd), split into n (2 or 3) tokens at toks[2k], toks[2k+1]; the
   * payload of `size` bytes starts at payloadStart and is followed by CRLF.
   * Same effect as onMsgArgs + onMsg. Return false to stop.
   */
  onPub?(buf: Buffer, lineStart: number, lineEnd: number, toks: Int32Array, n: number, size: number, payloadStart: number): boolean;
  onPing(): boolean;
  onPong(): boolean;
  /** The parser stopped on bad input; the handler sends the error and closes. */
  onParseError(kind: ParseErrorKind, snippet: string, argLen: number, refState: number, index: number): void;
}

// States. Verb letters are matched through a small table (VERB) instead of one
// state per letter; branch points keep their own state.
const enum S {
  START,
  P, // after P: PUB / PING / PONG
  H, // after H: HPUB / HMSG
  R, // after R: RS+ / RS- / RMSG
  L, // after L: LS+ / LS- / LMSG
  A, // after A: A+ / A-
  RS, // after RS / LS: + or -
  VERB, // matching the rest of a fixed verb
  NEED_SPACE, // verb done, one space or tab required
  SKIP_SPACE, // spaces/tabs before the argument
  ARG, // inside a control line
  IGNORE_LINE, // PING / PONG / +OK: skip to '\n'
  PAYLOAD, // copying a payload that spans reads
  END_R,
  END_N,
}

const LF = 10;
const CR = 13;
const SP = 32;
const TAB = 9;

// what happens at the end of a verb
const enum After {
  ARG_SPACE, // argument required, separated by space
  ARG_NOSPACE, // argument follows, spaces optional (CONNECT, INFO)
  LINE_PING,
  LINE_PONG,
  LINE_OK,
}

interface VerbSpec {
  rest: Uint8Array; // remaining letters, lower case
  after: After;
  op: Op;
  // server/parser.go state numbers, for error logs that read like the
  // reference's: before each remaining letter, after the verb, in the
  // spaces, in the argument.
  refLetters: number[];
  refDone: number;
  refSpc: number;
  refArg: number;
}

function verb(rest: string, after: After, op: Op, refLetters: number[], refDone: number, refSpc = refDone, refArg = refDone): VerbSpec {
  return { rest: Buffer.from(rest.toLowerCase(), 'latin1'), after, op, refLetters, refDone, refSpc, refArg };
}

const V_PUB = verb('B', After.ARG_SPACE, Op.PUB, [30], 31, 32, 33); // after "PU"
const V_PING = verb('NG', After.LINE_PING, 0 as Op, [34, 35], 36); // after "PI"
const V_PONG = verb('NG', After.LINE_PONG, 0 as Op, [37, 38], 39); // after "PO"
const V_HPUB = verb('UB', After.ARG_SPACE, Op.HPUB, [19, 20], 21, 22, 23); // after "HP"
const V_HMSG = verb('SG', After.ARG_SPACE, Op.HMSG, [24, 25], 26, 27, 28); // after "HM"
const V_SUB = verb('UB', After.ARG_SPACE, Op.SUB, [43, 44], 45, 46, 47); // after "S"
const V_UNSUB = verb('NSUB', After.ARG_SPACE, Op.UNSUB, [59, 60, 61, 62], 63, 64, 65); // after "U"
const V_CONNECT = verb('ONNECT', After.ARG_NOSPACE, Op.CONNECT, [10, 11, 12, 13, 14, 15], 16, 16, 17); // after "C"
const V_INFO = verb('NFO', After.ARG_NOSPACE, Op.INFO, [71, 72, 73], 74, 74, 75); // after "I"
const V_OK = verb('OK', After.LINE_OK, 0 as Op, [1, 2], 3); // after "+"
const V_ERR = verb('ERR', After.ARG_SPACE, Op.ERR, [4, 5, 6], 7, 8, 9); // after "-"
const V_RMSG = verb('SG', After.ARG_SPACE, Op.RMSG, [66, 67], 68, 69, 70); // after "RM"
const V_LMSG = verb('SG', After.ARG_SPACE, Op.LMSG, [66, 67], 68, 69, 70); // after "LM"
const V_EMPTY_RSUB = verb('', After.ARG_SPACE, Op.RSUB, [], 45, 46, 47);
const V_EMPTY_RUNSUB = verb('', After.ARG_SPACE, Op.RUNSUB, [], 63, 64, 65);
const V_EMPTY_LSUB = verb('', After.ARG_SPACE, Op.LSUB, [], 45, 46, 47);
const V_EMPTY_LUNSUB = verb('', After.ARG_SPACE, Op.LUNSUB, [], 63, 64, 65);
const V_EMPTY_ASUB = verb('', After.ARG_SPACE, Op.ASUB, [], 49, 50, 51);
const V_EMPTY_AUNSUB = verb('', After.ARG_SPACE, Op.AUNSUB, [], 52, 53, 54);

const PROTO_SNIPPET_SIZE = 32;

// Payloads that span reads are gathered into a buffer of their own (a read's
// buffer is reused by the next read). A fresh one per payload cost a new
// ArrayBuffer, its page faults and a GC of external memory for every such
// message: every chunk of an object store put (128 KiB each), every large
// publish. They are handed to onMsg, which only reads them during the call
// (what is kept is copied, as for the shared read buffer), so they go back to
// this small pool afterwards. At most SPARE_BYTES are kept, so a burst of
// large messages leaves no more than that behind.
// Below POOL_MIN, Buffer.allocUnsafe's own pool is as cheap (small messages
// cut by the end of a read).
const SPARE_BYTES = 2 * 1024 * 1024;
const SPARE_MAX = 8;
const POOL_MIN = 8192;
const spare: ArrayBuffer[] = [];
let spareBytes = 0;

/** A buffer of exactly n bytes (a view of a pooled ArrayBuffer when one is big enough). */
function takePayloadBuffer(n: number): Buffer {
  if (n < POOL_MIN) return Buffer.allocUnsafe(n);
  for (let k = 0; k < spare.length; k++) {
    const ab = spare[k]!;
    if (ab.byteLength >= n) {
      spare[k] = spare[spare.length - 1]!;
      spare.pop();
      spareBytes -= ab.byteLength;
      return Buffer.from(ab, 0, n);
    }
  }
  // Rounded up to 64 KiB so that payloads of similar sizes share buffers.
  const cap = n <= SPARE_BYTES / 2 ? (n + 0xffff) & ~0xffff : n;
  const b = Buffer.allocUnsafeSlow(cap);
  return cap === n ? b : b.subarray(0, n);
}

function givePayloadBuffer(b: Buffer): void {
  // only takePayloadBuffer's own ArrayBuffers (allocUnsafe's are shared)
  if (b.length < POOL_MIN) return;
  const ab = b.buffer as ArrayBuffer;
  if (spare.length >= SPARE_MAX || spareBytes + ab.byteLength > SPARE_BYTES) return;
  spare.push(ab);
  spareBytes += ab.byteLength;
}

export class ProtocolParser {
  /** Ask for a CONNECT before any other op (authentication required). */
  awaitingConnect = false;
  /** max_control_line; enforced for clients only, as the reference does. */
  maxControlLine: number;

  private state: S = S.START;
  private verb: VerbSpec = V_PUB;
  private verbPos = 0;
  private rsPlus: Op = Op.RSUB;
  private rsMinus: Op = Op.RUNSUB;
  private op: Op = Op.PUB;
  private argStart = 0;
  private crSeen = false;
  /** a control line that spans reads; null when not in use */
  private argBuf: Buffer | null = null;
  private argLen = 0;
  /** payload bookkeeping */
  private size = 0;
  private msgBuf: Buffer | null = null;
  private msgLen = 0;
  private stopped = false;
  /** token ranges of a fast-path PUB line */
  private readonly toks = new Int32Array(6);
  /** whole PUB frames go to handler.onPub */
  private readonly fast: boolean;

  constructor(
    private readonly handler: ProtocolHandler,
    private readonly kind: ParserKind = ParserKind.CLIENT,
    maxControlLine = 4096,
  ) {
    this.maxControlLine = maxControlLine;
    this.fast = kind === ParserKind.CLIENT && typeof handler.onPub === 'function';
  }

  /** True once a handler callback asked to stop or a parse error occurred. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Forget partial state and stop; later parse() calls do nothing. */
  stop(): void {
    this.stopped = true;
    this.argBuf = null;
    this.msgBuf = null;
  }

  parse(buf: Buffer): void {
    if (this.stopped) return;
    const len = buf.length;
    const h = this.handler;
    let i = 0;
    while (i < len) {
      switch (this.state) {
        case S.START: {
          const b = buf[i];
          if (this.awaitingConnect && b !== 0x43 && b !== 0x63) {
            if (!h.onNoConnect()) return this.halt();
          }
          switch (b | 0x20) {
            case 0x70: // p
              // Fastest path: whole PUB frames in this read, one handler call each.
              if (this.fast && !this.awaitingConnect) {
                const next = this.fastPubs(buf, i, len);
                if (next < 0) return this.halt();
                if (next > i) {
                  i = next;
                  continue;
                }
              }
              // Fast path for "PUB " in one read.
              if (
                i + 4 < len &&
                (buf[i + 1] | 0x20) === 0x75 &&
                (buf[i + 2] | 0x20) === 0x62 &&
                (buf[i + 3] === SP || buf[i + 3] === TAB)
              ) {
                let j = i + 4;
                while (j < len && (buf[j] === SP || buf[j] === TAB)) j++;
                if (j < len) {
                  this.verb = V_PUB;
                  this.op = Op.PUB;
                  this.argStart = j;
                  this.crSeen = false;
                  this.state = S.ARG;
                  i = j + 1;
                  continue;
                }
              }
              this.state = S.P;
              break;
            case 0x68: // h
              this.state = S.H;
              break;
            case 0x73: // s
              this.startVerb(V_SUB);
              break;
            case 0x75: // u
              this.startVerb(V_UNSUB);
              break;
            case 0x63: // c
              this.startVerb(V_CONNECT);
              break;
            case 0x69: // i
              this.startVerb(V_INFO);
              break;
            case 0x72: // r
              if (this.kind === ParserKind.CLIENT) return this.fail(buf, i);
              // "RMSG " in one read (every routed message): straight to the
              // argument, where the states R, VERB, NEED_SPACE and SKIP_SPACE
              // would get one byte per turn of this loop (as "PUB " below).
              // Saves six dispatches per routed message on the receiving node.
              if (
                i + 5 < len &&
                (buf[i + 1] | 0x20) === 0x6d &&
                (buf[i + 2] | 0x20) === 0x73 &&
                (buf[i + 3] | 0x20) === 0x67 &&
                (buf[i + 4] === SP || buf[i + 4] === TAB)
              ) {
                let j = i + 5;
                while (j < len && (buf[j] === SP || buf[j] === TAB)) j++;
                if (j < len) {
                  this.verb = V_RMSG;
                  this.op = Op.RMSG;
                  this.argStart = j;
                  this.crSeen = false;
                  this.state = S.ARG;
                  i = j + 1;
                  continue;
                }
              }
              this.state = S.R;
              break;
            case 0x6c: // l
              if (this.kind === ParserKind.CLIENT) return this.fail(buf, i);
              this.state = S.L;
              break;
            case 0x61: // a
              if (this.kind === ParserKind.CLIENT) return this.fail(buf, i);
              this.state = S.A;
              break;
            default:
              if (b === 0x2b) this.startVerb(V_OK); // +
              else if (b === 0x2d) this.startVerb(V_ERR); // -
              else return this.fail(buf, i);
          }
          i++;
          break;
        }
        case S.P: {
          const b = buf[i] | 0x20;
          if (b === 0x75) this.startVerb(V_PUB);
          else if (b === 0x69) this.startVerb(V_PING);
          else if (b === 0x6f) this.startVerb(V_PONG);
          else return this.fail(buf, i);
          i++;
          break;
        }
        case S.H: {
          const b = buf[i] | 0x20;
          if (b === 0x70) this.startVerb(V_HPUB);
          else if (b === 0x6d) this.startVerb(V_HMSG);
          else return this.fail(buf, i);
          i++;
          break;
        }
        case S.R:
        case S.L: {
          const b = buf[i] | 0x20;
          const route = this.state === S.R;
          if (b === 0x73) {
            this.rsPlus = route ? Op.RSUB : Op.LSUB;
            this.rsMinus = route ? Op.RUNSUB : Op.LUNSUB;
            this.state = S.RS;
          } else if (b === 0x6d) {
            this.startVerb(route ? V_RMSG : V_LMSG);
          } else return this.fail(buf, i);
          i++;
          break;
        }
        case S.RS: {
          const b = buf[i];
          if (b === 0x2b) this.startVerb(this.rsPlus === Op.RSUB ? V_EMPTY_RSUB : V_EMPTY_LSUB);
          else if (b === 0x2d) this.startVerb(this.rsMinus === Op.RUNSUB ? V_EMPTY_RUNSUB : V_EMPTY_LUNSUB);
          else return this.fail(buf, i);
          i++;
          break;
        }
        case S.A: {
          // server/parser.go accepts "A-" and, by a quirk, "Au" for the unsubscribe.
          const b = buf[i];
          if (b === 0x2b) this.startVerb(V_EMPTY_ASUB);
          else if (b === 0x2d || b === 0x75) this.startVerb(V_EMPTY_AUNSUB);
          else return this.fail(buf, i);
          i++;
          break;
        }
        case S.VERB: {
          const rest = this.verb.rest;
          while (this.verbPos < rest.length && i < len) {
            if ((buf[i] | 0x20) !== rest[this.verbPos]) return this.fail(buf, i);
            this.verbPos++;
            i++;
          }
          if (this.verbPos === rest.length) this.endVerb();
          break;
        }
        case S.NEED_SPACE: {
          const b = buf[i];
          if (b !== SP && b !== TAB) return this.fail(buf, i);
          this.state = S.SKIP_SPACE;
          i++;
          break;
        }
        case S.SKIP_SPACE: {
          const b = buf[i];
          if (b === SP || b === TAB) {
            i++;
            break;
          }
          // The first non-blank byte always belongs to the argument.
          this.argStart = i;
          this.crSeen = false;
          this.state = S.ARG;
          i++;
          break;
        }
        case S.ARG: {
          // Control lines are short: a plain loop beats a native indexOf call.
          let nl = i;
          const lim = i + 128 < len ? i + 128 : len;
          while (nl < lim && buf[nl] !== LF) nl++;
          if (nl === lim) nl = lim === len ? -1 : buf.indexOf(LF, lim);
          if (nl === -1) {
            this.saveArg(buf, i, len);
            if (this.kind === ParserKind.CLIENT && this.argLen > this.maxControlLine) {
              return this.failControlLine(this.argBuf!, 0, this.argLen, true);
            }
            return;
          }
          let abuf: Buffer;
          let as: number;
          let ae: number;
          if (this.argBuf !== null) {
            this.appendArgNoCR(buf, i, nl);
            abuf = this.argBuf;
            as = 0;
            ae = this.argLen;
            this.argBuf = null;
            this.argLen = 0;
          } else {
            abuf = buf;
            as = this.argStart;
            ae = nl;
            if (!this.crSeen) {
              // Usually the '\r' sits right before the '\n'; search only if not.
              if (nl > i && buf[nl - 1] === CR) this.crSeen = true;
              else {
                const cr = buf.indexOf(CR, i);
                this.crSeen = cr !== -1 && cr < nl;
              }
            }
            if (this.crSeen) ae--;
          }
          i = nl + 1;
          if (this.kind === ParserKind.CLIENT && ae - as > this.maxControlLine) {
            return this.failControlLine(abuf, as, ae, abuf !== buf);
          }
          const op = this.op;
          if (op === Op.PUB || op === Op.HPUB || op === Op.RMSG || op === Op.HMSG || op === Op.LMSG) {
            if (abuf === buf) {
              // The handler keeps offsets into the line until the payload is
              // delivered. If the payload (its size is the line's last token)
              // ends in a later read, this read's buffer may be reused by
              // then (client/readbuf.ts): hand out a copy of the line.
              const guess = lastTokenSize(buf, as, ae);
              if (guess >= 0 && i + guess + 2 > len) {
                abuf = Buffer.allocUnsafe(ae - as);
                buf.copy(abuf, 0, as, ae);
                ae -= as;
                as = 0;
              }
            }
            const size = h.onMsgArgs(op, abuf, as, ae);
            if (size < 0) return this.halt();
            this.size = size;
            // Whole payload and its CRLF in this read: hand out a view.
            if (i + size + 2 <= len) {
              if (buf[i + size] !== CR) {
                this.state = S.END_R;
                return this.fail(buf, i + size);
              }
              if (buf[i + size + 1] !== LF) {
                this.state = S.END_N;
                return this.fail(buf, i + size + 1);
              }
              if (!h.onMsg(buf, i)) return this.halt();
              i += size + 2;
              this.state = S.START;
            } else if (i + size < len && buf[i + size] !== CR) {
              // The byte after the payload is in this read and wrong: the
              // reference fails on it now, before it would keep the frame.
              this.state = S.END_R;
              return this.fail(buf, i + size);
            } else {
              this.msgBuf = takePayloadBuffer(size + 2);
              this.msgLen = 0;
              this.state = S.PAYLOAD;
              if (h.onMsgSpans !== undefined) h.onMsgSpans();
            }
          } else {
            this.state = S.START;
            if (!h.onControl(op, abuf, as, ae)) return this.halt();
          }
          break;
        }
        case S.IGNORE_LINE: {
          const nl = buf.indexOf(LF, i);
          if (nl === -1 || nl >= len) return;
          i = nl + 1;
          this.state = S.START;
          const v = this.verb;
          if (v === V_PING) {
            if (!h.onPing()) return this.halt();
          } else if (v === V_PONG) {
            if (!h.onPong()) return this.halt();
          }
          break;
        }
        case S.PAYLOAD: {
          const want = this.size - this.msgLen;
          const n = Math.min(want, len - i);
          buf.copy(this.msgBuf!, this.msgLen, i, i + n);
          this.msgLen += n;
          i += n;
          if (this.msgLen === this.size) this.state = S.END_R;
          break;
        }
        case S.END_R:
          if (buf[i] !== CR) return this.fail(buf, i);
          this.state = S.END_N;
          i++;
          break;
        case S.END_N: {
          if (buf[i] !== LF) return this.fail(buf, i);
          i++;
          this.state = S.START;
          const m = this.msgBuf!;
          this.msgBuf = null;
          const ok = h.onMsg(m, 0);
          // The handler is done with it (payloads are views valid during onMsg only, as a read buffer's).
          givePayloadBuffer(m);
          if (!ok) return this.halt();
          break;
        }
      }
    }
    // The read ended right after the first byte of an argument: keep it, the
    // chunk will be gone by the next read.
    if (this.state === S.ARG && this.argBuf === null) {
      this.saveArg(buf, this.argStart + 1, len);
      if (this.kind === ParserKind.CLIENT && this.argLen > this.maxControlLine) {
        this.failControlLine(this.argBuf!, 0, this.argLen, true);
      }
    }
  }

  /**
   * Consume consecutive PUB frames that lie wholly in this read, in their
   * plain form ("PUB subj [reply] size\r\n" payload "\r\n", at most 3 args,
   * no stray CR). Returns the offset after the last frame consumed (i when
   * none), or -1 when the handler stopped. Anything unusual is left to the
   * state machine, which gives the reference's exact treatment.
   */
  private fastPubs(buf: Buffer, i: number, len: number): number {
    const h = this.handler;
    const T = this.toks;
    while (i + 5 < len) {
      if (
        (buf[i] | 0x20) !== 0x70 ||
        (buf[i + 1] | 0x20) !== 0x75 ||
        (buf[i + 2] | 0x20) !== 0x62 ||
        (buf[i + 3] !== SP && buf[i + 3] !== TAB)
      ) {
        return i;
      }
      let k = i + 4;
      while (k < len && (buf[k] === SP || buf[k] === TAB)) k++;
      const argStart = k;
      let n = 0;
      let ts = -1;
      for (; k < len; k++) {
        const b = buf[k];
        if (b === SP || b === TAB) {
          if (ts >= 0) {
            if (n === 3) return i;
            T[2 * n] = ts;
            T[2 * n + 1] = k;
            n++;
            ts = -1;
          }
        } else if (b === CR || b === LF) {
          break;
        } else if (ts < 0) {
          ts = k;
        }
      }
      // need "\r\n" right at the end of the line
      if (k + 1 >= len || buf[k] !== CR || buf[k + 1] !== LF || k === argStart) return i;
      if (ts >= 0) {
        if (n === 3) return i;
        T[2 * n] = ts;
        T[2 * n + 1] = k;
        n++;
      }
      if (n < 2) return i;
      if (k - argStart > this.maxControlLine) return i;
      // size: 1-9 digits (server/util.go parseSize)
      const ss = T[2 * n - 2];
      const se = T[2 * n - 1];
      if (se - ss > 9) return i;
      let size = 0;
      for (let d = ss; d < se; d++) {
        const v = buf[d] - 48;
        if (v < 0 || v > 9) return i;
        size = size * 10 + v;
      }
      const p = k + 2;
      if (p + size + 2 > len || buf[p + size] !== CR || buf[p + size + 1] !== LF) return i;
      if (!h.onPub!(buf, argStart, k, T, n, size, p)) return -1;
      i = p + size + 2;
    }
    return i;
  }

  private startVerb(v: VerbSpec): void {
    this.verb = v;
    this.verbPos = 0;
    this.op = v.op;
    this.state = S.VERB;
    if (v.rest.length === 0) this.endVerb();
  }

  private endVerb(): void {
    switch (this.verb.after) {
      case After.ARG_SPACE:
        this.state = S.NEED_SPACE;
        break;
      case After.ARG_NOSPACE:
        this.state = S.SKIP_SPACE;
        break;
      default:
        this.state = S.IGNORE_LINE;
    }
  }

  /** End of a read inside a control line: keep what we have. */
  private saveArg(buf: Buffer, from: number, len: number): void {
    if (this.argBuf === null) {
      // As server/parser.go: the part in this read, minus its last byte when it held a '\r'.
      let end = len;
      const cr = buf.indexOf(CR, from);
      if (this.crSeen || (cr !== -1 && cr < len)) end--;
      const n = Math.max(0, end - this.argStart);
      this.argBuf = Buffer.allocUnsafe(Math.max(256, n * 2));
      buf.copy(this.argBuf, 0, this.argStart, this.argStart + n);
      this.argLen = n;
    } else {
      this.appendArgNoCR(buf, from, len);
    }
  }

  private appendArgNoCR(buf: Buffer, from: number, to: number): void {
    for (let j = from; j < to; j++) {
      const b = buf[j];
      if (b === CR) continue;
      if (this.argLen === this.argBuf!.length) {
        const nb = Buffer.allocUnsafe(this.argBuf!.length * 2);
        this.argBuf!.copy(nb, 0, 0, this.argLen);
        this.argBuf = nb;
      }
      this.argBuf![this.argLen++] = b;
    }
  }

  private halt(): void {
    this.stop();
  }

  private fail(buf: Buffer, i: number): void {
    const st = this.refState();
    this.stop();
    this.handler.onParseError(ParseErrorKind.UNKNOWN_OP, protoSnippet(buf, i, PROTO_SNIPPET_SIZE), 0, st, i);
  }

  /** The state server/parser.go would be in, for log lines that match the reference's. */
  private refState(): number {
    const v = this.verb;
    switch (this.state) {
      case S.START:
        return 0;
      case S.P:
        return 29;
      case S.H:
        return 18;
      case S.R:
        return 57;
      case S.L:
        return 55;
      case S.A:
        return 48;
      case S.RS:
        return this.rsPlus === Op.RSUB ? 58 : 56;
      case S.VERB:
        return v.refLetters[this.verbPos] ?? v.refDone;
      case S.NEED_SPACE:
        return v.refDone;
      case S.SKIP_SPACE:
        return v.refSpc;
      case S.ARG:
        return v.refArg;
      case S.IGNORE_LINE:
        return v.refDone;
      case S.PAYLOAD:
        return 40;
      case S.END_R:
        return 41;
      case S.END_N:
        return 42;
    }
  }

  private failControlLine(buf: Buffer, start: number, end: number, spanning: boolean): void {
    const st = this.refState();
    this.stop();
    // The reference logs the length of its spill buffer, 0 when the line came in one read.
    this.handler.onParseError(
      ParseErrorKind.MAX_CONTROL_LINE,
      protoSnippet(buf.subarray(start, end), 0, 128),
      spanning ? end - start : 0,
      st,
      0,
    );
  }
}

/**
 * server/parser.go protoSnippet: buf[start, start+max) formatted with Go's %q;
 * when the buffer is shorter it stops one byte before the end (its quirk).
 */
export function protoSnippet(buf: Buffer, start: number, max: number): string {
  if (start >= buf.length) return '""';
  let stop = start + max;
  if (stop > buf.length) stop = buf.length - 1;
  return goQuoteBytes(buf, start, stop);
}

/** The last blank-separated token of buf[s, e) as a size (1-9 digits), else -1. */
function lastTokenSize(buf: Buffer, s: number, e: number): number {
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === TAB)) e--;
  let b = e;
  while (b > s && buf[b - 1] !== SP && buf[b - 1] !== TAB) b--;
  if (e - b === 0 || e - b > 9) return -1;
  let n = 0;
  for (let k = b; k < e; k++) {
    const d = buf[k] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
