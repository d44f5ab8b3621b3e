import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../common/backoff.ts";
import { silentLogger } from "../../common/log.ts";
import { waitFor } from "../../e2e/proc.ts";
import { REGISTRY_PREFIX } from "../keys.ts";
import { captureLog } from "../testing/watcher.ts";
import { httpRegistryClient } from "./clients/http/index.ts";
import { createRegistryWatcher, staleness } from "./index.ts";

test("backoff doubles from the base up to the cap, with jitter in the upper half", () => {
  const low = (attempt: number) => backoffDelay(attempt, 100, 1_000, () => 0);
  const high = (attempt: number) => backoffDelay(attempt, 100, 1_000, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(low), [50, 100, 200, 400, 500, 500]);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(high), [100, 200, 400, 800, 1_000, 1_000]);
  assert.equal(high(10_000), 1_000, "no overflow for long outages");
});

test("a prefix outside the registry is refused; nothing is listed before run()", async () => {
  const client = httpRegistryClient({ endpoints: ["http://127.0.0.1:1"] });
  try {
    assert.throws(() => createRegistryWatcher({ client, log: silentLogger(), prefix: "/other/" }), TypeError);
    const watcher = createRegistryWatcher({ client, log: silentLogger(), prefix: `${REGISTRY_PREFIX}vpns/` });
    assert.equal(watcher.current(), undefined);
    assert.deepEqual(watcher.status(), {
      revision: 0,
      lastAppliedModRevision: 0,
      connected: false,
      lastContactAt: 0,
      stalenessMs: 0,
      restarts: 0,
      invalidRecords: 0,
      failing: undefined,
    });
  } finally {
    await client.close();
  }
});

test("run() keeps retrying an unreachable etcd, logging each attempt with its number, wait and what failed, until aborted; then ready rejects", async () => {
  const client = httpRegistryClient({ endpoints: ["http://127.0.0.1:1"] });
  const { log, entries } = captureLog();
  const watcher = createRegistryWatcher({ client, log, baseBackoffMs: 5, maxBackoffMs: 20 });
  const abort = new AbortController();
  const run = watcher.run(abort.signal);
  await assert.rejects(watcher.run(new AbortController().signal), /already running/);
  const warnings = () => entries().filter((e) => e.level === 40);
  await waitFor("three failed attempts", async () => (warnings().length >= 3 ? true : undefined), {
    intervalMs: 10,
  });
  abort.abort();
  await run;
  const attempts = warnings().map((e) => e.attempt);
  assert.deepEqual(
    attempts,
    attempts.map((_, i) => i + 1),
    "every attempt is logged, numbered",
  );
  assert.equal(warnings()[0]?.msg, "registry not listed yet; retrying");
  assert.equal(warnings()[1]?.msg, "registry still unreachable; retrying");
  for (const w of warnings()) {
    assert.ok(typeof w.retryInMs === "number" && w.retryInMs <= 20, `backoff within the cap: ${w.retryInMs}`);
    assert.match(String(w.reason), /^list failed: /);
  }
  assert.match(String(watcher.status().failing), /^list failed: /);
  await assert.rejects(watcher.ready, /stopped before listing/);
  assert.equal(watcher.status().connected, false);
  await client.close();
});

test("staleness is 0 while etcd answers within a probe interval, then the whole silence", () => {
  const connected = { connected: true, lastContactAt: 10_000 };
  assert.equal(staleness(connected, 2_000, 12_900), 0, "a probe answer is due; a second's grace");
  assert.equal(staleness(connected, 2_000, 13_500), 3_500, "overdue: all the time since the last answer");
  assert.equal(staleness({ connected: false, lastContactAt: 10_000 }, 2_000, 10_400), 400);
  assert.equal(staleness({ connected: false, lastContactAt: 0 }, 2_000, 10_400), 0, "never listed");
});
