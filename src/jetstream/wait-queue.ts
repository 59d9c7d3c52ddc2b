// The pull requests a consumer has not answered yet (server/consumer.go
// waitQueue): first come first served, a request with more to receive goes
// to the back after each message, bounded by max_waiting.

import type { Account } from '../accounts/account.js';

export interface WaitingRequest {
  reply: string;
  /** where interest in the reply is checked: the requester's account and reply behind a `_R_` one (jetstream/interest.ts) */
  acc: Account;
  interest: string;
  /** messages still wanted (batch) */
  n: number;
  /** messages delivered so far */
  d: number;
  /** bytes still allowed (max_bytes); 0 = no limit */
  b: number;
  /** ms since the epoch; 0 = never */
  expires: number;
  /** ms since the epoch */
  received: number;
  /** idle heartbeat interval, ms; 0 = none */
  hb: number;
  /** next heartbeat due, ms; 0 = none */
  hbt: number;
  noWait: boolean;
}

export class WaitQueue {
  private reqs: WaitingRequest[] = [];
  /** ms: the last request received (inactive_threshold of pull consumers) */
  last = 0;

  constructor(readonly max: number) {}

  get length(): number {
    return this.reqs.length;
  }

  isFull(): boolean {
    return this.reqs.length >= this.max;
  }

  /** false when full */
  add(wr: WaitingRequest): boolean {
    if (this.isFull()) return false;
    this.reqs.push(wr);
    this.last = wr.received;
    return true;
  }

  peek(): WaitingRequest | null {
    return this.reqs.length > 0 ? this.reqs[0] : null;
  }

  /** The head takes one message: it moves to the back while it wants more, else leaves. */
  pop(): WaitingRequest | null {
    const wr = this.peek();
    if (wr === null) return null;
    wr.d++;
    wr.n--;
    if (wr.n > 0 && this.reqs.length > 1) {
      this.reqs.shift();
      this.reqs.push(wr);
    } else if (wr.n <= 0) {
      this.reqs.shift();
    }
    return wr;
  }

  removeHead(): void {
    this.reqs.shift();
  }

  /** Keep only the requests `keep` says yes to (in order). */
  filter(keep: (wr: WaitingRequest) => boolean): void {
    this.reqs = this.reqs.filter(keep);
  }

  all(): readonly WaitingRequest[] {
    return this.reqs;
  }

  clear(): WaitingRequest[] {
    const r = this.reqs;
    this.reqs = [];
    return r;
  }
}
