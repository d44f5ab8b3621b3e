// `kubectl switchboard` end to end: the plugin installed the documented way (npm run
// plugin:install) into a directory on the PATH this test gives kubectl, then each command run as
// kubectl runs it, against the local control plane, the real operator and a real gateway.
// Gateways run as host processes here, so commands reach them with --url/--admin-url; the
// port-forward path (the default) is checked as far as the local cluster allows: the gateway
// Service and its pods are found, and kubectl's forward to a simulated pod fails (no kubelet).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { installCrds } from "../crds/install.ts";
import { startFunction } from "../e2e/functions.ts";
import { startGateway } from "../e2e/gateway.ts";
import {
  cleanup,
  exclusive,
  tenantYaml,
  testCluster,
  testEtcd,
  uniqueName,
  waitReady,
} from "../e2e/harness.ts";
import { startNatsCluster } from "../e2e/nats.ts";
import { startOperator } from "../e2e/operator.ts";
import { startPod } from "../e2e/pods.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot, toolPath } from "../e2e/tools.ts";
import { GATEWAY_SELECTOR, OPERATOR_SELECTOR } from "./support/gateway.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("cli");
const ns = uniqueName("cli");
const vpn = uniqueName("cli");
const token = `token-${uniqueName("t")}`;

const quote = await startFunction(() => ({
  headers: { "content-type": "application/json" },
  body: '{"answer":42}',
}));
cleanup(() => quote.close());
const audit = await startFunction();
cleanup(() => audit.close());

await cluster.kubectl(
  ["apply", "-f", "-"],
  `${tenantYaml(ns, vpn, token)}apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: quote, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${quote.url}/quote" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: audit, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${audit.url}/audit" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: quote, namespace: ${ns} }
spec: { vpn: ${vpn}, function: quote, mode: sync, filters: [{ exact: { type: com.example.quote.requested } }] }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: audit, namespace: ${ns} }
spec: { vpn: ${vpn}, function: audit, mode: async, filters: [{ prefix: { type: com.example.order. } }] }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: payments, namespace: ${ns} }
spec: { vpn: ${vpn}, function: audit, mode: async, filters: [{ prefix: { type: com.example.payment. } }] }
`,
);
const operator = await startOperator(cluster, {
  clusterName,
  id: "cli-op",
  etcd: etcdUrl,
  leaseNamespace: ns,
});
cleanup(() => operator.proc.stop());
await waitReady(cluster, [`vpn/${vpn}`]);
await waitReady(cluster, ["functions.switchboard.dev", "--all"], ns);
await waitReady(cluster, ["subscriptions.switchboard.dev", "--all"], ns);
const gateway = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "cli" });
cleanup(() => gateway.proc.stop());

