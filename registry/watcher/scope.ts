// A watcher scoped to one VPN: what a sidecar can route for, and nothing else. The registry is laid
// out by cluster (../keys.ts: each cluster's operator may write only its own subtree), so one VPN's
// records are, in every cluster, the VPN record, one Function collection and one Subscription
// collection; with the cluster's heartbeat, four ranges per cluster:
//
//   /switchboard/v1/clusters/<cluster>/heartbeat
//   /switchboard/v1/clusters/<cluster>/vpns/<vpn>
//   /switchboard/v1/clusters/<cluster>/functions/<vpn>/…
//   /switchboard/v1/clusters/<cluster>/subscriptions/<vpn>/…
//
// A scoped listing finds the clusters by skipping from one cluster's subtree to the next (one
// single-key read per cluster), then reads those four ranges of each, all at the revision of the
// first read: one consistent cut, whatever the size of the other VPNs. Then each range is watched
// from that revision + 1 (./session.ts): events arrive in order within a range, not across ranges,
// which nothing here needs (records are written one per transaction). A cluster that appears later
// is found by the same skipping, repeated while watching (every 30 s by default): the watcher then
// lists again, its scope being small. What it costs and saves: docs/benchmarks.md.
import { CLUSTERS_PREFIX, COLLECTIONS } from "../keys.ts";
import { type KeyRange, keyRange, prefixRange, type RegistryClient } from "./client.ts";
import { type ListOptions, listRange } from "./list.ts";
import type { StoredValue, StoreListing } from "./store.ts";

export interface RegistryScope {
  /** The one VPN whose records the watcher holds (every cluster's heartbeat is held too). */
  readonly vpn: string;
}

/** Requests of a scoped listing in flight at once. */
const CONCURRENCY = 16;

/** The parts of a cluster's subtree in `scope`, after `<cluster>/`. */
const tails = ({ vpn }: RegistryScope) => ({
  heartbeat: "heartbeat",
  vpn: `${COLLECTIONS.vpn}/${vpn}`,
  functions: `${COLLECTIONS.function}/${vpn}/`,
  subscriptions: `${COLLECTIONS.subscription}/${vpn}/`,
});

/** Whether `key` is in `scope`: a cluster's heartbeat, or a record of the scope's VPN in any cluster (exactly the keys of the ranges scopedListing reads). */
export const scopeFilter = (scope: RegistryScope): ((key: string) => boolean) => {
  const t = tails(scope);
  return (key) => {
    if (!key.startsWith(CLUSTERS_PREFIX)) return false;
    const slash = key.indexOf("/", CLUSTERS_PREFIX.length);
    if (slash === -1) return false;
    const rest = key.slice(slash + 1);
    return (
      rest === t.heartbeat ||
      rest === t.vpn ||
      rest.startsWith(t.functions) ||
      rest.startsWith(t.subscriptions)
    );
  };
};

/** The ranges of `cluster` in `scope`. */
const clusterRanges = (cluster: string, scope: RegistryScope): KeyRange[] => {
  const base = `${CLUSTERS_PREFIX}${cluster}/`;
  const t = tails(scope);
  return [
    keyRange(base + t.heartbeat),
    keyRange(base + t.vpn),
    prefixRange(base + t.functions),
    prefixRange(base + t.subscriptions),
  ];
};

/** Runs `tasks` with at most `limit` in flight; rejects with the first failure. */
const bounded = async <T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> => {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
};

/**
 * The clusters with a subtree in the registry, found by skipping from one to the next (one
 * single-key read each), at `revision` (undefined: the current one); with the revision read at.
 */
export const discoverClusters = async (
  client: RegistryClient,
  { timeoutMs, revision }: { timeoutMs: number; revision?: number },
): Promise<{ clusters: string[]; revision: number; clusterId: string }> => {
  const all = prefixRange(CLUSTERS_PREFIX);
  let start = all.start;
  let at = revision;
  let clusterId = "";
  const clusters: string[] = [];
  for (;;) {
    const page = await client.range({
      start,
      end: all.end,
      limit: 1,
      timeoutMs,
      ...(at === undefined ? {} : { revision: at }),
    });
    at ??= page.revision;
    clusterId = page.clusterId;
    const key = page.kvs[0]?.key;
    if (key === undefined) break;
    const slash = key.indexOf("/", CLUSTERS_PREFIX.length);
    if (slash === -1) {
      // A key right under the clusters' prefix belongs to no cluster: step over it.
      start = keyRange(key).end;
      continue;
    }
    const cluster = key.slice(CLUSTERS_PREFIX.length, slash);
    clusters.push(cluster);
    start = prefixRange(`${CLUSTERS_PREFIX}${cluster}/`).end;
  }
  return { clusters, revision: at ?? 0, clusterId };
};

/** A scoped listing: the keys, the ranges they were read from (to watch), and the clusters found. */
export interface ScopedListing {
  listing: StoreListing;
  ranges: KeyRange[];
  clusters: ReadonlySet<string>;
}

/**
 * Every key in `scope` at one revision (the first read's): the clusters found by skipping through
 * their subtrees, then each cluster's ranges. Throws what listRange throws.
 */
export const scopedListing = async (
  client: RegistryClient,
  scope: RegistryScope,
  { pageSize = 5000, timeoutMs = 10_000 }: ListOptions = {},
): Promise<ScopedListing> => {
  const { clusters, revision, clusterId } = await discoverClusters(client, { timeoutMs });
  const ranges = clusters.flatMap((cluster) => clusterRanges(cluster, scope));
  const listings = await bounded(
    ranges.map((range) => () => listRange(client, range, { pageSize, timeoutMs, revision })),
    CONCURRENCY,
  );
  const kvs: StoredValue[] = listings.flatMap((listing) => listing.kvs);
  return { listing: { revision, clusterId, kvs }, ranges, clusters: new Set(clusters) };
};
