// Free memory back from glibc's malloc. Memory that V8 and Node free (compiler zones, buffers,
// sockets' state) goes back to glibc's arenas, and glibc gives the kernel only what lies at the
// top of an arena: a free page below a live block stays in the process's working set. In a
// gateway alone on one core in a 128 MiB cgroup at 1000 requests/s, glibc held 12–24 MiB that way:
// malloc_trim(0), called in the process from gdb, took its working set from 47.6–59.9 to
// 35.7–36.3 MiB (bench/malloc-trim.ts, docs/benchmarks.md "What glibc keeps"). Node has no call
// for it, so the gateway loads a Node-API module of its own (common/native/malloc-trim.c, built
// beside the compiled programs by scripts/image/compile.ts) and, every interval in which it
// received a request (a probe or a scrape too) or attempted a delivery, calls malloc_trim(0) on a
// thread of libuv's pool. The event loop does not run the call, but glibc holds each arena's lock
// while it trims it, so a malloc on the event loop waits for it (3.6–5.0 ms a call on average at
// 1000/s) and the requests of those milliseconds with it. Every five seconds (the default) makes
// a fifth of the pauses of every second for the same working set; trimming every second doubled
// the gateway's p99.9 at 1000/s in two runs of three (bench/trim-interval.ts). A quiet gateway is
// trimmed once more after its idle collection (common/idle-reclaim.ts) and then not again until
// something happens, so trimming costs an idle gateway nothing. Where the module is absent
// (running the `.ts` sources, a musl libc, a build without a C compiler) the gateway runs without
// it and its start log says why.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { errorMessage } from "./errors.ts";

/** The Node-API module: trim() runs malloc_trim(0) on a pool thread and resolves to the resident bytes the process had less after it (0 if more). */
export interface MallocTrimModule {
  trim(): Promise<number>;
}

/** Where the build puts the module: beside this file, in native/ (dist/common/native/malloc-trim.node). */
export const MALLOC_TRIM_MODULE = fileURLToPath(new URL("./native/malloc-trim.node", import.meta.url));

/** The module at `path`, or why it cannot be used. */
export const loadMallocTrim = (
  path: string = MALLOC_TRIM_MODULE,
): { module: MallocTrimModule } | { missing: string } => {
  if (!existsSync(path))
    return { missing: `no ${path}: it is built beside the compiled programs (npm run build, npm run image)` };
  const loaded = { exports: {} as Partial<MallocTrimModule> };
  try {
    process.dlopen(loaded, path);
  } catch (err) {
    return { missing: `cannot load ${path}: ${errorMessage(err)}` };
  }
  const { trim } = loaded.exports;
  if (typeof trim !== "function") return { missing: `${path} has no trim()` };
  return { module: { trim: () => trim() } };
};

export interface MallocTrimmerOptions {
  /** malloc_trim(0), resolving to the bytes it gave back (MallocTrimModule.trim). */
  trim: () => Promise<number>;
  /** Requests received (admin ones included) and deliveries attempted so far: a count that only grows. */
  activity: () => number;
  /** Told after each call, with what it gave back and how long it took from start to answer. */
  onTrim?: (releasedBytes: number, ms: number) => void;
  /** Told when a call fails (the next interval tries again). */
  onError?: (err: unknown) => void;
}

export interface MallocTrimmer {
  /** One check: trims when something happened since the previous check or a trim was asked for, unless one is still running; resolves to whether it trimmed. */
  check(): Promise<boolean>;
  /** Asks the next check to trim even if nothing happened (after a full collection). */
  request(): void;
  /** Checks every `intervalMs` (an unref'd timer) until the returned function is called. */
  every(intervalMs: number): () => void;
}

/** Trims after each interval with activity (see the top of this file). */
export const createMallocTrimmer = ({
  trim,
  activity,
  onTrim,
  onError,
}: MallocTrimmerOptions): MallocTrimmer => {
  let seen = activity();
  // The first check trims what starting left behind (loading modules, the first routing table).
  let requested = true;
  let running = false;
  const check = async (): Promise<boolean> => {
    const now = activity();
    const active = now !== seen;
    seen = now;
    if (running || !(active || requested)) return false;
    requested = false;
    running = true;
    const started = performance.now();
    try {
      const released = await trim();
      onTrim?.(released, performance.now() - started);
      return true;
    } catch (err) {
      onError?.(err);
      return false;
    } finally {
      running = false;
    }
  };
  return {
    check,
    request: () => {
      requested = true;
    },
    every: (intervalMs) => {
      const timer = setInterval(() => void check(), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
};