// The plugin, installed as the README says, into a directory only this test's PATH names.
mkdirSync(join(repoRoot, ".work"), { recursive: true });
const home = mkdtempSync(join(repoRoot, ".work", "cli-plugin-"));
cleanup(() => rmSync(home, { recursive: true, force: true }));
const bin = join(home, "bin");
const install = await run("bash", ["-c", `npm run plugin:install -- --dir ${bin}`], { cwd: repoRoot });
const kubectl = toolPath("kubectl");
// This Node (≥ 24) first: the installed plugin runs scripts/node24.sh, which then uses it rather
// than fetch one into this test's HOME.
const env = {
  PATH: `${bin}:${dirname(kubectl)}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  HOME: home,
  KUBECONFIG: cluster.kubeconfig,
};

/** Requests the audit function should have received once every event sent to it so far has arrived. */
let auditExpected = 0;
/** The request with ce-id `id` at the audit function, once every event sent to it so far has arrived. */
const auditReceived = async (id: string) =>
  (await audit.waitFor(auditExpected)).find((r) => r.headers["ce-id"] === id);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; `onStderr` sees stderr as it arrives. */
function run(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onStderr?: (all: string) => void } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? home, env: opts.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `kubectl switchboard ARGS...`, as a user runs it. */
const sb = (args: readonly string[], onStderr?: (all: string) => void): Promise<Result> =>
  run(kubectl, ["switchboard", ...args], { env, ...(onStderr ? { onStderr } : {}) });

test("npm run plugin:install writes the plugin where kubectl finds it", async () => {
  assert.equal(install.code, 0, install.stderr);
  assert.match(
    install.stdout,
    new RegExp(`installed ${bin}/kubectl-switchboard and ${bin}/kubectl_complete-switchboard`),
  );
  const list = await run(kubectl, ["plugin", "list", "--name-only"], { env });
  assert.match(list.stdout, /^kubectl-switchboard$/m);
});

test("status lists the namespace's VPN, Functions and Subscriptions, all Ready, and the gateways the operator knows", async () => {
  const text = await sb(["status", "-n", ns]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split("\n");
  assert.equal(lines[0], `6 objects in namespace ${ns}, all Ready`);
  assert.match(lines[2] ?? "", /^KIND\s+NAMESPACE\s+NAME\s+READY\s+REASON\s+MESSAGE$/);
  const rows = lines.slice(3, 9).map((l) => l.split(/\s+/).slice(0, 4).join(" "));
  assert.deepEqual(rows, [
    `VPN - ${vpn} True`,
    `Function ${ns} audit True`,
    `Function ${ns} quote True`,
    `Subscription ${ns} audit True`,
    `Subscription ${ns} payments True`,
    `Subscription ${ns} quote True`,
  ]);
  assert.deepEqual(lines.slice(9), [
    "",
    "GATEWAYS",
    `gateways unknown: no operator Service found (labels ${OPERATOR_SELECTOR}); pass --operator-url`,
    "",
  ]);

  // With the operator's admin port: the gateway, shared, at the newest revision, ready.
  const withGateways = await sb(["status", "-n", ns, "--operator-url", operator.adminUrl]);
  assert.equal(withGateways.code, 0, withGateways.stderr);
  const section = withGateways.stdout.split("\nGATEWAYS\n")[1]?.split("\n") ?? [];
  assert.equal(section[0], `1 gateway in cluster ${clusterName}, all at the newest revision`);
  assert.match(section[1] ?? "", /^ID\s+NAMESPACE\s+VERSION\s+REVISION\s+APPLIED\s+READY$/);
  assert.match(section[2] ?? "", /^cli\s+\(shared\)\s+\S+\s+\d+\s+\d+s\s+True$/);

  const json = await sb(["status", "-n", ns, "-o", "json"]);
  const report = JSON.parse(json.stdout) as { objects: { name: string; ready: string }[]; notReady: number };
  assert.equal(report.notReady, 0);
  assert.equal(report.objects.length, 6);
  assert.ok(report.objects.every((o) => o.ready === "True"));
  const yaml = await sb(["status", "-n", ns, "-o", "yaml"]);
  assert.deepEqual(parse(yaml.stdout), report);
});

test("status lists an object that is not Ready first, with the reason and message", async (t) => {
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: orphan, namespace: ${ns} }
spec: { vpn: ${vpn}, function: missing, mode: async }
`,
  );
  t.after(() => cluster.kubectl(["delete", "-n", ns, "subscriptions.switchboard.dev", "orphan"]));
  await cluster.kubectl([
    "wait",
    "-n",
    ns,
    "--for=condition=Ready=False",
    "--timeout=60s",
    "subscriptions.switchboard.dev/orphan",
  ]);
  const res = await sb(["status", "-n", ns]);
  const lines = res.stdout.split("\n");
  assert.equal(lines[0], `1 of 7 objects in namespace ${ns} not Ready (listed first)`);
  assert.deepEqual(lines[3]?.split(/\s{2,}/), [
    "Subscription",
    ns,
    "orphan",
    "False",
    "FunctionNotFound",
    `function ${ns}/missing does not exist in VPN ${vpn} in any cluster`,
  ]);
});

