// The data plane at fleet scale: WATCHERS registry watchers, each the gateway's own watcher over
// its own etcd client (gRPC on node:http2, one connection each, liveness probes every 2 s), all in
// this process, on one etcd holding SUBSCRIPTIONS subscriptions. A gateway's etcd access pattern
// is its watcher's, so this is the fleet's load on etcd without a thousand Node processes. Measured:
//   - the fleet's first listing (every watcher started at once) until all are ready;
//   - a config change (one subscription put), CHANGES times in turn: put → every watcher's
//     snapshot holds it (p50, p99, max over all watchers and changes);
//   - an etcd restart (killed, started again on its data): restart → every watcher holds a change
//     written after it, and how many re-listed (the goal: none; they watch again from the
//     revision they applied last);
//   - an etcd replaced (a fresh member with another cluster id, the records written again): every
//     watcher must re-list, each after a random share of the gateway's default --relist-spread
//     (10 s): replaced → every watcher holds every record again.
// Watchers in one process share its event loop: latencies include that loop's turn through all
// of them (a real fleet spreads it over as many processes), so they are upper bounds; the
// baseline is as many bare watch streams (same client, nothing applied) in the same process.
//
// With --vpns K (> 1) the subscriptions are spread over K VPNs and the fleet is of sidecars: each
// watcher scoped to one VPN (round robin), as an injected gateway is (registry/watcher/scope.ts).
// A change is then a put in one VPN, measured at that VPN's watchers; after the etcd restart one
// change per VPN is written. Reported besides: the records each holds and the bytes its listings
// read from etcd, against one unscoped watcher of the whole registry in the same run.
//   node bench/fleet.ts [--watchers 1000] [--subscriptions 100] [--changes 20] [--vpns 1]
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Etcd3 } from "etcd3";
import { silentLogger } from "../common/log.ts";
import { type Etcd, startEtcd } from "../e2e/etcd.ts";
import { freePort } from "../e2e/ports.ts";
import { repoRoot } from "../e2e/tools.ts";
import { encodeRecord } from "../registry/codec.ts";
import { recordKey } from "../registry/keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../registry/testing/records.ts";
import type { RegistryRecord } from "../registry/types.ts";
import { prefixRange, type RegistryClient } from "../registry/watcher/client.ts";
import { grpcRegistryClient } from "../registry/watcher/clients/grpc/index.ts";
import { createRegistryWatcher, type RegistryWatcher } from "../registry/watcher/index.ts";
import { percentile, type Row, report } from "./lib.ts";

const { values } = parseArgs({
  options: {
    watchers: { type: "string", default: "1000" },
    subscriptions: { type: "string", default: "100" },
    changes: { type: "string", default: "20" },
    vpns: { type: "string", default: "1" },
  },
});
const N = Number(values.watchers);
const S = Number(values.subscriptions);
const CHANGES = Number(values.changes);
const K = Number(values.vpns);
const SCOPED = K > 1;
const vpnName = (v: number): string => (SCOPED ? `vpn-${v}` : "payments");
/** The VPN watcher `i` is scoped to. */
const vpnOf = (i: number): number => i % K;
const GOAL_PROPAGATION_P99_MS = 100;
const GOAL_RESYNC_S = 30;
/** The gateway's default --relist-spread. */
const RELIST_SPREAD_MS = 10_000;

const dir = mkdtempSync(join(repoRoot, ".work", "fleet-"));
const clientPort = await freePort();
let generation = 0;
let etcd: Etcd = await startEtcd(join(dir, `gen-${generation}`), { clientPort });
const url = `http://127.0.0.1:${clientPort}`;
const admin = new Etcd3({ hosts: url });

const cluster = "fleet";
const records: RegistryRecord[] = [
  ...Array.from({ length: K }, (_, v) => [
    sampleVpn({ cluster, vpn: vpnName(v) }),
    sampleFunction({ cluster, vpn: vpnName(v), name: "invoice" }),
  ]).flat(),
  ...Array.from({ length: S }, (_, i) =>
    sampleSubscription({ cluster, vpn: vpnName(i % K), name: `sub-${i}` }),
  ),
];
/** Records per VPN (what a scoped watcher holds when whole). */
const perVpn = Array.from({ length: K }, (_, v) => records.filter((r) => r.vpn === vpnName(v)).length);
/** What watcher `i` holds when whole. */
const wholeSize = (i: number): number => (SCOPED ? (perVpn[vpnOf(i)] ?? 0) : records.length);
const writeAll = async (): Promise<void> => {
  for (let i = 0; i < records.length; i += 100)
    await Promise.all(records.slice(i, i + 100).map((r) => admin.put(recordKey(r)).value(encodeRecord(r))));
};
await writeAll();

