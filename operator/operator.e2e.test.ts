// The operator end to end: real kube-apiserver and controller-manager, real etcd, simulated pods,
// the operator as a process, driven with kubectl as a user would.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "../e2e/harness.ts";
import { type OperatorProcess, startOperator } from "../e2e/operator.ts";
import { type SimulatedPod, startPod } from "../e2e/pods.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import { decodeRecord, encodeRecord } from "../registry/codec.ts";
import { functionKey, subscriptionKey, vpnKey } from "../registry/keys.ts";
import type { FunctionRecord, SubscriptionRecord, VpnRecord } from "../registry/types.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const etcd = new Etcd3({ hosts: etcdUrl });
const clusterName = uniqueName("east");
const leaseNamespace = await testNamespace(cluster, "leases");
const pods: SimulatedPod[] = [];
const operators: OperatorProcess[] = [];
cleanup(async () => {
  await Promise.all(operators.map((o) => o.proc.stop()));
  await Promise.all(pods.map((p) => p.stop()));
  etcd.close();
});

const runOperator = async (id: string): Promise<OperatorProcess> => {
  const op = await startOperator(cluster, { clusterName, id, etcd: etcdUrl, leaseNamespace });
  operators.push(op);
  return op;
};

const record = async <T>(key: string): Promise<T | undefined> => {
  const value = await etcd.get(key).string();
  return value === null ? undefined : (decodeRecord(key, value) as T);
};

const ordersKey = functionKey({ vpn: "shop", namespace: "shop", name: "orders", cluster: clusterName });
const endpointsOf = async (): Promise<string[] | undefined> =>
  (await record<FunctionRecord>(ordersKey))?.spec.endpoints;
const waitEndpoints = (want: string[]) =>
  waitFor(`orders endpoints ${JSON.stringify(want)}`, async () => {
    const got = await endpointsOf();
    return JSON.stringify(got) === JSON.stringify([...want].sort()) ? got : undefined;
  });

let leader: OperatorProcess;

test("kubectl apply -f examples/ → records in etcd, every object Ready, kubectl get switchboard lists them", async () => {
  const applied = await cluster.kubectl(["apply", "-f", join(repoRoot, "examples")]);
  assert.match(applied, /vpn\.switchboard\.dev\/shop/);
  pods.push(await startPod(cluster, { namespace: "shop", name: "orders-1", labels: { app: "orders" } }));
  leader = await runOperator("op-a");
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "vpn/shop"]);
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "functions.switchboard.dev",
    "--all",
  ]);
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "subscriptions.switchboard.dev",
    "--all",
  ]);

  const [pod] = pods;
  assert.ok(pod);
  assert.deepEqual(await endpointsOf(), [`http://${pod.ip}:8080/events`]);
  const vpn = await etcd.get(vpnKey("shop", clusterName)).string();
  assert.ok(vpn && !vpn.includes("example-token"), "the VPN record holds token hashes, never tokens");
  const route = await record<SubscriptionRecord>(
    subscriptionKey({ vpn: "shop", namespace: "shop", name: "orders-api", cluster: clusterName }),
  );
  assert.equal(route?.spec.mode, "sync");
  assert.ok(route?.spec.http?.path.startsWith("/orders/"));

  const listing = await cluster.kubectl(["get", "switchboard", "-n", "shop"]);
  for (const name of [
    "function.switchboard.dev/orders",
    "function.switchboard.dev/audit",
    "subscription.switchboard.dev/orders-created",
    "subscription.switchboard.dev/orders-api",
  ]) {
    assert.match(listing, new RegExp(name.replace(/\./g, "\\.")), listing);
  }
  assert.match(listing, /READY/);
  const fn = JSON.parse(await cluster.kubectl(["get", "function", "orders", "-n", "shop", "-o", "json"])) as {
    metadata: { generation: number; finalizers: string[] };
    status: { observedGeneration: number; endpoints: number; conditions: { type: string; status: string }[] };
  };
  assert.equal(fn.status.observedGeneration, fn.metadata.generation);
  assert.equal(fn.status.endpoints, 1);
  assert.deepEqual(fn.metadata.finalizers, ["switchboard.dev/registry"]);
  assert.ok(fn.status.conditions.some((c) => c.type === "EndpointsResolved" && c.status === "True"));
});

test("scaling the function's pods changes its endpoints in etcd", async () => {
  const [first] = pods;
  assert.ok(first);
  const second = await startPod(cluster, { namespace: "shop", name: "orders-2", labels: { app: "orders" } });
  pods.push(second);
  await waitEndpoints([`http://${first.ip}:8080/events`, `http://${second.ip}:8080/events`]);
  await second.setReady(false);
  await waitEndpoints([`http://${first.ip}:8080/events`]);
  await first.stop();
  pods.shift();
  await waitEndpoints([]);
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready=False",
    "--timeout=30s",
    "-n",
    "shop",
    "function/orders",
  ]);
  const reason = await cluster.kubectl([
    "get",
    "function",
    "orders",
    "-n",
    "shop",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].reason}',
  ]);
  assert.equal(reason, "NoReadyEndpoints");
  await second.setReady(true);
  await waitEndpoints([`http://${second.ip}:8080/events`]);
});

