// Load shedding by memory. Under an overload the gateway's memory is what its requests in progress
// hold plus what V8 lets its heap grow to before collecting, and the second follows the first: on a
// slow host a paced 5000 requests/s at a gateway serving fewer kept 1024 connections busy and its
// working set went past 128 MiB, where the OOM killer ended it with every request it held
// (bench/sync-hop.ts, docs/benchmarks.md). Counting requests or bytes cannot see all of that; the
// cgroup's working set (common/cgroup-memory.ts), read a few times a second, does.
//
// Once the working set reaches `shedAt` of the limit the gateway is under pressure: it collects
// its heap once (the memory-reducing collection of --expose-gc), and admits a new request only
// while fewer are in progress than half of those in progress when the pressure began (at least
// MIN_ADMITTED, so that a gateway whose memory stays high, e.g. in malloc's free lists, still
// serves). The others are refused at once with 503 overloaded and their connection closed, before
// their body is read. The pressure ends when the working set is back below `shedAt` less
// RESUME_MARGIN of the limit.
//
// V8's heap has a limit of its own inside the container's (the image sizes it at half the
// container's memory, --max-old-space-size-percentage=50), and a process whose live JavaScript
// objects reach it does not wait for the OOM killer: Node ends it with "JavaScript heap out of
// memory". A bare Node forwarder ended that way in bench/sync-hop.ts at 5000 requests/s in a
// 128 MiB cgroup, its heap at 62.6 MB while the cgroup counted no OOM kill. So V8's old
// generation in use against its own limit (v8HeapUse) begins a pressure too (`heap`), at the same
// share, and the pressure ends only when both are back below it less RESUME_MARGIN. Without a
// container limit the heap alone is watched.

import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";

/** Requests admitted at once under pressure, at least. */
export const MIN_ADMITTED = 8;
/** The pressure ends this far (a share of the limit) below where it began. */
export const RESUME_MARGIN = 0.1;

export interface MemoryPressureOptions {
  /** The working set in bytes (NaN when it cannot be read: the state stays as it is); absent without a container limit. */
  workingSetBytes?: () => number;
  /**
   * A cheaper upper bound of the working set (the cgroup's usage, page cache included): while it
   * says nothing can change, the working set is not read (v1's memory.stat made a check 44 µs).
   */
  usageBytes?: () => number;
  /** The container's memory limit; absent without one. */
  limitBytes?: number;
  /** V8's old generation: bytes in use and its limit (v8HeapUse); absent: not watched. */
  heap?: () => { used: number; limit: number };
  /** The share of the limits (0–1) at which the pressure begins. */
  shedAt: number;
  /** Requests in progress now. */
  inProgress: () => number;
  /** A memory-reducing full collection, run when the pressure begins (at most once a second). */
  collect?: () => void;
  /**
   * Told when the pressure begins (with how many requests it admits at once, and which limit it
   * began near: the container's or V8's heap's) and when it ends (with the limit it began near);
   * `workingSetBytes` is NaN without a container limit.
   */
  onChange?: (pressed: boolean, workingSetBytes: number, admitted: number, near: MemoryNear) => void;
  now?: () => number;
}

export interface MemoryPressure {
  /** Whether a request may start with `inProgress` others in progress. */
  admits(inProgress: number): boolean;
  readonly pressed: boolean;
  /** The limit the pressure (the last one, when none lasts) began near. */
  readonly near: MemoryNear;
  /** Reads the working set and updates the state (the gateway calls it every 100 ms while it has work, common/while-busy.ts). */
  check(): void;
}

/** Which limit a pressure began near: the container's memory limit, or V8's heap limit. */
export type MemoryNear = "container" | "heap";

/** V8's default largest semi-space on 64-bit hosts, MiB (Node 24: heap_size_limit less the old generation's limit is 3 × 64 MiB). */
const DEFAULT_SEMI_SPACE_MIB = 64;

/** The last --max-semi-space-size this process was given (NODE_OPTIONS, then its command line), MiB. */
export const maxSemiSpaceMib = (
  args: readonly string[] = [...(process.env.NODE_OPTIONS?.split(/\s+/) ?? []), ...process.execArgv],
): number => {
  let mib = DEFAULT_SEMI_SPACE_MIB;
  args.forEach((arg, i) => {
    const m = /^--max[-_]semi[-_]space[-_]size(?:=(\d+))?$/.exec(arg);
    const value = m ? Number(m[1] ?? args[i + 1]) : Number.NaN;
    if (value > 0) mib = value;
  });
  return mib;
};

/**
 * V8's old generation in use and its limit, for MemoryPressureOptions.heap. The old generation is
 * what ends a process at its limit ("JavaScript heap out of memory"): getHeapStatistics's
 * heap_size_limit also holds the young generation's reserve, three semi-spaces (two and the
 * large-object space beside them), which a full old generation leaves mostly empty. Measured with
 * --max-old-space-size=30 --max-semi-space-size=4: heap_size_limit 42 MiB, the process ended
 * with its old generation at 29 MiB and 31 MiB of the heap in use (74 % of heap_size_limit).
 * `youngReserve`: 3 × maxSemiSpaceMib() in bytes, worked out once (it reads the process's flags).
 */
export const v8HeapUse = (youngReserve: number): { used: number; limit: number } => {
  const { used_heap_size: used, heap_size_limit: all } = getHeapStatistics();
  let young = 0;
  for (const space of getHeapSpaceStatistics())
    if (space.space_name === "new_space" || space.space_name === "new_large_object_space")
      young += space.space_used_size;
  const limit = all > youngReserve ? all - youngReserve : all;
  return { used: used - young, limit };
};

export const memoryPressure = (opts: MemoryPressureOptions): MemoryPressure => {
  const { limitBytes, workingSetBytes, now = performance.now.bind(performance) } = opts;
  const endShare = Math.max(0, opts.shedAt - RESUME_MARGIN);
  const begins = limitBytes === undefined ? Number.POSITIVE_INFINITY : opts.shedAt * limitBytes;
  const ends = limitBytes === undefined ? Number.POSITIVE_INFINITY : endShare * limitBytes;
  let pressed = false;
  let admitted = Number.POSITIVE_INFINITY;
  let collectedAt = Number.NEGATIVE_INFINITY;
  let near: MemoryNear = "container";

  const check = (): void => {
    let ws = Number.NaN;
    if (workingSetBytes) {
      const usage = opts.usageBytes?.() ?? Number.NaN;
      const settled = usage < ends || (!pressed && usage < begins);
      ws = settled ? usage : workingSetBytes();
      // Unreadable (the cgroup went away): the state stays as it is.
      if (Number.isNaN(ws)) return;
    }
    const heap = opts.heap?.();
    const heapShare = heap ? heap.used / heap.limit : 0;
    if (!pressed && (ws >= begins || heapShare >= opts.shedAt)) {
      pressed = true;
      admitted = Math.max(MIN_ADMITTED, Math.floor(opts.inProgress() / 2));
      if (opts.collect && now() - collectedAt >= 1000) {
        collectedAt = now();
        opts.collect();
      }
      near = ws >= begins ? "container" : "heap";
      opts.onChange?.(true, ws, admitted, near);
    } else if (pressed && !(ws >= ends) && heapShare < endShare) {
      pressed = false;
      admitted = Number.POSITIVE_INFINITY;
      opts.onChange?.(false, ws, admitted, near);
    }
  };

  return {
    admits: (inProgress) => inProgress < admitted,
    get pressed() {
      return pressed;
    },
    get near() {
      return near;
    },
    check,
  };
};
