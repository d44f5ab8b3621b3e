// Part 2 of bench/propagation.ts: `kubectl apply` of a new Subscription → the real operator writes
// its record → a gateway routes its event type, beside the time the same `kubectl apply` takes;
// and → the Subscription is Ready, which waits for every gateway (two here) to report it applied
// (the Propagated condition), seen by a watch on the API server.
import { Watch } from "@kubernetes/client-node";
import { installCrds } from "../crds/install.ts";
import { type Cluster, startCluster } from "../e2e/cluster.ts";
import { startEtcd } from "../e2e/etcd.ts";
import { startFunction } from "../e2e/functions.ts";
import { startGateway } from "../e2e/gateway.ts";
import { startOperator } from "../e2e/operator.ts";
import { waitFor } from "../e2e/proc.ts";
import { eventHeaders, pinned, TOKEN } from "./lib.ts";
import { poller } from "./propagation-poll.ts";

const NS = "propagation";
const VPN = "propagation";
/** The operator's (and gateway's) cluster name in the registry. */
const CLUSTER = "apply";

export interface ApplyRounds {
  /** Per round: from starting `kubectl apply` to the gateway routing the new type, ms. */
  routable: number[];
  /** Per round: from starting `kubectl apply` to the API server's watch showing Ready=True (both gateways applied it), ms. */
  ready: number[];
  /** Per round: from starting `kubectl apply` to it exiting, ms. */
  apply: number[];
  /** Per round: the round trip of the last poll (the resolution), ms. */
  lastRtt: number[];
  /** Seconds to start the control plane, install the CRDs, the operator and the gateway. */
  setupSeconds: number;
}

const setupYaml = (fnUrl: string): string => `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: ${NS} }
stringData: { token: "${TOKEN}" }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${VPN} }
spec:
  namespaces: { names: [${NS}] }
  publishers: [{ name: bench, tokenSecretRef: { namespace: ${NS}, name: publisher, key: token } }]
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: fn, namespace: ${NS} }
spec: { vpn: ${VPN}, target: { url: "${fnUrl}/" } }
`;

const subscriptionYaml = (name: string, type: string): string => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: ${name}, namespace: ${NS} }
spec: { vpn: ${VPN}, function: fn, mode: async, filters: [{ exact: { type: ${type} } }] }
`;

const ready = (cluster: Cluster, what: string[]): Promise<string> =>
  cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", ...what]);

/** Starts a control plane, a registry etcd, the operator and a gateway (core 0); runs `warmup + rounds` applies; stops everything. */
export const measureApply = async ({
  rounds,
  warmup = 2,
  // A 1 ms gap: polling back to back would take a core from kubectl, kube-apiserver and the operator.
  gapMs = 1,
}: {
  rounds: number;
  warmup?: number;
  gapMs?: number;
}): Promise<ApplyRounds> => {
  const started = performance.now();
  const cluster = await startCluster({ name: "propagation" });
  await installCrds(cluster);
  const registry = await startEtcd(cluster.dir, { name: "registry" });
  const fn = await startFunction();
  await cluster.kubectl(["apply", "-f", "-"], setupYaml(fn.url));
  const operator = await startOperator(cluster, {
    clusterName: CLUSTER,
    id: "bench-op",
    etcd: registry.url,
    leaseNamespace: NS,
  });
  await ready(cluster, [`vpn/${VPN}`]);
  await ready(cluster, ["-n", NS, "functions.switchboard.dev/fn"]);
  const gateway = await startGateway({
    etcd: registry.url,
    clusterName: CLUSTER,
    dir: cluster.dir,
    name: "apply",
    prefix: pinned("0"),
  });
  // A second gateway: Ready waits for both (Propagated 2/2).
  const second = await startGateway({
    etcd: registry.url,
    clusterName: CLUSTER,
    dir: cluster.dir,
    name: "apply-2",
    prefix: pinned("0"),
  });
  /** When each Subscription was first seen Ready=True with 2/2 gateways. */
  const readyAt = new Map<string, number>();
  const readyWaiters = new Map<string, () => void>();
  const watch = await new Watch(cluster.kubeConfig()).watch(
    `/apis/switchboard.dev/v1alpha1/namespaces/${NS}/subscriptions`,
    {},
    (
      _type,
      obj: {
        metadata?: { name?: string };
        status?: { conditions?: { type: string; status: string; message?: string }[] };
      },
    ) => {
      const name = obj.metadata?.name ?? "";
      const conditions = obj.status?.conditions ?? [];
      const ready = conditions.find((c) => c.type === "Ready")?.status === "True";
      const both = conditions.find((c) => c.type === "Propagated")?.message === "2/2 gateways";
      if (!ready || !both || readyAt.has(name)) return;
      readyAt.set(name, performance.now());
      readyWaiters.get(name)?.();
    },
    () => {},
  );
  const readyOf = (name: string): Promise<number> =>
    new Promise((resolve) => {
      const at = readyAt.get(name);
      if (at !== undefined) return resolve(at);
      readyWaiters.set(name, () => resolve(readyAt.get(name) ?? Number.NaN));
    });
  const poll = poller(gateway.url, { gapMs, timeoutMs: 30_000 });
  // The VPN is loaded once an event of an unknown type is accepted (202, no delivery) rather than 401.
  await waitFor("the gateway to load the VPN", async () => {
    const res = await fetch(`${gateway.url}/`, {
      method: "POST",
      headers: eventHeaders("none", { id: "probe", source: "/bench/propagation" }),
      body: "{}",
    });
    await res.text();
    return res.status === 202 ? true : undefined;
  });
  const setupSeconds = (performance.now() - started) / 1000;

  const out: ApplyRounds = { routable: [], ready: [], apply: [], lastRtt: [], setupSeconds };
  for (let i = -warmup; i < rounds; i++) {
    const name = `prop-${i + warmup}`;
    const type = `bench.apply.r${i + warmup}`;
    const t0 = performance.now();
    // Polling starts with the apply: the route may appear before kubectl has exited.
    const applied = cluster
      .kubectl(["apply", "-f", "-"], subscriptionYaml(name, type))
      .then(() => performance.now());
    const routed = await poll.until(type, t0);
    const applyMs = (await applied) - t0;
    const readyMs = (await readyOf(name)) - t0;
    await new Promise((r) => setTimeout(r, 50));
    if (i < 0) continue;
    out.routable.push(routed.ms);
    out.ready.push(readyMs);
    out.apply.push(applyMs);
    out.lastRtt.push(routed.lastRttMs);
  }

  await poll.close();
  watch.abort();
  await second.proc.stop();
  await gateway.proc.stop();
  await operator.proc.stop();
  await fn.close();
  await registry.stop();
  await cluster.stop();
  return out;
};
