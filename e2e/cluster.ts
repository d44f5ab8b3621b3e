// The local control plane: real etcd, kube-apiserver and kube-controller-manager on free
// 127.0.0.1 ports, with their own CA, serving and client certificates and service-account keys.
//
// With `node: true` (`--node`), also one real node (e2e/node.ts: containerd, kubelet, kube-proxy,
// kube-scheduler, CoreDNS); it needs root, and one node per machine.
//
// As a library: `const cluster = await startCluster({ dir })` … `await cluster.stop()`.
// From a shell: `node e2e/cluster.ts up --dir DIR [--node]` runs until SIGINT/SIGTERM and writes
// DIR/kubeconfig and DIR/cluster.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { errorMessage } from "../common/errors.ts";
import { SERVICE_RANGE } from "./addresses.ts";
import { type Etcd, startEtcd } from "./etcd.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { busyboxImage } from "./node/busybox.ts";
import { etcdImage } from "./node/etcd-image.ts";
import { assertNodeFree } from "./node/lock.ts";
import { type LocalNode, type NodeInfo, startNode } from "./node.ts";
import { createCa, createCert, createSigningKey, type KeyPair } from "./pki.ts";
import { freePort } from "./ports.ts";
import { type Proc, run, start, waitFor } from "./proc.ts";
import { repoRoot, toolPath } from "./tools.ts";

/** What `DIR/cluster.json` holds. */
export interface ClusterInfo {
  readonly etcd: string;
  readonly apiserver: string;
  readonly kubeconfig: string;
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serviceAccountKey: string;
  /** The real node, when the cluster was started with one. */
  readonly node?: NodeInfo;
}

export interface Cluster extends ClusterInfo {
  /** A client-node KubeConfig for the admin user (system:masters). */
  kubeConfig(): KubeConfig;
  /** Runs the bootstrap's kubectl against this cluster; returns stdout, throws with stderr. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** Stops every process (kube-controller-manager, kube-apiserver, etcd) and waits for them to exit. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Directory for certificates, data and logs; a new one under `.work/` when absent. */
  dir?: string;
  /** Name used in log lines and the kubeconfig context. */
  name?: string;
  /** Also start a real node (root only, one per machine); see e2e/node.ts. */
  node?: boolean;
}

export interface ClusterWithNode extends Cluster {
  readonly node: NodeInfo;
  /** The running node: images, and its own stop (the cluster's stop stops it first). */
  readonly localNode: LocalNode;
}

