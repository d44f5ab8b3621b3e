// The operator's configuration, parsed once from flags and their SWITCHBOARD_* environment twins
// (a flag wins over its variable) into a frozen object. Nothing else reads process.env.
import { hostname } from "node:os";
import type { EgressEntry } from "../common/egress/rules.ts";
import {
  COMMON_HELP,
  ConfigError,
  clusterNameFlag,
  durationFlag,
  ETCD_FLAGS,
  egressFlag,
  etcdFlags,
  type FlagHelp,
  helpText,
  intFlag,
  logLevelFlag,
  parseHostPort,
  readFlags,
} from "../common/flags.ts";
import type { LogLevel } from "../common/log.ts";
import { parseWebhookConfig, WEBHOOK_FLAGS, WEBHOOK_HELP, type WebhookConfig } from "./webhook/config.ts";

export { ConfigError };

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
  readonly logLevel: LogLevel;
  /** TTL of the cluster heartbeat lease: how long after the operator is gone other clusters notice. */
  readonly heartbeatTtlSeconds: number;
  /** The master key of sealed registry records; undefined: records are written in clear. */
  readonly registryKeyFile: string | undefined;
  /** How often the leader lists its registry subtree and restores records changed behind its back. */
  readonly resyncPeriodMs: number;
  /** Reconcile workers per kind (one key is never reconciled by two at once). */
  readonly workers: number;
  /** Writes to the API server a second (status, finalizers, Events, VPN key Secrets); 0: no limit. */
  readonly kubeWriteQps: number;
  /** Writes that may go at once before the rate applies. */
  readonly kubeWriteBurst: number;
  /** The sidecar-injection webhook; undefined when off (no --webhook-addr). */
  readonly webhook: WebhookConfig | undefined;
  /** The gateways' --egress-allow, so Function status reports what the gateways will refuse. */
  readonly egressAllow: readonly EgressEntry[];
  /** The gateways' --egress-deny. */
  readonly egressDeny: readonly EgressEntry[];
}

const FLAGS = {
  kubeconfig: "SWITCHBOARD_KUBECONFIG",
  ...ETCD_FLAGS,
  "cluster-name": "SWITCHBOARD_CLUSTER_NAME",
  "metrics-addr": "SWITCHBOARD_METRICS_ADDR",
  "leader-election-namespace": "SWITCHBOARD_LEADER_ELECTION_NAMESPACE",
  id: "SWITCHBOARD_ID",
  "lease-duration": "SWITCHBOARD_LEASE_DURATION",
  "renew-deadline": "SWITCHBOARD_RENEW_DEADLINE",
  "retry-period": "SWITCHBOARD_RETRY_PERIOD",
  "log-level": "SWITCHBOARD_LOG_LEVEL",
  "heartbeat-ttl": "SWITCHBOARD_HEARTBEAT_TTL",
  "registry-key-file": "SWITCHBOARD_REGISTRY_KEY_FILE",
  "resync-period": "SWITCHBOARD_RESYNC_PERIOD",
  workers: "SWITCHBOARD_WORKERS",
  "kube-write-qps": "SWITCHBOARD_KUBE_WRITE_QPS",
  "kube-write-burst": "SWITCHBOARD_KUBE_WRITE_BURST",
  ...WEBHOOK_FLAGS,
  "egress-allow": "SWITCHBOARD_EGRESS_ALLOW",
  "egress-deny": "SWITCHBOARD_EGRESS_DENY",
} as const;

const HELP: Record<keyof typeof FLAGS, FlagHelp> = {
  ...COMMON_HELP,
  kubeconfig: {
    value: "PATH",
    help: "kubeconfig to reach the API server (default: the pod's service account)",
  },
  "metrics-addr": { value: "HOST:PORT", help: "/metrics, /healthz and /readyz (default 0.0.0.0:8080)" },
  "leader-election-namespace": {
    value: "NS",
    help: "namespace of the leader Lease (default the pod's namespace, else switchboard-system)",
  },
  id: { value: "ID", help: "this replica's identity in the Lease (default host_pid)" },
  "lease-duration": { value: "DURATION", help: "how long a Lease is held without renewal (default 15s)" },
  "renew-deadline": {
    value: "DURATION",
    help: "the leader gives up after failing to renew this long (default 10s)",
  },
  "retry-period": { value: "DURATION", help: "how often the Lease is tried and renewed (default 2s)" },
  "heartbeat-ttl": {
    value: "DURATION",
    help: "the cluster heartbeat's lease in etcd, at least 2s (default 15s)",
  },
  "registry-key-file": { value: "FILE", help: "master key: seal every record and hand each VPN its key" },
  workers: {
    value: "N",
    help: "reconcile workers per kind, each key by one at a time (default 8)",
  },
  "kube-write-qps": {
    value: "N",
    help: `writes to the API server a second, reads and the leader Lease aside; 0: no limit (default 500)`,
  },
  "kube-write-burst": {
    value: "N",
    help: "writes that may go at once before that rate applies (default twice it)",
  },
  "resync-period": {
    value: "DURATION",
    help: "how often the leader audits its registry subtree (default 5m)",
  },
  ...WEBHOOK_HELP,
  "egress-allow": {
    value: "RULE,...",
    help: "the gateways' --egress-allow: Function status and injected gateways",
  },
  "egress-deny": {
    value: "RULE,...",
    help: "the gateways' --egress-deny: Function status and injected gateways",
  },
};

