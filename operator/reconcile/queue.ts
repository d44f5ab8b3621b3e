// A deduplicating, key-based work queue with per-key exponential backoff (capped, jittered), in
// the manner of client-go's workqueue: a key is processed by one worker at a time; a key added
// while it is being processed is processed again afterwards; `get` waits for work.

export interface WorkQueue {
  /** Queues `key` now unless it is already waiting; returns immediately. */
  add(key: string): void;
  /** Queues `key` after `ms` milliseconds. */
  addAfter(key: string, ms: number): void;
  /** Queues `key` after its next backoff delay (grows per consecutive failure); returns that delay. */
  addRateLimited(key: string): number;
  /** Resets `key`'s backoff after a success. */
  forget(key: string): void;
  /** Waits for the next key; undefined once the queue is shut down. */
  get(): Promise<string | undefined>;
  /** Marks `key` processed; re-queues it if it was added meanwhile. */
  done(key: string): void;
  /** Keys waiting (not counting delayed ones or ones being processed). */
  depth(): number;
  /** Number of consecutive failures recorded for `key`. */
  failures(key: string): number;
  shutdown(): void;
}

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the delay added at random (0.1 = up to +10 %). */
  jitter?: number;
  random?: () => number;
}

/** Creates a work queue; `backoff(n)` = min(base × 2^n, max) × (1 + jitter × random). */
export const createQueue = ({
  baseDelayMs = 100,
  maxDelayMs = 60_000,
  jitter = 0.1,
  random = Math.random,
}: QueueOptions = {}): WorkQueue => {
  // Keys waiting, in order, from `head` on. Taking the first with Array.prototype.shift is O(n)
  // once the array is large (V8 moves the whole backing store when it cannot trim it in place):
  // an operator starting on 100 000 objects queues them all, and taking them (get and done for
  // each) took 4.4 s with shift, 9.2 s for 200 000; 0.13 and 0.27 s from a head index (Node 24).
  let waiting: (string | undefined)[] = [];
  let head = 0;
  const take = (): string | undefined => {
    if (head === waiting.length) return undefined;
    const key = waiting[head];
    waiting[head++] = undefined;
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
    return key;
  };
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  const failureCounts = new Map<string, number>();
  const getters: ((key: string | undefined) => void)[] = [];
  let closed = false;

  const push = (key: string): void => {
    if (closed) return;
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    const getter = getters.shift();
    if (getter) {
      processing.add(key);
      getter(key);
      return;
    }
    queued.add(key);
    waiting.push(key);
  };

  const addAfter = (key: string, ms: number): void => {
    if (closed) return;
    if (ms <= 0) {
      push(key);
      return;
    }
    const existing = timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      timers.delete(key);
      push(key);
    }, ms);
    timer.unref();
    timers.set(key, timer);
  };

  return {
    add: push,
    addAfter,
    addRateLimited: (key) => {
      const n = failureCounts.get(key) ?? 0;
      failureCounts.set(key, n + 1);
      const delay = Math.round(Math.min(baseDelayMs * 2 ** n, maxDelayMs) * (1 + jitter * random()));
      addAfter(key, delay);
      return delay;
    },
    forget: (key) => {
      failureCounts.delete(key);
    },
    get: () => {
      const key = take();
      if (key !== undefined) {
        queued.delete(key);
        processing.add(key);
        return Promise.resolve(key);
      }
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => getters.push(resolve));
    },
    done: (key) => {
      processing.delete(key);
      if (dirty.delete(key)) push(key);
    },
    depth: () => waiting.length - head,
    failures: (key) => failureCounts.get(key) ?? 0,
    shutdown: () => {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const getter of getters.splice(0)) getter(undefined);
    },
  };
};
