// Types of prom-client's default-metric modules that common/metrics.ts imports by path (it says
// why): each exports one function that registers its metrics on a registry, as prom-client's
// collectDefaultMetrics calls it.
declare module "prom-client/lib/metrics/*.js" {
  import type { Registry } from "prom-client";

  const register: (registry: Registry, config: { eventLoopMonitoringPrecision?: number }) => void;
  export = register;
}