export const USAGE = helpText(
  `usage: node dist/operator/main.js --etcd URL[,URL...] --cluster-name NAME [flags]
The Switchboard operator. Each flag has an environment twin, in parentheses; a flag wins over it.`,
  FLAGS,
  HELP,
);

/**
 * Reconcile workers per kind. Each reconcile waits on the API server and etcd more than it computes:
 * with 2 workers the operator made about 40 objects Ready a second while using half a core
 * (bench/scale.ts; docs/benchmarks.md, "The control plane at scale").
 */
export const DEFAULT_WORKERS = 8;

/**
 * The default limit on the operator's writes to the API server. A new object costs two (its
 * finalizer, its status): 10 000 applied at once need 20 000, 40 s at this rate, where this
 * machine's control plane took 84 s (bench/scale.ts --cold); a reconcile loop gone wrong is held
 * to it too.
 */
export const DEFAULT_KUBE_WRITE_QPS = 500;

/** --kube-write-qps: 0 (no limit) or an integer up to 100 000. */
const writeQps = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 100_000)
    throw new ConfigError(`--kube-write-qps must be 0 (no limit) or an integer up to 100000, got "${value}"`);
  return n;
};

/** The heartbeat lease TTL in whole seconds (rounded up); throws ConfigError below 2 s (etcd leases need time to be kept alive). */
const heartbeatTtl = (value: string): number => {
  const seconds = Math.ceil(durationFlag("heartbeat-ttl", value) / 1000);
  if (seconds < 2) throw new ConfigError(`--heartbeat-ttl must be at least 2s, got "${value}"`);
  return seconds;
};

/** Parses argv and env into a frozen OperatorConfig; throws ConfigError with one clear line. */
export const parseOperatorConfig = (argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig => {
  const get = readFlags(FLAGS, argv, env);
  const { etcd, etcdTls } = etcdFlags(get);
  const clusterName = clusterNameFlag(get("cluster-name"));
  const metrics = parseHostPort("metrics-addr", get("metrics-addr") ?? "0.0.0.0:8080");
  const egressAllow = egressFlag("egress-allow", get("egress-allow"));
  const egressDeny = egressFlag("egress-deny", get("egress-deny"));
  const texts = (entries: readonly EgressEntry[]) => entries.map((e) => e.text);
  const kubeWriteQps = writeQps(get("kube-write-qps") ?? String(DEFAULT_KUBE_WRITE_QPS));
  return Object.freeze({
    kubeconfig: get("kubeconfig"),
    etcd,
    etcdTls,
    clusterName,
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    leaderElectionNamespace: get("leader-election-namespace") ?? env.POD_NAMESPACE ?? "switchboard-system",
    id: get("id") ?? `${hostname()}_${process.pid}`,
    leaseDurationMs: durationFlag("lease-duration", get("lease-duration") ?? "15s"),
    renewDeadlineMs: durationFlag("renew-deadline", get("renew-deadline") ?? "10s"),
    retryPeriodMs: durationFlag("retry-period", get("retry-period") ?? "2s"),
    logLevel: logLevelFlag(get("log-level")),
    heartbeatTtlSeconds: heartbeatTtl(get("heartbeat-ttl") ?? "15s"),
    registryKeyFile: get("registry-key-file"),
    resyncPeriodMs: durationFlag("resync-period", get("resync-period") ?? "5m"),
    workers: intFlag("workers", get("workers") ?? String(DEFAULT_WORKERS), 256),
    kubeWriteQps,
    kubeWriteBurst: intFlag(
      "kube-write-burst",
      get("kube-write-burst") ?? String(Math.max(1, kubeWriteQps * 2)),
      200_000,
    ),
    webhook: parseWebhookConfig(get, {
      clusterName,
      etcd,
      sealing: get("registry-key-file") !== undefined,
      egressAllow: texts(egressAllow),
      egressDeny: texts(egressDeny),
    }),
    egressAllow,
    egressDeny,
  });
};
