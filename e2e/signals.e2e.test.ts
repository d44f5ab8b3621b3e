// Every metric and label value docs/observability.md documents, asserted against a real gateway
// and a real operator driven so that each value occurs: functions that answer 2xx, 3xx, 4xx and
// 5xx, time out, refuse connections, have no endpoint, sit at their concurrency limit or are
// refused by the egress policy; dead letters delivered, refused and missing; rate limits,
// request-body budgets and a full delivery log; VPNs, Functions and Subscriptions created,
// changed, deleted and repaired behind the operator's back. The docs are parsed, so docs and code
// cannot drift: a documented value nothing produces fails, as does an undocumented metric. The
// few values no test here can produce are listed in EXEMPT with the reason. Then both programs'
// log files are checked for lines repeating a key, and the gateway's for the delivery lines.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { Agent, Client, fetch as undiciFetch } from "undici";
import { installCrds } from "../crds/install.ts";
import { functionKey, subscriptionKey, vpnKey } from "../registry/keys.ts";
import type { SubscriptionRecord } from "../registry/types.ts";
import { openWriter } from "../registry/writer/index.ts";
import { functionRecord, subscriptionRecord, vpnRecord } from "../sidecar/testing/routing.ts";
import { startFunction } from "./functions.ts";
import { type GatewayProcess, startGateway } from "./gateway.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { createCa, createCert } from "./pki.ts";
import { waitFor } from "./proc.ts";
import { documentedMetrics, parseExposition, repeatedKeys } from "./signals.ts";
import { startedLine } from "./started.ts";
import { repoRoot } from "./tools.ts";

