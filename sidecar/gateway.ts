// The gateway's parts wired together: the registry watcher feeds routing tables (rebuilt once
// per batch of snapshots, swapped atomically); the ingress app reads the current table only.
import type { AdminRoutes } from "../common/admin.ts";
import type { Logger } from "../common/log.ts";
import type { Keyring } from "../registry/seal/index.ts";
import type { RegistrySnapshot } from "../registry/snapshot.ts";
import type { RegistryClient } from "../registry/watcher/client.ts";
import { createRegistryWatcher } from "../registry/watcher/index.ts";
import { toBinaryHeaders } from "./cloudevents/index.ts";
import type { GatewayConfig } from "./config.ts";
import { type AsyncEngine, createAsyncEngine } from "./delivery/async-engine.ts";
import { createBalancer } from "./delivery/balancer.ts";
import type { PoolFactory } from "./delivery/client.ts";
import { boundAddresses, createEgress, type ProtectedEndpoint } from "./delivery/egress.ts";
import { createDeliverer, type Deliverer, type Final } from "./delivery/index.ts";
import type { JetStreamEngine } from "./delivery/jetstream.ts";
import type { Wal } from "./durable/wal.ts";
import { createBodyBudget } from "./ingress/budget.ts";
import { deadLetterRoutes } from "./ingress/dead-letters.ts";
import { createDeliveryFeed, deliveriesRoutes } from "./ingress/deliveries.ts";
import { explainRoutes } from "./ingress/explain.ts";
import { createIngress, type Ingress } from "./ingress/index.ts";
import { createVpnLimiter } from "./ingress/vpn-limits.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { buildRoutingTable, type RoutingTable, vpnRoutesKept } from "./routing/index.ts";
import { celPrograms } from "./routing/match/cel.ts";
import type { CloudEvent, FunctionView, Route } from "./types.ts";

/** What a replacement async engine is built from (--durability jetstream: delivery/jetstream.ts). */
export interface EngineParts {
  deliverer: Deliverer;
  resolveFn: (vpn: string, namespace: string, name: string) => FunctionView | undefined;
  metrics: GatewayMetrics;
  log: Logger;
  onFinished: (route: Route, fn: FunctionView | undefined, event: CloudEvent, final: Final) => void;
}

export interface Gateway {
  /** The ingress handler (serve it with serveIngress). */
  readonly ingress: Ingress;
  /** Admin routes for a VPN's publishers only: POST /explain?vpn=NAME with a CloudEvent, GET /deliveries (a subscription's live deliveries). */
  readonly admin: (app: AdminRoutes) => void;
  table(): RoutingTable | undefined;
  /** The etcd revision up to which every registry change is in the routing table (0 before the first), and when it was applied. */
  applied(): { revision: number; at: Date };
  /** Calls `listener` after each applied revision. */
  onApplied(listener: () => void): void;
  notReady(): string | undefined;
  /** Watches the registry until `signal` aborts. */
  watch(signal: AbortSignal): Promise<void>;
  /** Stops accepting, finishes in-flight deliveries within `graceMs`; resolves with the count abandoned. */
  drain(graceMs: number): Promise<number>;
  /** Delivery attempts started so far (sync and async). */
  deliveryAttempts(): number;
  /** Refuses deliveries to this gateway's own ingress and admin ports once they are bound. */
  protectOwnPorts(ingress: { host: string; port: number }, admin: { host: string; port: number }): void;
}

export interface GatewayDeps {
  config: GatewayConfig;
  /** The delivery log (--data-dir); what it recovered is resumed once the first routing table exists. */
  wal?: Wal;
  /** How the registry watcher reads etcd (the HTTP client in production). */
  registry: RegistryClient;
  metrics: GatewayMetrics;
  log: Logger;
  /** Opens sealed registry records (the master key, or the one VPN this gateway serves). */
  keyring?: Keyring | undefined;
  /** The delivery client's pools (--delivery-client; main.ts loads the chosen client only). */
  pools: PoolFactory;
  /** Async delivery on JetStream instead of the gateway's own queue (and log). */
  jetstream?: (parts: EngineParts) => JetStreamEngine;
}

/** The async subscriptions of a snapshot, as routes of `table` (those the JetStream engine consumes). */
const asyncRoutes = (snapshot: RegistrySnapshot, table: RoutingTable): Route[] => {
  const routes: Route[] = [];
  for (const record of snapshot.records.values()) {
    if (record.kind !== "subscription" || record.spec.mode !== "async" || !record.owner.namespace) continue;
    const route = table.route(record.vpn, record.owner.namespace, record.owner.name);
    if (route) routes.push(route);
  }
  return routes;
};

