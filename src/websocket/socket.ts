// The socket-like surface a Connection writes to (write, cork/uncork,
// writableLength, end, destroy, ...), over a websocket: what one flush hands
// over becomes one binary frame (or 4 KiB frames for browsers, or one
// compressed message), as the reference frames per flush
// (wsCollapsePtoNB). Reads do not go through here: the websocket listener
// decodes frames from the raw socket and feeds the client's parser.

import type { Socket } from 'node:net';
import { ClosedState, type Connection } from '../client/connection.js';
import {
  FRAME_SIZE_FOR_BROWSERS,
  OP_CLOSE,
  closeMessage,
  closeStatusFor,
  controlFrame,
  frameOutbound,
} from './frame.js';

export interface WsSocketOptions {
  compress: boolean;
  browser: boolean;
  noCompFrag: boolean;
  /** a valid X-Forwarded-For address, '' when none */
  clientIP: string;
}

export class WsSocket {
  /** the connection writing here; its close reason picks the close frame's status */
  owner: Connection | null = null;
  readonly clientIP: string;
  private corked = 0;
  private pending: Buffer[] = [];
  /** a close frame went (or is queued to go) out: only one is ever sent */
  private closeSent = false;
  /** the reply to the peer's close frame, sent after pending data */
  private closeMsg: Buffer | null = null;
  private ended = false;
  private destroyCalled = false;
  private readonly maxFrame: number;

  constructor(
    readonly raw: Socket,
    private readonly opts: WsSocketOptions,
  ) {
    this.clientIP = opts.clientIP;
    this.maxFrame = opts.browser ? FRAME_SIZE_FOR_BROWSERS : 0;
  }

  get remoteAddress(): string | undefined {
    return this.raw.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.raw.remotePort;
  }

  get localAddress(): string | undefined {
    return this.raw.localAddress;
  }

  get localPort(): number | undefined {
    return this.raw.localPort;
  }

  get writableLength(): number {
    return this.raw.writableLength;
  }

  get writableHighWaterMark(): number {
    return this.raw.writableHighWaterMark;
  }

  get destroyed(): boolean {
    return this.destroyCalled || this.raw.destroyed;
  }

  get compressed(): boolean {
    return this.opts.compress;
  }

  write(b: Buffer): boolean {
    if (this.ended || this.destroyed) return false;
    if (this.corked > 0) {
      this.pending.push(b);
      return true;
    }
    this.send([b]);
    return true;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0) return;
    this.corked--;
    if (this.corked === 0) this.flushPending();
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    const nb = this.pending;
    this.pending = [];
    this.send(nb);
  }

  private send(nb: Buffer[]): void {
    const frames = frameOutbound(nb, this.opts.compress, this.maxFrame, this.opts.noCompFrag);
    if (frames.length === 0) return;
    const raw = this.raw;
    if (frames.length === 1) {
      raw.write(frames[0]!);
      return;
    }
    raw.cork();
    for (const f of frames) raw.write(f);
    raw.uncork();
  }

  /** A control frame (PONG) goes out now, ahead of data not yet flushed. */
  sendControl(op: number, payload: Buffer): void {
    if (this.ended || this.destroyed) return;
    this.raw.write(controlFrame(op, payload));
  }

  /** The peer sent a close frame: answer it after what is pending, and send no other. */
  setCloseReply(payload: Buffer): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.closeMsg = controlFrame(OP_CLOSE, payload);
  }

  /** The close frame for the owner's close reason (wsEnqueueCloseMessage), unless one was sent. */
  private closeFrameForReason(): Buffer | null {
    if (this.closeSent) return null;
    const reason = this.owner?.closeReason ?? '';
    if (reason === '') return null;
    this.closeSent = true;
    return controlFrame(OP_CLOSE, closeMessage(closeStatusFor(reason), reason));
  }

  /** Graceful close: pending data, then the close frame, then FIN. */
  end(): void {
    if (this.ended || this.destroyed) return;
    this.corked = 0;
    this.flushPending();
    this.ended = true;
    const cm = this.closeMsg ?? this.closeFrameForReason();
    this.closeMsg = null;
    if (cm !== null) this.raw.end(cm);
    else this.raw.end();
  }

  destroy(): void {
    if (this.destroyCalled) return;
    this.destroyCalled = true;
    this.pending = [];
    const raw = this.raw;
    // The reference still tells websocket clients why on shutdown (1001
    // "Server Shutdown"): the server closes its clients without a flush,
    // so the close frame is written here before the socket goes.
    if (!this.ended && !raw.destroyed && this.owner?.closeReason === ClosedState.ServerShutdown) {
      const cm = this.closeFrameForReason();
      this.ended = true;
      if (cm !== null) {
        raw.end(cm);
        setTimeout(() => raw.destroy(), 2000).unref();
        return;
      }
    }
    raw.destroy();
  }

  // Connection only writes; the listener owns the raw socket's events.
  setNoDelay(): this {
    return this;
  }
}
