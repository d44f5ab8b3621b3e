// kubelet: registers the node with the client certificate a node has (CN system:node:<name>,
// O system:nodes), serves its API on the node IP with a certificate from the cluster CA, and
// authenticates the API server (logs, exec, port-forward) by its client certificate, authorizing
// it through the API server (Webhook), as a production kubelet does.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeKubeconfig } from "../kubeconfig.ts";
import { createCert, type KeyPair } from "../pki.ts";
import { type Proc, start } from "../proc.ts";
import { toolPath } from "../tools.ts";

export const KUBELET_PORT = 10250;
export const KUBELET_HEALTHZ_PORT = 10248;

export interface KubeletOptions {
  readonly dir: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly apiserver: string;
  readonly ca: KeyPair;
  readonly runtimeEndpoint: string;
  readonly clusterDns: string;
}

const config = (o: KubeletOptions, serving: KeyPair) => ({
  apiVersion: "kubelet.config.k8s.io/v1beta1",
  kind: "KubeletConfiguration",
  address: o.nodeIp,
  port: KUBELET_PORT,
  readOnlyPort: 0,
  healthzBindAddress: "127.0.0.1",
  healthzPort: KUBELET_HEALTHZ_PORT,
  tlsCertFile: serving.cert,
  tlsPrivateKeyFile: serving.key,
  authentication: {
    anonymous: { enabled: false },
    webhook: { enabled: true },
    x509: { clientCAFile: o.ca.cert },
  },
  authorization: { mode: "Webhook" },
  containerRuntimeEndpoint: o.runtimeEndpoint,
  cgroupDriver: "cgroupfs",
  failCgroupV1: false,
  failSwapOn: false,
  clusterDomain: "cluster.local",
  clusterDNS: [o.clusterDns],
  // Pods resolve through cluster DNS alone: the host's resolvers are never asked.
  resolvConf: join(o.dir, "resolv.conf"),
  podLogsDir: join(o.dir, "pod-logs"),
  maxPods: 50,
  // A test machine's disk is often fuller than production thresholds like.
  evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
  imageGCHighThresholdPercent: 100,
  imageGCLowThresholdPercent: 99,
  serializeImagePulls: false,
  nodeStatusReportFrequency: "10s",
});

/** Writes kubelet's certificates, kubeconfig and configuration under `dir` and starts it. Throws openssl's error. */
export const startKubelet = async (o: KubeletOptions): Promise<Proc> => {
  mkdirSync(o.dir, { recursive: true });
  const pki = join(o.dir, "pki");
  mkdirSync(pki, { recursive: true });
  const client = await createCert(pki, o.ca, {
    name: "kubelet-client",
    commonName: `system:node:${o.nodeName}`,
    organizations: ["system:nodes"],
    usage: "client",
  });
  const serving = await createCert(pki, o.ca, {
    name: "kubelet-serving",
    commonName: o.nodeName,
    dnsNames: [o.nodeName],
    ips: [o.nodeIp],
    usage: "server",
  });
  const kubeconfig = writeKubeconfig(join(o.dir, "kubelet.kubeconfig"), o.apiserver, o.ca.cert, client);
  writeFileSync(join(o.dir, "resolv.conf"), "");
  const configPath = join(o.dir, "config.yaml");
  writeFileSync(configPath, stringify(config(o, serving)));
  return start({
    name: "kubelet",
    command: toolPath("kubelet"),
    args: [
      `--config=${configPath}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(o.dir, "root")}`,
      `--hostname-override=${o.nodeName}`,
      `--node-ip=${o.nodeIp}`,
      "--v=1",
    ],
    log: join(o.dir, "kubelet.log"),
  });
};
