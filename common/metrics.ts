// What both programs' default metrics share.
/// <reference path="./prom-client-parts.d.ts" />
import { collectDefaultMetrics, type Registry } from "prom-client";
import eventLoopLag from "prom-client/lib/metrics/eventLoopLag.js";
import heapSizeAndUsed from "prom-client/lib/metrics/heapSizeAndUsed.js";
import heapSpacesSizeAndUsed from "prom-client/lib/metrics/heapSpacesSizeAndUsed.js";
import osMemoryHeap from "prom-client/lib/metrics/osMemoryHeap.js";
import processCpuTotal from "prom-client/lib/metrics/processCpuTotal.js";
import processHandles from "prom-client/lib/metrics/processHandles.js";
import processMaxFileDescriptors from "prom-client/lib/metrics/processMaxFileDescriptors.js";
import processOpenFileDescriptors from "prom-client/lib/metrics/processOpenFileDescriptors.js";
import processRequests from "prom-client/lib/metrics/processRequests.js";
import processResources from "prom-client/lib/metrics/processResources.js";
import processStartTime from "prom-client/lib/metrics/processStartTime.js";
import version from "prom-client/lib/metrics/version.js";

/**
 * How often prom-client's event-loop lag histogram samples (nodejs_eventloop_lag_*), in ms. Its
 * default, 10 ms, wakes an idle process 100 times a second: 80 % of an idle gateway's CPU (1.0 % of
 * a core against 0.2 % at 100 ms, measured with bench/sync-hop.ts's idle figure). Each sample still
 * measures the lag to the nanosecond; there are only fewer of them.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's default metrics (process_*, nodejs_*) on `registry`; with `gc: false`, all but
 * its GC histogram, nodejs_gc_duration_seconds. That histogram watches every collection through a
 * PerformanceObserver, and for each one Node 24 builds a PerformanceEntry with two deprecated
 * accessors per detail (DEP0152, util.deprecate called per entry) and dispatches it from a
 * setImmediate: 0.8 % of a gateway's CPU in a closed loop, where its young generation is
 * collected every few hundred requests (bench/cost.ts --profiles, the GC observer's frames). The
 * gateway leaves it out (docs/observability.md); pauses still show in nodejs_eventloop_lag_*.
 * collectDefaultMetrics has no way to leave one out, so its modules are called by path, as it
 * calls them (common/metrics.test.ts checks the set against its metricsList).
 */
export const collectProcessMetrics = (registry: Registry, { gc }: { gc: boolean }): void => {
  const config = { eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS };
  if (gc) {
    collectDefaultMetrics({ register: registry, ...config });
    return;
  }
  for (const register of WITHOUT_GC) register(registry, config);
};

/** prom-client's default metric modules in collectDefaultMetrics's order, but `gc`. */
export const WITHOUT_GC = [
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
] as const;
