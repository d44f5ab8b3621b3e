// Simulated pods: a real HTTP server process inside its own network namespace, made visible to
// the API server as a Pod on a Node that exists only as an object (there is no kubelet). With a
// Service selecting its labels, the controller-manager publishes its address in EndpointSlices.
import { join } from "node:path";
import { ApiException, CoreV1Api, type V1PodStatus } from "@kubernetes/client-node";
import type { Cluster } from "./cluster.ts";
import { createNetHost, type NetHost } from "./netns.ts";
import { GiveUp, type Proc, start, waitFor } from "./proc.ts";
import { repoRoot } from "./tools.ts";

export const SIM_NODE = "switchboard-sim";

export interface PodOptions {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Port the server listens on inside the namespace. */
  port?: number;
  /** The server's script, run with this Node; the echo server when absent. */
  script?: string;
  env?: Record<string, string>;
  /** Whether the Pod starts Ready (default true). */
  ready?: boolean;
}

export interface SimulatedPod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  /** `http://IP:PORT`, reachable from the root namespace. */
  readonly url: string;
  readonly proc: Proc;
  readonly host: NetHost;
  /** Sets the Pod's Ready condition (what a failing readiness probe does). */
  setReady(ready: boolean): Promise<void>;
  /** Deletes the Pod object, stops the server and removes the network namespace. */
  stop(): Promise<void>;
}

const isStatus = (err: unknown, code: number): boolean => err instanceof ApiException && err.code === code;

/** Creates the simulated Node once per cluster; later calls find it. */
export const ensureSimNode = async (core: CoreV1Api): Promise<void> => {
  try {
    await core.createNode({
      body: { metadata: { name: SIM_NODE, labels: { "switchboard.dev/simulated": "true" } } },
    });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
};

const podStatus = (ip: string, ready: boolean, hostIP: string): V1PodStatus => {
  const now = new Date();
  const state = ready ? "True" : "False";
  return {
    phase: "Running",
    podIP: ip,
    podIPs: [{ ip }],
    hostIP,
    startTime: now,
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: now },
      { type: "Initialized", status: "True", lastTransitionTime: now },
      { type: "ContainersReady", status: state, lastTransitionTime: now },
      { type: "Ready", status: state, lastTransitionTime: now },
    ],
  };
};

/** Waits until the controller-manager has created `namespace`'s default ServiceAccount: Pods are admitted only then. */
export const waitForDefaultServiceAccount = async (cluster: Cluster, namespace: string): Promise<void> => {
  await cluster.kubectl(["wait", "--for=create", "serviceaccount/default", "-n", namespace, "--timeout=60s"]);
};

/** Starts a server in a new network namespace, waits until it answers at its pod address, then creates its Pod. */
export const startPod = async (cluster: Cluster, opts: PodOptions): Promise<SimulatedPod> => {
  const { namespace, name, labels = {}, port = 8080, env = {}, ready = true } = opts;
  const script = opts.script ?? join(repoRoot, "e2e/fixtures/echo-server.ts");
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  await ensureSimNode(core);
  await waitForDefaultServiceAccount(cluster, namespace);
  const host = await createNetHost();
  let proc: Proc | undefined;
  try {
    const [ipCmd, ...ipArgs] = host.exec;
    proc = start({
      name: `pod ${namespace}/${name}`,
      command: ipCmd ?? "ip",
      args: [...ipArgs, process.execPath, script],
      env: {
        ...process.env,
        ...env,
        HOST: host.ip,
        PORT: String(port),
        POD_NAME: name,
        POD_NAMESPACE: namespace,
      },
      log: join(cluster.dir, `pod-${namespace}-${name}.log`),
    });
    const url = `http://${host.ip}:${port}`;
    const running = proc;
    let exited = false;
    void running.exited.then(() => {
      exited = true;
    });
    await waitFor(`pod ${namespace}/${name} to answer at ${url}`, async () => {
      if (exited) throw new GiveUp(`the server exited:\n${running.tail()}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return true;
    });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, namespace, labels },
        spec: {
          nodeName: SIM_NODE,
          automountServiceAccountToken: false,
          containers: [
            { name: "server", image: "switchboard.dev/simulated:local", ports: [{ containerPort: port }] },
          ],
        },
      },
    });
    const setReady = async (isReady: boolean): Promise<void> => {
      const pod = await core.readNamespacedPod({ name, namespace });
      pod.status = podStatus(host.ip, isReady, host.gateway);
      await core.replaceNamespacedPodStatus({ name, namespace, body: pod });
    };
    await setReady(ready);
    const stop = async (): Promise<void> => {
      try {
        await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      } finally {
        await running.stop();
        await host.remove();
      }
    };
    return { namespace, name, ip: host.ip, port, url, proc: running, host, setReady, stop };
  } catch (err) {
    await proc?.stop();
    await host.remove();
    throw err;
  }
};
