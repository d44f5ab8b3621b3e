// The process metrics: without the GC histogram, every one of prom-client's default metrics but
// nodejs_gc_duration_seconds, under the same names and types as collectDefaultMetrics registers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectDefaultMetrics, Registry } from "prom-client";
import { collectProcessMetrics, WITHOUT_GC } from "./metrics.ts";

const described = async (registry: Registry): Promise<string[]> =>
  (await registry.getMetricsAsJSON()).map((m) => `${m.name} ${m.type}`).sort();

test("without GC: every default metric of prom-client but nodejs_gc_duration_seconds", async () => {
  assert.equal(WITHOUT_GC.length, collectDefaultMetrics.metricsList.length - 1);
  const all = new Registry();
  collectProcessMetrics(all, { gc: true });
  const lean = new Registry();
  collectProcessMetrics(lean, { gc: false });
  const expected = (await described(all)).filter((m) => !m.startsWith("nodejs_gc_duration_seconds "));
  assert.ok(expected.length < (await described(all)).length, "the full set has the GC histogram");
  assert.deepEqual(await described(lean), expected);
  assert.ok(expected.includes("process_cpu_user_seconds_total counter"));
  assert.ok(expected.includes("nodejs_eventloop_lag_p99_seconds gauge"));
});
