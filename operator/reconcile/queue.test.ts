import assert from "node:assert/strict";
import { test } from "node:test";
import { createQueue } from "./queue.ts";

test("a key added several times while waiting is processed once", async () => {
  const q = createQueue();
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  assert.equal(q.depth(), 2);
  assert.equal(await q.get(), "ns/a");
  assert.equal(await q.get(), "ns/b");
  assert.equal(q.depth(), 0);
});

test("a key added while being processed is processed again after done, never concurrently", async () => {
  const q = createQueue();
  q.add("k");
  const key = await q.get();
  q.add("k");
  assert.equal(q.depth(), 0, "not handed out while in flight");
  q.done(key ?? "");
  assert.equal(q.depth(), 1);
  assert.equal(await q.get(), "k");
});

test("get waits for work and resolves undefined after shutdown", async () => {
  const q = createQueue();
  const next = q.get();
  q.add("late");
  assert.equal(await next, "late");
  const pending = q.get();
  q.shutdown();
  assert.equal(await pending, undefined);
});

test("backoff doubles per failure, is capped, jittered, and reset by forget", () => {
  const q = createQueue({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.5, random: () => 1 });
  const delays = [1, 2, 3, 4, 5].map(() => q.addRateLimited("k"));
  assert.deepEqual(delays, [150, 300, 600, 1200, 1500]);
  assert.equal(q.failures("k"), 5);
  q.forget("k");
  assert.equal(q.failures("k"), 0);
  assert.equal(q.addRateLimited("k"), 150);
  q.shutdown();
});

test("addAfter delivers the key once the delay has passed", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const q = createQueue();
  q.addAfter("later", 500);
  assert.equal(q.depth(), 0);
  t.mock.timers.tick(499);
  assert.equal(q.depth(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.depth(), 1);
  assert.equal(await q.get(), "later");
});

test("thousands of keys come out in the order they were added, interleaved with adds, depth exact", async () => {
  const q = createQueue();
  const added: string[] = [];
  const taken: string[] = [];
  for (let i = 0; i < 5000; i++) {
    q.add(`ns/k${i}`);
    added.push(`ns/k${i}`);
  }
  assert.equal(q.depth(), 5000);
  for (let round = 0; round < 3000; round++) {
    const key = (await q.get()) as string;
    taken.push(key);
    q.done(key);
    if (round % 3 === 0) {
      q.add(`ns/late${round}`);
      added.push(`ns/late${round}`);
    }
    assert.equal(q.depth(), added.length - taken.length);
  }
  while (q.depth() > 0) {
    const key = (await q.get()) as string;
    taken.push(key);
    q.done(key);
  }
  assert.deepEqual(taken, added);
  // Emptied and used again.
  q.add("ns/again");
  assert.equal(q.depth(), 1);
  assert.equal(await q.get(), "ns/again");
});
