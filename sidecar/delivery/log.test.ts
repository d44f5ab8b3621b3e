import assert from "node:assert/strict";
import { test } from "node:test";
import { captureLog } from "../../registry/testing/watcher.ts";
import { buildRoutingTable } from "../routing/index.ts";
import { eventOf, functionRecord, snapshotOf, subscriptionRecord } from "../testing/routing.ts";
import { createDeliveryLog } from "./log.ts";

const table = buildRoutingTable(
  snapshotOf([
    functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
    subscriptionRecord({ name: "plain" }),
    subscriptionRecord(
      { name: "guarded" },
      {
        delivery: {
          retry: 2,
          backoffPolicy: "exponential",
          backoffDelayMs: 10,
          maxBackoffMs: 100,
          deadLetter: { namespace: "team", name: "dl" },
        },
      },
    ),
  ]),
);
const plain = table.route("blue", "team", "plain");
const guarded = table.route("blue", "team", "guarded");
const endpoint = { url: "http://10.0.0.1:8080/fn", cluster: "east", remote: false };

test("retries are logged once per function per 10 s, with the count of those not logged", () => {
  assert.ok(plain);
  let now = 0;
  const { log, entries } = captureLog();
  const dlog = createDeliveryLog(log, () => now);
  const failed = { outcome: { status: 503 }, attempts: 1, endpoint };
  for (let i = 0; i < 1000; i++) dlog.retry(plain, undefined, eventOf({ id: `e${i}` }), failed, 50);
  now = 10_000;
  dlog.retry(plain, undefined, eventOf({ id: "late" }), failed, 50);
  const lines = entries();
  assert.equal(lines.length, 2, "1001 retries, two lines");
  assert.deepEqual(
    lines.map((l) => [l.level, l.id, l.otherRetries, l.status, l.url, l.function, l.subscription]),
    [
      [30, "e0", 0, "503", endpoint.url, "team/fn", "team/plain"],
      [30, "late", 999, "503", endpoint.url, "team/fn", "team/plain"],
    ],
  );
});

test("each undelivered event is logged once at warn with URL, status and cause; error when the dead-letter function refused it too", () => {
  assert.ok(plain && guarded);
  const { log, entries } = captureLog();
  const dlog = createDeliveryLog(log);
  dlog.undelivered(plain, eventOf({ id: "a" }), { outcome: { status: 400 }, attempts: 1, endpoint });
  const exhausted = { outcome: { error: "timeout" as const }, attempts: 3, endpoint };
  dlog.undelivered(guarded, eventOf({ id: "b" }), exhausted, {
    outcome: { status: 202 },
    attempts: 1,
    endpoint,
  });
  dlog.undelivered(guarded, eventOf({ id: "c" }), exhausted, {
    outcome: { error: "no-endpoints" },
    attempts: 3,
    endpoint: undefined,
  });
  assert.deepEqual(
    entries().map((l) => [l.level, l.id, l.url, l.status, l.cause, l.deadLetterStatus, l.deadLetterCause]),
    [
      [40, "a", endpoint.url, "400", "status 400 is not retried", undefined, undefined],
      [40, "b", endpoint.url, "timeout", "retries exhausted after 3 attempts", "202", undefined],
      [
        50,
        "c",
        endpoint.url,
        "timeout",
        "retries exhausted after 3 attempts",
        "no-endpoints",
        "the function has no ready endpoint",
      ],
    ],
  );
});
