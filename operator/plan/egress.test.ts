import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEgressList } from "../../common/egress/rules.ts";
import { fn, namespace, service, slice, vpn } from "../testing/plan-fixtures.ts";
import type { ConditionInput } from "./conditions.ts";
import { operatorEgressPolicy } from "./egress.ts";
import { planFunction } from "./function.ts";
import { planVpn } from "./vpn.ts";
import { worldOf } from "./world.ts";

const policy = (allow = "", deny = "") =>
  operatorEgressPolicy({
    etcd: ["http://10.0.0.10:2379", "https://etcd.switchboard.svc:2379"],
    apiServer: "https://10.96.0.1",
    allow: parseEgressList(allow),
    deny: parseEgressList(deny),
  });

const shop = (allow?: string[]) =>
  vpn("shop", { namespaces: { names: ["shop"] }, ...(allow ? { egress: { allow } } : {}) });

const conditionOf = (conditions: ConditionInput[], type: string): ConditionInput | undefined =>
  conditions.find((c) => c.type === type);

const plan = (url: string, options: { allow?: string[]; cluster?: string; external?: string } = {}) =>
  planFunction(
    fn("shop", "f", {
      target: { url },
      ...(options.external ? { external: { url: options.external } } : {}),
    }),
    worldOf({ vpns: [shop(options.allow)], namespaces: [namespace("shop")] }),
    "east",
    policy(options.cluster),
  );

test("Function: a target URL the gateways will refuse is reported (EgressAllowed=False, Ready=False), the record kept", () => {
  const cases: [string, string][] = [
    [
      "http://10.0.0.10:2379/v3/kv/range",
      'target.url http://10.0.0.10:2379/v3/kv/range: 10.0.0.10:2379 is refused: the registry etcd (egress rule "10.0.0.10:2379"); gateways refuse every delivery to it',
    ],
    ["https://etcd.switchboard.svc:2379/v3/kv/put", "the registry etcd"],
    ["https://10.96.0.1/api/v1/secrets", "the Kubernetes API server"],
    ["http://127.0.0.1:8080/", 'loopback (egress rule "127.0.0.0/8")'],
    ["http://localhost:8080/", "127.0.0.1:8080 (localhost) is refused: loopback"],
    ["http://evil.localhost/", "loopback"],
    ["http://[::1]:80/", "[::1]:80 is refused: loopback"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata at 169.254.169.254)"],
    ["http://[fd00:ec2::254]/", "cloud metadata (IPv6)"],
    ["http://0.0.0.0:9090/", "unspecified address"],
  ];
  for (const [url, message] of cases) {
    const p = plan(url);
    const c = conditionOf(p.conditions, "EgressAllowed");
    assert.equal(c?.status, "False", url);
    assert.equal(c?.reason, "EgressDenied", url);
    assert.ok(c?.message.includes(message), `${url}: ${c?.message}`);
    assert.deepEqual(
      { ...conditionOf(p.conditions, "Ready") },
      { type: "Ready", status: "False", reason: "EgressDenied", message: c?.message },
    );
    assert.deepEqual(p.record?.spec.endpoints, [url], "the record stays: gateways refuse with a reason");
  }
});

test("Function: names the operator cannot resolve, and ordinary addresses, are not reported", () => {
  for (const url of [
    "http://fn.example.com/",
    "http://10.213.0.5:8080/",
    "http://etcd.switchboard.svc:80/",
  ]) {
    const p = plan(url);
    assert.equal(conditionOf(p.conditions, "EgressAllowed")?.status, "True", url);
    assert.equal(conditionOf(p.conditions, "Ready")?.status, "True", url);
  }
});

test("Function: the VPN's allow-list and the cluster-wide one lift what they name, never etcd or the API server for a VPN", () => {
  assert.equal(
    conditionOf(plan("http://127.0.0.1:8080/", { allow: ["127.0.0.1"] }).conditions, "EgressAllowed")?.status,
    "True",
  );
  assert.equal(
    conditionOf(plan("http://127.0.0.1:8080/", { cluster: "127.0.0.1" }).conditions, "EgressAllowed")?.status,
    "True",
  );
  assert.equal(
    conditionOf(plan("http://localhost:8080/", { allow: ["::1"] }).conditions, "EgressAllowed")?.status,
    "True",
  );
  assert.equal(
    conditionOf(plan("http://127.0.0.1:8080/", { allow: ["0.0.0.0/0"] }).conditions, "EgressAllowed")?.status,
    "False",
  );
  const etcd = plan("http://10.0.0.10:2379/", { allow: ["10.0.0.10:2379"] });
  assert.match(conditionOf(etcd.conditions, "EgressAllowed")?.message ?? "", /the registry etcd/);
  const lifted = plan("http://10.0.0.10:2379/", { cluster: "10.0.0.10:2379" });
  assert.equal(conditionOf(lifted.conditions, "EgressAllowed")?.status, "True");
});

test("Function: external.url and Service endpoints are checked too", () => {
  const ext = plan("http://fn.example.com/", { external: "http://169.254.169.254/" });
  assert.match(
    conditionOf(ext.conditions, "EgressAllowed")?.message ?? "",
    /^external\.url http:\/\/169\.254\.169\.254\//,
  );
  const world = worldOf({
    vpns: [shop()],
    namespaces: [namespace("shop")],
    services: [service("shop", "orders", [{ port: 80 }])],
    endpointSlices: [slice("shop", "orders", { port: 2379 }, [{ ip: "10.0.0.10" }, { ip: "10.213.0.7" }])],
  });
  const p = planFunction(
    fn("shop", "orders", { target: { service: { name: "orders", port: 80 } } }),
    world,
    "east",
    policy(),
  );
  assert.match(
    conditionOf(p.conditions, "EgressAllowed")?.message ?? "",
    /^endpoint http:\/\/10\.0\.0\.10:2379\/: .*the registry etcd/,
  );
});

test("VPN: the egress allow-list reaches the record normalised, sorted and unique; absent when empty", () => {
  const world = worldOf({ namespaces: [namespace("shop")] });
  const p = planVpn(
    shop(["10.0.0.0/8", " *.SVC.cluster.local", "10.0.0.0/8", "[FD00::1]:8443"]),
    world,
    "east",
  );
  assert.deepEqual(p.record?.spec.egress, { allow: ["*.svc.cluster.local", "10.0.0.0/8", "[fd00::1]:8443"] });
  assert.equal("egress" in (planVpn(shop(), world, "east").record?.spec ?? {}), false);
  assert.equal("egress" in (planVpn(shop([]), world, "east").record?.spec ?? {}), false);
  const bad = planVpn(shop(["10.0.0.0/40"]), world, "east");
  assert.equal(bad.record, undefined);
  assert.equal(conditionOf(bad.conditions, "EgressValid")?.reason, "InvalidEntry");
  assert.equal(conditionOf(bad.conditions, "Ready")?.status, "False");
});
