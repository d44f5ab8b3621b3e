// Async delivery: accepted events are held (bounded by count and bytes) until delivered,
// dead-lettered or dropped. Each held event is one async task; waiting for a retry costs memory
// only, and the per-function concurrency limit bounds what runs at once. When full, `offer`
// refuses the whole request so the caller answers 429/503 with Retry-After instead of growing.

import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { payloadBytes } from "../../common/malloc.ts";
import { type Enqueued, type Wal, WalFullError } from "../durable/wal.ts";
import { type GatewayMetrics, observeDelivery } from "../metrics.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import type { Deliverer, Final } from "./index.ts";
import { createDeliveryLog, type DeliveryLog } from "./log.ts";
import { outcomeLabel, succeeded } from "./retry.ts";

export interface AsyncJob {
  route: Route;
  event: CloudEvent;
}

/** What became of an offer: all jobs accepted, or none and why. */
export type OfferResult =
  | "accepted"
  | "full"
  | "log-full"
  | "log-failed"
  | "stream-full"
  | "stream-unavailable";

export interface AsyncEngine {
  /** Accepts all jobs or none: held in memory, and first written to the delivery log when there is one. */
  offer(jobs: readonly AsyncJob[]): Promise<OfferResult>;
  /** Resumes deliveries a previous run left in the log; returns how many were resumed and dropped (route gone). */
  restore(
    entries: readonly Enqueued[],
    route: (id: string) => Route | undefined,
  ): { resumed: number; dropped: number };
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
  /** The delivery log; without it accepted events live in memory only. */
  wal?: Wal;
}

/** How a route is named in the delivery log: stable across routing-table rebuilds and restarts. */
export const routeId = (route: Route): string => `${route.vpn}/${route.namespace}/${route.name}`;

/**
 * What holding an event costs beyond its data and attribute values: its suspended delivery's
 * promises, closures and contexts, and the attributes object. Measured by bench/queue-memory.ts
 * (live memory after a full collection with 10 000 events held for a function that holds every
 * delivery): 3805 bytes per event beyond its data (2026-11-29, Node 24.9).
 */
export const HELD_EVENT_OVERHEAD = 4096;

/** What a held event counts against --queue-max-bytes: its data, its attribute values and the overhead of holding it. */
export const heldBytes = (event: CloudEvent): number => {
  let bytes = HELD_EVENT_OVERHEAD + payloadBytes(event.data?.length ?? 0);
  for (const value of Object.values(event.attributes)) if (typeof value === "string") bytes += value.length;
  return bytes;
};

const jobBytes = (job: AsyncJob): number => heldBytes(job.event);

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

/**
 * Counts and logs what the dead-letter function made of an event whose retries ran out (`last`):
 * `dlFinal` is that delivery's outcome. One wording for both async engines.
 */
export const countDeadLetterDelivery = (
  metrics: GatewayMetrics,
  dlog: DeliveryLog,
  route: Route,
  event: CloudEvent,
  last: Final,
  dlFinal: Final,
): void => {
  const delivered = succeeded(dlFinal.outcome);
  metrics.deliveries.inc({ mode: "async", outcome: delivered ? "dead_lettered" : "failed" });
  metrics.deadLetters.inc({ outcome: delivered ? "delivered" : "failed" });
  dlog.undelivered(route, event, last, dlFinal);
};

