// The event-loop lag metrics (nodejs_eventloop_lag_*, prom-client's names, help and types),
// sampled only while the gateway has work (a job of common/while-busy.ts). prom-client samples
// with a timer of its own every EVENT_LOOP_SAMPLE_MS for the life of the process, and
// collectDefaultMetrics cannot stop it.
// Between two scrapes with no sample, the lag gauges read 0: no callback was late, none was due.
// nodejs_eventloop_lag_seconds is prom-client's too: the delay of a setImmediate queued at each
// scrape, read at the next one.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";
import type { BusyJob } from "./while-busy.ts";

/**
 * How often the lag histogram samples while it samples, in ms. prom-client's default, 10 ms, woke
 * an idle process 100 times a second (1.0 % of a core against 0.2 % at 100 ms, bench/sync-hop.ts's
 * idle figure). Each sample still measures the lag to the nanosecond; there are only fewer of them.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export interface SampledEventLoopLag extends BusyJob {
  /** Whether the histogram samples now. */
  sampling(): boolean;
}

const SUMMARY = [
  ["min", "The minimum recorded event loop delay."],
  ["max", "The maximum recorded event loop delay."],
  ["mean", "The mean of the recorded event loop delays."],
  ["stddev", "The standard deviation of the recorded event loop delays."],
  ["p50", "The 50th percentile of the recorded event loop delays."],
  ["p90", "The 90th percentile of the recorded event loop delays."],
  ["p99", "The 99th percentile of the recorded event loop delays."],
] as const;

type Figure = (typeof SUMMARY)[number][0];

/** Registers nodejs_eventloop_lag_* on `registry`, sampling between start and stop (see the top of this file). */
export const sampledEventLoopLag = (
  registry: Registry,
  resolutionMs = EVENT_LOOP_SAMPLE_MS,
): SampledEventLoopLag => {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  let on = false;
  const start = (): void => {
    if (on) return;
    histogram.enable();
    on = true;
  };
  const stop = (): void => {
    if (!on) return;
    histogram.disable();
    on = false;
  };

  const summarize = (): void => {
    // An empty histogram's min is 2^63 and its mean NaN: a window without a sample reads 0.
    const any = histogram.count > 0;
    const seconds = (ns: number): number => (any ? ns / 1e9 : 0);
    gauges.min.set(seconds(histogram.min));
    gauges.max.set(seconds(histogram.max));
    gauges.mean.set(seconds(histogram.mean));
    gauges.stddev.set(seconds(histogram.stddev));
    gauges.p50.set(seconds(histogram.percentile(50)));
    gauges.p90.set(seconds(histogram.percentile(90)));
    gauges.p99.set(seconds(histogram.percentile(99)));
    histogram.reset();
  };
  const lag = new Gauge({
    name: "nodejs_eventloop_lag_seconds",
    help: "Lag of event loop in seconds.",
    registers: [registry],
    // As prom-client: this one metric's collect sets every lag metric's value.
    collect() {
      const queued = process.hrtime.bigint();
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - queued) / 1e9));
      summarize();
    },
  });
  // Registered after `lag`, as prom-client does: a scrape reads them after lag's collect set them.
  const gauges = {} as Record<Figure, Gauge>;
  for (const [figure, help] of SUMMARY)
    gauges[figure] = new Gauge({
      name: `nodejs_eventloop_lag_${figure}_seconds`,
      help,
      registers: [registry],
    });

  return { start, stop, sampling: () => on };
};
