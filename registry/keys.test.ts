import assert from "node:assert/strict";
import { test } from "node:test";
import { RegistryKeyError } from "./errors.ts";
import {
  clusterPrefix,
  collectionPrefix,
  explainKey,
  functionKey,
  gatewayKey,
  heartbeatKey,
  isDnsSubdomain,
  isRecordKey,
  keyRole,
  leaderKey,
  parseKey,
  recordKey,
  subscriptionKey,
  vpnKey,
} from "./keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "./testing/records.ts";

const parts = { vpn: "payments", namespace: "billing", name: "invoice", cluster: "east" };

test("builders follow the v1 layout: every key under its cluster's subtree", () => {
  assert.equal(clusterPrefix("east"), "/switchboard/v1/clusters/east/");
  assert.equal(heartbeatKey("east"), "/switchboard/v1/clusters/east/heartbeat");
  assert.equal(leaderKey("east"), "/switchboard/v1/clusters/east/leader");
  assert.equal(gatewayKey("east", "gw-7f9c"), "/switchboard/v1/clusters/east/gateways/gw-7f9c");
  assert.equal(vpnKey("payments", "east"), "/switchboard/v1/clusters/east/vpns/payments");
  assert.equal(functionKey(parts), "/switchboard/v1/clusters/east/functions/payments/billing/invoice");
  assert.equal(
    subscriptionKey(parts),
    "/switchboard/v1/clusters/east/subscriptions/payments/billing/invoice",
  );
  assert.equal(collectionPrefix("east", "vpn"), "/switchboard/v1/clusters/east/vpns/");
  assert.equal(collectionPrefix("east", "function"), "/switchboard/v1/clusters/east/functions/");
  assert.equal(collectionPrefix("east", "subscription"), "/switchboard/v1/clusters/east/subscriptions/");
});

test("a cluster's prefix covers exactly its own keys, even when its name prefixes another's", () => {
  const keys = (cluster: string) => [
    heartbeatKey(cluster),
    leaderKey(cluster),
    gatewayKey(cluster, "gw-1"),
    vpnKey("payments", cluster),
    functionKey({ ...parts, cluster }),
    subscriptionKey({ ...parts, cluster }),
  ];
  for (const [mine, other] of [
    ["east", "east-2"],
    ["east-2", "east"],
    ["east", "east.eu"],
  ] as const) {
    assert.ok(keys(mine).every((key) => key.startsWith(clusterPrefix(mine))));
    assert.ok(
      keys(other).every((key) => !key.startsWith(clusterPrefix(mine))),
      `${mine} vs ${other}`,
    );
  }
});

test("every built key parses back to its parts", () => {
  assert.deepEqual(parseKey(heartbeatKey("eu.west-1")), { kind: "heartbeat", cluster: "eu.west-1" });
  assert.deepEqual(parseKey(leaderKey("east")), { kind: "leader", cluster: "east" });
  assert.deepEqual(parseKey(gatewayKey("east", "gw-1")), { kind: "gateway", cluster: "east", id: "gw-1" });
  assert.deepEqual(parseKey(vpnKey("payments", "east")), {
    kind: "vpn",
    cluster: "east",
    vpn: "payments",
    name: "payments",
  });
  assert.deepEqual(parseKey(functionKey(parts)), { kind: "function", ...parts });
  assert.deepEqual(parseKey(subscriptionKey(parts)), { kind: "subscription", ...parts });
});

test("recordKey places each kind of record by its owner's cluster, vpn and name", () => {
  assert.equal(recordKey(sampleVpn()), "/switchboard/v1/clusters/east/vpns/payments");
  assert.equal(
    recordKey(sampleFunction()),
    "/switchboard/v1/clusters/east/functions/payments/billing/invoice",
  );
  assert.equal(
    recordKey(sampleSubscription({ cluster: "west" })),
    "/switchboard/v1/clusters/west/subscriptions/payments/billing/on-order",
  );
  const { namespace: _, ...owner } = sampleFunction().owner;
  assert.throws(() => recordKey({ ...sampleFunction(), owner }), {
    name: "RegistryKeyError",
    message: "a function record needs owner.namespace",
  });
});

