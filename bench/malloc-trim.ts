// What glibc's malloc keeps of the memory the gateway and the bare Node forwarder (node:http in,
// undici out) freed: each alone on core 0 in a 128 MiB memory cgroup, the working set idle, at
// the end of 1000/s paced, then after glibc's malloc_trim(0), called in the process from gdb
// (Node 24 has no call for it); then after a closed-loop burst (64 in flight) and 15 s quiet, and
// after malloc_trim(0) again. What the call gives back is free memory glibc held in the middle of
// its arenas: the part of the working set-at-1000/s and after-a-burst goals that is neither V8's
// heap nor anything the process still uses. Needs gdb (Debian's package); without it, says so and
// writes nothing.
//   node bench/malloc-trim.ts [--runs 2]
import { execFileSync, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  eventHeaders,
  load,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
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

/** The working set at each step, MiB. */
interface Trimmed {
  idle: number;
  paced: number;
  pacedTrimmed: number;
  burst: number;
  afterBurst: number;
  afterBurstTrimmed: number;
}

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
  await load({ url, headers, body, okStatus: 200, seconds: 10, ratePerSecond: 1000 });
  const paced = cgroup.workingSetMb();
  trim(pid);
  const pacedTrimmed = cgroup.workingSetMb();
  await load({ url, headers, body, okStatus: 200, seconds: 5, concurrency: 64 });
  const burst = cgroup.workingSetMb();
  // The gateway's memory-reducing collection runs after a quiet --idle-reclaim interval (5 s).
  await sleep(QUIET_MS);
  const afterBurst = cgroup.workingSetMb();
  trim(pid);
  return { idle, paced, pacedTrimmed, burst, afterBurst, afterBurstTrimmed: cgroup.workingSetMb() };
};

pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");
compile(PROJECTS.programs);
const samples: { forwarder: Trimmed[]; gateway: Trimmed[] } = { forwarder: [], gateway: [] };
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
    const cgG = memoryCgroup("trim-gateway", LIMIT);
    const gateway = await startGateway({
      etcd: registry.etcd.url,
      clusterName: registry.cluster,
      dir: registry.dir,
      name: `trim-${i}`,
      compiled: true,
      prefix: [...cgG.prefix, ...pinned("0")],
    });
    try {
      await routesLoaded(gateway);
      samples.gateway.push(await measure(gateway.proc.pid, `${gateway.url}/`, cgG));
    } finally {
      await gateway.proc.stop();
      cgG.remove();
    }
  }
} finally {
  await fn.stop();
  await registry.close();
}

const range = (xs: number[]) => {
  const lo = Math.min(...xs).toFixed(1);
  const hi = Math.max(...xs).toFixed(1);
  return lo === hi ? lo : `${lo}–${hi}`;
};
const row = (figure: string, step: keyof Trimmed, trimmed: keyof Trimmed): Row => ({
  figure,
  value: `${range(samples.gateway.map((s) => s[step]))} → ${range(samples.gateway.map((s) => s[trimmed]))}`,
  baseline: `forwarder ${range(samples.forwarder.map((s) => s[step]))} → ${range(samples.forwarder.map((s) => s[trimmed]))}`,
  ratio: "—",
  target: "—",
  verdict: "—",
});
report(
  "malloc-trim",
  [
    {
      figure: "working set idle, MiB (128 MiB cgroup)",
      value: range(samples.gateway.map((s) => s.idle)),
      baseline: `forwarder ${range(samples.forwarder.map((s) => s.idle))}`,
      ratio: "—",
      target: "—",
      verdict: "—",
    },
    row("working set at the end of 1000/s → after malloc_trim(0), MiB", "paced", "pacedTrimmed"),
    row(
      "working set 15 s after a closed-loop burst → after malloc_trim(0), MiB",
      "afterBurst",
      "afterBurstTrimmed",
    ),
  ],
  { runs, limitMiB: LIMIT / 2 ** 20, quietMs: QUIET_MS, samples },
);
