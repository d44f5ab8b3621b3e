// Shared pieces of the benchmarks: real etcd with registry records, gateways pinned to a core,
// an open- or closed-loop load generator, percentiles, and the results table.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import { type Etcd, startEtcd } from "../e2e/etcd.ts";
import { type GatewayProcess, startGateway } from "../e2e/gateway.ts";
import { procStat, waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import type { SubscriptionRecord } from "../registry/types.ts";
import { openWriter, type RegistryWriter } from "../registry/writer/index.ts";

const execFileAsync = promisify(execFile);

export const TOKEN = "bench-token";

export interface Registry {
  etcd: Etcd;
  client: Etcd3;
  writer: RegistryWriter;
  dir: string;
  cluster: string;
  close(): Promise<void>;
}

/** Starts etcd in a scratch directory and opens a registry writer on it. */
export const benchRegistry = async (cluster = "bench"): Promise<Registry> => {
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, ".work", "bench-"));
  const etcd = await startEtcd(dir);
  const client = new Etcd3({ hosts: etcd.url });
  const writer = await openWriter({ client, cluster, identity: "bench" });
  return {
    etcd,
    client,
    writer,
    dir,
    cluster,
    close: async () => {
      writer.close();
      client.close();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Writes a VPN "bench" (namespace "bench", publisher TOKEN), a function at `url` and a subscription of `mode` to it. */
export const benchRoute = async (r: Registry, url: string, mode: "async" | "sync"): Promise<void> => {
  const owner = (name: string, namespace?: string) => ({
    cluster: r.cluster,
    uid: `u-${name}`,
    generation: 1,
    name,
    ...(namespace ? { namespace } : {}),
  });
  const tokenSha256 = createHash("sha256").update(TOKEN).digest("hex");
  await r.writer.sync(
    { kind: "vpn", name: "bench" },
    {
      schema: 1,
      kind: "vpn",
      vpn: "bench",
      owner: owner("bench"),
      spec: { namespaces: ["bench"], publishers: [{ name: "bench", tokenSha256 }], limits: {} },
    },
  );
  await r.writer.sync(
    { kind: "function", namespace: "bench", name: "fn" },
    {
      schema: 1,
      kind: "function",
      vpn: "bench",
      owner: owner("fn", "bench"),
      spec: { endpoints: [url], timeoutMs: 5000, concurrency: 1000, headers: {} },
    },
  );
  await r.writer.sync(
    { kind: "subscription", namespace: "bench", name: "sub" },
    benchSubscription(r.cluster, "sub", "bench.event", mode),
  );
};

/** Subscription `name` of VPN "bench" to function bench/fn for events of type `type`. */
export const benchSubscription = (
  cluster: string,
  name: string,
  type: string,
  mode: "async" | "sync" = "async",
): SubscriptionRecord => ({
  schema: 1,
  kind: "subscription",
  vpn: "bench",
  owner: { cluster, uid: `u-${name}`, generation: 1, name, namespace: "bench" },
  spec: {
    function: { namespace: "bench", name: "fn" },
    mode,
    filters: [{ exact: { type } }],
    delivery: { retry: 3, backoffPolicy: "exponential", backoffDelayMs: 50, maxBackoffMs: 1000 },
  },
});

/** Binary-mode CloudEvent headers (JSON data) for an event of `type` published with TOKEN. */
export const eventHeaders = (
  type = "bench.event",
  { id = "bench-1", source = "/bench" }: { id?: string; source?: string } = {},
): Record<string, string> => ({
  authorization: `Bearer ${TOKEN}`,
  "ce-specversion": "1.0",
  "ce-id": id,
  "ce-source": source,
  "ce-type": type,
  "content-type": "application/json",
});

/** The event the sync benches send: a bench.event with a small JSON body. */
export const SYNC_EVENT: { readonly headers: Record<string, string>; readonly body: string } = {
  headers: eventHeaders("bench.event", { id: "b" }),
  body: JSON.stringify({ order: 42, items: ["a", "b"] }),
};

/** Resolves once `gateway` has loaded routes (its config revision is past 0); gives up as waitFor does. */
export const routesLoaded = (gateway: GatewayProcess): Promise<true> =>
  waitFor("routes loaded", async () =>
    ((await gateway.metric("switchboard_gateway_config_revision")) ?? 0) > 0 ? true : undefined,
  );

/**
 * Runs `use` with the compiled gateway of `registry`, alone on core 0 in a fresh memory cgroup
 * of `limitBytes` with `extraArgs`, its routes loaded; then stops it and removes the cgroup.
 */
export const withBenchGateway = async <T>(
  registry: Registry,
  opts: { name: string; limitBytes: number; extraArgs?: string[] },
  use: (gateway: GatewayProcess, cgroup: MemoryCgroup) => Promise<T>,
): Promise<T> => {
  const cgroup = memoryCgroup(opts.name, opts.limitBytes);
  try {
    const gateway = await startGateway({
      etcd: registry.etcd.url,
      clusterName: registry.cluster,
      dir: registry.dir,
      name: opts.name,
      compiled: true,
      prefix: [...cgroup.prefix, ...pinned("0")],
      ...(opts.extraArgs && { extraArgs: opts.extraArgs }),
    });
    try {
      await routesLoaded(gateway);
      return await use(gateway, cgroup);
    } finally {
      await gateway.proc.stop();
    }
  } finally {
    cgroup.remove();
  }
};

/** `taskset -c CORES` prefix when taskset exists (pins a process to cores), else nothing. */
export const pinned = (cores: string): string[] => {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return ["taskset", "-c", cores];
  } catch {
    return [];
  }
};

/**
 * Moves every thread of process `pid` to `cores` (when taskset exists) and says where it runs. The
 * benchmarks move themselves (the load generator) and etcd off the core of the process under test.
 */
export const pin = (pid: number, cores: string): string => {
  if (pinned(cores).length === 0) return "unpinned (no taskset)";
  execFileSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { stdio: "ignore" });
  return `core ${cores} (taskset)`;
};