test("builders refuse segments that are not DNS-1123 names", () => {
  const cases: [() => string, string][] = [
    [() => clusterPrefix(""), 'cluster "" is not a DNS-1123 subdomain'],
    [() => heartbeatKey("East"), 'cluster "East" is not a DNS-1123 subdomain'],
    [() => leaderKey("a/b"), 'cluster "a/b" is not a DNS-1123 subdomain'],
    [() => collectionPrefix("a/b", "vpn"), 'cluster "a/b" is not a DNS-1123 subdomain'],
    [() => vpnKey("-pay", "east"), 'vpn "-pay" is not a DNS-1123 subdomain'],
    [() => vpnKey("pay..x", "east"), 'vpn "pay..x" is not a DNS-1123 subdomain'],
    [() => vpnKey("pay", "east/x"), 'cluster "east/x" is not a DNS-1123 subdomain'],
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
  assert.equal(subscriptionKey({ ...parts, name: "x".repeat(63) }).endsWith(`/${"x".repeat(63)}`), true);
});

test("malformed keys are rejected with the reason", () => {
  const c = "/switchboard/v1/clusters";
  const cases: [string, string][] = [
    ["/switchboard/v2/clusters/east/vpns/a", "is not under /switchboard/v1/clusters/<cluster>/"],
    ["switchboard/v1/clusters/east/vpns/a", "is not under /switchboard/v1/clusters/<cluster>/"],
    ["/switchboard/v1/vpns/a/east", "is not under /switchboard/v1/clusters/<cluster>/"],
    [`${c}/East/vpns/a`, 'cluster "East" is not a DNS-1123 subdomain'],
    [`${c}//vpns/a`, 'cluster "" is not a DNS-1123 subdomain'],
    [`${c}/east`, "nothing after the cluster"],
    [`${c}/east/queues/a`, 'unknown collection "queues"'],
    [`${c}/east/`, 'unknown collection ""'],
    [`${c}/east/vpns`, 'vpns keys have 1 segment (vpn) after "vpns", not 0'],
    [`${c}/east/vpns/a/b`, 'vpns keys have 1 segment (vpn) after "vpns", not 2'],
    [`${c}/east/vpns/a/`, 'vpns keys have 1 segment (vpn) after "vpns", not 2'],
    [
      `${c}/east/functions/a/ns`,
      'functions keys have 3 segments (vpn/namespace/name) after "functions", not 2',
    ],
    [`${c}/east/functions/a//fn`, 'namespace "" is not a DNS-1123 label'],
    [`${c}/east/subscriptions/a/ns/Fn`, 'name "Fn" is not a DNS-1123 subdomain'],
    [`${c}/east/gateways/`, 'gateway id "" is not a DNS-1123 subdomain'],
    [`${c}/east/leader/extra`, 'leader keys have no segments after "leader", not 1'],
    [`${c}/east/heartbeat/`, 'heartbeat keys have no segments after "heartbeat", not 1'],
    [`${c}/east/constructor`, 'unknown collection "constructor"'],
  ];
  for (const [key, reason] of cases) {
    const explained = explainKey(key);
    assert.equal(typeof explained, "string", key);
    assert.ok(String(explained).startsWith(`key ${JSON.stringify(key)}`), String(explained));
    assert.ok(String(explained).endsWith(reason), `${key}: ${String(explained)}`);
    assert.equal(parseKey(key), undefined, key);
  }
});

test("isRecordKey tells record keys from heartbeat, leader and gateway keys", () => {
  const kinds = [
    heartbeatKey("e"),
    leaderKey("e"),
    gatewayKey("e", "g"),
    vpnKey("v", "e"),
    functionKey(parts),
    subscriptionKey(parts),
  ].map((key) => {
    const parsed = parseKey(key);
    return parsed !== undefined && isRecordKey(parsed);
  });
  assert.deepEqual(kinds, [false, false, false, true, true, true]);
});

test("keyRole sorts keys by the segment after the cluster alone", () => {
  const c = "/switchboard/v1/clusters";
  const cases: [string, ReturnType<typeof keyRole>][] = [
    [heartbeatKey("east"), "heartbeat"],
    [vpnKey("v", "east"), "record"],
    [functionKey(parts), "record"],
    [subscriptionKey(parts), "record"],
    [`${c}/east/functions/too/short`, "record"],
    [`${c}/East/vpns/v`, "record"],
    [`${c}/east/heartbeat/extra`, "heartbeat"],
    [leaderKey("east"), undefined],
    [gatewayKey("east", "gw-1"), undefined],
    [`${c}/east/future/thing`, undefined],
    [`${c}/east`, undefined],
    ["/switchboard/v1/functions/a/b/c/east", undefined],
    ["/other/clusters/east/vpns/v", undefined],
  ];
  for (const [key, role] of cases) assert.equal(keyRole(key), role, key);
});

test("a DNS-1123 subdomain is dot-separated labels of [a-z0-9-], alphanumeric at both ends, 253 characters at most", () => {
  // The definition, label by label, against the one expression, over every string of up to five
  // characters from an alphabet that covers each rule's edge.
  const byLabels = (s: string): boolean =>
    s.length > 0 &&
    s.length <= 253 &&
    s.split(".").every((label) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label));
  const alphabet = ["a", "9", "-", ".", "A", "_"];
  let strings = [""];
  let checked = 0;
  for (let length = 0; length <= 5; length++) {
    for (const s of strings) {
      assert.equal(isDnsSubdomain(s), byLabels(s), JSON.stringify(s));
      checked++;
    }
    strings = strings.flatMap((s) => alphabet.map((c) => s + c));
  }
  assert.equal(checked, 9331);
  assert.equal(isDnsSubdomain(`${"a".repeat(125)}.${"b".repeat(127)}`), true);
  assert.equal(isDnsSubdomain(`${"a".repeat(126)}.${"b".repeat(127)}`), false, "254 characters");
});
