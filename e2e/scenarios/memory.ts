// Memory of a container on the local node, read from its memory cgroup (cgroup v1, the kubelet's
// cgroupfs layout: /sys/fs/cgroup/memory/kubepods[/<qos>]/pod<uid>/<container id>). The working
// set is what the kubelet reports and evicts on: usage minus inactive file pages.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const CGROUP_MEMORY = "/sys/fs/cgroup/memory";

/** What the kubelet needs to find a container's cgroup: the pod's uid and QoS class, the container's id. */
export interface ContainerRef {
  readonly podUid: string;
  /** status.qosClass: Guaranteed, Burstable or BestEffort. */
  readonly qosClass: string;
  /** status.containerStatuses[].containerID, e.g. `containerd://0ca0…`. */
  readonly containerId: string;
}

export interface MemoryReading {
  /** usage_in_bytes − total_inactive_file. */
  readonly workingSet: number;
  readonly usage: number;
  /** The highest usage since the cgroup was made (memory.max_usage_in_bytes, page cache included). */
  readonly maxUsage: number;
  readonly limit: number;
  /** How often the limit was hit (memory.failcnt); reclaim, not necessarily an OOM kill. */
  readonly failcnt: number;
}

/** The container's cgroup directory. */
export const cgroupDir = ({ podUid, qosClass, containerId }: ContainerRef): string => {
  const qos = qosClass === "Guaranteed" ? [] : [qosClass.toLowerCase()];
  const id = containerId.slice(containerId.indexOf("://") + 3);
  return join(CGROUP_MEMORY, "kubepods", ...qos, `pod${podUid}`, id);
};

const number = (dir: string, file: string): number => Number(readFileSync(join(dir, file), "utf8").trim());

/** Reads the container's memory now; throws ENOENT when the container (or its cgroup) is gone. */
export const readMemory = (ref: ContainerRef): MemoryReading => {
  const dir = cgroupDir(ref);
  const stat = readFileSync(join(dir, "memory.stat"), "utf8");
  const inactive = Number(/^total_inactive_file (\d+)$/m.exec(stat)?.[1] ?? "0");
  const usage = number(dir, "memory.usage_in_bytes");
  return {
    workingSet: Math.max(0, usage - inactive),
    usage,
    maxUsage: number(dir, "memory.max_usage_in_bytes"),
    limit: number(dir, "memory.limit_in_bytes"),
    failcnt: number(dir, "memory.failcnt"),
  };
};

/** Mebibytes, one decimal. */
export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Samples `ref` every `intervalMs` until stopped; `stop()` returns the highest working set seen and the last reading. */
export const sampleMemory = (
  ref: ContainerRef,
  intervalMs = 250,
): { stop: () => { peakWorkingSet: number; last: MemoryReading } } => {
  let last = readMemory(ref);
  let peak = last.workingSet;
  const timer = setInterval(() => {
    try {
      last = readMemory(ref);
      peak = Math.max(peak, last.workingSet);
    } catch {
      // The container is gone (an OOM kill shows in its restart count and lastState).
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakWorkingSet: peak, last };
    },
  };
};
