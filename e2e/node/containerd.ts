// containerd as the node's container runtime, started by us (these machines have no systemd) with
// its own configuration, root, state and socket under the node's directory, the CRI plugin on
// cgroupfs, and `restrict_oom_score_adj` (root here lacks CAP_SYS_RESOURCE: without it every
// sandbox fails with runc's "can't get final child's PID from pipe: EOF").
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GiveUp, type Proc, run, start, waitFor } from "../proc.ts";

export interface Containerd {
  readonly proc: Proc;
  /** The CRI endpoint for kubelet: `unix://…/containerd.sock`. */
  readonly endpoint: string;
  readonly socket: string;
  /** Imports an OCI image-layout tarball into the `k8s.io` namespace (what the CRI sees). Throws ctr's error. */
  importImage(tarball: string): Promise<void>;
}

export interface ContainerdOptions {
  /** Where root, state, socket, config and log go. */
  readonly dir: string;
  readonly sandboxImage: string;
  readonly cniConfDir: string;
}

const config = ({ dir, sandboxImage, cniConfDir }: ContainerdOptions, socket: string): string => `version = 2
root = "${join(dir, "root")}"
state = "${join(dir, "state")}"

[grpc]
  address = "${socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, "opt")}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${join(dir, "runc")}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
`;

/** Starts containerd and waits until its socket answers; throws with its log when it exits first. */
export const startContainerd = async (options: ContainerdOptions): Promise<Containerd> => {
  const { dir } = options;
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "containerd.sock");
  const configPath = join(dir, "config.toml");
  writeFileSync(configPath, config(options, socket));
  const proc = start({
    name: "containerd",
    command: "containerd",
    args: ["--config", configPath],
    log: join(dir, "containerd.log"),
  });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const ctr = (args: readonly string[]) => run("ctr", ["--address", socket, ...args]);
  await waitFor(
    "containerd to answer on its socket",
    async () => {
      if (exited) throw new GiveUp(`containerd exited:\n${proc.tail()}`);
      await ctr(["version"]);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return {
    proc,
    socket,
    endpoint: `unix://${socket}`,
    importImage: async (tarball) => {
      await ctr(["--namespace", "k8s.io", "images", "import", tarball]);
    },
  };
};
