// Kernel settings a node changes: kubelet sets the overcommit and panic ones, the CNI bridge
// plugin (as the pods' gateway) turns on IP forwarding, kube-proxy may touch conntrack. Their
// values are read before the node starts and written back when it stops.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** The settings a node may change, as /proc/sys paths relative to /proc/sys. */
export const NODE_SYSCTLS = [
  "net/ipv4/ip_forward",
  "net/ipv4/conf/all/forwarding",
  "net/ipv4/conf/all/route_localnet",
  "net/bridge/bridge-nf-call-iptables",
  "net/bridge/bridge-nf-call-ip6tables",
  "net/netfilter/nf_conntrack_max",
  "net/netfilter/nf_conntrack_tcp_timeout_established",
  "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
  "net/netfilter/nf_conntrack_tcp_be_liberal",
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
] as const;

export type Sysctls = Record<string, string>;

/** The current values of `keys` (those the kernel has), keyed by their /proc/sys path. */
export const readSysctls = (keys: readonly string[] = NODE_SYSCTLS): Sysctls => {
  const values: Sysctls = {};
  for (const key of keys) {
    const path = `/proc/sys/${key}`;
    if (existsSync(path)) values[key] = readFileSync(path, "utf8").trim();
  }
  return values;
};

/** Writes back every value in `saved` that differs now; returns the keys it restored. Throws the first write error after trying all. */
export const restoreSysctls = (saved: Sysctls): string[] => {
  const restored: string[] = [];
  const failures: string[] = [];
  for (const [key, value] of Object.entries(saved)) {
    const path = `/proc/sys/${key}`;
    try {
      if (readFileSync(path, "utf8").trim() === value) continue;
      writeFileSync(path, value);
      restored.push(key);
    } catch (err) {
      failures.push(`${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(`could not restore sysctls: ${failures.join("; ")}`);
  return restored;
};
