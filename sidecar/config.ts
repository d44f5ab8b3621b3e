// The gateway's configuration from flags and SWITCHBOARD_* twins, parsed once and frozen.
import { hostname } from "node:os";
import type { EgressEntry } from "../common/egress/rules.ts";
import {
  apiServerFlag,
  COMMON_HELP,
  ConfigError,
  clusterNameFlag,
  DNS_LABEL,
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
import { payloadBytes } from "../common/malloc.ts";

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
  /** The lease of this gateway's presence record, in whole seconds (registry/heartbeat/presence.ts); 0: no record. */
  readonly presenceTtlSeconds: number;
  /** The most a re-list of the registry that replaces a watch waits first (a random share of it); 0: none. */
  readonly relistSpreadMs: number;
  /** How long without a request before a heap that grew is collected (common/idle-reclaim.ts); 0: never. */
  readonly idleReclaimMs: number;
  /** How often, when something happened, glibc is asked to give free memory back (common/malloc-trim.ts); 0: never. */
  readonly mallocTrimMs: number;
  /** The share (0–1) of the container's memory limit at which requests are shed (common/memory-pressure.ts); 0: never. */
  readonly memoryShedAt: number;
  readonly logLevel: LogLevel;
  /** Where accepted async events are logged before 202; undefined: memory only. */
  readonly dataDir: string | undefined;
  /** fsync/none: the local delivery log (--data-dir); jetstream: NATS JetStream (--nats). */
  readonly durability: "fsync" | "none" | "jetstream";
  /** The JetStream backend's connection and stream limits (--durability jetstream); undefined otherwise. */
  readonly nats: NatsConfig | undefined;
  /** The HTTP client deliveries use (--delivery-client): undici, or Node's node:http. */
  readonly deliveryClient: "node" | "undici";
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

export interface NatsConfig {
  /** nats://HOST:PORT or tls://HOST:PORT of the cluster's servers. */
  readonly urls: readonly string[];
  /** A NATS credentials file (JWT and NKey seed) for this gateway. */
  readonly credsFile: string | undefined;
  /** A NATS user and the file holding its password (a server with an authorization block). */
  readonly user: { readonly name: string; readonly passwordFile: string } | undefined;
  readonly tls: { ca?: string; cert?: string; key?: string };
  /** Replicas of each VPN's streams (1, 3 or 5). */
  readonly replicas: number;
  /** Cap on each VPN's event stream; beyond it publishing answers 503 stream-full. */
  readonly maxBytes: number;
  /** How long a dead letter is kept. */
  readonly deadLetterMaxAgeMs: number;
  /** How long a delivery a gateway took and neither finished nor reported waits before another gateway takes it over. */
  readonly ackWaitMs: number;
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
  "presence-ttl": "SWITCHBOARD_PRESENCE_TTL",
  "idle-reclaim": "SWITCHBOARD_IDLE_RECLAIM",
  "malloc-trim": "SWITCHBOARD_MALLOC_TRIM",
  "memory-shed-at": "SWITCHBOARD_MEMORY_SHED_AT",
  "relist-spread": "SWITCHBOARD_RELIST_SPREAD",
  "log-level": "SWITCHBOARD_LOG_LEVEL",
  "data-dir": "SWITCHBOARD_DATA_DIR",
  durability: "SWITCHBOARD_DURABILITY",
  "delivery-client": "SWITCHBOARD_DELIVERY_CLIENT",
  "data-max-bytes": "SWITCHBOARD_DATA_MAX_BYTES",
  "registry-key-file": "SWITCHBOARD_REGISTRY_KEY_FILE",
  "vpn-key-file": "SWITCHBOARD_VPN_KEY_FILE",
  "egress-allow": "SWITCHBOARD_EGRESS_ALLOW",
  "egress-deny": "SWITCHBOARD_EGRESS_DENY",
  "api-server": "SWITCHBOARD_API_SERVER",
  nats: "SWITCHBOARD_NATS",
  "nats-creds": "SWITCHBOARD_NATS_CREDS",
  "nats-user": "SWITCHBOARD_NATS_USER",
  "nats-password-file": "SWITCHBOARD_NATS_PASSWORD_FILE",
  "nats-ca": "SWITCHBOARD_NATS_CA",
  "nats-cert": "SWITCHBOARD_NATS_CERT",
  "nats-key": "SWITCHBOARD_NATS_KEY",
  "nats-replicas": "SWITCHBOARD_NATS_REPLICAS",
  "nats-max-bytes": "SWITCHBOARD_NATS_MAX_BYTES",
  "dead-letter-max-age": "SWITCHBOARD_DEAD_LETTER_MAX_AGE",
  "nats-ack-wait": "SWITCHBOARD_NATS_ACK_WAIT",
} as const;

/** A duration flag that 0 turns off: 0, or ms from `minMs` to `maxMs` (`range` words them for the error). */
const zeroOrDuration = (flag: string, value: string, minMs: number, maxMs: number, range: string): number => {
  if (value === "0" || value === "0s") return 0;
  const ms = durationFlag(flag, value);
  if (ms < minMs || ms > maxMs) throw new ConfigError(`--${flag} must be 0 or ${range}, got "${value}"`);
  return ms;
};

/** --presence-ttl in whole seconds, from 3 s (renewed every third) to an hour; 0 writes no presence record. */
const presenceTtl = (value: string): number => {
  const range = "whole seconds from 3s to 1h";
  const ms = zeroOrDuration("presence-ttl", value, 3000, 3_600_000, range);
  if (ms % 1000 !== 0) throw new ConfigError(`--presence-ttl must be 0 or ${range}, got "${value}"`);
  return ms / 1000;
};

const HELP: Record<keyof typeof FLAGS, FlagHelp> = {
  ...COMMON_HELP,
  listen: { value: "HOST:PORT", help: "required: where publishers send events" },
  namespace: {
    value: "NS",
    help: "sidecar placement: loopback requests without a token publish as this namespace's VPN",
  },
  "metrics-addr": {
    value: "HOST:PORT",
    help: "/metrics, /healthz, /readyz and /explain (default 0.0.0.0:9090)",
  },
  id: { value: "ID", help: "this gateway's name in logs and the registry (default host-pid)" },
  "max-body-bytes": { value: "BYTES", help: "largest request body (default 1048576)" },
  "max-event-bytes": { value: "BYTES", help: "largest event, attributes and data (default 262144)" },
  "max-batch": { value: "N", help: "most events in one batch (default 100)" },
  "max-connections": { value: "N", help: "open ingress connections; beyond, 503 overloaded (default 1024)" },
  "max-inflight-bytes": { value: "BYTES", help: "request-body bytes being read at once (default 32 MiB)" },
  "max-inflight-bytes-per-vpn": {
    value: "BYTES",
    help: "one VPN's share of --max-inflight-bytes (default a quarter)",
  },
  "queue-max-events": { value: "N", help: "async events held for delivery; beyond, 503 (default 10000)" },
  "queue-max-bytes": { value: "BYTES", help: "bytes of async events held; beyond, 503 (default 64 MiB)" },
  "request-timeout": { value: "DURATION", help: "longest time to receive one request (default 30s)" },
  "drain-timeout": {
    value: "DURATION",
    help: "on SIGTERM, how long in-flight deliveries may finish (default 25s)",
  },
  "presence-ttl": {
    value: "DURATION",
    help: "lease of this gateway's presence record: gone this long after it stops reporting; 0: none (default 30s)",
  },
  "relist-spread": {
    value: "DURATION",
    help: "before re-listing the registry (etcd compacted past the watch, restored or replaced), wait a random share of this, so a fleet does not list etcd at once; 0: none (default 10s)",
  },
  "idle-reclaim": {
    value: "DURATION",
    help: "after this long without a request, collect a heap that grew by 8 MiB, giving memory back after a burst; needs node --expose-gc; 0: never (default 5s)",
  },
  "malloc-trim": {
    value: "DURATION",
    help: "every this long in which a request came or a delivery was attempted, and once after an idle collection, have glibc give the free memory in its arenas back (malloc_trim, off the event loop); needs the compiled build's Node-API module; 0: never (default 5s)",
  },
  "memory-shed-at": {
    value: "PERCENT",
    help: "once the working set reaches this share of the container's memory limit, or V8's heap in use this share of the heap's limit, admit new requests only while fewer than half of those then in progress are (at least 8), refusing the others 503 overloaded; 0: never (default 85)",
  },
  "data-dir": { value: "DIR", help: "log accepted async events here before 202 (default: memory only)" },
  durability: {
    value: "fsync|none|jetstream",
    help: "fsync the log before 202 (default fsync with --data-dir); jetstream: store accepted events in NATS JetStream (--nats)",
  },
  nats: {
    value: "URL,...",
    help: "--durability jetstream: the NATS servers (nats://HOST:PORT, tls://HOST:PORT)",
  },
  "nats-creds": { value: "FILE", help: "this gateway's NATS credentials file (JWT and seed)" },
  "nats-user": { value: "USER", help: "NATS user (with --nats-password-file)" },
  "nats-password-file": { value: "FILE", help: "file holding the NATS user's password" },
  "nats-ca": { value: "FILE", help: "CA bundle that signs the NATS servers' certificates" },
  "nats-cert": { value: "FILE", help: "client certificate for NATS (with --nats-key)" },
  "nats-key": { value: "FILE", help: "client key for NATS" },
  "nats-replicas": { value: "1|3|5", help: "replicas of each VPN's streams (default 3)" },
  "nats-max-bytes": {
    value: "BYTES",
    help: "cap on each VPN's event stream, reserved on the NATS servers; beyond, 503 stream-full (default 256 MiB)",
  },
  "dead-letter-max-age": { value: "DURATION", help: "how long dead letters are kept (default 168h)" },
  "nats-ack-wait": {
    value: "DURATION",
    help: "how long a delivery held by a gateway that stopped waits before another gateway takes it over (default 30s)",
  },
  "delivery-client": {
    value: "undici|node",
    help: "the HTTP client of deliveries: undici, or node:http (less memory, fewer requests/s at full load) (default undici)",
  },
  "data-max-bytes": {
    value: "BYTES",
    help: "cap on the log's undelivered events; beyond, 503 log-full (default 1 GiB)",
  },
  "registry-key-file": {
    value: "FILE",
    help: "master key of sealed records: read every VPN (shared gateway)",
  },
  "vpn-key-file": { value: "FILE", help: "one VPN's key: read and serve that VPN only (injected sidecar)" },
  "egress-allow": {
    value: "RULE,...",
    help: "addresses deliveries may reach though the egress policy refuses them",
  },
  "egress-deny": { value: "RULE,...", help: "more addresses deliveries may not reach (e.g. *:9090)" },
  "api-server": {
    value: "HOST:PORT|none",
    help: "the API server deliveries may not reach (default $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)",
  },
};

export const USAGE = helpText(
  `usage: node dist/sidecar/main.js --etcd URL[,URL...] --listen HOST:PORT --cluster-name NAME [flags]
The Switchboard gateway. Each flag has an environment twin, in parentheses; a flag wins over it.
RULE: an IP or CIDR, a host name or *.pattern, or *, optionally with :PORT (docs/gateway.md).`,
  FLAGS,
  HELP,
);

/**
 * The ingress budgets; each must fit one body of --max-body-bytes (a chunked body reserves that
 * much), in the memory it holds (whole pages from malloc's mmap threshold on, common/malloc.ts).
 */
const ingressBudgets = (
  get: (flag: keyof typeof FLAGS) => string | undefined,
  maxBodyBytes: number,
): Pick<GatewayConfig, "maxConnections" | "maxInflightBytes" | "maxInflightBytesPerVpn"> => {
  const maxInflightBytes = intFlag(
    "max-inflight-bytes",
    get("max-inflight-bytes") ?? String(Math.max(32 * 2 ** 20, 4 * maxBodyBytes)),
  );
  const oneBody = payloadBytes(maxBodyBytes);
  const holdsOneBody = (flag: string, bytes: number): number => {
    if (bytes < oneBody)
      throw new ConfigError(
        `--${flag} (${bytes}) must hold one body of --max-body-bytes (${maxBodyBytes}), ${oneBody} bytes in memory`,
      );
    return bytes;
  };
  holdsOneBody("max-inflight-bytes", maxInflightBytes);
  const maxInflightBytesPerVpn = holdsOneBody(
    "max-inflight-bytes-per-vpn",
    intFlag(
      "max-inflight-bytes-per-vpn",
      get("max-inflight-bytes-per-vpn") ?? String(Math.max(oneBody, Math.floor(maxInflightBytes / 4))),
      maxInflightBytes,
    ),
  );
  return {
    maxConnections: intFlag("max-connections", get("max-connections") ?? "1024", 1_000_000),
    maxInflightBytes,
    maxInflightBytesPerVpn,
  };
};

/** --memory-shed-at: a percentage of the memory limit from 1 to 99, or 0 (never), as a share. */
const memoryShedAt = (value: string): number => {
  const percent = Number(value);
  if (!/^\d+$/.test(value) || percent > 99)
    throw new ConfigError(`--memory-shed-at must be a percentage from 1 to 99, or 0 (never), got "${value}"`);
  return percent / 100;
};

const NATS_URL = /^(nats|tls):\/\/[^/\s]+$/;

/** The JetStream backend's flags; --nats is required. */
const natsConfig = (get: (flag: keyof typeof FLAGS) => string | undefined): NatsConfig => {
  const value = get("nats");
  if (!value)
    throw new ConfigError("--durability jetstream needs --nats (or SWITCHBOARD_NATS): nats://HOST:PORT,...");
  const urls = value.split(",").map((u) => u.trim());
  for (const url of urls)
    if (!NATS_URL.test(url))
      throw new ConfigError(`--nats: "${url}" is not nats://HOST:PORT or tls://HOST:PORT`);
  const replicas = intFlag("nats-replicas", get("nats-replicas") ?? "3", 5);
  if (replicas !== 1 && replicas !== 3 && replicas !== 5)
    throw new ConfigError(`--nats-replicas must be 1, 3 or 5, got "${replicas}"`);
  const [ca, cert, key] = [get("nats-ca"), get("nats-cert"), get("nats-key")];
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError("--nats-cert and --nats-key go together");
  const [user, passwordFile, credsFile] = [get("nats-user"), get("nats-password-file"), get("nats-creds")];
  if ((user === undefined) !== (passwordFile === undefined))
    throw new ConfigError("--nats-user and --nats-password-file go together");
  if (user !== undefined && credsFile !== undefined)
    throw new ConfigError("--nats-creds and --nats-user exclude each other: one way to authenticate");
  return {
    urls,
    credsFile,
    user: user === undefined || passwordFile === undefined ? undefined : { name: user, passwordFile },
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    },
    replicas,
    maxBytes: intFlag("nats-max-bytes", get("nats-max-bytes") ?? String(256 * 1024 * 1024)),
    deadLetterMaxAgeMs: durationFlag("dead-letter-max-age", get("dead-letter-max-age") ?? "168h"),
    ackWaitMs: durationFlag("nats-ack-wait", get("nats-ack-wait") ?? "30s"),
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
  if (durability !== "fsync" && durability !== "none" && durability !== "jetstream")
    throw new ConfigError(`--durability must be fsync, none or jetstream, got "${durability}"`);
  if (durability === "fsync" && !dataDir)
    throw new ConfigError("--durability fsync needs --data-dir (or SWITCHBOARD_DATA_DIR)");
  if (durability === "jetstream" && dataDir)
    throw new ConfigError(
      "--durability jetstream stores accepted events in NATS: drop --data-dir (the local log)",
    );
  const deliveryClient = get("delivery-client") ?? "undici";
  if (deliveryClient !== "node" && deliveryClient !== "undici")
    throw new ConfigError(`--delivery-client must be undici or node, got "${deliveryClient}"`);
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
    presenceTtlSeconds: presenceTtl(get("presence-ttl") ?? "30s"),
    idleReclaimMs: zeroOrDuration(
      "idle-reclaim",
      get("idle-reclaim") ?? "5s",
      1000,
      3_600_000,
      "from 1s to 1h",
    ),
    mallocTrimMs: zeroOrDuration("malloc-trim", get("malloc-trim") ?? "5s", 1000, 3_600_000, "from 1s to 1h"),
    memoryShedAt: memoryShedAt(get("memory-shed-at") ?? "85"),
    relistSpreadMs: zeroOrDuration("relist-spread", get("relist-spread") ?? "10s", 0, 600_000, "at most 10m"),
    logLevel,
    dataDir,
    durability,
    nats: durability === "jetstream" ? natsConfig(get) : undefined,
    deliveryClient,
    dataMaxBytes: intFlag("data-max-bytes", get("data-max-bytes") ?? String(1024 * 1024 * 1024)),
    registryKeyFile,
    vpnKeyFile,
    egressAllow: egressFlag("egress-allow", get("egress-allow")),
    egressDeny: egressFlag("egress-deny", get("egress-deny")),
    apiServer: apiServerFlag(get("api-server"), env),
  });
};
