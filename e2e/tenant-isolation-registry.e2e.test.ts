// Tenant isolation in the registry, played as an attacker would: a tenant who controls pods in
// VPN A's namespace holds what A's injected sidecars hold — a read credential for the registry
// etcd and A's VPN key — and tries to read VPN B's secrets, function URLs and token hashes, or to
// publish into B through A's sidecar. Real etcd, real API server, the real operator and gateways.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { decodeRecord } from "../registry/codec.ts";
import { NotThisReadersVpnError } from "../registry/errors.ts";
import { explainKey, REGISTRY_PREFIX } from "../registry/keys.ts";
import { parseVpnKeyFile, VPN_KEY_FILE, VPN_KEY_SECRET } from "../registry/seal/files.ts";
import { startFunction } from "./functions.ts";
import { startGateway } from "./gateway.ts";
import { cleanup, exclusive, tenantYaml, testCluster, testEtcd, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { waitFor } from "./proc.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("iso");
const [nsA, nsB, vpnA, vpnB] = [
  uniqueName("tenant-a"),
  uniqueName("tenant-b"),
  uniqueName("a"),
  uniqueName("b"),
];
const tokenA = `a-${randomBytes(16).toString("hex")}`;
const tokenB = `b-${randomBytes(16).toString("hex")}`;
const secretOfB = `b-api-key-${randomBytes(8).toString("hex")}`;
const masterKeyFile = join(cluster.dir, `${clusterName}-registry.key`);
writeFileSync(masterKeyFile, randomBytes(32).toString("base64"), { mode: 0o600 });

const etcd = new Etcd3({ hosts: etcdUrl });
cleanup(() => etcd.close());
const fnA = await startFunction();
const fnB = await startFunction();
cleanup(() => fnA.close());
cleanup(() => fnB.close());

const tenant = (
  ns: string,
  vpn: string,
  token: string,
  url: string,
  headers: string,
) => `${tenantYaml(ns, vpn, token, { apikey: secretOfB })}apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: handler, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${url}" }${headers} }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: all, namespace: ${ns} }
spec: { vpn: ${vpn}, function: handler, mode: async, filters: [{ prefix: { type: com.example. } }] }
`;

const publish = (url: string, token: string | undefined, id: string): Promise<Response> =>
  fetch(`${url}/`, {
    method: "POST",
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      "content-type": "application/cloudevents+json",
    },
    body: JSON.stringify({ specversion: "1.0", id, source: "/iso", type: "com.example.ping", data: {} }),
  });

await cluster.kubectl(
  ["apply", "-f", "-"],
  tenant(nsA, vpnA, tokenA, `${fnA.url}/a`, "") +
    "---\n" +
    tenant(
      nsB,
      vpnB,
      tokenB,
      `${fnB.url}/b-private-path`,
      `, headers: [{ name: x-api-key, valueFrom: { secretKeyRef: { name: publisher, key: apikey } } }]`,
    ),
);
const operator = await startOperator(cluster, {
  clusterName,
  id: "iso-op",
  etcd: etcdUrl,
  leaseNamespace: nsA,
  extraArgs: [`--registry-key-file=${masterKeyFile}`],
});
cleanup(() => operator.proc.stop());
for (const [ns, vpn] of [
  [nsA, vpnA],
  [nsB, vpnB],
] as const) {
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", `vpn/${vpn}`]);
  for (const object of ["functions.switchboard.dev/handler", "subscriptions.switchboard.dev/all"])
    await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, object]);
}

/** The VPN key file the operator put in `ns` for its sidecars, once it is there. */
const keyFileOf = async (ns: string): Promise<string> =>
  waitFor(`the VPN key Secret in ${ns}`, async () => {
    const out = await cluster
      .kubectl([
        "get",
        "secret",
        VPN_KEY_SECRET,
        "-n",
        ns,
        "-o",
        `jsonpath={.data.${VPN_KEY_FILE.replace(".", "\\.")}}`,
      ])
      .catch(() => "");
    return out === "" ? undefined : Buffer.from(out, "base64").toString("utf8");
  });

const ownRecords = async (): Promise<Map<string, Buffer>> => {
  const all = await etcd.getAll().prefix(`${REGISTRY_PREFIX}clusters/${clusterName}/`).buffers();
  return new Map(Object.entries(all));
};

