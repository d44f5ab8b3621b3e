// Removes everything a node made, found by what it is named or where it lives, so it works for
// the running node and for one whose process died: container processes (by their kubepods
// cgroups) and containerd's shims (by the node's socket in their command line), mounts under the
// node's directory and the pods' network namespaces, the kubepods cgroups, the bridge and its
// veths, the nft tables and KUBE-* iptables chains, files containerd and CNI keep outside the
// node's directory, and the kernel settings it changed.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { alive, run } from "../proc.ts";
import { BRIDGE, CNI_NETWORK, GUARD_TABLE } from "./network.ts";
import { restoreSysctls, type Sysctls } from "./sysctls.ts";

/** Where kubelet puts pod cgroups in every cgroup v1 hierarchy (cgroupfs driver). */
export const POD_CGROUP = "kubepods";
/** Network namespaces containerd makes for pod sandboxes. */
export const NETNS_DIR = "/run/netns";
const NETNS_PREFIX = "cni-";
/**
 * Directories outside the node's own that its programs write to whatever their configuration
 * says: containerd's shim sockets, the CNI library's cache, kubelet's device-plugin socket and
 * its links to container logs. Each one the machine did not have before goes whole; in one it
 * had, only the node's entries go.
 */
export const OUTSIDE: Readonly<Record<string, (dir: string, entry: string) => boolean>> = {
  "/run/containerd": () => false,
  "/var/lib/cni": () => false,
  "/var/lib/cni/results": (_, entry) => entry.startsWith(`${CNI_NETWORK}-`),
  "/var/lib/kubelet": () => false,
  "/var/log/containers": (dir, entry) => linksInto(join("/var/log/containers", entry), dir),
};

const linksInto = (path: string, dir: string): boolean => {
  try {
    return readlinkSync(path).startsWith(`${dir}/`);
  } catch {
    return false;
  }
};

/** What the machine had before the node started, to tell the node's leftovers from the rest. */
export interface HostBaseline {
  readonly sysctls: Sysctls;
  readonly netns: readonly string[];
  readonly nftTables: readonly string[];
  readonly paths: readonly string[];
}

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** `family name` of every nft table; empty when nft is missing. */
export const nftTables = async (): Promise<string[]> => {
  const out = await run("nft", ["list", "tables"]).catch(() => "");
  return out
    .split("\n")
    .map((l) => l.replace(/^table /, "").trim())
    .filter(Boolean)
    .sort();
};

/** Reads what teardown compares against; call it before the node changes anything. */
export const readBaseline = async (sysctls: Sysctls): Promise<HostBaseline> => ({
  sysctls,
  netns: list(NETNS_DIR).filter((n) => n.startsWith(NETNS_PREFIX)),
  nftTables: await nftTables(),
  paths: Object.keys(OUTSIDE).filter((p) => existsSync(p)),
});

/** The kubepods cgroup of every hierarchy that has one. */
export const cgroupRoots = (): string[] =>
  list("/sys/fs/cgroup")
    .map((c) => join("/sys/fs/cgroup", c, POD_CGROUP))
    .filter((d) => existsSync(d));

/** Every cgroup directory below `dir`, deepest first. */
const cgroupTree = (dir: string): string[] => {
  const below = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => cgroupTree(join(dir, e.name)));
  return [...below, dir];
};

const pidsIn = (dir: string): number[] =>
  cgroupTree(dir).flatMap((d) =>
    readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number),
  );

const cmdline = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};

/** Pids of processes whose command line names `dir` (containerd, its shims, the node's programs). */
export const processesUsing = (dir: string): number[] =>
  list("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid && cmdline(p).includes(dir))
    .map(Number);

const killAndWait = async (pids: readonly number[]): Promise<void> => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
};

