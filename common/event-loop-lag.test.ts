// The event-loop lag figures: a blocked loop shows in them while sampling, and a scrape window
// without a sample (sampling stopped while the gateway is quiet) reads 0, not NaN or 2^63 ns.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { sampledEventLoopLag } from "./event-loop-lag.ts";

const lagFigures = async (registry: Registry): Promise<Record<string, number>> => {
  const figures: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON())
    figures[metric.name] = Number(metric.values[0]?.value ?? Number.NaN);
  return figures;
};

test("a blocked loop shows in the lag figures; a window without samples reads 0", async (t) => {
  const registry = new Registry();
  const lag = sampledEventLoopLag(registry, 10);
  lag.start();
  t.after(lag.stop);
  assert.equal(lag.sampling(), true);
  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  // libuv runs due timers in order: the sampler's tick (due in 10 ms) before this one (15 ms).
  // Its first tick only marks the time; the next one, held up by the block, records the delay.
  await later(15);
  const until = performance.now() + 60;
  while (performance.now() < until); // the loop blocked for 60 ms
  await later(15);
  const blocked = await lagFigures(registry);
  assert.ok((blocked.nodejs_eventloop_lag_max_seconds ?? 0) >= 0.06, JSON.stringify(blocked));
  assert.ok((blocked.nodejs_eventloop_lag_min_seconds ?? 0) > 0);

  lag.stop(); // as a quiet check does
  assert.equal(lag.sampling(), false);
  await lagFigures(registry);
  const quiet = await lagFigures(registry);
  for (const figure of ["min", "max", "mean", "stddev", "p50", "p90", "p99"])
    assert.equal(quiet[`nodejs_eventloop_lag_${figure}_seconds`], 0, figure);
});