export interface LoadResult {
  requests: number;
  ok: number;
  errors: number;
  seconds: number;
  rate: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number };
  /** Answers by status code ("202": n), and requests without an answer by kind (refused, reset, timeout, other). */
  statuses: Record<string, number>;
  failures: Record<string, number>;
}

/** Percentile `p` (0–1) of sorted `values`. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  okStatus: number;
  seconds: number;
  /** Closed loop: this many requests in flight at all times. */
  concurrency?: number;
  /** Open loop: requests started at this uniform rate, whatever the answers (latency from the scheduled start). */
  ratePerSecond?: number;
  /** A distinct ce-id per request (its header value, the run's start and a counter): a store that deduplicates on source and id keeps every one. */
  uniqueIds?: boolean;
}

/**
 * Where the Go program under bench/subjects/NAME is, built into .work/bin first (Go's build cache
 * makes a rebuild quick) with the machine's Go.
 */
export const goBinary = (name: string): string => {
  const bin = join(repoRoot, ".work", "bin", name);
  execFileSync("go", ["build", "-C", join(repoRoot, "bench/subjects", name), "-o", bin, "."], {
    env: { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0" },
    stdio: "inherit",
  });
  return bin;
};

/**
 * Drives load for `seconds` and measures rate and latency, with the Go load generator
 * (bench/subjects/goload): on the core it shares with the function it costs a fraction of a
 * Node load generator's CPU and adds far less jitter to the latencies it measures. It runs on the
 * cores this process runs on.
 */
export const load = async (opts: LoadOptions): Promise<LoadResult> => {
  const args = ["load", "-url", opts.url, "-seconds", String(opts.seconds), "-ok", String(opts.okStatus)];
  if (opts.ratePerSecond) args.push("-rate", String(opts.ratePerSecond));
  if (opts.uniqueIds) args.push("-unique-ids");
  else args.push("-concurrency", String(opts.concurrency ?? 64));
  for (const [name, value] of Object.entries(opts.headers)) args.push("-header", `${name}: ${value}`);
  args.push("-body", opts.body);
  const { stdout } = await execFileAsync(goload(), args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as LoadResult;
};
let goloadBin: string | undefined;
const goload = (): string => {
  goloadBin ??= goBinary("goload");
  return goloadBin;
};

/** Resident set size of process `pid` in MB (VmRSS of /proc/PID/status). */
export const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
};

/** CPU seconds (user + system) process `pid` has used; /proc reports clock ticks of 1/100 s (USER_HZ on Linux). */
export const cpuSeconds = (pid: number): number => {
  // utime is field 14, stime 15, in clock ticks (100 per second).
  const { fields } = procStat(`/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/**
 * Times the threads of process `pid` have gone to sleep and been woken so far (the sum of each
 * thread's voluntary context switches, /proc/PID/task/TID/status): an idle process's wake-ups.
 */
export const wakeups = (pid: number): number => {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      sum += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return sum;
};

/** CPU seconds process `pid` has used, or undefined once it has ended (e.g. OOM-killed: the run reports the kill). */
export const cpuIfAlive = (pid: number): number | undefined => {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined;
  }
};

/** Resident memory of process `pid` in MB, or undefined once it has ended. */
const rssIfAlive = (pid: number): number | undefined => {
  try {
    return rssMb(pid);
  } catch {
    return undefined;
  }
};

/**
 * CPU seconds used so far by each process whose command line mentions `marker` (a test cluster's
 * directory), by program name (etcd processes by their --name): what each part of a control
 * plane has used.
 */
export const cpuByProgram = (marker: string): Map<string, number> => {
  const out = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!args.some((arg) => arg.includes(marker))) continue;
    const program = args[0]?.split("/").at(-1) ?? "?";
    const etcdName = args.find((arg) => arg.startsWith("--name="))?.slice("--name=".length);
    const name = program === "etcd" && etcdName ? `etcd ${etcdName}` : program;
    try {
      out.set(name, (out.get(name) ?? 0) + cpuSeconds(Number(entry)));
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
};

export interface Usage<T> {
  result: T;
  /** Cores used on average: CPU seconds / wall seconds. */
  cores: number;
  /** Highest RSS seen, sampled every 100 ms, in MB. */
  maxRssMb: number;
}

/**
 * TCP connections open on this machine whose local port is `port` (the server's side), the ones
 * whose client has closed but the server not yet (CLOSE_WAIT) included: what still holds a
 * server's connection slots. Read from /proc/net/tcp and tcp6.
 */
export const openConnections = (port: number): number => {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local = "", , state = ""] = line.trim().split(/\s+/);
      // 01 ESTABLISHED, 08 CLOSE_WAIT.
      if (local.endsWith(`:${hex}`) && (state === "01" || state === "08")) n++;
    }
  }
  return n;
};

/**
 * Resolves once process `pid` has used under 5 % of a core for 500 ms and no connection to
 * `port` (when given) is still open (it has worked off what a run left it: a gateway past its
 * capacity can sit idle while requests wait out a delivery's deadline and retries, each holding a
 * connection), or after `maxMs`; returns how long that took, in ms.
 */
export const settled = async (pid: number, port?: number, maxMs = 60_000): Promise<number> => {
  const start = performance.now();
  for (;;) {
    const cpu0 = cpuIfAlive(pid);
    if (cpu0 === undefined) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 500));
    const cpu1 = cpuIfAlive(pid);
    if (cpu1 === undefined) return performance.now() - start;
    const quiet = cpu1 - cpu0 < 0.025 && (port === undefined || openConnections(port) === 0);
    if (quiet || performance.now() - start >= maxMs) return performance.now() - start;
  }
};

/**
 * Runs `during` while metering process `pid`: its average CPU use and peak RSS. A process that ends
 * meanwhile (an OOM kill) is metered up to its last sample, every 100 ms.
 */
export const metered = async <T>(pid: number, during: () => Promise<T>): Promise<Usage<T>> => {
  const rss = (): number => rssIfAlive(pid) ?? Number.NaN;
  let maxRssMb = rss();
  let lastCpu = cpuIfAlive(pid) ?? Number.NaN;
  const cpu0 = lastCpu;
  const sampler = setInterval(() => {
    const cpu = cpuIfAlive(pid);
    if (cpu === undefined) {
      clearInterval(sampler);
      return;
    }
    lastCpu = cpu;
    maxRssMb = Math.max(maxRssMb, rss());
  }, 100);
  const t0 = performance.now();
  try {
    const result = await during();
    const cores = ((cpuIfAlive(pid) ?? lastCpu) - cpu0) / ((performance.now() - t0) / 1000);
    return { result, cores, maxRssMb: Math.max(maxRssMb, rss()) };
  } finally {
    clearInterval(sampler);
  }
};

export interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: "met" | "missed" | "—";
}

/** Prints a markdown table and writes bench/results/<name>.json. */
export const report = (name: string, rows: Row[], details: Record<string, unknown>): void => {
  const lines = [
    "| figure | value | baseline (same run) | ratio | target | |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) => `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.verdict} |`,
    ),
  ];
  console.log(`\n### ${name}\n\n${lines.join("\n")}\n`);
  mkdirSync(join(repoRoot, "bench", "results"), { recursive: true });
  const file = join(repoRoot, "bench", "results", `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, date: new Date().toISOString(), rows, details }, null, 2)}\n`,
  );
  console.log(`written: ${file}`);
};

/** A DevTools protocol session with the inspector at `url` (ws://…): one call at a time or many, answered by id. */
export const inspectorSession = async (
  url: string,
): Promise<{
  call: <T = Record<string, unknown>>(method: string, params?: object) => Promise<T>;
  close: () => void;
}> => {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (e) => {
    const message = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (message.id === undefined) return;
    pending.get(message.id)?.(message.result ?? {});
    pending.delete(message.id);
  });
  return {
    call: <T>(method: string, params: object = {}): Promise<T> =>
      new Promise((resolve) => {
        id++;
        pending.set(id, resolve as (result: unknown) => void);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
};

/** Where a subject's memory is at the end of a paced run (bench/cost.ts), in MiB. */
export interface CostMemory {
  workingSetMb: number;
  young: number;
  old: number;
  code: number;
  otherHeap: number;
  external: number;
  /** Working set less V8's heap and external memory: Node's and the allocator's own. */
  rest: number;
  /** The old generation's live size after a full collection at the end of the measurement, MiB. */
  liveOld?: number;
}

/** Where a sync request's cost goes in one subject (bench/cost.ts): per request, by owner. */
export interface Cost {
  /** µs of CPU per request by owner, paced and in the closed loop. */
  paced: Record<string, number>;
  closed: Record<string, number>;
  closedRate: number;
  /** The costliest functions of the gateway's own modules in the closed loop, µs of CPU per request (natives they call included). */
  ownFunctions?: Record<string, number>;
  memory: CostMemory;
  /** Bytes allocated per request by owner, paced. */
  allocation: Record<string, number>;
  /** Bytes per request by owner that outlived a minor collection, paced: the old generation's growth. */
  promoted?: Record<string, number>;
}

/** One subject of bench/sync-hop.ts as its results hold it (bench/goals.ts reads them). */
export interface SyncHopSubject {
  name: string;
  idleMb: number;
  /** The cgroup's usage idle, by kind: anonymous memory (the process's own), and file pages (charged to the first cgroup that read them). */
  idleUsage?: { anonMb: number; fileMb: number };
  /** Share of a core used with no requests. */
  idleCores: number;
  /** Wake-ups a second of all its threads with no requests (voluntary context switches). */
  idleWakeups?: number;
  /** Per rate: the subject's latency, and a direct call's measured just before it (drift between subjects cancels out). */
  paced: Record<
    number,
    { latency: LoadResult; direct: LoadResult; coresPer1000: number; endMb: number; settledMs: number }
  >;
  /** The closed loop's rate of 200s, cores used, and every answer by status and failure by kind (a loop that served nothing says why). */
  closedLoop: {
    rate: number;
    cores: number;
    statuses: Record<string, number>;
    failures: Record<string, number>;
  };
  peakMb: number;
  afterBurstMb: number;
  oomKills: number;
  /**
   * Where the subject was found gone without being stopped or OOM-killed (e.g. Node's fatal
   * "JavaScript heap out of memory" at V8's heap limit, which the cgroup does not count): the
   * first phase after which it was, e.g. "the 5000/s run"; absent while it lived to the end.
   */
  exitedAfter?: string;
  /** Major page faults during the closed loop (pages the limit made the kernel reclaim and read back), and the usage then. */
  closedLoopMajorFaults: number;
  usageAtPeak: { anonMb: number; fileMb: number };
  /**
   * A gateway's own counts of what it refused and how its deliveries ended, read from its
   * /metrics after the 5000/s run and after the closed loop: why a run answered other than 200.
   */
  gatewayCounts?: { after5000: Record<string, number>; afterClosedLoop: Record<string, number> };
}

/** One subject's run in a round: requests per second answered 200, its CPU per request (all its threads, from /proc), µs, and the latency percentiles, ms. */
export interface TurnsRun {
  rate: number;
  cpuUs: number;
  p50: number;
  p99: number;
}

/** One round of bench/sync-hop.ts's subjects in turns: each under the same load, one after the other. */
export interface TurnsRound {
  gateway: TurnsRun;
  goProxy: TurnsRun;
  /** Paced rounds: the node forwarder (the Node floor), and the direct call to the function, for added latencies. */
  forwarder?: TurnsRun;
  direct?: { p50: number; p99: number };
}

/** bench/sync-hop.ts's gateway and Go proxy in turns: paced runs and closed loops, by round. */
export interface InTurns {
  /** OOM kills in each one's memory cgroup: a subject killed has no figures from then on (NaN). */
  oomKills: { gateway: number; goProxy: number; forwarder?: number };
  closedLoop: TurnsRound[];
  /** Paced at `rate` requests/s each. */
  paced: { rate: number; rounds: TurnsRound[] };
}

/** The middle value of `xs` (percentile 0.5: the upper of the two middle ones for an even count); NaN for none. */
export const median = (xs: readonly number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** The median over paced `rounds` of `who`'s latency `q` less the same round's direct call, ms; NaN where a round lacks either. */
export const addedInTurns = (
  rounds: readonly TurnsRound[],
  who: "gateway" | "goProxy" | "forwarder",
  q: "p50" | "p99",
): number => median(rounds.map((r) => (r[who]?.[q] ?? Number.NaN) - (r.direct?.[q] ?? Number.NaN)));

/** The points of a bench/malloc-trim.ts round where it reads the working set. */
export type MallocTrimStep = "idle" | "paced" | "pacedTrimmed" | "afterBurst" | "afterBurstTrimmed";

/** One subject's round of bench/malloc-trim.ts as its results hold it (bench/goals.ts reads them): working sets in MiB. */
export interface MallocTrimSample extends Record<MallocTrimStep, number> {
  /** CPU of all the process's threads per request over the paced run, µs. */
  pacedCpuUs: number;
  pacedLatency: LoadResult["latencyMs"];
  burstRate: number;
  /** The gateway's own trims over the round, from its metrics (the gateway as it ships only). */
  trims?: { calls: number; totalMs: number; releasedMb: number };
}

/** "30.2–30.7": the lowest and highest of `xs` (one figure when they agree). */
export const spread = (xs: number[], digits = 1): string => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
};

/** The sum of a breakdown's values. */
export const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
