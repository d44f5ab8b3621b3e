// Dev mode's command line, parsed once into a frozen config (README "Dev mode").
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

export const USAGE =
  "usage: npm run dev -- -f DIR [--port 8080] [--metrics-port 9090] [--service NS/NAME=URL ...] [--work DIR]";

/** A bad command line or environment: one line for the user, exit code 2. */
export class DevUsageError extends Error {
  override name = "DevUsageError";
}

/** A Service that dev mode replaces by a function the user runs (`--service NS/NAME=URL`). */
export interface ServiceOverride {
  readonly namespace: string;
  readonly name: string;
  /** http(s)://HOST[:PORT][/BASE], no query or fragment; the Function's path is appended. */
  readonly url: string;
}

export interface DevConfig {
  /** The manifest directory, absolute. */
  readonly source: string;
  /** The gateway's ingress port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  /** The gateway's admin port on 127.0.0.1 (0: any free port). */
  readonly metricsPort: number;
  readonly work: string;
  /** By "NS/NAME". */
  readonly services: ReadonlyMap<string, ServiceOverride>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const parsePort = (flag: string, text: string): number => {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new DevUsageError(`${flag} ${text}: not a port (0-65535)`);
  return port;
};

/** Parses one `--service NS/NAME=URL`; throws DevUsageError naming what is wrong. */
export const parseServiceOverride = (text: string): ServiceOverride => {
  const match = /^([^/=]+)\/([^/=]+)=(.+)$/.exec(text);
  if (!match) throw new DevUsageError(`--service ${text}: expected NS/NAME=URL`);
  const [, namespace = "", name = "", raw = ""] = match;
  for (const part of [namespace, name])
    if (!DNS_LABEL.test(part)) throw new DevUsageError(`--service ${text}: ${part} is not a DNS-1123 label`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DevUsageError(`--service ${text}: ${raw} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new DevUsageError(`--service ${text}: the URL must be http or https`);
  if (url.search || url.hash || url.username || url.password)
    throw new DevUsageError(`--service ${text}: the URL may not have a query, fragment or credentials`);
  return { namespace, name, url: raw.replace(/\/+$/, "") };
};

/** The config for `argv` (relative paths against `cwd`); throws DevUsageError for anything wrong. */
export const parseDevFlags = (argv: readonly string[], cwd: string, repoRoot: string): DevConfig => {
  let values: {
    file?: string | undefined;
    port: string;
    "metrics-port": string;
    work?: string | undefined;
    service?: string[] | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        file: { type: "string", short: "f" },
        port: { type: "string", default: "8080" },
        "metrics-port": { type: "string", default: "9090" },
        work: { type: "string" },
        service: { type: "string", multiple: true },
      },
    }));
  } catch (err) {
    throw new DevUsageError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (!values.file) throw new DevUsageError(USAGE);
  const source = resolve(cwd, values.file);
  if (!existsSync(source) || !statSync(source).isDirectory())
    throw new DevUsageError(`-f ${values.file}: ${source} is not a directory`);
  const port = parsePort("--port", values.port);
  const metricsPort = parsePort("--metrics-port", values["metrics-port"]);
  if (port !== 0 && port === metricsPort)
    throw new DevUsageError(`--port and --metrics-port are both ${port}: choose two ports`);
  const services = new Map<string, ServiceOverride>();
  for (const text of values.service ?? []) {
    const override = parseServiceOverride(text);
    const key = `${override.namespace}/${override.name}`;
    if (services.has(key)) throw new DevUsageError(`--service ${key} is given twice`);
    services.set(key, override);
  }
  const work = values.work ? resolve(cwd, values.work) : join(repoRoot, ".work", "dev");
  return Object.freeze({ source, port, metricsPort, work, services });
};
