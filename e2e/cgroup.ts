// Memory cgroups for benchmark subjects, as a pod has: each subject is started inside a cgroup of
// its own with a memory limit, and its working set (usage minus inactive file pages, what the
// kubelet evicts and the OOM killer judges by), peak and OOM kills are read from it. cgroup v1
// (the memory controller at /sys/fs/cgroup/memory, as on these machines) and v2 (unified).
// Subjects that share a core can each have a CPU group of their own too (as containers have), so
// that the scheduler shares the core between them equally, not between their threads.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MEMORY_FILES, statValue, workingSetOf } from "../common/cgroup-memory.ts";

const V1 = "/sys/fs/cgroup/memory";
const V1_CPU = "/sys/fs/cgroup/cpu";
const V2 = "/sys/fs/cgroup";

export interface MemoryCgroup {
  readonly path: string;
  /** A command prefix that moves the process into the cgroup, then execs the rest. */
  readonly prefix: string[];
  /** Whether the process has a CPU group of its own with the default weight (asked for with `ownCpu`, and the machine has a CPU controller). */
  readonly ownCpu: boolean;
  /** Usage minus inactive file pages, in MiB. */
  workingSetMb(): number;
  /** The highest usage since creation, in MiB (v1: max_usage_in_bytes; v2: memory.peak where the kernel has it). */
  peakMb(): number;
  /** OOM kills inside the cgroup. */
  oomKills(): number;
  /** What the usage is made of: anonymous memory and file pages (MiB), and major page faults so far. */
  breakdown(): { anonMb: number; fileMb: number; majorFaults: number };
  /** Removes the cgroup (its processes must have exited); never throws. */
  remove(): void;
}

const read = (file: string): string => readFileSync(file, "utf8");
const mb = (bytes: number): number => bytes / 2 ** 20;

/** Whether this machine lets the benchmark create memory cgroups (root, a memory controller). */
export const cgroupsAvailable = (): boolean =>
  (existsSync(join(V1, "memory.limit_in_bytes")) || existsSync(join(V2, "cgroup.controllers"))) &&
  process.getuid?.() === 0;

/**
 * A CPU group for `name` with the default weight: v1, a directory of its own under the cpu
 * controller (its path); v2, the memory cgroup's directory once the cpu controller is enabled for
 * the root's children (undefined: nothing more to join). False when the machine has no CPU
 * controller to give.
 */
const cpuGroup = (name: string, v1: boolean): string | undefined | false => {
  if (!v1) {
    try {
      const control = join(V2, "cgroup.subtree_control");
      if (!read(control).split(/\s+/).includes("cpu")) writeFileSync(control, "+cpu");
      return undefined;
    } catch {
      return false;
    }
  }
  if (!existsSync(join(V1_CPU, "cpu.shares"))) return false;
  const path = join(V1_CPU, `switchboard-bench-${name}`);
  if (existsSync(path)) rmdirSync(path);
  mkdirSync(path);
  return path;
};

/**
 * Creates the memory cgroup `name` limited to `limitBytes` (none when ≤ 0), and with `ownCpu` a CPU
 * group of its own where the machine has a CPU controller; throws when the machine cannot.
 */
export const memoryCgroup = (name: string, limitBytes: number, { ownCpu = false } = {}): MemoryCgroup => {
  const v1 = existsSync(join(V1, MEMORY_FILES.v1.limit));
  const files = v1 ? MEMORY_FILES.v1 : MEMORY_FILES.v2;
  const path = join(v1 ? V1 : V2, `switchboard-bench-${name}`);
  // One left by a run that died keeps its counters (OOM kills, peak): start from a new one. It
  // cannot be removed while a process of that run is still in it (EBUSY): then this throws.
  if (existsSync(path)) rmdirSync(path);
  const cpu = ownCpu ? cpuGroup(name, v1) : false;
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, files.limit), limitBytes > 0 ? String(limitBytes) : v1 ? "-1" : "max");
  if (v1) writeFileSync(join(path, "memory.max_usage_in_bytes"), "0");
  const joins = [path, ...(typeof cpu === "string" ? [cpu] : [])]
    .map((dir) => `echo $$ > ${join(dir, "cgroup.procs")}`)
    .join(" && ");
  const prefix = ["sh", "-c", `${joins} && exec "$@"`, "sh"];
  return {
    path,
    prefix,
    ownCpu: cpu !== false,
    workingSetMb: () => {
      const bytes = workingSetOf(path, files);
      if (Number.isNaN(bytes)) throw new Error(`the memory cgroup ${path} cannot be read`);
      return mb(bytes);
    },
    peakMb: () => {
      if (v1) return mb(Number(read(join(path, "memory.max_usage_in_bytes"))));
      return existsSync(join(path, "memory.peak")) ? mb(Number(read(join(path, "memory.peak")))) : Number.NaN;
    },
    breakdown: () => {
      const stat = read(join(path, "memory.stat"));
      return v1
        ? {
            anonMb: mb(statValue(stat, "total_rss")),
            fileMb: mb(statValue(stat, "total_cache")),
            majorFaults: statValue(stat, "total_pgmajfault"),
          }
        : {
            anonMb: mb(statValue(stat, "anon")),
            fileMb: mb(statValue(stat, "file")),
            majorFaults: statValue(stat, "pgmajfault"),
          };
    },
    oomKills: () =>
      v1
        ? statValue(read(join(path, "memory.oom_control")), "oom_kill")
        : statValue(read(join(path, "memory.events")), "oom_kill"),
    remove: () => {
      for (const dir of [path, ...(typeof cpu === "string" ? [cpu] : [])])
        try {
          rmdirSync(dir);
        } catch {
          // Still has a process (it is stopped first), or already gone.
        }
    },
  };
};
