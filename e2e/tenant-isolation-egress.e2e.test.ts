// Tenant isolation against SSRF, played as the attacker: a tenant declares Functions whose URLs
// are the registry etcd's client port, the API server, loopback, the cloud metadata address, the
// gateway's own admin port and names that resolve to loopback, subscribes to them, and publishes
// events whose data is etcd's JSON API body. Real etcd, kube-apiserver, operator and gateway,
// both with the production egress defaults (no --egress-allow). Every attempt is refused with a
// reason; nothing of the registry is read or written; a VPN whose allow-list names an address
// does reach it, and no other VPN does through that entry.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { type FunctionServer, startFunction } from "./functions.ts";
import { startGateway } from "./gateway.ts";
import { cleanup, exclusive, testCluster, testEtcd, uniqueName, waitReady } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { freePort } from "./ports.ts";
import { waitFor } from "./proc.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const etcdPort = Number(new URL(etcdUrl).port);
const apiPort = Number(new URL(cluster.apiserver).port);
const clusterName = uniqueName("egress");
const [attacker, victim, trusted] = [uniqueName("attacker"), uniqueName("victim"), uniqueName("trusted")];
const tokens = { attacker: `token-${uniqueName("a")}`, trusted: `token-${uniqueName("t")}` };
const registryPrefix = `/switchboard/v1/clusters/${clusterName}/`;
const b64 = (s: string): string => Buffer.from(s).toString("base64");

const started: FunctionServer[] = [];
const fnServer = async (answer?: Parameters<typeof startFunction>[0]): Promise<FunctionServer> => {
  const server = await startFunction(answer);
  started.push(server);
  cleanup(() => server.close());
  return server;
};
const portOf = (s: FunctionServer): number => Number(new URL(s.url).port);

const redirect = await fnServer(() => ({ status: 302, headers: { location: `${etcdUrl}/v3/kv/range` } }));
const deadLetters = await fnServer();
const trustedFn = await fnServer(() => ({ body: "trusted ok" }));
const otherTenant = await fnServer();
const adminPort = await freePort();

/** The attacker's targets: function name → URL, and the reason the gateway must give. */
const ATTACKS: Record<string, { url: string; reason: string }> = {
  "etcd-range": {
    url: `${etcdUrl}/v3/kv/range`,
    reason: `127.0.0.1:${etcdPort} is refused: the registry etcd (egress rule "127.0.0.1:${etcdPort}")`,
  },
  apiserver: {
    url: `${cluster.apiserver}/api/v1/namespaces/${victim}/secrets`,
    reason: `127.0.0.1:${apiPort} is refused: the Kubernetes API server`,
  },
  loopback: {
    url: `${otherTenant.url}/`,
    reason: `127.0.0.1:${portOf(otherTenant)} is refused: loopback (egress rule "127.0.0.0/8")`,
  },
  metadata: {
    url: "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    reason: "169.254.169.254:80 is refused: link-local (cloud metadata at 169.254.169.254)",
  },
  admin: {
    url: `http://127.0.0.1:${adminPort}/explain?vpn=${victim}`,
    reason: `127.0.0.1:${adminPort} is refused: this gateway's admin port`,
  },
  "by-name": {
    url: `http://localhost:${etcdPort}/v3/kv/range`,
    reason: `127.0.0.1:${etcdPort} (localhost) is refused: the registry etcd`,
  },
  "by-subname": {
    url: `http://registry.localhost:${portOf(otherTenant)}/`,
    reason: `127.0.0.1:${portOf(otherTenant)} (registry.localhost) is refused: loopback`,
  },
  "trusted-address": {
    url: `${trustedFn.url}/`,
    reason: `127.0.0.1:${portOf(trustedFn)} is refused: loopback`,
  },
};

/** What the operator can know at reconcile time (no gateway ports, no DNS): the message part. */
const KNOWN_AT_RECONCILE: Record<string, string> = {
  "etcd-range": "the registry etcd",
  apiserver: "the Kubernetes API server",
  loopback: "loopback",
  metadata: "link-local",
  admin: "loopback",
  "by-name": "the registry etcd",
  "by-subname": "loopback",
  "trusted-address": "loopback",
};

const fnYaml = (ns: string, vpn: string, name: string, url: string): string => `---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: ${name}, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${url}" } }
`;
const subYaml = (
  ns: string,
  vpn: string,
  name: string,
  mode: string,
  type: string,
  extra = "",
): string => `---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: ${name}, namespace: ${ns} }
spec: { vpn: ${vpn}, function: ${name.replace(/-(sync|async)$/, "")}, mode: ${mode}, filters: [{ exact: { type: ${type} } }]${extra} }
`;
const tenantYaml = (name: string, allow: string[], token?: string): string => `---
apiVersion: v1
kind: Namespace
metadata: { name: ${name} }
${
  token
    ? `---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: ${name} }
