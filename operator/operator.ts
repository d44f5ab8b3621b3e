// The operator: informers on every replica (a warm standby takes over quickly); on the leader
// only, the registry writer (which fences deposed leaders), a cleanup of records whose object
// is gone, one controller per kind, and drift repair of the registry (reconcile/repair.ts).
import type { KubeConfig } from "@kubernetes/client-node";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import type { Etcd3 } from "etcd3";
import type { EgressPolicy } from "../common/egress/policy.ts";
import type { Logger } from "../common/log.ts";
import type { Subscription, SwitchboardFunction, Vpn } from "../crds/types.ts";
import { runHeartbeat } from "../registry/heartbeat/index.ts";
import type { GatewayPresence } from "../registry/heartbeat/presence.ts";
import { VPN_KEY_SECRET } from "../registry/seal/files.ts";
import { masterKeyring } from "../registry/seal/index.ts";
import type { RegistrySnapshot } from "../registry/snapshot.ts";
import type { RecordKind } from "../registry/types.ts";
import { etcd3RegistryClient } from "../registry/watcher/clients/etcd3.ts";
import { createRegistryWatcher } from "../registry/watcher/index.ts";
import { openWriter, type RegistryWriter } from "../registry/writer/index.ts";
import { createInformers, type Informers, worldOver } from "./kube/informers.ts";
import { runLeaderElection } from "./kube/leader.ts";
import { writeLimiter } from "./kube/limiter.ts";
import { waitingFor } from "./kube/readiness.ts";
import { kubeWriter } from "./kube/writes.ts";
import type { OperatorMetrics } from "./metrics.ts";
import {
  afterFunction,
  afterSecret,
  afterService,
  everything,
  type Keys,
  namespaceEvents,
  sliceService,
  specEvents,
  subscriptionIndex,
} from "./plan/dependents.ts";
import { planFunction } from "./plan/function.ts";
import { planSubscription } from "./plan/subscription.ts";
import { planVpn } from "./plan/vpn.ts";
import type { World } from "./plan/world.ts";
import { runController } from "./reconcile/controller.ts";
import { createPropagation } from "./reconcile/propagation.ts";
import { createQueue, type WorkQueue } from "./reconcile/queue.ts";
import { type KindHandler, keyOf, makeReconciler, type ReconciledObject } from "./reconcile/reconciler.ts";
import { runRepair } from "./reconcile/repair.ts";
import { runVpnKeys } from "./vpnkeys/controller.ts";

export const DEFAULT_RESYNC_PERIOD_MS = 5 * 60_000;

export interface OperatorOptions {
  kc: KubeConfig;
  etcd: Etcd3;
  /** The etcd endpoints `etcd` connects to, named in its failures. */
  etcdEndpoints?: readonly string[];
  cluster: string;
  identity: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metrics: OperatorMetrics;
  log: Logger;
  heartbeatTtlSeconds?: number;
  /** How often the leader compares the registry with what it wrote (drift repair); 5 minutes by default. */
  resyncPeriodMs?: number;
  /** Reconcile workers per kind (default 8). */
  workers?: number;
  /** The limit on writes to the API server (./kube/limiter.ts); none when absent. */
  kubeWrites?: { qps: number; burst: number };
  version?: string;
  /** The registry's master key: records are sealed, and each VPN's namespaces get its key. Undefined: records in clear. */
  masterKey?: Buffer | undefined;
  /** The egress policy Functions are reported against (operator/plan/egress.ts); the defaults only when absent. */
  egress?: EgressPolicy;
}

export interface Operator {
  /** Runs until `signal` aborts; throws when leadership is lost or a part fails for good. */
  run(signal: AbortSignal): Promise<void>;
  /** undefined when ready (caches synced), otherwise why not. */
  notReady(): string | undefined;
  /** The informer caches' view once synced (on every replica; the webhook's claim check reads it), else undefined. */
  view(): World | undefined;
  /** This cluster's gateways as their presence records last said, sorted by id (GET /gateways). */
  gateways(): GatewayPresence[];
}

const vpnHandler = (i: Informers): KindHandler<Vpn> => ({
  kind: "VPN",
  plural: "vpns",
  namespaced: false,
  recordKind: "vpn",
  get: (_ns, name) => i.vpns.get(name),
  plan: planVpn,
});

const functionHandler = (
  i: Informers,
  egress: EgressPolicy | undefined,
): KindHandler<SwitchboardFunction> => ({
  kind: "Function",
  plural: "functions",
  namespaced: true,
  recordKind: "function",
  get: (ns, name) => i.functions.get(name, ns),
  plan: (fn, world, cluster) => planFunction(fn, world, cluster, egress),
});

const subscriptionHandler = (i: Informers): KindHandler<Subscription> => ({
  kind: "Subscription",
  plural: "subscriptions",
  namespaced: true,
  recordKind: "subscription",
  get: (ns, name) => i.subscriptions.get(name, ns),
  plan: planSubscription,
});

