// What glibc's malloc keeps of the memory the gateway and the bare Node forwarder (node:http in,
// undici out) freed, and what the gateway's own trimming (--malloc-trim, common/malloc-trim.ts)
// gives back and costs. Each subject alone on core 0 in a 128 MiB memory cgroup: the working set
// idle, at the end of 1000/s paced (with the CPU per request and the latency over those 10 s),
// then after glibc's malloc_trim(0), called in the process from gdb; then after a closed-loop
// burst (64 in flight, its rate kept) and 15 s quiet, and after malloc_trim(0) again. What the
// call gives back is free memory glibc held in the middle of its arenas. Three subjects: the
// forwarder, the gateway with --malloc-trim=0 (what glibc keeps without it), and the gateway as it
// ships, trimming itself after busy intervals (what is left for gdb's call is what its own
// trimming missed). Needs gdb (Debian's package); without it, says so and writes nothing.
//   node bench/malloc-trim.ts [--runs 2]
import { execFileSync, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import type { GatewayProcess } from "../e2e/gateway.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  cpuSeconds,
  load,
  type MallocTrimStep,
  pin,
  type Row,
  report,
  SYNC_EVENT,
  spread,
  type MallocTrimSample as Trimmed,
  withBenchGateway,
} from "./lib.ts";
import { startBenchFunction, startForwarder } from "./subjects/index.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2" } } });
const runs = Number(values.runs);
const LIMIT = 128 * 2 ** 20;
const QUIET_MS = 15_000;

if (spawnSync("gdb", ["--version"]).status !== 0) {
  console.error("malloc-trim: gdb is not installed (apt-get install gdb): left out");
  process.exit(0);
}

const { headers, body } = SYNC_EVENT;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** glibc's malloc_trim(0) in process `pid`: every arena's free pages given back to the kernel. */
const trim = (pid: number): void => {
  execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "call (int)malloc_trim(0)"], { stdio: "pipe" });
};

const measure = async (pid: number, url: string, cgroup: MemoryCgroup): Promise<Trimmed> => {
  await sleep(10_000);
  const idle = cgroup.workingSetMb();
  await load({ url, headers, body, okStatus: 200, seconds: 5, ratePerSecond: 1000 }); // warm-up
  const cpuBefore = cpuSeconds(pid);
  const paced = await load({ url, headers, body, okStatus: 200, seconds: 10, ratePerSecond: 1000 });
  const pacedCpuUs = ((cpuSeconds(pid) - cpuBefore) / paced.ok) * 1e6;
  const pacedMb = cgroup.workingSetMb();
  trim(pid);
  const pacedTrimmed = cgroup.workingSetMb();
  const burst = await load({ url, headers, body, okStatus: 200, seconds: 5, concurrency: 64 });
  // The gateway's memory-reducing collection runs after a quiet --idle-reclaim interval (5 s).
  await sleep(QUIET_MS);
  const afterBurst = cgroup.workingSetMb();
  trim(pid);
  return {
    idle,
    paced: pacedMb,
    pacedTrimmed,
    afterBurst,
    afterBurstTrimmed: cgroup.workingSetMb(),
    pacedCpuUs,
    pacedLatency: paced.latencyMs,
    burstRate: burst.rate,
  };
};

pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");
compile(PROJECTS.programs);

/** The gateway's own trims over a round, from its metrics. */
const trimsOf = async (gateway: GatewayProcess): Promise<NonNullable<Trimmed["trims"]>> => ({
  calls: (await gateway.metric("switchboard_gateway_malloc_trims_total")) ?? 0,
  totalMs: ((await gateway.metric("switchboard_gateway_malloc_trim_seconds_total")) ?? 0) * 1000,
  releasedMb: ((await gateway.metric("switchboard_gateway_malloc_trim_released_bytes_total")) ?? 0) / 2 ** 20,
});

/** The gateway as it ships (trimming itself), or with --malloc-trim=0. */
const gatewayRun = (i: number, trimming: boolean): Promise<Trimmed> =>
  withBenchGateway(
    registry,
    {
      name: `trim-${i}-${trimming ? "shipped" : "off"}`,
      limitBytes: LIMIT,
      ...(!trimming && { extraArgs: ["--malloc-trim=0"] }),
    },
    async (gateway, cgroup) => {
      const run = await measure(gateway.proc.pid, `${gateway.url}/`, cgroup);
      return trimming ? { ...run, trims: await trimsOf(gateway) } : run;
    },
  );

