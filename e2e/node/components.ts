// The node's other programs: kube-proxy (nftables mode, masquerading every Service connection so
// replies come back through the host), kube-scheduler (so workloads schedule as in any cluster)
// and CoreDNS (cluster.local for Services and Pods, nothing forwarded beyond the cluster). Each
// authenticates to the API server with a client certificate from the cluster CA.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeKubeconfig } from "../kubeconfig.ts";
import { createCert, type KeyPair } from "../pki.ts";
import { type Proc, start } from "../proc.ts";
import { toolPath } from "../tools.ts";

export const PROXY_HEALTHZ = "127.0.0.1:10256";
/** CoreDNS's readiness endpoint (200 once the kubernetes plugin has synced). */
export const COREDNS_READY = "http://127.0.0.1:18181/ready";
export const PROXY_METRICS = "127.0.0.1:10249";

export interface ComponentOptions {
  readonly dir: string;
  readonly apiserver: string;
  readonly ca: KeyPair;
}

/** A kubeconfig for user `commonName` (in `organizations`) under `dir`; returns its path. */
const clientKubeconfig = async (
  { dir, apiserver, ca }: ComponentOptions,
  name: string,
  commonName: string,
): Promise<string> => {
  mkdirSync(join(dir, "pki"), { recursive: true });
  const cert = await createCert(join(dir, "pki"), ca, { name, commonName, usage: "client" });
  return writeKubeconfig(join(dir, `${name}.kubeconfig`), apiserver, ca.cert, cert);
};

/** Starts kube-proxy in nftables mode for node `nodeName` with pods in `podCidr`. */
export const startKubeProxy = async (
  o: ComponentOptions,
  { nodeName, podCidr, nodeIp }: { nodeName: string; podCidr: string; nodeIp: string },
): Promise<Proc> => {
  const kubeconfig = await clientKubeconfig(o, "kube-proxy", "system:kube-proxy");
  const configPath = join(o.dir, "kube-proxy.yaml");
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    mode: "nftables",
    hostnameOverride: nodeName,
    clusterCIDR: podCidr,
    healthzBindAddress: PROXY_HEALTHZ,
    metricsBindAddress: PROXY_METRICS,
    nodePortAddresses: [`${nodeIp}/32`],
    nftables: { masqueradeAll: true },
    // Leave the machine's conntrack settings and OOM score as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    oomScoreAdj: 0,
  };
  writeFileSync(configPath, stringify(config));
  return start({
    name: "kube-proxy",
    command: toolPath("kube-proxy"),
    args: [`--config=${configPath}`, "--v=1"],
    log: join(o.dir, "kube-proxy.log"),
  });
};

/** Starts kube-scheduler (no leader election, no serving port). */
export const startScheduler = async (o: ComponentOptions): Promise<Proc> => {
  const kubeconfig = await clientKubeconfig(o, "kube-scheduler", "system:kube-scheduler");
  return start({
    name: "kube-scheduler",
    command: toolPath("kube-scheduler"),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--v=1",
    ],
    log: join(o.dir, "kube-scheduler.log"),
  });
};

/** The user CoreDNS authenticates as; `coreDnsRbac` grants it what the kubernetes plugin reads. */
export const COREDNS_USER = "system:coredns";

/** Starts CoreDNS on `listen`:53 answering cluster.local (Services and Pods) and reverse lookups only. */
export const startCoreDns = async (o: ComponentOptions, listen: string): Promise<Proc> => {
  const kubeconfig = await clientKubeconfig(o, "coredns", COREDNS_USER);
  const corefile = join(o.dir, "Corefile");
  writeFileSync(
    corefile,
    `.:53 {
    bind ${listen}
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods verified
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`,
  );
  return start({
    name: "coredns",
    command: toolPath("coredns"),
    args: ["-conf", corefile],
    log: join(o.dir, "coredns.log"),
    cwd: o.dir,
  });
};
