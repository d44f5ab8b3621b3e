import assert from "node:assert/strict";
import { test } from "node:test";
import { createLimits } from "./index.ts";

const taken = (slot: ReturnType<ReturnType<typeof createLimits>["acquire"]>): (() => void) => {
  if (typeof slot !== "function") assert.fail(`expected a free slot, got ${String(slot)}`);
  return slot;
};

test("a slot freed for a waiting attempt goes to it, not to an attempt that arrives before it resumes", async () => {
  const limits = createLimits();
  const first = taken(limits.acquire("fn", 1, 10));
  const waiting = limits.acquire("fn", 1, 10);
  assert.ok(waiting instanceof Promise);
  first();
  // The waiter has been woken but has not run yet: the slot is already its own.
  const late = limits.acquire("fn", 1, 10);
  assert.ok(late instanceof Promise, "the late attempt waits instead of taking a second slot");
  const second = await waiting;
  assert.equal(typeof second, "function");
  (second as () => void)();
  assert.equal(typeof (await late), "function");
});

test("a released slot is free again, and other functions' slots are their own", () => {
  const limits = createLimits();
  const a = taken(limits.acquire("a", 1, 0));
  assert.equal(limits.acquire("a", 1, 0), "full");
  taken(limits.acquire("b", 1, 0));
  a();
  taken(limits.acquire("a", 1, 0));
});

test("slots of many functions that came and went leave the limits working", () => {
  const limits = createLimits();
  for (let i = 0; i < 5000; i++) taken(limits.acquire(`fn-${i}`, 1, 0))();
  const held = taken(limits.acquire("fn-1", 1, 0));
  assert.equal(limits.acquire("fn-1", 1, 0), "full");
  held();
});
