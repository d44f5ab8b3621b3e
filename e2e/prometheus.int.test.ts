// The chart's alert rules and both programs' /metrics against Debian's promtool, and a real
// Prometheus scraping a real gateway that delivers events to a real function server.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { stringify } from "yaml";
import { installCrds } from "../crds/install.ts";
import { CHART_DIR, get, list, render } from "../helm/chart-kit.ts";
import type { FunctionRecord, SubscriptionRecord, VpnRecord } from "../registry/types.ts";
import { openWriter } from "../registry/writer/index.ts";
import { startFunction } from "./functions.ts";
import { type GatewayProcess, startGateway } from "./gateway.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { waitFor } from "./proc.ts";
import { checkMetrics, type PrometheusServer, promtool, ruleFile, startPrometheus } from "./prometheus.ts";
import { alertTests } from "./prometheus-alerts.ts";
import { repoRoot } from "./tools.ts";

mkdirSync(join(repoRoot, ".work"), { recursive: true });
const dir = mkdtempSync(join(repoRoot, ".work", "prometheus-"));
process.on("exit", (code) => {
  if (code === 0 && (process.exitCode ?? 0) === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`prometheus test files and logs kept in ${dir}`);
});

// A gateway with one VPN, one function (a real server on loopback) and one async subscription,
// its records written with the operator's registry writer.
const etcdUrl = await testEtcd();
const etcd = new Etcd3({ hosts: etcdUrl });
const clusterName = uniqueName("prom");
const writer = await openWriter({ client: etcd, cluster: clusterName, identity: "test" });
const [vpn, ns] = [uniqueName("prom"), uniqueName("ns-prom")];
const token = `token-${uniqueName("t")}`;
const fn = await startFunction();
const gateways: GatewayProcess[] = [];
cleanup(async () => {
  await Promise.all(gateways.map((g) => g.proc.stop()));
  await fn.close();
  writer.close();
  etcd.close();
});
const owner = (name: string, namespace?: string) => ({
  cluster: clusterName,
  uid: `uid-${name}`,
  generation: 1,
  name,
  ...(namespace ? { namespace } : {}),
});
const vpnRecord: VpnRecord = {
  schema: 1,
  kind: "vpn",
  vpn,
  owner: owner(vpn),
  spec: {
    namespaces: [ns],
    publishers: [{ name: "ci", tokenSha256: createHash("sha256").update(token).digest("hex") }],
    limits: {},
  },
};
const functionRecord: FunctionRecord = {
  schema: 1,
  kind: "function",
  vpn,
  owner: owner("orders", ns),
  spec: { endpoints: [`${fn.url}/in`], timeoutMs: 2000, concurrency: 10, headers: {} },
};
const subscriptionRecord: SubscriptionRecord = {
  schema: 1,
  kind: "subscription",
  vpn,
  owner: owner("orders-created", ns),
  spec: {
    function: { namespace: ns, name: "orders" },
    mode: "async",
    filters: [{ exact: { type: "com.example.order.created" } }],
    delivery: { retry: 3, backoffPolicy: "exponential", backoffDelayMs: 20, maxBackoffMs: 1000 },
  },
};
await writer.sync({ kind: "vpn", name: vpn }, vpnRecord);
await writer.sync({ kind: "function", namespace: ns, name: "orders" }, functionRecord);
await writer.sync({ kind: "subscription", namespace: ns, name: "orders-created" }, subscriptionRecord);
const gateway = await startGateway({ etcd: etcdUrl, clusterName, dir, name: "prom" });
gateways.push(gateway);
const cluster = await testCluster();
// Every test is declared below this line: the harness's cleanups (registered with `after` above)
// must not run before the top-level setup has finished.

let seq = 0;
/** Publishes `n` events that the subscription routes to the function; asserts each is accepted. */
const publish = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gateway.url}/`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "ce-specversion": "1.0",
        "ce-id": `prom-${++seq}`,
        "ce-source": "/tests/prometheus",
        "ce-type": "com.example.order.created",
        "content-type": "application/json",
      },
      body: JSON.stringify({ amount: seq }),
    });
    assert.equal(res.status, 202, await res.text());
  }
};

/** Fails on an exposition promtool cannot parse or a lint problem of a switchboard_* metric; prints every lint problem; returns the exposition. */
const assertValidExposition = async (program: string, adminUrl: string): Promise<string> => {
  const exposition = await (await fetch(`${adminUrl}/metrics`)).text();
  const check = await checkMetrics(exposition);
  assert.ok(check.code === 0 || check.code === 3, `promtool check metrics (${program}): ${check.output}`);
  for (const problem of check.problems) console.error(`[promtool lint] ${program}: ${problem}`);
  // prom-client's default process metrics draw warnings we do not control; our own names must not.
  assert.deepEqual(
    check.problems.filter((p) => p.startsWith("switchboard_")),
    [],
    `promtool lint on ${program}'s own metrics`,
  );
  return exposition;
};

/** Whether `exposition` declares the metric `name`. */
const declares = (exposition: string, name: string): boolean =>
  exposition.split("\n").some((line) => line.startsWith(`# TYPE ${name} `));

const rulesFile = async (): Promise<{ groups: unknown[] }> =>
  ruleFile(
    await render([
      "--set",
      "clusterName=ci",
      "--set",
      "bundledEtcd.enabled=true",
      "--set",
      "monitoring.prometheusRule.enabled=true",
    ]),
  );

