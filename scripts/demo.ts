// The demo: a local control plane, the operator, a gateway, the CRDs and examples/, two pods for
// the `orders` function, everything Ready; then it prints what to paste, shows the requests the
// pods receive, and tears everything down on Ctrl-C.
//   node scripts/demo.ts [--dir DIR] [--port 8080] [--metrics-port 9090]
import { existsSync, mkdirSync, readFileSync, rmSync, watchFile } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../common/errors.ts";
import { installCrds } from "../crds/install.ts";
import { startCluster } from "../e2e/cluster.ts";
import { startGateway } from "../e2e/gateway.ts";
import { startOperator } from "../e2e/operator.ts";
import { type SimulatedPod, startPod } from "../e2e/pods.ts";
import { repoRoot, toolPath } from "../e2e/tools.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: join(repoRoot, ".work", "demo") },
    port: { type: "string", default: "8080" },
    "metrics-port": { type: "string", default: "9090" },
  },
});
const dir = values.dir;
const TOKEN = "example-token-do-not-use-in-production";
const steps = 6;
let n = 0;
const step = (what: string): void => console.log(`\n[${++n}/${steps}] ${what}`);

if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const stops: (() => Promise<void>)[] = [];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(String(err)));
};
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping the demo…");
    void stopAll().then(() => {
      console.log("stopped; everything it started is gone");
      process.exit(0);
    });
  });
}

try {
  step("starting etcd, kube-apiserver and kube-controller-manager");
  const cluster = await startCluster({ dir, name: "demo" });
  stops.push(() => cluster.stop());
  step("installing the CRDs and examples/");
  await installCrds(cluster);
  console.log((await cluster.kubectl(["apply", "-f", join(repoRoot, "examples")])).trim());
  step("starting two pods for the orders function (network namespaces, real pod addresses)");
  const pods: SimulatedPod[] = [];
  for (const name of ["orders-1", "orders-2"]) {
    const pod = await startPod(cluster, { namespace: "shop", name, labels: { app: "orders" } });
    pods.push(pod);
    stops.push(() => pod.stop());
    console.log(`  ${name} at ${pod.url}`);
  }
  step("starting the operator and a gateway");
  const operator = await startOperator(cluster, {
    clusterName: "demo",
    id: "demo-operator",
    etcd: cluster.etcd,
    leaseNamespace: "default",
    // The demo's functions are pods: the gateway's default egress policy applies unchanged.
    egressAllow: [],
  });
  stops.push(() => operator.proc.stop());
  const gateway = await startGateway({
    etcd: cluster.etcd,
    clusterName: "demo",
    dir,
    name: "demo",
    listenPort: Number(values.port),
    metricsPort: Number(values["metrics-port"]),
    egressAllow: [],
  });
  stops.push(() => gateway.proc.stop());
  step("waiting until every object is Ready");
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=120s", "vpn/shop"]);
  for (const kind of ["functions.switchboard.dev", "subscriptions.switchboard.dev"]) {
    await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=120s", "-n", "shop", kind, "--all"]);
  }
  step("ready");
  const kubectl = `${toolPath("kubectl")} --kubeconfig ${cluster.kubeconfig}`;
  console.log(`
Switchboard is running. Paste these in another terminal:

  # the resources and their status
  ${kubectl} get switchboard -A

  # publish a CloudEvent as the example publisher (async: 202, delivered to an orders pod)
  curl -i ${gateway.url}/ -H "Authorization: Bearer ${TOKEN}" -H "ce-specversion: 1.0" -H "ce-id: 1" -H "ce-source: /demo" -H "ce-type: com.example.order.created" -H "content-type: application/json" -d '{"amount": 42}'

  # call the sync HTTP route GET /orders/:id (answered by an orders pod)
  curl -i ${gateway.url}/orders/42 -H "Authorization: Bearer ${TOKEN}"

  # metrics, and why an event would (not) reach each subscription
  curl -s ${gateway.adminUrl}/metrics | grep switchboard_gateway
  curl -s "${gateway.adminUrl}/explain?vpn=shop" -H "Authorization: Bearer ${TOKEN}" -H "ce-specversion: 1.0" -H "ce-id: 1" -H "ce-source: /demo" -H "ce-type: com.example.order.created" -H "content-type: application/json" -d '{"amount": 0}'

Requests the orders pods receive are shown below. Ctrl-C stops everything.
`);
  for (const pod of pods) {
    let seen = 0;
    watchFile(pod.proc.log, { interval: 250 }, () => {
      const lines = readFileSync(pod.proc.log, "utf8").split("\n").filter(Boolean);
      for (const line of lines.slice(seen))
        if (line.includes('"request"')) console.log(`  [${pod.name}] ${line}`);
      seen = lines.length;
    });
  }
  console.log("demo ready");
} catch (err) {
  console.error(`the demo failed: ${errorMessage(err)}\nlogs are in ${dir}`);
  await stopAll();
  process.exit(1);
}