test("publish sends an async event: 202 and the function receives it; --sync gets the function's answer", async () => {
  const async = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.example.order.created",
    "--source",
    "/shop",
    "--id",
    "order-1",
    "--data",
    '{"amount":3}',
    "--url",
    gateway.url,
  ]);
  assert.equal(async.code, 0, async.stderr);
  assert.equal(async.stdout, "202 Accepted: event order-1 accepted for async delivery to 1 subscription\n");
  auditExpected++;
  const received = await auditReceived("order-1");
  assert.equal(received?.path, "/audit");
  assert.equal(received?.headers["ce-type"], "com.example.order.created");
  assert.equal(received?.headers["content-type"], "application/json");
  assert.equal(received?.body, '{"amount":3}');

  const sync = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.example.quote.requested",
    "--sync",
    "--url",
    gateway.url,
  ]);
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(sync.stdout, '200 OK\n{"answer":42}\n');
  const json = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.example.quote.requested",
    "--id",
    "q-2",
    "--url",
    gateway.url,
    "-o",
    "json",
  ]);
  assert.deepEqual(JSON.parse(json.stdout), {
    status: 200,
    id: "q-2",
    type: "com.example.quote.requested",
    body: { answer: 42 },
    contentType: "application/json",
  });

  const notSync = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.example.order.paid",
    "--sync",
    "--url",
    gateway.url,
  ]);
  auditExpected++;
  assert.equal(notSync.code, 1);
  assert.match(
    notSync.stderr,
    /^--sync: the gateway accepted the event for async delivery: no sync Subscription matched it/,
  );
});

test("publish from a structured-mode file", async () => {
  const file = join(home, "event.json");
  writeFileSync(
    file,
    JSON.stringify({
      specversion: "1.0",
      id: "file-1",
      source: "/file",
      type: "com.example.order.filed",
      data: { n: 1 },
    }),
  );
  const res = await sb(["publish", "--vpn", vpn, "-f", file, "--url", gateway.url]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "202 Accepted: event file-1 accepted for async delivery to 1 subscription\n");
  auditExpected++;
  assert.equal((await auditReceived("file-1"))?.body, '{"n":1}');
});

test("publish prints the status and problem details when the gateway refuses, and says what to do otherwise", async () => {
  const badToken = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.x",
    "--token",
    "nope",
    "--url",
    gateway.url,
  ]);
  assert.equal(badToken.code, 1);
  assert.equal(
    badToken.stderr,
    "HTTP 401 Unauthorized\ntype: https://switchboard.dev/problems/unauthorized\ntitle: Unauthorized\ndetail: the bearer token is not a publisher token of any VPN\n",
  );
  const noVpn = await sb(["publish", "--vpn", "nope", "--type", "com.x", "--url", gateway.url]);
  assert.equal(noVpn.code, 1);
  assert.equal(
    noVpn.stderr,
    "kubectl switchboard publish: VPN nope not found: kubectl get vpns lists the VPNs (they are cluster-scoped)\n",
  );
  const down = await sb(["publish", "--vpn", vpn, "--type", "com.x", "--url", "http://127.0.0.1:1"]);
  assert.equal(down.code, 1);
  assert.match(
    down.stderr,
    /^kubectl switchboard publish: gateway unreachable at http:\/\/127\.0\.0\.1:1 \(/,
  );
  const noConfig = await run(kubectl, ["switchboard", "status"], { env: { ...env, KUBECONFIG: "" } });
  assert.equal(noConfig.code, 1);
  assert.match(
    noConfig.stderr,
    /^kubectl switchboard status: no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE/,
  );
  const usage = await sb(["publish", "--vpn", vpn]);
  assert.equal(usage.code, 2);
  assert.equal(
    usage.stderr,
    "kubectl switchboard publish: --type is required (or --file FILE with a whole event)\n",
  );
});