/** Documented values this file cannot produce, each with why and where else it is produced. */
const EXEMPT: Record<string, string> = {
  'switchboard_gateway_dead_letters_total{outcome="kept"}':
    "needs --durability jetstream and a NATS cluster: sidecar/delivery/jetstream.int.test.ts asserts it",
  'switchboard_gateway_dead_letter_backlog{vpn="*"}':
    "needs --durability jetstream and a NATS cluster: sidecar/delivery/jetstream.int.test.ts asserts it per VPN",
  'switchboard_gateway_deliveries_total{outcome="abandoned"}':
    "counted during shutdown, after which the admin port closes at once: asserted below through the shutdown log line instead",
  'switchboard_gateway_requests_refused_total{reason="memory"}':
    "needs the gateway in a memory cgroup with its working set near the limit: sidecar/memory-pressure.int.test.ts holds requests until it sheds and asserts the count",
  'switchboard_gateway_delivery_log_state{state="failing"}':
    "needs writes of the delivery log to fail (a full disk): sidecar/durable/disk-full.int.test.ts, on a tmpfs",
  'switchboard_gateway_watch_restarts_total{reason="watch_canceled"}':
    "needs the registry etcd compacted past the revision of a gateway whose watch was down: registry/watcher/{outage,faults}.int.test.ts on the watcher the gateway runs (the gateway counts its onRestart as is)",
  'switchboard_gateway_watch_restarts_total{reason="apply_failed"}':
    "only when applying watch events throws, which no registry content does (invalid values are skipped and counted)",
  'switchboard_gateway_watch_resumes_total{reason="watch_error"}':
    "needs the registry etcd killed under the gateway: registry/watcher/outage.int.test.ts on the watcher the gateway runs (the gateway counts its onResumed as is)",
  'switchboard_gateway_watch_resumes_total{reason="watch_ended"}':
    "etcd ends a watch stream only when it shuts the stream down itself; not reproducible on demand",
  'switchboard_gateway_watch_resumes_total{reason="watch_timeout"}':
    "needs an etcd that accepts the connection but never establishes the watch for 10 s",
  'switchboard_gateway_watch_resumes_total{reason="probe_failed"}':
    "needs etcd frozen for two 10 s probe deadlines: registry/watcher/outage.int.test.ts",
  'switchboard_gateway_watch_restarts_total{reason="revision_backwards"}':
    "needs the registry etcd replaced by an emptier one: registry/watcher/faults.int.test.ts",
  'switchboard_gateway_watch_restarts_total{reason="clusters_added"}':
    "needs a gateway reading one VPN (--vpn-key-file) and a cluster appearing after its listing: registry/watcher/scope.int.test.ts on the watcher the gateway runs",
  'switchboard_gateway_watch_restarts_total{reason="cluster_changed"}':
    "needs another etcd cluster at the same address already past the revision seen",
  'switchboard_operator_reconciles_total{result="error"}':
    "needs etcd or the API server to fail inside a reconcile (retried with backoff; unit-tested in operator/reconcile)",
  'switchboard_operator_registry_writes_total{result="error"}': "needs etcd to fail a registry write",
  'switchboard_operator_informer_restarts_total{resource="*"}':
    "needs the API server to break the informers' watches: operator/kube/informer.int.test.ts",
  'switchboard_operator_webhook_requests_total{result="injected"}':
    "needs the API server calling the webhook for a pod: operator/webhook/webhook.int.test.ts",
  'switchboard_operator_webhook_requests_total{result="skipped"}': "as injected: webhook.int.test.ts",
  'switchboard_operator_webhook_requests_total{result="denied"}': "as injected: webhook.int.test.ts",
  'switchboard_operator_webhook_requests_total{result="error"}':
    "an internal failure while planning the injection; no input produces it on purpose",
  'switchboard_operator_webhook_vpn_claims_total{result="allowed"}':
    "needs the API server calling /validate/vpn: operator/webhook/server.int.test.ts",
  'switchboard_operator_webhook_vpn_claims_total{result="refused"}': "as allowed: server.int.test.ts",
  'switchboard_operator_webhook_subscription_checks_total{result="allowed"}':
    "needs the API server calling /validate/subscription: operator/webhook/webhook.int.test.ts",
  'switchboard_operator_webhook_subscription_checks_total{result="refused"}':
    "as allowed: webhook.int.test.ts asserts the count",
  'switchboard_operator_webhook_vpn_claims_total{result="unchecked"}':
    "only before the replica's caches are synced, a window of milliseconds",
  'switchboard_operator_webhook_certificate_reloads_total{result="success"}':
    "needs the certificate files replaced: webhook.int.test.ts rotates them",
  'switchboard_operator_webhook_certificate_reloads_total{result="error"}':
    "needs unreadable certificate files: operator/webhook/server.int.test.ts",
};

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const etcd = new Etcd3({ hosts: etcdUrl });
const dir = mkdtempSync(join(repoRoot, ".work", "signals-"));
const gateways: GatewayProcess[] = [];
const held: (() => void)[] = [];
// Function behaviour by path; /hang holds each request until the file ends.
const fn = await startFunction(async (req) => {
  const path = req.path.split("?")[0] ?? "";
  if (path === "/hang") await new Promise<void>((r) => held.push(r));
  if (path === "/slow") await new Promise((r) => setTimeout(r, 1500));
  const status = { "/e500": 500, "/e400": 400, "/e302": 302 }[path] ?? 200;
  return status === 302 ? { status, headers: { location: "/ok" } } : { status };
});
cleanup(async () => {
  for (const release of held.splice(0)) release();
  await Promise.all(gateways.map((g) => g.proc.stop()));
  await fn.close();
  etcd.close();
});

// The gateway's registry: VPN `sig` with a function and a subscription per outcome, VPN `rl`
// rate-limited to 1 event a second.
const clusterName = uniqueName("sig");
const writer = await openWriter({ client: etcd, cluster: clusterName, identity: "test" });
cleanup(() => writer.close());
const [sig, rl, ns, rlNs] = [uniqueName("sig"), uniqueName("rl"), uniqueName("ns-sig"), uniqueName("ns-rl")];
const [token, rlToken] = [uniqueName("token-sig"), uniqueName("token-rl")];
const sha = (t: string) => createHash("sha256").update(t).digest("hex");
await writer.sync(
  { kind: "vpn", name: sig },
  vpnRecord(sig, clusterName, { namespaces: [ns], publishers: [{ name: "ci", tokenSha256: sha(token) }] }),
);
await writer.sync(
  { kind: "vpn", name: rl },
  vpnRecord(rl, clusterName, {
    namespaces: [rlNs],
    publishers: [{ name: "ci", tokenSha256: sha(rlToken) }],
    limits: { eventsPerSecond: 1, burst: 1 },
  }),
);
const functions: Record<string, { endpoints: string[]; timeoutMs?: number; concurrency?: number }> = {
  ok: { endpoints: [`${fn.url}/ok`] },
  e500: { endpoints: [`${fn.url}/e500`] },
  e400: { endpoints: [`${fn.url}/e400`] },
  e302: { endpoints: [`${fn.url}/e302`] },
  slow: { endpoints: [`${fn.url}/slow`], timeoutMs: 200 },
  hang: { endpoints: [`${fn.url}/hang`], timeoutMs: 120_000, concurrency: 1 },
  none: { endpoints: [] },
  // Nothing listens on port 1; 127.0.0.2 is not on the egress allow-list (127.0.0.1 is).
  net: { endpoints: ["http://127.0.0.1:1/net"] },
  denied: { endpoints: ["http://127.0.0.2:8080/denied"] },
  dlok: { endpoints: [`${fn.url}/ok`] },
  dlbad: { endpoints: [`${fn.url}/e500`] },
};
for (const [name, spec] of Object.entries(functions))
  await writer.sync(
    { kind: "function", namespace: ns, name },
    functionRecord({ vpn: sig, namespace: ns, name, cluster: clusterName }, spec),
  );
