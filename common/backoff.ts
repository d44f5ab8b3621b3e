// Capped exponential backoff with jitter, shared by the retry loops (the registry watcher's
// re-lists, the heartbeat's lease grants, the gateway's delivery retries), and an abortable wait.
import { setTimeout as delay } from "node:timers/promises";

/** The wait before attempt `attempt` (>= 1): half of min(max, base·2^(attempt-1)) plus a random share of the other half. */
export const backoffDelay = (
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number => {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return cap / 2 + random() * (cap / 2);
};

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export const pause = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await delay(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
    if (!signal?.aborted) throw err;
  });
};
