// What a delivery outcome means for retrying, and how long to wait (docs/architecture.md,
// "The data plane: one event's path", step 6).
// Retried: network errors, timeouts, 404, 408, 409, 429, 5xx. Never: 400, 401, 403, other 4xx,
// 3xx (redirects are never followed, so a redirect is a failure), and an egress refusal (the
// policy refuses that address every time).
import { backoffDelay } from "../../common/backoff.ts";

/** The result of one attempt: an HTTP status, or a failure before any status. */
export type Outcome =
  | { status: number; retryAfterMs?: number }
  | { error: "timeout" | "network" | "no-endpoints" | "overloaded" }
  /** A sync delivery whose publisher went away while it waited for a slot or a retry: nothing more is sent. */
  | { error: "abandoned" }
  /** The egress policy refused the connection; `reason` names the address and the rule. */
  | { error: "egress-denied"; reason: string };

/** Whether another attempt may succeed. */
export const retryable = (outcome: Outcome): boolean => {
  if ("error" in outcome) return outcome.error !== "egress-denied" && outcome.error !== "abandoned";
  const s = outcome.status;
  return s === 404 || s === 408 || s === 409 || s === 429 || s >= 500;
};

/** Whether the outcome is a success (2xx). */
export const succeeded = (outcome: Outcome): boolean =>
  "status" in outcome && outcome.status >= 200 && outcome.status < 300;

/** A label for metrics and dead-letter extensions: the status code, or the error kind. */
export const outcomeLabel = (outcome: Outcome): string =>
  "error" in outcome ? outcome.error : String(outcome.status);

export interface BackoffPolicy {
  policy: "exponential" | "linear";
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before retry number `retry` (1 = the first retry): exponential (base × 2^(n−1)) or
 * linear (base × n), capped at maxMs, with full jitter on the upper half ([d/2, d]) so a burst of
 * failures does not retry in lockstep. A Retry-After from the function wins when it is longer
 * (capped at maxMs as well).
 */
export const retryDelayMs = (
  retry: number,
  p: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number => {
  const linear = Math.min(p.baseMs * retry, p.maxMs);
  const jittered =
    p.policy === "exponential"
      ? backoffDelay(retry, p.baseMs, p.maxMs, random)
      : linear / 2 + (linear / 2) * random();
  return retryAfterMs === undefined
    ? Math.round(jittered)
    : Math.round(Math.min(Math.max(jittered, retryAfterMs), p.maxMs));
};

/** Parses a Retry-After header (delta-seconds or an HTTP date) into milliseconds from `now`. */
export const parseRetryAfter = (value: string | null | undefined, now = Date.now()): number | undefined => {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};
