// A real gateway process lowers V8's worker threads, and only them, to nice 19, and says so when
// it starts (common/helper-threads.ts says why).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startGateway } from "../e2e/gateway.ts";
import { cleanup, testEtcd, uniqueName } from "../e2e/harness.ts";
import { repoRoot } from "../e2e/tools.ts";

/** Each thread of process `pid`: its name and nice value (/proc/PID/task/TID/stat). */
const threads = (pid: number): { name: string; nice: number }[] =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { name: /\((.*)\)/.exec(stat)?.[1] ?? "", nice: Number(fields[16]) };
  });

test("the gateway runs V8's worker threads at nice 19 and its JavaScript thread at the priority it was given", {
  skip: process.platform === "linux" ? false : "thread priorities are read from Linux's /proc",
}, async () => {
  const gw = await startGateway({
    etcd: await testEtcd(),
    clusterName: uniqueName("threads"),
    dir: mkdtempSync(join(repoRoot, ".work", "threads-")),
    name: uniqueName("threads"),
  });
  cleanup(() => gw.proc.stop());
  const all = threads(gw.proc.pid);
  const workers = all.filter((t) => t.name === "V8Worker");
  assert.ok(workers.length > 0, `V8 worker threads: ${JSON.stringify(all)}`);
  assert.deepEqual(
    workers.map((t) => t.nice),
    workers.map(() => 19),
  );
  const given = getPriority();
  assert.deepEqual(
    all.filter((t) => t.name !== "V8Worker").map((t) => t.nice),
    all.filter((t) => t.name !== "V8Worker").map(() => given),
    "every other thread (the JavaScript thread, libuv's workers for the delivery log) as it was",
  );
  const started = readFileSync(gw.proc.log, "utf8")
    .split("\n")
    .find((l) => l.includes('"gateway started"'));
  assert.equal(
    (JSON.parse(started ?? "{}") as { v8WorkersAtNice19?: number }).v8WorkersAtNice19,
    workers.length,
  );
});
