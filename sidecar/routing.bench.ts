// Micro benchmark of the routing table (not a test): builds 1k/10k/100k subscriptions over four
// VPNs and reports the match time per event (p50/p99, each event timed alone, timer included),
// the build time, and the heap the table holds per subscription.
//   bash scripts/node24.sh --expose-gc sidecar/routing.bench.ts
// Mix per VPN: 70 % exact type, 15 % type prefix, 10 % exact source, 5 % exact type + CEL on
// data (about 1000 distinct expressions), plus 16 unindexable subscriptions (suffix, not).
import type { FilterRecord, RegistryRecord } from "../registry/types.ts";
import { buildRoutingTable } from "./routing.ts";
import { snapshotOf, subscriptionRecord, vpnRecord } from "./routing-fixtures.ts";
import type { CloudEvent } from "./types.ts";

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
  const snapshot = snapshotOf(records(total));
  const before = heap();
  const started = process.hrtime.bigint();
  const table = buildRoutingTable(snapshot);
  const buildMs = Number(process.hrtime.bigint() - started) / 1e6;
  const bytesPerSubscription = (heap() - before) / total;
  const sample = events(total, 4096);
  const warm = 50_000;
  const measured = 200_000;
  const times = new BigInt64Array(measured);
  let matches = 0;
  for (let i = 0; i < warm + measured; i++) {
    const event = sample[i % sample.length];
    const vpn = VPNS[i % VPNS.length];
    if (event === undefined || vpn === undefined) continue;
    const t0 = process.hrtime.bigint();
    const routes = table.match(vpn, event, "async");
    const t1 = process.hrtime.bigint();
    if (i >= warm) {
      times[i - warm] = t1 - t0;
      matches += routes.length;
    }
  }
  times.sort();
  const stats = table.stats("v0");
  return {
    subscriptions: total,
    "build ms": Math.round(buildMs),
    "heap B/sub": Math.round(bytesPerSubscription),
    "p50 ns/event": percentile(times, 0.5),
    "p99 ns/event": percentile(times, 0.99),
    "p99.9 ns/event": percentile(times, 0.999),
    "routes/event": Number((matches / measured).toFixed(2)),
    "scan list/VPN": stats?.async.scan ?? 0,
  };
};

if (globalThis.gc === undefined) process.stderr.write("run with --expose-gc for heap numbers\n");
const rows = [1_000, 10_000, 100_000].map(run);
const columns = Object.keys(rows[0] ?? {});
const line = (cells: readonly unknown[]) =>
  `${cells.map((value, i) => String(value).padStart((columns[i]?.length ?? 0) + 2)).join("")}\n`;
process.stdout.write(line(columns));
for (const row of rows) process.stdout.write(line(Object.values(row)));
