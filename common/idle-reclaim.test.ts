import assert from "node:assert/strict";
import { test } from "node:test";
import { createIdleReclaim } from "./idle-reclaim.ts";

const MiB = 1024 * 1024;

/** A process whose request count and heap the test sets; `gc` brings the heap to `collectsTo`. */
const proc = () => {
  const p = { requests: 0, heap: 30 * MiB, collectsTo: 30 * MiB, collections: 0 };
  const reclaim = createIdleReclaim({
    activity: () => p.requests,
    heapBytes: () => p.heap,
    gc: () => {
      p.collections++;
      p.heap = p.collectsTo;
    },
  });
  return { p, reclaim };
};

/** A process past its start: the first quiet interval has collected what starting left behind. */
const started = () => {
  const made = proc();
  assert.equal(made.reclaim.check(), true);
  made.p.collections = 0;
  return made;
};

test("the first quiet interval collects what starting left behind, once", () => {
  const { p, reclaim } = proc();
  assert.equal(reclaim.check(), true);
  for (let i = 0; i < 5; i++) assert.equal(reclaim.check(), false);
  assert.equal(p.collections, 1);
});

test("a quiet interval after the heap grew collects once; quiet intervals after that do not", () => {
  const { p, reclaim } = started();
  p.requests += 5000;
  p.heap = 70 * MiB;
  assert.equal(reclaim.check(), false, "requests arrived during the interval: busy, no collection");
  assert.equal(reclaim.check(), true, "a whole interval without a request, 40 MiB grown: collects");
  assert.equal(p.heap, 30 * MiB);
  for (let i = 0; i < 10; i++) assert.equal(reclaim.check(), false, "still quiet, nothing grown");
  assert.equal(p.collections, 1);
});

test("a drained backlog is collected though the heap did not grow: enough happened since the last collection", () => {
  const { p, reclaim } = started();
  p.requests += 1500; // e.g. attempts delivering a queue whose events filled the heap before
  assert.equal(reclaim.check(), false, "busy");
  assert.equal(reclaim.check(), true, "quiet after 1500 requests and attempts");
  p.requests += 10;
  assert.equal(reclaim.check(), false, "busy again");
  assert.equal(reclaim.check(), false, "quiet, but 10 since the last collection and nothing grown");
  assert.equal(p.collections, 1);
});

test("a busy process is never collected, however much its heap grew", () => {
  const { p, reclaim } = proc();
  for (let i = 0; i < 20; i++) {
    p.requests += 1;
    p.heap += 10 * MiB;
    assert.equal(reclaim.check(), false);
  }
  assert.equal(p.collections, 0);
});

test("growth is counted from the lowest heap since the last collection, V8's own included", () => {
  const { p, reclaim } = started();
  p.heap = 36 * MiB;
  assert.equal(reclaim.check(), false, "6 MiB grown: under the 8 MiB threshold");
  p.heap = 20 * MiB; // V8 collected on its own
  assert.equal(reclaim.check(), false);
  p.collectsTo = 20 * MiB;
  p.heap = 29 * MiB;
  assert.equal(reclaim.check(), true, "9 MiB above the 20 MiB V8 reached: collects");
});
