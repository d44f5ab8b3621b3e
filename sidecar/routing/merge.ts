// Merging the per-cluster records of a snapshot into logical objects (documented for users in
// docs/multi-cluster.md). Every rule is deterministic: clusters are visited in code-unit order.
//
// VPN (several clusters may each write a record for the same VPN name):
//   namespaces = the union of every cluster's namespaces; publisher tokens = the union of every
//   cluster's publishers (for a token hash named differently by two clusters, the name from the
//   smallest cluster); limits = for each limit, the minimum (most restrictive) value set by any
//   cluster, absent only when no cluster sets it; egress allow entries = those every cluster's
//   record names (the intersection: one cluster's allow-list never widens what the gateways of
//   another may reach). Isolation first: a namespace or a token hash
//   claimed by two different VPNs belongs to neither (it is removed from both views, and
//   vpnForNamespace/vpnForToken return undefined for it).
// Function: one logical function per (vpn, namespace, name), with an instance per cluster.
// Subscription: global within its VPN; the same (vpn, namespace, name) declared in several
//   clusters is one route, built from the record of the smallest cluster name, so an event is
//   delivered once, not once per cluster.
import type { FunctionRecord, SubscriptionRecord, VpnLimitsRecord, VpnRecord } from "../../registry/types.ts";
import type { FunctionView, RegistrySnapshot, VpnView } from "../types.ts";

type VpnSpec = VpnRecord["spec"];
type FunctionSpec = FunctionRecord["spec"];

/** One subscription after deduplication across clusters. */
export interface SubscriptionSource {
  readonly key: string;
  readonly cluster: string;
  readonly vpn: string;
  readonly namespace: string;
  readonly name: string;
  readonly record: SubscriptionRecord;
}

export interface MergedRegistry {
  readonly vpns: ReadonlyMap<string, VpnView>;
  /** Token hash → VPN (contested hashes are absent). */
  readonly tokenOwners: ReadonlyMap<string, VpnView>;
  /** Namespace → VPN (contested namespaces are absent). */
  readonly namespaceOwners: ReadonlyMap<string, VpnView>;
  /** By functionId(vpn, namespace, name). */
  readonly functions: ReadonlyMap<string, FunctionView>;
  /** Sorted by key. */
  readonly subscriptions: readonly SubscriptionSource[];
}

/** The lookup id of a function (names are DNS-1123, so "/" cannot occur in them). */
export const functionId = (vpn: string, namespace: string, name: string): string =>
  `${vpn}/${namespace}/${name}`;

const byCluster = <T extends { cluster: string }>(a: T, b: T): number =>
  a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;

const LIMITS = ["eventsPerSecond", "burst", "maxEventBytes", "maxInFlight"] as const;

/** Each limit's minimum over the clusters that set it. */
export const mergeLimits = (all: readonly VpnLimitsRecord[]): VpnLimitsRecord => {
  const merged: VpnLimitsRecord = {};
  for (const limits of all) {
    for (const name of LIMITS) {
      const value = limits[name];
      const current = merged[name];
      if (value !== undefined && (current === undefined || value < current)) merged[name] = value;
    }
  }
  return merged;
};

/** The allow entries every list names, sorted (each list is sorted already). */
export const mergeEgressAllow = (lists: readonly (readonly string[])[]): readonly string[] => {
  const [first = [], ...rest] = lists;
  return first.filter((entry) => rest.every((list) => list.includes(entry)));
};

const mergeVpn = (name: string, specs: readonly { cluster: string; spec: VpnSpec }[]) => {
  const namespaces = new Set<string>();
  const tokens = new Map<string, string>();
  for (const { spec } of [...specs].sort(byCluster)) {
    for (const namespace of spec.namespaces) namespaces.add(namespace);
    for (const { name: publisher, tokenSha256 } of spec.publishers) {
      if (!tokens.has(tokenSha256)) tokens.set(tokenSha256, publisher);
    }
  }
  return {
    name,
    namespaces,
    tokens,
    limits: mergeLimits(specs.map(({ spec }) => spec.limits)),
    egressAllow: mergeEgressAllow(specs.map(({ spec }) => spec.egress?.allow ?? [])),
  };
};

type MutableVpn = ReturnType<typeof mergeVpn>;

/** Owner per item (namespace or token); items claimed by two VPNs are dropped from both. */
const exclusiveOwners = (vpns: readonly MutableVpn[], items: (vpn: MutableVpn) => Iterable<string>) => {
  const owners = new Map<string, MutableVpn>();
  const contested = new Set<string>();
  for (const vpn of vpns) {
    for (const item of items(vpn)) {
      const owner = owners.get(item);
      if (owner !== undefined && owner !== vpn) contested.add(item);
      else owners.set(item, vpn);
    }
  }
  for (const item of contested) owners.delete(item);
  return { owners, contested };
};

interface Collected {
  vpns: Map<string, { cluster: string; spec: VpnSpec }[]>;
  functions: Map<
    string,
    { vpn: string; namespace: string; name: string; instances: [string, FunctionSpec][] }
  >;
  subscriptions: Map<string, SubscriptionSource>;
}

const collect = (snapshot: RegistrySnapshot): Collected => {
  const out: Collected = { vpns: new Map(), functions: new Map(), subscriptions: new Map() };
  // A snapshot's records were decoded with their keys (registry/codec.ts decodeRecord), which
  // refuses a record whose kind, cluster, VPN, namespace or name disagrees with its key: the
  // record's own fields are its key's parts, without parsing 100k keys again on every build.
  for (const [key, record] of snapshot.records) {
    const { vpn, owner } = record;
    const cluster = owner.cluster;
    if (record.kind === "vpn") {
      const list = out.vpns.get(vpn) ?? [];
      list.push({ cluster, spec: record.spec });
      out.vpns.set(vpn, list);
      continue;
    }
    const { namespace = "", name } = owner;
    const id = functionId(vpn, namespace, name);
    if (record.kind === "function") {
      const fn = out.functions.get(id) ?? { vpn, namespace, name, instances: [] };
      fn.instances.push([cluster, record.spec]);
      out.functions.set(id, fn);
      continue;
    }
    const current = out.subscriptions.get(id);
    if (current === undefined || cluster < current.cluster) {
      out.subscriptions.set(id, { key, cluster, vpn, namespace, name, record });
    }
  }
  return out;
};

/** The logical VPNs, functions and subscriptions of `snapshot`, merged by the rules above. Pure. */
export const mergeRegistry = (snapshot: RegistrySnapshot): MergedRegistry => {
  const collected = collect(snapshot);
  const merged = [...collected.vpns].map(([name, specs]) => mergeVpn(name, specs));
  const namespaces = exclusiveOwners(merged, (vpn) => vpn.namespaces);
  const tokens = exclusiveOwners(merged, (vpn) => vpn.tokens.keys());
  for (const vpn of merged) {
    for (const namespace of namespaces.contested) vpn.namespaces.delete(namespace);
    for (const token of tokens.contested) vpn.tokens.delete(token);
  }
  const functions = new Map<string, FunctionView>();
  for (const [id, { instances, ...where }] of collected.functions) {
    const sorted = instances.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    functions.set(id, { ...where, instances: new Map(sorted) });
  }
  const subscriptions = [...collected.subscriptions.values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  return {
    vpns: new Map(merged.map((vpn) => [vpn.name, vpn])),
    tokenOwners: tokens.owners,
    namespaceOwners: namespaces.owners,
    functions,
    subscriptions,
  };
};
