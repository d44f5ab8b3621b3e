import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cgroupMemory } from "./cgroup-memory.ts";

/** A cgroup filesystem root with `files` (path → content) written under it. */
const root = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "cgroup-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
};

const V2_STAT = "anon 40000000\nfile 9000000\nactive_file 2000000\ninactive_file 7000000\n";
const V1_STAT =
  "cache 9000000\nrss 40000000\ninactive_file 1\ntotal_rss 40000000\ntotal_inactive_file 7000000\n";

test("cgroup v2: the named cgroup's limit, and its usage less inactive file pages", () => {
  const dir = root({
    "kubepods/pod1/c1/memory.max": "134217728\n",
    "kubepods/pod1/c1/memory.current": "52000000\n",
    "kubepods/pod1/c1/memory.stat": V2_STAT,
  });
  const memory = cgroupMemory("0::/kubepods/pod1/c1\n", dir);
  assert.equal(memory?.path, join(dir, "kubepods/pod1/c1"));
  assert.equal(memory?.limitBytes, 134217728);
  assert.equal(memory?.workingSetBytes(), 52000000 - 7000000);
  assert.equal(memory?.usageBytes(), 52000000);
});

test("cgroup v2 in a container's own namespace: the mount's root", () => {
  const dir = root({ "memory.max": "201326592", "memory.current": "1000", "memory.stat": V2_STAT });
  assert.equal(cgroupMemory("0::/\n", dir)?.limitBytes, 201326592);
});

test("cgroup v1: the memory controller's line, total_inactive_file; the mount's root when the named path is the host's", () => {
  const dir = root({
    "memory/memory.limit_in_bytes": "134217728",
    "memory/memory.usage_in_bytes": "50000000",
    "memory/memory.stat": V1_STAT,
  });
  const procCgroup = "12:pids:/docker/abc\n4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n";
  const memory = cgroupMemory(procCgroup, dir);
  assert.equal(memory?.path, join(dir, "memory"));
  assert.equal(memory?.limitBytes, 134217728);
  assert.equal(memory?.workingSetBytes(), 50000000 - 7000000);
});

test("no limit, no memory controller or nothing readable: none", () => {
  const unlimitedV1 = root({
    "memory/memory.limit_in_bytes": "9223372036854771712",
    "memory/memory.usage_in_bytes": "1",
  });
  assert.equal(cgroupMemory("4:memory:/\n0::/\n", unlimitedV1), undefined);
  const unlimitedV2 = root({ "memory.max": "max\n", "memory.current": "1" });
  assert.equal(cgroupMemory("0::/\n", unlimitedV2), undefined);
  assert.equal(cgroupMemory("3:cpu:/\n", unlimitedV2), undefined);
  assert.equal(cgroupMemory("0::/\n", root({})), undefined);
});

test("a cgroup whose files went away reads NaN, not a number to act on", () => {
  const dir = root({ "memory.max": "134217728", "memory.current": "5", "memory.stat": V2_STAT });
  const memory = cgroupMemory("0::/\n", dir);
  rmSync(join(dir, "memory.current"));
  assert.ok(Number.isNaN(memory?.workingSetBytes()));
  assert.ok(Number.isNaN(memory?.usageBytes()));
});
