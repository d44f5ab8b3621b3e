import assert from "node:assert/strict";
import { test } from "node:test";
import { type Outcome, parseRetryAfter, retryable, retryDelayMs, succeeded } from "./retry.ts";

test("the status table: what is retried and what is not", () => {
  const retried = [404, 408, 409, 429, 500, 502, 503, 504, 599];
  const final = [400, 401, 403, 405, 410, 413, 415, 422, 301, 302, 307, 308];
  for (const status of retried) assert.equal(retryable({ status }), true, String(status));
  for (const status of final) assert.equal(retryable({ status }), false, String(status));
  for (const error of ["timeout", "network", "no-endpoints", "overloaded"] as const)
    assert.equal(retryable({ error }), true, error);
  // The egress policy refuses that address every time: never retried.
  assert.equal(retryable({ error: "egress-denied", reason: "127.0.0.1:2379 is refused" }), false);
  assert.equal(succeeded({ status: 204 }), true);
  assert.equal(succeeded({ status: 302 } satisfies Outcome), false);
});

test("exponential and linear backoff are capped and jittered within [d/2, d]", () => {
  const exp = { policy: "exponential" as const, baseMs: 100, maxMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, exp, undefined, () => 1)),
    [100, 200, 400, 800, 1000],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => retryDelayMs(n, exp, undefined, () => 0)),
    [50, 100, 200],
  );
  const lin = { policy: "linear" as const, baseMs: 100, maxMs: 250 };
  assert.deepEqual(
    [1, 2, 3].map((n) => retryDelayMs(n, lin, undefined, () => 1)),
    [100, 200, 250],
  );
});

test("Retry-After wins when longer, within the cap", () => {
  const p = { policy: "exponential" as const, baseMs: 100, maxMs: 10_000 };
  assert.equal(
    retryDelayMs(1, p, 3000, () => 1),
    3000,
  );
  assert.equal(
    retryDelayMs(1, p, 50_000, () => 1),
    10_000,
  );
  assert.equal(
    retryDelayMs(1, p, 10, () => 1),
    100,
  );
});

test("Retry-After parses seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", Date.parse("2026-01-01T00:00:00Z")), 10_000);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});