/** A cgroup directory goes with rmdir once empty; right after its last process died it may still be busy. */
const removeCgroup = async (dir: string): Promise<void> => {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const busy = err instanceof Error && "code" in err && err.code === "EBUSY";
      if (!busy || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
};

/** Every mount point of the machine. */
export const mountPoints = (): string[] =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter(Boolean);

/** Mount points under `dir` and the pods' network namespaces not in `baseline`, deepest first. */
export const nodeMounts = (dir: string, baseline: readonly string[] = []): string[] =>
  mountPoints()
    .filter(
      (m) =>
        m.startsWith(`${dir}/`) ||
        (m.startsWith(`${NETNS_DIR}/${NETNS_PREFIX}`) && !baseline.includes(m.slice(NETNS_DIR.length + 1))),
    )
    .sort((a, b) => b.length - a.length);

const iptablesChains = async (cmd: string, table: string): Promise<string[]> =>
  (await run(cmd, ["-t", table, "-S"]).catch(() => "")).split("\n").filter(Boolean);

/** Deletes KUBE-* chains (and the rules jumping to them) that kubelet and kube-proxy add through iptables-nft. */
const removeKubeChains = async (): Promise<void> => {
  for (const cmd of ["iptables", "ip6tables"]) {
    for (const table of ["filter", "nat", "mangle"]) {
      const rules = await iptablesChains(cmd, table);
      for (const rule of rules.filter((r) => r.startsWith("-A ") && / -j KUBE-/.test(r))) {
        await run(cmd, ["-t", table, ...rule.replace(/^-A /, "-D ").split(" ")]).catch(() => {});
      }
      const chains = rules.filter((r) => r.startsWith("-N KUBE-")).map((r) => r.slice(3));
      for (const chain of chains) await run(cmd, ["-t", table, "-F", chain]).catch(() => {});
      for (const chain of chains) await run(cmd, ["-t", table, "-X", chain]);
    }
  }
};

const isEmptyTable = async (family: string, name: string): Promise<boolean> => {
  const listing = JSON.parse(await run("nft", ["-j", "list", "table", family, name])) as {
    nftables: Record<string, { hook?: string }>[];
  };
  return listing.nftables.every(
    (item) => !("rule" in item) && (!item.chain || item.chain.hook !== undefined),
  );
};

/** Deletes nft tables the node made: kube-proxy's, the guard, and iptables-nft tables that were not there before and are empty now. */
const removeTables = async (baseline: readonly string[]): Promise<void> => {
  for (const table of await nftTables()) {
    const [family = "", name = ""] = table.split(" ");
    const ours = table === "ip kube-proxy" || table === "ip6 kube-proxy" || table === `inet ${GUARD_TABLE}`;
    const iptablesMade =
      ["filter", "nat", "mangle"].includes(name) &&
      !baseline.includes(table) &&
      (await isEmptyTable(family, name));
    if (ours || iptablesMade) await run("nft", ["delete", "table", family, name]);
  }
};

const removeOutside = (dir: string, baseline: readonly string[]): void => {
  for (const [path, ours] of Object.entries(OUTSIDE)) {
    if (!baseline.includes(path)) rmSync(path, { recursive: true, force: true });
    else
      for (const entry of list(path).filter((e) => ours(dir, e)))
        rmSync(join(path, entry), { recursive: true });
  }
};

/** Tears down the node living in `dir`; every step runs even when one fails, then the failures are thrown together. */
export const teardownNode = async (dir: string, baseline: HostBaseline): Promise<void> => {
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await step("kill pod processes", () => killAndWait(cgroupRoots().flatMap(pidsIn)));
  await step("kill the node's processes", () => killAndWait(processesUsing(dir)));
  await step("unmount", async () => {
    for (const m of nodeMounts(dir, baseline.netns)) {
      await run("umount", [m]).catch(() => run("umount", ["-l", m]));
    }
  });
  await step("remove network namespaces", () => {
    for (const n of list(NETNS_DIR).filter(
      (n) => n.startsWith(NETNS_PREFIX) && !baseline.netns.includes(n),
    )) {
      rmSync(join(NETNS_DIR, n), { force: true });
    }
  });
  await step("remove cgroups", async () => {
    for (const root of cgroupRoots()) for (const d of cgroupTree(root)) await removeCgroup(d);
  });
  await step("remove the bridge and its veths", async () => {
    const ports = await run("ip", ["-o", "link", "show", "master", BRIDGE]).catch(() => "");
    for (const m of ports.matchAll(/^\d+: ([^@:]+)/gm))
      await run("ip", ["link", "del", m[1] ?? ""]).catch(() => {});
    if (existsSync(`/sys/class/net/${BRIDGE}`)) await run("ip", ["link", "del", BRIDGE]);
  });
  await step("remove KUBE-* iptables chains", removeKubeChains);
  await step("remove nft tables", () => removeTables(baseline.nftTables));
  await step("remove files outside the node directory", () => removeOutside(dir, baseline.paths));
  await step("restore sysctls", () => {
    restoreSysctls(baseline.sysctls);
  });
  if (failures.length > 0) throw new Error(`node teardown incomplete:\n  ${failures.join("\n  ")}`);
};
