// The CRDs on a real kube-apiserver: they install (repeatedly, concurrently), the examples are
// accepted, every validation rule refuses what it should with its message, and the names,
// category, printer columns and status subresource work with kubectl.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { errorMessage } from "../common/errors.ts";
import { cleanup, exclusive, testCluster, testNamespace, uniqueName } from "../e2e/harness.ts";
import { repoRoot } from "../e2e/tools.ts";
import { applyCrds, installCrds } from "./install.ts";
import { INVALID_CASES, type Kind } from "./invalid-cases.ts";
import { validFunction, validHttpSubscription, validSubscription, validVpn } from "./testdata.ts";

const cluster = await testCluster();
// Statuses are written by hand here: no operator of another test file may reconcile them meanwhile.
await exclusive(cluster, "operator");
await installCrds(cluster);
const namespace = await testNamespace(cluster, "crds");
const vpnName = uniqueName("crds");
cleanup(async () => {
  await cluster.kubectl(["delete", "vpn", vpnName, "--ignore-not-found", "--wait=false"]);
  await cluster.kubectl(["delete", "namespace", namespace, "--wait=false"]);
});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
};

const valid = (kind: Kind, name: string): unknown =>
  kind === "VPN"
    ? validVpn(`${vpnName}-${name}`, namespace)
    : kind === "Function"
      ? validFunction(name, namespace, vpnName)
      : validSubscription(name, namespace, vpnName);

/** `kubectl apply --dry-run=server` of `objects`; returns kubectl's output, throws with its error. */
const dryRun = (...objects: unknown[]): Promise<string> =>
  cluster.kubectl(
    ["apply", "--dry-run=server", "-f", "-"],
    objects.map((o) => `---\n${stringify(o)}`).join(""),
  );

// Real objects, for the tests below that read them back.
await cluster.kubectl(
  ["apply", "-f", "-"],
  [
    validVpn(vpnName, namespace),
    validFunction("orders", namespace, vpnName),
    validSubscription("orders-created", namespace, vpnName),
  ]
    .map((o) => `---\n${stringify(o)}`)
    .join(""),
);

test("installing the CRDs again, concurrently, succeeds and changes nothing", async () => {
  await Promise.all([applyCrds(cluster), applyCrds(cluster), installCrds(cluster)]);
  const out = await cluster.kubectl(["get", "crd", "-l", "app.kubernetes.io/name=switchboard", "-o", "name"]);
  assert.deepEqual(out.trim().split("\n").sort(), [
    "customresourcedefinition.apiextensions.k8s.io/functions.switchboard.dev",
    "customresourcedefinition.apiextensions.k8s.io/subscriptions.switchboard.dev",
    "customresourcedefinition.apiextensions.k8s.io/vpns.switchboard.dev",
  ]);
});

test("every manifest in examples/ is accepted (namespaced ones moved to the test namespace)", async () => {
  const dir = join(repoRoot, "examples");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  const docs = files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d): unknown => d.toJSON()),
  );
  const kinds = docs.map((d) => (isRecord(d) ? d.kind : undefined));
  // kubectl applies a directory's files in lexical order: dependencies first.
  assert.deepEqual(kinds, [
    "Namespace",
    "Secret",
    "VPN",
    "Service",
    "Function",
    "Function",
    "Subscription",
    "Subscription",
  ]);
  const moved = docs.map((d) =>
    isRecord(d) && isRecord(d.metadata) && d.metadata.namespace
      ? mergePatch(d, { metadata: { namespace } })
      : d,
  );
  const out = await dryRun(...moved);
  assert.equal(out.match(/\(server dry run\)/g)?.length, docs.length, out);
});

test("valid variants are accepted, and mode defaults to async", async () => {
  const sub = validSubscription("variants", namespace, vpnName);
  const deep = { all: [{ any: [{ not: { exact: { type: "a" } } }, { prefix: { source: "/a" } }] }] };
  await dryRun(
    mergePatch(validVpn(`${vpnName}-selector`, namespace), {
      spec: {
        namespaces: { names: null, selector: { matchExpressions: [{ key: "tier", operator: "Exists" }] } },
      },
    }),
    mergePatch(validFunction("by-port-name", namespace, vpnName), {
      spec: { target: { service: { port: "http", path: null } }, headers: null, timeout: "1.5s" },
    }),
    mergePatch(validFunction("by-url", namespace, vpnName), {
      spec: { target: { service: null, url: "http://audit.shop.svc.cluster.local:8080/events" } },
    }),
    mergePatch(sub, { spec: { filters: [deep], delivery: { maxBackoff: "24h", backoffDelay: "1h" } } }),
    validHttpSubscription("http", namespace, vpnName),
    mergePatch(validHttpSubscription("root", namespace, vpnName), { spec: { http: { path: "/" } } }),
  );
  const defaulted = await cluster.kubectl(
    ["apply", "--dry-run=server", "-o", "jsonpath={.spec.mode}", "-f", "-"],
    stringify(mergePatch(sub, { spec: { mode: null } })),
  );
  assert.equal(defaulted, "async");
});

