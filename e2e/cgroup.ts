// Memory cgroups for benchmark subjects, as a pod has: each subject is started inside a cgroup of
// its own with a memory limit, and its working set (usage minus inactive file pages, what the
// kubelet evicts and the OOM killer judges by), peak and OOM kills are read from it. cgroup v1
// (the memory controller at /sys/fs/cgroup/memory, as on these machines) and v2 (unified).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MEMORY_FILES, statValue, workingSetOf } from "../common/cgroup-memory.ts";

const V1 = "/sys/fs/cgroup/memory";
const V2 = "/sys/fs/cgroup";

export interface MemoryCgroup {
  readonly path: string;
  /** A command prefix that moves the process into the cgroup, then execs the rest. */
  readonly prefix: string[];
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

/** Creates the memory cgroup `name` limited to `limitBytes` (none when ≤ 0); throws when the machine cannot. */
export const memoryCgroup = (name: string, limitBytes: number): MemoryCgroup => {
  const v1 = existsSync(join(V1, MEMORY_FILES.v1.limit));
  const files = v1 ? MEMORY_FILES.v1 : MEMORY_FILES.v2;
  const path = join(v1 ? V1 : V2, `switchboard-bench-${name}`);
  // One left by a run that died keeps its counters (OOM kills, peak): start from a new one. It
  // cannot be removed while a process of that run is still in it (EBUSY): then this throws.
  if (existsSync(path)) rmdirSync(path);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, files.limit), limitBytes > 0 ? String(limitBytes) : v1 ? "-1" : "max");
  if (v1) writeFileSync(join(path, "memory.max_usage_in_bytes"), "0");
  const prefix = ["sh", "-c", `echo $$ > ${join(path, "cgroup.procs")} && exec "$@"`, "sh"];
  return {
    path,
    prefix,
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
      try {
        rmdirSync(path);
      } catch {
        // Still has a process (it is stopped first), or already gone.
      }
    },
  };
};
