// Async delivery: accepted events are held (bounded by count and bytes) until delivered,
// dead-lettered or dropped. Each held event is one async task; waiting for a retry costs memory
// only, and the per-function concurrency limit bounds what runs at once. When full, `offer`
// refuses the whole request so the caller answers 429/503 with Retry-After instead of growing.
import type { Logger } from "../common/log.ts";
import type { Deliverer } from "./delivery.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { outcomeLabel, succeeded } from "./retry.ts";
import type { CloudEvent, FunctionView, Route } from "./types.ts";

export interface AsyncJob {
  route: Route;
  event: CloudEvent;
}

export interface AsyncEngine {
  /** Accepts all jobs or none; false when the queue would exceed its bounds. */
  offer(jobs: readonly AsyncJob[]): boolean;
  held(): { events: number; bytes: number };
  /** Stops accepting, lets in-flight deliveries finish for up to `graceMs`, then abandons retries; resolves with the events not delivered. */
  drain(graceMs: number): Promise<number>;
}

export interface AsyncEngineOptions {
  deliverer: Deliverer;
  /** The current view of a function (endpoints change while an event waits for a retry). */
  resolveFn: (vpn: string, namespace: string, name: string) => FunctionView | undefined;
  metrics: GatewayMetrics;
  log: Logger;
  maxEvents?: number;
  maxBytes?: number;
}

const jobBytes = (job: AsyncJob): number => (job.event.data?.length ?? 0) + 512;

/** The dead-letter copy of an event: same id and attributes, plus where it was going and why it failed. */
export const deadLetterEvent = (
  route: Route,
  event: CloudEvent,
  status: string,
  attempts: number,
): CloudEvent => ({
  ...event,
  attributes: {
    ...event.attributes,
    deadletterroute: `${route.namespace}/${route.name}`,
    deadletterfunction: `${route.subscription.function.namespace}/${route.subscription.function.name}`,
    deadletterstatus: status,
    deadletterattempts: attempts,
  },
});

/** Creates the async engine. */
export const createAsyncEngine = ({
  deliverer,
  resolveFn,
  metrics,
  log,
  maxEvents = 10_000,
  maxBytes = 64 * 1024 * 1024,
}: AsyncEngineOptions): AsyncEngine => {
  let events = 0;
  let bytes = 0;
  let accepting = true;
  let abandoned = 0;
  const stop = new AbortController();
  const tasks = new Set<Promise<void>>();
  const gauge = (): void => {
    metrics.queueEvents.set(events);
    metrics.queueBytes.set(bytes);
  };

  const run = async (job: AsyncJob, size: number): Promise<void> => {
    const { route, event } = job;
    const end = metrics.deliverySeconds.startTimer({ mode: "async" });
    try {
      const sub = route.subscription;
      const final = await deliverer.deliver(
        route,
        resolveFn(route.vpn, sub.function.namespace, sub.function.name),
        event,
        false,
        stop.signal,
      );
      if (succeeded(final.outcome)) {
        metrics.deliveries.inc({ mode: "async", outcome: "delivered" });
        return;
      }
      if (stop.signal.aborted) {
        metrics.deliveries.inc({ mode: "async", outcome: "abandoned" });
        abandoned++;
        return;
      }
      const status = outcomeLabel(final.outcome);
      const dl = sub.delivery.deadLetter;
      if (!dl) {
        metrics.deliveries.inc({ mode: "async", outcome: "dropped" });
        metrics.deadLetters.inc({ outcome: "dropped" });
        log.warn(
          { route: route.key, id: event.attributes.id, status, attempts: final.attempts },
          "delivery failed and there is no dead-letter function; event dropped",
        );
        return;
      }
      const dead = deadLetterEvent(route, event, status, final.attempts);
      const dlFinal = await deliverer.deliver(
        route,
        resolveFn(route.vpn, dl.namespace, dl.name),
        dead,
        false,
        stop.signal,
      );
      const delivered = succeeded(dlFinal.outcome);
      metrics.deliveries.inc({ mode: "async", outcome: delivered ? "dead_lettered" : "failed" });
      metrics.deadLetters.inc({ outcome: delivered ? "delivered" : "failed" });
      if (!delivered)
        log.error(
          { route: route.key, id: event.attributes.id, status: outcomeLabel(dlFinal.outcome) },
          "dead-letter delivery failed; event dropped",
        );
    } finally {
      end();
      events--;
      bytes -= size;
      gauge();
    }
  };

  return {
    offer: (jobs) => {
      const size = jobs.reduce((n, j) => n + jobBytes(j), 0);
      if (!accepting || events + jobs.length > maxEvents || bytes + size > maxBytes) return false;
      for (const job of jobs) {
        const s = jobBytes(job);
        events++;
        bytes += s;
        const task = run(job, s).catch((err: unknown) =>
          log.error({ err: String(err) }, "async delivery task failed"),
        );
        tasks.add(task);
        void task.finally(() => tasks.delete(task));
      }
      gauge();
      return true;
    },
    held: () => ({ events, bytes }),
    drain: async (graceMs) => {
      accepting = false;
      const timer = setTimeout(() => stop.abort(), graceMs);
      while (tasks.size > 0) await Promise.race(tasks);
      clearTimeout(timer);
      stop.abort();
      return abandoned;
    },
  };
};
