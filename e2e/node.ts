// One real node for the local control plane: containerd (CRI, cgroupfs) with pods on a bridge of
// its own, kubelet, kube-proxy (nftables), kube-scheduler and CoreDNS, so Deployments schedule,
// pods run real images, Services resolve and route. Needs root; one node per machine at a time
// (a lock under /run says who has it). `stop()` — also run on SIGINT/SIGTERM — removes everything
// the node made and restores the kernel settings it changed (see e2e/node/teardown.ts).
//
// As a library: `const node = await startNode(cluster)` … `await node.stop()`; usually through
// `startCluster({ node: true })` or `node e2e/cluster.ts up --node`.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../common/errors.ts";
import { DNS_IP, NODE_IP, POD_CIDR, SERVICE_RANGE } from "./addresses.ts";
import type { Cluster } from "./cluster.ts";
import {
  COREDNS_READY,
  type ComponentOptions,
  PROXY_HEALTHZ,
  startCoreDns,
  startKubeProxy,
  startScheduler,
} from "./node/components.ts";
import { type Containerd, startContainerd } from "./node/containerd.ts";
import { type Forwarder, forwardTcp } from "./node/forward.ts";
import { type ImageSpec, writeImageTarball } from "./node/image.ts";
import { KUBELET_HEALTHZ_PORT, startKubelet } from "./node/kubelet.ts";
import { acquireNodeLock, recordBaseline, releaseNodeLock } from "./node/lock.ts";
import { createBridge, installGuard, writeCniConfig } from "./node/network.ts";
import { nodeObjects } from "./node/objects.ts";
import { ensurePackages, NODE_PACKAGES } from "./node/packages.ts";
import { readSysctls } from "./node/sysctls.ts";
import { type HostBaseline, readBaseline, teardownNode } from "./node/teardown.ts";
import { GiveUp, type Proc, waitFor } from "./proc.ts";
import { toolPath } from "./tools.ts";

export const NODE_NAME = "switchboard-node";
/** The pod sandbox image, built from the bootstrap's pause program and imported at start. */
export const PAUSE_IMAGE = "localhost/switchboard/pause:v1.34.4";

/** What `cluster.json` says about a cluster's node. */
export interface NodeInfo {
  readonly name: string;
  readonly ip: string;
  readonly podCidr: string;
  readonly dnsIp: string;
  readonly dir: string;
}