test("the chart's alert rules pass promtool check rules, and a broken copy does not", async () => {
  const rules = await rulesFile();
  const good = join(dir, "rules.yml");
  writeFileSync(good, stringify(rules));
  const ok = await promtool(["check", "rules", "--lint=all", "--lint-fatal", good]);
  assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
  const count = rules.groups.flatMap((group) => list(group, "rules")).length;
  assert.ok(count >= 6, `only ${count} rules rendered`);
  assert.match(ok.stdout, new RegExp(`SUCCESS: ${count} rules found`));

  const text = stringify(rules);
  const brokenExpr = join(dir, "broken-expr.yml");
  writeFileSync(brokenExpr, text.replace("expr: sum by (namespace, mode)", "expr: sum by (namespace, mode"));
  const badExpr = await promtool(["check", "rules", brokenExpr]);
  assert.equal(badExpr.code, 1, "an unparsable expression fails the check");
  assert.match(badExpr.stderr, /SwitchboardDeliveriesFailing|parse error/);

  const brokenTemplate = join(dir, "broken-template.yml");
  writeFileSync(brokenTemplate, text.replace("$value | humanize ", "$value | nosuchfunction "));
  const badTemplate = await promtool(["check", "rules", brokenTemplate]);
  assert.equal(badTemplate.code, 1, "an annotation template calling an unknown function fails the check");
});

test("each alert of the chart fires on its condition and stays quiet on healthy series (promtool test rules)", async () => {
  const rules = join(dir, "alert-rules.yml");
  writeFileSync(rules, stringify(await rulesFile()));
  const tests = join(dir, "alert-tests.yml");
  writeFileSync(tests, stringify(alertTests(rules)));
  const out = await promtool(["test", "rules", tests]);
  assert.equal(out.code, 0, `${out.stdout}${out.stderr}`);
});

test("the gateway's /metrics passes promtool check metrics, with its delivery counters and the process metrics but the GC histogram", async () => {
  await publish(3);
  await fn.waitFor(3);
  await waitFor("the delivered counter", async () =>
    ((await gateway.metric('switchboard_gateway_deliveries_total{mode="async",outcome="delivered"}')) ?? 0) >=
    3
      ? true
      : undefined,
  );
  const exposition = await assertValidExposition("gateway", gateway.adminUrl);
  assert.ok(declares(exposition, "process_cpu_user_seconds_total"));
  assert.ok(declares(exposition, "nodejs_eventloop_lag_p99_seconds"));
  // Left out: it costs the gateway a PerformanceEntry per collection (common/metrics.ts).
  assert.ok(!declares(exposition, "nodejs_gc_duration_seconds"));
});

test("the operator's /metrics passes promtool check metrics, with reconcile metrics present", async () => {
  await exclusive(cluster, "operator");
  await installCrds(cluster);
  const leaseNs = await testNamespace(cluster, "prom-op");
  const operator = await startOperator(cluster, {
    clusterName: uniqueName("prom-op"),
    id: "prom-op",
    etcd: etcdUrl,
    leaseNamespace: leaseNs,
  });
  cleanup(() => operator.proc.stop());
  const vpnName = uniqueName("prom-op");
  // Deleted while the operator still runs (cleanups run last-registered first): it removes the finalizer.
  cleanup(() => cluster.kubectl(["delete", "vpn", vpnName, "--wait=true", "--timeout=60s"]).then(() => {}));
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${vpnName} }
spec: { namespaces: { names: [${leaseNs}] } }
`,
  );
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", `vpn/${vpnName}`]);
  await waitFor("counted reconciles", async () =>
    ((await operator.metric("switchboard_operator_reconciles_total")) ?? 0) > 0 ? true : undefined,
  );
  assert.equal(await operator.isLeader(), true);
  const exposition = await assertValidExposition("operator", operator.adminUrl);
  assert.ok(declares(exposition, "nodejs_gc_duration_seconds"));
});

let server: Promise<PrometheusServer> | undefined;
/** One real Prometheus for this file, scraping the gateway every second. */
const prometheus = (): Promise<PrometheusServer> => {
  server ??= startPrometheus({
    dir: join(dir, "prometheus"),
    targets: [new URL(gateway.adminUrl).host],
  }).then((started) => {
    cleanup(() => started.proc.stop());
    return started;
  });
  return server;
};

test("a real Prometheus scrapes the gateway and counts every delivered event", async () => {
  const prom = await prometheus();
  await publish(5);
  const received = (await fn.waitFor(seq)).length;
  const delivered = 'sum(switchboard_gateway_deliveries_total{outcome="delivered"})';
  const scraped = await waitFor(
    `Prometheus to report ${received} delivered events`,
    async () => ((await prom.query(delivered)) === received ? received : undefined),
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.equal(scraped, received);
  assert.equal(await prom.query('up{job="switchboard"}'), 1);
});

test("every query of the chart's Grafana dashboard is valid PromQL for a real Prometheus", async () => {
  const prom = await prometheus();
  const dashboard: unknown = JSON.parse(readFileSync(join(CHART_DIR, "files", "dashboard.json"), "utf8"));
  const exprs = list(dashboard, "panels").flatMap((panel) =>
    list(panel, "targets").map((target) => String(get(target, "expr"))),
  );
  assert.ok(exprs.length >= 10, `only ${exprs.length} queries found`);
  for (const expr of exprs) {
    // The dashboard's variables ($namespace, $gateway, $operator) select everything here.
    const promql = expr.replace(/\$(namespace|gateway|operator)\b/g, ".*");
    await assert.doesNotReject(prom.query(promql), `dashboard query ${expr}`);
  }
});
