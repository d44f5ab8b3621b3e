// Runs the real operator (operator/main.ts) as a ServiceAccount of the chart: a kubeconfig with a
// TokenRequest token instead of e2e/operator.ts's admin kubeconfig, so its RBAC is what is tested.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Cluster } from "../e2e/cluster.ts";
import { type OperatorOptions, type OperatorProcess, startOperator } from "../e2e/operator.ts";
import { base64File } from "../e2e/pki.ts";

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

export type { OperatorProcess as RunningOperator } from "../e2e/operator.ts";

/** Starts the operator authenticated by `opts.kubeconfig` (see e2e/operator.ts startOperator). */
export const startOperatorAs = (
  cluster: Cluster,
  opts: OperatorOptions & { kubeconfig: string },
): Promise<OperatorProcess> => startOperator(cluster, opts);
