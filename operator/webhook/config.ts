// The webhook's and the injector's flags (part of the operator's configuration, parsed once in
// config.ts). The webhook is off without --webhook-addr; with it, the serving certificate files
// and the gateway image are required.
import {
  ConfigError,
  durationFlag,
  etcdUrls,
  type FlagHelp,
  intFlag,
  parseHostPort,
} from "../../common/flags.ts";
import { isDnsSubdomain } from "../../registry/keys.ts";
import { cpuProblem, memoryProblem } from "./options.ts";
import type { InjectorSettings } from "./plan.ts";

export const WEBHOOK_FLAGS = {
  "webhook-addr": "SWITCHBOARD_WEBHOOK_ADDR",
  "webhook-cert-file": "SWITCHBOARD_WEBHOOK_CERT_FILE",
  "webhook-key-file": "SWITCHBOARD_WEBHOOK_KEY_FILE",
  "webhook-cert-reload": "SWITCHBOARD_WEBHOOK_CERT_RELOAD",
  "injector-image": "SWITCHBOARD_INJECTOR_IMAGE",
  "injector-etcd": "SWITCHBOARD_INJECTOR_ETCD",
  "injector-etcd-secret": "SWITCHBOARD_INJECTOR_ETCD_SECRET",
  "injector-port": "SWITCHBOARD_INJECTOR_PORT",
  "injector-metrics-port": "SWITCHBOARD_INJECTOR_METRICS_PORT",
  "injector-cpu": "SWITCHBOARD_INJECTOR_CPU",
  "injector-memory": "SWITCHBOARD_INJECTOR_MEMORY",
} as const;

export type WebhookFlag = keyof typeof WEBHOOK_FLAGS;

/** One help line per webhook flag (operator --help). */
export const WEBHOOK_HELP: Record<WebhookFlag, FlagHelp> = {
  "webhook-addr": {
    value: "HOST:PORT",
    help: "serve the injection and validation webhooks here (off without it)",
  },
  "webhook-cert-file": {
    value: "FILE",
    help: "the webhook's serving certificate (reloaded when it changes)",
  },
  "webhook-key-file": { value: "FILE", help: "its private key" },
  "webhook-cert-reload": {
    value: "DURATION",
    help: "how often the certificate files are re-read (default 10s)",
  },
  "injector-image": {
    value: "IMAGE",
    help: "the gateway image injected sidecars run (required with --webhook-addr)",
  },
  "injector-etcd": { value: "URL[,URL...]", help: "etcd URLs injected sidecars use (default --etcd)" },
  "injector-etcd-secret": {
    value: "NAME",
    help: "Secret with ca.crt, tls.crt, tls.key sidecars mount in their namespace",
  },
  "injector-port": { value: "PORT", help: "injected gateways' ingress port on 127.0.0.1 (default 3580)" },
  "injector-metrics-port": { value: "PORT", help: "injected gateways' admin port (default 9580)" },
  "injector-cpu": { value: "QUANTITY", help: "injected gateways' CPU request (default 50m)" },
  "injector-memory": {
    value: "QUANTITY",
    help: "injected gateways' memory request and limit (default 192Mi)",
  },
};

export interface WebhookConfig {
  readonly host: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** How often the certificate files are re-read. */
  readonly certReloadMs: number;
  readonly injector: InjectorSettings;
}

/** The webhook's config, undefined when --webhook-addr is absent; throws ConfigError with one clear line. */
export const parseWebhookConfig = (
  get: (flag: WebhookFlag) => string | undefined,
  operator: {
    clusterName: string;
    etcd: readonly string[];
    sealing?: boolean;
    egressAllow?: readonly string[];
    egressDeny?: readonly string[];
  },
): WebhookConfig | undefined => {
  const addr = get("webhook-addr");
  if (addr === undefined) {
    const stray = (Object.keys(WEBHOOK_FLAGS) as WebhookFlag[]).find((f) => get(f) !== undefined);
    if (stray)
      throw new ConfigError(`--${stray} needs --webhook-addr (the injection webhook is off without it)`);
    return undefined;
  }
  const { host, port } = parseHostPort("webhook-addr", addr);
  const certFile = get("webhook-cert-file");
  const keyFile = get("webhook-key-file");
  if (!certFile || !keyFile)
    throw new ConfigError(
      "--webhook-addr needs --webhook-cert-file and --webhook-key-file (the serving certificate; the Helm chart creates it)",
    );
  const image = get("injector-image");
  if (!image) throw new ConfigError("--webhook-addr needs --injector-image: the gateway image to inject");
  if (/\s/.test(image)) throw new ConfigError(`--injector-image: "${image}" is not an image reference`);
  const etcdSecret = get("injector-etcd-secret");
  if (etcdSecret !== undefined && !isDnsSubdomain(etcdSecret))
    throw new ConfigError(`--injector-etcd-secret: "${etcdSecret}" is not a Secret name`);
  const sidecarPort = intFlag("injector-port", get("injector-port") ?? "3580", 65535);
  const metricsPort = intFlag("injector-metrics-port", get("injector-metrics-port") ?? "9580", 65535);
  if (sidecarPort === metricsPort)
    throw new ConfigError("--injector-port and --injector-metrics-port must differ");
  const cpu = get("injector-cpu") ?? "50m";
  const memory = get("injector-memory") ?? "192Mi";
  const cpuBad = cpuProblem(cpu);
  if (cpuBad) throw new ConfigError(`--injector-cpu: ${cpuBad}`);
  const memoryBad = memoryProblem(memory);
  if (memoryBad) throw new ConfigError(`--injector-memory: ${memoryBad}`);
  const injectorEtcd = get("injector-etcd");
  return Object.freeze({
    host,
    port,
    certFile,
    keyFile,
    certReloadMs: durationFlag("webhook-cert-reload", get("webhook-cert-reload") ?? "10s"),
    injector: Object.freeze({
      image,
      clusterName: operator.clusterName,
      etcd: Object.freeze(injectorEtcd === undefined ? [...operator.etcd] : etcdUrls(injectorEtcd)),
      etcdSecret,
      vpnKeys: operator.sealing ?? false,
      ...(operator.egressAllow?.length ? { egressAllow: operator.egressAllow } : {}),
      ...(operator.egressDeny?.length ? { egressDeny: operator.egressDeny } : {}),
      port: sidecarPort,
      metricsPort,
      cpu,
      memory,
    }),
  });
};