test("a CEL filter that does not compile is refused in status, with no route", async () => {
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: bad-filter, namespace: shop }
spec: { vpn: shop, function: orders, mode: async, cel: "data.amount >" }
`,
  );
  await cluster.kubectl([
    "wait",
    "--for=condition=FilterValid=False",
    "--timeout=30s",
    "-n",
    "shop",
    "subscription/bad-filter",
  ]);
  const message = await cluster.kubectl([
    "get",
    "subscription",
    "bad-filter",
    "-n",
    "shop",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="FilterValid")].message}',
  ]);
  assert.match(message, /^cel: /);
  const ready = await cluster.kubectl([
    "get",
    "subscription",
    "bad-filter",
    "-n",
    "shop",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  assert.equal(ready, "False");
  assert.equal(
    await etcd
      .get(subscriptionKey({ vpn: "shop", namespace: "shop", name: "bad-filter", cluster: clusterName }))
      .string(),
    null,
  );
  const events = await cluster.kubectl([
    "get",
    "events",
    "-n",
    "shop",
    "--field-selector",
    "involvedObject.name=bad-filter",
    "-o",
    "jsonpath={.items[*].reason}",
  ]);
  assert.match(events, /CELCompileError/);
});

test("a second VPN claiming a tenant's namespace cannot take it offline; it gets the namespace once the holder releases it", async () => {
  const vpnRecord = async (name: string) => record<VpnRecord>(vpnKey(name, clusterName));
  const condition = (name: string, type: string, field: string) =>
    cluster.kubectl([
      "get",
      "vpn",
      name,
      "-o",
      `jsonpath={.status.conditions[?(@.type=="${type}")].${field}}`,
    ]);
  // Names order the claims made in the same second: the holder sorts first.
  const spare = uniqueName("spare");
  const holder = uniqueName("claim-a-holder");
  const rival = uniqueName("claim-b-rival");
  const apply = (name: string, names: string[]) =>
    cluster.kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "switchboard.dev/v1alpha1",
        kind: "VPN",
        metadata: { name },
        spec: { namespaces: { names } },
      }),
    );
  await apply(holder, [spare]);
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=30s", `vpn/${holder}`]);
  await apply(rival, ["shop", spare]);
  cleanup(async () => {
    await cluster.kubectl(["delete", "vpn", holder, rival, "--ignore-not-found", "--wait=false"]);
  });
  await cluster.kubectl([
    "wait",
    "--for=condition=NamespacesResolved=False",
    "--timeout=30s",
    `vpn/${rival}`,
  ]);
  const message = await condition(rival, "NamespacesResolved", "message");
  assert.match(message, /namespace shop is held by VPN shop, which claimed it first/);
  assert.match(message, new RegExp(`namespace ${spare} is held by VPN ${holder}`));
  assert.equal(await condition(rival, "NamespacesResolved", "reason"), "NamespaceConflict");
  await waitFor("the rival's record, without the held namespaces", async () =>
    (await vpnRecord(rival))?.spec.namespaces.length === 0 ? true : undefined,
  );
  // The first tenant is untouched: still Ready, its record still lists shop, its routes still there.
  assert.equal(await condition("shop", "Ready", "status"), "True");
  assert.deepEqual((await vpnRecord("shop"))?.spec.namespaces, ["shop"]);
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=30s", "-n", "shop", "function/orders"]);
  assert.ok(await record<FunctionRecord>(ordersKey), "the function's record stays");
  // The holder releases its namespace by going away: the rival, next in order, gets it.
  await cluster.kubectl(["delete", "vpn", holder, "--timeout=30s"]);
  await waitFor(`the rival to hold ${spare}`, async () =>
    JSON.stringify((await vpnRecord(rival))?.spec.namespaces) === JSON.stringify([spare]) ? true : undefined,
  );
  assert.doesNotMatch(await condition(rival, "NamespacesResolved", "message"), new RegExp(spare));
  await cluster.kubectl(["delete", "vpn", rival, "--timeout=30s"]);
});

test("a namespace labelled after its Function was made joins the VPN selecting it; unlabelled, it leaves", async () => {
  const tenant = uniqueName("tenant");
  const vpn = uniqueName("by-label");
  const ns = await testNamespace(cluster, "by-label");
  const applied = (object: unknown) => cluster.kubectl(["apply", "-f", "-"], JSON.stringify(object));
  await applied({
    apiVersion: "switchboard.dev/v1alpha1",
    kind: "VPN",
    metadata: { name: vpn },
    spec: { namespaces: { selector: { matchLabels: { tenant } } } },
  });
  cleanup(async () => {
    await cluster.kubectl(["delete", "vpn", vpn, "--ignore-not-found", "--wait=false"]);
    await cluster.kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=false"]);
  });
  await applied({
    apiVersion: "switchboard.dev/v1alpha1",
    kind: "Function",
    metadata: { name: "f", namespace: ns },
    spec: { vpn, target: { url: `http://f.${ns}.svc.cluster.local:8080/events` } },
  });
  const fnKey = functionKey({ vpn, namespace: ns, name: "f", cluster: clusterName });
  const memberStatus = () =>
    cluster.kubectl([
      "get",
      "function",
      "f",
      "-n",
      ns,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="VPNMember")].status}',
    ]);
  await waitFor("the Function to be told its namespace is not in the VPN", async () =>
    (await memberStatus()) === "False" ? true : undefined,
  );
  assert.equal(await record<FunctionRecord>(fnKey), undefined);
  await cluster.kubectl(["annotate", "namespace", ns, "note=not-a-label"]);
  await cluster.kubectl(["label", "namespace", ns, `tenant=${tenant}`]);
  await waitFor("the Function's record once its namespace carries the label", async () =>
    (await record<FunctionRecord>(fnKey)) ? true : undefined,
  );
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=30s", "-n", ns, "function/f"]);
  await cluster.kubectl(["label", "namespace", ns, "tenant-"]);
  await waitFor("the record gone once the label is", async () =>
    (await record<FunctionRecord>(fnKey)) === undefined ? true : undefined,
  );
  assert.equal(await memberStatus(), "False");
});

