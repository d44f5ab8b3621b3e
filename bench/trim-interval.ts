// What the gateway's --malloc-trim interval trades: the gateway alone on core 0 in a 128 MiB
// memory cgroup, 10 s at 1000/s to warm up, then 20 s at 1000/s with its working set read every
// 500 ms; its latency over those 20 s (p50, p99, p99.9) and its trims, for each interval in
// turn (1 s, 5 s, off), `--runs` rounds alternating. A trim holds each malloc arena's lock while
// it trims it, so a malloc on the event loop waits for it (docs/gateway.md): the more often, the
// more requests meet such a pause.
//   node bench/trim-interval.ts [--runs 2]
import { parseArgs } from "node:util";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  type LoadResult,
  load,
  pin,
  type Row,
  report,
  SYNC_EVENT,
  spread,
  withBenchGateway,
} from "./lib.ts";
import { startBenchFunction } from "./subjects/index.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2" } } });
const runs = Number(values.runs);
const LIMIT = 128 * 2 ** 20;
const INTERVALS = ["1s", "5s", "0"] as const;

interface Sample {
  meanMb: number;
  maxMb: number;
  latencyMs: LoadResult["latencyMs"];
  trims: number;
}

pin(process.pid, "1");
compile(PROJECTS.programs);
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
await benchRoute(registry, `http://127.0.0.1:${fn.port}/fn`, "sync");
const { headers, body } = SYNC_EVENT;
const samples: Record<string, Sample[]> = Object.fromEntries(INTERVALS.map((i) => [i, []]));
try {
  for (let round = 0; round < runs; round++)
    for (const interval of INTERVALS) {
      const sample = await withBenchGateway(
        registry,
        {
          name: `trim-interval-${round}-${interval}`,
          limitBytes: LIMIT,
          extraArgs: [`--malloc-trim=${interval}`],
        },
        async (gateway, cgroup): Promise<Sample> => {
          const url = `${gateway.url}/`;
          await load({ url, headers, body, okStatus: 200, seconds: 10, ratePerSecond: 1000 });
          const read: number[] = [];
          const timer = setInterval(() => read.push(cgroup.workingSetMb()), 500);
          const paced = await load({ url, headers, body, okStatus: 200, seconds: 20, ratePerSecond: 1000 });
          clearInterval(timer);
          return {
            meanMb: read.reduce((a, b) => a + b, 0) / read.length,
            maxMb: Math.max(...read),
            latencyMs: paced.latencyMs,
            trims: (await gateway.metric("switchboard_gateway_malloc_trims_total")) ?? 0,
          };
        },
      );
      samples[interval]?.push(sample);
    }
} finally {
  await fn.stop();
  await registry.close();
}

const rows: Row[] = INTERVALS.map((interval) => {
  const xs = samples[interval] ?? [];
  const of = (f: (s: Sample) => number, digits = 1) => spread(xs.map(f), digits);
  return {
    figure: `--malloc-trim=${interval}: working set over 20 s at 1000/s, mean / highest MiB; total latency p50 / p99 / p99.9 ms; trims`,
    value: `${of((s) => s.meanMb)} / ${of((s) => s.maxMb)}; ${of((s) => s.latencyMs.p50, 3)} / ${of((s) => s.latencyMs.p99, 2)} / ${of((s) => s.latencyMs.p999, 2)}; ${of((s) => s.trims, 0)}`,
    baseline: "—",
    ratio: "—",
    target: "—",
    verdict: "—",
  };
});
report("trim-interval", rows, { runs, limitMiB: LIMIT / 2 ** 20, samples });
