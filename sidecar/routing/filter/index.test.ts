import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FilterRecord } from "../../../registry/types.ts";
import type { AttributeValue } from "../../types.ts";
import { explainFilters } from "./explain.ts";
import { compileFilters } from "./index.ts";

const attrs: Record<string, AttributeValue> = {
  type: "com.example.order.created",
  source: "/shop/eu",
  subject: "orders/42.test",
  seq: 42,
  urgent: true,
};

/** Checks the compiled predicate and the explainer agree on `expected`. */
const check = (filters: FilterRecord[], expected: boolean, on: Record<string, AttributeValue> = attrs) => {
  assert.equal(compileFilters(filters)(on), expected, JSON.stringify(filters));
  assert.equal(explainFilters(filters, on).matched, expected, `explain ${JSON.stringify(filters)}`);
};

describe("filter dialects", () => {
  it("matches everything with an empty list", () => {
    check([], true);
    check([], true, {});
  });

  it("exact: every listed attribute equal, case-sensitive", () => {
    check([{ exact: { type: "com.example.order.created" } }], true);
    check([{ exact: { type: "com.example.order.created", source: "/shop/eu" } }], true);
    check([{ exact: { type: "com.example.order.created", source: "/shop" } }], false);
    check([{ exact: { type: "COM.example.order.created" } }], false);
  });

  it("prefix and suffix", () => {
    check([{ prefix: { type: "com.example." } }], true);
    check([{ prefix: { type: "com.other." } }], false);
    check([{ prefix: { type: "" } }], true);
    check([{ suffix: { subject: ".test" } }], true);
    check([{ suffix: { subject: ".prod" } }], false);
    check([{ prefix: { source: "/shop" }, suffix: { subject: ".test" } }], true);
  });

  it("never matches a missing attribute, not even with an empty prefix", () => {
    check([{ exact: { dataschema: "x" } }], false);
    check([{ prefix: { dataschema: "" } }], false);
    check([{ suffix: { dataschema: "" } }], false);
    check([{ not: { exact: { dataschema: "x" } } }], true);
  });

  it("does not mistake inherited properties for attributes", () => {
    check([{ prefix: { constructor: "" } }], false);
    check([{ exact: { constructor: "x" } }], true, { ...attrs, constructor: "x" });
  });

  it("compares numbers and booleans by their canonical string form", () => {
    check([{ exact: { seq: "42" } }], true);
    check([{ prefix: { seq: "4" } }], true);
    check([{ exact: { urgent: "true" } }], true);
    check([{ exact: { urgent: "True" } }], false);
  });

  it("all, any, not and nesting", () => {
    check([{ all: [{ prefix: { type: "com." } }, { exact: { source: "/shop/eu" } }] }], true);
    check([{ all: [{ prefix: { type: "com." } }, { exact: { source: "/shop/us" } }] }], false);
    check([{ any: [{ exact: { source: "/shop/us" } }, { suffix: { subject: ".test" } }] }], true);
    check([{ any: [{ exact: { source: "/shop/us" } }, { suffix: { subject: ".prod" } }] }], false);
    check([{ not: { exact: { source: "/shop/us" } } }], true);
    check([{ not: { not: { exact: { source: "/shop/us" } } } }], false);
    const nested: FilterRecord = {
      any: [
        { all: [{ exact: { type: "nope" } }, { prefix: { source: "/" } }] },
        { all: [{ not: { suffix: { subject: ".prod" } } }, { any: [{ exact: { seq: "42" } }] }] },
      ],
    };
    check([nested], true);
    check([nested, { exact: { urgent: "false" } }], false);
  });

  it("ANDs the members of a filter list", () => {
    check([{ prefix: { type: "com." } }, { exact: { source: "/shop/eu" } }], true);
    check([{ prefix: { type: "com." } }, { exact: { source: "/shop/us" } }], false);
  });
});

describe("filter explanations", () => {
  const reason = (filters: FilterRecord[]) => explainFilters(filters, attrs).reason;

  it("says what matched", () => {
    assert.equal(reason([]), "no filters");
    assert.equal(
      reason([{ exact: { type: "com.example.order.created" } }]),
      "exact type = 'com.example.order.created' matched",
    );
    assert.equal(
      reason([{ prefix: { source: "/shop" } }, { suffix: { subject: ".test" } }]),
      "prefix source '/shop' matched; suffix subject '.test' matched",
    );
  });

  it("says what did not match", () => {
    assert.equal(reason([{ prefix: { source: "/a" } }]), "prefix source '/a' did not match '/shop/eu'");
    assert.equal(
      reason([{ exact: { dataschema: "x" } }]),
      "exact dataschema = 'x': the event has no dataschema",
    );
    assert.equal(
      reason([{ any: [{ exact: { seq: "1" } }, { suffix: { subject: "x" } }] }]),
      "any: none matched (exact seq = '1' did not match '42'; suffix subject 'x' did not match 'orders/42.test')",
    );
    assert.equal(reason([{ not: { prefix: { type: "com." } } }]), "not(prefix type 'com.' matched)");
    assert.equal(
      reason([{ all: [{ prefix: { type: "com." } }, { exact: { source: "/x" } }] }]),
      "all: exact source = '/x' did not match '/shop/eu'",
    );
  });
});
