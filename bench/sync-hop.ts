// The sync hop: the gateway against a bare node:http + undici forwarder given the same core
// (core 0, taskset), both in front of the same function (core 1, with this load generator and etcd).
// Throughput closed-loop; latency paced (open loop, uniform arrivals) at 1000 and 5000 events/s,
// each beside a direct call to the function; the CPU and peak RSS of the gateway and the forwarder
// during the paced runs (from /proc), and their RSS idle.
//   node bench/sync-hop.ts [--seconds 5]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startGateway } from "../e2e/gateway.ts";
import { repoRoot } from "../e2e/tools.ts";
import {
  benchRegistry,
  benchRoute,
  eventHeaders,
  type LoadResult,
  load,
  metered,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
  rssMb,
  type Usage,
} from "./lib.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);

/** Starts a fixture process (pinned), resolves with its port and a stop function. */
const fixture = async (script: string, cores: string, env: Record<string, string>) => {
  const [cmd = process.execPath, ...prefix] = [...pinned(cores), process.execPath];
  const child = spawn(cmd, [...prefix, join(repoRoot, "bench/fixtures", script)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  const { listening } = JSON.parse(line) as { listening: number };
  return { port: listening, pid: child.pid ?? 0, stop: () => child.kill("SIGTERM") };
};

const loadCores = pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await fixture("function.ts", "1", {});
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");
const forwarder = await fixture("forwarder.ts", "0", { TARGET: fnUrl });
const gateway = await startGateway({
  etcd: registry.etcd.url,
  clusterName: registry.cluster,
  dir: registry.dir,
  name: "sync-hop",
  prefix: pinned("0"),
});
await routesLoaded(gateway);

const body = JSON.stringify({ order: 42, items: ["a", "b"] });
const ceHeaders = eventHeaders("bench.event", { id: "b" });
const targets = {
  direct: { url: fnUrl, headers: { "content-type": "application/json" } },
  forwarder: { url: `http://127.0.0.1:${forwarder.port}/`, headers: ceHeaders },
  gateway: { url: `${gateway.url}/`, headers: ceHeaders },
};
const run = (
  t: keyof typeof targets,
  opts: { concurrency?: number; ratePerSecond?: number },
): Promise<LoadResult> =>
  load({ url: targets[t].url, headers: targets[t].headers, body, okStatus: 200, seconds, ...opts });

const idleRssMb = { gateway: rssMb(gateway.proc.pid), forwarder: rssMb(forwarder.pid) };
// Warm-up (JIT, connections) at a paced rate, so that the heap a closed loop grows does not count
// as the RSS of the paced runs; the closed-loop throughput runs come last.
for (const t of ["direct", "forwarder", "gateway"] as const)
  await load({
    url: targets[t].url,
    headers: targets[t].headers,
    body,
    okStatus: 200,
    seconds: 1,
    ratePerSecond: 1000,
  });
const paced: Record<string, Record<string, LoadResult>> = {};
const usage: Record<string, { forwarder: Usage<LoadResult>; gateway: Usage<LoadResult> }> = {};
for (const rate of [1000, 5000]) {
  const direct = await run("direct", { ratePerSecond: rate });
  const fw = await metered(forwarder.pid, () => run("forwarder", { ratePerSecond: rate }));
  const gw = await metered(gateway.proc.pid, () => run("gateway", { ratePerSecond: rate }));
  paced[rate] = { direct, forwarder: fw.result, gateway: gw.result };
  usage[rate] = { forwarder: fw, gateway: gw };
}
const closedLoop = {
  forwarder: await metered(forwarder.pid, () => run("forwarder", { concurrency: 64 })),
  gateway: await metered(gateway.proc.pid, () => run("gateway", { concurrency: 64 })),
};
const throughput = { forwarder: closedLoop.forwarder.result, gateway: closedLoop.gateway.result };
await gateway.proc.stop();
forwarder.stop();
fn.stop();
await registry.close();

const f = (n: number, d = 2): string => n.toFixed(d);
const ratio = throughput.gateway.rate / throughput.forwarder.rate;
// With two cores the load generator, the function and etcd share core 1, which may limit a closed
// loop before core 0 does: requests per busy second of core 0 show the cost per request as well.
const perCore = (u: Usage<LoadResult>): number => u.result.rate / u.cores;
const rows = [
  {
    figure: "sync throughput, closed loop (64 in flight), requests/s",
    value: `${f(throughput.gateway.rate, 0)} (gateway)`,
    baseline: `${f(throughput.forwarder.rate, 0)} (node:http + undici forwarder); per busy core ${f(perCore(closedLoop.gateway), 0)} / ${f(perCore(closedLoop.forwarder), 0)} (cores busy ${f(closedLoop.gateway.cores)} / ${f(closedLoop.forwarder.cores)})`,
    ratio: f(ratio),
    target: "≥ 0.9 × forwarder",
    verdict: ratio >= 0.9 ? ("met" as const) : ("missed" as const),
  } as Row,
];
for (const rate of [1000, 5000]) {
  const direct = paced[rate]?.direct;
  const gw = paced[rate]?.gateway;
  const fw = paced[rate]?.forwarder;
  if (!direct || !gw || !fw) continue;
  const p = { direct, gateway: gw, forwarder: fw };
  const added50 = p.gateway.latencyMs.p50 - p.direct.latencyMs.p50;
  const added99 = p.gateway.latencyMs.p99 - p.direct.latencyMs.p99;
  rows.push({
    figure: `added latency at ${rate}/s paced, p50 / p90 / p99 / p99.9 ms (gateway − direct)`,
    value: [0.5, 0.9, 0.99, 0.999].map((q) => f(pick(p.gateway, q) - pick(p.direct, q), 3)).join(" / "),
    baseline: `direct ${[0.5, 0.9, 0.99, 0.999].map((q) => f(pick(p.direct, q), 3)).join(" / ")}; forwarder adds ${f(p.forwarder.latencyMs.p50 - p.direct.latencyMs.p50, 3)} / ${f(p.forwarder.latencyMs.p99 - p.direct.latencyMs.p99, 3)} (p50/p99)`,
    ratio: f(p.gateway.latencyMs.p99 / p.forwarder.latencyMs.p99),
    target: "p50 ≤ 0.2, p99 ≤ 1 (at 1000/s)",
    verdict:
      rate === 1000
        ? added50 <= 0.2 && added99 <= 1
          ? ("met" as const)
          : ("missed" as const)
        : ("—" as const),
  });
}
for (const rate of [1000, 5000]) {
  const u = usage[rate];
  if (!u) continue;
  const perK = (x: Usage<LoadResult>): number => x.cores / (x.result.rate / 1000);
  rows.push({
    figure: `CPU per 1000 events/s at ${rate}/s paced, cores`,
    value: `${f(perK(u.gateway), 3)} (gateway)`,
    baseline: `${f(perK(u.forwarder), 3)} (forwarder)`,
    ratio: f(perK(u.gateway) / perK(u.forwarder)),
    target: "≤ 0.08",
    verdict: perK(u.gateway) <= 0.08 ? "met" : "missed",
  });
}
const loaded = usage[5000];
rows.push({
  figure: "RSS idle (routes loaded, before any load), MB",
  value: `${f(idleRssMb.gateway, 1)} (gateway)`,
  baseline: `${f(idleRssMb.forwarder, 1)} (forwarder)`,
  ratio: f(idleRssMb.gateway / idleRssMb.forwarder),
  target: "≤ 64",
  verdict: idleRssMb.gateway <= 64 ? "met" : "missed",
});
if (loaded)
  rows.push({
    figure: "RSS peak at 5000/s paced, MB",
    value: `${f(loaded.gateway.maxRssMb, 1)} (gateway)`,
    baseline: `${f(loaded.forwarder.maxRssMb, 1)} (forwarder)`,
    ratio: f(loaded.gateway.maxRssMb / loaded.forwarder.maxRssMb),
    target: "≤ 128",
    verdict: loaded.gateway.maxRssMb <= 128 ? "met" : "missed",
  });
function pick(r: LoadResult, q: number): number {
  return q === 0.5
    ? r.latencyMs.p50
    : q === 0.9
      ? r.latencyMs.p90
      : q === 0.99
        ? r.latencyMs.p99
        : r.latencyMs.p999;
}
report("sync-hop", rows, {
  cores: {
    gateway: "core 0",
    forwarder: "core 0 (measured separately)",
    function: "core 1",
    "load generator and etcd": loadCores,
  },
  closedLoopCoresUsed: { gateway: closedLoop.gateway.cores, forwarder: closedLoop.forwarder.cores },
  seconds,
  throughput,
  paced,
  idleRssMb,
  usage: Object.fromEntries(
    Object.entries(usage).map(([rate, u]) => [
      rate,
      {
        gateway: { cores: u.gateway.cores, maxRssMb: u.gateway.maxRssMb },
        forwarder: { cores: u.forwarder.cores, maxRssMb: u.forwarder.maxRssMb },
      },
    ]),
  ),
});
process.exit(0);
