// Runs the real gateway (sidecar/main.ts) as a process.
import { join } from "node:path";
import { type Proc, start, waitFor } from "./proc.ts";
import { programArgs, programEnv } from "./programs.ts";
import { readMetric, startedLine } from "./started.ts";

export interface GatewayProcess {
  readonly proc: Proc;
  /** http://HOST:PORT of the ingress. */
  readonly url: string;
  /** http://127.0.0.1:PORT of the admin server. */
  readonly adminUrl: string;
  /** The fields of its "gateway started" log line (how it runs: listen, idleReclaim, mallocTrim…). */
  readonly started: Readonly<Record<string, unknown>>;
  /** The value of the first metric line starting with `name{labels}` or `name `, or undefined. */
  metric(name: string): Promise<number | undefined>;
}

/**
 * The egress allow-list tests give gateways and operators: test function servers listen on
 * 127.0.0.1 (e2e/functions.ts). That one address, on any port but the protected ones (the
 * registry etcd, the API server and the gateways' own ports stay refused: their rules name a
 * port). Simulated pods (10.213.0.0/16) need no entry; the default deny list is never weakened.
 */
export const TEST_EGRESS_ALLOW: readonly string[] = ["127.0.0.1"];

export interface GatewayOptions {
  etcd: string;
  clusterName: string;
  /** Directory for its log. */
  dir: string;
  name: string;
  listenHost?: string;
  /** Default 0: a free port. */
  listenPort?: number;
  /** Default 0: a free port. */
  metricsPort?: number;
  namespace?: string;
  extraArgs?: string[];
  /** --egress-allow entries; default TEST_EGRESS_ALLOW, [] for none. */
  egressAllow?: readonly string[];
  /** A command prefix such as `taskset -c 0` (benchmarks pin the gateway to a core). */
  prefix?: string[];
  /** Run dist/sidecar/main.js (npm run build) instead of the source; default SWITCHBOARD_E2E_PROGRAMS=dist. */
  compiled?: boolean;
  /** Node and the program, before the flags (after `prefix`); default this Node and the source or compiled program. */
  entry?: string[];
}

/** The --egress-allow flag for `allow`, none when empty. */
export const egressArgs = (allow: readonly string[]): string[] =>
  allow.length > 0 ? [`--egress-allow=${allow.join(",")}`] : [];

/** Starts a gateway on free ports and waits until it is ready (first registry snapshot loaded). */
export const startGateway = async (opts: GatewayOptions): Promise<GatewayProcess> => {
  const log = join(opts.dir, `gateway-${opts.name}.log`);
  const entry = opts.entry ?? [process.execPath, ...programArgs("gateway", opts.compiled)];
  const [command = process.execPath, ...prefixArgs] = [...(opts.prefix ?? []), ...entry];
  const proc = start({
    name: `gateway ${opts.name}`,
    command,
    args: [
      ...prefixArgs,
      `--etcd=${opts.etcd}`,
      `--listen=${opts.listenHost ?? "127.0.0.1"}:${opts.listenPort ?? 0}`,
      `--cluster-name=${opts.clusterName}`,
      `--metrics-addr=127.0.0.1:${opts.metricsPort ?? 0}`,
      `--id=${opts.name}`,
      ...(opts.namespace ? [`--namespace=${opts.namespace}`] : []),
      ...egressArgs(opts.egressAllow ?? TEST_EGRESS_ALLOW),
      ...(opts.extraArgs ?? []),
    ],
    log,
    env: programEnv(),
  });
  const started = await startedLine(proc, "gateway started");
  const url = `http://${String(started.listen)}`;
  const adminUrl = `http://${String(started.metrics)}`;
  await waitFor(`gateway ${opts.name} to be ready`, async () =>
    (await fetch(`${adminUrl}/readyz`)).ok ? true : undefined,
  );
  const metric = (selector: string): Promise<number | undefined> => readMetric(adminUrl, selector);
  return { proc, url, adminUrl, started, metric };
};
