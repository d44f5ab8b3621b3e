// The gateway's configuration from flags and SWITCHBOARD_* twins, parsed once and frozen.
import { hostname } from "node:os";
import type { EgressEntry } from "../common/egress/rules.ts";
import {
  apiServerFlag,
  ConfigError,
  clusterNameFlag,
  DNS_LABEL,
  durationFlag,
  ETCD_FLAGS,
  egressFlag,
  etcdFlags,
  intFlag,
  logLevelFlag,
  parseHostPort,
  readFlags,
} from "../common/flags.ts";
import type { LogLevel } from "../common/log.ts";

export interface GatewayConfig {
  readonly etcd: readonly string[];
  readonly etcdTls: { ca?: string; cert?: string; key?: string };
  readonly listenHost: string;
  readonly listenPort: number;
  readonly clusterName: string;
  /** Sidecar placement: requests from loopback without a token publish as this namespace's VPN. */
  readonly namespace: string | undefined;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly id: string;
  readonly maxBodyBytes: number;
  readonly maxEventBytes: number;
  readonly maxBatch: number;
  /** Ingress budgets (ingress/budget.ts): open connections, and body bytes in progress per gateway and per VPN. */
  readonly maxConnections: number;
  readonly maxInflightBytes: number;
  readonly maxInflightBytesPerVpn: number;
  readonly queueMaxEvents: number;
  readonly queueMaxBytes: number;
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Where accepted async events are logged before 202; undefined: memory only. */
  readonly dataDir: string | undefined;
  readonly durability: "fsync" | "none";
  readonly dataMaxBytes: number;
  /** The master key of sealed registry records (shared gateway): opens every VPN's records. */
  readonly registryKeyFile: string | undefined;
  /** One VPN's key (injected sidecar): this gateway reads and serves that VPN only. */
  readonly vpnKeyFile: string | undefined;
  /** Cluster-wide egress allow entries (--egress-allow). */
  readonly egressAllow: readonly EgressEntry[];
  /** Extra egress deny entries (--egress-deny), e.g. other gateways' admin port on any address. */
  readonly egressDeny: readonly EgressEntry[];
  /** The Kubernetes API server deliveries may not reach; undefined: none known. */
  readonly apiServer: { readonly host: string; readonly port: number } | undefined;
}

const FLAGS = {
  ...ETCD_FLAGS,
  listen: "SWITCHBOARD_LISTEN",
  "cluster-name": "SWITCHBOARD_CLUSTER_NAME",
  namespace: "SWITCHBOARD_NAMESPACE",
  "metrics-addr": "SWITCHBOARD_METRICS_ADDR",
  id: "SWITCHBOARD_ID",
  "max-body-bytes": "SWITCHBOARD_MAX_BODY_BYTES",
  "max-event-bytes": "SWITCHBOARD_MAX_EVENT_BYTES",
  "max-batch": "SWITCHBOARD_MAX_BATCH",
  "max-connections": "SWITCHBOARD_MAX_CONNECTIONS",
  "max-inflight-bytes": "SWITCHBOARD_MAX_INFLIGHT_BYTES",
  "max-inflight-bytes-per-vpn": "SWITCHBOARD_MAX_INFLIGHT_BYTES_PER_VPN",
  "queue-max-events": "SWITCHBOARD_QUEUE_MAX_EVENTS",
  "queue-max-bytes": "SWITCHBOARD_QUEUE_MAX_BYTES",
  "request-timeout": "SWITCHBOARD_REQUEST_TIMEOUT",
  "drain-timeout": "SWITCHBOARD_DRAIN_TIMEOUT",
  "log-level": "SWITCHBOARD_LOG_LEVEL",
  "data-dir": "SWITCHBOARD_DATA_DIR",
  durability: "SWITCHBOARD_DURABILITY",
  "data-max-bytes": "SWITCHBOARD_DATA_MAX_BYTES",
  "registry-key-file": "SWITCHBOARD_REGISTRY_KEY_FILE",
  "vpn-key-file": "SWITCHBOARD_VPN_KEY_FILE",
  "egress-allow": "SWITCHBOARD_EGRESS_ALLOW",
  "egress-deny": "SWITCHBOARD_EGRESS_DENY",
  "api-server": "SWITCHBOARD_API_SERVER",
} as const;

export const USAGE = `usage: node sidecar/main.ts --etcd URL[,URL...] --listen HOST:PORT --cluster-name NAME [--namespace NS] [--metrics-addr HOST:PORT]
  [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE] [--id ID] [--max-body-bytes 1048576] [--max-event-bytes 262144]
  [--max-batch 100] [--max-connections 1024] [--max-inflight-bytes 33554432] [--max-inflight-bytes-per-vpn 8388608]
  [--queue-max-events 10000] [--queue-max-bytes 67108864] [--request-timeout 30s] [--drain-timeout 25s]
  [--data-dir DIR [--durability fsync|none] [--data-max-bytes 1073741824]] [--log-level info]
  [--registry-key-file FILE | --vpn-key-file FILE]
  [--egress-allow RULE,...] [--egress-deny RULE,...] [--api-server HOST:PORT|none]
  (RULE: an IP or CIDR, a host name or *.pattern, or *, optionally with :PORT; docs/gateway.md, "Egress policy";
   --api-server defaults to $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
Each flag has an environment twin: --cluster-name ↔ SWITCHBOARD_CLUSTER_NAME, and so on.`;

