// Property test: the indexed matcher returns exactly what a brute-force scan with a reference
// interpretation of the dialects returns, over random filters and events (seeded, reproducible).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FilterRecord, SubscriptionRecord } from "../../../registry/types.ts";
import { eventOf, snapshotOf, subscriptionRecord } from "../../testing/routing.ts";
import type { AttributeValue } from "../../types.ts";
import { buildRoutingTable } from "../index.ts";

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("empty choice");
  return item;
};

const ATTRIBUTES = ["type", "source", "subject", "seq"];
const VALUES = ["", "a", "a.b", "a.b.c", "a.c", "b", "b.a", "1", "12", "true"];

const attributeMap = (random: Random): Record<string, string> => {
  const map: Record<string, string> = {};
  const count = 1 + Math.floor(random() * 2);
  for (let i = 0; i < count; i++) map[pick(random, ATTRIBUTES)] = pick(random, VALUES);
  return map;
};

const randomFilter = (random: Random, depth: number): FilterRecord => {
  const dialect = pick(
    random,
    depth > 0 ? ["exact", "exact", "prefix", "suffix", "all", "any", "not"] : ["exact", "prefix", "suffix"],
  );
  if (dialect === "exact" || dialect === "prefix" || dialect === "suffix")
    return { [dialect]: attributeMap(random) };
  if (dialect === "not") return { not: randomFilter(random, depth - 1) };
  const members = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomFilter(random, depth - 1));
  return dialect === "all" ? { all: members } : { any: members };
};

const randomAttributes = (random: Random): Record<string, AttributeValue> => {
  const attributes: Record<string, AttributeValue> = { id: "1", specversion: "1.0" };
  for (const name of ATTRIBUTES) {
    if (random() < 0.85) attributes[name] = name === "seq" && random() < 0.5 ? 12 : pick(random, VALUES);
  }
  if (random() < 0.2) attributes.seq = true;
  return attributes;
};

/** The reference semantics, written independently of ./filter.ts. */
const accepts = (filter: FilterRecord, attributes: Record<string, AttributeValue>): boolean => {
  const text = (name: string) => (Object.hasOwn(attributes, name) ? String(attributes[name]) : undefined);
  const each = (map: Record<string, string> | undefined, test: (a: string, w: string) => boolean) =>
    map === undefined ||
    Object.entries(map).every(([name, wanted]) => {
      const actual = text(name);
      return actual !== undefined && test(actual, wanted);
    });
  return (
    each(filter.exact, (a, w) => a === w) &&
    each(filter.prefix, (a, w) => a.startsWith(w)) &&
    each(filter.suffix, (a, w) => a.endsWith(w)) &&
    (filter.all === undefined || filter.all.every((f) => accepts(f, attributes))) &&
    (filter.any === undefined || filter.any.some((f) => accepts(f, attributes))) &&
    (filter.not === undefined || !accepts(filter.not, attributes))
  );
};

const randomSubscriptions = (random: Random, count: number): SubscriptionRecord[] =>
  Array.from({ length: count }, (_, i) => {
    const filters = Array.from({ length: Math.floor(random() * 3) }, () => randomFilter(random, 3));
    return subscriptionRecord(
      { vpn: pick(random, ["blue", "red"]), name: `s${i}`, cluster: pick(random, ["east", "west"]) },
      { filters, mode: random() < 0.8 ? "async" : "sync" },
    );
  });

describe("indexed matching", () => {
  it("returns what a brute-force scan returns (4000 random events over 200 random tables)", () => {
    const random = mulberry32(20240601);
    let matchedSome = 0;
    for (let t = 0; t < 200; t++) {
      const subscriptions = randomSubscriptions(random, 40);
      const table = buildRoutingTable(snapshotOf(subscriptions));
      for (let e = 0; e < 20; e++) {
        const attributes = randomAttributes(random);
        const vpn = pick(random, ["blue", "red"]);
        const mode = pick(random, ["async", "sync"] as const);
        const expected = subscriptions
          .filter((s) => s.vpn === vpn && s.spec.mode === mode)
          .filter((s) => s.spec.filters.every((f) => accepts(f, attributes)))
          .map((s) => s.owner.name)
          .sort();
        const event = eventOf({}, {});
        const actual = table.match(vpn, { ...event, attributes }, mode).map((r) => r.name);
        assert.deepEqual([...actual].sort(), expected, JSON.stringify({ t, e, attributes }));
        const explained = table.explain(vpn, { ...event, attributes });
        const explainedMatches = explained.filter((x) => x.matched && x.mode === mode).map((x) => x.name);
        // A published event reaches every async match but only the first sync one (the ingress's choice).
        const reached = mode === "async" ? expected : actual.slice(0, 1);
        assert.deepEqual(explainedMatches.sort(), reached, "explain agrees with match");
        if (expected.length > 0) matchedSome++;
      }
    }
    assert.ok(matchedSome > 1000, `the generator produces matches (${matchedSome})`);
  });

  it("returns each route once, also for overlapping any-pins and direct hits", () => {
    const subscriptions = [
      subscriptionRecord(
        { name: "z" },
        { filters: [{ any: [{ prefix: { type: "a" } }, { prefix: { type: "a.b" } }] }] },
      ),
      subscriptionRecord({ name: "m" }, { filters: [{ exact: { type: "a.b.c" } }] }),
      subscriptionRecord({ name: "b" }, { filters: [{ suffix: { type: ".c" } }] }),
      subscriptionRecord(
        { name: "k" },
        { filters: [{ any: [{ exact: { type: "a.b.c" } }, { exact: { source: "/x" } }] }] },
      ),
    ];
    const table = buildRoutingTable(snapshotOf(subscriptions));
    const names = table.match("blue", eventOf({ type: "a.b.c", source: "/x" }), "async").map((r) => r.name);
    assert.deepEqual(names.sort(), ["b", "k", "m", "z"]);
  });
});
