// V8's helper threads yield to the main thread. A sidecar gets a core or less, so V8's worker
// threads (optimizing compilers and other background jobs; the gateway runs with
// --single-threaded-gc, so no collector work) share it with the JavaScript thread: each job that
// wakes preempts a request for a scheduler slice. Measured with the gateway alone on one core in a
// 128 MiB cgroup at 1000 requests/s for 10 s after 5 s of warm-up (the V8 workers used 260–320 ms
// of CPU in those 10 s), four runs each, alternating: total latency p99 3.2–15.2 ms and p99.9
// 6.9–92 ms with the workers at the main thread's priority, p99 2.4–2.8 ms and p99.9 5.4–6.5 ms at
// nice 19, p50 the same. At nice 19 they run in the main thread's idle time and still get their
// share when it is busy. Linux keeps a nice value per thread (setpriority(2), NOTES), and any
// process may lower its own threads' priority (raising it again needs CAP_SYS_NICE, which a pod
// does not have: the lowering is for good).
//
// Not from the start, though. A cold gateway's hot path is compiled by those workers; at nice 19
// under a load that keeps the JavaScript thread busy (a closed loop of 64 connections, the first
// thing a busy pod's restarted sidecar meets) they get about 1.5 % of the core, the compile jobs
// wait with their memory, and the gateway held 45–50 MiB of glibc's heap against 14 MiB with the
// workers at normal priority (working set 142 against 92 MiB after 5 s; in a 128 MiB cgroup it was
// OOM-killed within 7 s). So the workers are lowered once the gateway has handled WARM_REQUESTS
// requests, when the hot path is compiled.
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";

/** The lowest scheduling priority, as nice counts it. */
const LOWEST = 19;

const TASKS = "/proc/self/task";

/** Requests after which the hot path is compiled and the V8 workers are lowered. */
export const WARM_REQUESTS = 5_000;

/** How often a gateway that handled nothing since the last check looks again. */
const QUIET_CHECK_MS = 5_000;

/**
 * Lowers the V8 workers (lowerV8Workers) once `handled()` reaches `after`, checked every
 * `everyMs` while it grows, and every QUIET_CHECK_MS while it does not (a quiet sidecar that may
 * never get `after` requests wakes for this once in five seconds, not five times a second; lowering
 * later is safe, lowering early is what starved the compiler). `onLowered` is told how many were.
 * Returns a function that stops waiting.
 */
export const lowerV8WorkersWhenWarm = (
  handled: () => number,
  onLowered: (workers: number) => void,
  after = WARM_REQUESTS,
  everyMs = 200,
  quietMs = QUIET_CHECK_MS,
): (() => void) => {
  const warm = (count: number): boolean => {
    if (count < after) return false;
    onLowered(lowerV8Workers());
    return true;
  };
  let seen = handled();
  if (warm(seen)) return () => {};
  let timer: NodeJS.Timeout;
  const wait = (ms: number): void => {
    timer = setTimeout(() => {
      const now = handled();
      if (warm(now)) return;
      wait(now === seen ? quietMs : everyMs);
      seen = now;
    }, ms);
    timer.unref();
  };
  wait(everyMs);
  return () => clearTimeout(timer);
};

/** Lowers this process's V8 worker threads to nice 19; returns how many. 0 where threads are not listed in /proc (not Linux). */
export const lowerV8Workers = (): number => {
  let tids: string[];
  try {
    tids = readdirSync(TASKS);
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of tids) {
    try {
      if (readFileSync(`${TASKS}/${tid}/comm`, "utf8").trim() !== "V8Worker") continue;
      setPriority(Number(tid), LOWEST);
      lowered++;
    } catch {
      // The thread ended meanwhile: nothing to lower.
    }
  }
  return lowered;
};
