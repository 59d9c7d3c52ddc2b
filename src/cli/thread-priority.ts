// The tsnats executable lowers the scheduling priority of V8's helper
// threads (background compilation, concurrent marking, the delayed-task
// scheduler) so that they never preempt the thread that serves clients.
//
// Why: on a machine where the server gets one core (a container's CPU
// limit, taskset, the bench harness), those threads share the core with
// the event loop. The kernel's fair scheduler favours a thread that just
// woke, so a background compile job of a few milliseconds runs while a
// reply waits: that was the p99 tail of every request/ack scenario
// (BENCHMARKS.md, "Session 7: the p99 tail"). At nice 19 they still get
// every idle cycle, and all of any other core.
//
// Only the threads that exist when this runs are touched: at start-up
// those are V8's platform workers. libuv's thread pool (file writes of
// the JetStream file store, DNS) starts later, on the first use, and
// keeps the event loop's priority: a starved write would hold back
// PubAcks instead.
//
// The executable only: a program that embeds the Server keeps its threads
// as it set them.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** nice value of V8's helper threads; 19 is the lowest priority Linux has */
const HELPER_NICE = 19;

/** @returns how many threads got the lower priority (0 where /proc is missing) */
export function lowerHelperThreadPriority(): number {
  if (process.env.TSNATS_HELPER_THREAD_NICE === '0') return 0;
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux
  }
  let n = 0;
  for (const t of tasks) {
    const tid = Number(t);
    if (tid === process.pid) continue; // the event loop's thread
    try {
      // setpriority(PRIO_PROCESS, tid) sets one thread's nice value on Linux
      setPriority(tid, HELPER_NICE);
      n++;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return n;
}
