// The process metrics: the gateway's are every one of prom-client's default metrics but
// nodejs_gc_duration_seconds, under the same names and types as collectDefaultMetrics registers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectDefaultMetrics, Registry } from "prom-client";
import { collectGatewayProcessMetrics, collectProcessMetrics, GATEWAY_DEFAULTS } from "./metrics.ts";

const described = async (registry: Registry): Promise<string[]> =>
  (await registry.getMetricsAsJSON()).map((m) => `${m.name} ${m.type}`).sort();

test("the gateway's: every default metric of prom-client but nodejs_gc_duration_seconds, the lag its own", async () => {
  // Its modules but two: the GC histogram, left out, and the event-loop lag, sampled by its own.
  assert.equal(GATEWAY_DEFAULTS.length, collectDefaultMetrics.metricsList.length - 2);
  const all = new Registry();
  collectProcessMetrics(all);
  const lean = new Registry();
  const lag = collectGatewayProcessMetrics(lean);
  lag.start();
  try {
    const expected = (await described(all)).filter((m) => !m.startsWith("nodejs_gc_duration_seconds "));
    assert.ok(expected.length < (await described(all)).length, "the full set has the GC histogram");
    assert.deepEqual(await described(lean), expected);
    assert.ok(expected.includes("process_cpu_user_seconds_total counter"));
    assert.ok(expected.includes("nodejs_eventloop_lag_p99_seconds gauge"));
  } finally {
    lag.stop();
  }
});
