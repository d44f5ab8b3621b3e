// The local node end to end: `startCluster({ node: true })` gives a Ready node on which a pod from
// a locally built image runs, answers on its pod IP, is found by name through CoreDNS and reached
// by ClusterIP through kube-proxy; Deployments schedule; `kubectl logs` works; and after `stop()`
// the machine is as it was. Needs root; takes the machine's node lock (one node at a time).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { DNS_IP, NODE_IP, POD_CIDR } from "./addresses.ts";
import { type ClusterInfo, connect, startCluster } from "./cluster.ts";
import { BUSYBOX_IMAGE, busyboxImage } from "./node/busybox.ts";
import { hostState } from "./node/host-state.ts";
import { waitFor } from "./proc.ts";
import { repoRoot } from "./tools.ts";

mkdirSync(join(repoRoot, ".work"), { recursive: true });
const dir = mkdtempSync(join(repoRoot, ".work", "node-"));
const before = await hostState(dir);
const upStart = performance.now();
const cluster = await startCluster({ dir, name: "node", node: true });
const upMs = Math.round(performance.now() - upStart);
let stopped = false;
after(async () => {
  if (!stopped) await cluster.stop();
  if (process.exitCode === undefined || process.exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`logs kept in ${dir}`);
});
const ns = "smoke";
await cluster.kubectl(["create", "namespace", ns]);
await cluster.localNode.importImage(await busyboxImage());

/** `node e2e/cluster.ts up --node --dir DIR` as a user runs it; `output()` is what it printed so far. */
const clusterCli = (cliDir: string): { child: ChildProcess; output: () => string } => {
  const child = spawn(process.execPath, [join(repoRoot, "e2e/cluster.ts"), "up", "--node", "--dir", cliDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  return { child, output: () => out };
};

/** `clusterCli` once it has printed "node ready". */
const readyCli = async (cliDir: string): Promise<ReturnType<typeof clusterCli>> => {
  const cli = clusterCli(cliDir);
  await waitFor(
    "the CLI to report the node ready",
    async () => (cli.output().includes("node ready") ? true : undefined),
    {
      timeoutMs: 120_000,
    },
  );
  return cli;
};

const kubectl = (args: readonly string[], input?: string): Promise<string> =>
  cluster.kubectl(["-n", ns, ...args], input);

const webPod = (name: string, labels: string): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {${labels}}}
spec:
  containers:
  - name: web
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo hello from $(hostname) > /tmp/index.html && exec httpd -f -v -p 8080 -h /tmp"]
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
`;

test("the node registers Ready and schedulable, with the bridge address as its InternalIP", async (t) => {
  t.diagnostic(`cluster up with a node (Node Ready, no not-ready taint): ${upMs} ms`);
  const node = JSON.parse(await cluster.kubectl(["get", "node", cluster.node.name, "-o", "json"])) as {
    spec: { taints?: unknown[] };
    status: {
      addresses: { type: string; address: string }[];
      conditions: { type: string; status: string }[];
    };
  };
  assert.equal(node.status.conditions.find((c) => c.type === "Ready")?.status, "True");
  assert.deepEqual(node.spec.taints ?? [], []);
  assert.deepEqual(
    node.status.addresses.filter((a) => a.type === "InternalIP").map((a) => a.address),
    [NODE_IP],
  );
});

test("a pod from a locally built image runs Ready and answers on its pod IP from the host", async (t) => {
  const created = performance.now();
  await kubectl(["apply", "-f", "-"], webPod("web", "app: web"));
  await kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=60s"]);
  t.diagnostic(`pod create → Ready: ${Math.round(performance.now() - created)} ms`);
  const ip = await kubectl(["get", "pod", "web", "-o", "jsonpath={.status.podIP}"]);
  assert.ok(ip.startsWith(POD_CIDR.slice(0, POD_CIDR.lastIndexOf("."))), `pod IP ${ip} outside ${POD_CIDR}`);
  const res = await fetch(`http://${ip}:8080/index.html`);
  assert.equal(await res.text(), "hello from web\n");
});

