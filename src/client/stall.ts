// Fast producer stalls (server/client.go stalledWait / stallDuration).
//
// When a consumer's pending bytes pass half of max_pending, the reference
// makes a publishing client wait before it delivers to that consumer again,
// until the consumer has drained (its flush wrote everything, or it is back
// under half) or a timeout passes: 100 ms, growing by 100 ms per tenth of
// the upper half used, and 1 s once max_pending is reached. A consumer that
// is merely slower than its producers is then paced instead of being cut as
// a slow consumer; one that does not read at all still is.
//
// Node cannot block in the middle of a parse, and the read buffer is reused,
// so the read in progress is delivered completely; then the producer's socket
// stops reading (socket.pause) until the consumer's socket emits 'drain' or
// the timeout passes, which is the same pacing one read later.

import type { Socket } from 'node:net';
import { goDuration, type Connection } from './connection.js';

const STALL_MIN_MS = 100;
const STALL_MAX_MS = 1000;

/** server/client.go stallDuration, in milliseconds. */
export function stallDuration(pending: number, maxPending: number): number {
  if (pending >= maxPending) return STALL_MAX_MS;
  const half = Math.floor(maxPending / 2);
  if (pending <= half) return STALL_MIN_MS;
  const step = Math.floor(half / 10);
  return step > 0 ? STALL_MIN_MS + STALL_MIN_MS * Math.floor((pending - half) / step) : STALL_MIN_MS;
}

/** What a stalled producer needs: a pausable socket. */
interface Producer {
  readonly closed: boolean;
  readonly socket: Socket;
  readonly logPrefix: string;
  readonly server: Connection['server'];
  stall: ProducerStall | null;
}

/** Bytes a connection has staged or handed to its socket and not yet written. */
export function pendingBytes(c: Connection): number {
  return c.out.staged + (c.socket.destroyed ? 0 : c.socket.writableLength);
}

/** One paused producer, waiting on one consumer. */
export class ProducerStall {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly producer: Producer,
    readonly gate: StallGate,
    ttl: number,
  ) {
    this.timer = setTimeout(() => {
      const srv = producer.server;
      if (srv.logger.debugEnabled) srv.logger.debug(`${producer.logPrefix} - Timed out of fast producer stall (${goDuration(ttl)})`);
      gate.remove(this);
      this.end();
    }, ttl);
    producer.socket.pause();
  }

  /** Resume the producer's reads. */
  end(): void {
    clearTimeout(this.timer);
    const p = this.producer;
    if (p.stall !== this) return;
    p.stall = null;
    if (!p.closed && !p.socket.destroyed) p.socket.resume();
  }

  /** The producer closed: drop the timer and the gate's reference. */
  cancel(): void {
    clearTimeout(this.timer);
    this.gate.remove(this);
    this.producer.stall = null;
  }
}

/** A consumer's gate (the reference's c.out.stc): producers paused until it drains. */
export class StallGate {
  private readonly waiting = new Set<ProducerStall>();
  private readonly onDrain = (): void => this.open();

  constructor(readonly consumer: Connection) {
    consumer.socket.once('drain', this.onDrain);
  }

  add(s: ProducerStall): void {
    this.waiting.add(s);
  }

  remove(s: ProducerStall): void {
    this.waiting.delete(s);
  }

  /** The consumer drained (or closed): every producer waiting on it reads again. */
  open(): void {
    const c = this.consumer;
    if (c.stallGate === this) c.stallGate = null;
    c.socket.off('drain', this.onDrain);
    const all = [...this.waiting];
    this.waiting.clear();
    for (const s of all) s.end();
  }
}

/**
 * After a producer's read was processed: if a consumer it delivered to is
 * still over half of max_pending, pause the producer's reads.
 */
export function stallProducer(producer: Producer, consumer: Connection): void {
  if (producer.stall !== null || producer.closed || consumer.closed) return;
  if (typeof producer.socket.pause !== 'function') return;
  const mp = consumer.server.opts.maxPending;
  const pending = pendingBytes(consumer);
  if (pending <= mp / 2) return;
  const gate = (consumer.stallGate ??= new StallGate(consumer));
  const s = new ProducerStall(producer, gate, stallDuration(pending, mp));
  producer.stall = s;
  gate.add(s);
}
