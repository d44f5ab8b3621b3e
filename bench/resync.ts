// A full resync of the registry under load: docs/architecture.md's "a full resync of 100k subscriptions
// ≤ 1 s with no failed request meanwhile". etcd holds VPN "bench", function bench/fn and N + 1
// subscriptions (bench/resync-records.ts); a gateway pinned to core 0 reaches etcd through a TCP
// proxy in this process (registry/testing/faults.ts). Each try, while a paced load of
// bench.event runs: cut every proxied connection (the gateway's watch fails, as on any etcd
// hiccup), add one subscription straight to etcd (so that the re-list finds a change and the
// routing table is rebuilt, not just reused) and compact etcd at that write (a watch resumed from
// the gateway's revision would otherwise catch up without a re-list: the gateway re-lists
// everything only when its revision is gone), let connections through again, and wait for the
// gateway's config revision to reach that write. This trigger was picked over restarting etcd:
// etcd stays up, so the time is the gateway's re-list, not etcd's start or gRPC's reconnect
// backoff. The resync time is the gateway's own
// switchboard_gateway_registry_sync_seconds (list start → routing table swapped); cut → new table
// seen from outside is in the details. The baseline is the same paged list
// (registry/watcher/list.ts) from this process, straight to etcd; the other phases alone are
// printed after the table (bench/resync-breakdown.ts). etcd and this process (load generator,
// function, proxy) share core 1.
//   node bench/resync.ts [--subscriptions 100000] [--rate 500] [--tries 3] [--cpu-prof DIR] [--gateway-flags=FLAGS]
// (--cpu-prof: the gateway writes a V8 CPU profile into DIR when it stops; --gateway-flags: Node
// flags for the gateway after the image's, e.g. --gateway-flags=--no-single-threaded-gc.)
import { parseArgs } from "node:util";
import { startFunction } from "../e2e/functions.ts";
import { startGateway } from "../e2e/gateway.ts";
import { waitFor } from "../e2e/proc.ts";
import { programArgs } from "../e2e/programs.ts";
import { REGISTRY_PREFIX } from "../registry/keys.ts";
import { startTcpProxy } from "../registry/testing/faults.ts";
import { etcd3RegistryClient } from "../registry/watcher/clients/etcd3.ts";
import {
  benchRegistry,
  benchRoute,
  benchSubscription,
  eventHeaders,
  type LoadResult,
  load,
  pin,
  pinned,
  report,
} from "./lib.ts";
import { resyncPhases } from "./resync-breakdown.ts";
import { seedSubscriptions } from "./resync-records.ts";

const { values } = parseArgs({
  options: {
    subscriptions: { type: "string", default: "100000" },
    rate: { type: "string", default: "500" },
    tries: { type: "string", default: "3" },
    "cpu-prof": { type: "string" },
    "gateway-flags": { type: "string", default: "" },
  },
});
const gatewayFlags = values["gateway-flags"].split(/\s+/).filter(Boolean);
const count = Number(values.subscriptions);
const rate = Number(values.rate);
const tries = Number(values.tries);
const SYNC = "switchboard_gateway_registry_sync_seconds";

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const registry = await benchRegistry();
const cores = { etcd: pin(registry.etcd.proc.pid, "1"), bench: pin(process.pid, "1") };
const fn = await startFunction();
await benchRoute(registry, `${fn.url}/`, "async");
const seeded = await seedSubscriptions(registry.client, registry.cluster, count);

// Baseline: the gateway's paged list, from here, straight to etcd; and the other phases alone.
const phases = await resyncPhases(etcd3RegistryClient(registry.client));

const proxy = await startTcpProxy(Number(new URL(registry.etcd.url).port));
const profile = values["cpu-prof"];
const launched = performance.now();
const gateway = await startGateway({
  etcd: proxy.url,
  clusterName: registry.cluster,
  dir: registry.dir,
  name: "resync",
  prefix: [
    ...pinned("0"),
    ...(profile ? ["bash", "-c", `exec "$0" --cpu-prof --cpu-prof-dir=${profile} "$@"`] : []),
  ],
  ...(gatewayFlags.length > 0 && {
    entry: [process.execPath, ...programArgs("gateway", undefined, gatewayFlags)],
  }),
  // The re-list starts at once (a fleet spreads them over --relist-spread).
  extraArgs: ["--relist-spread=0s"],
});
const readySeconds = (performance.now() - launched) / 1000;
const metric = async (name: string): Promise<number> => (await gateway.metric(name)) ?? 0;
const initialSync = await metric(`${SYNC}_sum`);

const headers = eventHeaders("bench.event", { id: "resync-1" });
const body = JSON.stringify({ order: 42 });
const paced = (seconds: number): Promise<LoadResult> =>
  load({ url: `${gateway.url}/`, headers, body, okStatus: 202, seconds, ratePerSecond: rate });
await paced(1);