test("a Service is found by name through CoreDNS from another pod and reached by ClusterIP through kube-proxy", async () => {
  await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - {name: client, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: ["sleep", "3600"]}
  terminationGracePeriodSeconds: 0
`,
  );
  await kubectl(["wait", "--for=condition=Ready", "pod/client", "--timeout=60s"]);
  const clusterIp = await kubectl(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"]);
  const name = `web.${ns}.svc.cluster.local`;
  const lookup = await kubectl(["exec", "client", "--", "nslookup", name]);
  assert.match(lookup, new RegExp(`Server:\\s+${DNS_IP.replaceAll(".", "\\.")}`));
  assert.match(lookup, new RegExp(`Name:\\s+${name.replaceAll(".", "\\.")}\\s+Address: ${clusterIp}`));
  // The endpoint follows the pod's readiness: wait for kube-proxy to have it.
  const body = await waitFor("the Service to answer from the client pod", () =>
    kubectl(["exec", "client", "--", "wget", "-O-", `http://web/index.html`]),
  );
  assert.equal(body, "hello from web\n");
  assert.equal(await (await fetch(`http://${clusterIp}/index.html`)).text(), "hello from web\n");
});

test("pods reach the API server through the `kubernetes` Service", async () => {
  // Plain HTTP to the HTTPS port: the API server's own answer proves the route end to end.
  const err = await kubectl([
    "exec",
    "client",
    "--",
    "wget",
    "-O-",
    "http://kubernetes.default.svc:443/",
  ]).then(
    () => "",
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  assert.match(err, /Connecting to kubernetes\.default\.svc:443 \(10\.96\.0\.1:443\)/);
  assert.match(err, /400 Bad Request/);
});

test("a Deployment of 2 replicas is scheduled by kube-scheduler and becomes Available", async () => {
  await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: fleet}
spec:
  replicas: 2
  selector: {matchLabels: {app: fleet}}
  template:
    metadata: {labels: {app: fleet}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {name: fleet, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: ["sleep", "3600"]}
`,
  );
  await kubectl(["wait", "--for=condition=Available", "deployment/fleet", "--timeout=60s"]);
  const nodes = await kubectl(["get", "pods", "-l", "app=fleet", "-o", "jsonpath={.items[*].spec.nodeName}"]);
  assert.deepEqual(nodes.split(" "), [cluster.node.name, cluster.node.name]);
});

test("kubectl logs shows what the container wrote (httpd's request log)", async () => {
  const logs = await kubectl(["logs", "web"]);
  assert.match(logs, /response:200/);
});

test("a second node on the same machine is refused, naming the one that runs", async () => {
  const cliDir = mkdtempSync(join(repoRoot, ".work", "node-second-"));
  try {
    const { child, output } = clusterCli(cliDir);
    const [code] = await once(child, "exit");
    assert.equal(code, 1, output());
    assert.match(
      output(),
      new RegExp(
        `another local node is running on this machine \\(pid ${process.pid}, directory ${dir}/node\\)`,
      ),
    );
  } finally {
    rmSync(cliDir, { recursive: true, force: true });
  }
});

test("stop removes everything the node made: processes, mounts, links, nft rules, cgroups, files, sysctls", async () => {
  stopped = true;
  await cluster.stop();
  assert.deepEqual(await hostState(dir), before);
});

test("`cluster up --node` runs a Ready node until SIGINT, then leaves the machine as before", async () => {
  const cliDir = mkdtempSync(join(repoRoot, ".work", "node-cli-"));
  try {
    const { child, output } = await readyCli(cliDir);
    const cli = connect(JSON.parse(readFileSync(join(cliDir, "cluster.json"), "utf8")) as ClusterInfo);
    const ready = await cli.kubectl([
      "get",
      "node",
      "switchboard-node",
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    assert.equal(ready, "True");
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, output());
    assert.deepEqual(await hostState(join(cliDir, "node")), { ...before, processes: [] });
  } finally {
    rmSync(cliDir, { recursive: true, force: true });
  }
});

const childPids = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

test("a node whose process was killed is torn down by the next one, which then starts", async () => {
  const deadDir = mkdtempSync(join(repoRoot, ".work", "node-killed-"));
  const nextDir = mkdtempSync(join(repoRoot, ".work", "node-next-"));
  try {
    const { child } = await readyCli(deadDir);
    assert.ok(child.pid);
    const controlPlane = childPids(child.pid).filter((pid) =>
      /\/(etcd|kube-apiserver|kube-controller-manager) /.test(
        readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "),
      ),
    );
    assert.equal(controlPlane.length, 3);
    child.kill("SIGKILL");
    await once(child, "exit");
    // The control plane is this test's to stop; the node's leftovers are the next node's to clean.
    for (const pid of controlPlane) process.kill(pid, "SIGKILL");
    const next = await startCluster({ dir: nextDir, name: "next", node: true });
    await next.stop();
    assert.deepEqual(await hostState(join(nextDir, "node")), { ...before, processes: [] });
  } finally {
    rmSync(deadDir, { recursive: true, force: true });
    rmSync(nextDir, { recursive: true, force: true });
  }
});
