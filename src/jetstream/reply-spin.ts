/**
 * Brief busy-polling after JetStream replies go out (PubAcks: Stream.sendAcks).
 *
 * A publisher that waits for each PubAck (js.Publish, KV Put) sends its next
 * message a few tens of microseconds after the ack reaches it. Between the
 * two, an idle Node.js event loop goes to sleep in
 * epoll_wait, and the next message has to wake the thread again: on a
 * virtual machine (idle vCPU halted) or a CPU shared with other processes
 * that wake-up is what the round trip mostly costs, far more than the
 * server's work. The reference does not pay it: Go's scheduler keeps a
 * thread spinning for a while before it parks, and the network poller is
 * checked while it spins.
 *
 * So after a reply, the event loop keeps turning for up to SPIN_MS with an
 * immediate pending, which makes libuv poll with a zero timeout instead of
 * sleeping: a message that arrives meanwhile is read at once. Each reply
 * re-arms the deadline, so a steady request/reply exchange never sleeps,
 * and a server with nothing more to answer stops polling SPIN_MS after its
 * last reply. The cost is bounded: at most SPIN_MS of CPU after the last
 * reply of a burst; under continuous load the loop has work anyway and the
 * extra immediate is one function call per turn.
 *
 * Not used for pull consumers: a fetch+ack load sleeps about once per batch
 * of 500 messages (~350 voluntary context switches for 150k messages), so
 * there is nothing to win there.
 */

import { performance } from 'node:perf_hooks';

/** How long the loop keeps polling after the last reply, in ms. */
export const SPIN_MS = 0.2;

/**
 * A gap this long between two polls means the thread was not running (the
 * CPU went to another process) or a turn had a lot of work: either way
 * polling buys nothing now. On a contended CPU it even costs: a thread that
 * never sleeps loses the wake-up preference the scheduler gives sleepers and
 * waits out other processes' time slices, several ms each (p99 of a KV put
 * went from ~5 to ~9 ms in A/B runs next to other CPU-bound processes).
 */
const PREEMPTED_MS = 0.5;
/** After such a gap, no polling for this long. */
const BACKOFF_MS = 500;

let deadline = 0;
let lastPoll = 0;
let backoffUntil = 0;
let spinning = false;

function tick(): void {
  const now = performance.now();
  if (now - lastPoll > PREEMPTED_MS) {
    backoffUntil = now + BACKOFF_MS;
    spinning = false;
    return;
  }
  lastPoll = now;
  if (now < deadline) setImmediate(tick);
  else spinning = false;
}

/** A reply just went out: keep polling for the next request for SPIN_MS. */
export function spinAfterReply(): void {
  const now = performance.now();
  if (now < backoffUntil) return;
  deadline = now + SPIN_MS;
  if (spinning) return;
  spinning = true;
  lastPoll = now;
  setImmediate(tick);
}

/** For tests: whether a spin is under way, and whether it is backing off. */
export function spinState(): { spinning: boolean; backingOff: boolean } {
  return { spinning, backingOff: performance.now() < backoffUntil };
}

/** For tests: forget a back-off. */
export function resetReplySpin(): void {
  backoffUntil = 0;
}
