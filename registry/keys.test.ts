import assert from "node:assert/strict";
import { test } from "node:test";
import { RegistryKeyError } from "./errors.ts";
import {
  clusterKey,
  explainKey,
  functionKey,
  gatewayKey,
  isRecordKey,
  leaderKey,
  parseKey,
  recordKey,
  subscriptionKey,
  vpnKey,
} from "./keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "./test-records.ts";

const parts = { vpn: "payments", namespace: "billing", name: "invoice", cluster: "east" };

test("builders follow the v1 layout", () => {
  assert.equal(clusterKey("east"), "/switchboard/v1/clusters/east");
  assert.equal(leaderKey("east"), "/switchboard/v1/leaders/east");
  assert.equal(gatewayKey("east", "gw-7f9c"), "/switchboard/v1/gateways/east/gw-7f9c");
  assert.equal(vpnKey("payments", "east"), "/switchboard/v1/vpns/payments/east");
  assert.equal(functionKey(parts), "/switchboard/v1/functions/payments/billing/invoice/east");
  assert.equal(subscriptionKey(parts), "/switchboard/v1/subscriptions/payments/billing/invoice/east");
});

test("every built key parses back to its parts", () => {
  assert.deepEqual(parseKey(clusterKey("eu.west-1")), { kind: "cluster", cluster: "eu.west-1" });
  assert.deepEqual(parseKey(leaderKey("east")), { kind: "leader", cluster: "east" });
  assert.deepEqual(parseKey(gatewayKey("east", "gw-1")), { kind: "gateway", cluster: "east", id: "gw-1" });
  assert.deepEqual(parseKey(vpnKey("payments", "east")), {
    kind: "vpn",
    vpn: "payments",
    name: "payments",
    cluster: "east",
  });
  assert.deepEqual(parseKey(functionKey(parts)), { kind: "function", ...parts });
  assert.deepEqual(parseKey(subscriptionKey(parts)), { kind: "subscription", ...parts });
});

test("recordKey places each kind of record by its vpn and owner", () => {
  assert.equal(recordKey(sampleVpn()), "/switchboard/v1/vpns/payments/east");
  assert.equal(recordKey(sampleFunction()), "/switchboard/v1/functions/payments/billing/invoice/east");
  assert.equal(
    recordKey(sampleSubscription({ cluster: "west" })),
    "/switchboard/v1/subscriptions/payments/billing/on-order/west",
  );
  const { namespace: _, ...owner } = sampleFunction().owner;
  assert.throws(() => recordKey({ ...sampleFunction(), owner }), {
    name: "RegistryKeyError",
    message: "a function record needs owner.namespace",
  });
});

test("builders refuse segments that are not DNS-1123 names", () => {
  const cases: [() => string, string][] = [
    [() => clusterKey(""), 'cluster "" is not a DNS-1123 subdomain'],
    [() => clusterKey("East"), 'cluster "East" is not a DNS-1123 subdomain'],
    [() => leaderKey("a/b"), 'cluster "a/b" is not a DNS-1123 subdomain'],
    [() => vpnKey("-pay", "east"), 'vpn "-pay" is not a DNS-1123 subdomain'],
    [() => vpnKey("pay..x", "east"), 'vpn "pay..x" is not a DNS-1123 subdomain'],
    [() => gatewayKey("east", "gw_1"), 'gateway id "gw_1" is not a DNS-1123 subdomain'],
    [() => functionKey({ ...parts, namespace: "a.b" }), 'namespace "a.b" is not a DNS-1123 label'],
    [
      () => functionKey({ ...parts, namespace: "n".repeat(64) }),
      `namespace "${"n".repeat(64)}" is not a DNS-1123 label`,
    ],
    [
      () => subscriptionKey({ ...parts, name: "x".repeat(254) }),
      `name "${"x".repeat(254)}" is not a DNS-1123 subdomain`,
    ],
  ];
  for (const [build, message] of cases) {
    assert.throws(build, (error) => error instanceof RegistryKeyError && error.message === message, message);
  }
  assert.equal(subscriptionKey({ ...parts, name: "x".repeat(63) }).endsWith(`/${"x".repeat(63)}/east`), true);
});

test("malformed keys are rejected with the reason", () => {
  const cases: [string, string][] = [
    ["/switchboard/v2/vpns/a/east", "is not under /switchboard/v1/"],
    ["switchboard/v1/vpns/a/east", "is not under /switchboard/v1/"],
    ["/switchboard/v1/queues/a/east", 'unknown collection "queues"'],
    ["/switchboard/v1/vpns/a", "vpns keys have 2 segments after the collection (vpn/cluster), not 1"],
    ["/switchboard/v1/vpns/a/east/", "vpns keys have 2 segments after the collection (vpn/cluster), not 3"],
    [
      "/switchboard/v1/functions/a/ns/east",
      "functions keys have 4 segments after the collection (vpn/namespace/name/cluster), not 3",
    ],
    ["/switchboard/v1/functions/a//fn/east", 'namespace "" is not a DNS-1123 label'],
    ["/switchboard/v1/subscriptions/a/ns/Fn/east", 'name "Fn" is not a DNS-1123 subdomain'],
    ["/switchboard/v1/gateways/east/", 'gateway id "" is not a DNS-1123 subdomain'],
    [
      "/switchboard/v1/leaders/east/extra",
      "leaders keys have 1 segments after the collection (cluster), not 2",
    ],
  ];
  for (const [key, reason] of cases) {
    const explained = explainKey(key);
    assert.equal(typeof explained, "string", key);
    assert.ok(String(explained).startsWith(`key ${JSON.stringify(key)}`), String(explained));
    assert.ok(String(explained).endsWith(reason), `${key}: ${String(explained)}`);
    assert.equal(parseKey(key), undefined, key);
  }
});

test("isRecordKey tells record keys from heartbeat and leader keys", () => {
  const kinds = [
    clusterKey("e"),
    leaderKey("e"),
    gatewayKey("e", "g"),
    vpnKey("v", "e"),
    functionKey(parts),
  ].map((key) => {
    const parsed = parseKey(key);
    return parsed !== undefined && isRecordKey(parsed);
  });
  assert.deepEqual(kinds, [false, false, false, true, true]);
});
