// The operator's Prometheus metrics, on an injected registry (never the global one).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registerBuildInfo } from "../common/build-info.ts";

export interface OperatorMetrics {
  reconciles: Counter<"kind" | "result">;
  reconcileSeconds: Histogram<"kind">;
  queueDepth: Gauge<"kind">;
  registryWrites: Counter<"kind" | "result">;
  registryRepairs: Counter<"kind">;
  informerRestarts: Counter<"resource">;
  isLeader: Gauge;
  kubeWriteWait: Counter;
}

/** Registers the operator's metrics on `registry`. */
export const createOperatorMetrics = (registry: Registry): OperatorMetrics => {
  registerBuildInfo(registry);
  return {
    reconciles: new Counter({
      name: "switchboard_operator_reconciles_total",
      help: "Reconciles by kind and result (success, requeue, error, terminal).",
      labelNames: ["kind", "result"],
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: "switchboard_operator_reconcile_duration_seconds",
      help: "Time spent in one reconcile.",
      labelNames: ["kind"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "switchboard_operator_queue_depth",
      help: "Keys waiting in the work queue, by kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    registryWrites: new Counter({
      name: "switchboard_operator_registry_writes_total",
      help: "Registry writes by record kind and result (created, updated, unchanged, deleted, absent, error).",
      labelNames: ["kind", "result"],
      registers: [registry],
    }),
    registryRepairs: new Counter({
      name: "switchboard_operator_registry_repairs_total",
      help: "Registry records of this cluster changed, deleted or added behind the operator's back and restored, by record kind (vpn, function, subscription).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: "switchboard_operator_informer_restarts_total",
      help: "Informer restarts after an error or a stalled watch, by resource.",
      labelNames: ["resource"],
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: "switchboard_operator_leader",
      help: "1 while this replica holds the leader Lease.",
      registers: [registry],
    }),
    kubeWriteWait: new Counter({
      name: "switchboard_operator_kube_write_wait_seconds_total",
      help: "Seconds writes to the API server waited for --kube-write-qps.",
      registers: [registry],
    }),
  };
};