export interface LocalNode extends NodeInfo {
  /** Builds `spec` as an OCI image and imports it into the node's containerd (pods use it with `imagePullPolicy: Never`). */
  importImage(spec: ImageSpec): Promise<void>;
  /** Imports an OCI image archive (e.g. `npm run image`'s) into the node's containerd, under the name it carries. Throws ctr's error. */
  importArchive(file: string): Promise<void>;
  /** Stops every process of the node and removes everything it made; idempotent. Throws what it could not remove. */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** Directory for the node's state and logs; `<cluster dir>/node` when absent. */
  dir?: string;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

const apiserverPort = (url: string): number => Number(new URL(url).port);

/** Starts a node registered to `cluster` and waits until it is Ready and schedulable, kube-proxy is healthy and CoreDNS is ready. Throws NodeBusyError when another node runs. */
export const startNode = async (cluster: Cluster, { dir }: StartNodeOptions = {}): Promise<LocalNode> => {
  if (process.getuid?.() !== 0)
    throw new Error("a local node needs root (it runs containerd, kubelet and kube-proxy)");
  const root = dir ?? join(cluster.dir, "node");
  mkdirSync(root, { recursive: true });
  const stale = acquireNodeLock(root);
  if (stale?.baseline) await teardownNode(stale.dir, stale.baseline);
  const procs: Proc[] = [];
  const exits: string[] = [];
  const keep = (proc: Proc): void => {
    procs.push(proc);
    void proc.exited.then((code) => exits.push(`${proc.name} exited (${code}):\n${proc.tail()}`));
  };
  let forwarder: Forwarder | undefined;
  let containerd: Containerd | undefined;
  let baseline: HostBaseline | undefined;
  let stopping: Promise<void> | undefined;
  const handlers = new Map<NodeJS.Signals, () => void>();

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      for (const proc of procs.reverse()) await proc.stop();
      await forwarder?.close();
      await containerd?.proc.stop();
      if (baseline) await teardownNode(root, baseline);
      // After an incomplete teardown the lock stays: once this process ends, the next node
      // finds it stale and cleans up with the recorded baseline.
      releaseNodeLock();
    })();
    return stopping;
  };
  for (const [signal, number] of Object.entries(SIGNALS)) {
    const handler = (): void => {
      // Alone with proc.ts's handler: nobody else will end the process after the teardown.
      const alone = process.listenerCount(signal) <= 2;
      stop()
        .catch((err: unknown) => process.stderr.write(`${errorMessage(err)}\n`))
        .finally(() => {
          if (alone) process.exit(128 + number);
        });
    };
    handlers.set(signal as NodeJS.Signals, handler);
    process.on(signal, handler);
  }

  try {
    await ensurePackages(NODE_PACKAGES);
    baseline = await readBaseline(readSysctls());
    recordBaseline(root, baseline);
    await createBridge(SERVICE_RANGE);
    await installGuard();
    const cniConfDir = join(root, "cni", "net.d");
    writeCniConfig(cniConfDir, join(root, "cni", "ipam"));
    containerd = await startContainerd({
      dir: join(root, "containerd"),
      sandboxImage: PAUSE_IMAGE,
      cniConfDir,
    });
    const runtime = containerd;
    const importImage = async (spec: ImageSpec): Promise<void> => {
      const images = join(root, "images");
      mkdirSync(images, { recursive: true });
      const file = spec.name.replace(/[^a-z0-9.-]+/gi, "_");
      await runtime.importImage(await writeImageTarball(spec, join(images, `${file}.tar`)));
    };
    await importImage({ name: PAUSE_IMAGE, files: { pause: toolPath("pause") }, entrypoint: ["/pause"] });

    const port = apiserverPort(cluster.apiserver);
    await cluster.kubectl(
      ["apply", "-f", "-"],
      nodeObjects({ nodeIp: NODE_IP, apiserverPort: port, dnsIp: DNS_IP }),
    );
    forwarder = await forwardTcp(NODE_IP, port, port);

    const ca = { cert: cluster.caCert, key: cluster.caKey };
    const component: ComponentOptions = { dir: join(root, "components"), apiserver: cluster.apiserver, ca };
    keep(await startScheduler(component));
    keep(await startCoreDns(component, NODE_IP));
    keep(
      await startKubelet({
        dir: join(root, "kubelet"),
        nodeName: NODE_NAME,
        nodeIp: NODE_IP,
        apiserver: cluster.apiserver,
        ca,
        runtimeEndpoint: runtime.endpoint,
        clusterDns: DNS_IP,
      }),
    );
    keep(await startKubeProxy(component, { nodeName: NODE_NAME, podCidr: POD_CIDR, nodeIp: NODE_IP }));

    await waitNodeSchedulable(cluster, exits);
    await waitHealthy(exits, `http://127.0.0.1:${KUBELET_HEALTHZ_PORT}/healthz`, "kubelet");
    await waitHealthy(exits, `http://${PROXY_HEALTHZ}/healthz`, "kube-proxy");
    await waitHealthy(exits, COREDNS_READY, "coredns");
    const importArchive = (file: string): Promise<void> => runtime.importImage(file);
    return {
      name: NODE_NAME,
      ip: NODE_IP,
      podCidr: POD_CIDR,
      dnsIp: DNS_IP,
      dir: root,
      importImage,
      importArchive,
      stop,
    };
  } catch (err) {
    await stop().catch((teardown: unknown) => {
      throw new AggregateError([err, teardown], "the node failed to start and its teardown was incomplete");
    });
    throw err;
  }
};

const failIfExited = (exits: readonly string[]): void => {
  if (exits.length > 0) throw new GiveUp(exits.join("\n"));
};

const waitNodeSchedulable = (cluster: Cluster, exits: readonly string[]): Promise<true> =>
  waitFor(
    `node ${NODE_NAME} to be Ready without the not-ready taint`,
    async () => {
      failIfExited(exits);
      const out = await cluster.kubectl([
        "get",
        "node",
        NODE_NAME,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}',
      ]);
      const [ready, ...taints] = out.trim().split(" ");
      return ready === "True" && !taints.includes("node.kubernetes.io/not-ready") ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );

const waitHealthy = (exits: readonly string[], url: string, what: string): Promise<true> =>
  waitFor(
    `${what} (${url})`,
    async () => {
      failIfExited(exits);
      return (await fetch(url)).ok ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