/**
 * The baseline: the same number of bare watch streams (the same client, no store, no snapshot),
 * each only noting when a put arrives; what one process and etcd take to fan a change out.
 */
const bareFanOut = async (): Promise<number[]> => {
  const { header } = await admin.get(recordKey(records[0] as RegistryRecord)).exec();
  const arrivals: number[] = [];
  let since = 0;
  let created = 0;
  const streams = Array.from({ length: N }, () => {
    const client = grpcRegistryClient({ endpoints: [url] });
    const stream = client.watch(
      { range: prefixRange("/switchboard/v1/"), fromRevision: Number(header.revision) + 1 },
      {
        onCreated: () => created++,
        onResponse: (events) => {
          if (events.length > 0) arrivals.push(performance.now() - since);
        },
        onEnd: () => {},
      },
    );
    return { client, stream };
  });
  while (created < N) await new Promise((r) => setTimeout(r, 10));
  const all: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    arrivals.length = 0;
    const record = sampleSubscription({ cluster, name: `bare-${i}` });
    since = performance.now();
    await admin.put(recordKey(record)).value(encodeRecord(record));
    while (arrivals.length < N) await new Promise((r) => setTimeout(r, 2));
    all.push(...arrivals);
  }
  for (const { client, stream } of streams) {
    await stream.cancel();
    await client.close();
  }
  return all.sort((a, b) => a - b);
};
const bare = await bareFanOut();

let lists = 0;
let resumes = 0;
/** Listings per watcher. */
const listed: number[] = [];
/** Bytes (keys and values) the fleet's range reads received from etcd. */
let bytesRead = 0;
/** The gateway's client, with the bytes of every range answer counted in `count`. */
const countingClient = (count: (bytes: number) => void): RegistryClient & { close(): Promise<void> } => {
  const client = grpcRegistryClient({ endpoints: [url] });
  return {
    ...client,
    range: async (request) => {
      const page = await client.range(request);
      let bytes = 0;
      for (const kv of page.kvs) bytes += kv.key.length + kv.value.length;
      count(bytes);
      return page;
    },
    read: (key, timeoutMs) => client.read(key, timeoutMs),
    watch: (request, handlers) => client.watch(request, handlers),
    close: () => client.close(),
  };
};
const fleet: { watcher: RegistryWatcher; close: () => Promise<void> }[] = [];
const abort = new AbortController();
const startedAt = performance.now();
for (let i = 0; i < N; i++) {
  const client = countingClient((bytes) => {
    bytesRead += bytes;
  });
  const watcher = createRegistryWatcher({
    client,
    log: silentLogger(),
    relistSpreadMs: RELIST_SPREAD_MS,
    ...(SCOPED ? { scope: { vpn: vpnName(vpnOf(i)) } } : {}),
    onListed: () => {
      lists++;
      listed[i] = (listed[i] ?? 0) + 1;
    },
    onResumed: () => resumes++,
  });
  void watcher.run(abort.signal);
  fleet.push({ watcher, close: () => client.close() });
}
await Promise.all(fleet.map((w) => w.watcher.ready));
const firstListS = (performance.now() - startedAt) / 1000;
const firstListBytes = bytesRead;
const heldPerWatcher = fleet.reduce((sum, w) => sum + (w.watcher.current()?.records.size ?? 0), 0) / N;

// The reference: one unscoped watcher of the whole registry, what each of the fleet would hold
// and list without a scope.
let referenceBytes = 0;
const referenceClient = countingClient((bytes) => {
  referenceBytes += bytes;
});
const reference = createRegistryWatcher({ client: referenceClient, log: silentLogger() });
const referenceAbort = new AbortController();
void reference.run(referenceAbort.signal);
await reference.ready;
const referenceHeld = reference.current()?.records.size ?? 0;
referenceAbort.abort();
await referenceClient.close();

