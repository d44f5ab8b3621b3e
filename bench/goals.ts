// The sidecar's goals (docs/architecture.md, "Performance targets"; docs/benchmarks.md) in one
// table, from the results the other benches wrote (bench/results/*.json, the last `npm run bench`
// runs this after them): each goal met, or missed with the evidence of where the cost is, drawn
// from the same run: bench/cost.ts (CPU per request by owner, memory by part, allocation, for the
// gateway and the bare node:http + undici forwarder) and the Node forwarders of bench/sync-hop.ts.
// What the forwarder spends is the floor of a Node sidecar: a goal the forwarder misses too cannot
// be met by any gateway on Node 24 that does the same I/O. Writes bench/results/goals.json.
//   node bench/goals.ts
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../e2e/tools.ts";
import {
  addedInTurns,
  type Cost,
  type CostMemory,
  type InTurns,
  type MallocTrimStep,
  median,
  type Row,
  type SyncHopSubject as Subject,
  spread,
  type MallocTrimSample as Trimmed,
  total,
} from "./lib.ts";

interface Results {
  name: string;
  date: string;
  rows: Row[];
  details: Record<string, unknown>;
}

const results = (name: string): Results | undefined => {
  const file = join(repoRoot, "bench", "results", `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Results) : undefined;
};

const syncHop = results("sync-hop");
const cost = results("cost");
const gateway = cost?.details.gateway as Cost | undefined;
const forwarder = cost?.details.forwarder as Cost | undefined;
const subjects = (syncHop?.details.subjects ?? []) as Subject[];
const subject = (name: string) => subjects.find((s) => s.name === name);
const rateOf = cost?.details.rate as number | undefined;
/** bench/malloc-trim.ts: working sets before and after glibc's malloc_trim(0), MiB. */
const trimmed = results("malloc-trim")?.details.samples as
  | Partial<Record<"gateway" | "forwarder" | "untrimmed", Trimmed[]>>
  | undefined;

/** bench/connections.ts: the working set per open keep-alive connection, KiB. */
const connectionKib = results("connections")?.details.samples as
  | Partial<Record<"gateway" | "forwarder", { perConnectionKib: number }[]>>
  | undefined;
/** What open connections cost (bench/connections.ts), or "" without that run. */
const connectionsSay = (): string => {
  const { gateway: mine = [], forwarder: theirs = [] } = connectionKib ?? {};
  if (mine.length === 0 || theirs.length === 0) return "";
  const kib = (xs: { perConnectionKib: number }[]) => spread(xs.map((x) => x.perConnectionKib));
  // KiB per connection × 1024 connections = that many MiB.
  const atCap = Math.max(...mine.map((x) => x.perConnectionKib));
  return `an open keep-alive connection holds ${kib(mine)} KiB of the gateway's working set, ${kib(theirs)} of the forwarder's (bench/connections.ts); a paced load the subject cannot keep up with makes the load generator open one per request it cannot send, and the gateway's default --max-connections 1024 at that cost is ${mib(atCap)}`;
};

const µs = (n: number) => `${n.toFixed(0)} µs`;
const mib = (n: number) => `${n.toFixed(1)} MiB`;

/** The owners where the gateway spends more than the forwarder, largest first: "GC +18 µs, …". */
const beyond = (mine: Record<string, number>, theirs: Record<string, number>, unit: (n: number) => string) =>
  Object.keys(mine)
    .map((owner) => [owner, (mine[owner] ?? 0) - (theirs[owner] ?? 0)] as const)
    .filter(([, d]) => d > 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([owner, d]) => `${owner} +${unit(d)}`)
    .join(", ");

/** "Node (node:http, …) 91 µs, GC 26 µs, …" */
const parts = (r: Record<string, number>, unit: (n: number) => string) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([owner, v]) => `${owner} ${unit(v)}`)
    .join(", ");

/** "attempt (sidecar/delivery/index.js) 3.0, …": the first six. */
const ownFunctions = (fns: Record<string, number>) =>
  Object.entries(fns)
    .slice(0, 6)
    .map(([fn, v]) => `${fn} ${v.toFixed(1)}`)
    .join(", ");