const allUrls = (snapshot: RegistrySnapshot): Set<string> => {
  const urls = new Set<string>();
  for (const record of snapshot.records.values()) {
    if (record.kind !== "function") continue;
    for (const url of record.spec.endpoints) urls.add(url);
    if (record.spec.externalUrl) urls.add(record.spec.externalUrl);
  }
  return urls;
};

/** The endpoints deliveries may never reach unless --egress-allow names them: the registry etcd, the NATS servers and the API server. */
export const infrastructureEndpoints = (config: GatewayConfig): ProtectedEndpoint[] => {
  const endpoint = (url: string, defaultPort: number, reason: string): ProtectedEndpoint => {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port) || defaultPort, reason };
  };
  const endpoints = [
    ...config.etcd.map((url) => endpoint(url, url.startsWith("https:") ? 443 : 80, "the registry etcd")),
    ...(config.nats?.urls ?? []).map((url) => endpoint(url, 4222, "the NATS servers")),
  ];
  if (config.apiServer) endpoints.push({ ...config.apiServer, reason: "the Kubernetes API server" });
  return endpoints;
};

/** How often protected host names are resolved again. */
const EGRESS_REFRESH_MS = 30_000;

/** Creates the gateway; nothing runs until `watch`. */
export const createGateway = ({
  config,
  registry,
  metrics,
  log,
  wal,
  keyring,
  pools,
  jetstream,
}: GatewayDeps): Gateway => {
  const watcher = createRegistryWatcher({
    client: registry,
    endpoints: config.etcd,
    log,
    relistSpreadMs: config.relistSpreadMs,
    ...(keyring === undefined ? {} : { keyring }),
    // A gateway holding one VPN's key (an injected sidecar) lists and keeps that VPN's records
    // only: its registry load and memory do not grow with the other VPNs.
    ...(keyring?.onlyVpn === undefined ? {} : { scope: { vpn: keyring.onlyVpn } }),
    onRestart: ({ reason }) => metrics.watchRestarts.inc({ reason }),
    onResumed: ({ reason }) => metrics.watchResumes.inc({ reason }),
    // The watcher logs each invalid value once; the gateway counts them.
    onInvalid: () => metrics.invalidRecords.inc(),
    onListed: (startedAt) => {
      listedAt = startedAt;
    },
  });
  // Read at each scrape: no timer of their own wakes an idle gateway.
  metrics.configStaleness.from(() => watcher.status().stalenessMs / 1000);
  if (wal) {
    metrics.logBytes.from(() => ({ live: wal.liveBytes(), disk: wal.bytes() }));
    metrics.logState.from(() => {
      const { state } = wal.health();
      return {
        ok: state === "ok" ? 1 : 0,
        full: state === "full" ? 1 : 0,
        failing: state === "failing" ? 1 : 0,
      };
    });
  }
  const balancer = createBalancer();
  let table: RoutingTable | undefined;
  let pending: RegistrySnapshot | undefined;
  let built: RegistrySnapshot["records"] | undefined;
  let restored = false;
  /** When the full listing whose snapshot awaits its table started (performance.now()). */
  let listedAt: number | undefined;
  let applied = { revision: 0, at: new Date() };
  const appliedListeners: (() => void)[] = [];
  /** CEL programs, and the routes of VPNs that did not change, kept from one table to the next (a registry change rebuilds the table). */
  const cel = celPrograms();
  const kept = vpnRoutesKept();
  const rebuild = (): void => {
    const snapshot = pending;
    pending = undefined;
    // Same records object: nothing changed (a re-list that found no difference reuses it).
    if (snapshot && snapshot.records !== built) swap(snapshot);
    if (snapshot && snapshot.revision > applied.revision) {
      applied = { revision: snapshot.revision, at: new Date() };
      for (const listener of appliedListeners) listener();
    }
    if (listedAt !== undefined) metrics.registrySyncSeconds.observe((performance.now() - listedAt) / 1000);
    listedAt = undefined;
  };
  const swap = (snapshot: RegistrySnapshot): void => {
    built = snapshot.records;
    table = buildRoutingTable(snapshot, {
      celPrograms: cel,
      kept,
      onCelError: (route, err, phase) => {
        if (phase === "compile")
          log.warn(
            { route, err: err.message },
            "a subscription's CEL filter does not compile; it matches nothing",
          );
      },
    });
    balancer.retain(allUrls(snapshot));
    const current = table;
    egress.retain(
      [...snapshot.records.values()].flatMap((r) =>
        r.kind === "vpn" ? [current.vpn(r.vpn)?.egressAllow ?? []] : [],
      ),
    );
    metrics.configRevision.set(snapshot.revision);
    shared?.follow(asyncRoutes(snapshot, current));
    if (wal && !restored) {
      restored = true;
      const current = table;
      const { resumed, dropped } = engine.restore(wal.recovered, (id) => {
        const [vpn = "", namespace = "", name = ""] = id.split("/");
        return current.route(vpn, namespace, name);
      });
      if (resumed + dropped > 0)
        log.info({ resumed, dropped }, "resumed deliveries left in the delivery log by the previous run");
    }
  };
  // Clusters whose heartbeat key exists are available; others' instances are a last resort.
  let live: ReadonlyMap<string, unknown> = new Map();
  const known = new Set<string>();
  const isClusterAvailable = (cluster: string): boolean =>
    cluster === config.clusterName || live.has(cluster);
  watcher.onSnapshot((snapshot) => {
    live = snapshot.clusters;
    for (const c of snapshot.clusters.keys()) known.add(c);
    for (const r of snapshot.records.values()) known.add(r.owner.cluster);
    for (const c of known) metrics.clusterAvailable.set({ cluster: c }, isClusterAvailable(c) ? 1 : 0);
    if (!pending) setImmediate(rebuild);
    pending = snapshot;
  });
  const egress = createEgress({
    allow: config.egressAllow,
    deny: config.egressDeny,
    protect: infrastructureEndpoints(config),
    pools,
    log,
  });
  const feed = createDeliveryFeed();
  const deliverer = createDeliverer({
    pool: (vpn) => egress.pool(table?.vpn(vpn)?.egressAllow ?? []),
    balancer,
    localCluster: config.clusterName,
    encode: toBinaryHeaders,
    metrics,
    log,
    isClusterAvailable,
    onFinished: feed.observe,
  });
  const resolveFn = (vpn: string, ns: string, name: string): FunctionView | undefined =>
    table?.fn(vpn, ns, name);
  const shared = jetstream?.({ deliverer, resolveFn, metrics, log, onFinished: feed.observe });
  const engine: AsyncEngine =
    shared ??
    createAsyncEngine({
      deliverer,
      resolveFn,
      metrics,
      log,
      maxEvents: config.queueMaxEvents,
      maxBytes: config.queueMaxBytes,
      ...(wal ? { wal } : {}),
    });
  let draining = false;
  const ingress = createIngress({
    table: () => table,
    engine,
    deliverer,
    limiter: createVpnLimiter(),
    budget: createBodyBudget({
      maxBytes: config.maxInflightBytes,
      maxBytesPerVpn: config.maxInflightBytesPerVpn,
    }),
    metrics,
    log,
    config,
    draining: () => draining,
  });

  return {
    ingress,
    admin: (app) => {
      explainRoutes({ table: () => table, config, ownVpn: keyring?.onlyVpn })(app);
      deliveriesRoutes({ table: () => table, config, feed })(app);
      deadLetterRoutes({ table: () => table, config, store: shared })(app);
    },
    table: () => table,
    applied: () => applied,
    onApplied: (listener) => {
      appliedListeners.push(listener);
    },
    notReady: () => {
      if (draining) return "shutting down";
      if (!table) {
        const failing = watcher.status().failing;
        return `the first registry snapshot has not been loaded${failing === undefined ? "" : ` (${failing})`}`;
      }
      const health = wal?.health();
      if (health?.state === "failing") return `the delivery log cannot be written (${health.detail})`;
      return shared?.notReady();
    },
    watch: async (signal) => {
      await egress.refresh();
      const names = setInterval(() => void egress.refresh(), EGRESS_REFRESH_MS);
      try {
        await watcher.run(signal);
      } finally {
        clearInterval(names);
      }
    },
    drain: async (graceMs) => {
      draining = true;
      feed.close();
      const abandoned = await engine.drain(graceMs);
      await egress.close();
      return abandoned;
    },
    deliveryAttempts: () => deliverer.attempts(),
    protectOwnPorts: (ingressAt, adminAt) => {
      const own = (at: { host: string; port: number }, reason: string) =>
        boundAddresses(at.host).map((host) => ({ host, port: at.port, reason }));
      egress.protect([
        ...own(ingressAt, "this gateway's ingress port"),
        ...own(adminAt, "this gateway's admin port"),
      ]);
    },
  };
};