/** Paced load in 1 s rounds from now until `done` settles, and one round more; the rounds' results. */
const loadUntil = async (done: Promise<unknown>): Promise<LoadResult[]> => {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  const rounds: LoadResult[] = [];
  do rounds.push(await paced(1));
  while (!finished);
  rounds.push(await paced(1));
  return rounds;
};

interface Try {
  /** Gateway: list start → routing table swapped (its histogram's increment). */
  syncSeconds: number;
  syncs: number;
  /** Cut → config revision at the marker's, seen by polling /metrics every 50 ms. */
  cutToTableSeconds: number;
  /** The paced load from 1 s before the cut to 1 s after the new table, in 1 s rounds. */
  requests: number;
  failed: number;
  worstP99Ms: number;
}
const results: Try[] = [];
for (let i = 0; i < tries; i++) {
  const [sumBefore, countBefore] = [await metric(`${SYNC}_sum`), await metric(`${SYNC}_count`)];
  let resynced: (seconds: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resynced = resolve;
  });
  const running = loadUntil(done);
  await new Promise((r) => setTimeout(r, 1000));
  const cut = performance.now();
  proxy.block();
  const marker = benchSubscription(registry.cluster, `marker-${i}`, `bench.marker.${i}`);
  const ref = { kind: "subscription" as const, namespace: "bench", name: `marker-${i}` };
  const written = await registry.writer.sync(ref, marker);
  const revision = Number((await registry.client.get(REGISTRY_PREFIX).exec()).header.revision);
  await registry.client.kv.compact({ revision: String(revision), physical: true });
  proxy.unblock();
  if (written !== "created") throw new Error(`marker ${i}: ${written}`);
  await waitFor(
    "the resynced routing table",
    async () => ((await metric("switchboard_gateway_config_revision")) >= revision ? true : undefined),
    { intervalMs: 50, timeoutMs: 120_000 },
  );
  resynced((performance.now() - cut) / 1000);
  const rounds = await running;
  results.push({
    syncSeconds: (await metric(`${SYNC}_sum`)) - sumBefore,
    syncs: (await metric(`${SYNC}_count`)) - countBefore,
    cutToTableSeconds: await done,
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    failed: rounds.reduce((n, r) => n + r.errors, 0),
    worstP99Ms: Math.max(...rounds.map((r) => r.latencyMs.p99)),
  });
}
const restarts = await metric("switchboard_gateway_watch_restarts_total");
await gateway.proc.stop();
await proxy.close();
await fn.close();
await registry.close();

const f = (n: number, d = 3): string => n.toFixed(d);
const sync = median(results.map((r) => r.syncSeconds));
const worst = Math.max(...results.map((r) => r.syncSeconds));
const list = median(phases.listSeconds);
const failed = results.reduce((n, r) => n + r.failed, 0);
const requests = results.reduce((n, r) => n + r.requests, 0);
report(
  "resync",
  [
    {
      figure: `full resync of ${count + 1} subscriptions, s (gateway: list + diff + build + swap; median / worst of ${tries})`,
      value: `${f(sync)} / ${f(worst)}`,
      baseline: `${f(list)} (the same paged list of the ${phases.keys} keys from this process, median of 3)`,
      ratio: f(sync / list, 2),
      target: "≤ 1 s",
      verdict: worst <= 1 ? "met" : "missed",
    },
    {
      figure: `failed requests during the resyncs (paced ${rate}/s, from 1 s before each cut to 1 s after its new table)`,
      value: String(failed),
      baseline: `${requests} requests`,
      ratio: f(failed / requests, 4),
      target: "0",
      verdict: failed === 0 ? "met" : "missed",
    },
    {
      figure: "initial load, s (gateway: first list + build)",
      value: f(initialSync),
      baseline: `${f(readySeconds)} (process start → /readyz, polled every 100 ms)`,
      ratio: f(initialSync / readySeconds, 2),
      target: "—",
      verdict: "—",
    },
  ],
  {
    cores: {
      gateway: pinned("0").length > 0 ? "core 0 (taskset)" : "unpinned",
      ...cores,
      function: "this process",
    },
    subscriptions: count,
    seed: seeded,
    phasesInThisProcess: phases,
    trigger:
      "TCP proxy between gateway and etcd: every connection cut, marker subscription written, proxy reopened",
    tries: results,
    watchRestarts: restarts,
    cpuProfile: profile ?? null,
  },
);
const m = (xs: number[]): string => f(median(xs));
console.log(
  `phases alone in this process (core 1, no load, median of 3), s: list ${m(phases.listSeconds)} at 500 keys/page, ` +
    `${m(phases.listLargePagesSeconds)} at ${phases.largePageSize}; first decode ${f(phases.decodeSeconds)}; ` +
    `re-list diff ${m(phases.diffSeconds)}; table build ${m(phases.buildSeconds)}`,
);
console.log(
  `seeding ${count} subscriptions (informational): encode ${f(seeded.encodeSeconds, 2)} s, ` +
    `put ${f(seeded.putSeconds, 2)} s, ${(seeded.bytes / 1e6).toFixed(1)} MB`,
);
process.exit(0);