test("without --url the plugin port-forwards to the gateway Service, and says what to do when it cannot", async () => {
  const missing = await sb(["publish", "--vpn", vpn, "--type", "com.x", "--gateway", `${ns}/nope`]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `kubectl switchboard publish: no gateway Service ${ns}/nope (with labels ${GATEWAY_SELECTOR}); kubectl get svc -A -l ${GATEWAY_SELECTOR} lists them\n`,
  );
  // A gateway Service as the chart labels it, in front of a simulated pod: the local cluster has
  // no kubelet, so kubectl finds the pod and the forward itself fails.
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Service
metadata:
  name: gw
  namespace: ${ns}
  labels: { app.kubernetes.io/name: switchboard, app.kubernetes.io/component: gateway }
spec:
  selector: { app: cli-gw }
  ports: [{ name: http, port: 80, targetPort: 8080 }, { name: metrics, port: 9090, targetPort: 9090 }]
`,
  );
  const pod = await startPod(cluster, { namespace: ns, name: "gw-0", labels: { app: "cli-gw" } });
  cleanup(() => pod.stop());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Service
metadata:
  name: gw-idle
  namespace: ${ns}
  labels: { app.kubernetes.io/name: switchboard, app.kubernetes.io/component: gateway }
spec:
  selector: { app: cli-gw-idle }
  ports: [{ name: http, port: 80, targetPort: 8080 }, { name: metrics, port: 9090, targetPort: 9090 }]
`,
  );
  const idle = await sb(["tail", "audit", "-n", ns, "--gateway", `${ns}/gw-idle`]);
  assert.equal(idle.code, 1);
  assert.equal(
    idle.stderr,
    `kubectl switchboard tail: gateway Service ${ns}/gw-idle has no Ready pod: kubectl -n ${ns} get pods -l ${GATEWAY_SELECTOR}\n`,
  );
  // tail forwards to each Ready pod of the Service (a gateway streams only its own deliveries).
  const tail = await sb(["tail", "audit", "-n", ns, "--gateway", `${ns}/gw`]);
  assert.equal(tail.code, 1);
  assert.match(
    tail.stderr,
    new RegExp(
      `^kubectl switchboard tail: cannot port-forward to gateway pod ${ns}/gw-0: error: error upgrading connection: .+; check its pods`,
    ),
  );
  const res = await sb(["explain", "--vpn", vpn, "--type", "com.x", "--gateway", `${ns}/gw`]);
  assert.equal(res.code, 1);
  assert.match(
    res.stderr,
    new RegExp(
      `^kubectl switchboard explain: cannot port-forward to gateway Service ${ns}/gw: error: error upgrading connection: .+; check its pods \\(kubectl -n ${ns} get pods -l ${GATEWAY_SELECTOR}\\) or pass --url/--admin-url\n$`,
      "s",
    ),
  );
});

test("explain names the subscription the event reaches and why the others do not", async () => {
  const res = await sb([
    "explain",
    "--vpn",
    vpn,
    "--type",
    "com.example.order.created",
    "--id",
    "e-1",
    "--admin-url",
    gateway.adminUrl,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.split("\n");
  assert.match(
    lines[0] ?? "",
    new RegExp(
      `^event com\\.example\\.order\\.created \\(id e-1\\) reaches 1 of 3 subscriptions of VPN ${vpn} \\(registry revision \\d+\\)$`,
    ),
  );
  assert.match(lines[1] ?? "", /^REACHES\s+SUBSCRIPTION\s+MODE\s+WHY$/);
  const rows = lines.slice(2, 5).map((l) => l.split(/\s{2,}/));
  assert.deepEqual(
    rows.map((r) => r.slice(0, 3)),
    [
      ["yes", `${ns}/audit`, "async"],
      ["no", `${ns}/payments`, "async"],
      ["no", `${ns}/quote`, "sync"],
    ],
  );
  assert.deepEqual(
    rows.map((r) => r[3]),
    [
      "prefix type 'com.example.order.' matched",
      "prefix type 'com.example.payment.' did not match 'com.example.order.created'",
      "exact type = 'com.example.quote.requested' did not match 'com.example.order.created'",
    ],
  );

  const json = await sb([
    "explain",
    "--vpn",
    vpn,
    "--type",
    "com.example.payment.done",
    "--admin-url",
    gateway.adminUrl,
    "-o",
    "json",
  ]);
  const report = JSON.parse(json.stdout) as { subscriptions: { name: string; matched: boolean }[] };
  assert.deepEqual(
    report.subscriptions.filter((s) => s.matched).map((s) => s.name),
    ["payments"],
  );
});

test("tail shows a delivery published while it follows", async () => {
  const tail = startTail(
    ["audit", "-n", ns, "--admin-url", gateway.adminUrl, "--count", "1"],
    gateway.adminUrl,
  );
  await tail.following;
  const published = await sb([
    "publish",
    "--vpn",
    vpn,
    "--type",
    "com.example.order.tailed",
    "--source",
    "/tail",
    "--id",
    "tail-1",
    "--url",
    gateway.url,
  ]);
  assert.equal(published.code, 0, published.stderr);
  auditExpected++;
  const res = await tail.done;
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stdout,
    new RegExp(
      `^\\S+Z  delivered  200  id=tail-1  type=com\\.example\\.order\\.tailed  source=/tail  attempts=1  function=${ns}/audit  url=${audit.url}/audit\\n$`,
    ),
  );
});

/** Starts `kubectl switchboard tail ARGS...`; `following` resolves once it follows (and fails if it ends first). */
const startTail = (args: readonly string[], admin: string) => {
  let resolve: () => void = () => {};
  const ready = new Promise<void>((r) => {
    resolve = r;
  });
  const done = sb(["tail", ...args], (stderr) => {
    if (stderr.includes(`on the gateway at ${admin} (Ctrl-C stops)`)) resolve();
  });
  const following = Promise.race([ready, done.then((r) => assert.fail(`tail ended early: ${r.stderr}`))]);
  return { following, done };
};

test("tail ends, saying so, when its gateway shuts down; the gateway's drain is not held up by the stream", async () => {
  const second = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "cli-2" });
  const tail = startTail([`${ns}/audit`, "--admin-url", second.adminUrl], second.adminUrl);
  await tail.following;
  await second.proc.stop(60_000);
  assert.equal(await second.proc.exited, 0, second.proc.tail());
  const res = await tail.done;
  assert.equal(res.code, 1);
  assert.equal(
    res.stderr.split("\n").slice(-3).join("\n"),
    `the gateway at ${second.adminUrl} ended the stream (it is shutting down)\nrun tail again to follow the gateways running now\n`,
  );
});