/** Starts a control plane and waits for kube-apiserver `/readyz` and for the controller-manager to be working; with `node`, also a node, Ready and schedulable. */
export async function startCluster(options: StartClusterOptions & { node: true }): Promise<ClusterWithNode>;
export async function startCluster(options?: StartClusterOptions): Promise<Cluster>;
export async function startCluster({
  dir,
  name = "local",
  node = false,
}: StartClusterOptions = {}): Promise<Cluster> {
  // Refuse before minutes of work when another node already runs on this machine.
  if (node) assertNodeFree();
  const work = join(repoRoot, ".work");
  mkdirSync(work, { recursive: true });
  const root = dir ? resolve(dir) : mkdtempSync(join(work, `${name}-`));
  const pki = join(root, "pki");
  mkdirSync(pki, { recursive: true });
  const procs: Proc[] = [];
  let etcd: Etcd | undefined;
  let localNode: LocalNode | undefined;
  const stop = async (): Promise<void> => {
    try {
      await localNode?.stop();
    } finally {
      for (const proc of procs.reverse()) await proc.stop();
      await etcd?.stop();
    }
  };
  try {
    const ca = await createCa(pki);
    const serving = await createCert(pki, ca, {
      name: "apiserver",
      commonName: "kube-apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
      ips: ["127.0.0.1", "10.96.0.1"],
      usage: "server",
    });
    const admin = await createCert(pki, ca, {
      name: "admin",
      commonName: "admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    // The API server's credentials towards kubelets (logs, exec, port-forward).
    const kubeletClient = await createCert(pki, ca, {
      name: "apiserver-kubelet-client",
      commonName: "kube-apiserver-kubelet-client",
      organizations: ["system:masters"],
      usage: "client",
    });
    const kcmCert = await createCert(pki, ca, {
      name: "kcm",
      commonName: "system:kube-controller-manager",
      usage: "client",
    });
    const saKey = await createSigningKey(join(pki, "service-account.key"));

    etcd = await startEtcd(root);
    const port = await freePort();
    const apiserver = `https://127.0.0.1:${port}`;
    const kubeconfig = writeKubeconfig(join(root, "kubeconfig"), apiserver, ca.cert, admin, name);
    const kcmConfig = writeKubeconfig(join(root, "kcm.kubeconfig"), apiserver, ca.cert, kcmCert, name);

    procs.push(startApiserver(root, etcd.url, port, ca, serving, kubeletClient, saKey));
    await waitReady(procs[0], apiserver, admin, ca.cert);
    procs.push(startControllerManager(root, kcmConfig, ca, saKey, node));

    const info: ClusterInfo = {
      etcd: etcd.url,
      apiserver,
      kubeconfig,
      dir: root,
      caCert: ca.cert,
      caKey: ca.key,
      serviceAccountKey: saKey,
    };
    writeFileSync(join(root, "cluster.json"), `${JSON.stringify(info, null, 2)}\n`);
    const cluster = connect(info, stop);
    // The controller-manager is working once it has created the default ServiceAccount.
    await waitFor("kube-controller-manager to create the default ServiceAccount", async () => {
      const out = await cluster.kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"]);
      return out.trim() === "serviceaccount/default" ? true : undefined;
    });
    if (!node) return cluster;
    localNode = await startNode(cluster);
    const withNode = { ...info, node: nodeInfo(localNode) };
    writeFileSync(join(root, "cluster.json"), `${JSON.stringify(withNode, null, 2)}\n`);
    const started: ClusterWithNode = { ...connect(withNode, stop), node: withNode.node, localNode };
    return started;
  } catch (err) {
    await stop();
    throw err;
  }
}

const nodeInfo = ({ name, ip, podCidr, dnsIp, dir }: NodeInfo): NodeInfo => ({
  name,
  ip,
  podCidr,
  dnsIp,
  dir,
});

/** A Cluster handle for an already running control plane described by `info`. */
export const connect = (info: ClusterInfo, stop: () => Promise<void> = async () => {}): Cluster => ({
  ...info,
  kubeConfig: () => {
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    return kc;
  },
  kubectl: (args, input) =>
    run(
      toolPath("kubectl"),
      ["--kubeconfig", info.kubeconfig, ...args],
      input === undefined ? {} : { input },
    ),
  stop,
});

const startApiserver = (
  root: string,
  etcdUrl: string,
  port: number,
  ca: KeyPair,
  serving: KeyPair,
  kubeletClient: KeyPair,
  saKey: string,
): Proc =>
  start({
    name: "kube-apiserver",
    command: toolPath("kube-apiserver"),
    args: [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${ca.cert}`,
      "--authorization-mode=RBAC",
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      "--allow-privileged=true",
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      `--kubelet-certificate-authority=${ca.cert}`,
      // A node's name does not resolve here; its InternalIP (the node bridge) does.
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      // The loopback address cannot be published as the `kubernetes` Service endpoint.
      "--endpoint-reconciler-type=none",
      `--cert-dir=${join(root, "pki")}`,
      "--profiling=false",
      "--v=1",
    ],
    log: join(root, "kube-apiserver.log"),
  });

const startControllerManager = (
  root: string,
  kubeconfig: string,
  ca: KeyPair,
  saKey: string,
  node: boolean,
): Proc =>
  start({
    name: "kube-controller-manager",
    command: toolPath("kube-controller-manager"),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${ca.cert}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      // Each controller acts with its own ServiceAccount and RBAC role, as in a real cluster.
      "--use-service-account-credentials=true",
      // Without a node, simulated pods sit on a Node that never heartbeats, so the controllers
      // that would mark them not ready or delete them are off. With a real node they run: the
      // node-lifecycle controller lifts the not-ready taint once the kubelet reports Ready.
      node
        ? "--controllers=*"
        : "--controllers=*,-node-lifecycle-controller,-pod-garbage-collector-controller",
      "--concurrent-service-endpoint-syncs=5",
      "--v=1",
    ],
    log: join(root, "kube-controller-manager.log"),
  });

const waitReady = async (
  proc: Proc | undefined,
  apiserver: string,
  admin: KeyPair,
  caCert: string,
): Promise<void> => {
  if (!proc) throw new Error("kube-apiserver was not started");
  const exitedEarly = proc.exited.then((code) => {
    throw new Error(`kube-apiserver exited (${code}) before it was ready:\n${proc.tail()}`);
  });
  exitedEarly.catch(() => {});
  const tls = { ca: readFileSync(caCert), cert: readFileSync(admin.cert), key: readFileSync(admin.key) };
  await Promise.race([
    waitFor(
      "kube-apiserver /readyz",
      async () => ((await httpsGet(`${apiserver}/readyz`, tls)) === "ok" ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 250,
      },
    ),
    exitedEarly,
  ]);
};

const httpsGet = (url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> =>
  new Promise((resolveBody, reject) => {
    const req = request(url, { ...tls, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolveBody(body.trim()));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });

const usage = "usage: node e2e/cluster.ts up [--dir DIR] [--node]";

const main = async (argv: readonly string[]): Promise<void> => {
  const [command, ...rest] = argv;
  if (command !== "up") {
    console.error(usage);
    process.exit(2);
  }
  let dir: string | undefined;
  let node = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--dir" && rest[i + 1]) dir = rest[++i];
    else if (rest[i] === "--node") node = true;
    else {
      console.error(`unknown argument ${rest[i]}\n${usage}`);
      process.exit(2);
    }
  }
  const base = dir === undefined ? {} : { dir };
  const withNode = node ? await startCluster({ ...base, node: true }) : undefined;
  const cluster = withNode ?? (await startCluster(base));
  console.log(`control plane ready
  apiserver:  ${cluster.apiserver}
  etcd:       ${cluster.etcd}
  kubeconfig: ${cluster.kubeconfig}
  info:       ${join(cluster.dir, "cluster.json")}`);
  if (withNode) {
    const [image, etcd] = await Promise.all([busyboxImage(), etcdImage()])
      .then(async (specs) => {
        for (const spec of specs) await withNode.localNode.importImage(spec);
        return specs;
      })
      .catch(async (err: unknown) => {
        await cluster.stop();
        throw err;
      });
    const { name, ip, podCidr, dnsIp, dir: files } = withNode.node;
    console.log(`node ready
  name:       ${name} (${ip}, pods in ${podCidr}, DNS ${dnsIp})
  files:      ${files}
  images:     ${image.name} (a static busybox: sh, httpd, wget, nslookup)
              ${etcd.name} (the bootstrap's etcd, for the chart's bundledEtcd)`);
  }
  console.log("Ctrl-C stops it.");
  await new Promise<void>((resolveStop) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolveStop());
  });
  console.log(cluster.node ? "stopping node and control plane" : "stopping control plane");
  await cluster.stop();
};

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
}
