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

/** Requests admitted at once under pressure, at least. */
export const MIN_ADMITTED = 8;
/** The pressure ends this far (a share of the limit) below where it began. */
export const RESUME_MARGIN = 0.1;

export interface MemoryPressureOptions {
  /** The working set in bytes (NaN when it cannot be read: the state stays as it is). */
  workingSetBytes: () => number;
  /**
   * A cheaper upper bound of the working set (the cgroup's usage, page cache included): while it
   * says nothing can change, the working set is not read (v1's memory.stat made a check 44 µs).
   */
  usageBytes?: () => number;
  limitBytes: number;
  /** The share of the limit (0–1) at which the pressure begins. */
  shedAt: number;
  /** Requests in progress now. */
  inProgress: () => number;
  /** A memory-reducing full collection, run when the pressure begins (at most once a second). */
  collect?: () => void;
  /** Told when the pressure begins (with how many requests it admits at once) and ends. */
  onChange?: (pressed: boolean, workingSetBytes: number, admitted: number) => void;
  now?: () => number;
}

export interface MemoryPressure {
  /** Whether a request may start with `inProgress` others in progress. */
  admits(inProgress: number): boolean;
  readonly pressed: boolean;
  /** Reads the working set and updates the state (the gateway calls it every 100 ms while it has work, common/while-busy.ts). */
  check(): void;
}

export const memoryPressure = (opts: MemoryPressureOptions): MemoryPressure => {
  const { limitBytes, now = performance.now.bind(performance) } = opts;
  const begins = opts.shedAt * limitBytes;
  const ends = Math.max(0, opts.shedAt - RESUME_MARGIN) * limitBytes;
  let pressed = false;
  let admitted = Number.POSITIVE_INFINITY;
  let collectedAt = Number.NEGATIVE_INFINITY;

  const check = (): void => {
    const usage = opts.usageBytes?.() ?? Number.NaN;
    const settled = usage < ends || (!pressed && usage < begins);
    const ws = settled ? usage : opts.workingSetBytes();
    if (Number.isNaN(ws)) return;
    if (!pressed && ws >= begins) {
      pressed = true;
      admitted = Math.max(MIN_ADMITTED, Math.floor(opts.inProgress() / 2));
      if (opts.collect && now() - collectedAt >= 1000) {
        collectedAt = now();
        opts.collect();
      }
      opts.onChange?.(true, ws, admitted);
    } else if (pressed && ws < ends) {
      pressed = false;
      admitted = Number.POSITIVE_INFINITY;
      opts.onChange?.(false, ws, admitted);
    }
  };

  return {
    admits: (inProgress) => inProgress < admitted,
    get pressed() {
      return pressed;
    },
    check,
  };
};
