import assert from "node:assert/strict";
import { test } from "node:test";
import { retryDelayMs } from "../../sidecar/delivery/retry.ts";
import { fn, namespace, secret, service, slice, sub, vpn } from "../testing/plan-fixtures.ts";
import type { ConditionInput } from "./conditions.ts";
import { planFunction } from "./function.ts";
import { holders, refusedClaims } from "./membership.ts";
import { planSubscription } from "./subscription.ts";
import { planVpn, tokenHash } from "./vpn.ts";
import { worldOf } from "./world.ts";

const cond = (conditions: ConditionInput[], type: string): string => {
  const c = conditions.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : "absent";
};

const shop = vpn("shop", { namespaces: { names: ["shop"] } });

test("VPN: names and label selectors resolve members; token hashes come from Secrets, never tokens", () => {
  const world = worldOf({
    vpns: [
      vpn("tenants", {
        namespaces: { selector: { matchLabels: { tenant: "a" } } },
        publishers: [{ name: "ci", tokenSecretRef: { namespace: "a1", name: "tok", key: "token" } }],
      }),
    ],
    namespaces: [
      namespace("a1", { tenant: "a" }),
      namespace("a2", { tenant: "a" }),
      namespace("b", { tenant: "b" }),
    ],
    secrets: [secret("a1", "tok", { token: "s3cret\n" })],
  });
  const [v] = world.vpns();
  assert.ok(v);
  const plan = planVpn(v, world, "east");
  assert.deepEqual(plan.record?.spec.namespaces, ["a1", "a2"]);
  assert.deepEqual(plan.record?.spec.publishers, [{ name: "ci", tokenSha256: tokenHash("s3cret") }]);
  assert.equal(tokenHash("s3cret\n"), "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
  assert.ok(!JSON.stringify(plan.record).includes("s3cret"));
  assert.equal(cond(plan.conditions, "Ready"), "True/Registered");
  assert.deepEqual(plan.record?.owner, {
    cluster: "east",
    uid: "uid-tenants",
    generation: 1,
    name: "tenants",
  });
});

const T1 = "2026-01-01T00:00:00Z";
const T2 = "2026-01-02T00:00:00Z";

test("VPN: a contested namespace stays with the VPN that claimed it first; the later one reports it and keeps the rest", () => {
  const first = vpn("zeta", { namespaces: { names: ["shared", "only-first"] } }, false, T1);
  const later = vpn("alpha", { namespaces: { names: ["shared", "only-later"] } }, false, T2);
  const world = worldOf({ vpns: [later, first] });
  const pf = planVpn(first, world, "c1");
  const pl = planVpn(later, world, "c1");
  assert.deepEqual(pf.record?.spec.namespaces, ["only-first", "shared"]);
  assert.equal(cond(pf.conditions, "Ready"), "True/Registered", "the holder is untouched");
  assert.deepEqual(
    pl.record?.spec.namespaces,
    ["only-later"],
    "the later claimer keeps its other namespaces",
  );
  assert.equal(cond(pl.conditions, "NamespacesResolved"), "False/NamespaceConflict");
  assert.equal(cond(pl.conditions, "Ready"), "False/NamespaceConflict");
  assert.equal(
    pl.conditions[0]?.message,
    "namespace shared is held by VPN zeta, which claimed it first; VPN alpha gets it only when zeta releases it",
  );
  // The holder's Functions and Subscriptions in it stay members; the later VPN's are refused.
  const functions = [fn("shared", "orders", { vpn: "zeta" }), fn("shared", "intruder", { vpn: "alpha" })];
  const both = worldOf({ vpns: [later, first], functions });
  assert.equal(
    cond(planFunction(fn("shared", "orders", { vpn: "zeta" }), both, "c1").conditions, "Ready"),
    "True/Registered",
  );
  const intruder = planFunction(fn("shared", "intruder", { vpn: "alpha" }), both, "c1");
  assert.equal(intruder.record, undefined);
  assert.equal(cond(intruder.conditions, "VPNMember"), "False/NamespaceConflict");
  assert.match(intruder.conditions[0]?.message ?? "", /held by VPN zeta/);
  assert.equal(
    cond(planSubscription(sub("shared", "s", { vpn: "zeta" }), both, "c1").conditions, "VPNMember"),
    "True/Member",
  );
});

test("VPN: same creation time → the name decides; a VPN being deleted or no longer claiming releases the namespace to the next claimer", () => {
  const a = vpn("a", { namespaces: { names: ["shared"] } }, false, T1);
  const b = vpn("b", { namespaces: { names: ["shared"] } }, false, T1);
  const c = vpn("c", { namespaces: { names: ["shared"] } }, false, T2);
  const members = (v: typeof a, vpns: (typeof a)[]) =>
    planVpn(v, worldOf({ vpns }), "c1").record?.spec.namespaces;
  assert.deepEqual(members(a, [c, b, a]), ["shared"]);
  assert.deepEqual(members(b, [c, b, a]), []);
  const aGoing = vpn("a", { namespaces: { names: ["shared"] } }, true, T1);
  assert.deepEqual(members(b, [c, b, aGoing]), ["shared"], "a is being deleted: b is next");
  assert.deepEqual(members(c, [c, b, aGoing]), []);
  const aReleased = vpn("a", { namespaces: { names: ["elsewhere"] } }, false, T1);
  assert.deepEqual(members(b, [c, b, aReleased]), ["shared"], "a dropped it from its list");
  assert.deepEqual(members(c, [c]), ["shared"]);
});

test("VPN: label selectors contest namespaces in the same order, and a relabelled namespace moves to its next claimer", () => {
  const older = vpn("older", { namespaces: { selector: { matchLabels: { team: "a" } } } }, false, T1);
  const newer = vpn("newer", { namespaces: { names: ["a1", "n1"] } }, false, T2);
  const labelled = worldOf({
    vpns: [newer, older],
    namespaces: [namespace("a1", { team: "a" }), namespace("n1")],
  });
  assert.deepEqual(planVpn(older, labelled, "c1").record?.spec.namespaces, ["a1"]);
  assert.deepEqual(planVpn(newer, labelled, "c1").record?.spec.namespaces, ["n1"]);
  const relabelled = worldOf({
    vpns: [newer, older],
    namespaces: [namespace("a1", { team: "b" }), namespace("n1")],
  });
  assert.deepEqual(planVpn(older, relabelled, "c1").record?.spec.namespaces, []);
  assert.deepEqual(planVpn(newer, relabelled, "c1").record?.spec.namespaces, ["a1", "n1"]);
});

test("VPN admission: a new claim on a namespace another VPN holds is refused, naming both; claims already made and free namespaces pass", () => {
  const holder = vpn("holder", { namespaces: { names: ["shared"] } }, false, T1);
  const selectorHolder = vpn(
    "teams",
    { namespaces: { selector: { matchLabels: { team: "a" } } } },
    false,
    T1,
  );
  const world = worldOf({
    vpns: [holder, selectorHolder],
    namespaces: [namespace("a1", { team: "a" }), namespace("free")],
  });
  const rival = vpn("rival", { namespaces: { names: ["shared", "a1", "free"] } }, false, T2);
  assert.deepEqual(refusedClaims(rival, undefined, world), [
    { namespace: "a1", holder: "teams" },
    { namespace: "shared", holder: "holder" },
  ]);
  const bySelector = vpn("grabber", {
    namespaces: { selector: { matchExpressions: [{ key: "team", operator: "Exists" }] } },
  });
  assert.deepEqual(refusedClaims(bySelector, undefined, world), [{ namespace: "a1", holder: "teams" }]);
  assert.deepEqual(refusedClaims(vpn("ok", { namespaces: { names: ["free"] } }), undefined, world), []);
  // An older VPN adding a namespace a younger one holds is refused too: admission protects the holder.
  const young = vpn("young", { namespaces: { names: ["mine"] } }, false, T2);
  const old = vpn("old", { namespaces: { names: ["x"] } }, false, T1);
  const grab = vpn("old", { namespaces: { names: ["x", "mine"] } }, false, T1);
  assert.deepEqual(refusedClaims(grab, old, worldOf({ vpns: [young, old] })), [
    { namespace: "mine", holder: "young" },
  ]);
  // Updating the holder itself, or a claim that was already there, is never refused.
  assert.deepEqual(refusedClaims(holder, holder, world), []);
  assert.deepEqual(refusedClaims(rival, rival, world), []);
});

test("VPN: a missing Secret or key is reported and that publisher left out", () => {
  const v = vpn("shop", {
    namespaces: { names: ["shop"] },
    publishers: [
      { name: "gone", tokenSecretRef: { namespace: "shop", name: "nope", key: "token" } },
      { name: "nokey", tokenSecretRef: { namespace: "shop", name: "tok", key: "other" } },
      { name: "ok", tokenSecretRef: { namespace: "shop", name: "tok", key: "token" } },
    ],
  });
  const plan = planVpn(v, worldOf({ vpns: [v], secrets: [secret("shop", "tok", { token: "t" })] }), "c1");
  assert.deepEqual(
    plan.record?.spec.publishers.map((p) => p.name),
    ["ok"],
  );
  assert.equal(cond(plan.conditions, "PublishersResolved"), "False/SecretNotFound");
  assert.match(plan.conditions[1]?.message ?? "", /Secret shop\/nope not found.*has no key other/);
});

test("Function: ready endpoints of the Service's slices become delivery URLs on the target port", () => {
  const f = fn("shop", "orders", {
    target: { service: { name: "orders", port: 80, path: "/events" } },
    timeout: "5s",
    concurrency: 7,
  });
  const world = worldOf({
    vpns: [shop],
    services: [service("shop", "orders", [{ name: "http", port: 80 }])],
    endpointSlices: [
      slice("shop", "orders", { name: "http", port: 8080 }, [
        { ip: "10.213.0.6" },
        { ip: "10.213.0.2", ready: true },
        { ip: "10.213.0.9", ready: false },
      ]),
      slice("shop", "other", { name: "http", port: 8080 }, [{ ip: "10.213.0.99" }]),
    ],
  });
  const plan = planFunction(f, world, "east");
  assert.deepEqual(plan.record?.spec, {
    endpoints: ["http://10.213.0.2:8080/events", "http://10.213.0.6:8080/events"],
    timeoutMs: 5000,
    concurrency: 7,
    headers: {},
  });
  assert.equal(plan.record?.vpn, "shop");
  assert.deepEqual(plan.status, { endpoints: 2, target: "svc/orders:80/events" });
  assert.equal(cond(plan.conditions, "Ready"), "True/Registered");
});

test("Function: no ready endpoints keeps the record (empty) but is not Ready; unknown Service or port says which", () => {
  const f = fn("shop", "orders", { target: { service: { name: "orders", port: "http" } } });
  const noneReady = worldOf({
    vpns: [shop],
    services: [service("shop", "orders", [{ name: "http", port: 80 }])],
    endpointSlices: [
      slice("shop", "orders", { name: "http", port: 8080 }, [{ ip: "10.213.0.2", ready: false }]),
    ],
  });
  const plan = planFunction(f, noneReady, "c1");
  assert.deepEqual(plan.record?.spec.endpoints, []);
  assert.equal(cond(plan.conditions, "Ready"), "False/NoReadyEndpoints");
  assert.equal(
    cond(planFunction(f, worldOf({ vpns: [shop] }), "c1").conditions, "EndpointsResolved"),
    "False/ServiceNotFound",
  );
  const wrongPort = fn("shop", "orders", { target: { service: { name: "orders", port: 81 } } });
  assert.equal(
    cond(planFunction(wrongPort, noneReady, "c1").conditions, "EndpointsResolved"),
    "False/PortNotFound",
  );
});

test("Function: URL target, external URL, defaults and headers from Secrets", () => {
  const f = fn("shop", "audit", {
    target: { url: "https://audit.example.com/in" },
    external: { url: "https://east.example.com/fn/audit" },
    headers: [
      { name: "X-Team", value: "payments" },
      { name: "Authorization", valueFrom: { secretKeyRef: { name: "audit-auth", key: "header" } } },
    ],
  });
  const world = worldOf({
    vpns: [shop],
    secrets: [secret("shop", "audit-auth", { header: "Bearer abc\n" })],
  });
  const plan = planFunction(f, world, "c1");
  assert.deepEqual(plan.record?.spec, {
    endpoints: ["https://audit.example.com/in"],
    externalUrl: "https://east.example.com/fn/audit",
    timeoutMs: 30_000,
    concurrency: 100,
    headers: { "X-Team": "payments", Authorization: "Bearer abc" },
  });
  const missing = planFunction(f, worldOf({ vpns: [shop] }), "c1");
  assert.equal(missing.record, undefined);
  assert.equal(cond(missing.conditions, "Ready"), "False/SecretNotFound");
});

test("Function: outside its VPN there is no record", () => {
  assert.equal(
    cond(planFunction(fn("other", "x"), worldOf({ vpns: [shop] }), "c1").conditions, "Ready"),
    "False/NamespaceNotInVPN",
  );
  const nowhere = planFunction(fn("shop", "x", { vpn: "nope" }), worldOf({ vpns: [shop] }), "c1");
  assert.equal(nowhere.record, undefined);
  assert.equal(cond(nowhere.conditions, "VPNMember"), "False/VPNNotFound");
});

test("Subscription: a valid route is planned with delivery defaults", () => {
  const s = sub("shop", "created", {
    filters: [{ exact: { type: "com.example.order.created" } }],
    cel: "data.amount > 0",
    delivery: { retry: 3, backoffDelay: "100ms", deadLetter: { function: "audit" } },
  });
  const world = worldOf({ vpns: [shop], functions: [fn("shop", "orders"), fn("shop", "audit")] });
  const plan = planSubscription(s, world, "c1");
  assert.equal(cond(plan.conditions, "Ready"), "True/RouteRegistered");
  assert.deepEqual(plan.record?.spec, {
    function: { namespace: "shop", name: "orders" },
    mode: "async",
    filters: [{ exact: { type: "com.example.order.created" } }],
    cel: "data.amount > 0",
    delivery: {
      retry: 3,
      backoffPolicy: "exponential",
      backoffDelayMs: 100,
      maxBackoffMs: 60_000,
      deadLetter: { namespace: "shop", name: "audit" },
    },
  });
  const sync = planSubscription(
    sub("shop", "api", { mode: "sync", http: { method: "GET", path: "/orders/:id" } }),
    world,
    "c1",
  );
  assert.deepEqual(sync.record?.spec.http, { method: "GET", path: "/orders/:id" });
  assert.equal(sync.record?.spec.delivery.retry, 0);
});

test("Subscription: a CEL expression that does not compile gives FilterValid=False with the compiler's message and where, and keeps the previous record", () => {
  const world = worldOf({ vpns: [shop], functions: [fn("shop", "orders")] });
  for (const [cel, message] of [
    ["data.amount >", /cel: Unexpected token: EOF at line 1, column 14/],
    ["request.size > 1", /cel: Unknown variable: request at line 1, column 1/],
    ["1 + 2", /yields int; a filter must yield bool/],
  ] as const) {
    const plan = planSubscription(sub("shop", "bad", { cel }), world, "c1");
    assert.equal(plan.record, undefined, cel);
    assert.equal(plan.keepPrevious, true, cel);
    assert.equal(cond(plan.conditions, "FilterValid"), "False/CELCompileError", cel);
    assert.match(plan.conditions.find((c) => c.type === "Ready")?.message ?? "", message);
  }
});

test("Subscription: the function must exist in the same VPN, and so must the dead-letter function", () => {
  const other = vpn("other", { namespaces: { names: ["other"] } });
  const world = worldOf({
    vpns: [shop, other],
    functions: [fn("shop", "orders"), fn("other", "foreign", { vpn: "other" })],
  });
  assert.equal(
    cond(planSubscription(sub("shop", "s", { function: "missing" }), world, "c1").conditions, "Ready"),
    "False/FunctionNotFound",
  );
  assert.equal(
    cond(planSubscription(sub("shop", "s", { function: "other/foreign" }), world, "c1").conditions, "Ready"),
    "False/VPNMismatch",
  );
  const dl = planSubscription(
    sub("shop", "s", { delivery: { deadLetter: { function: "nope" } } }),
    world,
    "c1",
  );
  assert.match(
    dl.conditions.find((c) => c.type === "FunctionFound")?.message ?? "",
    /dead-letter function shop\/nope does not exist/,
  );
  assert.equal(
    cond(planSubscription(sub("other", "s", { vpn: "shop" }), world, "c1").conditions, "VPNMember"),
    "False/NamespaceNotInVPN",
  );
});

test("Subscription: a function declared only in another cluster of the VPN is found through the registry", () => {
  const remote = worldOf({ vpns: [shop], remoteFunctions: { "shop/shop/inventory": ["west"] } });
  const there = planSubscription(sub("shop", "s", { function: "inventory" }), remote, "east");
  assert.equal(cond(there.conditions, "FunctionFound"), "True/FoundInOtherCluster");
  assert.match(
    there.conditions.find((c) => c.type === "FunctionFound")?.message ?? "",
    /declared in cluster\(s\) west/,
  );
  assert.deepEqual(there.record?.spec.function, { namespace: "shop", name: "inventory" });
  const nowhere = planSubscription(sub("shop", "s", { function: "gone" }), remote, "east");
  assert.match(
    nowhere.conditions.find((c) => c.type === "FunctionFound")?.message ?? "",
    /does not exist in VPN shop in any cluster/,
  );
});

test("Subscription: the default async delivery policy rides out a 5-minute function outage before dead-lettering", () => {
  const s = sub("shop", "plain", { filters: [{ exact: { type: "t" } }] });
  const plan = planSubscription(s, worldOf({ vpns: [shop], functions: [fn("shop", "orders")] }), "c1");
  const d = plan.record?.spec.delivery;
  assert.ok(d);
  const policy = { policy: d.backoffPolicy, baseMs: d.backoffDelayMs, maxMs: d.maxBackoffMs };
  // The shortest waits the jitter can draw (random() = 0), and the longest (random() → 1).
  let shortest = 0;
  let longest = 0;
  for (let retry = 1; retry <= d.retry; retry++) {
    shortest += retryDelayMs(retry, policy, undefined, () => 0);
    longest += retryDelayMs(retry, policy, undefined, () => 1);
  }
  assert.ok(shortest >= 5 * 60_000, `retries give up after ${shortest / 1000} s`);
  assert.ok(longest <= 20 * 60_000, `an event waits up to ${longest / 1000} s before its dead letter`);
});

test("VPN holders: the answer is kept while the same objects are listed, and follows any replaced, added or removed one", () => {
  const older = vpn("older", { namespaces: { selector: { matchLabels: { team: "a" } } } }, false, T1);
  const newer = vpn("newer", { namespaces: { names: ["a1", "n1"] } }, false, T2);
  const a1 = namespace("a1", { team: "a" });
  const n1 = namespace("n1");
  const vpns = [newer, older];
  const namespaces = [a1, n1];
  const world = worldOf({ vpns, namespaces });
  const first = holders(world);
  assert.equal(holders(world), first, "the same objects: the same answer, not computed again");
  assert.equal(holders(worldOf({ vpns: [...vpns], namespaces: [...namespaces] })), first);
  const byName = (held: ReadonlyMap<string, { metadata: { name?: string } }>) =>
    Object.fromEntries([...held].map(([ns, v]) => [ns, v.metadata.name]));
  assert.deepEqual(byName(first), { a1: "older", n1: "newer" });
  // An informer replaces the object it updates.
  namespaces[0] = namespace("a1", { team: "b" });
  assert.deepEqual(byName(holders(world)), { a1: "newer", n1: "newer" });
  namespaces.push(namespace("a2", { team: "a" }));
  assert.deepEqual(byName(holders(world)), { a1: "newer", n1: "newer", a2: "older" });
  vpns.splice(1, 1);
  assert.deepEqual(byName(holders(world)), { a1: "newer", n1: "newer" });
  // `except` is never served from what was kept.
  assert.deepEqual(byName(holders(world, "newer")), {});
});
