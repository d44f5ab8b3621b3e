// Busy-only jobs (the lag sampler, the memory checks): a quiet check stops them, a request or a
// check that sees work starts them again, and a periodic job checks at once when it starts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type BusyJob, periodic, whileBusy } from "./while-busy.ts";

const recorded = (): BusyJob & { runs: boolean[] } => {
  const runs: boolean[] = [];
  return { runs, start: () => runs.push(true), stop: () => runs.push(false) };
};

test("the jobs stop after a quiet check and start again with a request or with work a check sees", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const job = recorded();
  const gate = whileBusy([job]);
  let work = 0;
  const stop = gate.every(5_000, () => work);
  assert.equal(gate.running(), true, "started by every");
  t.mock.timers.tick(5_000);
  assert.equal(gate.running(), false, "a quiet interval stops them");
  gate.busy();
  gate.busy();
  assert.equal(gate.running(), true, "a request starts them at once");
  work++;
  t.mock.timers.tick(5_000);
  assert.equal(gate.running(), true, "work in the interval keeps them");
  t.mock.timers.tick(5_000);
  assert.equal(gate.running(), false);
  work += 3; // deliveries from the queue, no request
  t.mock.timers.tick(5_000);
  assert.equal(gate.running(), true, "a check that sees work starts them");
  stop();
  assert.equal(gate.running(), false, "stopping stops the jobs");
  t.mock.timers.tick(20_000);
  assert.deepEqual(job.runs, [true, false, true, false, true, false], "each start and stop once, in turn");
});

test("work that is not counted keeps the jobs running though nothing arrives (requests held by a slow function)", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const gate = whileBusy([recorded()]);
  let held = 3;
  const stop = gate.every(
    5_000,
    () => 7,
    () => held > 0,
  );
  t.mock.timers.tick(15_000);
  assert.equal(gate.running(), true, "held requests are work");
  held = 0;
  t.mock.timers.tick(5_000);
  assert.equal(gate.running(), false, "quiet once they are answered");
  stop();
});

test("a periodic job checks when it starts, every interval while it runs, and not while stopped", (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  let checks = 0;
  const job = periodic(() => checks++, 100);
  job.start();
  assert.equal(checks, 1, "at once");
  t.mock.timers.tick(300);
  assert.equal(checks, 4);
  job.stop();
  t.mock.timers.tick(1_000);
  assert.equal(checks, 4, "stopped");
  job.start();
  assert.equal(checks, 5, "what changed while stopped counts at the start");
  job.stop();
});