/** What glibc's malloc_trim(0) gave back from `before` to `after` (bench/malloc-trim.ts), or "" without that run. */
const trimSays = (before: MallocTrimStep, after: MallocTrimStep): string => {
  const { gateway: shipped = [], forwarder: theirs = [], untrimmed = [] } = trimmed ?? {};
  if (untrimmed.length === 0 || shipped.length === 0) return "";
  const of = (who: string, xs: Trimmed[]) =>
    `the ${who} from ${spread(xs.map((s) => s[before]))} to ${spread(xs.map((s) => s[after]))} MiB (idle ${spread(xs.map((s) => s.idle))})`;
  return `glibc's malloc keeps what was freed in the middle of its arenas: malloc_trim(0), called in the process from gdb, took ${of("gateway with --malloc-trim=0", untrimmed)} and ${of("forwarder", theirs)}; the gateway as it ships, trimming itself after busy intervals (--malloc-trim), held ${spread(shipped.map((s) => s[before]))} MiB at that point (idle ${spread(shipped.map((s) => s.idle))}), and gdb's call took it to ${spread(shipped.map((s) => s[after]))} (bench/malloc-trim.ts)`;
};

/** The added latency `q` of subject `s` at `rate`/s over the direct call measured before it, ms. */
const addedMs = (s: Subject | undefined, rate: number, q: "p50" | "p99"): number | undefined => {
  const at = s?.paced[rate];
  return at ? at.latency.latencyMs[q] - at.direct.latencyMs[q] : undefined;
};

const inTurns = syncHop?.details.inTurns as InTurns | undefined;
/** The node forwarder's added latency `q` in sync-hop's paced rounds in turns (over each round's direct call), their median; undefined without them. */
const forwarderAddedInTurns = (q: "p50" | "p99"): number | undefined => {
  const rounds = inTurns?.paced.rounds.filter((r) => r.forwarder && r.direct);
  return rounds && rounds.length > 0 ? addedInTurns(rounds, "forwarder", q) : undefined;
};

/** The node forwarder's CPU per request over the Go proxy's in sync-hop's paced rounds in turns, their median; undefined without them. */
const forwarderCpuRatioInTurns = (): number | undefined => {
  const rounds = inTurns?.paced.rounds.filter((r) => r.forwarder);
  return rounds && rounds.length > 0
    ? median(rounds.map((r) => (r.forwarder?.cpuUs ?? Number.NaN) / r.goProxy.cpuUs))
    : undefined;
};

/**
 * The bare Node forwarders of the sync-hop run that lived through it: one OOM-killed or gone has no
 * figures from then on (a working set of a few hundred KiB, nothing after its burst), no floor.
 */
const forwarders = (): Subject[] =>
  ["node forwarder", "node:http forwarder"]
    .map(subject)
    .filter((s): s is Subject => s !== undefined && s.oomKills === 0 && s.exitedAfter === undefined);

/** The forwarder with the best figure (`lower` is better, or higher), and that figure; undefined without one. */
const bestForwarder = (
  figure: (s: Subject) => number | undefined,
  lower = true,
): { name: string; value: number } | undefined => {
  let best: { name: string; value: number } | undefined;
  for (const s of forwarders()) {
    const value = figure(s);
    // Below zero: an added latency whose direct call had the longer tail, no one's floor.
    if (value === undefined || Number.isNaN(value) || value < 0) continue;
    if (!best || (lower ? value < best.value : value > best.value)) best = { name: s.name, value };
  }
  return best;
};

/**
 * What the bare forwarder's figure says of a goal: when it meets the target, Node 24 can, and the
 * gap is the gateway's own; when it misses too, no sidecar on Node 24 doing the same I/O meets it.
 */
const floorSays = (what: string, meets: boolean): string =>
  meets
    ? `${what}: Node 24 meets this goal, so the gap is the gateway's own work`
    : `${what}: the bare Node forwarder misses this goal too, so no sidecar on Node 24 doing the same I/O meets it on this machine`;

const memoryParts = (m: CostMemory) =>
  `V8 young ${mib(m.young)}, old ${mib(m.old)}, code and other spaces ${mib(m.code + m.otherHeap)}, external ${mib(m.external)}, Node and the allocator ${mib(m.rest)}`;

/** Evidence for a missed idle CPU goal: how often each subject's threads woke with no requests, and what wakes the gateway. */
const idleEvidence = (): string | undefined => {
  const woke = (name: string) => {
    const s = subject(name);
    return s?.idleWakeups === undefined ? undefined : `${name} ${s.idleWakeups.toFixed(1)}`;
  };
  const counts = ["gateway", "go proxy", "node forwarder", "node:http forwarder"].map(woke).filter(Boolean);
  if (counts.length === 0) return undefined;
  return [
    `wake-ups a second of all threads, idle: ${counts.join(", ")}`,
    "an idle gateway is woken by its own timers: the registry probe every 2 s and its answer (how a frozen etcd shows in the staleness gauge), the checks every 5 s (malloc trim, idle collection, whether it is still busy, and until its first 5000 requests whether V8's workers may be lowered), its presence record's refresh; the event-loop lag sampler and the memory check, every 100 ms each, stop after 5 s without work (common/while-busy.ts); each wake-up costs the same on every timer, so the idle CPU follows the host's cost of a wake-up more than the gateway's work",
  ].join("; ");
};