/** Creates the async engine. */
export const createAsyncEngine = ({
  deliverer,
  resolveFn,
  metrics,
  log,
  maxEvents = 10_000,
  maxBytes = 64 * 1024 * 1024,
  wal,
}: AsyncEngineOptions): AsyncEngine => {
  let events = 0;
  let bytes = 0;
  let accepting = true;
  let abandoned = 0;
  const dlog = createDeliveryLog(log);
  const stop = new AbortController();
  /** Told when the last held event's task ends (drain waits for it). */
  const emptied: (() => void)[] = [];
  const gauge = (): void => {
    metrics.queueEvents.set(events);
    metrics.queueBytes.set(bytes);
  };

  /** Delivers one job to the end; false when shutdown abandoned it (it stays in the log). */
  const run = async (job: AsyncJob): Promise<boolean> => {
    const { route, event } = job;
    const started = performance.now();
    try {
      const sub = route.subscription;
      const target = resolveFn(route.vpn, sub.function.namespace, sub.function.name);
      const final = await deliverer.deliver(route, target, event, false, stop.signal);
      if (succeeded(final.outcome)) {
        metrics.deliveries.inc({ mode: "async", outcome: "delivered" });
        return true;
      }
      if (stop.signal.aborted) {
        metrics.deliveries.inc({ mode: "async", outcome: "abandoned" });
        abandoned++;
        return false;
      }
      const status = outcomeLabel(final.outcome);
      const dl = sub.delivery.deadLetter;
      if (!dl) {
        metrics.deliveries.inc({ mode: "async", outcome: "dropped" });
        metrics.deadLetters.inc({ outcome: "dropped" });
        dlog.undelivered(route, event, final);
        return true;
      }
      const dead = deadLetterEvent(route, event, status, final.attempts);
      const dlFinal = await deliverer.deliver(
        route,
        resolveFn(route.vpn, dl.namespace, dl.name),
        dead,
        false,
        stop.signal,
      );
      if (stop.signal.aborted && !succeeded(dlFinal.outcome)) {
        metrics.deliveries.inc({ mode: "async", outcome: "abandoned" });
        abandoned++;
        return false;
      }
      countDeadLetterDelivery(metrics, dlog, route, event, final, dlFinal);
      return true;
    } finally {
      observeDelivery(metrics, "async", started);
    }
  };

  const start = (job: AsyncJob, size: number, seq: number | undefined): void => {
    events++;
    bytes += size;
    void run(job)
      .then((finished) => {
        if (finished && seq !== undefined) wal?.ack(seq);
      })
      .catch((err: unknown) => log.error({ err: String(err) }, "async delivery task failed"))
      .finally(() => {
        events--;
        bytes -= size;
        gauge();
        if (events === 0) for (const done of emptied.splice(0)) done();
      });
  };

  return {
    offer: async (jobs) => {
      const sizes = jobs.map(jobBytes);
      const size = sizes.reduce((n, s) => n + s, 0);
      if (!accepting || events + jobs.length > maxEvents || bytes + size > maxBytes) return "full";
      let seqs: number[] | undefined;
      if (wal) {
        try {
          seqs = await wal.append(jobs.map((j) => ({ routeKey: routeId(j.route), event: j.event })));
        } catch (err) {
          if (err instanceof WalFullError) return "log-full";
          log.error({ err: errorMessage(err) }, "could not write the delivery log");
          return "log-failed";
        }
      }
      for (const [i, job] of jobs.entries()) start(job, sizes[i] ?? 0, seqs?.[i]);
      gauge();
      return "accepted";
    },
    restore: (entries, route) => {
      let resumed = 0;
      let dropped = 0;
      for (const entry of entries) {
        const r = route(entry.routeKey);
        if (!r) {
          dropped++;
          wal?.ack(entry.seq);
          log.warn(
            { route: entry.routeKey, id: entry.event.attributes.id },
            "a logged event's subscription no longer exists; dropped",
          );
          continue;
        }
        const job = { route: r, event: entry.event };
        start(job, jobBytes(job), entry.seq);
        resumed++;
      }
      gauge();
      return { resumed, dropped };
    },
    held: () => ({ events, bytes }),
    drain: async (graceMs) => {
      accepting = false;
      const timer = setTimeout(() => stop.abort(), graceMs);
      // Counted down by the tasks themselves: racing the set of tasks after each one ended added a
      // reaction to every task still held each time, quadratic in time and memory (5000 held
      // events took 11.6 s and 1 GiB to drain; the default 10 000, ending one by one, threw
      // "Map maximum size exceeded").
      if (events > 0) await new Promise<void>((resolve) => emptied.push(resolve));
      clearTimeout(timer);
      stop.abort();
      await wal?.close();
      return abandoned;
    },
  };
};
