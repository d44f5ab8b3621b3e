// A cold gateway met by a full load: a busy pod's restarted sidecar. The gateway runs compiled, in
// a 128 MiB memory cgroup on one core, with the image's Node flags; a closed loop of 64 connections
// (the Go load generator of bench/, on the other core) sends it sync events for 12 s from its first
// request. V8's worker threads compile the hot path at normal priority and are lowered to nice 19
// only once the gateway is warm (common/helper-threads.ts): lowered from the start, they were
// starved by the busy JavaScript thread, their jobs held glibc's heap, and the gateway was
// OOM-killed within seconds. Every request is answered 200 and the gateway is never OOM-killed.
import assert from "node:assert/strict";
import { getPriority } from "node:os";
import { test } from "node:test";
import { benchRegistry, benchRoute, eventHeaders, load, pin, pinned } from "../bench/lib.ts";
import { startBenchFunction } from "../bench/subjects/index.ts";
import { WARM_REQUESTS } from "../common/helper-threads.ts";
import { cgroupsAvailable, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { cleanup, uniqueName } from "../e2e/harness.ts";
import { threadsOf } from "../e2e/proc.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";

const LIMIT = 128 * 2 ** 20;
const skip = cgroupsAvailable() ? false : "needs root and a memory cgroup controller";

/** The nice values of process `pid`'s V8 worker threads. */
const workerNice = (pid: number): number[] =>
  threadsOf(pid)
    .filter((t) => t.name === "V8Worker")
    .map((t) => t.nice);

test("a cold gateway under a closed loop of 64 connections in 128 MiB: every request answered, no OOM kill", {
  skip,
}, async (t) => {
  compile(PROJECTS.programs);
  pin(process.pid, "1");
  const registry = await benchRegistry(uniqueName("cold"));
  cleanup(() => registry.close());
  const fn = await startBenchFunction("1");
  cleanup(() => fn.stop());
  await benchRoute(registry, `http://127.0.0.1:${fn.port}/fn`, "sync");
  const cgroup = memoryCgroup(uniqueName("cold"), LIMIT);
  const gw = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir: registry.dir,
    name: uniqueName("cold"),
    compiled: true,
    prefix: [...cgroup.prefix, ...pinned("0")],
  });
  cleanup(async () => {
    await gw.proc.stop();
    cgroup.remove();
  });
  let exited: number | string | undefined;
  void gw.proc.exited.then((code) => {
    exited = code;
  });
  const node = gw.proc.pid;
  const cold = workerNice(node);
  assert.ok(cold.length > 0);
  assert.deepEqual(
    cold,
    cold.map(() => getPriority()),
    "V8's workers compile at the process's priority while the gateway is cold",
  );

  const result = await load({
    url: `${gw.url}/`,
    headers: eventHeaders("bench.event", { id: "cold" }),
    body: JSON.stringify({ order: 42, items: ["a", "b"] }),
    okStatus: 200,
    seconds: 12,
    concurrency: 64,
  });
  assert.equal(cgroup.oomKills(), 0, `no OOM kill (peak ${cgroup.peakMb().toFixed(1)} MiB)`);
  assert.equal(exited, undefined, "the gateway is still running");
  assert.ok(result.ok > WARM_REQUESTS, `more than ${WARM_REQUESTS} requests answered (${result.ok})`);
  assert.deepEqual(result.statuses, { "200": result.ok }, "every answer is the function's 200");
  assert.deepEqual(result.failures, {}, "no request went unanswered");
  const warm = workerNice(node);
  assert.deepEqual(
    warm,
    warm.map(() => 19),
    "V8's workers at nice 19 once the gateway is warm",
  );
  t.diagnostic(
    `${result.ok} requests at ${result.rate.toFixed(0)}/s; working set ${cgroup.workingSetMb().toFixed(1)} MiB, peak ${cgroup.peakMb().toFixed(1)} MiB`,
  );
});
