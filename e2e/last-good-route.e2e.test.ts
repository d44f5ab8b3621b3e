// A mistake never breaks a working route: a Subscription edited to a CEL expression that does not
// compile is reported (FilterValid=False with the position of the error), and the gateways keep
// routing with the last valid generation until the expression is fixed. Real API server, operator,
// gateway and function (no admission webhook here: the planner alone must hold this).
import assert from "node:assert/strict";
import { test } from "node:test";
import { installCrds } from "../crds/install.ts";
import { startFunction } from "./functions.ts";
import { startGateway } from "./gateway.ts";
import { cleanup, exclusive, tenantYaml, testCluster, testEtcd, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { waitFor } from "./proc.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("lgr");
const ns = uniqueName("lgr");
const vpn = uniqueName("lgr");
const token = `token-${uniqueName("t")}`;

const subscription = (cel: string) => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: big-orders, namespace: ${ns} }
spec: { vpn: ${vpn}, function: sink, mode: async, filters: [{ exact: { type: com.example.order } }], cel: "${cel}" }
`;

const condition = async (type: string): Promise<{ status: string; reason: string; message: string }> => {
  const out = await cluster.kubectl([
    "get",
    "-n",
    ns,
    "subscription/big-orders",
    "-o",
    `jsonpath={.status.conditions[?(@.type=="${type}")]}`,
  ]);
  return JSON.parse(out || "{}") as { status: string; reason: string; message: string };
};

test("an invalid edit is reported with its position while the previous generation keeps routing; the fix takes over", async () => {
  const sink = await startFunction();
  cleanup(() => sink.close());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `${tenantYaml(ns, vpn, token)}apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: sink, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${sink.url}/in" } }
---
${subscription("data.amount > 10")}`,
  );
  const operator = await startOperator(cluster, {
    clusterName,
    id: "lgr-op",
    etcd: etcdUrl,
    leaseNamespace: ns,
  });
  cleanup(() => operator.proc.stop());
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    ns,
    "subscription/big-orders",
  ]);
  const gateway = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "lgr" });
  cleanup(() => gateway.proc.stop());
  /** Publishes an order of `amount`; resolves with how many subscriptions it was delivered to. */
  const publish = async (id: string, amount: number): Promise<number> => {
    const res = await fetch(`${gateway.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        id,
        source: "/lgr",
        type: "com.example.order",
        data: { amount },
      }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { deliveries: number }).deliveries;
  };
  assert.equal(await publish("before", 50), 1);

  // The mistake: a CEL expression that does not compile (accepted by the API server here).
  await cluster.kubectl(["apply", "-f", "-"], subscription("data.amount >> 10"));
  await cluster.kubectl([
    "wait",
    "--for=condition=FilterValid=false",
    "--timeout=60s",
    "-n",
    ns,
    "subscription/big-orders",
  ]);
  const filterValid = await condition("FilterValid");
  assert.equal(filterValid.reason, "CELCompileError");
  assert.match(filterValid.message, /Unexpected token: GT at line 1, column 14/);
  const ready = await condition("Ready");
  assert.equal(ready.status, "False");
  assert.equal(ready.reason, "PreviousGenerationServing");
  assert.match(ready.message, /generation 2 is not applied .*; generation 1 is still serving/);
  assert.equal(await publish("during", 50), 1, "the previous generation still routes");
  assert.equal(await publish("during-small", 5), 0, "with its own filter");

  // The fix takes over: a new filter, routed as soon as it is Ready.
  await cluster.kubectl(["apply", "-f", "-"], subscription("data.amount > 100"));
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    ns,
    "subscription/big-orders",
  ]);
  await waitFor("the fixed filter to route", async () =>
    (await publish("probe", 50)) === 0 ? true : undefined,
  );
  assert.equal(await publish("after", 500), 1);
  const ids = (await sink.waitFor(2)).map((r) => r.headers["ce-id"]);
  assert.ok(ids.includes("before") && ids.includes("during"), ids.join(","));
});
