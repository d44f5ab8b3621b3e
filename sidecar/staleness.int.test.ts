// A real gateway process on an etcd of this test's own that the test freezes (SIGSTOP): the
// frozen etcd shows in switchboard_gateway_config_staleness_seconds within a few seconds (one
// probe interval and a second's grace), long before the probes' deadlines give up on the watch,
// and the gauge returns to 0 once etcd goes on (SIGCONT).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type GatewayProcess, startGateway } from "../e2e/gateway.ts";
import { cleanup, uniqueName } from "../e2e/harness.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import { ownEtcd } from "../registry/testing/faults.ts";

const STALENESS = "switchboard_gateway_config_staleness_seconds";

const etcd = await ownEtcd();
await etcd.start();
const dir = mkdtempSync(join(repoRoot, ".work", "staleness-"));
let gateway: GatewayProcess | undefined;
cleanup(async () => {
  etcd.resume();
  await gateway?.proc.stop();
});
gateway = await startGateway({ etcd: etcd.url, clusterName: uniqueName("stale"), dir, name: "stale" });
const g = gateway;

/** Resolves with the gauge once `ok` holds (polled every 100 ms); rejects after `timeoutMs`. */
const staleness = (what: string, ok: (seconds: number) => boolean, timeoutMs: number): Promise<number> =>
  waitFor(
    what,
    async () => {
      const value = await g.metric(STALENESS);
      return value !== undefined && ok(value) ? value : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );

test("a frozen etcd shows in the staleness gauge within a few seconds, and 0 after it resumes", async () => {
  await staleness("staleness 0 while etcd answers", (s) => s === 0, 10_000);
  // Healthy: etcd answers every probe, so the gauge stays at 0 across several probe intervals.
  const healthyUntil = Date.now() + 5_000;
  while (Date.now() < healthyUntil) {
    assert.equal(await g.metric(STALENESS), 0, "no staleness while etcd answers");
    await delay(250); // pacing an observation window, not waiting for a condition
  }

  const frozenAt = Date.now();
  etcd.pause();
  // Probe interval 2 s + 1 s grace + the gauge's 1 s refresh: above 2.5 s well within 7 s.
  // (Before, it stayed 0 until a probe's 10 s deadline had passed.)
  const seen = await staleness("staleness above 2.5 s", (s) => s > 2.5, 7_000);
  const elapsed = (Date.now() - frozenAt) / 1000;
  assert.ok(seen <= elapsed + 2, `staleness ${seen} s is at most the time since etcd last answered`);
  await staleness("staleness growing while etcd is frozen", (s) => s > seen + 1, 5_000);

  etcd.resume();
  await staleness("staleness back to 0 after SIGCONT", (s) => s === 0, 30_000);
});
