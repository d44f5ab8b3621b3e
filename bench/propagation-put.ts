// Part 1 of bench/propagation.ts: an etcd put of a new subscription record → every gateway routes
// its event type, beside a bare etcd3 watch in this process seeing the same put.
import { Etcd3 } from "etcd3";
import { startFunction } from "../e2e/functions.ts";
import { type GatewayProcess, startGateway } from "../e2e/gateway.ts";
import { collectionPrefix, recordKey } from "../registry/keys.ts";
import { benchRegistry, benchRoute, benchSubscription, pinned, routesLoaded } from "./lib.ts";
import { type Poller, poller, type Routed } from "./propagation-poll.ts";

export interface PutRounds {
  /** Per round: the slowest gateway's time from the put to routing, ms. */
  allGateways: number[];
  /** Per gateway, per round, ms. */
  perGateway: number[][];
  /** Per round: the bare watch's time from the put to the event, ms. */
  watch: number[];
  /** Per round: the round trip of the slowest gateway's last poll (the resolution), ms. */
  lastRtt: number[];
  polls: number;
}

/** Starts etcd, a function and `gateways` gateways (core 0), runs `warmup + rounds` puts, stops everything. */
export const measurePut = async ({
  rounds,
  gateways,
  warmup = 3,
  gapMs = 0,
}: {
  rounds: number;
  gateways: number;
  warmup?: number;
  gapMs?: number;
}): Promise<PutRounds> => {
  const registry = await benchRegistry();
  const fn = await startFunction();
  await benchRoute(registry, `${fn.url}/`, "async");
  const gws: GatewayProcess[] = [];
  for (let g = 0; g < gateways; g++) {
    gws.push(
      await startGateway({
        etcd: registry.etcd.url,
        clusterName: registry.cluster,
        dir: registry.dir,
        name: `propagation-${g}`,
        prefix: pinned("0"),
      }),
    );
  }
  for (const gw of gws) await routesLoaded(gw);
  const pollers: Poller[] = gws.map((gw) => poller(gw.url, { gapMs }));

  // The baseline: a bare watch on its own client, as a gateway's is.
  const watchClient = new Etcd3({ hosts: registry.etcd.url });
  const watcher = await watchClient
    .watch()
    .prefix(collectionPrefix(registry.cluster, "subscription"))
    .create();
  const seen = new Map<string, (at: number) => void>();
  watcher.on("put", (kv) => seen.get(kv.key.toString())?.(performance.now()));

  const out: PutRounds = { allGateways: [], perGateway: gws.map(() => []), watch: [], lastRtt: [], polls: 0 };
  for (let i = -warmup; i < rounds; i++) {
    const name = `prop-${i + warmup}`;
    const type = `bench.propagation.r${i + warmup}`;
    const record = benchSubscription(registry.cluster, name, type);
    const key = recordKey(record);
    const watched = new Promise<number>((resolve) => seen.set(key, resolve));
    const t0 = performance.now();
    const put = registry.writer.sync({ kind: "subscription", namespace: "bench", name }, record);
    const routed: Routed[] = await Promise.all(pollers.map((p) => p.until(type, t0)));
    await put;
    const watchMs = (await watched) - t0;
    seen.delete(key);
    // Let the gateways deliver the accepted probes before the next round.
    await new Promise((r) => setTimeout(r, 50));
    if (i < 0) continue;
    const slowest = routed.reduce((a, b) => (b.ms > a.ms ? b : a));
    out.allGateways.push(slowest.ms);
    out.lastRtt.push(slowest.lastRttMs);
    out.watch.push(watchMs);
    out.polls += routed.reduce((n, r) => n + r.polls, 0);
    for (const [g, r] of routed.entries()) out.perGateway[g]?.push(r.ms);
  }

  await watcher.cancel();
  watchClient.close();
  for (const p of pollers) await p.close();
  for (const gw of gws) await gw.proc.stop();
  await fn.close();
  await registry.close();
  return out;
};
