// Ready means routable: a Subscription turns Ready only when every live gateway that should route
// it has applied the registry revision carrying it (Propagated, with counts). Two gateways of one
// cluster, one of them reaching etcd through a proxy; the proxy is cut, a new Subscription is
// applied, and it shows Propagated=False naming the cut-off gateway until the cut heals. A gateway
// that stops removes its presence record and is no longer counted. Real API server, etcd,
// operator and gateways.
import assert from "node:assert/strict";
import { test } from "node:test";
import { installCrds } from "../crds/install.ts";
import { decodePresence } from "../registry/heartbeat/presence.ts";
import { presenceKey } from "../registry/keys.ts";
import { startTcpProxy } from "../registry/testing/faults.ts";
import { startFunction } from "./functions.ts";
import { startGateway } from "./gateway.ts";
import { cleanup, exclusive, tenantYaml, testCluster, testEtcd, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { waitFor } from "./proc.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("prop");
const ns = uniqueName("prop");
const vpn = uniqueName("prop");
const token = `token-${uniqueName("t")}`;

const subscription = (name: string): string => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: ${name}, namespace: ${ns} }
spec: { vpn: ${vpn}, function: sink, mode: async, filters: [{ exact: { type: com.example.${name} } }] }
`;

interface Cond {
  status?: string;
  reason?: string;
  message?: string;
}

const conditions = async (name: string): Promise<Record<string, Cond>> => {
  const out = await cluster.kubectl([
    "get",
    "-n",
    ns,
    `subscription/${name}`,
    "-o",
    "jsonpath={.status.conditions}",
  ]);
  const list = JSON.parse(out || "[]") as (Cond & { type: string })[];
  return Object.fromEntries(list.map((c) => [c.type, c]));
};

test("a Subscription is Ready once every gateway routes it; a cut-off gateway is named until the cut heals", async () => {
  const sink = await startFunction();
  cleanup(() => sink.close());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `${tenantYaml(ns, vpn, token)}apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: sink, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${sink.url}/in" } }
`,
  );
  const operator = await startOperator(cluster, {
    clusterName,
    id: "prop-op",
    etcd: etcdUrl,
    leaseNamespace: ns,
  });
  cleanup(() => operator.proc.stop());
  const proxy = await startTcpProxy(Number(new URL(etcdUrl).port));
  cleanup(() => proxy.close());
  const direct = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "prop-direct" });
  cleanup(() => direct.proc.stop());
  const cut = await startGateway({ etcd: proxy.url, clusterName, dir: cluster.dir, name: "prop-cut" });
  cleanup(() => cut.proc.stop());

  // Like an injected sidecar: no presence record, so neither known nor counted.
  const silent = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "prop-silent",
    extraArgs: ["--presence-ttl=0s"],
  });
  cleanup(() => silent.proc.stop());
  // A gateway reports itself once it has started: the operator counts those it has heard of.
  await operator.knowsGateways(["prop-cut", "prop-direct"]);
  await cluster.kubectl(["apply", "-f", "-"], subscription("first"));
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "subscription/first"]);
  const first = (await conditions("first")).Propagated;
  assert.deepEqual([first?.status, first?.reason, first?.message], ["True", "Propagated", "2/2 gateways"]);

  proxy.block();
  await cluster.kubectl(["apply", "-f", "-"], subscription("second"));
  const behind = await waitFor("the second Subscription to name the cut-off gateway", async () => {
    const c = await conditions("second");
    // At first neither gateway may have applied it (0/2); the direct one does within moments.
    return c.Propagated?.status === "False" && c.Propagated.message?.startsWith("1/2 ") ? c : undefined;
  });
  assert.equal(behind.Propagated?.reason, "GatewaysBehind");
  assert.match(
    behind.Propagated?.message ?? "",
    /^1\/2 gateways; record at revision \d+ not yet applied by prop-cut \(applied revision \d+ at \S+Z\)$/,
  );
  assert.equal(behind.Ready?.status, "False");
  assert.equal(behind.Ready?.reason, "NotPropagated");
  // The first Subscription stays Ready: the gateway had applied it.
  assert.equal((await conditions("first")).Ready?.status, "True");

  proxy.unblock();
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "subscription/second"]);
  assert.equal((await conditions("second")).Propagated?.message, "2/2 gateways");

  // A stopped gateway revokes its lease: its record goes, and it is no longer counted.
  await cut.proc.stop();
  const key = presenceKey(clusterName, "prop-direct");
  const { Etcd3 } = await import("etcd3");
  const etcd = new Etcd3({ hosts: etcdUrl });
  cleanup(() => etcd.close());
  assert.equal(
    await etcd.get(presenceKey(clusterName, "prop-cut")).string(),
    null,
    "the stopped gateway's record is gone",
  );
  const own = decodePresence((await etcd.get(key).buffer()) ?? Buffer.from("{}"), "prop-direct");
  assert.equal(own.cluster, clusterName);
  assert.equal(own.namespace, undefined, "a shared gateway");
  await cluster.kubectl(["apply", "-f", "-"], subscription("third"));
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "subscription/third"]);
  assert.equal((await conditions("third")).Propagated?.message, "1/1 gateways");

  // A gateway killed with SIGKILL cannot revoke its lease: it is named as behind until the lease
  // (--presence-ttl) runs out, then no longer counted.
  const killed = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "prop-killed",
    extraArgs: ["--presence-ttl=6s"],
  });
  cleanup(() => killed.proc.stop());
  await operator.knowsGateways(["prop-direct", "prop-killed"]);
  process.kill(killed.proc.pid, "SIGKILL");
  await killed.proc.exited;
  await cluster.kubectl(["apply", "-f", "-"], subscription("fourth"));
  const named = await waitFor("the fourth Subscription to name the killed gateway", async () => {
    const c = await conditions("fourth");
    return c.Propagated?.status === "False" && c.Propagated.message?.startsWith("1/2 ")
      ? c.Propagated
      : undefined;
  });
  assert.match(named.message ?? "", /^1\/2 gateways; .* by prop-killed /);
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "subscription/fourth"]);
  assert.equal((await conditions("fourth")).Propagated?.message, "1/1 gateways");
});
