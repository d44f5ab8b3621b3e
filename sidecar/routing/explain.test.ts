import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventOf, filtered, functionRecord, snapshotOf, subscriptionRecord } from "../testing/routing.ts";
import { buildRoutingTable } from "./index.ts";

describe("explain", () => {
  const table = buildRoutingTable(
    snapshotOf([
      functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
      functionRecord({ vpn: "blue", namespace: "team", name: "idle", cluster: "east" }, { endpoints: [] }),
      filtered("a-exact", [{ exact: { type: "com.x" } }]),
      filtered("b-prefix", [{ prefix: { source: "/a" } }]),
      filtered("c-cel-false", [], "data.amount > 100"),
      filtered("d-cel-error", [], "data.total > 100"),
      filtered("e-cel-broken", [], "data.total >"),
      subscriptionRecord({ name: "f-orphan" }, { function: { namespace: "team", name: "gone" } }),
      subscriptionRecord({ name: "g-idle" }, { function: { namespace: "team", name: "idle" }, mode: "sync" }),
      filtered("h-cel-true", [{ suffix: { source: "b" } }], 'event.type == "com.x"'),
    ]),
  );
  const explained = table.explain("blue", eventOf({ type: "com.x", source: "/b" }, { json: { amount: 5 } }));
  const byName = new Map(explained.map((e) => [e.name, e]));
  const reason = (name: string) => byName.get(name)?.reason;
  const matched = (name: string) => byName.get(name)?.matched;

  it("lists every subscription of the VPN in key order, with its mode", () => {
    assert.deepEqual(
      explained.map((e) => e.name),
      [
        "a-exact",
        "b-prefix",
        "c-cel-false",
        "d-cel-error",
        "e-cel-broken",
        "f-orphan",
        "g-idle",
        "h-cel-true",
      ],
    );
    assert.equal(byName.get("g-idle")?.mode, "sync");
    assert.equal(byName.get("a-exact")?.namespace, "team");
    assert.match(
      byName.get("a-exact")?.route ?? "",
      /^\/switchboard\/v1\/clusters\/[^/]+\/subscriptions\/blue\/team\/a-exact$/,
    );
  });

  it("says why each matched or not", () => {
    assert.equal(matched("a-exact"), true);
    assert.equal(reason("a-exact"), "exact type = 'com.x' matched");
    assert.equal(matched("b-prefix"), false);
    assert.equal(reason("b-prefix"), "prefix source '/a' did not match '/b'");
    assert.equal(matched("c-cel-false"), false);
    assert.equal(reason("c-cel-false"), "cel returned false");
    assert.equal(matched("d-cel-error"), false);
    assert.equal(reason("d-cel-error"), "cel error: No such key: total");
    assert.equal(matched("e-cel-broken"), false);
    assert.match(reason("e-cel-broken") ?? "", /^cel did not compile: /);
    assert.equal(matched("h-cel-true"), true);
    assert.equal(reason("h-cel-true"), "suffix source 'b' matched; cel returned true");
  });

  it("still matches a route whose function has no instance or no endpoint, and says so", () => {
    assert.equal(matched("f-orphan"), true);
    assert.equal(reason("f-orphan"), "no filters; function team/gone has no instance");
    assert.equal(matched("g-idle"), true);
    assert.equal(reason("g-idle"), "no filters; function team/idle has no ready endpoint");
  });

  it("is empty for an unknown VPN", () => {
    assert.deepEqual(table.explain("red", eventOf({})), []);
  });
});

describe("explain for sync subscriptions", () => {
  const table = buildRoutingTable(
    snapshotOf([
      functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
      subscriptionRecord({ name: "a-http" }, { mode: "sync", http: { method: "POST", path: "/orders" } }),
      subscriptionRecord({ name: "b-sync" }, { mode: "sync", filters: [{ exact: { type: "com.x" } }] }),
      subscriptionRecord({ name: "c-sync" }, { mode: "sync" }),
    ]),
  );
  const explained = table.explain("blue", eventOf({ type: "com.x" }));
  const byName = new Map(explained.map((e) => [e.name, e]));
  const answering = table.match("blue", eventOf({ type: "com.x" }), "sync").find((r) => !r.subscription.http);

  it("says an HTTP-route subscription is never reached by published events", () => {
    assert.equal(byName.get("a-http")?.matched, false);
    assert.equal(
      byName.get("a-http")?.reason,
      "sync HTTP route POST /orders: it receives raw HTTP requests on that route only, never published events",
    );
  });

  it("says matched only for the one sync subscription the ingress calls, and names it for the others", () => {
    assert.equal(answering?.name, "b-sync", "the ingress's choice: exact buckets before the scan list");
    assert.equal(byName.get("b-sync")?.matched, true);
    assert.equal(byName.get("c-sync")?.matched, false);
    assert.equal(
      byName.get("c-sync")?.reason,
      "no filters; but sync subscription team/b-sync answers this event (one sync subscription answers a published event: the first that matches)",
    );
  });
});