/** Evidence for a missed sync-hop goal, by its figure; undefined when the results to draw it from are missing. */
const syncEvidence = (figure: string, value: string): string | undefined => {
  if (figure.startsWith("idle CPU")) return idleEvidence();
  if (!gateway || !forwarder) return undefined;
  const [undiciForwarder, httpForwarder] = ["node forwarder", "node:http forwarder"].map((name) =>
    forwarders().find((s) => s.name === name),
  );
  const goProxy = subject("go proxy");
  const gatewaySubject = subject("gateway");
  if (figure.startsWith("sync throughput"))
    return [
      `CPU per request in a closed loop (bench/cost.ts, profiler attached): gateway ${µs(total(gateway.closed))}, forwarder ${µs(total(forwarder.closed))}`,
      `beyond the forwarder: ${beyond(gateway.closed, forwarder.closed, µs)}`,
      gateway.ownFunctions
        ? `the gateway's own modules by function, costliest first (µs): ${ownFunctions(gateway.ownFunctions)}: the work a forwarder does not do (authenticating the caller, parsing and validating the event, matching, the function's concurrency limit and endpoint choice, metrics), spread thin, none of it above ${µs(Math.max(...Object.values(gateway.ownFunctions)))}`
        : "",
      (() => {
        const best = bestForwarder((s) => s.closedLoop.rate, false);
        return best && goProxy
          ? floorSays(
              `the ${best.name}, which does none of it, served ${(best.value / goProxy.closedLoop.rate).toFixed(2)} × the Go proxy`,
              best.value >= goProxy.closedLoop.rate,
            )
          : "";
      })(),
    ]
      .filter(Boolean)
      .join("; ");
  if (figure.startsWith("added latency at 1000/s")) {
    // Only the parts of "p50 / p99" the gateway missed; the Node floor from the same rounds when
    // the row is the one in turns, else from the forwarders' own runs.
    const [gatewayP50 = Number.NaN, gatewayP99 = Number.NaN] = value.split("/").map(Number);
    const floorOf = (q: "p50" | "p99") => {
      const turnsValue = figure.includes("in turns") ? forwarderAddedInTurns(q) : undefined;
      return turnsValue === undefined
        ? bestForwarder((s) => addedMs(s, 1000, q))
        : { name: "node forwarder (in the same rounds)", value: turnsValue };
    };
    const p50 = gatewayP50 > 0.15 ? floorOf("p50") : undefined;
    const p99 = gatewayP99 > 0.5 ? floorOf("p99") : undefined;
    return [
      `a request's CPU on the gateway's core at ${rateOf}/s is ${µs(total(gateway.paced))} (forwarder ${µs(total(forwarder.paced))}: ${parts(forwarder.paced, µs)}); the added p50 cannot be below the CPU a request takes on the path; beyond the forwarder: ${beyond(gateway.paced, forwarder.paced, µs)}`,
      p50 ? floorSays(`the ${p50.name}'s added p50 ${p50.value.toFixed(3)} ms`, p50.value <= 0.15) : "",
      p99 ? floorSays(`the ${p99.name}'s added p99 ${p99.value.toFixed(3)} ms`, p99.value <= 0.5) : "",
      gatewayP99 > 0.5
        ? `GC ${µs(gateway.paced.GC ?? 0)} per request (forwarder ${µs(forwarder.paced.GC ?? 0)}) comes in pauses that set the p99`
        : "",
    ]
      .filter(Boolean)
      .join("; ");
  }
  if (figure.startsWith("added latency at 5000/s")) {
    const perThousand = (x: Subject | undefined) => x?.paced[1000]?.coresPer1000 ?? Number.NaN;
    const floors = forwarders()
      .filter((s) => s.paced[5000] !== undefined)
      .map((s) => `${s.name} ${(addedMs(s, 5000, "p99") ?? 0).toFixed(1)} ms`);
    return [
      `at the CPU per request it used at 1000/s (all its threads and the kernel's work for its sockets, from /proc), 5000/s needs ${(perThousand(gatewaySubject) * 5).toFixed(2)} cores of the one it has (the node:http + undici forwarder ${(perThousand(undiciForwarder) * 5).toFixed(2)})`,
      "a paced load generator opens a connection for each request it cannot send on an idle one, so a gateway that falls behind gets more connections, each with its own buffers, and falls further behind until --max-connections answers 503",
      floors.length > 0
        ? floorSays(
            `the Node forwarders' added p99 at 5000/s: ${floors.join(", ")}`,
            (bestForwarder((s) => addedMs(s, 5000, "p99"))?.value ?? Number.POSITIVE_INFINITY) <= 1,
          )
        : "",
    ]
      .filter(Boolean)
      .join("; ");
  }
  if (figure.startsWith("CPU core-seconds per 1000")) {
    const best = bestForwarder((s) => s.paced[1000]?.coresPer1000);
    const go = goProxy?.paced[1000]?.coresPer1000;
    // The ratio in turns is judged against the node forwarder in the same rounds.
    const turnsRatio = figure.includes("in turns") ? forwarderCpuRatioInTurns() : undefined;
    return [
      `Node's floor, the forwarder: ${µs(total(forwarder.paced))} per request under the profiler (${parts(forwarder.paced, µs)}); the gateway beyond it: ${beyond(gateway.paced, forwarder.paced, µs)}`,
      turnsRatio !== undefined
        ? floorSays(
            `the node forwarder in the same rounds used ${turnsRatio.toFixed(2)} × the Go proxy's CPU per request (median)`,
            turnsRatio <= 1.1,
          )
        : best && go !== undefined
          ? floorSays(
              `the ${best.name} used ${best.value.toFixed(3)} core-s per 1000 (${(best.value / go).toFixed(2)} × the Go proxy)`,
              best.value <= 0.15 && best.value <= 1.1 * go,
            )
          : "",
    ]
      .filter(Boolean)
      .join("; ");
  }
  if (figure.startsWith("working set idle"))
    return [
      gatewaySubject?.idleUsage
        ? `the gateway's usage idle: anonymous ${mib(gatewaySubject.idleUsage.anonMb)}, file pages ${mib(gatewaySubject.idleUsage.fileMb)}`
        : "",
      httpForwarder ? `node:http forwarder idle ${mib(httpForwarder.idleMb)}` : "",
      undiciForwarder ? `node:http + undici forwarder idle ${mib(undiciForwarder.idleMb)}` : "",
      "the rest is the gateway's modules and what they hold (docs/benchmarks.md, \"Where the gateway's memory goes\")",
    ]
      .filter(Boolean)
      .join("; ");
  if (figure.startsWith("working set at the end of")) {
    const rate = Number(/end of (\d+)\/s/.exec(figure)?.[1] ?? "1000");
    const best = bestForwarder((s) => s.paced[rate]?.endMb);
    return [
      best
        ? floorSays(`the ${best.name} held ${mib(best.value)}`, best.value <= (rate === 1000 ? 40 : 64))
        : "",
      undiciForwarder?.paced[rate]
        ? `node:http + undici forwarder ${mib(undiciForwarder.paced[rate].endMb)}`
        : "",
      httpForwarder?.paced[rate] ? `node:http forwarder ${mib(httpForwarder.paced[rate].endMb)}` : "",
      subject("gateway (node:http)")?.paced[rate]
        ? `gateway on node:http (--delivery-client=node) ${mib(subject("gateway (node:http)")?.paced[rate]?.endMb ?? 0)}`
        : "",
      `at ${rateOf}/s (bench/cost.ts): gateway ${mib(gateway.memory.workingSetMb)} = ${memoryParts(gateway.memory)}; forwarder ${mib(forwarder.memory.workingSetMb)} = ${memoryParts(forwarder.memory)}`,
      gateway.memory.liveOld !== undefined && forwarder.memory.liveOld !== undefined
        ? `V8's old generation live after a full collection: gateway ${mib(gateway.memory.liveOld)}, forwarder ${mib(forwarder.memory.liveOld)} (the rest of it is garbage between collections)`
        : "",
      gateway.promoted && forwarder.promoted
        ? `what outlives a minor collection (the old generation's growth) per request: gateway ${Math.round(total(gateway.promoted))} bytes, forwarder ${Math.round(total(forwarder.promoted))}; beyond the forwarder: ${beyond(gateway.promoted, forwarder.promoted, (n) => `${Math.round(n)} bytes`)}`
        : "",
      rate === 1000 ? trimSays("paced", "pacedTrimmed") : connectionsSay(),
    ]
      .filter(Boolean)
      .join("; ");
  }
  if (figure.startsWith("working set after the closed-loop burst"))
    return [
      floorSays(
        [undiciForwarder, httpForwarder]
          .filter((s): s is Subject => s !== undefined)
          .map((s) => `${s.name} ${(s.afterBurstMb / s.idleMb).toFixed(2)} × its idle`)
          .join(", "),
        [undiciForwarder, httpForwarder].some((s) => s !== undefined && s.afterBurstMb <= 1.1 * s.idleMb),
      ),
      "V8's heap returns with the gateway's collection when quiet (--idle-reclaim), glibc's free memory with its trimming (--malloc-trim); what stays is live memory: the code compiled under load and the old generation grown with it (docs/benchmarks.md, \"The gateway trims glibc's arenas itself\")",
      trimSays("afterBurst", "afterBurstTrimmed"),
    ]
      .filter(Boolean)
      .join("; ");
  return undefined;
};