test("with etcd read access and A's key, nothing of B's secrets, URLs or token hashes can be read", async () => {
  const keyA = await keyFileOf(nsA);
  const ringA = parseVpnKeyFile("vpn-key.json", keyA);
  assert.equal(ringA.onlyVpn, vpnA);
  const records = await ownRecords();
  const recordsOf = (vpn: string) =>
    [...records.keys()].filter((k) => {
      const parts = explainKey(k);
      return typeof parts !== "string" && "vpn" in parts && parts.vpn === vpn;
    });
  assert.equal(recordsOf(vpnB).length, 3, "B's VPN, Function and Subscription records are in etcd");
  assert.equal(recordsOf(vpnA).length, 3);
  const everything = Buffer.concat([...records.values()]).toString("utf8");
  const hashB = createHash("sha256").update(tokenB).digest("hex");
  const secrets: [string, string][] = [
    ["B's header secret", secretOfB],
    ["B's function path", "b-private-path"],
    ["B's token hash", hashB],
    ["B's token", tokenB],
    ["A's token hash", createHash("sha256").update(tokenA).digest("hex")],
  ];
  for (const [what, text] of secrets) assert.ok(!everything.includes(text), `${what} is readable in etcd`);
  for (const key of recordsOf(vpnB))
    assert.throws(
      () => decodeRecord(key, records.get(key) ?? Buffer.alloc(0), ringA),
      NotThisReadersVpnError,
    );
  for (const key of recordsOf(vpnA)) assert.equal(decodeRecord(key, records.get(key) ?? "", ringA).vpn, vpnA);
});

test("a sidecar with A's key serves A only: B's token is refused, A's events are delivered", async () => {
  const keyFile = join(cluster.dir, `${clusterName}-a.key.json`);
  writeFileSync(keyFile, await keyFileOf(nsA));
  const sidecar = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "iso-sidecar-a",
    namespace: nsA,
    extraArgs: [`--vpn-key-file=${keyFile}`],
  });
  cleanup(() => sidecar.proc.stop());
  assert.equal((await publish(sidecar.url, tokenB, "b-via-a")).status, 401);
  assert.equal((await publish(sidecar.url, undefined, "a-loopback")).status, 202);
  assert.equal((await publish(sidecar.url, tokenA, "a-token")).status, 202);
  const got = await fnA.waitFor(2);
  assert.deepEqual(got.map((r) => r.headers["ce-id"]).sort(), ["a-loopback", "a-token"]);
  assert.equal(fnB.received.length, 0);
  // It listed A's records alone (registry/watcher/scope.ts): A's VPN, Function and Subscription.
  const listed = readFileSync(join(cluster.dir, "gateway-iso-sidecar-a.log"), "utf8")
    .split("\n")
    .filter((line) => line.includes('"registry listed"'))
    .map((line) => JSON.parse(line) as { vpn?: string; records?: number });
  assert.deepEqual(
    listed.map(({ vpn, records }) => ({ vpn, records })),
    [{ vpn: vpnA, records: 3 }],
  );
});

test("the shared gateway with the master key opens every VPN's sealed records, Secret headers included", async () => {
  const shared = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "iso-shared",
    extraArgs: [`--registry-key-file=${masterKeyFile}`],
  });
  cleanup(() => shared.proc.stop());
  assert.equal((await publish(shared.url, tokenB, "b-1")).status, 202);
  const [delivered] = await fnB.waitFor(1);
  assert.equal(delivered?.headers["x-api-key"], secretOfB);
  assert.equal(delivered?.path, "/b-private-path");
  // A gateway without any key reads no sealed record: nothing to route, every token unknown.
  const keyless = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "iso-keyless" });
  cleanup(() => keyless.proc.stop());
  assert.equal((await publish(keyless.url, tokenB, "b-keyless")).status, 401);
});

test("a namespace that leaves its VPN loses the VPN key Secret", async () => {
  await keyFileOf(nsB);
  await cluster.kubectl(["delete", `vpn/${vpnB}`, "--wait=true", "--timeout=60s"]);
  await waitFor(`the VPN key Secret in ${nsB} to be removed`, async () => {
    const out = await cluster.kubectl(["get", "secret", "-n", nsB, "-o", "name"]);
    return out.includes(`secret/${VPN_KEY_SECRET}`) ? undefined : true;
  });
  // A's is untouched.
  assert.equal(parseVpnKeyFile("k", await keyFileOf(nsA)).onlyVpn, vpnA);
});
