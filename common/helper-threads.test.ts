// How often the gateway looks whether it is warm enough to lower V8's workers: every 200 ms while
// requests come, every 5 s while none do (a quiet sidecar wakes for it once in five seconds).
import assert from "node:assert/strict";
import { test } from "node:test";
import { lowerV8WorkersWhenWarm } from "./helper-threads.ts";

test("the warm check runs every 200 ms while the count grows and every 5 s while it does not", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let handled = 0;
  const checks: number[] = [];
  let now = 0;
  const stop = lowerV8WorkersWhenWarm(
    () => {
      checks.push(now);
      return handled;
    },
    () => assert.fail("never warm: the threshold is not reached"),
    Number.POSITIVE_INFINITY,
  );
  /** Advances the clock by `ms` in steps of 100 ms; `busy`: a request is handled in each step. */
  const advance = (ms: number, busy = false): void => {
    for (let i = 0; i < ms / 100; i++) {
      now += 100;
      if (busy) handled++;
      t.mock.timers.tick(100);
    }
  };
  checks.length = 0;
  advance(200); // the first look: nothing handled since the start
  advance(4_900);
  assert.deepEqual(checks, [200], "quiet: no look for 5 s after one that saw nothing");
  advance(900, true); // requests from 5.2 s to 6 s: the look at 5.2 s sees them, then every 200 ms
  assert.deepEqual(checks, [200, 5_200, 5_400, 5_600, 5_800, 6_000]);
  advance(5_200); // quiet again: one look that sees nothing new, then 5 s
  assert.deepEqual(checks.slice(6), [6_200, 11_200]);
  stop();
  const before = checks.length;
  advance(10_000);
  assert.equal(checks.length, before, "stopped: no more looks");
});
