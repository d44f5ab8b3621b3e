// The registry client's cost in a process that only watches the registry (bench/registry-watcher.ts):
// etcd3 (gRPC) against the HTTP/JSON client over undici. etcd holds N subscriptions
// (bench/resync-records.ts); each client starts `--runs` times, alternating, in a memory cgroup of
// its own; figures are medians: the first list + load (listing start → first snapshot), process
// start → first snapshot, and after `--idle` seconds of watching, RSS and the working set (usage −
// inactive file, what the kubelet evicts on).
//   node bench/registry-client.ts [--subscriptions 100000] [--runs 5] [--idle 5]
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { memoryCgroup } from "../e2e/cgroup.ts";
import { repoRoot } from "../e2e/tools.ts";
import { benchRegistry, type Row, report, rssMb } from "./lib.ts";
import { seedSubscriptions } from "./resync-records.ts";

const { values } = parseArgs({
  options: {
    subscriptions: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    idle: { type: "string", default: "5" },
  },
});
const runs = Number(values.runs);
const idleMs = Number(values.idle) * 1000;
const KINDS = ["etcd3", "http"] as const;
type Kind = (typeof KINDS)[number];

interface Sample {
  listMs: number;
  readyMs: number;
  records: number;
  rssMb: number;
  workingSetMb: number;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const registry = await benchRegistry();
const seeded = await seedSubscriptions(registry.client, registry.cluster, Number(values.subscriptions));

const measure = async (kind: Kind, i: number): Promise<Sample> => {
  const cgroup = memoryCgroup(`registry-client-${process.pid}-${kind}-${i}`, 2 ** 30);
  const child = spawn(
    cgroup.prefix[0] ?? "sh",
    [...cgroup.prefix.slice(1), process.execPath, "bench/registry-watcher.ts", kind, registry.etcd.url],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const [line] = await createInterface({ input: child.stdout })
      [Symbol.asyncIterator]()
      .next()
      .then((r) => [r.value]);
    const ready = JSON.parse(String(line)) as { listMs: number; readyMs: number; records: number };
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return { ...ready, rssMb: rssMb(child.pid ?? 0), workingSetMb: cgroup.workingSetMb() };
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    cgroup.remove();
  }
};

const samples: Record<Kind, Sample[]> = { etcd3: [], http: [] };
try {
  for (let i = 0; i < runs; i++) for (const kind of KINDS) samples[kind].push(await measure(kind, i));
} finally {
  await registry.close();
}

const row = (figure: string, key: keyof Sample, digits: number): Row => {
  const [grpc = 0, http = 0] = KINDS.map((kind) => median(samples[kind].map((s) => s[key])));
  return {
    figure,
    value: http.toFixed(digits),
    baseline: `etcd3 ${grpc.toFixed(digits)}`,
    ratio: `${(http / grpc).toFixed(2)}×`,
    target: "—",
    verdict: "—",
  };
};
const records = samples.http[0]?.records ?? 0;
report(
  "registry-client",
  [
    row(`first list + load of ${records} records, ms (HTTP client; median of ${runs})`, "listMs", 0),
    row("process start → first snapshot, ms", "readyMs", 0),
    row(`idle RSS after ${values.idle} s of watching, MiB`, "rssMb", 1),
    row(`idle working set (memory cgroup), MiB`, "workingSetMb", 1),
  ],
  { runs, idleMs, seed: seeded, samples },
);
process.exit(0);
