// Locates the control-plane and node binaries that scripts/bootstrap.sh builds into its cache.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

export type Tool =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kubectl"
  | "helm"
  | "kubelet"
  | "kube-proxy"
  | "kube-scheduler"
  | "coredns"
  | "nats-server"
  | "pause";

let cached: string | undefined;

/** The cache directory holding the bootstrap's binaries (it may not be built yet). */
export const toolsBinDir = (): string => {
  cached ??= execFileSync("bash", [join(repoRoot, "scripts/bootstrap.sh"), "--print"], {
    encoding: "utf8",
  }).trim();
  return cached;
};

/** The absolute path of a bootstrap-built tool; throws naming the command to run when it is missing. */
export const toolPath = (tool: Tool): string => {
  const path = join(toolsBinDir(), tool);
  if (!existsSync(path)) {
    throw new Error(`${tool} is not built yet (looked in ${dirname(path)}); run: npm run bootstrap`);
  }
  return path;
};
