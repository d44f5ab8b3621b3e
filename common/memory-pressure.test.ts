import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_ADMITTED, maxSemiSpaceMib, memoryPressure, v8HeapUse } from "./memory-pressure.ts";

const MiB = 2 ** 20;

/** A process whose working set and requests in progress the test sets. */
const proc = (shedAt = 0.85) => {
  const p = { ws: 40 * MiB, inProgress: 0, now: 0, collections: 0, changes: [] as [boolean, number][] };
  const pressure = memoryPressure({
    workingSetBytes: () => p.ws,
    limitBytes: 100 * MiB,
    shedAt,
    inProgress: () => p.inProgress,
    collect: () => {
      p.collections++;
    },
    onChange: (pressed, _ws, admitted) => p.changes.push([pressed, admitted]),
    now: () => p.now,
  });
  return { p, pressure };
};

test("below the threshold every request is admitted, however many are in progress", () => {
  const { p, pressure } = proc();
  p.ws = 84 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, false);
  assert.equal(pressure.admits(1_000_000), true);
  assert.equal(p.collections, 0);
});

test("at the threshold: half the requests then in progress are admitted at once, the heap is collected once", () => {
  const { p, pressure } = proc();
  p.ws = 85 * MiB;
  p.inProgress = 600;
  pressure.check();
  assert.equal(pressure.pressed, true);
  assert.deepEqual(p.changes, [[true, 300]]);
  assert.equal(pressure.admits(299), true);
  assert.equal(pressure.admits(300), false);
  assert.equal(pressure.admits(600), false);
  assert.equal(p.collections, 1);
  // Staying under pressure changes nothing: no second collection, the same number admitted.
  p.inProgress = 100;
  pressure.check();
  assert.equal(p.collections, 1);
  assert.equal(pressure.admits(299), true);
  assert.equal(p.changes.length, 1);
});

test(`with few requests in progress, ${MIN_ADMITTED} are still admitted: a gateway whose memory stays high keeps serving`, () => {
  const { p, pressure } = proc();
  p.ws = 95 * MiB;
  p.inProgress = 3;
  pressure.check();
  assert.equal(pressure.admits(MIN_ADMITTED - 1), true);
  assert.equal(pressure.admits(MIN_ADMITTED), false);
});

test("the pressure ends ten points below where it began, not at once (no flapping at the threshold)", () => {
  const { p, pressure } = proc();
  p.ws = 86 * MiB;
  p.inProgress = 50;
  pressure.check();
  p.ws = 76 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  p.ws = 74.9 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, false);
  assert.equal(pressure.admits(1_000_000), true);
  assert.deepEqual(p.changes, [
    [true, 25],
    [false, Number.POSITIVE_INFINITY],
  ]);
});

test("pressure that comes back within a second does not collect again", () => {
  const { p, pressure } = proc();
  for (const [ws, now] of [
    [90, 0],
    [50, 300],
    [90, 600],
    [50, 900],
    [90, 1200],
  ] as const) {
    p.ws = ws * MiB;
    p.now = now;
    pressure.check();
  }
  assert.equal(p.changes.filter(([pressed]) => pressed).length, 3);
  assert.equal(p.collections, 2, "at 0 ms and at 1200 ms, not at 600 ms");
});

test("a working set that cannot be read leaves the state as it was", () => {
  const { p, pressure } = proc();
  p.ws = 90 * MiB;
  pressure.check();
  p.ws = Number.NaN;
  pressure.check();
  assert.equal(pressure.pressed, true);
});

test("the cgroup's usage, page cache included, spares reading the working set while it is below the threshold", () => {
  let usage = 50 * MiB;
  let reads = 0;
  let ws = 40 * MiB;
  const pressure = memoryPressure({
    workingSetBytes: () => {
      reads++;
      return ws;
    },
    usageBytes: () => usage,
    limitBytes: 100 * MiB,
    shedAt: 0.85,
    inProgress: () => 100,
  });
  pressure.check();
  assert.equal(reads, 0);
  // Page cache takes the usage past the threshold; the working set decides, and stays below.
  usage = 95 * MiB;
  pressure.check();
  assert.equal(reads, 1);
  assert.equal(pressure.pressed, false);
  ws = 90 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  // Under pressure the working set is read until the usage alone is below where the pressure ends.
  ws = 80 * MiB;
  pressure.check();
  assert.equal([reads, pressure.pressed].join(), "3,true");
  usage = 70 * MiB;
  pressure.check();
  assert.equal([reads, pressure.pressed].join(), "3,false");
});

test("V8's heap near its limit begins a pressure too, and it ends only when both are back down", () => {
  let ws = 40 * MiB;
  let heapUsed = 20 * MiB;
  const changes: [boolean, string][] = [];
  const pressure = memoryPressure({
    workingSetBytes: () => ws,
    limitBytes: 100 * MiB,
    heap: () => ({ used: heapUsed, limit: 50 * MiB }),
    shedAt: 0.85,
    inProgress: () => 40,
    onChange: (pressed, _ws, _admitted, near) => changes.push([pressed, near]),
  });
  pressure.check();
  assert.equal(pressure.pressed, false);
  // 43 of 50 MiB: 86 % of the heap's limit, while the working set is at 40 % of the container's.
  heapUsed = 43 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  assert.equal(pressure.near, "heap");
  assert.equal(pressure.admits(19), true);
  assert.equal(pressure.admits(20), false);
  // The heap below the threshold but not 10 points below it: the pressure lasts.
  heapUsed = 40 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  // The heap down, the working set now up: it lasts.
  heapUsed = 30 * MiB;
  ws = 80 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  ws = 70 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, false);
  assert.deepEqual(changes, [
    [true, "heap"],
    [false, "heap"],
  ]);
});

test("without a container limit the heap alone is watched", () => {
  let heapUsed = 10 * MiB;
  const pressure = memoryPressure({
    heap: () => ({ used: heapUsed, limit: 50 * MiB }),
    shedAt: 0.85,
    inProgress: () => 0,
  });
  pressure.check();
  assert.equal(pressure.pressed, false);
  heapUsed = 45 * MiB;
  pressure.check();
  assert.deepEqual([pressure.pressed, pressure.near], [true, "heap"]);
  // 80 %: above where it ends (75 %).
  heapUsed = 40 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, true);
  heapUsed = 30 * MiB;
  pressure.check();
  assert.equal(pressure.pressed, false);
});

test("the largest semi-space: the last --max-semi-space-size given, else V8's default", () => {
  assert.equal(maxSemiSpaceMib([]), 64);
  assert.equal(maxSemiSpaceMib(["--enable-source-maps", "--max-semi-space-size=4"]), 4);
  assert.equal(maxSemiSpaceMib(["--max-semi-space-size=4", "--max_semi_space_size", "8"]), 8);
  assert.equal(maxSemiSpaceMib(["--max-semi-space-size=4", "--max-old-space-size=30"]), 4);
});

test("V8's old generation in use against its limit, the young generation's reserve left out of both", () => {
  const { used, limit } = v8HeapUse(3 * maxSemiSpaceMib() * 2 ** 20);
  assert.ok(used > 0 && used < limit, `${used} of ${limit}`);
});