const durable = results("durable");
const durableCores = (mode: "fsync" | "memory") =>
  durable?.details[mode] as { closedCores?: number; pacedCores?: number } | undefined;

/** Evidence for a missed durable goal. */
const durableEvidence = (row: Row): string | undefined => {
  const fsync = durableCores("fsync");
  if (row.figure.startsWith("ack latency"))
    return [
      `the same run without the log: ${row.baseline}`,
      fsync?.pacedCores === undefined
        ? "the tail is the gateway's CPU on its one core (accepting and delivering), not the disk"
        : fsync.pacedCores >= 0.85
          ? `the gateway used ${fsync.pacedCores.toFixed(2)} of its one core paced at 80 % (${fsync.closedCores?.toFixed(2)} in the closed loop): paced events arrive one per read and leave one per write, so each costs more than in the closed loop, 80 % of the closed loop's rate all but fills the core, and the tail is the backlog on the CPU, not the disk`
          : `the gateway used ${fsync.pacedCores.toFixed(2)} of its one core paced at 80 % (${fsync.closedCores?.toFixed(2)} in the closed loop): the tail is its pauses (collections, compilations) with requests queued behind them, not the disk`,
    ].join("; ");
  if (!row.figure.startsWith("async accept rate, closed loop")) return undefined;
  const goProxy = subject("go proxy");
  return [
    Number(row.ratio) < 1
      ? `the same run without the log (memory) accepted ${row.baseline.replace(/ \(memory\)/, "")}/s: the log costs ${((1 - Number(row.ratio)) * 100).toFixed(0)} %`
      : `the same run without the log (memory) accepted ${row.baseline.replace(/ \(memory\)/, "")}/s, no more than with it: the log is not the bound`,
    `the rest is the gateway's CPU per event, accepting and delivering on the same core${gateway ? ` (a sync hop takes ${µs(total(gateway.closed))} in a closed loop, bench/cost.ts)` : ""}`,
    (() => {
      const best = bestForwarder((s) => s.closedLoop.rate, false);
      return best && goProxy
        ? floorSays(
            `an accepted event is a request in and a request out, as a forwarded one: the ${best.name} forwarded ${best.value.toFixed(0)}/s on one core in the sync-hop run (the Go proxy ${goProxy.closedLoop.rate.toFixed(0)}/s)`,
            best.value >= 20_000,
          )
        : "";
    })(),
  ]
    .filter(Boolean)
    .join("; ");
};

