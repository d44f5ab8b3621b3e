import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { subscriptionKey } from "../../registry/keys.ts";
import { eventOf, functionRecord, snapshotOf, subscriptionRecord } from "../testing/routing.ts";
import { buildRoutingTable } from "./index.ts";

const where = { vpn: "blue", namespace: "team", name: "fn" };

describe("functions and subscriptions across clusters", () => {
  it("groups a function's records into instances by cluster", () => {
    const table = buildRoutingTable(
      snapshotOf([
        functionRecord({ ...where, cluster: "west" }, { endpoints: ["http://10.0.0.2:80/"] }),
        functionRecord({ ...where, cluster: "east" }, { endpoints: [] }),
        functionRecord({ ...where, vpn: "red", cluster: "east" }),
      ]),
    );
    const fn = table.fn("blue", "team", "fn");
    assert.deepEqual([...(fn?.instances.keys() ?? [])], ["east", "west"]);
    assert.deepEqual(fn?.instances.get("west")?.endpoints, ["http://10.0.0.2:80/"]);
    assert.equal(table.fn("blue", "team", "other"), undefined);
    assert.equal(table.fn("red", "team", "fn")?.instances.size, 1);
  });

  it("dedupes one subscription declared in several clusters into one route from the smallest cluster", () => {
    const table = buildRoutingTable(
      snapshotOf([
        subscriptionRecord({ name: "s", cluster: "west" }, { filters: [{ exact: { type: "a" } }] }),
        subscriptionRecord({ name: "s", cluster: "east" }, { filters: [{ exact: { type: "b" } }] }),
        subscriptionRecord({ name: "s", cluster: "north" }, { filters: [{ exact: { type: "a" } }] }),
      ]),
    );
    const expectedKey = subscriptionKey({ vpn: "blue", namespace: "team", name: "s", cluster: "east" });
    assert.deepEqual(
      table.match("blue", eventOf({ type: "b" }), "async").map((r) => r.key),
      [expectedKey],
    );
    assert.deepEqual(table.match("blue", eventOf({ type: "a" }), "async"), []);
    assert.equal(table.explain("blue", eventOf({ type: "a" })).length, 1);
  });

  it("resolves the target and dead-letter functions, and still routes to a function with no instance", () => {
    const table = buildRoutingTable(
      snapshotOf([
        functionRecord({ ...where, name: "dead", cluster: "east" }),
        subscriptionRecord(
          { name: "s" },
          {
            delivery: {
              retry: 1,
              backoffPolicy: "linear",
              backoffDelayMs: 10,
              maxBackoffMs: 10,
              deadLetter: { namespace: "team", name: "dead" },
            },
          },
        ),
      ]),
    );
    const [route, ...rest] = table.match("blue", eventOf({}), "async");
    assert.equal(rest.length, 0);
    assert.equal(route?.fn, undefined);
    assert.equal(route?.deadLetter?.name, "dead");
    assert.equal(route?.name, "s");
    assert.equal(route?.namespace, "team");
  });

  it("returns only routes of the requested mode", () => {
    const table = buildRoutingTable(
      snapshotOf([
        subscriptionRecord({ name: "c-async" }),
        subscriptionRecord({ name: "a-async" }, { filters: [{ prefix: { type: "com." } }] }),
        subscriptionRecord({ name: "b-sync" }, { mode: "sync" }),
        subscriptionRecord({ name: "d-async" }, { filters: [{ exact: { type: "com.example.test" } }] }),
      ]),
    );
    const names = (mode: "async" | "sync") =>
      table
        .match("blue", eventOf({}), mode)
        .map((r) => r.name)
        .sort();
    assert.deepEqual(names("async"), ["a-async", "c-async", "d-async"]);
    assert.deepEqual(names("sync"), ["b-sync"]);
  });

  it("skips keys that are not record keys and records of another kind than their key", () => {
    const good = subscriptionRecord({ name: "s" });
    const snapshot = snapshotOf([good]);
    const records = new Map(snapshot.records);
    records.set("/switchboard/v1/clusters/east", good);
    records.set(
      subscriptionKey({ vpn: "blue", namespace: "team", name: "t", cluster: "east" }).replace(
        "subscriptions",
        "functions",
      ),
      good,
    );
    const table = buildRoutingTable({ revision: 1, records, clusters: new Map() });
    assert.deepEqual(
      table.match("blue", eventOf({}), "async").map((r) => r.name),
      ["s"],
    );
  });
});
