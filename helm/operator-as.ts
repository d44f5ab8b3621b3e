// Runs the real operator (operator/main.ts) as a ServiceAccount of the chart: a kubeconfig with a
// TokenRequest token instead of e2e/operator.ts's admin kubeconfig, so its RBAC is what is tested.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Cluster } from "../e2e/cluster.ts";
import { base64File } from "../e2e/pki.ts";
import { GiveUp, type Proc, start, waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";

/**
 * Requests a token for ServiceAccount `namespace/name` (TokenRequest API, `kubectl create token`)
 * and writes a kubeconfig that uses it; returns the kubeconfig's path. Throws kubectl's error.
 */
export const serviceAccountKubeconfig = async (
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<string> => {
  const token = (await cluster.kubectl(["create", "token", name, "-n", namespace, "--duration=1h"])).trim();
  const context = `${namespace}-${name}`;
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: context,
        cluster: { server: cluster.apiserver, "certificate-authority-data": base64File(cluster.caCert) },
      },
    ],
    users: [{ name: context, user: { token } }],
    contexts: [{ name: context, context: { cluster: context, user: context, namespace } }],
    "current-context": context,
  };
  const path = join(cluster.dir, `${context}.kubeconfig`);
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
};

export interface OperatorAsOptions {
  /** The kubeconfig it authenticates with. */
  kubeconfig: string;
  clusterName: string;
  id: string;
  etcd: string;
  leaseNamespace: string;
}

export interface RunningOperator {
  readonly proc: Proc;
  /** http://127.0.0.1:PORT of its admin server. */
  readonly adminUrl: string;
}

/** Starts the operator with short leader-election timings; resolves once its admin server answers, throws if it exits first. */
export const startOperatorAs = async (
  cluster: Cluster,
  opts: OperatorAsOptions,
): Promise<RunningOperator> => {
  const log = join(cluster.dir, `operator-${opts.id}.log`);
  const proc = start({
    name: `operator ${opts.id}`,
    command: process.execPath,
    args: [
      join(repoRoot, "operator/main.ts"),
      `--kubeconfig=${opts.kubeconfig}`,
      `--etcd=${opts.etcd}`,
      `--cluster-name=${opts.clusterName}`,
      "--metrics-addr=127.0.0.1:0",
      `--leader-election-namespace=${opts.leaseNamespace}`,
      `--id=${opts.id}`,
      "--lease-duration=3s",
      "--renew-deadline=2s",
      "--retry-period=500ms",
    ],
    log,
  });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const adminUrl = await waitFor(`operator ${opts.id} to start`, async () => {
    if (exited) throw new GiveUp(`operator ${opts.id} exited:\n${proc.tail()}`);
    for (const line of readFileSync(log, "utf8").split("\n")) {
      if (!line.includes('"operator started"')) continue;
      const parsed: unknown = JSON.parse(line);
      const metrics =
        typeof parsed === "object" && parsed !== null && "metrics" in parsed ? parsed.metrics : undefined;
      if (typeof metrics === "string") return `http://${metrics}`;
    }
    return undefined;
  });
  return { proc, adminUrl };
};
