// Delivering one event to one route: choose an endpoint, send in binary mode, classify the
// outcome, retry with backoff per the subscription's policy. The per-function concurrency limit
// is enforced here, per gateway.
import { pause } from "../../common/backoff.ts";
import { IdleKeepingMap } from "../../common/idle-keeping-map.ts";
import type { Logger } from "../../common/log.ts";
import { attemptLabel, type GatewayMetrics } from "../metrics.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import type { Balancer, Endpoint } from "./balancer.ts";
import type { AttemptResult, DeliveryPool } from "./client.ts";
import { createDeliveryLog, type DeliveryLog } from "./log.ts";
import { type Outcome, outcomeLabel, retryable, retryDelayMs, succeeded } from "./retry.ts";

export interface DeliveryDeps {
  /** The connection pool for deliveries of a VPN (pools are per VPN allow-list: see ./egress.ts). */
  pool: (vpn: string) => DeliveryPool;
  balancer: Balancer;
  localCluster: string;
  /** Binary-mode CloudEvents headers for `event`. */
  encode: (event: CloudEvent) => Record<string, string>;
  metrics: GatewayMetrics;
  log: Logger;
  /** What retries, refusals and undelivered events write to the log (default: createDeliveryLog(log)). */
  deliveryLog?: DeliveryLog;
  isClusterAvailable?: (cluster: string) => boolean;
  random?: () => number;
  /** Told of each finished delivery, after its retries (the admin delivery stream, ingress/deliveries.ts). */
  onFinished?: (route: Route, fn: FunctionView | undefined, event: CloudEvent, final: Final) => void;
}

export interface Final extends AttemptResult {
  attempts: number;
  endpoint: Endpoint | undefined;
}

const ABANDONED: AttemptResult = { outcome: { error: "abandoned" }, headers: {}, body: undefined };

const hasKeys = (o: object): boolean => {
  for (const _ in o) return true;
  return false;
};

const fnKey = (fn: FunctionView): string => `${fn.vpn}/${fn.namespace}/${fn.name}`;

/** A publisher waiting for a slot: woken with `true` when it gets one, `false` when it left first. */
interface Waiter {
  wake: (granted: boolean) => void;
  gone: (() => boolean) | undefined;
}

interface Slots {
  n: number;
  waiters: Waiter[];
  /** When the wait list was last cleared of departed publishers (performance.now()). */
  scannedAt: number;
}

/** How often a full wait list may be scanned for departed publishers, per function. */
const SCAN_MS = 100;

/**
 * Per-function in-flight limits. `acquire` returns the slot's release at once when a slot is free
 * (no promise: most attempts never wait), "full" when the wait list is full, or else a promise
 * of the release once a slot frees, or of "gone" when `gone` says, once its turn comes, that the
 * caller no longer wants it (the slot goes to the next waiter: a publisher that left does not
 * take the function's capacity from those still waiting). A full wait list is first cleared of
 * publishers that left (at most every SCAN_MS): while a function stalls, its slots stay held to
 * the attempts' deadline, and a list full of departed publishers would otherwise answer every new
 * one 503 at once.
 */
