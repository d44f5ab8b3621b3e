// Matching: the routing table's match time per event (p50/p99, each event timed alone, timer
// included) at 1k, 10k and 100k subscriptions over four VPNs, and the heap the table holds per
// subscription. Baseline in the same run: the same filters evaluated over every subscription of
// the VPN (a linear scan with table.accepts), which is what the indexes save. One process, unpinned.
//   bash scripts/node24.sh --expose-gc bench/matching.ts
// Mix per VPN: 70 % exact type, 15 % type prefix, 10 % exact source, 5 % exact type + CEL on
// data (about 1000 distinct expressions), plus 16 unindexable subscriptions (suffix, not).
import type { FilterRecord, RegistryRecord } from "../registry/types.ts";
import { buildRoutingTable } from "../sidecar/routing/index.ts";
import { snapshotOf, subscriptionRecord, vpnRecord } from "../sidecar/testing/routing.ts";
import type { CloudEvent, Route } from "../sidecar/types.ts";
import { type Row, report } from "./lib.ts";

const VPNS = ["v0", "v1", "v2", "v3"];
const SCAN_PER_VPN = 16;

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const random = mulberry32(42);
const int = (n: number): number => Math.floor(random() * n);

const typeOf = (services: number, types: number) => `com.acme.s${int(services)}.e${int(types)}`;

const shape = (perVpn: number) => {
  const services = Math.max(1, Math.floor(perVpn / 40));
  return { services, typesPerService: 20, sources: Math.max(1, Math.floor(perVpn / 20)) };
};

const subscriptionFilters = (i: number, perVpn: number): { filters: FilterRecord[]; cel?: string } => {
  const { services, typesPerService, sources } = shape(perVpn);
  const roll = (i * 7919) % 100;
  if (roll < 70) return { filters: [{ exact: { type: typeOf(services, typesPerService) } }] };
  if (roll < 85) return { filters: [{ prefix: { type: `com.acme.s${int(services)}.` } }] };
  if (roll < 95) return { filters: [{ exact: { source: `/src/${int(sources)}` } }] };
  return {
    filters: [{ exact: { type: typeOf(services, typesPerService) } }],
    cel: `data.amount > ${int(1000)}`,
  };
};

const records = (total: number): RegistryRecord[] => {
  const perVpn = Math.floor(total / VPNS.length);
  const out: RegistryRecord[] = [];
  for (const vpn of VPNS) {
    out.push(vpnRecord(vpn, "east", { namespaces: [`${vpn}-ns`] }));
    for (let i = 0; i < perVpn; i++) {
      const scan = i < SCAN_PER_VPN;
      const spec = scan
        ? { filters: [i % 2 ? { suffix: { type: `.e${i}` } } : { not: { exact: { source: `/src/${i}` } } }] }
        : subscriptionFilters(i, perVpn);
      out.push(subscriptionRecord({ vpn, namespace: `${vpn}-ns`, name: `s${i}` }, spec));
    }
  }
  return out;
};

const events = (total: number, count: number): CloudEvent[] => {
  const { services, typesPerService, sources } = shape(Math.floor(total / VPNS.length));
  return Array.from({ length: count }, (_, i) => ({
    attributes: {
      id: String(i),
      specversion: "1.0",
      type: random() < 0.9 ? typeOf(services, typesPerService) : "org.other.event",
      source: `/src/${int(sources * 2)}`,
    },
    data: undefined,
    json: { amount: int(2000) },
  }));
};

const heap = (): number => {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};

const percentile = (sorted: BigInt64Array, p: number): number =>
  Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0n);

const run = (total: number) => {
  const all = records(total);
  const snapshot = snapshotOf(all);
  const before = heap();
  const started = process.hrtime.bigint();
  const table = buildRoutingTable(snapshot);
  const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
  const bytesPerSubscription = (heap() - before) / total;
  const sample = events(total, 4096);
  const time = (measured: number, match: (vpn: string, event: CloudEvent) => number) => {
    const warm = Math.min(50_000, measured / 4);
    const times = new BigInt64Array(measured);
    let matches = 0;
    for (let i = 0; i < warm + measured; i++) {
      const event = sample[i % sample.length];
      const vpn = VPNS[i % VPNS.length];
      if (event === undefined || vpn === undefined) continue;
      const t0 = process.hrtime.bigint();
      const n = match(vpn, event);
      const t1 = process.hrtime.bigint();
      if (i >= warm) {
        times[i - warm] = t1 - t0;
        matches += n;
      }
    }
    times.sort();
    return {
      p50: percentile(times, 0.5),
      p99: percentile(times, 0.99),
      p999: percentile(times, 0.999),
      routesPerEvent: Number((matches / measured).toFixed(2)),
    };
  };
  const indexed = time(200_000, (vpn, event) => table.match(vpn, event, "async").length);
  const routes = new Map<string, Route[]>();
  for (const r of all) {
    if (r.kind !== "subscription") continue;
    const route = table.route(r.vpn, r.owner.namespace ?? "", r.owner.name);
    if (route) routes.set(r.vpn, [...(routes.get(r.vpn) ?? []), route]);
  }
  // The scan costs ~50 ns per subscription: fewer events at 100k keep the run short.
  const scan = time(Math.max(2_000, 2_000_000_000 / total / 100), (vpn, event) => {
    let n = 0;
    for (const route of routes.get(vpn) ?? []) if (table.accepts(route, event)) n++;
    return n;
  });
  const stats = table.stats("v0");
  return {
    subscriptions: total,
    buildMs,
    bytesPerSubscription,
    indexed,
    scan,
    scanList: stats?.async.scan ?? 0,
  };
};

if (globalThis.gc === undefined) process.stderr.write("run with --expose-gc for heap numbers\n");
const results = [1_000, 10_000, 100_000].map(run);
const rows: Row[] = [];
for (const r of results) {
  const target = r.subscriptions === 100_000;
  rows.push({
    figure: `match time per event at ${r.subscriptions / 1000}k subscriptions, p50 / p99 ns`,
    value: `${r.indexed.p50} / ${r.indexed.p99} (indexed table)`,
    baseline: `${r.scan.p50} / ${r.scan.p99} (every subscription's filters)`,
    ratio: (r.indexed.p99 / r.scan.p99).toFixed(4),
    target: target ? "p99 ≤ 5000 ns" : "—",
    verdict: target ? (r.indexed.p99 <= 5000 ? "met" : "missed") : "—",
  });
}
const biggest = results.at(-1);
if (biggest)
  rows.push({
    figure: `heap per subscription at ${biggest.subscriptions / 1000}k, bytes`,
    value: `${Math.round(biggest.bytesPerSubscription)} (routing table)`,
    baseline: results
      .slice(0, -1)
      .map((r) => `${Math.round(r.bytesPerSubscription)} at ${r.subscriptions / 1000}k`)
      .join(", "),
    ratio: "—",
    target: "≤ 1024",
    verdict: biggest.bytesPerSubscription <= 1024 ? "met" : "missed",
  });
report("matching", rows, {
  cores: { bench: "this process, unpinned (one thread)" },
  mix: "per VPN: 70 % exact type, 15 % type prefix, 10 % exact source, 5 % exact type + CEL, 16 scan-only",
  results,
});
process.exit(0);
