// The benchmarks' cgroups on this machine: a subject started with a cgroup's prefix runs in its
// memory cgroup under its limit and, when asked, in a CPU group of its own (bench/sync-hop.ts's
// shared core rests on it); remove() takes both away once the subject has exited.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { cgroupsAvailable, memoryCgroup } from "./cgroup.ts";
import { waitFor } from "./proc.ts";

const CPU_SHARES = "/sys/fs/cgroup/cpu/cpu.shares";

/** The cgroup paths of process `pid`, by controller ("memory", "cpu,cpuacct"; "" under v2). */
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

test("a subject started with the prefix is in its memory cgroup and its own CPU group; remove takes both away", {
  skip: cgroupsAvailable() ? false : "needs root and a memory cgroup controller",
}, async () => {
  const name = `cgroup-test-${process.pid}`;
  const group = memoryCgroup(name, 64 * 2 ** 20, { ownCpu: true });
  const [command = "sh", ...args] = group.prefix;
  const child = spawn(command, [...args, "sleep", "60"], { stdio: "ignore" });
  try {
    await once(child, "spawn");
    const expected = `/switchboard-bench-${name}`;
    // The prefix's shell joins the groups, then execs sleep in the same process.
    const paths = await waitFor("the subject in its cgroup", async () => {
      const now = cgroupsOf(child.pid as number);
      return [...now.values()].includes(expected) ? now : undefined;
    });
    const v1 = paths.has("memory") || [...paths.keys()].some((c) => c.split(",").includes("memory"));
    const byController = (controller: string) =>
      [...paths].find(([c]) => c.split(",").includes(controller))?.[1];
    if (v1) {
      assert.equal(byController("memory"), expected);
      // Machines of this kind have the cpu controller (v1): the subject has its own CPU group.
      assert.equal(group.ownCpu, existsSync(CPU_SHARES));
      if (group.ownCpu) assert.equal(byController("cpu"), expected);
    } else assert.equal(paths.get(""), expected);
    assert.ok(group.workingSetMb() > 0);
  } finally {
    child.kill("SIGKILL");
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  }
  group.remove();
  assert.equal(existsSync(group.path), false);
  if (existsSync(CPU_SHARES)) assert.equal(existsSync(`/sys/fs/cgroup/cpu/switchboard-bench-${name}`), false);
});