await writer.sync(
  { kind: "function", namespace: rlNs, name: "ok" },
  functionRecord({ vpn: rl, namespace: rlNs, name: "ok", cluster: clusterName }, functions.ok),
);
const delivery = (retry: number, deadLetter?: string): SubscriptionRecord["spec"]["delivery"] => ({
  retry,
  backoffPolicy: "exponential",
  backoffDelayMs: 20,
  maxBackoffMs: 100,
  ...(deadLetter ? { deadLetter: { namespace: ns, name: deadLetter } } : {}),
});
const subscriptions: [string, string, "async" | "sync", SubscriptionRecord["spec"]["delivery"]][] = [
  ["ok", "ok", "async", delivery(0)],
  ["e500", "e500", "async", delivery(1, "dlok")],
  ["e400", "e400", "async", delivery(0)],
  ["e302", "e302", "async", delivery(0, "dlbad")],
  ["slow", "slow", "async", delivery(0)],
  ["net", "net", "async", delivery(0)],
  ["none", "none", "async", delivery(0)],
  ["denied", "denied", "async", delivery(0)],
  ["hang", "hang", "async", delivery(0)],
  ["sync", "ok", "sync", delivery(0)],
  ["syncnone", "none", "sync", delivery(0)],
  // Waits 30 s before its retry: still waiting when its gateway shuts down.
  ["retrying", "e500", "async", { ...delivery(5), backoffDelayMs: 30_000, maxBackoffMs: 60_000 }],
];
for (const [name, target, mode, d] of subscriptions)
  await writer.sync(
    { kind: "subscription", namespace: ns, name: `to-${name}` },
    subscriptionRecord(
      { vpn: sig, namespace: ns, name: `to-${name}`, cluster: clusterName },
      {
        function: { namespace: ns, name: target },
        mode,
        filters: [{ exact: { type: `sig.${name}` } }],
        delivery: d,
      },
    ),
  );
await writer.sync(
  { kind: "subscription", namespace: rlNs, name: "to-ok" },
  subscriptionRecord(
    { vpn: rl, namespace: rlNs, name: "to-ok", cluster: clusterName },
    { function: { namespace: rlNs, name: "ok" }, filters: [{ exact: { type: "sig.ok" } }] },
  ),
);
const gateway = async (name: string, extraArgs: string[]): Promise<GatewayProcess> => {
  const g = await startGateway({ etcd: etcdUrl, clusterName, dir, name, extraArgs });
  gateways.push(g);
  return g;
};
// Every test is declared below this line: the harness's cleanups must not run before the setup ends.

let seq = 0;
const ceHeaders = (type: string, auth: string | undefined): Record<string, string> => ({
  "ce-specversion": "1.0",
  "ce-id": `sig-${++seq}`,
  "ce-source": "/tests/signals",
  "ce-type": type,
  "content-type": "application/json",
  ...(auth === undefined ? {} : { authorization: `Bearer ${auth}` }),
});
const publish = async (g: GatewayProcess, type: string, auth: string | undefined = token, body = "{}") => {
  const res = await fetch(`${g.url}/`, { method: "POST", headers: ceHeaders(type, auth), body });
  await res.arrayBuffer();
  return res.status;
};
const batch = async (g: GatewayProcess, type: string, n: number): Promise<number> => {
  const events = Array.from({ length: n }, () => ({
    specversion: "1.0",
    id: `sig-${++seq}`,
    source: "/tests/signals",
    type,
  }));
  const res = await fetch(`${g.url}/`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents-batch+json", authorization: `Bearer ${token}` },
    body: JSON.stringify(events),
  });
  await res.arrayBuffer();
  return res.status;
};

