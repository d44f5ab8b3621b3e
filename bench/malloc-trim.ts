// What glibc's malloc keeps of the memory the gateway and the bare Node forwarder (node:http in,
// undici out) freed, and what giving it back costs. Each subject alone on core 0 in a 128 MiB
// memory cgroup: the working set idle, at the end of 1000/s paced (with the CPU per request and the
// latency over those 10 s), then after glibc's malloc_trim(0), called in the process from gdb
// (Node 24 has no call for it); then after a closed-loop burst (64 in flight, its rate kept) and
// 15 s quiet, and after malloc_trim(0) again. What the call gives back is free memory glibc held
// in the middle of its arenas. Two more subjects are the gateway with malloc_trim(0) called every
// second by a small Node-API module (bench/subjects/malloc-trim, built with the machine's C
// compiler and Node's headers), on its event loop and on a thread of libuv's pool, to see what
// calling it would save and cost. Needs gdb (Debian's package); without it, says so and writes
// nothing. Without a C compiler the trimming subjects are left out.
//   node bench/malloc-trim.ts [--runs 2]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { programArgs } from "../e2e/programs.ts";
import { repoRoot } from "../e2e/tools.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  cpuSeconds,
  eventHeaders,
  load,
  type MallocTrimStep,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
  spread,
  type MallocTrimSample as Trimmed,
} from "./lib.ts";
import { startBenchFunction, startForwarder } from "./subjects/index.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2" } } });
const runs = Number(values.runs);
const LIMIT = 128 * 2 ** 20;
const QUIET_MS = 15_000;
const EVERY_MS = 1000;

if (spawnSync("gdb", ["--version"]).status !== 0) {
  console.error("malloc-trim: gdb is not installed (apt-get install gdb): left out");
  process.exit(0);
}

/** The Node-API module, built with the machine's C compiler against the running Node's headers; undefined without a compiler. */
const buildAddon = (): string | undefined => {
  const headers = join(dirname(dirname(process.execPath)), "include", "node");
  const out = join(repoRoot, ".work", "bin", "malloc-trim.node");
  mkdirSync(dirname(out), { recursive: true });
  const src = join(repoRoot, "bench", "subjects", "malloc-trim", "trim.c");
  const built = spawnSync("cc", ["-O2", "-shared", "-fPIC", `-I${headers}`, "-o", out, src], {
    stdio: "inherit",
  });
  if (built.status === 0 && existsSync(out)) return out;
  console.error(
    "malloc-trim: no C compiler or Node headers: the gateways trimming every second are left out",
  );
  return undefined;
};

const headers = eventHeaders("bench.event", { id: "b" });
const body = JSON.stringify({ order: 42, items: ["a", "b"] });
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
const addon = buildAddon();
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");
compile(PROJECTS.programs);

/** How the gateway runs: as it ships, or calling malloc_trim(0) every EVERY_MS on its event loop or on a pool thread. */
type Mode = "plain" | "loop" | "offLoop";

const gatewayRun = async (i: number, mode: Mode): Promise<Trimmed> => {
  const cgroup = memoryCgroup("trim-gateway", LIMIT);
  const stats = join(registry.dir, `trims-${i}-${mode}.json`);
  const env =
    mode !== "plain" && addon
      ? [
          "env",
          `MALLOC_TRIM_ADDON=${addon}`,
          `MALLOC_TRIM_EVERY_MS=${EVERY_MS}`,
          `MALLOC_TRIM_OFF_LOOP=${mode === "offLoop" ? "1" : "0"}`,
          `MALLOC_TRIM_STATS=${stats}`,
        ]
      : [];
  const preload = join(repoRoot, "bench", "subjects", "malloc-trim", "every.cjs");
  const gateway = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir: registry.dir,
    name: `trim-${i}-${mode.toLowerCase()}`,
    compiled: true,
    prefix: [...cgroup.prefix, ...pinned("0"), ...env],
    ...(mode !== "plain" && {
      entry: [process.execPath, ...programArgs("gateway", true, ["--require", preload])],
    }),
  });
  let run: Trimmed;
  try {
    await routesLoaded(gateway);
    run = await measure(gateway.proc.pid, `${gateway.url}/`, cgroup);
  } finally {
    await gateway.proc.stop();
    cgroup.remove();
  }
  return existsSync(stats) ? { ...run, trims: JSON.parse(readFileSync(stats, "utf8")) } : run;
};

const samples: Record<"forwarder" | "gateway" | "trimming" | "trimmingOffLoop", Trimmed[]> = {
  forwarder: [],
  gateway: [],
  trimming: [],
  trimmingOffLoop: [],
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
    samples.gateway.push(await gatewayRun(i, "plain"));
    if (addon) {
      samples.trimming.push(await gatewayRun(i, "loop"));
      samples.trimmingOffLoop.push(await gatewayRun(i, "offLoop"));
    }
  }
} finally {
  await fn.stop();
  await registry.close();
}

const of = (who: Trimmed[], f: (s: Trimmed) => number, digits = 1) => spread(who.map(f), digits);
const trimmedRow = (figure: string, step: MallocTrimStep, after: MallocTrimStep): Row => ({
  figure,
  value: `${of(samples.gateway, (s) => s[step])} → ${of(samples.gateway, (s) => s[after])}`,
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
const callsOf = (xs: Trimmed[]) =>
  `${spread(
    xs.map((s) => (s.trims ? s.trims.totalMs / s.trims.calls : Number.NaN)),
    2,
  )} / ${spread(
    xs.map((s) => s.trims?.maxMs ?? Number.NaN),
    2,
  )}`;
const trimmingRows = (xs: Trimmed[], where: string, call: string): Row[] =>
  xs.length === 0
    ? []
    : [
        info(
          `gateway trimming every ${EVERY_MS / 1000} s ${where}: working set idle / end of 1000/s / 15 s after the burst, MiB`,
          memoryOf(xs),
          `without: ${memoryOf(samples.gateway)}`,
        ),
        info(
          `gateway trimming ${where}: CPU per request at 1000/s, µs (all threads) / p50 / p99 ms / closed loop req/s`,
          costOf(xs),
          `without: ${costOf(samples.gateway)}`,
        ),
        info(`gateway trimming ${where}: ${call}, mean / longest ms`, callsOf(xs), "—"),
      ];
report(
  "malloc-trim",
  [
    info(
      "working set idle, MiB (128 MiB cgroup)",
      of(samples.gateway, (s) => s.idle),
      `forwarder ${of(samples.forwarder, (s) => s.idle)}`,
    ),
    trimmedRow("working set at the end of 1000/s → after malloc_trim(0), MiB", "paced", "pacedTrimmed"),
    trimmedRow(
      "working set 15 s after a closed-loop burst → after malloc_trim(0), MiB",
      "afterBurst",
      "afterBurstTrimmed",
    ),
    ...trimmingRows(samples.trimming, "on the event loop", "the loop stopped per call"),
    ...trimmingRows(samples.trimmingOffLoop, "on a pool thread", "a call from start to its promise"),
  ],
  { runs, limitMiB: LIMIT / 2 ** 20, quietMs: QUIET_MS, trimEveryMs: EVERY_MS, samples },
);
