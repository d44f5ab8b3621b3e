// The operator's configuration, parsed once from flags and their SWITCHBOARD_* environment twins
// (a flag wins over its variable) into a frozen object. Nothing else reads process.env.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { parseDuration } from "../common/duration.ts";

export interface OperatorConfig {
  readonly kubeconfig: string | undefined;
  readonly etcd: readonly string[];
  readonly etcdTls: { ca?: string; cert?: string; key?: string };
  readonly clusterName: string;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly leaderElectionNamespace: string;
  readonly id: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

/** A configuration problem the user must fix; main prints its message and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const FLAGS = {
  kubeconfig: { env: "SWITCHBOARD_KUBECONFIG" },
  etcd: { env: "SWITCHBOARD_ETCD" },
  "etcd-ca": { env: "SWITCHBOARD_ETCD_CA" },
  "etcd-cert": { env: "SWITCHBOARD_ETCD_CERT" },
  "etcd-key": { env: "SWITCHBOARD_ETCD_KEY" },
  "cluster-name": { env: "SWITCHBOARD_CLUSTER_NAME" },
  "metrics-addr": { env: "SWITCHBOARD_METRICS_ADDR" },
  "leader-election-namespace": { env: "SWITCHBOARD_LEADER_ELECTION_NAMESPACE" },
  id: { env: "SWITCHBOARD_ID" },
  "lease-duration": { env: "SWITCHBOARD_LEASE_DURATION" },
  "renew-deadline": { env: "SWITCHBOARD_RENEW_DEADLINE" },
  "retry-period": { env: "SWITCHBOARD_RETRY_PERIOD" },
  "log-level": { env: "SWITCHBOARD_LOG_LEVEL" },
} as const;

export const USAGE = `usage: node operator/main.ts --etcd URL[,URL...] --cluster-name NAME [--kubeconfig PATH] [--metrics-addr HOST:PORT]
  [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE] [--leader-election-namespace NS] [--id ID]
  [--lease-duration 15s] [--renew-deadline 10s] [--retry-period 2s] [--log-level info]
Each flag has an environment twin: --cluster-name ↔ SWITCHBOARD_CLUSTER_NAME, and so on.`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Splits "HOST:PORT" ("[::1]:8080" for IPv6); throws ConfigError naming the flag. */
export const parseHostPort = (flag: string, value: string): { host: string; port: number } => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError(`--${flag} must be HOST:PORT, got "${value}"`);
  return { host: m[1] ?? m[2] ?? "", port };
};

const durationFlag = (flag: string, value: string): number => {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new RangeError("must be positive");
    return ms;
  } catch (err) {
    throw new ConfigError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
};

/** Parses argv and env into a frozen OperatorConfig; throws ConfigError with one clear line. */
export const parseOperatorConfig = (argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig => {
  const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(
      err instanceof Error ? (err.message.split("\n")[0] ?? "bad arguments") : "bad arguments",
    );
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag];
    return typeof v === "string" ? v : env[FLAGS[flag].env] || undefined;
  };
  const etcd = (get("etcd") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (etcd.length === 0)
    throw new ConfigError("--etcd (or SWITCHBOARD_ETCD) is required: the registry's etcd client URL(s)");
  for (const url of etcd) {
    if (!/^https?:\/\/[^/]+$/.test(url))
      throw new ConfigError(`--etcd: "${url}" is not an http(s)://host:port URL`);
  }
  const clusterName = get("cluster-name");
  if (!clusterName) throw new ConfigError("--cluster-name (or SWITCHBOARD_CLUSTER_NAME) is required");
  if (!DNS_LABEL.test(clusterName))
    throw new ConfigError(`--cluster-name: "${clusterName}" is not a DNS-1123 label`);
  const metrics = parseHostPort("metrics-addr", get("metrics-addr") ?? "0.0.0.0:8080");
  const logLevel = get("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    throw new ConfigError(`--log-level must be debug, info, warn or error`);
  const ca = get("etcd-ca");
  const cert = get("etcd-cert");
  const key = get("etcd-key");
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError("--etcd-cert and --etcd-key go together");
  return Object.freeze({
    kubeconfig: get("kubeconfig"),
    etcd: Object.freeze(etcd),
    etcdTls: Object.freeze({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }),
    clusterName,
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    leaderElectionNamespace: get("leader-election-namespace") ?? env.POD_NAMESPACE ?? "switchboard-system",
    id: get("id") ?? `${hostname()}_${process.pid}`,
    leaseDurationMs: durationFlag("lease-duration", get("lease-duration") ?? "15s"),
    renewDeadlineMs: durationFlag("renew-deadline", get("renew-deadline") ?? "10s"),
    retryPeriodMs: durationFlag("retry-period", get("retry-period") ?? "2s"),
    logLevel: logLevel as OperatorConfig["logLevel"],
  });
};