/** The documented values (`metric{label="value"}`) of `program` the exposition at `adminUrl` lacks, and its undocumented metrics. */
const missing = async (program: "operator" | "gateway", adminUrls: readonly string[]) => {
  const expositions = await Promise.all(adminUrls.map(async (u) => (await fetch(`${u}/metrics`)).text()));
  const parsed = expositions.map(parseExposition);
  const samples = parsed.flatMap((p) => p.samples);
  const types = new Map(parsed.flatMap((p) => [...p.types]));
  const documented = documentedMetrics().filter((m) => m.program === program);
  const absent: string[] = [];
  for (const m of documented) {
    if (types.get(m.name) !== m.type)
      absent.push(`${m.name} of type ${m.type} (exposed: ${types.get(m.name)})`);
    const own = samples.filter((s) => s.name === m.name || s.name.startsWith(`${m.name}_`));
    for (const [label, values] of m.labels) {
      if (EXEMPT[`${m.name}{${label}="*"}`]) continue;
      if (values.length === 0 && !own.some((s) => label in s.labels)) absent.push(`${m.name}{${label}}`);
      for (const value of values) {
        const key = `${m.name}{${label}="${value}"}`;
        if (!EXEMPT[key] && !own.some((s) => s.labels[label] === value)) absent.push(key);
      }
    }
  }
  const names = new Set(documented.map((m) => m.name));
  const undocumented = [...types.keys()].filter((n) => n.startsWith("switchboard_") && !names.has(n));
  return { absent, undocumented };
};

/** Waits until `program`'s every documented value (but EXEMPT) is exposed; fails naming those still absent. */
const assertAllDocumentedValues = async (program: "operator" | "gateway", adminUrls: readonly string[]) => {
  let last: Awaited<ReturnType<typeof missing>> = { absent: [], undocumented: [] };
  try {
    await waitFor(`every documented ${program} value`, async () => {
      last = await missing(program, adminUrls);
      return last.absent.length === 0 ? true : undefined;
    });
  } catch {
    assert.deepEqual(last.absent, [], `documented ${program} values nothing exposed`);
  }
  assert.deepEqual(last.undocumented, [], `${program} metrics docs/observability.md does not document`);
};

