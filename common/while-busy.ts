// Periodic work that matters only while the gateway has work: sampling the event loop's lag
// (common/event-loop-lag.ts) and checking the container's memory for load shedding
// (common/memory-pressure.ts), both every 100 ms. A sidecar is idle most of its life, and with
// those two timers an idle gateway's threads woke 13.6–17.2 times a second, against 1.9–5.3 without
// (docs/benchmarks.md, "An idle gateway sleeps"): each wake-up a switch into the process and out,
// for nothing. So they stop after a quiet interval (nothing counted by `activity` over a whole
// check, nothing in progress, no memory pressure to see end) and start again with the next
// request (`busy()`, which the ingress calls for each, before anything else) or at the next check
// that sees work (deliveries from the queue).

/** Work that runs while the gateway is busy: started and stopped as a whole. */
export interface BusyJob {
  start(): void;
  stop(): void;
}

export interface WhileBusy {
  /** Work arrived: the jobs start again if a quiet interval stopped them. One comparison when they run. */
  busy(): void;
  /**
   * Starts the jobs, then checks every `quietMs` (an unref'd timer): stops them when `activity` (a
   * count that only grows) did not grow since the previous check and `working()` is false (e.g.
   * requests held by a slow function, a memory pressure yet to end), starts them when it did.
   * Returns a function that stops the checks and the jobs.
   */
  every(quietMs: number, activity: () => number, working?: () => boolean): () => void;
  /** Whether the jobs run now. */
  running(): boolean;
}

/** How long the gateway stays without work before its busy-only jobs stop (the check's period). */
export const QUIET_MS = 5_000;

/** Runs `jobs` while there is work, from `every` or the first `busy` on (see the top of this file). */
export const whileBusy = (jobs: readonly BusyJob[]): WhileBusy => {
  let on = false;
  const start = (): void => {
    if (on) return;
    on = true;
    for (const job of jobs) job.start();
  };
  const stop = (): void => {
    if (!on) return;
    on = false;
    for (const job of jobs) job.stop();
  };
  return {
    busy: start,
    running: () => on,
    every: (quietMs, activity, working = () => false) => {
      let seen = activity();
      start();
      const timer = setInterval(() => {
        const now = activity();
        if (now === seen && !working()) stop();
        else start();
        seen = now;
      }, quietMs);
      timer.unref();
      return () => {
        clearInterval(timer);
        stop();
      };
    },
  };
};

/** `check` as a job: run once at each start (what changed while stopped counts at once), then every `ms` until stopped. */
export const periodic = (check: () => void, ms: number): BusyJob => {
  let timer: NodeJS.Timeout | undefined;
  return {
    start: () => {
      check();
      timer = setInterval(check, ms);
      timer.unref();
    },
    stop: () => {
      clearInterval(timer);
      timer = undefined;
    },
  };
};