/** Resolves with the ms from `since` at which each watcher holding `vpn` (every watcher when unscoped) first held `key` (polled every 2 ms). */
const arrival = async (key: string, vpn: number, since: number, timeoutMs: number): Promise<number[]> => {
  // A watcher of another VPN counts as arrived from the start: it must never hold the key.
  const at: (number | undefined)[] = fleet.map((_, i) => (SCOPED && vpnOf(i) !== vpn ? -1 : undefined));
  const unsubscribe = fleet.map((w, i) =>
    w.watcher.onSnapshot((snapshot) => {
      if (at[i] === undefined && snapshot.records.has(key)) at[i] = performance.now() - since;
    }),
  );
  fleet.forEach((w, i) => {
    if (at[i] === undefined && w.watcher.current()?.records.has(key)) at[i] = performance.now() - since;
  });
  while (at.some((x) => x === undefined) && performance.now() - since < timeoutMs)
    await new Promise((r) => setTimeout(r, 2));
  for (const off of unsubscribe) off();
  if (at.some((x) => x === undefined))
    throw new Error(`${at.filter((x) => x === undefined).length} watchers never saw ${key}`);
  const strays = fleet.filter((w, i) => at[i] === -1 && w.watcher.current()?.records.has(key)).length;
  if (strays > 0) throw new Error(`${strays} watchers of other VPNs hold ${key}`);
  return (at as number[]).filter((x) => x >= 0);
};

/** One subscription put in VPN `vpn`; the ms until each watcher that should hold it does. */
const change = async (name: string, vpn: number, timeoutMs = 60_000): Promise<number[]> => {
  const record = sampleSubscription({ cluster, vpn: vpnName(vpn), name });
  const key = recordKey(record);
  const since = performance.now();
  await admin.put(key).value(encodeRecord(record));
  return arrival(key, vpn, since, timeoutMs);
};

// Config changes, one at a time (in turn in each VPN).
const propagation: number[] = [];
for (let i = 0; i < CHANGES; i++) propagation.push(...(await change(`change-${i}`, i % K)));
propagation.sort((a, b) => a - b);

// etcd restarted on its data: the fleet should watch again, not re-list.
const listsBeforeRestart = lists;
const resumesBeforeRestart = resumes;
await etcd.proc.stop(0);
const restartedAt = performance.now();
etcd = await startEtcd(join(dir, `gen-${generation}`), { clientPort });
const afterRestart = (
  await Promise.all(Array.from({ length: K }, (_, v) => change(`after-restart-${v}`, v, 120_000)))
).flat();
const restartS = (performance.now() - restartedAt) / 1000;
const restartLists = lists - listsBeforeRestart;
const restartResumes = resumes - resumesBeforeRestart;

// etcd replaced by a fresh member (another cluster id): every watcher must re-list.
const listsBeforeReplace = lists;
const bytesBeforeReplace = bytesRead;
const listedBefore = [...listed];
await etcd.proc.stop(0);
generation++;
const replacedAt = performance.now();
etcd = await startEtcd(join(dir, `gen-${generation}`), { clientPort });
await writeAll();
// Whole again: listed the new etcd, and holding exactly its records (none of the old changes).
const whole = (i: number): boolean =>
  (listed[i] ?? 0) > (listedBefore[i] ?? 0) && fleet[i]?.watcher.current()?.records.size === wholeSize(i);
const replaced: number[] = fleet.map(() => Number.NaN);
while (replaced.some(Number.isNaN) && performance.now() - replacedAt < 120_000) {
  replaced.forEach((at, i) => {
    if (Number.isNaN(at) && whole(i)) replaced[i] = performance.now() - replacedAt;
  });
  await new Promise((r) => setTimeout(r, 5));
}
if (replaced.some(Number.isNaN))
  throw new Error(`${replaced.filter(Number.isNaN).length} watchers never re-listed the new etcd`);
const replaceS = (performance.now() - replacedAt) / 1000;
const replaceLists = lists - listsBeforeReplace;
const replaceBytes = bytesRead - bytesBeforeReplace;

abort.abort();
await Promise.all(fleet.map((w) => w.close()));
admin.close();
await etcd.proc.stop();
rmSync(dir, { recursive: true, force: true });

