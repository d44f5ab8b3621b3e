// Flag parsing shared by the programs: each flag has a SWITCHBOARD_* environment twin, a flag
// wins over its variable, and every problem is one ConfigError line (main exits 2 with it).
import { parseArgs } from "node:util";
import { parseDuration } from "./duration.ts";
import { type EgressEntry, EgressRuleError, parseEgressList } from "./egress/rules.ts";
import { errorMessage } from "./errors.ts";
import type { LogLevel } from "./log.ts";

/** A configuration problem the user must fix; main prints its message and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads `flags` (name → env twin) from argv, falling back to env; throws ConfigError on unknown flags. */
export const readFlags = <F extends string>(
  flags: Record<F, string>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ((flag: F) => string | undefined) => {
  const options = Object.fromEntries(Object.keys(flags).map((k) => [k, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(
      err instanceof Error ? (err.message.split("\n")[0] ?? "bad arguments") : "bad arguments",
    );
  }
  return (flag) => {
    const v = values[flag];
    return typeof v === "string" ? v : env[flags[flag]] || undefined;
  };
};

/** Splits "HOST:PORT" ("[::1]:8080" for IPv6); throws ConfigError naming the flag. */
export const parseHostPort = (flag: string, value: string): { host: string; port: number } => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError(`--${flag} must be HOST:PORT, got "${value}"`);
  return { host: m[1] ?? m[2] ?? "", port };
};

/** A positive Go duration in ms; throws ConfigError naming the flag. */
export const durationFlag = (flag: string, value: string): number => {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new RangeError("must be positive");
    return ms;
  } catch (err) {
    throw new ConfigError(`--${flag}: ${errorMessage(err)}`);
  }
};

/** A positive integer; throws ConfigError naming the flag. */
export const intFlag = (flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new ConfigError(`--${flag} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
};

/** The etcd client URLs of a comma-separated flag value; throws ConfigError when absent or malformed. */
export const etcdUrls = (value: string | undefined): string[] => {
  const urls = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0)
    throw new ConfigError("--etcd (or SWITCHBOARD_ETCD) is required: the registry's etcd client URL(s)");
  for (const url of urls)
    if (!/^https?:\/\/[^/]+$/.test(url))
      throw new ConfigError(`--etcd: "${url}" is not an http(s)://host:port URL`);
  return urls;
};

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The flags both programs take for the registry etcd, with their environment twins. */
export const ETCD_FLAGS = {
  etcd: "SWITCHBOARD_ETCD",
  "etcd-ca": "SWITCHBOARD_ETCD_CA",
  "etcd-cert": "SWITCHBOARD_ETCD_CERT",
  "etcd-key": "SWITCHBOARD_ETCD_KEY",
} as const;

/** The etcd endpoints and TLS files; throws ConfigError on a missing or malformed URL, or a certificate without its key. */
export const etcdFlags = (
  get: (flag: keyof typeof ETCD_FLAGS) => string | undefined,
): { etcd: readonly string[]; etcdTls: { ca?: string; cert?: string; key?: string } } => {
  const etcd = etcdUrls(get("etcd"));
  const [ca, cert, key] = [get("etcd-ca"), get("etcd-cert"), get("etcd-key")];
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError("--etcd-cert and --etcd-key go together");
  return {
    etcd: Object.freeze(etcd),
    etcdTls: Object.freeze({ ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }),
  };
};

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** The --log-level value (default info); throws ConfigError on anything else. */
export const logLevelFlag = (value: string | undefined): LogLevel => {
  const level = LOG_LEVELS.find((l) => l === (value ?? "info"));
  if (level === undefined) throw new ConfigError("--log-level must be debug, info, warn or error");
  return level;
};

/** The required --cluster-name, a DNS-1123 label; throws ConfigError otherwise. */
export const clusterNameFlag = (value: string | undefined): string => {
  if (!value) throw new ConfigError("--cluster-name (or SWITCHBOARD_CLUSTER_NAME) is required");
  if (!DNS_LABEL.test(value)) throw new ConfigError(`--cluster-name: "${value}" is not a DNS-1123 label`);
  return value;
};

/** A comma-separated egress rule list; throws ConfigError naming the flag and the bad entry. */
export const egressFlag = (flag: string, value: string | undefined): readonly EgressEntry[] => {
  try {
    return Object.freeze(parseEgressList(value));
  } catch (err) {
    if (err instanceof EgressRuleError) throw new ConfigError(`--${flag}: ${err.message}`);
    throw err;
  }
};

/** The API server address: --api-server (or "none"), else the in-cluster KUBERNETES_SERVICE_HOST/PORT. */
export const apiServerFlag = (
  value: string | undefined,
  env: NodeJS.ProcessEnv,
): { host: string; port: number } | undefined => {
  if (value === "none") return undefined;
  if (value !== undefined) return parseHostPort("api-server", value);
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  return parseHostPort("api-server", host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
};

/** One flag's help: its value's shape (empty for none) and one line saying what it does. */
export interface FlagHelp {
  readonly value: string;
  readonly help: string;
}

/** The help lines of the flags both programs take: the registry etcd, the cluster, the log level. */
export const COMMON_HELP = {
  etcd: { value: "URL[,URL...]", help: "required: the registry etcd's client URLs (http(s)://host:port)" },
  "etcd-ca": { value: "FILE", help: "CA certificate of the registry etcd's TLS" },
  "etcd-cert": { value: "FILE", help: "client certificate for etcd (with --etcd-key)" },
  "etcd-key": { value: "FILE", help: "client key for etcd (with --etcd-cert)" },
  "cluster-name": { value: "NAME", help: "required: this cluster's name in the registry (a DNS label)" },
  "log-level": { value: "LEVEL", help: "debug, info, warn or error (default info)" },
} as const satisfies Record<string, FlagHelp>;

/**
 * The --help text: the synopsis, then one line per flag (its value, what it does, its environment
 * twin), in the order of `help`.
 */
export const helpText = <F extends string>(
  synopsis: string,
  flags: Record<F, string>,
  help: Record<F, FlagHelp>,
): string => {
  const names = Object.keys(help) as F[];
  const left = names.map((f) => `--${f}${help[f].value ? ` ${help[f].value}` : ""}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = names.map((f, i) => `  ${(left[i] ?? "").padEnd(width)}${help[f].help} (${flags[f]})`);
  return [
    synopsis,
    "",
    ...lines,
    "  --help".padEnd(width + 2) + "this text",
    "  --version".padEnd(width + 2) + "the version, revision and Node.js version",
  ].join("\n");
};
