// Config propagation, against docs/architecture.md's targets: "etcd put → all gateways routing p99 ≤ 50 ms;
// `kubectl apply` → routable p99 ≤ 500 ms".
//   1. A new subscription record put into etcd → N gateways (core 0) route its event type; beside
//      it, the same puts seen by a bare etcd3 watch in this process (raw watch latency).
//   2. `kubectl apply` of a new Subscription on a real control plane → the real operator writes
//      the record → a gateway routes its type; beside it, the time that `kubectl apply` takes;
//      and → the Subscription is Ready once both of two gateways report it applied.
// "Routes" is observed by publishing events of the new type until one is routed (202 with no
// delivery → 202 with one): that overstates each figure by up to one request round trip
// (bench/propagation-poll.ts). Ready is seen by a watch on the API server.
//   node bench/propagation.ts [--rounds 30] [--apply-rounds 20] [--gateways 3] [--poll-gap-ms 0]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { pinned, report } from "./lib.ts";
import { measureApply } from "./propagation-apply.ts";
import { p50p99, summarize } from "./propagation-poll.ts";
import { measurePut } from "./propagation-put.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "30" },
    "apply-rounds": { type: "string" },
    gateways: { type: "string", default: "3" },
    "poll-gap-ms": { type: "string", default: "0" },
  },
});
const rounds = Number(values.rounds);
const applyRounds = Number(values["apply-rounds"] ?? Math.min(rounds, 20));
const gateways = Number(values.gateways);
const gapMs = Number(values["poll-gap-ms"]);

const loadBefore = loadavg();
const put = await measurePut({ rounds, gateways, gapMs });
const apply = await measureApply({ rounds: applyRounds });

const all = summarize(put.allGateways);
const watch = summarize(put.watch);
const routable = summarize(apply.routable);
const readyAll = summarize(apply.ready);
const applyOnly = summarize(apply.apply);
const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 100) / 100);
const core0 = pinned("0").length > 0 ? "core 0 (taskset)" : "unpinned (no taskset)";

report(
  "propagation",
  [
    {
      figure: `etcd put → all ${gateways} gateways routing, p50 / p99 ms (${rounds} rounds)`,
      value: p50p99(all),
      baseline: `${p50p99(watch)} (bare etcd3 watch sees the put)`,
      ratio: (all.p99 / watch.p99).toFixed(1),
      target: "p99 ≤ 50 ms",
      verdict: all.p99 <= 50 ? "met" : "missed",
    },
    {
      figure: `kubectl apply → gateway routable, p50 / p99 ms (${applyRounds} rounds)`,
      value: p50p99(routable),
      baseline: `${p50p99(applyOnly)} (the kubectl apply command itself)`,
      ratio: (routable.p99 / applyOnly.p99).toFixed(2),
      target: "p99 ≤ 500 ms",
      verdict: routable.p99 <= 500 ? "met" : "missed",
    },
    {
      figure: `kubectl apply → Ready (Propagated 2/2 gateways), p50 / p99 ms (${applyRounds} rounds)`,
      value: p50p99(readyAll),
      baseline: `${p50p99(routable)} (the first gateway routable)`,
      ratio: (readyAll.p99 / routable.p99).toFixed(2),
      target: "p99 ≤ 500 ms",
      verdict: readyAll.p99 <= 500 ? "met" : "missed",
    },
  ],
  {
    cores: {
      gateways: `${core0}, all on the same core`,
      registryEtcd: "unpinned",
      thisProcess: "unpinned: pollers, the bare watch, the function server",
      controlPlane: "unpinned: kube-apiserver, kube-controller-manager, their etcd, the operator, kubectl",
      machine: "2 cores, loopback only",
      // Other programs on the machine compete for the same cores; the 1-minute load average says how much.
      loadAverage1m: { before: loadBefore[0], after: loadavg()[0] },
    },
    method: {
      polling: `one undici connection per gateway; part 1 ${gapMs > 0 ? `with a ${gapMs} ms gap` : "back to back"}, part 2 with a 1 ms gap; a figure overstates by up to the last poll's round trip (lastRtt)`,
      p99: "with fewer than 100 rounds p99 is the largest round",
      warmup: "3 put rounds and 2 apply rounds before the measured ones are not counted",
    },
    put: {
      rounds,
      gateways,
      allGateways: all,
      perGateway: put.perGateway.map((ms) => summarize(ms)),
      bareWatch: watch,
      gatewaysMinusWatch: summarize(put.allGateways.map((ms, i) => ms - (put.watch[i] ?? 0))),
      lastRtt: summarize(put.lastRtt),
      pollsPerRoundPerGateway: put.polls / (rounds * gateways),
      raw: { allGateways: round(put.allGateways), watch: round(put.watch) },
    },
    apply: {
      rounds: applyRounds,
      routable,
      readyAllGateways: readyAll,
      kubectlApply: applyOnly,
      routableMinusApply: summarize(apply.routable.map((ms, i) => ms - (apply.apply[i] ?? 0))),
      lastRtt: summarize(apply.lastRtt),
      setupSeconds: Math.round(apply.setupSeconds * 10) / 10,
      raw: { routable: round(apply.routable), ready: round(apply.ready), apply: round(apply.apply) },
    },
  },
);
process.exit(0);
