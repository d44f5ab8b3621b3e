// Runs the real operator (operator/main.ts) as a process against a local control plane.
import { join } from "node:path";
import type { Cluster } from "./cluster.ts";
import { egressArgs, TEST_EGRESS_ALLOW } from "./gateway.ts";
import { type Proc, start, waitFor } from "./proc.ts";
import { programArgs, programEnv } from "./programs.ts";
import { readMetric, startedLine } from "./started.ts";

export interface OperatorProcess {
  readonly proc: Proc;
  readonly id: string;
  /** http://127.0.0.1:PORT of its admin server (/metrics, /healthz, /readyz). */
  readonly adminUrl: string;
  /** The value of a metric line (first match of `name{labels}`), or undefined. */
  metric(name: string): Promise<number | undefined>;
  /** Whether this replica currently holds the leader Lease. */
  isLeader(): Promise<boolean>;
  /** Resolves once the gateways it knows of (GET /gateways) are exactly `ids`: before applying what a test will publish to them, so Ready waits for them. */
  knowsGateways(ids: readonly string[]): Promise<true>;
}

export interface OperatorOptions {
  clusterName: string;
  id: string;
  etcd: string;
  leaseNamespace: string;
  extraArgs?: string[];
  /** --egress-allow entries (what the gateways get, so Function status agrees); default TEST_EGRESS_ALLOW, [] for none. */
  egressAllow?: readonly string[];
  /** The kubeconfig it authenticates with; the cluster's admin one when absent. */
  kubeconfig?: string;
  /** Run dist/operator/main.js (npm run build) instead of the source; default SWITCHBOARD_E2E_PROGRAMS=dist. */
  compiled?: boolean;
  /** A command prefix, such as a memory cgroup's (bench/scale.ts). */
  prefix?: string[];
  /** Node flags before the program (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

/** Starts an operator with short leader-election timings and waits until its admin server answers. */
export const startOperator = async (cluster: Cluster, opts: OperatorOptions): Promise<OperatorProcess> => {
  const log = join(cluster.dir, `operator-${opts.id}.log`);
  const [command = process.execPath, ...prefixArgs] = [...(opts.prefix ?? []), process.execPath];
  const proc = start({
    name: `operator ${opts.id}`,
    command,
    args: [
      ...prefixArgs,
      ...(opts.nodeFlags ?? []),
      ...programArgs("operator", opts.compiled),
      `--kubeconfig=${opts.kubeconfig ?? cluster.kubeconfig}`,
      `--etcd=${opts.etcd}`,
      `--cluster-name=${opts.clusterName}`,
      "--metrics-addr=127.0.0.1:0",
      `--leader-election-namespace=${opts.leaseNamespace}`,
      `--id=${opts.id}`,
      "--lease-duration=3s",
      "--renew-deadline=2s",
      "--retry-period=500ms",
      ...egressArgs(opts.egressAllow ?? TEST_EGRESS_ALLOW),
      ...(opts.extraArgs ?? []),
    ],
    log,
    env: programEnv(),
  });
  const started = await startedLine(proc, "operator started");
  const adminUrl = `http://${String(started.metrics)}`;
  const metric = (selector: string): Promise<number | undefined> => readMetric(adminUrl, selector);
  return {
    proc,
    id: opts.id,
    adminUrl,
    metric,
    isLeader: async () => (await metric("switchboard_operator_leader")) === 1,
    knowsGateways: (ids) => {
      const wanted = [...ids].sort().join(",");
      return waitFor(`operator ${opts.id} to know gateways ${wanted}`, async () => {
        const res = await fetch(`${adminUrl}/gateways`);
        const { gateways } = (await res.json()) as { gateways: { id: string }[] };
        return gateways.map((g) => g.id).join(",") === wanted ? true : undefined;
      });
    },
  };
};
