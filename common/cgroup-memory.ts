// This process's memory as the kubelet and the OOM killer see it: the working set of its memory
// cgroup (usage minus inactive file pages) against the cgroup's limit. cgroup v2 (memory.current,
// memory.max) and v1 (memory.usage_in_bytes, memory.limit_in_bytes). Page cache that the kernel
// can drop (e.g. of the delivery log's files) is left out as the kubelet leaves it out, which is why
// this reads memory.stat rather than Node's process.availableMemory() (limit minus usage, cache included).
//
// Where the cgroup is: /proc/self/cgroup names it ("0::/path" for v2, "N:memory:/path" for v1),
// under the hierarchy's mount (/sys/fs/cgroup for v2, /sys/fs/cgroup/memory for v1). In a
// container with its own cgroup namespace the path is "/" and the mount's root is the container's
// cgroup; without one (v1 runtimes) the path names the host's hierarchy while the container's
// cgroup is mounted at the root, so the root is tried when the named directory is not there.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupMemory {
  /** The directory read. */
  readonly path: string;
  readonly limitBytes: number;
  /** Usage minus inactive file pages, in bytes; NaN if the files cannot be read (the cgroup went away). */
  workingSetBytes(): number;
  /** Usage, inactive file pages included (one small file; the working set is never more), in bytes; NaN if unreadable. */
  usageBytes(): number;
}

/** A value of a memory.stat-like file ("key value" lines); 0 when absent. */
export const statValue = (stat: string, key: string): number => {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(stat);
  return m?.[1] ? Number(m[1]) : 0;
};

/** Limits at or above this are "no limit" (v1 writes 2^63 rounded down to a page). */
const UNLIMITED = 2 ** 60;

/** A memory controller's files: its limit, its usage, and the memory.stat key of its inactive file pages. */
export interface MemoryFiles {
  readonly limit: string;
  readonly usage: string;
  readonly inactiveFile: string;
}

export const MEMORY_FILES: Readonly<Record<"v1" | "v2", MemoryFiles>> = {
  v1: { limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", inactiveFile: "total_inactive_file" },
  v2: { limit: "memory.max", usage: "memory.current", inactiveFile: "inactive_file" },
};

/** The working set of the memory cgroup at `dir` (usage minus inactive file pages), in bytes; NaN if its files cannot be read. */
export const workingSetOf = (dir: string, files: MemoryFiles): number => {
  const used = readOr(join(dir, files.usage));
  const stats = readOr(join(dir, "memory.stat"));
  if (used === undefined || stats === undefined) return Number.NaN;
  return Number(used) - statValue(stats, files.inactiveFile);
};

interface Layout extends MemoryFiles {
  readonly dirs: string[];
}

/** Where the memory cgroup of a process with this /proc/PID/cgroup may be, v1's controller before v2's unified hierarchy. */
const layouts = (procCgroup: string, root: string): Layout[] => {
  const found: Layout[] = [];
  for (const line of procCgroup.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    if (controllers?.split(",").includes("memory")) {
      const mount = join(root, "memory");
      found.unshift({ dirs: [join(mount, path), mount], ...MEMORY_FILES.v1 });
    } else if (controllers === "") {
      found.push({ dirs: [join(root, path), root], ...MEMORY_FILES.v2 });
    }
  }
  return found;
};

/**
 * This process's memory cgroup and its limit, or undefined where there is none, it has no limit,
 * or it cannot be read. `procCgroup` and `root` are for tests (defaults: /proc/self/cgroup, /sys/fs/cgroup).
 */
export const cgroupMemory = (
  procCgroup = readOr("/proc/self/cgroup"),
  root = "/sys/fs/cgroup",
): CgroupMemory | undefined => {
  for (const layout of layouts(procCgroup ?? "", root)) {
    for (const dir of layout.dirs) {
      const limitText = readOr(join(dir, layout.limit));
      if (limitText === undefined || !existsSync(join(dir, layout.usage))) continue;
      const limitBytes = Number(limitText.trim());
      // "max" (v2) or a v1 limit near 2^63: a cgroup without a limit.
      if (!Number.isFinite(limitBytes) || limitBytes <= 0 || limitBytes >= UNLIMITED) return undefined;
      const usage = join(dir, layout.usage);
      return {
        path: dir,
        limitBytes,
        workingSetBytes: () => workingSetOf(dir, layout),
        usageBytes: () => Number(readOr(usage) ?? Number.NaN),
      };
    }
  }
  return undefined;
};

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
