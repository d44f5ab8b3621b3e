// The gateway's Prometheus metrics, on an injected registry. Label sets are bounded: VPN names
// (few), outcome kinds, status classes.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registerBuildInfo } from "../common/build-info.ts";
import { type HotCounter, type HotHistogram, hotCounter, hotHistogram } from "../common/hot-metrics.ts";

export interface GatewayMetrics {
  /** Counted on every request and delivery: in plain numbers, added on collect (common/hot-metrics.ts). */
  eventsReceived: HotCounter<"vpn" | "result">;
  deliveries: HotCounter<"mode" | "outcome">;
  attempts: HotCounter<"result">;
  deadLetters: Counter<"outcome">;
  deadLetterBacklog: Gauge<"vpn">;
  deliverySeconds: HotHistogram<"mode">;
  queueEvents: Gauge;
  queueBytes: Gauge;
  configRevision: Gauge;
  configStaleness: ReadGauge;
  watchRestarts: Counter<"reason">;
  watchResumes: Counter<"reason">;
  registrySyncSeconds: Histogram;
  invalidRecords: Counter;
  logCorruptions: Counter;
  logBytes: ReadGaugeByLabel;
  logState: ReadGaugeByLabel;
  clusterAvailable: Gauge<"cluster">;
  requestsRefused: Counter<"reason">;
  openConnections: Gauge;
  inflightBodyBytes: ReadGauge;
  requestsInProgress: ReadGauge;
  idleCollections: Counter;
  mallocTrims: Counter;
  mallocTrimReleased: Counter;
  mallocTrimSeconds: Counter;
  memoryPressure: Gauge;
}

const MODE = { sync: { mode: "sync" }, async: { mode: "async" } } as const;

/** Observes a delivery of `mode` that started at `started` (performance.now()): no timer object per delivery, as startTimer makes. */
export const observeDelivery = (metrics: GatewayMetrics, mode: "sync" | "async", started: number): void =>
  metrics.deliverySeconds.observe(MODE[mode], (performance.now() - started) / 1000);

/** A gauge whose value is read when the metrics are collected (a scrape), from what `from` gave it last (0 before): nothing to set per request. */
export interface ReadGauge {
  from(read: () => number): void;
}

const readGauge = (config: { name: string; help: string; registers: Registry[] }): ReadGauge => {
  let read = (): number => 0;
  new Gauge({
    ...config,
    collect() {
      this.set(read());
    },
  });
  return {
    from: (r) => {
      read = r;
    },
  };
};

/** A gauge of one label whose values are read when the metrics are collected: `read` gives each label value's number (none before `from`). */
export interface ReadGaugeByLabel {
  from(read: () => Readonly<Record<string, number>>): void;
}

const readGaugeByLabel = (config: {
  name: string;
  help: string;
  label: string;
  registers: Registry[];
}): ReadGaugeByLabel => {
  let read = (): Readonly<Record<string, number>> => ({});
  const { label, ...rest } = config;
  new Gauge({
    ...rest,
    labelNames: [label],
    collect() {
      for (const [value, n] of Object.entries(read())) this.set({ [label]: value }, n);
    },
  });
  return {
    from: (r) => {
      read = r;
    },
  };
};

