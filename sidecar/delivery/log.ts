// What deliveries write to the log (docs/observability.md, "Logs"). Retries are logged at info,
// aggregated per function: the first retry of a function in a window is logged at once, later
// ones only counted and reported with the next line after the window (at 1000 failing events a
// second that is one line per function every 10 s, not 1000). Info, not debug, because the
// default level is info and a function that keeps failing must be visible before its events are
// dead-lettered; aggregation bounds the volume. An egress refusal is logged once per function and
// address per minute. Each event that ends undelivered (dropped, dead-lettered, or refused by the
// dead-letter function too) is logged once, at warn (error when even the dead-letter function
// refused it), with the target URL, the last status and why it ended.
import type { Logger } from "../../common/log.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import type { Endpoint } from "./balancer.ts";
import { type Outcome, outcomeLabel, retryable, succeeded } from "./retry.ts";

/** How often one function's retries (or one function and address's egress refusals) are logged at most. */
const RETRY_LOG_INTERVAL_MS = 10_000;
const DENIAL_LOG_INTERVAL_MS = 60_000;
/** Keys remembered at most; the maps are cleared past it (a line may then repeat early). */
const MAX_KEYS = 10_000;

/** How a finished delivery's last attempt ended, for logs and the dead-letter event. */
export interface FinalAttempt {
  readonly outcome: Outcome;
  readonly attempts: number;
  readonly endpoint: Endpoint | undefined;
}

export interface DeliveryLog {
  /** A delivery of `event` for `route` to `fn` (the function or the dead-letter function) waits `delayMs` before retrying `last`. */
  retry(
    route: Route,
    fn: FunctionView | undefined,
    event: CloudEvent,
    last: FinalAttempt,
    delayMs: number,
  ): void;
  /** The egress policy refused a connection to `endpoint` of `fn`. */
  denied(fn: FunctionView, endpoint: Endpoint, reason: string): void;
  /** An async delivery ended undelivered: dropped (no dead-letter function) or handed to the dead-letter function (`deadLetter` says how that went). */
  undelivered(route: Route, event: CloudEvent, last: FinalAttempt, deadLetter?: FinalAttempt): void;
}

const fnName = (ref: { namespace: string; name: string }): string => `${ref.namespace}/${ref.name}`;

/** Why the last attempt ended the delivery: not retryable, or retries ran out. */
export const cause = (last: FinalAttempt): string => {
  const o = last.outcome;
  if ("error" in o && o.error === "egress-denied") return `refused by the egress policy: ${o.reason}`;
  if ("error" in o && o.error === "no-endpoints") return "the function has no ready endpoint";
  if (!retryable(o)) return `status ${outcomeLabel(o)} is not retried`;
  return `retries exhausted after ${last.attempts} attempt${last.attempts === 1 ? "" : "s"}`;
};

/** A limiter that says whether `key` may log now, and how many calls it swallowed since it last could. */
const throttle = (intervalMs: number, now: () => number) => {
  const state = new Map<string, { at: number; suppressed: number }>();
  return (key: string): number | undefined => {
    const t = now();
    const s = state.get(key);
    if (s !== undefined && t - s.at < intervalMs) {
      s.suppressed++;
      return undefined;
    }
    if (state.size >= MAX_KEYS) state.clear();
    state.set(key, { at: t, suppressed: 0 });
    return s?.suppressed ?? 0;
  };
};

/** The delivery log of one gateway, writing to `log`. */
export const createDeliveryLog = (log: Logger, now: () => number = Date.now): DeliveryLog => {
  const retries = throttle(RETRY_LOG_INTERVAL_MS, now);
  const denials = throttle(DENIAL_LOG_INTERVAL_MS, now);
  return {
    retry: (route, target, event, last, delayMs) => {
      const fn = target ?? route.subscription.function;
      const suppressed = retries(`${route.vpn}/${fnName(fn)}`);
      if (suppressed === undefined) return;
      log.info(
        {
          vpn: route.vpn,
          function: fnName(fn),
          subscription: fnName(route),
          id: event.attributes.id,
          attempt: last.attempts,
          status: outcomeLabel(last.outcome),
          url: last.endpoint?.url,
          retryInMs: delayMs,
          otherRetries: suppressed,
        },
        "delivery attempt failed; retrying (further retries of this function are counted, logged at most every 10 s)",
      );
    },
    denied: (fn, endpoint, reason) => {
      if (denials(`${fn.vpn}/${fnName(fn)} ${endpoint.url}`) === undefined) return;
      log.warn(
        { vpn: fn.vpn, function: fnName(fn), url: endpoint.url, reason },
        "the egress policy refused a delivery connection; the event is not delivered to this address",
      );
    },
    undelivered: (route, event, last, deadLetter) => {
      const where = {
        vpn: route.vpn,
        subscription: fnName(route),
        function: fnName(route.subscription.function),
        id: event.attributes.id,
        url: last.endpoint?.url,
        status: outcomeLabel(last.outcome),
        attempts: last.attempts,
        cause: cause(last),
      };
      const dl = route.subscription.delivery.deadLetter;
      if (deadLetter === undefined || dl === undefined) {
        log.warn(where, "delivery failed and there is no dead-letter function; event dropped");
        return;
      }
      const dead = {
        deadLetterFunction: fnName(dl),
        deadLetterUrl: deadLetter.endpoint?.url,
        deadLetterStatus: outcomeLabel(deadLetter.outcome),
      };
      if (succeeded(deadLetter.outcome))
        log.warn({ ...where, ...dead }, "delivery failed; event handed to the dead-letter function");
      else
        log.error(
          { ...where, ...dead, deadLetterCause: cause(deadLetter) },
          "delivery failed and the dead-letter function refused the event too; event dropped",
        );
    },
  };
};