interface Goal {
  bench: string;
  figure: string;
  value: string;
  target: string;
  verdict: string;
  evidence: string;
}
const goals: Goal[] = [];
for (const name of ["sync-hop", "durable", "matching", "queue-memory", "propagation"]) {
  const r = results(name);
  if (!r) continue;
  for (const row of r.rows) {
    if (row.verdict === "—") continue;
    const evidence =
      row.verdict === "met"
        ? ""
        : ((name === "sync-hop"
            ? syncEvidence(row.figure, row.value)
            : name === "durable"
              ? durableEvidence(row)
              : undefined) ?? "no profile in these results");
    goals.push({
      bench: name,
      figure: row.figure,
      value: row.value,
      target: row.target,
      verdict: row.verdict,
      evidence,
    });
  }
}
// Each file's own run: a table drawn from runs of different days says so.
const dates = ["sync-hop", "cost", "durable", "matching", "queue-memory", "propagation"]
  .map((n) => `${n} ${results(n)?.date ?? "missing"}`)
  .join(", ");
console.log(
  [
    "",
    "### goals",
    "",
    `From bench/results (${dates}).`,
    "",
    "| bench | goal | measured | target | | where the cost is (misses) |",
    "|---|---|---|---|---|---|",
    ...goals.map(
      (g) => `| ${g.bench} | ${g.figure} | ${g.value} | ${g.target} | ${g.verdict} | ${g.evidence} |`,
    ),
    "",
  ].join("\n"),
);
const file = join(repoRoot, "bench", "results", "goals.json");
writeFileSync(file, `${JSON.stringify({ name: "goals", date: new Date().toISOString(), goals }, null, 2)}\n`);
console.log(`written: ${file}`);