/** Lines of a program's log file that repeat a key. */
const repeatedKeyLines = (log: string): string[] =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{") && repeatedKeys(line).length > 0);

const logLines = (log: string): Record<string, unknown>[] =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test("the docs' metric tables parse: names, programs, types and label values", () => {
  const documented = documentedMetrics();
  assert.ok(documented.length >= 30, `only ${documented.length} metrics parsed`);
  const attempts = documented.find((m) => m.name === "switchboard_gateway_delivery_attempts_total");
  assert.deepEqual(attempts?.labels.get("result"), [
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "timeout",
    "network",
    "no-endpoints",
    "overloaded",
    "egress-denied",
  ]);
  assert.equal(
    documented.find((m) => m.name === "switchboard_operator_webhook_requests_total")?.program,
    "operator",
  );
  assert.deepEqual(repeatedKeys('{"a":1,"b":{"a":2},"c":"\\"a\\":","a":3}'), ["a"]);
});

test("every documented gateway metric and label value is exposed by real gateways driven to produce it", async () => {
  const main = await gateway("main", [
    "--max-batch=10000",
    "--max-body-bytes=4194304",
    "--queue-max-events=20000",
    "--drain-timeout=1s",
  ]);
  for (const type of ["ok", "e500", "e400", "e302", "slow", "net", "none", "denied"])
    assert.equal(await publish(main, `sig.${type}`), 202, type);
  assert.equal(await publish(main, "sig.sync"), 200);
  assert.equal(await publish(main, "sig.syncnone"), 503);
  await publish(main, "sig.nobody-subscribes"); // unrouted (404, or 202 with no delivery)
  const { "ce-id": _, ...noId } = ceHeaders("sig.ok", token);
  assert.equal((await fetch(`${main.url}/`, { method: "POST", headers: noId, body: "{}" })).status, 400);
  assert.equal(await publish(main, "sig.ok", "not-a-token"), 401);
  const limited = [];
  for (let i = 0; i < 3; i++) limited.push(await publish(main, "sig.ok", rlToken));
  assert.ok(limited.includes(429), `rate limited: ${limited.join(",")}`);
  // One hanging request holds the function's one slot; 10,000 more wait for it; the next is overloaded.
  assert.equal(await batch(main, "sig.hang", 10_000), 202);
  assert.equal(await batch(main, "sig.hang", 2), 202);

  // Request-body budgets and connections: 1 KiB per VPN, 1.5 KiB per gateway, 3 connections.
  const budgets = await gateway("budgets", [
    "--max-body-bytes=1024",
    "--max-event-bytes=1024",
    "--max-inflight-bytes=1536",
    "--max-inflight-bytes-per-vpn=1024",
    "--max-connections=3",
  ]);
  const slow = httpRequest(`${budgets.url}/`, {
    method: "POST",
    agent: false,
    headers: { ...ceHeaders("sig.ok", token), "content-length": "1024" },
  });
  slow.on("error", () => {});
  slow.write("{");
  await waitFor("the slow body to hold 1 KiB", async () =>
    (await budgets.metric("switchboard_gateway_inflight_body_bytes")) === 1024 ? true : undefined,
  );
  const [other, same, fourth] = [new Client(budgets.url), new Client(budgets.url), new Client(budgets.url)];
  const status = async (c: Client, auth: string, body: string) => {
    const res = await c.request({ path: "/", method: "POST", headers: ceHeaders("sig.ok", auth), body });
    await res.body.dump();
    return res.statusCode;
  };
  assert.equal(await status(other, rlToken, "x".repeat(1000)), 503, "gateway_bytes");
  assert.equal(await status(same, token, "{}"), 503, "vpn_bytes");
  assert.equal(await status(fourth, token, "{}"), 503, "connections");
  slow.destroy();
  await Promise.all([other.close(), same.close(), fourth.close()]);

  // A delivery log of 64 KiB fills with events the hanging function never takes.
  const durable = await gateway("durable", [`--data-dir=${join(dir, "wal")}`, "--data-max-bytes=65536"]);
  await waitFor("the delivery log to refuse at its cap", async () =>
    (await publish(durable, "sig.hang", token, JSON.stringify({ pad: "x".repeat(2000) }))) === 503
      ? true
      : undefined,
  );

  await assertAllDocumentedValues(
    "gateway",
    [main, budgets, durable].map((g) => g.adminUrl),
  );

  // Logs: retries once per function per 10 s, each undelivered event once, at warn, with its cause.
  const lines = logLines(main.proc.log);
  const retries = lines.filter((l) => String(l.msg).startsWith("delivery attempt failed; retrying"));
  assert.deepEqual(
    retries.filter((l) => l.function === `${ns}/e500`).map((l) => [l.level, l.status, l.url]),
    [["info", "500", `${fn.url}/e500`]],
  );
  const ended = (name: string) => lines.filter((l) => l.subscription === `${ns}/to-${name}` && l.cause);
  assert.deepEqual(
    ended("e400").map((l) => [l.level, l.status, l.url, l.cause, l.msg]),
    [
      [
        "warn",
        "400",
        `${fn.url}/e400`,
        "status 400 is not retried",
        "delivery failed and there is no dead-letter function; event dropped",
      ],
    ],
  );
  assert.deepEqual(
    ended("e500").map((l) => [l.level, l.status, l.cause, l.deadLetterStatus]),
    [["warn", "500", "retries exhausted after 2 attempts", "200"]],
  );
  assert.deepEqual(
    ended("e302").map((l) => [l.level, l.status, l.deadLetterStatus, l.deadLetterCause]),
    [["error", "302", "500", "retries exhausted after 1 attempt"]],
  );

  // Shutdown with an event waiting for its retry: abandoned (counted as the admin port closes; logged).
  const draining = await gateway("drain", ["--drain-timeout=1s"]);
  assert.equal(await publish(draining, "sig.retrying"), 202);
  await waitFor("the retry to be scheduled", async () =>
    logLines(draining.proc.log).some((l) => l.function === `${ns}/e500` && l.retryInMs) ? true : undefined,
  );
  await draining.proc.stop();
  const abandoned = logLines(draining.proc.log).find(
    (l) => l.msg === "events still awaiting delivery were abandoned at shutdown",
  );
  assert.equal(abandoned?.abandoned, 1, "the abandoned event is reported at shutdown");
  for (const g of [main, budgets, durable, draining])
    assert.deepEqual(repeatedKeyLines(g.proc.log), [], `${g.proc.name}: log lines repeating a key`);
});

test("every documented operator metric and label value is exposed by a real operator driven to produce it", async () => {
  const leaseNamespace = await testNamespace(cluster, "sig-leases");
  const [appNs, blockedNs] = [
    await testNamespace(cluster, "sig-app"),
    await testNamespace(cluster, "sig-blocked"),
  ];
  // A Secret of the VPN key's name that Switchboard did not write: the VPNKey reconcile of that namespace is terminal.
  await cluster.kubectl([
    "-n",
    blockedNs,
    "create",
    "secret",
    "generic",
    "switchboard-vpn-key",
    "--from-literal=x=y",
  ]);
  const masterKey = join(dir, "master.key");
  writeFileSync(masterKey, randomBytes(32).toString("base64"));
  const ca = await createCa(dir, "signals-webhook-ca");
  const serving = await createCert(dir, ca, {
    name: "serving",
    commonName: "switchboard-webhook",
    ips: ["127.0.0.1"],
    usage: "server",
  });
  const opCluster = uniqueName("sig-op");
  const operator = await startOperator(cluster, {
    clusterName: opCluster,
    id: "sig-op",
    etcd: etcdUrl,
    leaseNamespace,
    extraArgs: [
      `--registry-key-file=${masterKey}`,
      "--webhook-addr=127.0.0.1:0",
      `--webhook-cert-file=${serving.cert}`,
      `--webhook-key-file=${serving.key}`,
      "--injector-image=registry.example/switchboard:signals",
    ],
  });
  cleanup(() => operator.proc.stop());
  const vpn = uniqueName("sig-op");
  cleanup(() =>
    cluster
      .kubectl(["delete", "vpn", vpn, "--ignore-not-found", "--wait=true", "--timeout=60s"])
      .then(() => {}),
  );
  const apply = (yaml: string) => cluster.kubectl(["apply", "-f", "-"], yaml);
  const vpnYaml = (eventsPerSecond: number) => `apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${vpn} }
spec:
  namespaces: { names: [${appNs}, ${blockedNs}] }
  limits: { eventsPerSecond: ${eventsPerSecond} }
`;
  await apply(vpnYaml(10));
  await apply(`apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: fn, namespace: ${appNs} }
spec: { vpn: ${vpn}, target: { url: "http://127.0.0.1:9/in" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: sub, namespace: ${appNs} }
spec: { vpn: ${vpn}, function: fn }
`);
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", `vpn/${vpn}`]);
  await cluster.kubectl([
    "-n",
    appNs,
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "subscriptions.switchboard.dev/sub",
  ]);
  await apply(vpnYaml(20));
  // The edit's record written (status follows the record) before the records are overwritten below,
  // so that no write of the operator's own races the foreign ones.
  await cluster.kubectl([
    "wait",
    "--for=jsonpath={.status.observedGeneration}=2",
    "--timeout=60s",
    `vpn/${vpn}`,
  ]);
  // Behind the operator's back: its records overwritten in etcd are repaired.
  const own = { vpn, namespace: appNs, cluster: opCluster };
  for (const key of [
    vpnKey(vpn, opCluster),
    functionKey({ ...own, name: "fn" }),
    subscriptionKey({ ...own, name: "sub" }),
  ])
    await etcd.put(key).value("{}");
  for (const kind of ["vpn", "function", "subscription"])
    await waitFor(`the ${kind}'s record repaired`, async () =>
      ((await operator.metric(`switchboard_operator_registry_repairs_total{kind="${kind}"}`)) ?? 0) > 0
        ? true
        : undefined,
    );
  await cluster.kubectl([
    "-n",
    appNs,
    "delete",
    "subscriptions.switchboard.dev/sub",
    "--wait=true",
    "--timeout=60s",
  ]);
  // Not an AdmissionReview, on either path.
  const started = await startedLine(operator.proc, "operator started");
  const tls = new Agent({ connect: { ca: readFileSync(ca.cert) } });
  for (const path of ["/inject", "/validate/vpn"]) {
    const res = await undiciFetch(`https://${String(started.webhook)}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "not a review",
      dispatcher: tls,
    });
    await res.arrayBuffer();
  }
  await tls.close();

  await assertAllDocumentedValues("operator", [operator.adminUrl]);
  assert.deepEqual(repeatedKeyLines(operator.proc.log), [], "operator log lines repeating a key");
});
