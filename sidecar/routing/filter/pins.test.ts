import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { filtered, snapshotOf } from "../../testing/routing.ts";
import { buildRoutingTable } from "../index.ts";
import { pinsOf } from "./pins.ts";

const exact = (attribute: string, value: string) => ({ attribute, kind: "exact", value });
const prefix = (attribute: string, value: string) => ({ attribute, kind: "prefix", value });

describe("index pins", () => {
  it("prefers an exact type over anything else among AND-ed conditions", () => {
    assert.deepEqual(pinsOf([{ prefix: { type: "com." } }, { exact: { source: "/s", type: "com.x" } }]), [
      exact("type", "com.x"),
    ]);
    assert.deepEqual(pinsOf([{ all: [{ suffix: { type: "x" } }, { exact: { type: "t" } }] }]), [
      exact("type", "t"),
    ]);
    assert.deepEqual(pinsOf([{ prefix: { type: "com." } }, { exact: { source: "/s" } }]), [
      exact("source", "/s"),
    ]);
    assert.deepEqual(pinsOf([{ prefix: { type: "com." } }, { prefix: { source: "/s" } }]), [
      prefix("type", "com."),
    ]);
  });

  it("unions the pins of `any` only when every member has some", () => {
    assert.deepEqual(pinsOf([{ any: [{ exact: { type: "a" } }, { prefix: { type: "b" } }] }]), [
      exact("type", "a"),
      prefix("type", "b"),
    ]);
    assert.equal(pinsOf([{ any: [{ exact: { type: "a" } }, { suffix: { type: "b" } }] }]), undefined);
  });

  it("cannot pin suffix, not, or nothing", () => {
    assert.equal(pinsOf([]), undefined);
    assert.equal(pinsOf([{ suffix: { type: "x" } }]), undefined);
    assert.equal(pinsOf([{ not: { exact: { type: "x" } } }]), undefined);
  });

  it("files subscriptions by exact pin, prefix pin, or in the scan list", () => {
    const table = buildRoutingTable(
      snapshotOf([
        filtered("e1", [{ exact: { type: "a" } }]),
        filtered("e2", [{ any: [{ exact: { type: "a" } }, { exact: { source: "b" } }] }]),
        filtered("p1", [{ prefix: { type: "a" } }]),
        filtered("s1", [{ suffix: { type: "a" } }]),
        filtered("s2", []),
        filtered("dead", [], "data.x >"),
      ]),
    );
    assert.deepEqual(table.stats("blue"), {
      async: { exact: 2, prefix: 1, scan: 2 },
      sync: { exact: 0, prefix: 0, scan: 0 },
    });
    assert.equal(table.stats("red"), undefined);
  });
});
