// Two clusters, east and west, each with its own control plane, operator, gateway and pods, and
// one shared registry etcd with TLS client certificates and a role per cluster.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { installCrds } from "../crds/install.ts";
import { type Cluster, startCluster } from "./cluster.ts";
import { startFunction } from "./functions.ts";
import { type GatewayProcess, startGateway } from "./gateway.ts";
import { cleanup } from "./harness.ts";
import { type OperatorProcess, startOperator } from "./operator.ts";
import { type SimulatedPod, startPod } from "./pods.ts";
import { waitFor } from "./proc.ts";
import { clusterSubtree, startSecureEtcd } from "./secure-etcd.ts";
import { repoRoot } from "./tools.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "multicluster-"));
const registry = await startSecureEtcd(dir, ["east", "west"]);
const clusters: Record<"east" | "west", Cluster> = {
  east: await startCluster({ dir: join(dir, "east"), name: "east" }),
  west: await startCluster({ dir: join(dir, "west"), name: "west" }),
};
const pods: SimulatedPod[] = [];
const processes: (OperatorProcess | GatewayProcess)[] = [];
cleanup(async () => {
  for (const p of processes) await p.proc.stop();
  for (const pod of pods) await pod.stop();
  await clusters.east.stop();
  await clusters.west.stop();
  await registry.stop();
});
const reader = registry.client("gateway");
cleanup(() => reader.close());
const TOKEN = "east-publisher-token";

const tls = async (user: string): Promise<string[]> => {
  const c = await registry.credentials(user);
  return [`--etcd-ca=${registry.ca.cert}`, `--etcd-cert=${c.cert}`, `--etcd-key=${c.key}`];
};

const operator = async (name: "east" | "west", id: string): Promise<OperatorProcess> => {
  const op = await startOperator(clusters[name], {
    clusterName: name,
    id,
    etcd: registry.url,
    leaseNamespace: "default",
    extraArgs: [...(await tls(name)), "--heartbeat-ttl=3s"],
  });
  processes.push(op);
  return op;
};

const gateway = async (name: "east" | "west", id: string, namespace?: string): Promise<GatewayProcess> => {
  const gwDir = join(dir, `gw-${id}`);
  mkdirSync(gwDir, { recursive: true });
  const gw = await startGateway({
    etcd: registry.url,
    clusterName: name,
    dir: gwDir,
    name: id,
    ...(namespace ? { namespace } : {}),
    extraArgs: await tls("gateway"),
  });
  processes.push(gw);
  return gw;
};

const apply = (name: "east" | "west", yaml: string) => clusters[name].kubectl(["apply", "-f", "-"], yaml);

const namespaceAndVpn = (members: string[]) => `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop-west }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: shop }
spec:
  namespaces: { names: [${members.join(", ")}] }
  publishers: [{ name: ci, tokenSecretRef: { namespace: shop, name: publisher, key: token } }]
---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: shop }
stringData: { token: ${TOKEN} }
`;

const serviceFunction = (name: string, externalUrl?: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: shop }
spec: { selector: { app: ${name} }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: ${name}, namespace: shop }
spec:
  vpn: shop
  target: { service: { name: ${name}, port: 80, path: /${name} } }
${externalUrl ? `  external: { url: "${externalUrl}" }\n` : ""}`;

const syncSubscription = (name: string, fn: string, type: string) => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: ${name}, namespace: shop }
spec: { vpn: shop, function: ${fn}, mode: sync, filters: [{ exact: { type: ${type} } }] }
`;

const pod = async (name: "east" | "west", podName: string, app: string): Promise<SimulatedPod> => {
  const p = await startPod(clusters[name], { namespace: "shop", name: podName, labels: { app } });
  pods.push(p);
  return p;
};