/** Wires the operator; nothing runs until `run`. */
export const createOperator = (opts: OperatorOptions): Operator => {
  const { kc, etcd, cluster, identity, metrics, log, masterKey } = opts;
  const limiter = writeLimiter(opts.kubeWrites ?? { qps: 0, burst: 0 }, (seconds) =>
    metrics.kubeWriteWait.inc(seconds),
  );
  const keyring = masterKey === undefined ? undefined : masterKeyring(masterKey);
  /** Namespaces whose VPN key Secret needs a look (only when records are sealed). */
  const keyQueue = createQueue();
  const allNamespaces = (): void => {
    if (keyring === undefined) return;
    for (const ns of w().namespaces()) keyQueue.add(ns.metadata?.name ?? "");
  };
  const queues: Record<RecordKind, WorkQueue> = {
    vpn: createQueue(),
    function: createQueue(),
    subscription: createQueue(),
  };
  const enqueue = (keys: Keys): void => {
    for (const k of keys.vpns) queues.vpn.add(k);
    for (const k of keys.functions) queues.function.add(k);
    for (const k of keys.subscriptions) queues.subscription.add(k);
  };
  const propagation = createPropagation({
    etcd,
    cluster,
    enqueue: (kind, key) => queues[kind].add(key),
    log: log.child({ component: "propagation" }),
  });
  let world: World | undefined;
  const w = (): World => {
    if (!world) throw new Error("informers not created");
    return world;
  };
  /** VPN and Function events that can change what is planned from them (not their status patches). */
  const vpnChanged = specEvents();
  const fnChanged = specEvents();
  /** Namespace events that can move a namespace between VPNs (its labels). */
  const nsChanged = namespaceEvents();
  /** The Subscriptions naming each Function, for its events. */
  const byFunction = subscriptionIndex();
  const informers = createInformers(
    kc,
    {
      vpn: (obj, change) => {
        if (!vpnChanged(obj, change)) return;
        enqueue(everything(w()));
        allNamespaces();
      },
      namespace: (obj, change) => {
        if (nsChanged(obj, change)) enqueue(everything(w()));
        if (keyring !== undefined) keyQueue.add(obj.metadata?.name ?? "");
      },
      fn: (obj, change) => {
        if (fnChanged(obj, change)) enqueue(afterFunction(obj, w(), byFunction));
      },
      subscription: (obj, change) => {
        byFunction.update(obj, change);
        queues.subscription.add(keyOf(obj));
      },
      service: (obj) => enqueue(afterService(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "", w())),
      endpointSlice: (obj) => {
        const service = sliceService(obj);
        if (service) enqueue(afterService(obj.metadata?.namespace ?? "", service, w()));
      },
      secret: (obj) => {
        enqueue(afterSecret(obj, w()));
        if (keyring !== undefined && obj.metadata?.name === VPN_KEY_SECRET)
          keyQueue.add(obj.metadata.namespace ?? "");
      },
    },
    metrics,
    log,
  );
  // Other clusters' functions, from the shared registry: a Subscription may target a function
  // declared only elsewhere in its VPN.
  let remote = new Map<string, string[]>();
  const remoteIndex = (snapshot: RegistrySnapshot): Map<string, string[]> => {
    const index = new Map<string, string[]>();
    for (const record of snapshot.records.values()) {
      if (record.kind !== "function" || record.owner.cluster === cluster) continue;
      const id = `${record.vpn}/${record.owner.namespace ?? ""}/${record.owner.name}`;
      index.set(id, [...(index.get(id) ?? []), record.owner.cluster].sort());
    }
    return index;
  };
  const registryWatcher = createRegistryWatcher({
    client: etcd3RegistryClient(etcd),
    endpoints: opts.etcdEndpoints ?? [],
    // The watcher and the heartbeat bind their own `component`; a second binding would repeat the key.
    log,
    ...(keyring === undefined ? {} : { keyring }),
    // Other clusters' Functions are all it reads; its own cluster's records, written by itself,
    // would come back through the watch once per write (10 000 of them in a bulk change).
    scope: { functionsBeyond: cluster },
  });
  registryWatcher.onSnapshot((snapshot) => {
    const next = remoteIndex(snapshot);
    const changed = JSON.stringify([...next]) !== JSON.stringify([...remote]);
    remote = next;
    if (changed) for (const s of w().subscriptions()) queues.subscription.add(keyOf(s));
  });
  world = worldOver(informers, (vpn, namespace, name) => remote.get(`${vpn}/${namespace}/${name}`) ?? []);
  const all = Object.values(informers);
  const pending = new Set(Object.keys(informers));
  for (const [name, informer] of Object.entries(informers))
    void informer.synced.then(() => pending.delete(name));
  let synced = false;
  /** Why the leader campaign cannot proceed (its Lease namespace is missing); undefined when it can. */
  let campaignBlocked: string | undefined;

  const lead = async (signal: AbortSignal): Promise<void> => {
    metrics.isLeader.set(1);
    const writer = await openWriter({
      client: etcd,
      cluster,
      identity,
      keyring,
      onInvalid: (key: string, err: Error) =>
        log.warn(
          { key, err: err.message },
          "unreadable record of this cluster; it will be rewritten or removed",
        ),
    });
    try {
      await removeOrphans(writer, informers, log);
      const kube = kubeWriter(kc.makeApiClient(CustomObjectsApi), kc.makeApiClient(CoreV1Api), log, limiter);
      enqueue(everything(w()));
      allNamespaces();
      const control = <T extends ReconciledObject>(
        handler: KindHandler<T>,
        queue: WorkQueue,
      ): Promise<void> =>
        runController(
          {
            kind: handler.kind,
            queue,
            metrics,
            log,
            ...(opts.workers === undefined ? {} : { workers: opts.workers }),
            reconcile: makeReconciler({
              handler,
              world: w(),
              writer,
              kube,
              cluster,
              metrics,
              log,
              propagation,
            }),
          },
          signal,
        );
      await Promise.all([
        control(vpnHandler(informers), queues.vpn),
        control(functionHandler(informers, opts.egress), queues.function),
        control(subscriptionHandler(informers), queues.subscription),
        ...(masterKey === undefined
          ? []
          : [
              runVpnKeys(
                {
                  core: kc.makeApiClient(CoreV1Api),
                  world: w(),
                  master: masterKey,
                  queue: keyQueue,
                  limiter,
                  metrics,
                  log,
                },
                signal,
              ),
            ]),
        runRepair(
          {
            etcd,
            cluster,
            writer,
            enqueue: (ref) => queues[ref.kind].add(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name),
            resyncPeriodMs: opts.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS,
            metrics,
            log: log.child({ component: "registry-repair" }),
          },
          signal,
        ),
        runHeartbeat(
          {
            client: etcd,
            cluster,
            identity,
            version: opts.version ?? "0.1.0",
            ttlSeconds: opts.heartbeatTtlSeconds ?? 15,
            log,
          },
          signal,
        ),
      ]);
    } finally {
      metrics.isLeader.set(0);
      writer.close();
    }
  };

  return {
    notReady: () =>
      synced
        ? campaignBlocked
        : (waitingFor(
            Object.entries(informers)
              .filter(([name]) => pending.has(name))
              .map(([name, informer]) => ({ name, lastError: informer.lastError() })),
            { listed: registryWatcher.current() !== undefined, failing: registryWatcher.status().failing },
          ) ?? "starting the leader election"),
    view: () => (synced ? world : undefined),
    gateways: () => [...propagation.gateways().values()].sort((a, b) => a.id.localeCompare(b.id)),
    run: async (signal) => {
      const watching = [
        ...all.map((i) => i.run(signal)),
        registryWatcher.run(signal),
        propagation.run(signal),
      ];
      await Promise.race([
        Promise.all([...all.map((i) => i.synced), registryWatcher.ready]),
        new Promise((r) => signal.addEventListener("abort", r, { once: true })),
      ]);
      if (signal.aborted) {
        await Promise.all(watching);
        return;
      }
      synced = true;
      log.info({ cluster, identity }, "caches synced; campaigning for leadership");
      try {
        await runLeaderElection(
          {
            api: kc.makeApiClient(CoordinationV1Api),
            namespace: opts.leaseNamespace,
            name: `switchboard-operator-${cluster}`,
            identity,
            leaseDurationMs: opts.leaseDurationMs,
            renewDeadlineMs: opts.renewDeadlineMs,
            retryPeriodMs: opts.retryPeriodMs,
            log,
            onBlocked: (reason) => {
              campaignBlocked = reason;
            },
          },
          lead,
          signal,
        );
      } finally {
        for (const q of [...Object.values(queues), keyQueue]) q.shutdown();
      }
      await Promise.all(watching);
    },
  };
};

/** Removes this cluster's records whose Kubernetes object no longer exists (deleted while no operator ran). */
const removeOrphans = async (writer: RegistryWriter, informers: Informers, log: Logger): Promise<void> => {
  for (const ref of writer.objects()) {
    const exists =
      ref.kind === "vpn"
        ? informers.vpns.get(ref.name)
        : ref.kind === "function"
          ? informers.functions.get(ref.name, ref.namespace)
          : informers.subscriptions.get(ref.name, ref.namespace);
    if (exists) continue;
    const result = await writer.sync(ref, undefined);
    log.info(
      { kind: ref.kind, namespace: ref.namespace, name: ref.name, result },
      "removed the record of an object that no longer exists",
    );
  }
};