/** Registers the gateway's metrics on `registry`. */
export const createGatewayMetrics = (registry: Registry): GatewayMetrics => {
  registerBuildInfo(registry);
  const registers = [registry];
  return {
    eventsReceived: hotCounter({
      name: "switchboard_gateway_events_received_total",
      help: "Events received by VPN and result (accepted, unrouted, rejected, rate_limited, overloaded).",
      labelNames: ["vpn", "result"] as const,
      registers,
    }),
    deliveries: hotCounter({
      name: "switchboard_gateway_deliveries_total",
      help: "Finished deliveries by mode and outcome (delivered, failed, dead_lettered, dropped, abandoned at shutdown).",
      labelNames: ["mode", "outcome"],
      registers,
    }),
    attempts: hotCounter({
      name: "switchboard_gateway_delivery_attempts_total",
      help: "Delivery attempts by result (2xx, 3xx, 4xx, 5xx, timeout, network, no-endpoints, egress-denied: refused by the egress policy).",
      labelNames: ["result"],
      registers,
    }),
    deadLetters: new Counter({
      name: "switchboard_gateway_dead_letters_total",
      help: "Events whose retries ran out, by what happened next (delivered, failed: to the dead-letter function; dropped: no dead-letter function; kept: in the JetStream dead-letter stream only).",
      labelNames: ["outcome"],
      registers,
    }),
    deadLetterBacklog: new Gauge({
      name: "switchboard_gateway_dead_letter_backlog",
      help: "Dead letters kept in a VPN's JetStream dead-letter stream (--durability jetstream), awaiting a redrive or their age limit; every gateway reports the same stream.",
      labelNames: ["vpn"],
      registers,
    }),
    deliverySeconds: hotHistogram({
      name: "switchboard_gateway_delivery_duration_seconds",
      help: "Time from accepting an event to the end of its delivery (all attempts).",
      labelNames: ["mode"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    queueEvents: new Gauge({
      name: "switchboard_gateway_queue_events",
      help: "Async events held (waiting, in flight or awaiting a retry).",
      registers,
    }),
    queueBytes: new Gauge({
      name: "switchboard_gateway_queue_bytes",
      help: "Bytes of async events held.",
      registers,
    }),
    configRevision: new Gauge({
      name: "switchboard_gateway_config_revision",
      help: "etcd revision of the routing table in use.",
      registers,
    }),
    configStaleness: readGauge({
      name: "switchboard_gateway_config_staleness_seconds",
      help: "Seconds since the registry watch was last known to be current (0 while connected).",
      registers,
    }),
    watchRestarts: new Counter({
      name: "switchboard_gateway_watch_restarts_total",
      help: "Registry watch restarts (re-list and resync) by reason.",
      labelNames: ["reason"],
      registers,
    }),
    watchResumes: new Counter({
      name: "switchboard_gateway_watch_resumes_total",
      help: "Registry watches replaced by a new watch from the last applied revision, without a re-list, by reason.",
      labelNames: ["reason"],
      registers,
    }),
    registrySyncSeconds: new Histogram({
      name: "switchboard_gateway_registry_sync_seconds",
      help: "Time of each full registry sync (the first load and each resync): listing every key, diffing it against the last snapshot, building and swapping the routing table.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    invalidRecords: new Counter({
      name: "switchboard_gateway_invalid_records_total",
      help: "Registry records that failed validation and were ignored.",
      registers,
    }),
    clusterAvailable: new Gauge({
      name: "switchboard_gateway_cluster_available",
      help: "1 while a cluster's heartbeat lease is alive (this gateway's own cluster always), 0 after it expired.",
      labelNames: ["cluster"],
      registers,
    }),
    logCorruptions: new Counter({
      name: "switchboard_gateway_delivery_log_corruptions_total",
      help: "Torn or corrupt records found in the delivery log at start (truncated or skipped, never replayed).",
      registers,
    }),
    logBytes: readGaugeByLabel({
      name: "switchboard_gateway_delivery_log_bytes",
      help: "Delivery log size: live (records of undelivered events, what --data-max-bytes caps) and disk (segment files).",
      label: "kind",
      registers,
    }),
    logState: readGaugeByLabel({
      name: "switchboard_gateway_delivery_log_state",
      help: "1 for the delivery log's current state (ok, full, failing), 0 for the others.",
      label: "state",
      registers,
    }),
    requestsRefused: new Counter({
      name: "switchboard_gateway_requests_refused_total",
      help: "Requests refused with 503 overloaded before their body was read, by the budget that was full (connections, gateway_bytes, vpn_bytes; memory: --memory-shed-at).",
      labelNames: ["reason"],
      registers,
    }),
    openConnections: new Gauge({
      name: "switchboard_gateway_open_connections",
      help: "Connections open on the ingress (--max-connections bounds them).",
      registers,
    }),
    inflightBodyBytes: readGauge({
      name: "switchboard_gateway_inflight_body_bytes",
      help: "Request-body bytes reserved by requests in progress (--max-inflight-bytes bounds them).",
      registers,
    }),
    requestsInProgress: readGauge({
      name: "switchboard_gateway_requests_in_progress",
      help: "Ingress requests admitted and not yet answered (sync ones wait for the function's answer); under memory pressure new requests are admitted only below half of what was in progress when it began.",
      registers,
    }),
    idleCollections: new Counter({
      name: "switchboard_gateway_idle_collections_total",
      help: "Full garbage collections run because the gateway went quiet after its heap grew (--idle-reclaim).",
      registers,
    }),
    mallocTrims: new Counter({
      name: "switchboard_gateway_malloc_trims_total",
      help: "Times glibc was asked to give the free memory in its arenas back (--malloc-trim).",
      registers,
    }),
    mallocTrimReleased: new Counter({
      name: "switchboard_gateway_malloc_trim_released_bytes_total",
      help: "Resident memory the process had less after each --malloc-trim call than before it (other threads allocate meanwhile: a lower bound).",
      registers,
    }),
    mallocTrimSeconds: new Counter({
      name: "switchboard_gateway_malloc_trim_seconds_total",
      help: "Time the --malloc-trim calls took on libuv's pool threads, from start to answer (the event loop does not run them, but a malloc on it waits while the arena it uses is trimmed).",
      registers,
    }),
    memoryPressure: new Gauge({
      name: "switchboard_gateway_memory_pressure",
      help: "1 while the working set is past --memory-shed-at of the container's memory limit and requests beyond those admitted are refused; else 0.",
      registers,
    }),
  };
};

/** The status-class label of an attempt result. */
export const attemptLabel = (label: string): string => (/^\d{3}$/.test(label) ? `${label[0]}xx` : label);
