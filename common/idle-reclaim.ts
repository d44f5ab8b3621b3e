// Memory back after a burst. V8 collects its old generation when the heap grows toward its
// limit, not when the process goes quiet: after a closed-loop burst, a gateway in a 128 MiB cgroup
// stayed at 93 MiB of working set for 40 s without a request (idle before the burst: 38 MiB),
// 28 MiB of it garbage in the old generation and pages V8 kept for it. One full collection once
// the gateway is quiet gave it back (93 → 46 MiB, same run; bench/sync-hop.ts measures it).
// So: every `intervalMs`, if nothing happened during the whole interval (no request received, no
// delivery attempted) and, since the last collection, either V8's heap grew by `growthBytes` or
// `activityPerCollection` requests and attempts happened (a drained queue leaves its events'
// garbage behind without growing the heap), collect once. A request that arrives during that
// collection waits for it (a few ms for a heap of this size); a quiet gateway is collected at
// most once per quiet spell, a busy one never.
// Needs `gc`, which node --expose-gc provides (the image's gateway flags); without it, off.
import { getHeapStatistics } from "node:v8";

export interface IdleReclaimOptions {
  /** Requests received and deliveries attempted so far: a count that only grows. */
  activity: () => number;
  /** A full, memory-reducing collection (exposedGc). */
  gc: () => void;
  /** V8's committed heap, in bytes. */
  heapBytes?: () => number;
  /** Heap growth since the last collection that makes a quiet interval collect. */
  growthBytes?: number;
  /** Activity since the last collection that makes a quiet interval collect. */
  activityPerCollection?: number;
  /** Told after each collection, with the heap before and after. */
  onCollect?: (before: number, after: number) => void;
}

export interface IdleReclaim {
  /** One check: collects when the interval since the previous check was quiet and enough grew or happened before it; true if it collected. */
  check(): boolean;
  /** Checks every `intervalMs` (an unref'd timer) until the returned function is called. */
  every(intervalMs: number): () => void;
}

const MiB = 1024 * 1024;

/** Collects once the process is quiet after it grew (see the top of this file). */
export const createIdleReclaim = ({
  activity,
  gc,
  heapBytes = () => getHeapStatistics().total_heap_size,
  growthBytes = 8 * MiB,
  activityPerCollection = 1000,
  onCollect,
}: IdleReclaimOptions): IdleReclaim => {
  let seen = activity();
  // The first quiet interval collects what starting left behind (loading modules, the first
  // routing table): as if a burst had just ended.
  let atCollection = seen - activityPerCollection;
  // The heap after the last collection; V8's own collections that shrink it lower it too.
  let floor = heapBytes();
  const check = (): boolean => {
    const now = activity();
    const quiet = now === seen;
    seen = now;
    const heap = heapBytes();
    floor = Math.min(floor, heap);
    if (!quiet) return false;
    if (heap - floor < growthBytes && now - atCollection < activityPerCollection) return false;
    gc();
    atCollection = now;
    floor = heapBytes();
    onCollect?.(heap, floor);
    return true;
  };
  return {
    check,
    every: (intervalMs) => {
      const timer = setInterval(check, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
};

/**
 * The memory-reducing full collection of node --expose-gc, or undefined without the flag. The
 * "last-resort" flavour compacts and returns free pages: a plain gc() collected the garbage but
 * kept the pages (a heap grown to 124 MB stayed at 70 MB with gc(), went to 5 MB with this).
 */
export const exposedGc = (): (() => void) | undefined => {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  return typeof gc === "function"
    ? () => gc({ type: "major", execution: "sync", flavor: "last-resort" })
    : undefined;
};
