// Prometheus for tests: finds Debian's `prometheus` and `promtool` binaries, runs promtool's
// checks, and runs a real Prometheus server on loopback that scrapes the targets a test names.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { stringify } from "yaml";
import { exec, get, isRecord, type Manifest, type Outcome } from "../helm/chart-kit.ts";
import { freePort } from "./ports.ts";
import { GiveUp, type Proc, start, waitFor } from "./proc.ts";

/** The Debian package that ships both binaries. */
export const PROMETHEUS_PACKAGE = "prometheus";

export type PrometheusBinary = "prometheus" | "promtool";

/**
 * The absolute path of `name`, looked up in `path` (default $PATH) and then /usr/bin; throws
 * naming the Debian package to install when neither has it.
 */
export const prometheusBinary = (
  name: PrometheusBinary,
  { path = process.env.PATH ?? "", fallback = ["/usr/bin"] }: { path?: string; fallback?: string[] } = {},
): string => {
  const dirs = [...path.split(delimiter).filter((d) => d !== ""), ...fallback];
  const found = dirs.map((dir) => join(dir, name)).find((file) => existsSync(file));
  if (found) return found;
  throw new Error(
    `${name} not found (looked in ${dirs.join(", ")}); install Debian's package: ` +
      `apt-get install -y --no-install-recommends ${PROMETHEUS_PACKAGE}`,
  );
};

/** Runs promtool with `args` and `input` on stdin; resolves with its exit code and output (never rejects on a non-zero exit). */
export const promtool = (args: readonly string[], input = ""): Promise<Outcome> =>
  exec(prometheusBinary("promtool"), args, input);

export interface MetricsCheck {
  /** promtool's exit code: 0 clean, 3 lint problems only, 1 the exposition could not be parsed. */
  readonly code: number;
  /** Lint problems ("metric_name problem"), one per line of promtool's output. */
  readonly problems: string[];
  /** What promtool printed, for error messages. */
  readonly output: string;
}

/** Pipes a /metrics exposition into `promtool check metrics`. */
export const checkMetrics = async (exposition: string): Promise<MetricsCheck> => {
  const out = await promtool(["check", "metrics"], exposition);
  const output = `${out.stdout}${out.stderr}`.trim();
  const problems = out.code === 3 ? output.split("\n").filter((line) => line.trim() !== "") : [];
  return { code: out.code, problems, output };
};

/** The rule groups (`{groups: [...]}`, the rule-file format) of the one PrometheusRule among `manifests`; throws when there is none or its spec has no groups. */
export const ruleFile = (manifests: readonly Manifest[]): { groups: unknown[] } => {
  const rules = manifests.filter((m) => m.kind === "PrometheusRule");
  if (rules.length !== 1) throw new Error(`expected one PrometheusRule, found ${rules.length}`);
  const groups = get(rules[0]?.doc, "spec", "groups");
  if (!Array.isArray(groups) || groups.length === 0) throw new Error("the PrometheusRule has no spec.groups");
  return { groups };
};

export interface PrometheusServer {
  readonly proc: Proc;
  /** http://127.0.0.1:PORT of its HTTP API. */
  readonly url: string;
  /** The value of the first sample of an instant query, or undefined when the result is empty; throws on an API error. */
  query(promql: string): Promise<number | undefined>;
}

export interface PrometheusOptions {
  /** Directory for the config, the TSDB and the log. */
  dir: string;
  /** host:port addresses serving /metrics, scraped as job "switchboard". */
  targets: string[];
  scrapeInterval?: string;
}

/** Starts a real Prometheus on a free loopback port scraping `targets`, and waits until it is ready (throws with its log tail when it exits or is not ready within 60 s). */
export const startPrometheus = async ({
  dir,
  targets,
  scrapeInterval = "1s",
}: PrometheusOptions): Promise<PrometheusServer> => {
  mkdirSync(join(dir, "data"), { recursive: true });
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
      scrape_configs: [{ job_name: "switchboard", static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = start({
    name: "prometheus",
    command: prometheusBinary("prometheus"),
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    log: join(dir, "prometheus.log"),
  });
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  await waitFor("prometheus to be ready", async () => {
    if (exited) throw new GiveUp(`prometheus exited:\n${proc.tail()}`);
    return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
  });
  return { proc, url, query: (promql) => instantQuery(url, promql) };
};

const instantQuery = async (url: string, promql: string): Promise<number | undefined> => {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
  const body: unknown = await res.json();
  if (!res.ok || get(body, "status") !== "success") {
    throw new Error(`query ${promql} failed (${res.status}): ${JSON.stringify(body)}`);
  }
  const result = get(body, "data", "result");
  if (!Array.isArray(result) || result.length === 0) return undefined;
  const value = get(result[0], "value", 1);
  if (!isRecord(result[0]) || typeof value !== "string")
    throw new Error(`unexpected sample: ${JSON.stringify(result[0])}`);
  return Number(value);
};