export const createLimits = () => {
  // A slot nobody holds or waits for stays until the map grows (a delete per attempt on a
  // long-lived Map is old-generation garbage: common/idle-keeping-map.ts).
  const inflight = new IdleKeepingMap<string, Slots>((s) => s.n === 0 && s.waiters.length === 0);
  const wait = async (
    s: Slots,
    release: () => void,
    gone?: () => boolean,
  ): Promise<(() => void) | "gone"> => {
    // A granted slot is handed over still counted (release does not lower n for it), so a slot
    // with a woken waiter is never idle.
    const granted = await new Promise<boolean>((wake) => s.waiters.push({ wake, gone }));
    if (!granted) return "gone";
    if (gone?.()) {
      release();
      return "gone";
    }
    return release;
  };
  const dropDeparted = (s: Slots): void => {
    const now = performance.now();
    if (now - s.scannedAt < SCAN_MS) return;
    s.scannedAt = now;
    const staying: Waiter[] = [];
    for (const w of s.waiters) {
      if (w.gone?.()) w.wake(false);
      else staying.push(w);
    }
    s.waiters = staying;
  };
  return {
    acquire: (
      key: string,
      limit: number,
      maxWaiters: number,
      gone?: () => boolean,
    ): (() => void) | "full" | Promise<(() => void) | "gone"> => {
      let slot = inflight.get(key);
      if (!slot) {
        slot = { n: 0, waiters: [], scannedAt: Number.NEGATIVE_INFINITY };
        inflight.set(key, slot);
      }
      const s = slot;
      const release = (): void => {
        const next = s.waiters.shift();
        if (next) next.wake(true);
        else s.n--;
      };
      if (s.n >= limit) {
        if (s.waiters.length >= maxWaiters) dropDeparted(s);
        return s.waiters.length >= maxWaiters ? "full" : wait(s, release, gone);
      }
      s.n++;
      return release;
    },
  };
};

export interface Deliverer {
  /** One attempt (endpoint choice, concurrency slot, send, balancer bookkeeping); never throws. */
  attempt(
    fn: FunctionView | undefined,
    event: CloudEvent,
    timeoutMs: number | undefined,
    keepBody: boolean,
    gone?: () => boolean,
  ): Promise<AttemptResult & { endpoint: Endpoint | undefined }>;
  /**
   * Attempts until success, a final failure, or the route's retries run out (waiting between
   * attempts unless `signal` aborts). A sync delivery passes `gone`, whether its publisher went
   * away: then no slot is taken and no retry made (outcome `abandoned`).
   */
  deliver(
    route: Route,
    fn: FunctionView | undefined,
    event: CloudEvent,
    keepBody: boolean,
    signal?: AbortSignal,
    gone?: () => boolean,
  ): Promise<Final>;
  /** Attempts started so far. */
  attempts(): number;
}

