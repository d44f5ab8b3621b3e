// A real gateway process lowers V8's worker threads, and only them, to nice 19 once it has handled
// its first WARM_REQUESTS requests, and says so (common/helper-threads.ts says why).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startGateway } from "../e2e/gateway.ts";
import { cleanup, testEtcd, uniqueName } from "../e2e/harness.ts";
import { threadsOf as threads, waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import { WARM_REQUESTS } from "./helper-threads.ts";

test("the gateway lowers V8's worker threads to nice 19 once warm, and its JavaScript thread keeps the priority it was given", {
  skip: process.platform === "linux" ? false : "thread priorities are read from Linux's /proc",
}, async () => {
  const gw = await startGateway({
    etcd: await testEtcd(),
    clusterName: uniqueName("threads"),
    dir: mkdtempSync(join(repoRoot, ".work", "threads-")),
    name: uniqueName("threads"),
  });
  cleanup(() => gw.proc.stop());
  const given = getPriority();
  const cold = threads(gw.proc.pid).filter((t) => t.name === "V8Worker");
  assert.ok(cold.length > 0, "V8 worker threads");
  assert.deepEqual(
    cold.map((t) => t.nice),
    cold.map(() => given),
    "while cold, the workers compile at the process's priority",
  );
  // Any request counts, answered or refused: these are refused (no credential).
  for (let i = 0; i < WARM_REQUESTS; i++) (await fetch(`${gw.url}/`, { method: "POST" })).body?.cancel();
  const workers = await waitFor("the V8 workers to be lowered", async () => {
    const w = threads(gw.proc.pid).filter((t) => t.name === "V8Worker");
    return w.length > 0 && w.every((t) => t.nice === 19) ? w : undefined;
  });
  const all = threads(gw.proc.pid);
  assert.deepEqual(
    all.filter((t) => t.name !== "V8Worker").map((t) => t.nice),
    all.filter((t) => t.name !== "V8Worker").map(() => given),
    "every other thread (the JavaScript thread, libuv's workers for the delivery log) as it was",
  );
  const line = (msg: string) =>
    JSON.parse(
      readFileSync(gw.proc.log, "utf8")
        .split("\n")
        .find((l) => l.includes(`"${msg}"`)) ?? "{}",
    ) as { v8WorkersAtNice19?: number | string };
  assert.equal(line("gateway started").v8WorkersAtNice19, `after ${WARM_REQUESTS} requests`);
  await waitFor("the lowering to be logged", async () =>
    line("V8 worker threads lowered to nice 19").v8WorkersAtNice19 === workers.length ? true : undefined,
  );
});
