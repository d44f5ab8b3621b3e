// The sync hop, side by side: the gateway, bare forwarders (node:http in, undici or node:http out), nginx (one worker)
// and a minimal Go reverse proxy, each alone on core 0 inside a memory cgroup of its own with the
// same limit (128 MiB, as a pod), in front of the same function (core 1, with this load generator
// and etcd), one subject at a time. For each: added latency over a direct call, paced (open loop,
// uniform arrivals) at 1000 and 5000 requests/s; CPU per 1000 requests; throughput in a closed
// loop; the cgroup's working set (usage minus inactive file) idle (from 10 s after start), at the end of each paced run,
// at its peak, and the lowest in the 15 s after the closed loop; OOM kills. The goals (docs/architecture.md,
// "Performance targets") are judged as ratios against the Go proxy of the same run, and each names
// the Node floor: the best bare Node forwarder of the run on that figure. Then the gateway and the Go
// proxy in turns, round after round, for the ratios to the Go proxy (throughput, CPU per request)
// taken seconds apart rather than minutes, and the added latency at 1000/s with the direct call
// and the node forwarder in the same paced rounds.
// The gateway runs compiled, as the image runs it (built first, as `npm run build` does).
//   node bench/sync-hop.ts [--seconds 5] [--limit-mib 128] [--subjects "go proxy,gateway"]
//     --limit-mib 0: each subject in a cgroup without a limit (the working set is still read)
//     --subjects: a comma-separated subset of: go proxy, nginx, node forwarder, node:http forwarder,
//       gateway, gateway (node:http), gateway (.ts) (default every subject but "gateway (.ts)", the
//       gateway run from its sources; "gateway (node:http)" delivers with --delivery-client=node)
//     --gateway-flags=FLAGS: Node flags for the gateway after the image's, given with "=" since they
//       start with a dash (e.g. --gateway-flags=--max-semi-space-size=2, or
//       --gateway-flags=--no-single-threaded-gc to turn one of the image's off)

import { parseArgs } from "node:util";
import { cgroupsAvailable, type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { programArgs } from "../e2e/programs.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  addedInTurns,
  benchRegistry,
  benchRoute,
  cpuIfAlive,
  type InTurns,
  type LoadResult,
  load,
  type SyncHopSubject as Measured,
  median,
  metered,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
  SYNC_EVENT,
  settled,
  type TurnsRound,
  type TurnsRun,
  wakeups,
} from "./lib.ts";
import {
  nginxBinary,
  type Subject,
  startBenchFunction,
  startForwarder,
  startGoProxy,
  startHttpForwarder,
  startNginx,
} from "./subjects/index.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    "limit-mib": { type: "string", default: "128" },
    subjects: {
      type: "string",
      default: "go proxy,nginx,node forwarder,node:http forwarder,gateway,gateway (node:http)",
    },
    "gateway-flags": { type: "string", default: "" },
  },
});
const seconds = Number(values.seconds);
const LIMIT = Number(values["limit-mib"]) * 2 ** 20;
const wanted = new Set(values.subjects.split(",").map((s) => s.trim()));
const gatewayFlags = values["gateway-flags"].split(/\s+/).filter(Boolean);
if (!cgroupsAvailable()) {
  console.error("sync-hop: needs root and a memory cgroup controller (every subject runs in one)");
  process.exit(1);
}

const loadCores = pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");

const { headers: ceHeaders, body } = SYNC_EVENT;

const AFTER_BURST_MS = 15_000;
/** Rounds of the gateway and the Go proxy in turns (inTurns). */
const ROUNDS = 5;
const SETTLE_MS = 10_000;

const run = (
  url: string,
  headers: Record<string, string>,
  opts: { concurrency?: number; ratePerSecond?: number },
) => load({ url, headers, body, okStatus: 200, seconds, ...opts });