const send = async (
  gw: GatewayProcess,
  type: string,
): Promise<{ status: number; pod?: string; path?: string }> => {
  const res = await fetch(`${gw.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "ce-specversion": "1.0",
      "ce-id": `${Date.now()}`,
      "ce-source": "/mc",
      "ce-type": type,
      "content-type": "application/json",
    },
    body: "{}",
  });
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { pod: string; path: string };
  return { status: 200, pod: body.pod, path: body.path };
};

const wait = (what: string, check: () => Promise<boolean>) =>
  waitFor(what, async () => ((await check()) ? true : undefined), { timeoutMs: 60_000 });

const subtree = async (cluster: string): Promise<Record<string, string>> => {
  const all = await reader.getAll().prefix(clusterSubtree(cluster)).strings();
  return Object.fromEntries(
    Object.entries(all).filter(([k]) => !k.endsWith("/heartbeat") && !k.endsWith("/leader")),
  );
};

let eastGw: GatewayProcess;
let westGw: GatewayProcess;
let westOperator: OperatorProcess;
let eastOperator: OperatorProcess;
let ordersEast: SimulatedPod;

test("a function declared only in west receives events published in east, called directly", async () => {
  await Promise.all([installCrds(clusters.east), installCrds(clusters.west)]);
  await apply("east", namespaceAndVpn(["shop"]));
  await apply("west", namespaceAndVpn(["shop", "shop-west"]));
  const inventory = await pod("west", "inventory-w1", "inventory");
  await apply("west", serviceFunction("inventory", `${inventory.url}/inventory`));
  await apply("east", syncSubscription("inventory-sync", "inventory", "com.shop.inventory"));
  westOperator = await operator("west", "west-op");
  eastOperator = await operator("east", "east-op");
  await clusters.west.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "function/inventory",
  ]);
  await clusters.east.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "subscription/inventory-sync",
  ]);
  const reason = await clusters.east.kubectl([
    "get",
    "subscription",
    "inventory-sync",
    "-n",
    "shop",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="FunctionFound")].reason}',
  ]);
  assert.equal(reason, "FoundInOtherCluster");

  eastGw = await gateway("east", "east-gw");
  westGw = await gateway("west", "west-gw");
  await wait(
    "east's gateway to route to west's function",
    async () => (await send(eastGw, "com.shop.inventory")).status === 200,
  );
  const answer = await send(eastGw, "com.shop.inventory");
  assert.deepEqual(answer, { status: 200, pod: "inventory-w1", path: "/inventory" });
  assert.equal(
    (await westGw.metric('switchboard_gateway_deliveries_total{mode="sync"')) ?? 0,
    0,
    "never through west's gateway",
  );
});

test("a function in both clusters is served locally first, fails over to the other cluster, and comes back", async () => {
  ordersEast = await pod("east", "orders-e1", "orders");
  const ordersWest = await pod("west", "orders-w1", "orders");
  await apply("east", serviceFunction("orders"));
  await apply("west", serviceFunction("orders", `${ordersWest.url}/orders`));
  await apply("east", syncSubscription("orders-sync", "orders", "com.shop.orders"));
  await clusters.east.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "subscription/orders-sync",
    "function/orders",
  ]);
  await clusters.west.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "shop",
    "function/orders",
  ]);
  await wait(
    "east's own pod to answer",
    async () => (await send(eastGw, "com.shop.orders")).pod === "orders-e1",
  );
  await ordersEast.setReady(false);
  await wait("failover to west", async () => (await send(eastGw, "com.shop.orders")).pod === "orders-w1");
  await ordersEast.setReady(true);
  await wait("back to east", async () => (await send(eastGw, "com.shop.orders")).pod === "orders-e1");
});

test("a VPN declared in both clusters with different members is their union", async () => {
  // shop-west is a member only in west's declaration; east's gateway accepts its pods all the same.
  const sidecar = await gateway("east", "east-sidecar", "shop-west");
  const res = await fetch(`${sidecar.url}/`, {
    method: "POST",
    headers: {
      "ce-specversion": "1.0",
      "ce-id": "m1",
      "ce-source": "/mc",
      "ce-type": "com.shop.orders",
      "content-type": "application/json",
    },
    body: "{}",
  });
  assert.equal(res.status, 200, await res.clone().text());
});

test("each operator writes only its own keys: restarting both leaves the other's records intact", async () => {
  const before = { east: await subtree("east"), west: await subtree("west") };
  assert.ok(Object.keys(before.east).length >= 4 && Object.keys(before.west).length >= 3);
  await eastOperator.proc.stop();
  await westOperator.proc.stop();
  eastOperator = await operator("east", "east-op-2");
  westOperator = await operator("west", "west-op-2");
  await wait(
    "both operators to lead",
    async () => (await eastOperator.isLeader()) && (await westOperator.isLeader()),
  );
  await wait(
    "the reconciles after the restart to settle",
    async () =>
      ((await eastOperator.metric(
        'switchboard_operator_reconciles_total{kind="Subscription",result="success"}',
      )) ?? 0) >= 2,
  );
  assert.deepEqual(await subtree("east"), before.east);
  assert.deepEqual(await subtree("west"), before.west);
});

test("examples/two-clusters as written: west's gateway delivers to the function only east declares, at its external URL", async () => {
  const bookings = await startFunction();
  cleanup(() => bookings.close());
  // Only the function's addresses change: in-cluster and external, both to this test's server.
  const example = (file: string): string =>
    readFileSync(join(repoRoot, "examples", "two-clusters", file), "utf8")
      .replace("http://bookings.travel.svc.cluster.local:8080/events", `${bookings.url}/internal`)
      .replace("https://bookings.east.example.com/events", `${bookings.url}/external`);
  await apply("east", example("east.yaml"));
  await apply("west", example("west.yaml"));
  await clusters.west.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    "travel",
    "subscription/book-trips",
  ]);
  const found = await clusters.west.kubectl([
    "get",
    "subscription",
    "book-trips",
    "-n",
    "travel",
    "-o",
    'jsonpath={.status.conditions[?(@.type=="FunctionFound")].reason}',
  ]);
  assert.equal(found, "FoundInOtherCluster");
  const res = await fetch(`${westGw.url}/`, {
    method: "POST",
    headers: {
      authorization: "Bearer travel-example-token",
      "ce-specversion": "1.0",
      "ce-id": "trip-1",
      "ce-source": "/examples",
      "ce-type": "com.example.trip.booked",
      "content-type": "application/json",
    },
    body: '{"trip":"LIS-OSL"}',
  });
  assert.deepEqual(
    { status: res.status, body: await res.text() },
    { status: 202, body: '{"accepted":1,"deliveries":1}' },
  );
  const [got] = await bookings.waitFor(1);
  assert.equal(got?.path, "/external");
  assert.equal(got?.headers["ce-id"], "trip-1");
});

test("a cluster whose operator is gone longer than the heartbeat lease is marked unavailable", async () => {
  await wait(
    "west available",
    async () => (await eastGw.metric('switchboard_gateway_cluster_available{cluster="west"}')) === 1,
  );
  westOperator.proc.stop(0);
  await westOperator.proc.exited;
  await wait(
    "west unavailable after its lease expired",
    async () => (await eastGw.metric('switchboard_gateway_cluster_available{cluster="west"}')) === 0,
  );
  // Its instances are not chosen while another exists.
  assert.equal((await send(eastGw, "com.shop.orders")).pod, "orders-e1");
});
