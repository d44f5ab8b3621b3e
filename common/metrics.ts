// What both programs' default metrics share.
/// <reference path="./prom-client-parts.d.ts" />
import { collectDefaultMetrics, type Registry } from "prom-client";
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
import { EVENT_LOOP_SAMPLE_MS, type SampledEventLoopLag, sampledEventLoopLag } from "./event-loop-lag.ts";

/**
 * prom-client's default metrics (process_*, nodejs_*) on `registry`, as collectDefaultMetrics
 * registers them, the event-loop lag histogram sampling every EVENT_LOOP_SAMPLE_MS (the operator's).
 */
export const collectProcessMetrics = (registry: Registry): void =>
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

/**
 * The same metrics for the gateway, but its GC histogram, nodejs_gc_duration_seconds, and with the
 * event-loop lag sampled only while it has work (common/event-loop-lag.ts; returned, for the
 * ingress to say when work arrives). The GC histogram watches every collection through a
 * PerformanceObserver, and for each one Node 24 builds a PerformanceEntry with two deprecated
 * accessors per detail (DEP0152, util.deprecate called per entry) and dispatches it from a
 * setImmediate: 0.8 % of a gateway's CPU in a closed loop, where its young generation is
 * collected every few hundred requests (bench/cost.ts --profiles, the GC observer's frames). The
 * gateway leaves it out (docs/observability.md); pauses still show in nodejs_eventloop_lag_*.
 * collectDefaultMetrics has no way to leave one out, so its modules are called by path, as it
 * calls them (common/metrics.test.ts checks the set against its metricsList).
 */
export const collectGatewayProcessMetrics = (registry: Registry): SampledEventLoopLag => {
  for (const register of GATEWAY_DEFAULTS) register(registry, {});
  return sampledEventLoopLag(registry);
};

/** prom-client's default metric modules in collectDefaultMetrics's order, but `gc` and `eventLoopLag` (the gateway's own above). */
export const GATEWAY_DEFAULTS = [
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
] as const;