/** The series of a gateway's /metrics that say why a request was not answered 200, by their labels. */
const WHY =
  /^switchboard_gateway_(requests_refused_total|deliveries_total|delivery_attempts_total|open_connections|inflight_body_bytes|memory_pressure)\b/;
const gatewayCounts = async (metricsUrl: string): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {};
  // A gateway that was OOM-killed has no counts to give (the OOM kills column says so).
  const text = await fetch(`${metricsUrl}/metrics`).then(
    (r) => r.text(),
    () => "",
  );
  for (const line of text.split("\n")) {
    if (!WHY.test(line)) continue;
    const at = line.lastIndexOf(" ");
    counts[line.slice("switchboard_gateway_".length, at)] = Number(line.slice(at + 1));
  }
  return counts;
};

const directCall = (rate: number): Promise<LoadResult> =>
  run(fnUrl, { "content-type": "application/json" }, { ratePerSecond: rate });

/** Starts one subject in its cgroup, measures it, stops it and removes the cgroup. */
const measure = async (
  name: string,
  start: (
    cgroup: MemoryCgroup,
  ) => Promise<Subject & { url: string; headers: Record<string, string>; metricsUrl?: string }>,
): Promise<Measured> => {
  const cgroup = memoryCgroup(name.replace(/\W+/g, "-"), LIMIT);
  const subject = await start(cgroup);
  // A subject that exits on its own (a crash the cgroup's OOM count misses) is noted after the
  // phase that saw it go: its figures from then on are not its own.
  let exitedAfter: string | undefined;
  const stillThere = (phase: string): void => {
    if (exitedAfter === undefined && cpuIfAlive(subject.pid) === undefined && cgroup.oomKills() === 0)
      exitedAfter = phase;
  };
  try {
    // Idle: from 10 s after start (settled: the gateway's one collection after start falls in
    // them), the working set, then CPU over 10 s with no requests (timers, the registry watch,
    // keep-alives, metrics).
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const idleMb = cgroup.workingSetMb();
    const { anonMb: idleAnonMb, fileMb: idleFileMb } = cgroup.breakdown();
    const wokenBefore = wakeups(subject.pid);
    const idle = await metered(subject.pid, () => new Promise((r) => setTimeout(r, 10_000)));
    const idleWakeups = (wakeups(subject.pid) - wokenBefore) / 10;
    stillThere("idle");
    await run(subject.url, subject.headers, { ratePerSecond: 1000 }); // warm-up: JIT, connections
    stillThere("the warm-up");
    const paced: Measured["paced"] = {};
    for (const rate of [1000, 5000]) {
      const direct = await directCall(rate);
      const m = await metered(subject.pid, () => run(subject.url, subject.headers, { ratePerSecond: rate }));
      paced[rate] = {
        latency: m.result,
        direct,
        coresPer1000: m.cores / (m.result.rate / 1000),
        endMb: cgroup.workingSetMb(),
        // A subject past its capacity works off its backlog, and its connections close, before the
        // next run measures it.
        settledMs: await settled(subject.pid, Number(new URL(subject.url).port)),
      };
      stillThere(`the ${rate}/s run`);
    }
    const after5000 = subject.metricsUrl ? await gatewayCounts(subject.metricsUrl) : undefined;
    const faultsBefore = cgroup.breakdown().majorFaults;
    const closed = await metered(subject.pid, () => run(subject.url, subject.headers, { concurrency: 64 }));
    stillThere("the closed loop");
    const afterClosedLoop = subject.metricsUrl ? await gatewayCounts(subject.metricsUrl) : undefined;
    const { anonMb, fileMb, majorFaults } = cgroup.breakdown();
    // How far memory comes back after a burst: the lowest working set in the 15 s after the
    // closed loop (the gateway collects after a quiet --idle-reclaim interval, 5 s by default).
    let afterBurstMb = cgroup.workingSetMb();
    for (let waited = 0; waited < AFTER_BURST_MS; waited += 500) {
      await new Promise((r) => setTimeout(r, 500));
      afterBurstMb = Math.min(afterBurstMb, cgroup.workingSetMb());
    }
    stillThere("the 15 s after the burst");
    return {
      name,
      idleMb,
      idleUsage: { anonMb: idleAnonMb, fileMb: idleFileMb },
      idleCores: idle.cores,
      idleWakeups,
      paced,
      closedLoop: {
        rate: closed.result.rate,
        cores: closed.cores,
        statuses: closed.result.statuses,
        failures: closed.result.failures,
      },
      peakMb: cgroup.peakMb(),
      afterBurstMb,
      oomKills: cgroup.oomKills(),
      ...(exitedAfter !== undefined && { exitedAfter }),
      closedLoopMajorFaults: majorFaults - faultsBefore,
      usageAtPeak: { anonMb, fileMb },
      ...(after5000 && afterClosedLoop && { gatewayCounts: { after5000, afterClosedLoop } }),
    };
  } finally {
    await subject.stop();
    cgroup.remove();
  }
};