stringData: { token: "${token}" }
`
    : ""
}---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${name} }
spec:
  namespaces: { names: [${name}] }
${token ? `  publishers: [{ name: ci, tokenSecretRef: { namespace: ${name}, name: publisher, key: token } }]\n` : ""}${
  allow.length > 0 ? `  egress: { allow: [${allow.map((a) => `"${a}"`).join(", ")}] }\n` : ""
}`;

const manifests = [
  // The attacker's VPN allow-list names its own legitimate functions, and the registry etcd: a
  // VPN's allow-list never lifts the protected endpoints.
  tenantYaml(
    attacker,
    [`127.0.0.1:${portOf(redirect)}`, `127.0.0.1:${portOf(deadLetters)}`, `127.0.0.1:${etcdPort}`],
    tokens.attacker,
  ),
  ...Object.entries(ATTACKS).flatMap(([name, { url }]) => [
    fnYaml(attacker, attacker, name, url),
    subYaml(attacker, attacker, `${name}-sync`, "sync", `attack.${name}`),
  ]),
  fnYaml(attacker, attacker, "etcd-put", `${etcdUrl}/v3/kv/put`),
  subYaml(
    attacker,
    attacker,
    "etcd-put-async",
    "async",
    "attack.put",
    ", delivery: { deadLetter: { function: dead-letters } }",
  ),
  subYaml(attacker, attacker, "metadata-async", "async", "attack.metadata.async"),
  fnYaml(attacker, attacker, "redirector", `${redirect.url}/`),
  subYaml(attacker, attacker, "redirector-sync", "sync", "attack.redirect"),
  fnYaml(attacker, attacker, "dead-letters", `${deadLetters.url}/`),
  tenantYaml(victim, []),
  fnYaml(victim, victim, "ledger", "http://10.213.0.99:8080/ledger"),
  subYaml(victim, victim, "ledger-async", "async", "ledger.entry"),
  tenantYaml(trusted, [`127.0.0.1:${portOf(trustedFn)}`], tokens.trusted),
  fnYaml(trusted, trusted, "service", `${trustedFn.url}/`),
  subYaml(trusted, trusted, "service-sync", "sync", "hello"),
].join("");

/** The registry records of this test's cluster: key → (mod_revision, value). */
const registryState = async (etcd: Etcd3): Promise<Map<string, string>> => {
  const res = await etcd.getAll().prefix(registryPrefix).exec();
  return new Map(res.kvs.map((kv) => [kv.key.toString(), `${kv.mod_revision} ${kv.value.toString()}`]));
};

const publish = (gatewayUrl: string, token: string, type: string, data: unknown): Promise<Response> =>
  fetch(`${gatewayUrl}/`, {
    method: "POST",
    // The test client must not follow a redirect either: it would call etcd itself.
    redirect: "manual",
    headers: {
      authorization: `Bearer ${token}`,
      "ce-specversion": "1.0",
      "ce-id": uniqueName("id"),
      "ce-source": "/attacker",
      "ce-type": type,
      "content-type": "application/json",
    },
    body: JSON.stringify(data),
  });

