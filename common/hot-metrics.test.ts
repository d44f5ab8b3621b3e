// The hot counter and histogram scrape exactly as prom-client's Counter and Histogram fed the same
// increments and observations, across label sets first seen before and after a scrape; bad values
// and unknown labels are refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { hotCounter, hotHistogram } from "./hot-metrics.ts";

const pair = () => {
  const hotRegistry = new Registry();
  const plainRegistry = new Registry();
  const config = { name: "events_total", help: "Events.", labelNames: ["vpn", "result"] as const };
  const hot = hotCounter({ ...config, registers: [hotRegistry] });
  const plain = new Counter({ ...config, labelNames: [...config.labelNames], registers: [plainRegistry] });
  const inc = (labels: { vpn: string; result: string }, value?: number): void => {
    hot.inc(labels, value);
    plain.inc(labels, value);
  };
  const scrapes = async (): Promise<[string, string]> => [
    await hotRegistry.metrics(),
    await plainRegistry.metrics(),
  ];
  return { hot, inc, scrapes };
};

test("a counter scrapes what a prom-client Counter fed the same increments scrapes", async () => {
  const { inc, scrapes } = pair();
  inc({ vpn: "a", result: "accepted" });
  inc({ vpn: "a", result: "accepted" }, 5);
  inc({ vpn: "a", result: "rejected" }, 2);
  inc({ vpn: "b", result: "accepted" }, 0);
  const [hot1, plain1] = await scrapes();
  assert.equal(hot1, plain1);
  assert.match(hot1, /events_total\{vpn="a",result="accepted"\} 6\n/);
  assert.match(hot1, /events_total\{vpn="b",result="accepted"\} 0\n/);
  // After a scrape: the pending counts start again from zero and add to what was scraped.
  inc({ vpn: "a", result: "accepted" }, 3);
  inc({ vpn: "c", result: "unrouted" });
  inc({ vpn: "b", result: "rejected" }, 0.5);
  const [hot2, plain2] = await scrapes();
  assert.equal(hot2, plain2);
  assert.match(hot2, /events_total\{vpn="a",result="accepted"\} 9\n/);
  // A scrape with nothing pending changes nothing.
  const [hot3] = await scrapes();
  assert.equal(hot3, hot2);
});

test("a counter's get() includes what is pending", async () => {
  const { hot, inc } = pair();
  inc({ vpn: "a", result: "accepted" }, 4);
  const { values } = await hot.get();
  assert.deepEqual(
    values.map((v: { labels: object; value: number }) => [v.labels, v.value]),
    [[{ vpn: "a", result: "accepted" }, 4]],
  );
});

test("a counter refuses negative, NaN and infinite increments, and labels the counter does not have", () => {
  const { hot } = pair();
  for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(() => hot.inc({ vpn: "a", result: "accepted" }, value), /finite, non-negative/);
  assert.throws(
    () => hot.inc({ vpn: "a", result: "accepted", extra: "x" } as unknown as { vpn: string; result: string }),
    /label/i,
  );
});

const histograms = () => {
  const hotRegistry = new Registry();
  const plainRegistry = new Registry();
  const config = {
    name: "duration_seconds",
    help: "Durations.",
    labelNames: ["mode"] as const,
    buckets: [0.001, 0.01, 0.5, 1],
  };
  const hot = hotHistogram({ ...config, registers: [hotRegistry] });
  const plain = new Histogram({ ...config, labelNames: [...config.labelNames], registers: [plainRegistry] });
  const observe = (mode: string, value: number): void => {
    hot.observe({ mode }, value);
    plain.observe({ mode }, value);
  };
  const scrapes = async (): Promise<[string, string]> => [
    await hotRegistry.metrics(),
    await plainRegistry.metrics(),
  ];
  return { hot, observe, scrapes, hotRegistry };
};

test("a histogram scrapes what a prom-client Histogram fed the same observations scrapes", async () => {
  const { observe, scrapes } = histograms();
  // On a bound, between bounds, below the first and above the last.
  for (const v of [0.001, 0.0005, 0.002, 0.01, 0.3, 0.5, 1, 7, 0]) observe("sync", v);
  observe("async", 0.02);
  const [hot1, plain1] = await scrapes();
  assert.equal(hot1, plain1);
  assert.match(hot1, /duration_seconds_bucket\{le="0.001",mode="sync"\} 3\n/);
  assert.match(hot1, /duration_seconds_bucket\{le="\+Inf",mode="sync"\} 9\n/);
  assert.match(hot1, /duration_seconds_count\{mode="async"\} 1/);
  observe("sync", 0.004);
  observe("retry", 2);
  const [hot2, plain2] = await scrapes();
  assert.equal(hot2, plain2);
});

test("a histogram refuses values that are not finite numbers and labels it does not have; reset empties it", async () => {
  const { hot, observe, hotRegistry } = histograms();
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(() => hot.observe({ mode: "sync" }, value), /not a finite number/);
  assert.throws(
    () => hot.observe({ mode: "sync", extra: "x" } as unknown as { mode: string }, 1),
    /label "extra" is not included/,
  );
  observe("sync", 0.3);
  hotRegistry.resetMetrics();
  assert.match(await hotRegistry.metrics(), /duration_seconds_count\{mode="sync"\} 0\n/);
});