const proxied = (s: Subject) => ({ ...s, url: `http://127.0.0.1:${s.port}/`, headers: ceHeaders });
const results: Measured[] = [];
if (wanted.has("go proxy"))
  results.push(await measure("go proxy", async (cg) => proxied(await startGoProxy(fnUrl, "0", cg))));
const nginx = wanted.has("nginx") ? nginxBinary() : undefined;
if (nginx)
  results.push(await measure("nginx", async (cg) => proxied(await startNginx(nginx, fnUrl, "0", cg))));
else if (wanted.has("nginx"))
  console.error("sync-hop: nginx is not installed and could not be (not root?): left out");
if (wanted.has("node:http forwarder"))
  results.push(
    await measure("node:http forwarder", async (cg) => proxied(await startHttpForwarder(fnUrl, "0", cg))),
  );
if (wanted.has("node forwarder"))
  results.push(await measure("node forwarder", async (cg) => proxied(await startForwarder(fnUrl, "0", cg))));
const gatewaySubject =
  (name: string, compiled: boolean, extraArgs: string[] = []) =>
  async (cg: MemoryCgroup) => {
    const gateway = await startGateway({
      etcd: registry.etcd.url,
      clusterName: registry.cluster,
      dir: registry.dir,
      name: name.replace(/\W+/g, "-").replace(/^-|-$/g, ""),
      compiled,
      prefix: [...cg.prefix, ...pinned("0")],
      extraArgs,
      // The bench's Node flags after the image's, so that they can override them (--no-FLAG).
      ...(gatewayFlags.length > 0 && {
        entry: [process.execPath, ...programArgs("gateway", compiled, gatewayFlags)],
      }),
    });
    await routesLoaded(gateway);
    return {
      name,
      port: 0,
      pid: gateway.proc.pid,
      stop: () => gateway.proc.stop(),
      url: `${gateway.url}/`,
      headers: ceHeaders,
      metricsUrl: gateway.adminUrl,
    };
  };
if (wanted.has("gateway") || wanted.has("gateway (node:http)")) compile(PROJECTS.programs);
if (wanted.has("gateway")) results.push(await measure("gateway", gatewaySubject("gateway", true)));
if (wanted.has("gateway (node:http)"))
  results.push(
    await measure(
      "gateway (node:http)",
      gatewaySubject("gateway (node:http)", true, ["--delivery-client=node"]),
    ),
  );
if (wanted.has("gateway (.ts)"))
  results.push(await measure("gateway (.ts)", gatewaySubject("gateway (.ts)", false)));