test("a tenant cannot make the gateway call etcd, the API server, loopback, metadata or a gateway's admin port", async () => {
  await cluster.kubectl(["apply", "-f", "-"], manifests);
  cleanup(async () => {
    for (const ns of [attacker, victim, trusted]) {
      await cluster.kubectl(["delete", "namespace", ns, "--wait=false"]);
      await cluster.kubectl(["delete", "vpn", ns, "--ignore-not-found", "--wait=false"]);
    }
  });
  const operator = await startOperator(cluster, {
    clusterName,
    id: "egress-op",
    etcd: etcdUrl,
    leaseNamespace: victim,
    egressAllow: [],
  });
  cleanup(() => operator.proc.stop());
  for (const ns of [attacker, victim, trusted]) await waitReady(cluster, [`vpn/${ns}`]);
  await waitReady(cluster, ["subscriptions.switchboard.dev", "--all"], attacker);
  for (const ns of [victim, trusted])
    await waitReady(cluster, ["functions.switchboard.dev,subscriptions.switchboard.dev", "--all"], ns);

  // Reconcile time: every refusal the operator can know is on the Function, which is not Ready.
  const fns = JSON.parse(
    await cluster.kubectl(["get", "-n", attacker, "functions.switchboard.dev", "-o", "json"]),
  ) as {
    items: {
      metadata: { name: string };
      status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
    }[];
  };
  const condition = (name: string, type: string) =>
    fns.items.find((f) => f.metadata.name === name)?.status?.conditions?.find((c) => c.type === type);
  const known: [string, string][] = [
    ...Object.entries(KNOWN_AT_RECONCILE),
    ["etcd-put", "the registry etcd"],
  ];
  for (const [name, what] of known) {
    const c = condition(name, "EgressAllowed");
    assert.equal(c?.status, "False", name);
    assert.equal(c?.reason, "EgressDenied", name);
    assert.ok(c?.message.includes(`is refused: ${what}`), `${name}: ${c?.message}`);
    assert.equal(condition(name, "Ready")?.status, "False", name);
  }
  for (const name of ["redirector", "dead-letters"]) {
    assert.equal(condition(name, "EgressAllowed")?.status, "True", name);
    assert.equal(condition(name, "Ready")?.status, "True", name);
  }

  const gateway = await startGateway({
    etcd: etcdUrl,
    clusterName,
    dir: cluster.dir,
    name: "egress",
    metricsPort: adminPort,
    egressAllow: [],
    extraArgs: [`--api-server=127.0.0.1:${apiPort}`],
  });
  cleanup(() => gateway.proc.stop());
  const etcd = new Etcd3({ hosts: etcdUrl });
  cleanup(() => etcd.close());
  const before = await registryState(etcd);
  assert.ok(
    [...before.keys()].some((k) => k.includes(`/vpns/${victim}`)),
    "the victim's records are there to steal",
  );

  // The positive case first: the trusted VPN's allow-list names its function's address.
  const hello = await publish(gateway.url, tokens.trusted, "hello", {});
  assert.equal(hello.status, 200);
  assert.equal(await hello.text(), "trusted ok");

  const rangeBody = { key: b64(registryPrefix), range_end: b64(`${registryPrefix.slice(0, -1)}0`) };
  const victimVpnKey = `${registryPrefix}vpns/${victim}`;
  const putBody = { key: b64(victimVpnKey), value: b64('{"pwned":true}') };
  let refusals = 0;
  for (const [name, { reason }] of Object.entries(ATTACKS)) {
    const body = name.startsWith("etcd") || name === "by-name" ? rangeBody : putBody;
    // etcd-range twice: two refusals, one warning in the log.
    for (let i = 0; i < (name === "etcd-range" ? 2 : 1); i++) {
      const res = await publish(gateway.url, tokens.attacker, `attack.${name}`, body);
      const text = await res.text();
      refusals++;
      assert.equal(res.status, 502, `${name}: ${text}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const problem = JSON.parse(text) as { type: string; detail: string; function: string };
      assert.equal(problem.type, "https://switchboard.dev/problems/egress-denied", name);
      assert.equal(problem.function, `${attacker}/${name}`);
      assert.ok(problem.detail.startsWith(`function ${attacker}/${name} was not called: `), problem.detail);
      assert.ok(problem.detail.includes(reason), `${name}: ${problem.detail}`);
      for (const secret of ["kvs", victim, b64(victimVpnKey), "cluster_id"])
        assert.ok(!text.includes(secret), `${name}: the answer leaks ${secret}`);
    }
  }

  // A legitimate function that answers 302 to etcd: the caller gets the 302, nobody follows it.
  const redirected = await publish(gateway.url, tokens.attacker, "attack.redirect", rangeBody);
  assert.equal(redirected.status, 302);
  assert.equal(redirected.headers.get("location"), `${etcdUrl}/v3/kv/range`);
  assert.ok(!(await redirected.text()).includes("kvs"));
  assert.equal(redirect.received.length, 1);

  // Async: a write to etcd is refused, not retried, and dead-lettered saying why; without a
  // dead-letter function the event is dropped and counted.
  assert.equal((await publish(gateway.url, tokens.attacker, "attack.put", putBody)).status, 202);
  const [dead] = await deadLetters.waitFor(1);
  assert.equal(dead?.headers["ce-deadletterstatus"], "egress-denied");
  assert.equal(dead?.headers["ce-deadletterattempts"], "1");
  assert.equal(dead?.headers["ce-deadletterfunction"], `${attacker}/etcd-put`);
  assert.equal((await publish(gateway.url, tokens.attacker, "attack.metadata.async", {})).status, 202);
  refusals += 2;
  await waitFor("the metadata event to be dropped", async () =>
    (await gateway.metric('switchboard_gateway_deliveries_total{mode="async",outcome="dropped"}')) === 1
      ? true
      : undefined,
  );
  assert.equal(
    await gateway.metric('switchboard_gateway_deliveries_total{mode="async",outcome="dead_lettered"}'),
    1,
  );
  assert.equal(
    await gateway.metric('switchboard_gateway_delivery_attempts_total{result="egress-denied"}'),
    refusals,
  );

  // Nothing of the registry was read or written; no function server of another tenant was called.
  assert.deepEqual(await registryState(etcd), before);
  assert.equal(otherTenant.received.length, 0);
  assert.equal(trustedFn.received.length, 1, "only the trusted VPN's own delivery");
  assert.equal(
    started.reduce((n, s) => n + s.received.length, 0),
    3,
    "redirector, dead letter, trusted",
  );

  // One warning per function and address, whatever the number of refusals.
  const log = readFileSync(join(cluster.dir, "gateway-egress.log"), "utf8").split("\n");
  const warned = log.filter(
    (l) => l.includes("the egress policy refused") && l.includes(`"${attacker}/etcd-range"`),
  );
  assert.equal(warned.length, 1, warned.join("\n"));
});
