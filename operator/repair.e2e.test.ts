// Drift repair end to end: the real operator process against a real API server and etcd. Records
// changed behind its back (a VPN record given an extra publisher hash, a Subscription's filters
// rewritten, a Function record deleted, a stray Subscription record added) are restored or
// removed, each counted once in switchboard_operator_registry_repairs_total and logged once at
// warn with its key, and records nobody touched are never rewritten. The operator's writes to the
// API server are held to a few a second (--kube-write-qps), which it waits for.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "../e2e/harness.ts";
import { startOperator } from "../e2e/operator.ts";
import { waitFor } from "../e2e/proc.ts";
import { decodeRecord, encodeRecord } from "../registry/codec.ts";
import { functionKey, subscriptionKey, vpnKey } from "../registry/keys.ts";
import type { SubscriptionRecord, VpnRecord } from "../registry/types.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const etcd = new Etcd3({ hosts: etcdUrl });
const clusterName = uniqueName("repair");
const leaseNamespace = await testNamespace(cluster, "repair-leases");
const ns = await testNamespace(cluster, "repair");
const vpn = uniqueName("repair-vpn");
const RESYNC = "1s";
const operator = await startOperator(cluster, {
  clusterName,
  id: `${clusterName}-op`,
  etcd: etcdUrl,
  leaseNamespace,
  // Writes to the API server held to a few a second: five objects still become Ready, later.
  extraArgs: [`--resync-period=${RESYNC}`, "--log-level=debug", "--kube-write-qps=4", "--kube-write-burst=1"],
});
cleanup(async () => {
  await operator.proc.stop();
  await cluster.kubectl(["delete", "vpn", vpn, "--ignore-not-found", "--wait=false"]);
  etcd.close();
});

await cluster.kubectl(
  ["apply", "-f", "-"],
  `apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${vpn} }
spec: { namespaces: { names: [${ns}] } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: orders, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "http://orders.example.invalid/" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: audit, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "http://audit.example.invalid/" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: created, namespace: ${ns} }
spec: { vpn: ${vpn}, function: orders, mode: async, filters: [{ exact: { type: com.example.created } }] }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: shipped, namespace: ${ns} }
spec: { vpn: ${vpn}, function: audit, mode: async }
`,
);
await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", `vpn/${vpn}`]);
for (const kind of ["functions.switchboard.dev", "subscriptions.switchboard.dev"])
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, kind, "--all"]);

const where = (name: string) => ({ vpn, namespace: ns, name, cluster: clusterName });
const keys = {
  vpn: vpnKey(vpn, clusterName),
  orders: functionKey(where("orders")),
  audit: functionKey(where("audit")),
  created: subscriptionKey(where("created")),
  shipped: subscriptionKey(where("shipped")),
};
const ghostKey = subscriptionKey(where("ghost"));

const kvOf = async (key: string): Promise<{ value: string; modRevision: string } | undefined> => {
  const kv = (await etcd.get(key).exec()).kvs[0];
  return kv === undefined ? undefined : { value: kv.value.toString(), modRevision: kv.mod_revision };
};
const snapshot = async () =>
  Object.fromEntries(
    await Promise.all(Object.entries(keys).map(async ([n, k]) => [n, await kvOf(k)] as const)),
  );
const desired = await snapshot();

const repairs = async (kind: string): Promise<number> =>
  (await operator.metric(`switchboard_operator_registry_repairs_total{kind="${kind}"}`)) ?? 0;
const restored = (name: keyof typeof keys) =>
  waitFor(`${name}'s record restored`, async () => {
    const now = await kvOf(keys[name]);
    return now?.value === desired[name]?.value ? now : undefined;
  });
const logLines = (needle: string): string[] =>
  readFileSync(operator.proc.log, "utf8")
    .split("\n")
    .filter((l) => l.includes(needle));
const repairLines = (key: string): Record<string, unknown>[] =>
  logLines("behind the operator's back")
    .map((l): Record<string, unknown> => JSON.parse(l))
    .filter((l) => l.key === key);

// Registered after the last top-level await: a test registered before one runs on its own, and
// the file's cleanups (stopping the operator) follow it at once.
test("with --kube-write-qps the operator's writes wait for the rate, and every object still becomes Ready", async () => {
  // Ten writes (a finalizer and a status each) in a burst of one at four a second: most waited.
  const waited = (await operator.metric("switchboard_operator_kube_write_wait_seconds_total")) ?? 0;
  assert.ok(waited > 0, `writes waited ${waited} s`);
});

test("a publisher hash added to the VPN record is removed", async () => {
  const value = desired.vpn?.value ?? "";
  const record = decodeRecord(keys.vpn, value) as VpnRecord;
  const tampered: VpnRecord = {
    ...record,
    spec: {
      ...record.spec,
      publishers: [...record.spec.publishers, { name: "evil", tokenSha256: "ab".repeat(32) }],
    },
  };
  await etcd.put(keys.vpn).value(encodeRecord(tampered));
  await restored("vpn");
  assert.equal(await repairs("vpn"), 1);
  const [line, ...more] = repairLines(keys.vpn);
  assert.equal(more.length, 0, "logged once");
  assert.equal(line?.level, "warn");
  assert.equal(line?.change, "changed");
});

test("a Subscription record rewritten is restored", async () => {
  const record = decodeRecord(keys.created, desired.created?.value ?? "") as SubscriptionRecord;
  const widened: SubscriptionRecord = { ...record, spec: { ...record.spec, filters: [] } };
  await etcd.put(keys.created).value(encodeRecord(widened));
  await restored("created");
  assert.equal(await repairs("subscription"), 1);
  assert.equal(repairLines(keys.created).length, 1);
});

test("a deleted Function record is written again", async () => {
  await etcd.delete().key(keys.orders);
  await restored("orders");
  assert.equal(await repairs("function"), 1);
  assert.equal(repairLines(keys.orders)[0]?.change, "deleted");
});

test("a stray Subscription record in the cluster's subtree is removed", async () => {
  const record = decodeRecord(keys.shipped, desired.shipped?.value ?? "") as SubscriptionRecord;
  const ghost: SubscriptionRecord = { ...record, owner: { ...record.owner, name: "ghost", uid: "forged" } };
  await etcd.put(ghostKey).value(encodeRecord(ghost));
  await waitFor("the stray record removed", async () =>
    (await kvOf(ghostKey)) === undefined ? true : undefined,
  );
  assert.equal(await repairs("subscription"), 2);
  assert.equal(repairLines(ghostKey)[0]?.change, "added");
});

test("after two more audits: nothing counted twice, untouched records never rewritten, repaired ones written once", async () => {
  const repaired = await snapshot();
  const audits = logLines("registry audit done").length;
  await waitFor(
    "two more audits",
    async () => (logLines("registry audit done").length >= audits + 2 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
  assert.deepEqual(await snapshot(), repaired, "no record was written again");
  for (const name of ["audit", "shipped"] as const)
    assert.equal(repaired[name]?.modRevision, desired[name]?.modRevision, `${name} was never rewritten`);
  assert.deepEqual(
    [await repairs("vpn"), await repairs("function"), await repairs("subscription")],
    [1, 1, 2],
  );
});