/** Creates the deliverer. */
export const createDeliverer = (deps: DeliveryDeps): Deliverer => {
  const { pool, balancer, localCluster, encode, metrics, isClusterAvailable } = deps;
  const limits = createLimits();
  const dlog = deps.deliveryLog ?? createDeliveryLog(deps.log);

  let attempts = 0;
  type Attempted = AttemptResult & { endpoint: Endpoint | undefined };
  // Promises are chained here rather than awaited in async functions: on the sync path each async
  // function cost a generator object holding all its registers and a microtask hop per await
  // (bench/cost.ts's profiles; see ingress/index.ts).

  /** An attempt that found no endpoint or no free slot sends nothing but is an attempt all the same. */
  const none = (error: "no-endpoints" | "overloaded"): AttemptResult & { endpoint: undefined } => {
    metrics.attempts.inc({ result: error });
    return { outcome: { error }, headers: {}, body: undefined, endpoint: undefined };
  };

  /** The attempt once it holds a slot of `fn`'s; `release` gives the slot back when it ends. */
  const send = (
    fn: FunctionView,
    event: CloudEvent,
    timeoutMs: number | undefined,
    keepBody: boolean,
    release: () => void,
  ): Promise<Attempted> => {
    let endpoint: Endpoint | undefined;
    let sent: Promise<AttemptResult>;
    try {
      endpoint = balancer.pick(fn, localCluster, isClusterAvailable);
      if (!endpoint) {
        release();
        return Promise.resolve(none("no-endpoints"));
      }
      const instance = fn.instances.get(endpoint.cluster);
      const encoded = encode(event);
      const extra = instance?.headers;
      const headers = extra && hasKeys(extra) ? { ...extra, ...encoded } : encoded;
      sent = pool(fn.vpn).send(endpoint.url, {
        method: "POST",
        headers,
        body: event.data,
        timeoutMs: timeoutMs ?? instance?.timeoutMs ?? 30_000,
        keepBody,
      });
    } catch (err) {
      release();
      return Promise.reject(err);
    }
    const to = endpoint;
    return sent.then(
      (result) => {
        try {
          // A refusal says nothing about the endpoint's health: it does not count towards ejection.
          const outcome = result.outcome;
          const denied = "error" in outcome && outcome.error === "egress-denied";
          balancer.release(to, !denied && ("error" in outcome || outcome.status >= 500));
          if (denied) dlog.denied(fn, to, outcome.reason);
          metrics.attempts.inc({ result: attemptLabel(outcomeLabel(outcome)) });
          return { ...result, endpoint: to };
        } finally {
          release();
        }
      },
      (err: unknown) => {
        release();
        throw err;
      },
    );
  };

  const attempt: Deliverer["attempt"] = (fn, event, timeoutMs, keepBody, gone) => {
    attempts++;
    if (!fn) return Promise.resolve(none("no-endpoints"));
    const local = fn.instances.get(localCluster) ?? fn.instances.values().next().value;
    const slot = limits.acquire(fnKey(fn), local?.concurrency ?? 100, 10_000, gone);
    if (slot === "full") return Promise.resolve(none("overloaded"));
    if (typeof slot === "function") return send(fn, event, timeoutMs, keepBody, slot);
    // Not an attempt when the publisher went away while it waited: nothing was sent, and no one
    // will read the answer.
    return slot.then((release) =>
      release === "gone"
        ? { ...ABANDONED, endpoint: undefined }
        : send(fn, event, timeoutMs, keepBody, release),
    );
  };

  /** The delivery's end when `last`, attempt `n`, is its last attempt (undefined when it is retried). */
  const ended = (
    route: Route,
    fn: FunctionView | undefined,
    event: CloudEvent,
    last: Attempted,
    n: number,
    signal: AbortSignal | undefined,
  ): Final | undefined => {
    const outcome: Outcome = last.outcome;
    if (
      !succeeded(outcome) &&
      retryable(outcome) &&
      n <= route.subscription.delivery.retry &&
      !signal?.aborted
    )
      return undefined;
    const abandoned = "error" in outcome && outcome.error === "abandoned";
    const final = { ...last, attempts: abandoned ? n - 1 : n };
    deps.onFinished?.(route, fn, event, final);
    return final;
  };

  /** Waits and attempts again after `first` failed, until an attempt is the last. */
  const retried = async (
    route: Route,
    fn: FunctionView | undefined,
    event: CloudEvent,
    keepBody: boolean,
    signal: AbortSignal | undefined,
    gone: (() => boolean) | undefined,
    first: Attempted,
  ): Promise<Final> => {
    const d = route.subscription.delivery;
    let last = first;
    for (let n = 1; ; ) {
      const outcome: Outcome = last.outcome;
      const retryAfter = "status" in outcome ? outcome.retryAfterMs : undefined;
      const delay = retryDelayMs(
        n,
        { policy: d.backoffPolicy, baseMs: d.backoffDelayMs, maxMs: d.maxBackoffMs },
        retryAfter,
        deps.random,
      );
      dlog.retry(route, fn, event, { ...last, attempts: n }, delay);
      await pause(delay, signal);
      n++;
      last = gone?.()
        ? { ...ABANDONED, endpoint: undefined }
        : await attempt(fn, event, d.timeoutMs, keepBody, gone);
      const final = ended(route, fn, event, last, n, signal);
      if (final) return final;
    }
  };

  const deliver: Deliverer["deliver"] = (route, fn, event, keepBody, signal, gone) =>
    attempt(fn, event, route.subscription.delivery.timeoutMs, keepBody, gone).then(
      (first) =>
        ended(route, fn, event, first, 1, signal) ?? retried(route, fn, event, keepBody, signal, gone, first),
    );

  return { attempt, deliver, attempts: () => attempts };
};
