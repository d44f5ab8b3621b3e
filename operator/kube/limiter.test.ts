import assert from "node:assert/strict";
import { test } from "node:test";
import { writeLimiter } from "./limiter.ts";

test("writes beyond the burst wait for the rate, and the wait is reported", async () => {
  const waits: number[] = [];
  const limiter = writeLimiter({ qps: 50, burst: 3 }, (s) => waits.push(s));
  const done: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      await limiter.wait();
      done.push(i);
    }),
  );
  assert.equal(done.length, 5);
  assert.equal(waits.length, 2, "the three of the burst went at once, the other two waited");
  // Two tokens at 50 a second take 40 ms to come: the clock says at least that much passed.
  assert.ok(performance.now() - start >= 39);
});

test("0 writes a second is no limit", async () => {
  const waits: number[] = [];
  const limiter = writeLimiter({ qps: 0, burst: 0 }, (s) => waits.push(s));
  for (let i = 0; i < 1000; i++) await limiter.wait();
  assert.deepEqual(waits, []);
});