test("deleting an object removes its record before the object goes (finalizer)", async () => {
  const key = subscriptionKey({
    vpn: "shop",
    namespace: "shop",
    name: "orders-created",
    cluster: clusterName,
  });
  assert.notEqual(await etcd.get(key).string(), null);
  await cluster.kubectl(["delete", "subscription", "orders-created", "-n", "shop", "--timeout=30s"]);
  assert.equal(await etcd.get(key).string(), null);
  await cluster.kubectl(["apply", "-f", join(repoRoot, "examples")]);
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=30s",
    "-n",
    "shop",
    "subscription/orders-created",
  ]);
  assert.notEqual(await etcd.get(key).string(), null);
});

test("a second replica waits; when the leader dies it takes over; records of gone objects are removed at start", async () => {
  const standby = await runOperator("op-b");
  await waitFor("op-a to lead", async () => ((await leader.isLeader()) ? true : undefined));
  await waitFor("op-b ready as a standby", async () =>
    (await fetch(`${standby.adminUrl}/readyz`)).ok ? true : undefined,
  );
  assert.equal(await standby.isLeader(), false);

  // While the leader is gone: an orphan record of this cluster, and one of another cluster.
  leader.proc.stop(0);
  await leader.proc.exited;
  const orphan = await record<SubscriptionRecord>(
    subscriptionKey({ vpn: "shop", namespace: "shop", name: "orders-api", cluster: clusterName }),
  );
  assert.ok(orphan);
  const ghost = { ...orphan, owner: { ...orphan.owner, name: "ghost", uid: "gone" } };
  const ghostKey = subscriptionKey({ vpn: "shop", namespace: "shop", name: "ghost", cluster: clusterName });
  const otherCluster = uniqueName("west");
  const foreign = { ...orphan, owner: { ...orphan.owner, name: "ghost", cluster: otherCluster } };
  const foreignKey = subscriptionKey({
    vpn: "shop",
    namespace: "shop",
    name: "ghost",
    cluster: otherCluster,
  });
  await etcd.put(ghostKey).value(encodeRecord(ghost));
  await etcd.put(foreignKey).value(encodeRecord(foreign));

  await waitFor("op-b to take over", async () => ((await standby.isLeader()) ? true : undefined), {
    timeoutMs: 30_000,
  });
  await waitFor("the orphan record to be removed", async () =>
    (await etcd.get(ghostKey).string()) === null ? true : undefined,
  );
  assert.notEqual(await etcd.get(foreignKey).string(), null, "another cluster's record is never touched");
  await etcd.delete().key(foreignKey);

  // The new leader reconciles changes.
  const ns = "shop";
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: after-failover, namespace: ${ns} }
spec: { vpn: shop, function: orders, mode: async, filters: [{ prefix: { type: com.example. } }] }
`,
  );
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=30s",
    "-n",
    ns,
    "subscription/after-failover",
  ]);
  const written = await record<SubscriptionRecord>(
    subscriptionKey({ vpn: "shop", namespace: ns, name: "after-failover", cluster: clusterName }),
  );
  assert.deepEqual(written?.spec.filters, [{ prefix: { type: "com.example." } }]);
  const reconciles = await standby.metric(
    'switchboard_operator_reconciles_total{kind="Subscription",result="success"}',
  );
  assert.ok((reconciles ?? 0) > 0);
});
