import assert from "node:assert/strict";
import { test } from "node:test";
import { IdleKeepingMap, idleKeepingCounts } from "./idle-keeping-map.ts";

test("an entry that falls idle stays (a count at zero is read back as zero) until the map grows", () => {
  const counts = idleKeepingCounts<string>(4);
  counts.set("a", 1);
  counts.set("a", 0);
  assert.equal(counts.get("a"), 0);
  assert.equal(counts.size, 1);
  for (const key of ["b", "c", "d"]) counts.set(key, 1);
  assert.equal(counts.size, 4);
  // The fifth key sweeps: "a" (idle) goes, the busy ones stay.
  counts.set("e", 1);
  assert.deepEqual(
    ["a", "b", "c", "d", "e"].map((k) => counts.get(k)),
    [undefined, 1, 1, 1, 1],
  );
});

test("setting a key already held never sweeps, so a busy entry is never dropped under it", () => {
  const slots = new IdleKeepingMap<string, { n: number }>((s) => s.n === 0, 2);
  const a = { n: 0 };
  slots.set("a", a);
  slots.set("b", { n: 0 });
  slots.set("a", a);
  assert.equal(slots.get("a"), a);
  assert.equal(slots.size, 2);
});

test("keys that come and go keep the map within twice its busy size", () => {
  const counts = idleKeepingCounts<number>(8);
  let largest = 0;
  for (let key = 0; key < 10_000; key++) {
    counts.set(key, 1);
    // Ten keys busy at a time: each key is released ten keys later.
    if (key >= 10) counts.set(key - 10, 0);
    largest = Math.max(largest, counts.size);
  }
  assert.ok(largest <= 2 * 11 + 8, `the map held ${largest} keys`);
  for (let key = 9_990; key < 10_000; key++) assert.equal(counts.get(key), 1);
});