/**
 * The gateway and the Go proxy in turns: both started on core 0, each in a memory cgroup with the
 * same limit, then measured one at a time while the other idles, the order swapped every round:
 * ROUNDS rounds of a paced run each (CPU per request, all threads and the kernel's work for the
 * process, from /proc; and the added latency, with a direct call to the function and the node
 * forwarder, the Node floor, in the same rounds), then ROUNDS of a closed loop each (throughput). The host's speed drifts
 * while subjects are measured one after the other minutes apart (two identical gateways differed
 * by 0.41–1.56 × in CPU per request from one round to the next on a 2-core VM): the ratio within a
 * round is taken seconds apart, and the goals judge the median over the rounds. Not at the same
 * time: both under load on one core at once (each in a CPU group of its own) gave steadier ratios,
 * but sharing the core raised the Go proxy's CPU per request 1.2–1.8 × and the gateway's 1.0–1.16 ×
 * (docs/benchmarks.md, "The ratios to the Go proxy, in turns").
 */
const inTurns = async (): Promise<InTurns> => {
  const gatewayGroup = memoryCgroup("turns-gateway", LIMIT);
  const goGroup = memoryCgroup("turns-go-proxy", LIMIT);
  const forwarderGroup = memoryCgroup("turns-node-forwarder", LIMIT);
  const stops: (() => Promise<void>)[] = [];
  try {
    // Without --idle-reclaim: each of its runs follows a quiet gap of 15 s or more (the others'
    // runs), and the memory-reducing collection the gateway makes in such a gap cost its next
    // 5 s of requests 1.6 × the CPU (in turns against one without it, docs/benchmarks.md). The
    // goals are about a steady 1000/s, where no quiet gap comes: the sequential runs above keep it.
    const gateway = await gatewaySubject("gateway turns", true, ["--idle-reclaim=0"])(gatewayGroup);
    stops.push(() => gateway.stop());
    const goProxy = proxied(await startGoProxy(fnUrl, "0", goGroup));
    stops.push(() => goProxy.stop());
    const forwarder = proxied(await startForwarder(fnUrl, "0", forwarderGroup));
    stops.push(() => forwarder.stop());
    const once = async (
      subject: { pid: number; url: string; headers: Record<string, string> },
      opts: { concurrency?: number; ratePerSecond?: number },
    ): Promise<TurnsRun> => {
      // A subject OOM-killed meanwhile has no CPU to read: its figures are NaN (oomKills says why).
      const cpu = cpuIfAlive(subject.pid) ?? Number.NaN;
      const result = await run(subject.url, subject.headers, opts);
      const used = (cpuIfAlive(subject.pid) ?? Number.NaN) - cpu;
      const ok = result.ok > 0;
      return {
        rate: result.rate,
        cpuUs: ok ? (used / result.ok) * 1e6 : Number.NaN,
        p50: ok ? result.latencyMs.p50 : Number.NaN,
        p99: ok ? result.latencyMs.p99 : Number.NaN,
      };
    };
    /**
     * One round: the gateway and the Go proxy; paced, also the node forwarder (the Node floor) and
     * the direct call (what the added latencies are over), first in even rounds and last in odd ones.
     */
    const round = async (i: number, opts: { concurrency?: number; ratePerSecond?: number }) => {
      const paced = opts.ratePerSecond !== undefined;
      const runs: (() => Promise<Partial<TurnsRound>>)[] = [
        async () => ({ gateway: await once(gateway, opts) }),
        async () => ({ goProxy: await once(goProxy, opts) }),
      ];
      if (paced) {
        runs.push(async () => ({ forwarder: await once(forwarder, opts) }));
        runs.unshift(async () => {
          const { latencyMs } = await directCall(opts.ratePerSecond as number);
          return { direct: { p50: latencyMs.p50, p99: latencyMs.p99 } };
        });
      }
      if (i % 2 === 1) runs.reverse();
      let result: Partial<TurnsRound> = {};
      for (const each of runs) result = { ...result, ...(await each()) };
      return result as TurnsRound;
    };
    // Warm-up of each: JIT, connections.
    await round(0, { ratePerSecond: 1000 });
    const paced: TurnsRound[] = [];
    for (let i = 0; i < ROUNDS; i++) paced.push(await round(i, { ratePerSecond: 1000 }));
    const closedLoop: TurnsRound[] = [];
    for (let i = 0; i < ROUNDS; i++) closedLoop.push(await round(i, { concurrency: 64 }));
    return {
      oomKills: {
        gateway: gatewayGroup.oomKills(),
        goProxy: goGroup.oomKills(),
        forwarder: forwarderGroup.oomKills(),
      },
      closedLoop,
      paced: { rate: 1000, rounds: paced },
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    gatewayGroup.remove();
    goGroup.remove();
    forwarderGroup.remove();
  }
};
const turns = wanted.has("gateway") && wanted.has("go proxy") ? await inTurns() : undefined;
await fn.stop();
await registry.close();

const f = (n: number, d = 2): string => n.toFixed(d);
/** What the closed loop got besides 200s, e.g. " (503: 12, reset: 3)"; nothing when every answer was a 200. */
const answersOtherThanOk = ({ statuses, failures }: Measured["closedLoop"]): string => {
  const other = [
    ...Object.entries(statuses ?? {}).filter(([s]) => s !== "200"),
    ...Object.entries(failures ?? {}),
  ];
  return other.length === 0 ? "" : ` (${other.map(([k, n]) => `${k}: ${n}`).join(", ")})`;
};
const by = (name: string): Measured | undefined => results.find((r) => r.name === name);
const added = (m: Measured, rate: number, q: "p50" | "p99"): number =>
  (m.paced[rate]?.latency.latencyMs[q] ?? Number.NaN) - (m.paced[rate]?.direct.latencyMs[q] ?? Number.NaN);

// Every subject side by side.
const table = [
  "| subject | closed-loop req/s | added p50 / p99 at 1000/s (ms) | added p99 at 5000/s (ms), then settled (idle, its connections closed) in (s) | CPU core-s per 1000 at 1000/s | idle CPU % | working set idle / end of 1000/s / end of 5000/s / peak / after burst, lowest in 15 s (MiB) | anon / file MiB, major faults in the closed loop | OOM kills |",
  "|---|---|---|---|---|---|---|---|---|",
  ...results.map(
    (m) =>
      `| ${m.name} | ${f(m.closedLoop.rate, 0)}${answersOtherThanOk(m.closedLoop)} | ${f(added(m, 1000, "p50"), 3)} / ${f(added(m, 1000, "p99"), 3)} | ${f(added(m, 5000, "p99"), 3)}, ${f((m.paced[5000]?.settledMs ?? Number.NaN) / 1000, 1)} | ${f(m.paced[1000]?.coresPer1000 ?? Number.NaN, 3)} | ${f(m.idleCores * 100, 2)} | ${[m.idleMb, m.paced[1000]?.endMb ?? Number.NaN, m.paced[5000]?.endMb ?? Number.NaN, m.peakMb, m.afterBurstMb].map((x) => f(x, 1)).join(" / ")} | ${f(m.usageAtPeak.anonMb, 1)} / ${f(m.usageAtPeak.fileMb, 1)}, ${m.closedLoopMajorFaults} | ${m.oomKills}${m.exitedAfter ? `; exited on its own after ${m.exitedAfter}` : ""} |`,
  ),
];
console.log(
  `\n### sync-hop: every subject in a ${LIMIT / 2 ** 20} MiB memory cgroup, alone on core 0\n\n${table.join("\n")}\n`,
);
// A gateway's closed loop that answered other than 200: what the gateway itself counted.
for (const m of results) {
  if (!m.gatewayCounts || answersOtherThanOk(m.closedLoop) === "") continue;
  const line = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ");
  console.log(
    `${m.name}, its own counts after the 5000/s run: ${line(m.gatewayCounts.after5000)}\n` +
      `and after the closed loop: ${line(m.gatewayCounts.afterClosedLoop)}\n`,
  );
}

const gw = by("gateway");
const go = by("go proxy");
const rows: Row[] = [];
const verdict = (ok: boolean): Row["verdict"] => (ok ? "met" : "missed");
// The Node floor: the best bare Node forwarder of the run on each figure (what Node 24 itself
// costs, without the gateway's work), so a miss the forwarders share is told from one of ours.
// A subject OOM-killed during the run (its cgroup's limit reached, e.g. by connections piling up
// past what the load generator's core could send at 5000/s) has no figures from then on: it is
// no one's floor and no one's baseline.
const killed = (m: Measured): boolean => m.oomKills > 0 || m.exitedAfter !== undefined;
/**
 * The verdict on added latencies, each the difference of the subject's and the direct call's
 * percentile, against its target: one below zero says the direct call's own tail was the longer
 * in that run (e.g. its load generator fell behind at 5000/s): it is not judged, unless another
 * part already missed.
 */
const addedVerdict = (parts: [value: number, target: number][]): Row["verdict"] => {
  if (parts.some(([value, target]) => !(value <= target) && !(value < 0))) return "missed";
  return parts.some(([value]) => value < 0) ? "—" : "met";
};
const forwarders = results.filter((m) => m.name.endsWith("forwarder") && !killed(m));
/** OOM kills in the rounds in turns, when there were any: a round after a kill is not judged. */
const turnsKills =
  turns && turns.oomKills.gateway + turns.oomKills.goProxy + (turns.oomKills.forwarder ?? 0) > 0
    ? `; OOM kills in the rounds: gateway ${turns.oomKills.gateway}, Go proxy ${turns.oomKills.goProxy}, node forwarder ${turns.oomKills.forwarder ?? 0}`
    : "";
const floor = (figure: (m: Measured) => number, best: "min" | "max", digits: number): string => {
  const ranked = forwarders
    .map((m) => ({ name: m.name, value: figure(m) }))
    // Below zero is an added latency whose direct call had the longer tail (its load generator
    // fell behind): no one's floor.
    .filter((x) => Number.isFinite(x.value) && x.value >= 0)
    .sort((a, b) => (best === "min" ? a.value - b.value : b.value - a.value));
  const top = ranked[0];
  return top ? `; Node floor ${f(top.value, digits)} (${top.name})` : "";
};
if (gw && go) {
  const throughput = gw.closedLoop.rate / go.closedLoop.rate;
  const goKilled = killed(go) ? "Go proxy OOM-killed in this run: no baseline" : undefined;
  rows.push({
    figure: "sync throughput, closed loop (64 in flight), requests/s, 128 MiB cgroup",
    value: f(gw.closedLoop.rate, 0),
    baseline: `${goKilled ?? `${f(go.closedLoop.rate, 0)} (Go proxy)`}${floor((m) => m.closedLoop.rate, "max", 0)}${turns ? "; one closed loop each, minutes apart: judged on the rounds in turns (next row)" : ""}`,
    ratio: goKilled ? "—" : f(throughput),
    target: "≥ 1.0 × the Go proxy",
    verdict: goKilled || turns ? "—" : verdict(throughput >= 1),
  });
  if (turns) {
    const ratios = turns.closedLoop.map((r) => r.gateway.rate / r.goProxy.rate);
    const ratio = median(ratios);
    const whole = ratios.every(Number.isFinite) && ratio > 0;
    rows.push({
      figure: `sync throughput, gateway / Go proxy: closed loops (64 in flight) in turns, each alone on core 0, median of ${ratios.length} rounds`,
      value: f(ratio),
      baseline: `rounds ${ratios.map((x) => f(x)).join(", ")}; gateway ${f(median(turns.closedLoop.map((r) => r.gateway.rate)), 0)} req/s, Go proxy ${f(median(turns.closedLoop.map((r) => r.goProxy.rate)), 0)} (medians)${turnsKills}`,
      ratio: f(ratio),
      target: "≥ 1.0 × the Go proxy",
      verdict: whole ? verdict(ratio >= 1) : "—",
    });
  }
  rows.push({
    figure: "added latency at 1000/s paced, p50 / p99 ms (over a direct call)",
    value: `${f(added(gw, 1000, "p50"), 3)} / ${f(added(gw, 1000, "p99"), 3)}`,
    baseline: `Go proxy ${f(added(go, 1000, "p50"), 3)} / ${f(added(go, 1000, "p99"), 3)}${floor((m) => added(m, 1000, "p99"), "min", 3)} (p99)${turns ? "; one paced run each, minutes apart: judged on the rounds in turns (next row)" : ""}`,
    ratio: f(added(gw, 1000, "p99") / added(go, 1000, "p99")),
    target: "p50 ≤ 0.15, p99 ≤ 0.5",
    verdict: turns
      ? "—"
      : addedVerdict([
          [added(gw, 1000, "p50"), 0.15],
          [added(gw, 1000, "p99"), 0.5],
        ]),
  });
  if (turns) {
    const { rate, rounds } = turns.paced;
    const both = (who: "gateway" | "goProxy" | "forwarder") =>
      `${f(addedInTurns(rounds, who, "p50"), 3)} / ${f(addedInTurns(rounds, who, "p99"), 3)}`;
    const p50 = addedInTurns(rounds, "gateway", "p50");
    const p99 = addedInTurns(rounds, "gateway", "p99");
    rows.push({
      figure: `added latency at ${rate}/s paced, p50 / p99 ms (over a direct call): in turns with the direct call, each alone on core 0, median of ${rounds.length} rounds`,
      value: `${f(p50, 3)} / ${f(p99, 3)}`,
      baseline: `Go proxy ${both("goProxy")}; Node floor ${both("forwarder")} (node forwarder); the gateway's p50 by round ${rounds.map((r) => f(r.gateway.p50 - (r.direct?.p50 ?? Number.NaN), 3)).join(", ")}${turnsKills}`,
      ratio: f(p99 / addedInTurns(rounds, "goProxy", "p99")),
      target: "p50 ≤ 0.15, p99 ≤ 0.5",
      verdict:
        Number.isFinite(p50) && Number.isFinite(p99)
          ? addedVerdict([
              [p50, 0.15],
              [p99, 0.5],
            ])
          : "—",
    });
  }
  rows.push({
    figure: "added latency at 5000/s paced, p99 ms",
    value: f(added(gw, 5000, "p99"), 3),
    baseline: `${goKilled ?? `Go proxy ${f(added(go, 5000, "p99"), 3)}`}${floor((m) => added(m, 5000, "p99"), "min", 3)}`,
    ratio: goKilled ? "—" : f(added(gw, 5000, "p99") / added(go, 5000, "p99")),
    target: "≤ 1",
    verdict: addedVerdict([[added(gw, 5000, "p99"), 1]]),
  });
  const cpu = gw.paced[1000]?.coresPer1000 ?? Number.NaN;
  const goCpu = go.paced[1000]?.coresPer1000 ?? Number.NaN;
  rows.push({
    figure: "CPU core-seconds per 1000 requests at 1000/s",
    value: f(cpu, 3),
    baseline: `${f(goCpu, 3)} (Go proxy)${floor((m) => m.paced[1000]?.coresPer1000 ?? Number.NaN, "min", 3)}${turns ? "; one paced run each, minutes apart: the ratio is judged on the rounds in turns (next row)" : ""}`,
    ratio: f(cpu / goCpu),
    target: turns ? "≤ 0.15" : "≤ 0.15 and ≤ 1.1 × the Go proxy",
    verdict: verdict(cpu <= 0.15 && (turns !== undefined || cpu <= 1.1 * goCpu)),
  });
  if (turns) {
    const { rate, rounds } = turns.paced;
    const ratios = rounds.map((r) => r.gateway.cpuUs / r.goProxy.cpuUs);
    const ratio = median(ratios);
    const whole = ratios.every(Number.isFinite);
    // The Node floor in the same rounds.
    const forwarderRatios = rounds.flatMap((r) => (r.forwarder ? [r.forwarder.cpuUs / r.goProxy.cpuUs] : []));
    const forwarderRatio =
      forwarderRatios.length > 0 ? `; node forwarder / Go proxy ${f(median(forwarderRatios))} (median)` : "";
    rows.push({
      figure: `CPU core-seconds per 1000 requests at ${rate}/s, gateway / Go proxy: paced runs in turns, each alone on core 0, median of ${ratios.length} rounds`,
      value: f(ratio),
      baseline: `rounds ${ratios.map((x) => f(x)).join(", ")}; gateway ${f(median(rounds.map((r) => r.gateway.cpuUs)) / 1000, 3)}, Go proxy ${f(median(rounds.map((r) => r.goProxy.cpuUs)) / 1000, 3)} core-s per 1000 (medians)${forwarderRatio}${turnsKills}`,
      ratio: f(ratio),
      target: "≤ 1.1 × the Go proxy",
      verdict: whole ? verdict(ratio <= 1.1) : "—",
    });
  }
  const workingSets: [string, (m: Measured) => number, number][] = [
    ["idle", (m) => m.idleMb, 30],
    ["at the end of 1000/s", (m) => m.paced[1000]?.endMb ?? Number.NaN, 40],
    ["at the end of 5000/s", (m) => m.paced[5000]?.endMb ?? Number.NaN, 64],
  ];
  for (const [what, of, target] of workingSets) {
    const value = of(gw);
    rows.push({
      figure: `working set ${what}, MiB (128 MiB cgroup)`,
      value: f(value, 1),
      baseline: `Go proxy ${f(of(go), 1)}${floor(of, "min", 1)}`,
      ratio: "—",
      target: `≤ ${target}`,
      verdict: verdict(value <= target),
    });
  }
  rows.push({
    figure: "working set after the closed-loop burst (lowest in 15 s), MiB",
    value: f(gw.afterBurstMb, 1),
    baseline: `idle ${f(gw.idleMb, 1)}${floor((m) => m.afterBurstMb / m.idleMb, "min", 2)} × idle`,
    ratio: f(gw.afterBurstMb / gw.idleMb),
    target: "≤ 1.1 × idle",
    verdict: verdict(gw.afterBurstMb <= 1.1 * gw.idleMb),
  });
  rows.push({
    figure: "idle CPU, % of a core (10 s without requests)",
    value: f(gw.idleCores * 100, 2),
    baseline: `Go proxy ${f(go.idleCores * 100, 2)}; wake-ups a second: gateway ${f(gw.idleWakeups ?? Number.NaN, 1)}, Go proxy ${f(go.idleWakeups ?? Number.NaN, 1)}`,
    ratio: "—",
    target: "≤ 0.5",
    verdict: verdict(gw.idleCores * 100 <= 0.5),
  });
  rows.push({
    figure: "OOM kills during the run (and exits on their own, e.g. at V8's heap limit)",
    value: `${gw.oomKills}${gw.exitedAfter ? `; exited after ${gw.exitedAfter}` : ""}`,
    baseline: `Go proxy ${go.oomKills}${go.exitedAfter ? `; exited after ${go.exitedAfter}` : ""}`,
    ratio: "—",
    target: "0",
    verdict: verdict(gw.oomKills === 0 && gw.exitedAfter === undefined),
  });
}
report("sync-hop", rows, {
  cores: {
    subjects: "core 0, one at a time; then the gateway and the Go proxy in turns",
    "function, load generator and etcd": loadCores,
  },
  memoryLimitMiB: LIMIT / 2 ** 20,
  seconds,
  subjects: results,
  ...(turns && { inTurns: turns }),
});
process.exit(0);
