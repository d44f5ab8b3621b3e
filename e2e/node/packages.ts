// Debian packages the local node needs (containerd, runc, the CNI plugins, nftables …), installed
// with apt-get only when missing, so a fresh machine gets them and a prepared one pays nothing.
import { spawnSync } from "node:child_process";
import { run } from "../proc.ts";

/** What a node runs on: the container runtime, the CNI plugins and the packet-filter tools. */
export const NODE_PACKAGES = [
  "containerd",
  "runc",
  "containernetworking-plugins",
  "nftables",
  "iptables",
  "conntrack",
] as const;

const installed = (pkg: string): boolean => {
  const res = spawnSync("dpkg", ["--status", pkg], { encoding: "utf8" });
  return res.status === 0 && res.stdout.includes("Status: install ok installed");
};

/** Installs the packages that are not installed yet (apt-get update first); returns those it installed. Throws apt-get's error. */
export const ensurePackages = async (packages: readonly string[]): Promise<string[]> => {
  const missing = packages.filter((p) => !installed(p));
  if (missing.length === 0) return [];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], { env });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  return missing;
};