const f = (n: number, d = 1): string => n.toFixed(d);
const p99 = percentile(propagation, 0.99);
const MiB = 1024 * 1024;
const kind = SCOPED ? `sidecars, each scoped to 1 of ${K} VPNs` : "watchers of the whole registry";
const rows: Row[] = [
  {
    figure: `${N} ${kind}, started at once: all ready, s (${records.length} records)`,
    value: f(firstListS, 2),
    baseline: "—",
    ratio: "—",
    target: "—",
    verdict: "—",
  },
  {
    figure: SCOPED
      ? `config change → the ${N / K} watchers of its VPN, ms p50 / p99 / max (${CHANGES} changes)`
      : `config change → all ${N} watchers, ms p50 / p99 / max (${CHANGES} changes)`,
    value: `${f(percentile(propagation, 0.5))} / ${f(p99)} / ${f(propagation.at(-1) ?? Number.NaN)}`,
    baseline: `${N} bare watch streams in this process ${f(percentile(bare, 0.5))} / ${f(percentile(bare, 0.99))} / ${f(bare.at(-1) ?? Number.NaN)}`,
    ratio: f(p99 / GOAL_PROPAGATION_P99_MS, 2),
    target: `p99 ≤ ${GOAL_PROPAGATION_P99_MS}`,
    verdict: p99 <= GOAL_PROPAGATION_P99_MS ? "met" : "missed",
  },
  {
    figure: "etcd restarted: restart → every watcher holds a change written after it, s",
    value: f(restartS, 2),
    baseline: `re-lists ${restartLists}, new watches ${restartResumes} (of ${N}); last watcher ${f(Math.max(...afterRestart))} ms after the put`,
    ratio: f(restartS / GOAL_RESYNC_S, 2),
    target: `≤ ${GOAL_RESYNC_S}, no re-list`,
    verdict: restartS <= GOAL_RESYNC_S && restartLists === 0 ? "met" : "missed",
  },
  {
    figure: "etcd replaced (new cluster id, records written again): → every watcher re-listed and whole, s",
    value: f(replaceS, 2),
    baseline: `re-lists ${replaceLists} (of ${N}), each after a random share of a ${RELIST_SPREAD_MS / 1000} s spread; half the fleet whole ${f(
      percentile(
        [...replaced].sort((a, b) => a - b),
        0.5,
      ) / 1000,
      2,
    )} s after the replacement started`,
    ratio: f(replaceS / GOAL_RESYNC_S, 2),
    target: `≤ ${GOAL_RESYNC_S}`,
    verdict: replaceS <= GOAL_RESYNC_S ? "met" : "missed",
  },
  {
    figure: "records held per watcher (mean)",
    value: f(heldPerWatcher),
    baseline: `a watcher of the whole registry ${referenceHeld}`,
    ratio: f(heldPerWatcher / referenceHeld, 3),
    target: SCOPED ? "its VPN's only" : "—",
    verdict: SCOPED ? (heldPerWatcher < referenceHeld ? "met" : "missed") : "—",
  },
  {
    figure: "bytes listed from etcd per watcher: first listing / re-list after the replacement, KiB",
    value: `${f(firstListBytes / N / 1024)} / ${f(replaceBytes / Math.max(1, replaceLists) / 1024)}`,
    baseline: `a watcher of the whole registry ${f(referenceBytes / 1024)} (the fleet's re-lists ${f(replaceBytes / MiB)} MiB in all)`,
    ratio: f(firstListBytes / N / referenceBytes, 3),
    target: "—",
    verdict: "—",
  },
];
report(SCOPED ? "fleet-scoped" : "fleet", rows, {
  watchers: N,
  vpns: K,
  scoped: SCOPED,
  records: records.length,
  heldPerWatcher,
  referenceHeld,
  bytes: {
    firstListPerWatcher: firstListBytes / N,
    replaceTotal: replaceBytes,
    referenceList: referenceBytes,
  },
  changes: CHANGES,
  firstListS,
  propagationMs: { p50: percentile(propagation, 0.5), p99, max: propagation.at(-1) },
  bareFanOutMs: { p50: percentile(bare, 0.5), p99: percentile(bare, 0.99), max: bare.at(-1) },
  restart: { seconds: restartS, lists: restartLists, resumes: restartResumes },
  replace: { seconds: replaceS, lists: replaceLists },
});
process.exit(0);