const samples: Record<"forwarder" | "untrimmed" | "gateway", Trimmed[]> = {
  forwarder: [],
  untrimmed: [],
  gateway: [],
};
try {
  for (let i = 0; i < runs; i++) {
    const cgF = memoryCgroup("trim-forwarder", LIMIT);
    const forwarder = await startForwarder(fnUrl, "0", cgF);
    try {
      samples.forwarder.push(await measure(forwarder.pid, `http://127.0.0.1:${forwarder.port}/`, cgF));
    } finally {
      await forwarder.stop();
      cgF.remove();
    }
    samples.untrimmed.push(await gatewayRun(i, false));
    samples.gateway.push(await gatewayRun(i, true));
  }
} finally {
  await fn.stop();
  await registry.close();
}

const of = (who: Trimmed[], f: (s: Trimmed) => number, digits = 1) => spread(who.map(f), digits);
const trimmedRow = (figure: string, step: MallocTrimStep, after: MallocTrimStep): Row => ({
  figure,
  value: `${of(samples.untrimmed, (s) => s[step])} → ${of(samples.untrimmed, (s) => s[after])}`,
  baseline: `forwarder ${of(samples.forwarder, (s) => s[step])} → ${of(samples.forwarder, (s) => s[after])}`,
  ratio: "—",
  target: "—",
  verdict: "—",
});
const info = (figure: string, value: string, baseline: string): Row => ({
  figure,
  value,
  baseline,
  ratio: "—",
  target: "—",
  verdict: "—",
});
const memoryOf = (xs: Trimmed[]) =>
  [of(xs, (s) => s.idle), of(xs, (s) => s.paced), of(xs, (s) => s.afterBurst)].join(" / ");
const costOf = (xs: Trimmed[]) =>
  [
    of(xs, (s) => s.pacedCpuUs, 0),
    of(xs, (s) => s.pacedLatency.p50, 3),
    of(xs, (s) => s.pacedLatency.p99, 2),
    of(xs, (s) => s.burstRate, 0),
  ].join(" / ");
const trims = samples.gateway.map((s) => s.trims ?? { calls: 0, totalMs: 0, releasedMb: 0 });
report(
  "malloc-trim",
  [
    info(
      "working set idle, MiB (128 MiB cgroup), gateway with --malloc-trim=0",
      of(samples.untrimmed, (s) => s.idle),
      `forwarder ${of(samples.forwarder, (s) => s.idle)}`,
    ),
    trimmedRow(
      "gateway with --malloc-trim=0: working set at the end of 1000/s → after malloc_trim(0) from gdb, MiB",
      "paced",
      "pacedTrimmed",
    ),
    trimmedRow(
      "gateway with --malloc-trim=0: working set 15 s after a closed-loop burst → after malloc_trim(0) from gdb, MiB",
      "afterBurst",
      "afterBurstTrimmed",
    ),
    info(
      "gateway as it ships (--malloc-trim at its default): working set idle / end of 1000/s / 15 s after the burst, MiB",
      memoryOf(samples.gateway),
      `--malloc-trim=0: ${memoryOf(samples.untrimmed)}`,
    ),
    info(
      "gateway as it ships: what gdb's malloc_trim(0) still gave back at the end of 1000/s / after the burst, MiB",
      `${of(samples.gateway, (s) => s.paced - s.pacedTrimmed)} / ${of(samples.gateway, (s) => s.afterBurst - s.afterBurstTrimmed)}`,
      `--malloc-trim=0: ${of(samples.untrimmed, (s) => s.paced - s.pacedTrimmed)} / ${of(samples.untrimmed, (s) => s.afterBurst - s.afterBurstTrimmed)}`,
    ),
    info(
      "gateway as it ships: CPU per request at 1000/s, µs (all threads) / p50 / p99 ms / closed loop req/s",
      costOf(samples.gateway),
      `--malloc-trim=0: ${costOf(samples.untrimmed)}`,
    ),
    info(
      "gateway as it ships: its own trims per round, calls / mean ms on a pool thread / MiB given back",
      `${spread(
        trims.map((t) => t.calls),
        0,
      )} / ${spread(
        trims.map((t) => (t.calls > 0 ? t.totalMs / t.calls : Number.NaN)),
        2,
      )} / ${spread(trims.map((t) => t.releasedMb))}`,
      "—",
    ),
  ],
  { runs, limitMiB: LIMIT / 2 ** 20, quietMs: QUIET_MS, samples },
);