test("tail says what is wrong: an unknown Subscription, a token the gateway refuses", async () => {
  const missing = await sb(["tail", "nope", "-n", ns, "--admin-url", gateway.adminUrl]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `kubectl switchboard tail: Subscription ${ns}/nope not found: kubectl get subscriptions.switchboard.dev -n ${ns} lists them\n`,
  );
  const refused = await sb(["tail", `${ns}/audit`, "--token", "nope", "--admin-url", gateway.adminUrl]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    "kubectl switchboard tail: HTTP 401 Unauthorized\ntype: https://switchboard.dev/problems/unauthorized\ntitle: Unauthorized\ndetail: the bearer token is not a publisher token of any VPN\n",
  );
});

test("a VPN whose publisher Secret is missing: publish names the Secret and how to create it", async (t) => {
  const other = uniqueName("cli-nosecret");
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${other} }
spec:
  namespaces: { names: [${other}] }
  publishers: [{ name: ci, tokenSecretRef: { namespace: ${ns}, name: ${other}, key: token } }]
`,
  );
  t.after(() => cluster.kubectl(["delete", "vpn", other]));
  const res = await sb(["publish", "--vpn", other, "--type", "com.x", "--url", gateway.url]);
  assert.equal(res.code, 1);
  assert.equal(
    res.stderr,
    `kubectl switchboard publish: Secret ${ns}/${other} (publisher ci of VPN ${other}) not found: create it, e.g. kubectl -n ${ns} create secret generic ${other} --from-literal=token=TOKEN\n`,
  );
});

test("deadletters: a gateway without JetStream keeps none; on JetStream a failing subscription's dead letters are listed, then redriven by id and with --all, each delivered once more", {
  timeout: 120_000,
}, async () => {
  const none = await sb(["deadletters", "list", "audit", "-n", ns, "--admin-url", gateway.adminUrl]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^HTTP 404 Not Found\ntype: .*no-dead-letters$/m);
  assert.match(
    none.stderr,
    /detail: this gateway keeps no dead letters: they are kept with --durability jetstream/,
  );

  const nats = await startNatsCluster({ dir: mkdtempSync(join(home, "nats-")), size: 1 });
  cleanup(() => nats.stop());
  let fixed = false;
  const flaky = await startFunction(() => ({ status: fixed ? 200 : 500 }));
  cleanup(() => flaky.close());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: flaky, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${flaky.url}/flaky" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: flaky, namespace: ${ns} }
spec:
  vpn: ${vpn}
  function: flaky
  mode: async
  filters: [{ exact: { type: com.example.flaky } }]
  delivery: { retry: 1, backoffPolicy: linear, backoffDelay: 10ms, maxBackoff: 10ms }
`,
  );
  await waitReady(cluster, ["function/flaky", "subscription/flaky"], ns);
  const js = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "cli-js",
    // 1 MiB per VPN: the gateway creates streams for every VPN of the registry, which other tests share.
    extraArgs: [
      "--durability=jetstream",
      `--nats=${nats.urls.join(",")}`,
      "--nats-replicas=1",
      "--nats-max-bytes=1048576",
    ],
  });
  cleanup(() => js.proc.stop());
  const ids = ["flaky-1", "flaky-2"];
  for (const id of ids) {
    const res = await sb([
      "publish",
      "--vpn",
      vpn,
      "--type",
      "com.example.flaky",
      "--id",
      id,
      "--url",
      js.url,
    ]);
    assert.equal(res.code, 0, res.stderr);
  }
  const list = ["deadletters", "list", "flaky", "-n", ns, "--admin-url", js.adminUrl];
  const listed = await waitFor("both dead letters listed", async () => {
    const res = await sb(list);
    return res.code === 0 && res.stdout.startsWith("2 dead letters") ? res : undefined;
  });
  const lines = listed.stdout.trimEnd().split("\n");
  assert.equal(lines[0], `2 dead letters for subscription ${ns}/flaky`);
  assert.match(lines[1] ?? "", /^ID\s+TYPE\s+STATUS\s+ATTEMPTS\s+LAST FAILURE$/);
  for (const [i, id] of ids.entries())
    assert.match(lines[i + 2] ?? "", new RegExp(`^${id}\\s+com\\.example\\.flaky\\s+500\\s+2\\s+\\d{4}-`));
  const json = JSON.parse((await sb([...list, "-o", "json"])).stdout) as { deadLetters: { id: string }[] };
  assert.deepEqual(
    json.deadLetters.map((d) => d.id),
    ids,
  );
  // Two attempts each (the first and one retry), both refused.
  assert.equal(flaky.received.length, 4);

  fixed = true;
  const redrive = ["deadletters", "redrive", "flaky", "-n", ns, "--admin-url", js.adminUrl];
  const unchosen = await sb(redrive);
  assert.equal(unchosen.code, 2);
  const one = await sb([...redrive, "--id", "flaky-1"]);
  assert.equal(one.stdout, `redrove 1 dead letter to subscription ${ns}/flaky (same event ids)\n`);
  const rest = await sb([...redrive, "--all"]);
  assert.equal(rest.stdout, `redrove 1 dead letter to subscription ${ns}/flaky (same event ids)\n`);
  const after = await flaky.waitFor(6);
  assert.deepEqual(
    after
      .slice(4)
      .map((r) => r.headers["ce-id"])
      .sort(),
    ids,
  );
  assert.equal((await sb(list)).stdout, `no dead letters for subscription ${ns}/flaky\n`);
  await js.proc.stop();
});

