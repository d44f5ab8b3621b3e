// The benchmarks' memory cgroups on this machine: a subject started with a cgroup's prefix runs
// in it, under its limit, and its working set is read from it; remove() takes the cgroup away once
// the subject has exited.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { cgroupsAvailable, memoryCgroup } from "./cgroup.ts";
import { waitFor } from "./proc.ts";

/** The cgroup paths of process `pid`, by controllers ("memory", "cpu,cpuacct"; "" under v2). */
const cgroupsOf = (pid: number): Map<string, string> =>
  new Map(
    readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const [, controllers = "", path = ""] = line.split(":");
        return [controllers, path] as const;
      }),
  );

test("a subject started with the prefix is in its memory cgroup under its limit; remove takes the cgroup away", {
  skip: cgroupsAvailable() ? false : "needs root and a memory cgroup controller",
}, async () => {
  const name = `cgroup-test-${process.pid}`;
  const group = memoryCgroup(name, 64 * 2 ** 20);
  const [command = "sh", ...args] = group.prefix;
  const child = spawn(command, [...args, "sleep", "60"], { stdio: "ignore" });
  try {
    await once(child, "spawn");
    const expected = `/switchboard-bench-${name}`;
    // The prefix's shell joins the cgroup, then execs sleep in the same process.
    const paths = await waitFor("the subject in its cgroup", async () => {
      const now = cgroupsOf(child.pid as number);
      return [...now.values()].includes(expected) ? now : undefined;
    });
    const memory = [...paths].find(([c]) => c.split(",").includes("memory"))?.[1];
    assert.equal(memory ?? paths.get(""), expected);
    const limit = ["memory.limit_in_bytes", "memory.max"]
      .map((file) => `${group.path}/${file}`)
      .find((file) => existsSync(file));
    assert.equal(Number(readFileSync(limit ?? "", "utf8")), 64 * 2 ** 20);
    assert.ok(group.workingSetMb() > 0);
  } finally {
    child.kill("SIGKILL");
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  }
  group.remove();
  assert.equal(existsSync(group.path), false);
});
