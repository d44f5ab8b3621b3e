// The one controller loop: workers take keys from a queue, call the reconciler, and own the
// retry switch. Returning `{ requeueAfterMs }` schedules a periodic check; throwing retries
// with per-key backoff; throwing a TerminalError stops retrying (the reconciler has already
// said why in the object's status).

import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { WorkQueue } from "./queue.ts";

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | undefined>;

/** An error that retrying cannot fix; the key is dropped until its object changes. */
export class TerminalError extends Error {
  override name = "TerminalError";
}

export interface ControllerOptions {
  kind: string;
  queue: WorkQueue;
  reconcile: Reconciler;
  metrics: OperatorMetrics;
  log: Logger;
  workers?: number;
}

/** Runs `workers` workers until `signal` aborts; resolves once they have all stopped. */
export const runController = async (
  { kind, queue, reconcile, metrics, log, workers = 2 }: ControllerOptions,
  signal: AbortSignal,
): Promise<void> => {
  signal.addEventListener("abort", () => queue.shutdown(), { once: true });
  const depth = setInterval(() => metrics.queueDepth.set({ kind }, queue.depth()), 1000);
  depth.unref();
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const end = metrics.reconcileSeconds.startTimer({ kind });
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          queue.addAfter(key, result.requeueAfterMs);
          metrics.reconciles.inc({ kind, result: "requeue" });
        } else {
          metrics.reconciles.inc({ kind, result: "success" });
        }
      } catch (err) {
        const message = errorMessage(err);
        if (err instanceof TerminalError) {
          queue.forget(key);
          metrics.reconciles.inc({ kind, result: "terminal" });
          log.warn({ kind, key, err: message }, "reconcile failed; not retrying until the object changes");
        } else {
          const delay = queue.addRateLimited(key);
          metrics.reconciles.inc({ kind, result: "error" });
          log.warn(
            { kind, key, err: message, retryInMs: delay, failures: queue.failures(key) },
            "reconcile failed; retrying",
          );
        }
      } finally {
        end();
        queue.done(key);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    clearInterval(depth);
  }
};
