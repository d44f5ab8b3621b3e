// The shared deadline timer: entries expire once, in deadline order across durations; removed ones
// never; entries added while it runs are kept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type DeadlineEntry, Deadlines, deadlineEntry } from "./deadlines.ts";

const entry = (name: string, expired: string[], onExpire?: () => void): DeadlineEntry =>
  deadlineEntry(() => {
    expired.push(name);
    onExpire?.();
  });

/** Resolves when `expired` holds `n` names. */
const expiredCount = async (expired: string[], n: number): Promise<void> => {
  while (expired.length < n) await new Promise((resolve) => setImmediate(resolve));
};

test("entries expire once each, earliest deadline first, whatever their durations", async () => {
  const deadlines = new Deadlines();
  const expired: string[] = [];
  deadlines.add(entry("slow", expired), 60);
  deadlines.add(entry("fast-1", expired), 5);
  deadlines.add(entry("mid", expired), 30);
  deadlines.add(entry("fast-2", expired), 5);
  assert.equal(deadlines.size(), 4);
  await expiredCount(expired, 4);
  assert.deepEqual(expired, ["fast-1", "fast-2", "mid", "slow"]);
  assert.equal(deadlines.size(), 0);
});

test("a removed entry never expires, wherever it was in its list", async () => {
  const deadlines = new Deadlines();
  const expired: string[] = [];
  const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => entry(n, expired)) as DeadlineEntry[] as [
    DeadlineEntry,
    DeadlineEntry,
    DeadlineEntry,
    DeadlineEntry,
  ];
  for (const e of [a, b, c, d]) deadlines.add(e, 10);
  deadlines.remove(a);
  deadlines.remove(c);
  deadlines.remove(c);
  deadlines.add(entry("last", expired), 20);
  await expiredCount(expired, 3);
  assert.deepEqual(expired, ["b", "d", "last"]);
  deadlines.remove(b);
  assert.equal(deadlines.size(), 0);
});

test("an entry added again gets its new deadline only; one added while expiring is kept", async () => {
  const deadlines = new Deadlines();
  const expired: string[] = [];
  const again = entry("again", expired);
  deadlines.add(again, 5);
  deadlines.add(again, 40);
  const chained = entry("first", expired, () => deadlines.add(entry("second", expired), 5));
  deadlines.add(chained, 10);
  await expiredCount(expired, 3);
  // "again" was not expired at its first deadline (5 ms, before "first"'s 10). Where "second"
  // falls against "again" depends on when the timer ran "first": 5 ms after that.
  assert.equal(expired[0], "first");
  assert.deepEqual([...expired].sort(), ["again", "first", "second"]);
});