/** The ingress budgets; each must fit one body of --max-body-bytes (a chunked body reserves that much). */
const ingressBudgets = (
  get: (flag: keyof typeof FLAGS) => string | undefined,
  maxBodyBytes: number,
): Pick<GatewayConfig, "maxConnections" | "maxInflightBytes" | "maxInflightBytesPerVpn"> => {
  const maxInflightBytes = intFlag(
    "max-inflight-bytes",
    get("max-inflight-bytes") ?? String(Math.max(32 * 2 ** 20, 4 * maxBodyBytes)),
  );
  const maxInflightBytesPerVpn = intFlag(
    "max-inflight-bytes-per-vpn",
    get("max-inflight-bytes-per-vpn") ?? String(Math.max(maxBodyBytes, Math.floor(maxInflightBytes / 4))),
    maxInflightBytes,
  );
  if (maxInflightBytesPerVpn < maxBodyBytes)
    throw new ConfigError(
      `--max-inflight-bytes-per-vpn (${maxInflightBytesPerVpn}) must be at least --max-body-bytes (${maxBodyBytes})`,
    );
  return {
    maxConnections: intFlag("max-connections", get("max-connections") ?? "1024", 1_000_000),
    maxInflightBytes,
    maxInflightBytesPerVpn,
  };
};

/** Parses argv and env into a frozen GatewayConfig; throws ConfigError with one clear line. */
export const parseGatewayConfig = (argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig => {
  const get = readFlags(FLAGS, argv, env);
  const { etcd, etcdTls } = etcdFlags(get);
  const listenValue = get("listen");
  if (!listenValue)
    throw new ConfigError("--listen (or SWITCHBOARD_LISTEN) is required: HOST:PORT for publishers");
  const listen = parseHostPort("listen", listenValue);
  const clusterName = clusterNameFlag(get("cluster-name"));
  const namespace = get("namespace");
  if (namespace !== undefined && !DNS_LABEL.test(namespace))
    throw new ConfigError(`--namespace: "${namespace}" is not a DNS-1123 label`);
  const metrics = parseHostPort("metrics-addr", get("metrics-addr") ?? "0.0.0.0:9090");
  const logLevel = logLevelFlag(get("log-level"));
  const dataDir = get("data-dir");
  const durability = get("durability") ?? (dataDir ? "fsync" : "none");
  if (durability !== "fsync" && durability !== "none")
    throw new ConfigError(`--durability must be fsync or none, got "${durability}"`);
  if (durability === "fsync" && !dataDir)
    throw new ConfigError("--durability fsync needs --data-dir (or SWITCHBOARD_DATA_DIR)");
  const [registryKeyFile, vpnKeyFile] = [get("registry-key-file"), get("vpn-key-file")];
  if (registryKeyFile !== undefined && vpnKeyFile !== undefined)
    throw new ConfigError(
      "--registry-key-file and --vpn-key-file exclude each other: a gateway holds all VPNs' keys or one",
    );
  const maxBodyBytes = intFlag("max-body-bytes", get("max-body-bytes") ?? "1048576", 64 * 1024 * 1024);
  return Object.freeze({
    etcd,
    etcdTls,
    listenHost: listen.host,
    listenPort: listen.port,
    clusterName,
    namespace,
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    id: get("id") ?? `${hostname()}-${process.pid}`.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
    maxBodyBytes,
    maxEventBytes: intFlag("max-event-bytes", get("max-event-bytes") ?? "262144", maxBodyBytes),
    maxBatch: intFlag("max-batch", get("max-batch") ?? "100", 10_000),
    ...ingressBudgets(get, maxBodyBytes),
    queueMaxEvents: intFlag("queue-max-events", get("queue-max-events") ?? "10000"),
    queueMaxBytes: intFlag("queue-max-bytes", get("queue-max-bytes") ?? String(64 * 1024 * 1024)),
    requestTimeoutMs: durationFlag("request-timeout", get("request-timeout") ?? "30s"),
    drainTimeoutMs: durationFlag("drain-timeout", get("drain-timeout") ?? "25s"),
    logLevel,
    dataDir,
    durability,
    dataMaxBytes: intFlag("data-max-bytes", get("data-max-bytes") ?? String(1024 * 1024 * 1024)),
    registryKeyFile,
    vpnKeyFile,
    egressAllow: egressFlag("egress-allow", get("egress-allow")),
    egressDeny: egressFlag("egress-deny", get("egress-deny")),
    apiServer: apiServerFlag(get("api-server"), env),
  });
};