test("invalid objects are refused with a clear message", { concurrency: 8 }, async (t) => {
  await Promise.all(
    INVALID_CASES.map((c, i) =>
      t.test(`${c.kind}: ${c.name}`, async () => {
        const object = mergePatch(valid(c.kind, `invalid-${i}`), c.patch);
        const err = await dryRun(object).then((out) => assert.fail(`accepted: ${out}`), errorMessage);
        const lines = err.split("\n").map((l) => l.replace(/^.* is invalid: /, "").replace(/^\* /, ""));
        const hit = lines.some((l) => l.startsWith(`${c.field}: `) && l.includes(c.message));
        assert.ok(hit, `want "${c.field}: …${c.message}…", got:\n${err}`);
      }),
    ),
  );
});

const columns = async (...args: string[]): Promise<string[][]> =>
  (await cluster.kubectl(["get", ...args]))
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));

const patchStatus = (resource: string, status: unknown, ...flags: string[]): Promise<string> =>
  cluster.kubectl([
    "patch",
    resource,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    ...flags,
    "-p",
    JSON.stringify({ status }),
  ]);

const ready = (status: string, reason: string) => ({
  type: "Ready",
  status,
  reason,
  message: "",
  lastTransitionTime: "2025-01-01T00:00:00Z",
  observedGeneration: 1,
});

test("kubectl get switchboard lists all three kinds", async () => {
  const all = (await cluster.kubectl(["get", "switchboard", "-n", namespace, "-o", "name"])).split("\n");
  for (const name of [
    `vpn.switchboard.dev/${vpnName}`,
    "function.switchboard.dev/orders",
    "subscription.switchboard.dev/orders-created",
  ]) {
    assert.ok(all.includes(name), `${name} missing from:\n${all.join("\n")}`);
  }
});

test("short names resolve to their kinds", async () => {
  const fn = "function.switchboard.dev/orders";
  const sub = "subscription.switchboard.dev/orders-created";
  const names = { sbvpn: `vpn.switchboard.dev/${vpnName}`, fn, sbfn: fn, sub, sbsub: sub };
  for (const [short, full] of Object.entries(names)) {
    const name = full.split("/")[1] ?? "";
    const out = await cluster.kubectl(["get", short, name, "-n", namespace, "-o", "name"]);
    assert.equal(out.trim(), full, short);
  }
});

test("functions and subscriptions can be selected by spec.vpn", async () => {
  const byVpn = async (resource: string, vpn: string): Promise<string> =>
    (
      await cluster.kubectl([
        "get",
        resource,
        "-n",
        namespace,
        "--field-selector",
        `spec.vpn=${vpn}`,
        "-o",
        "name",
      ])
    ).trim();
  assert.equal(await byVpn("fn", vpnName), "function.switchboard.dev/orders");
  assert.equal(await byVpn("sub", vpnName), "subscription.switchboard.dev/orders-created");
  assert.equal(await byVpn("fn", "elsewhere"), "");
});

test("printer columns show Ready, Reason, the kind's fields and the gateways that applied it, Age last", async () => {
  await patchStatus("function/orders", {
    observedGeneration: 1,
    endpoints: 2,
    target: "svc/orders:80/events",
    conditions: [
      { ...ready("True", "Propagated"), type: "Propagated", message: "3/3 gateways" },
      ready("True", "EndpointsReady"),
    ],
  });
  const [header, row] = await columns("fn", "orders", "-n", namespace);
  assert.deepEqual(header, ["NAME", "READY", "REASON", "VPN", "TARGET", "ENDPOINTS", "GATEWAYS", "AGE"]);
  assert.deepEqual(row?.slice(0, 8), [
    "orders",
    "True",
    "EndpointsReady",
    vpnName,
    "svc/orders:80/events",
    "2",
    "3/3",
    "gateways",
  ]);
  assert.deepEqual((await columns("sub", "-n", namespace))[0], [
    "NAME",
    "READY",
    "REASON",
    "VPN",
    "FUNCTION",
    "MODE",
    "GATEWAYS",
    "AGE",
  ]);
  assert.deepEqual((await columns("sbvpn", vpnName))[0], [
    "NAME",
    "READY",
    "REASON",
    "NAMESPACES",
    "PUBLISHERS",
    "GATEWAYS",
    "AGE",
  ]);
});

test("the status subresource refuses a condition that is no metav1.Condition", async () => {
  await assert.rejects(
    patchStatus("subscription/orders-created", { conditions: [ready("Maybe", "X")] }, "--dry-run=server"),
    /status\.conditions\[0\]\.status: Unsupported value: "Maybe"/,
  );
  await assert.rejects(
    patchStatus(
      "subscription/orders-created",
      { conditions: [ready("True", "not a reason")] },
      "--dry-run=server",
    ),
    /status\.conditions\[0\]\.reason: Invalid value: "not a reason"/,
  );
});
