// The load generator run from this process's side: e2e/scenarios/loadgen.ts as a child process
// (its own event loop, so the test's polling does not pace it), and from inside a pod through
// `kubectl exec`. Both return its one-line summary.
import { join } from "node:path";
import { get } from "../../helm/chart-kit.ts";
import { run } from "../proc.ts";
import { repoRoot } from "../tools.ts";
import { kubectl, type ScenarioEnv } from "./env.ts";
import type { LoadOptions, LoadSummary } from "./loadgen.ts";

const flags = (o: LoadOptions): string[] => [
  ...["--url", o.url, "--rate", String(o.rate), "--seconds", String(o.seconds)],
  ...(o.token ? ["--token", o.token] : []),
  ...(o.type ? ["--type", o.type] : []),
  ...(o.prefix ? ["--prefix", o.prefix] : []),
  ...(o.connections ? ["--connections", String(o.connections)] : []),
  ...(o.maxInflight ? ["--max-inflight", String(o.maxInflight)] : []),
  ...(o.listIds ? ["--ids"] : []),
];

const numbers = (value: unknown): Record<string, number> =>
  Object.fromEntries(
    Object.entries(typeof value === "object" && value !== null ? value : {}).filter(
      (e): e is [string, number] => typeof e[1] === "number",
    ),
  );

/** Parses loadgen's summary line; throws naming the output when it is not one. */
export const parseSummary = (out: string): LoadSummary => {
  const line = out.trim().split("\n").at(-1) ?? "";
  const value: unknown = JSON.parse(line);
  const n = (key: string): number => {
    const v = get(value, key);
    if (typeof v !== "number") throw new Error(`loadgen printed no ${key}: ${line}`);
    return v;
  };
  const ids = get(value, "ids");
  return {
    rate: n("rate"),
    seconds: n("seconds"),
    sent: n("sent"),
    skipped: n("skipped"),
    accepted: n("accepted"),
    statuses: numbers(get(value, "statuses")),
    errors: numbers(get(value, "errors")),
    latencyMs: {
      p50: Number(get(value, "latencyMs", "p50")),
      p99: Number(get(value, "latencyMs", "p99")),
      max: Number(get(value, "latencyMs", "max")),
    },
    elapsedMs: n("elapsedMs"),
    ...(Array.isArray(ids) ? { ids: ids.map(String) } : {}),
  };
};

/** Runs the load from this machine (e.g. against the gateway Service's ClusterIP). */
export const hostLoad = async (o: LoadOptions): Promise<LoadSummary> =>
  parseSummary(await run(process.execPath, [join(repoRoot, "e2e/scenarios/loadgen.ts"), ...flags(o)]));

/** Runs the load inside `pod`'s container `container`, where loadgen.ts is mounted at /loadgen. */
export const podLoad = async (
  env: ScenarioEnv,
  namespace: string,
  pod: string,
  container: string,
  o: LoadOptions,
): Promise<LoadSummary> =>
  parseSummary(
    await kubectl(env, [
      "-n",
      namespace,
      "exec",
      pod,
      "-c",
      container,
      "--",
      "node",
      "/loadgen/loadgen.ts",
      ...flags(o),
    ]),
  );

/** One line for a report: rate, accepted, refusals, errors and latency. */
export const describeLoad = (s: LoadSummary): string =>
  `${s.rate} ev/s × ${s.seconds} s: sent ${s.sent}, skipped ${s.skipped}, accepted ${s.accepted} in ${s.elapsedMs} ms, statuses ${JSON.stringify(s.statuses)}, errors ${JSON.stringify(s.errors)}, latency p50 ${s.latencyMs.p50} ms p99 ${s.latencyMs.p99} ms`;
