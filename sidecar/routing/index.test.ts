import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventOf, snapshotOf, subscriptionRecord, vpnRecord } from "../testing/routing.ts";
import { buildRoutingTable } from "./index.ts";

const hash = (c: string): string => c.repeat(64);

describe("VPN merge across clusters", () => {
  const table = buildRoutingTable(
    snapshotOf([
      vpnRecord("blue", "west", {
        namespaces: ["b", "c"],
        publishers: [{ name: "w-pub", tokenSha256: hash("2") }],
        limits: { eventsPerSecond: 100, maxEventBytes: 4096 },
        egress: { allow: ["10.1.0.0/16", "127.0.0.1"] },
      }),
      vpnRecord("blue", "east", {
        namespaces: ["a", "b"],
        publishers: [
          { name: "e-pub", tokenSha256: hash("1") },
          { name: "e-name", tokenSha256: hash("2") },
        ],
        limits: { eventsPerSecond: 500, burst: 50, maxEventBytes: 1024 },
        egress: { allow: ["10.1.0.0/16", "169.254.169.254"] },
      }),
      vpnRecord("green", "east", { namespaces: ["g"], egress: { allow: ["127.0.0.1"] } }),
      vpnRecord("green", "west", { namespaces: ["g"] }),
    ]),
  );

  it("unions namespaces and publishers", () => {
    const blue = table.vpn("blue");
    assert.deepEqual([...(blue?.namespaces ?? [])].sort(), ["a", "b", "c"]);
    assert.deepEqual([...(blue?.tokens.keys() ?? [])].sort(), [hash("1"), hash("2")]);
    assert.equal(
      blue?.tokens.get(hash("2")),
      "e-name",
      "a hash named twice keeps the smallest cluster's name",
    );
  });

  it("keeps the most restrictive value of each limit", () => {
    assert.deepEqual(table.vpn("blue")?.limits, { eventsPerSecond: 100, burst: 50, maxEventBytes: 1024 });
  });

  it("keeps only the egress allow entries every cluster's record names", () => {
    assert.deepEqual(table.vpn("blue")?.egressAllow, ["10.1.0.0/16"]);
    assert.deepEqual(table.vpn("green")?.egressAllow, [], "one cluster's allow-list never widens another's");
  });

  it("resolves namespaces and tokens to the logical VPN", () => {
    for (const ns of ["a", "b", "c"]) assert.equal(table.vpnForNamespace(ns)?.name, "blue");
    assert.equal(table.vpnForToken(hash("1"))?.name, "blue");
    assert.equal(table.vpnForNamespace("d"), undefined);
    assert.equal(table.vpnForToken(hash("3")), undefined);
    assert.equal(table.vpn("purple"), undefined);
    assert.equal(table.revision, 7);
  });
});

describe("isolation", () => {
  const table = buildRoutingTable(
    snapshotOf([
      vpnRecord("blue", "east", {
        namespaces: ["shared", "blue-ns"],
        publishers: [
          { name: "p", tokenSha256: hash("1") },
          { name: "dup", tokenSha256: hash("9") },
        ],
      }),
      vpnRecord("red", "west", {
        namespaces: ["shared", "red-ns"],
        publishers: [
          { name: "p", tokenSha256: hash("2") },
          { name: "dup", tokenSha256: hash("9") },
        ],
      }),
      subscriptionRecord({ vpn: "blue", name: "all-blue" }),
      subscriptionRecord({ vpn: "red", name: "all-red" }),
    ]),
  );

  it("gives a namespace claimed by two VPNs to neither", () => {
    assert.equal(table.vpnForNamespace("shared"), undefined);
    assert.equal(table.vpn("blue")?.namespaces.has("shared"), false);
    assert.equal(table.vpn("red")?.namespaces.has("shared"), false);
    assert.equal(table.vpnForNamespace("blue-ns")?.name, "blue");
    assert.equal(table.vpnForNamespace("red-ns")?.name, "red");
  });

  it("maps a token only to its own VPN, and a contested one to none", () => {
    assert.equal(table.vpnForToken(hash("1"))?.name, "blue");
    assert.equal(table.vpnForToken(hash("2"))?.name, "red");
    assert.equal(table.vpnForToken(hash("9")), undefined);
    assert.equal(table.vpn("blue")?.tokens.has(hash("9")), false);
  });

  it("never returns another VPN's routes", () => {
    const event = eventOf({});
    assert.deepEqual(
      table.match("blue", event, "async").map((r) => r.name),
      ["all-blue"],
    );
    assert.deepEqual(
      table.match("red", event, "async").map((r) => r.name),
      ["all-red"],
    );
    assert.deepEqual(table.match("green", event, "async"), []);
    assert.deepEqual(
      table.explain("blue", event).map((e) => e.name),
      ["all-blue"],
    );
  });
});
