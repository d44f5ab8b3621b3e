// Idle memory of the gateway: the TypeScript sources run by Node (type stripping at every start)
// against the compiled JavaScript the image ships (built first, as `npm run build` does; run with
// --enable-source-maps as the image's entry point does), and for scale the compiled programs
// without source maps; and the working set again after one request to an admin route (POST
// /explain, refused without a credential), which must not load more code for the rest of the
// process's life. Each variant starts `--runs` times,
// alternating, with routes loaded, then idles; figures are medians. RSS comes from /proc; the
// working set (usage − inactive file, what the kubelet evicts on) from a memory cgroup v1 made
// for each process under /sys/fs/cgroup/memory when that hierarchy is writable, removed after.
//   node bench/memory.ts [--runs 3] [--idle 5]
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startGateway } from "../e2e/gateway.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import { benchRegistry, benchRoute, type Row, report, routesLoaded, rssMb } from "./lib.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, idle: { type: "string", default: "5" } },
});
const runs = Number(values.runs);
const idleMs = Number(values.idle) * 1000;
const CGROUPS = "/sys/fs/cgroup/memory";

/** A fresh memory cgroup v1, or undefined when the hierarchy is missing or read-only. */
const memoryCgroup = (name: string): string | undefined => {
  if (!existsSync(join(CGROUPS, "cgroup.procs"))) return undefined;
  const dir = join(CGROUPS, name);
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return undefined;
  }
};

type Variant = "ts" | "js" | "jsNoMaps";

/** The command prefix: into the cgroup first, and for jsNoMaps with source maps turned off. */
const prefixFor = (variant: Variant, cgroup: string | undefined): string[] => {
  const args = variant === "jsNoMaps" ? `"\${@/#--enable-source-maps/--no-enable-source-maps}"` : `"$@"`;
  const enter = cgroup ? `echo $$ > ${cgroup}/cgroup.procs && ` : "";
  return ["bash", "-c", `${enter}exec "$0" ${args}`];
};

/** usage − total_inactive_file of cgroup `dir`, in MB (the kubelet's working set). */
const workingSetMb = (dir: string): number => {
  const usage = Number(readFileSync(join(dir, "memory.usage_in_bytes"), "utf8"));
  const inactive = /^total_inactive_file (\d+)$/m.exec(readFileSync(join(dir, "memory.stat"), "utf8"))?.[1];
  return (usage - Number(inactive ?? 0)) / 2 ** 20;
};

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface Sample {
  readyMs: number;
  rssMb: number;
  workingSetMb: number;
  /** The working set after one POST /explain and another idle interval. */
  afterAdminMb: number;
}

compile(PROJECTS.programs);
const registry = await benchRegistry();
await benchRoute(registry, "http://127.0.0.1:9/fn", "sync");

const measure = async (variant: Variant, i: number): Promise<Sample> => {
  const cgroup = memoryCgroup(`switchboard-bench-${process.pid}-${variant}-${i}`);
  const t0 = performance.now();
  const gw = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir: registry.dir,
    name: `memory-${variant.toLowerCase()}-${i}`,
    compiled: variant !== "ts",
    prefix: prefixFor(variant, cgroup),
  });
  try {
    await routesLoaded(gw);
    const readyMs = performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const sample = {
      readyMs,
      rssMb: rssMb(gw.proc.pid),
      workingSetMb: cgroup ? workingSetMb(cgroup) : Number.NaN,
    };
    const refused = await fetch(`${gw.adminUrl}/explain?vpn=bench`, { method: "POST", body: "{}" });
    await refused.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return { ...sample, afterAdminMb: cgroup ? workingSetMb(cgroup) : Number.NaN };
  } finally {
    await gw.proc.stop();
    if (cgroup) rmdirSync(cgroup);
  }
};

const samples: Record<Variant, Sample[]> = { ts: [], js: [], jsNoMaps: [] };
try {
  for (let i = 0; i < runs; i++)
    for (const variant of ["ts", "js", "jsNoMaps"] as const) samples[variant].push(await measure(variant, i));
} finally {
  await registry.close();
}

const fig = (key: keyof Sample) => {
  const [ts, js, noMaps] = (["ts", "js", "jsNoMaps"] as const).map((v) =>
    median(samples[v].map((s) => s[key])),
  );
  return {
    value: `${js?.toFixed(0)} (no source maps ${noMaps?.toFixed(0)})`,
    baseline: `sources ${ts?.toFixed(0)}`,
    ratio: `${((js ?? 0) / (ts ?? 1)).toFixed(2)}×`,
  };
};
const rssTarget = 64;
const rss = fig("rssMb");
const rows: Row[] = [
  {
    figure: "gateway idle RSS, MB: compiled with source maps (the image)",
    ...rss,
    target: `≤ ${rssTarget}`,
    verdict: Number.parseFloat(rss.value) <= rssTarget ? "met" : "missed",
  },
  {
    figure: "gateway idle working set (memory cgroup v1), MB",
    ...fig("workingSetMb"),
    target: "—",
    verdict: "—",
  },
  {
    figure: "gateway idle working set after one admin request (POST /explain), MB",
    ...fig("afterAdminMb"),
    target: "—",
    verdict: "—",
  },
  { figure: "gateway start → routes loaded, ms", ...fig("readyMs"), target: "—", verdict: "—" },
];
report("memory", rows, { runs, idleMs, samples });
