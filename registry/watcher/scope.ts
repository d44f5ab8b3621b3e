// A watcher scoped to part of the registry. A sidecar's scope is one VPN: what it can route for,
// and nothing else. The registry is laid out by cluster (../keys.ts: each cluster's operator may
// write only its own subtree), so one VPN's records are, in every cluster, the VPN record, one
// Function collection and one Subscription collection; with the cluster's heartbeat, four ranges
// per cluster:
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
//
// The operator's scope is the Functions of every other cluster (a Subscription may name a Function
// declared only elsewhere): two ranges per other cluster and none of its own, so that its own
// writes never come back to it through its watch.
import { CLUSTERS_PREFIX, COLLECTIONS } from "../keys.ts";
import { type KeyRange, keyRange, prefixRange, type RegistryClient } from "./client.ts";
import { type ListOptions, listRange } from "./list.ts";
import type { StoredValue, StoreListing } from "./store.ts";

export type RegistryScope =
  /** One VPN's records in every cluster, and every cluster's heartbeat (an injected sidecar's). */
  | { readonly vpn: string }
  /** Every other cluster's Functions and heartbeat, none of `functionsBeyond`'s own (the operator's view of other clusters). */
  | { readonly functionsBeyond: string };

/** Requests of a scoped listing in flight at once. */
const CONCURRENCY = 16;

/** The ranges of `cluster`'s subtree in `scope`. */
const clusterRanges = (cluster: string, scope: RegistryScope): KeyRange[] => {
  const base = `${CLUSTERS_PREFIX}${cluster}/`;
  if ("functionsBeyond" in scope)
    return cluster === scope.functionsBeyond
      ? []
      : [prefixRange(`${base}${COLLECTIONS.function}/`), keyRange(`${base}heartbeat`)];
  const { vpn } = scope;
  return [
    prefixRange(`${base}${COLLECTIONS.function}/${vpn}/`),
    keyRange(`${base}heartbeat`),
    prefixRange(`${base}${COLLECTIONS.subscription}/${vpn}/`),
    keyRange(`${base}${COLLECTIONS.vpn}/${vpn}`),
  ];
};

/** What a log line says of `scope`. */
export const scopeFields = (scope: RegistryScope): Record<string, string> =>
  "vpn" in scope
    ? { vpn: scope.vpn }
    : { scope: `functions of clusters other than ${scope.functionsBeyond}` };

/** Whether `key` is in `scope` (in one of the ranges scopedListing reads and watches). */
export const scopeFilter = (scope: RegistryScope): ((key: string) => boolean) => {
  return (key) => {
    if (!key.startsWith(CLUSTERS_PREFIX)) return false;
    const slash = key.indexOf("/", CLUSTERS_PREFIX.length);
    if (slash === -1) return false;
    const at = Buffer.from(key);
    return clusterRanges(key.slice(CLUSTERS_PREFIX.length, slash), scope).some(
      ({ start, end }) => Buffer.compare(at, start) >= 0 && Buffer.compare(at, end) < 0,
    );
  };
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
