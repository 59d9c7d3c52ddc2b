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
 * Polling stops for BACKOFF_MS when the thread was seen to lose the CPU to
 * another process: on a contended CPU a thread that never sleeps loses the
 * wake-up preference the scheduler gives sleepers and waits out other
 * processes' time slices, several ms each (p99 of a KV put went from ~5 to
 * ~9 ms in A/B runs next to CPU-bound processes, without the back-off).
 * Seen how: a gap of more than GAP_MS between two polls in which the
 * process got less than CPU_SHARE of the wall time since the last check. A
 * long turn or a GC pause makes such a gap too, but with the CPU busy: no
 * back-off for those (a scavenge every ~1,000 puts would otherwise switch
 * polling off most of the time).
 */
const GAP_MS = 0.5;
const CPU_SHARE = 0.75;
/** How often the CPU-time baseline moves on while polling, in ms. */
const CHECK_MS = 5;
const BACKOFF_MS = 500;

/** Wall and process CPU time in ms; replaceable by tests. */
export const spinClock = {
  wall: (): number => performance.now(),
  cpu: (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
};

let deadline = 0;
let lastPoll = 0;
let baseWall = 0;
let baseCpu = 0;
let backoffUntil = 0;
let spinning = false;
/** bumped by resetReplySpin: a poll of an older chain ends there */
let epoch = 0;

function tick(ep: number): void {
  if (ep !== epoch) return;
  const now = spinClock.wall();
  if (now - lastPoll > GAP_MS || now - baseWall > CHECK_MS) {
    const cpu = spinClock.cpu();
    if (now - lastPoll > GAP_MS && cpu - baseCpu < CPU_SHARE * (now - baseWall)) {
      backoffUntil = now + BACKOFF_MS;
      spinning = false;
      return;
    }
    baseWall = now;
    baseCpu = cpu;
  }
  lastPoll = now;
  if (now < deadline) setImmediate(tick, ep);
  else spinning = false;
}

/**
 * Replies to more requests than this in one commit come from publishers
 * that do not wait for each ack (js.PublishAsync): they keep the loop busy
 * on their own, and an event loop that sleeps until their next burst has
 * piled up reads it in fewer, larger chunks (fewer commits, block writes
 * and ack writes) than one that polls and picks up every small piece.
 */
const MAX_REPLIES = 8;

/**
 * `n` replies just went out: when few, keep polling for the next request
 * for SPIN_MS.
 */
export function spinAfterReply(n = 1): void {
  if (n > MAX_REPLIES) return;
  const now = spinClock.wall();
  if (now < backoffUntil) return;
  deadline = now + SPIN_MS;
  if (spinning) return;
  spinning = true;
  lastPoll = baseWall = now;
  baseCpu = spinClock.cpu();
  setImmediate(tick, epoch);
}

/** For tests: whether a spin is under way, and whether it is backing off. */
export function spinState(): { spinning: boolean; backingOff: boolean } {
  return { spinning, backingOff: spinClock.wall() < backoffUntil };
}

/** For tests: forget a back-off and any spin under way. */
export function resetReplySpin(): void {
  backoffUntil = 0;
  spinning = false;
  epoch++;
}