test("completion prints scripts that complete commands and flag values", async (t) => {
  const bash = await sb(["completion", "bash"]);
  assert.equal(bash.code, 0);
  assert.match(bash.stdout, /^complete -o default -F _kubectl_switchboard kubectl-switchboard$/m);
  const script = join(home, "completion.bash");
  writeFileSync(script, bash.stdout);
  const complete = (words: string) =>
    run(
      "bash",
      [
        "-c",
        `source ${script}; COMP_WORDS=(kubectl-switchboard ${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _kubectl_switchboard; echo "\${COMPREPLY[*]}"`,
      ],
      { env },
    );
  assert.equal((await complete("st")).stdout, "status\n");
  assert.equal((await complete("status -o ''")).stdout, "text json yaml\n");
  const zsh = await sb(["completion", "zsh"]);
  assert.match(zsh.stdout, /^#compdef kubectl-switchboard\n/);
  if (spawnSync("zsh", ["--version"]).status === 0) {
    // zsh's completion system needs a terminal: compadd and compdef stand in, printing the candidates.
    writeFileSync(join(home, "completion.zsh"), zsh.stdout);
    const zshComplete = (words: string) =>
      run(
        "zsh",
        [
          "-f",
          "-c",
          `compdef() { :; }; compadd() { shift; print -l -- "\${(@P)1}"; }; source ${join(home, "completion.zsh")}; words=(kubectl-switchboard ${words}); CURRENT=\${#words}; _kubectl_switchboard`,
        ],
        { env },
      );
    assert.equal((await zshComplete("st")).stdout, "status\n");
    assert.equal((await zshComplete("status -o ''")).stdout, "text\njson\nyaml\n");
  } else t.diagnostic("zsh is not installed: its script was not run");
  // kubectl's own completion of `kubectl switchboard <TAB>` runs kubectl_complete-switchboard.
  const viaKubectl = await run(kubectl, ["__complete", "switchboard", "dead"], { env });
  assert.match(viaKubectl.stdout, /^deadletters\n/);
});
