// The registry key layout (version 1), in one place. Every key is under one cluster's subtree,
// so that etcd RBAC (which grants by key prefix) can give each cluster's operator read-write on
// `clusterPrefix(cluster)` alone. Every segment is a DNS-1123 name, so no segment can contain "/"
// and every key has exactly one reading:
//
//   /switchboard/v1/clusters/<cluster>/heartbeat                        lease-bound cluster heartbeat
//   /switchboard/v1/clusters/<cluster>/leader                           fencing key of the operator leader
//   /switchboard/v1/clusters/<cluster>/vpns/<vpn>                       VPN record
//   /switchboard/v1/clusters/<cluster>/functions/<vpn>/<ns>/<name>      Function record
//   /switchboard/v1/clusters/<cluster>/subscriptions/<vpn>/<ns>/<name>  Subscription record
//   /switchboard/v1/clusters/<cluster>/gateways/<id>                    reserved (ignored by readers)
//
// Gateways report what they have applied outside that tree, so that no gateway's watch carries
// another's reports (registry/heartbeat/presence.ts):
//
//   /switchboard/presence/v1/<cluster>/<id>                             lease-bound gateway presence
import { RegistryKeyError } from "./errors.ts";
import type { RecordKind, RegistryRecord } from "./types.ts";

export const REGISTRY_PREFIX = "/switchboard/v1/";

/** Where every cluster's subtree lives: `${CLUSTERS_PREFIX}<cluster>/`. */
export const CLUSTERS_PREFIX = `${REGISTRY_PREFIX}clusters/`;

/** Where the records of each kind live in a cluster's subtree (one collection per kind). */
export const COLLECTIONS = { vpn: "vpns", function: "functions", subscription: "subscriptions" } as const;

/** What a record key names: the writing cluster and the object (for a VPN, `name` is the VPN itself). */
export type RecordKeyParts =
  | { kind: "vpn"; cluster: string; vpn: string; name: string }
  | { kind: "function" | "subscription"; cluster: string; vpn: string; namespace: string; name: string };

export type ParsedKey =
  | RecordKeyParts
  | { kind: "heartbeat"; cluster: string }
  | { kind: "leader"; cluster: string }
  | { kind: "gateway"; cluster: string; id: string };

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/**
 * Labels joined by dots, in one expression: every key of every registry listing is checked, and
 * splitting each name into an array of labels first made the check a third of a key's parsing.
 */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `value` is a DNS-1123 label (namespaces): at most 63 of [a-z0-9-], alphanumeric at both ends. */
export const isDnsLabel = (value: string): boolean => value.length <= 63 && LABEL.test(value);

/** Whether `value` is a DNS-1123 subdomain (object, VPN, cluster and gateway names). */
export const isDnsSubdomain = (value: string): boolean => value.length <= 253 && SUBDOMAIN.test(value);

type SegmentRole = "cluster" | "vpn" | "namespace" | "name" | "gateway id";

/** Returns why `value` cannot be the `role` segment of a key, or undefined when it can. */
const segmentProblem = (role: SegmentRole, value: string): string | undefined => {
  if (role === "namespace") {
    return isDnsLabel(value) ? undefined : `namespace ${JSON.stringify(value)} is not a DNS-1123 label`;
  }
  return isDnsSubdomain(value) ? undefined : `${role} ${JSON.stringify(value)} is not a DNS-1123 subdomain`;
};

const segment = (role: SegmentRole, value: string): string => {
  const problem = segmentProblem(role, value);
  if (problem !== undefined) throw new RegistryKeyError(problem);
  return value;
};

/** The subtree of `cluster`, ending in "/" (so that "east" never covers "east-2"); throws RegistryKeyError on a non-DNS name. */
export const clusterPrefix = (cluster: string): string => `${CLUSTERS_PREFIX}${segment("cluster", cluster)}/`;

/** Where gateways' presence records live: `${PRESENCE_PREFIX}<cluster>/<id>`; outside REGISTRY_PREFIX, which gateways watch. */
export const PRESENCE_PREFIX = "/switchboard/presence/v1/";

/** The presence records of `cluster`'s gateways, ending in "/"; throws RegistryKeyError on a non-DNS name. */
export const presencePrefix = (cluster: string): string =>
  `${PRESENCE_PREFIX}${segment("cluster", cluster)}/`;

/** The presence record key of gateway `id` in `cluster`; throws RegistryKeyError on a non-DNS name. */
export const presenceKey = (cluster: string, id: string): string =>
  `${presencePrefix(cluster)}${segment("gateway id", id)}`;

/** The lease-bound heartbeat key of `cluster`; throws RegistryKeyError on a non-DNS name. */
export const heartbeatKey = (cluster: string): string => `${clusterPrefix(cluster)}heartbeat`;

/** The fencing key of the operator leader of `cluster`; throws RegistryKeyError on a non-DNS name. */
export const leaderKey = (cluster: string): string => `${clusterPrefix(cluster)}leader`;

/** A reserved key of gateway `id` in `cluster` (readers ignore it; presence is at presenceKey); throws RegistryKeyError on a non-DNS name. */
export const gatewayKey = (cluster: string, id: string): string =>
  `${clusterPrefix(cluster)}gateways/${segment("gateway id", id)}`;

/** The prefix under which `cluster`'s records of `kind` live (for listing); throws RegistryKeyError on a non-DNS name. */
export const collectionPrefix = (cluster: string, kind: RecordKind): string =>
  `${clusterPrefix(cluster)}${COLLECTIONS[kind]}/`;

/** The key of VPN `vpn`'s record written by `cluster`; throws RegistryKeyError on a non-DNS name. */
export const vpnKey = (vpn: string, cluster: string): string =>
  `${collectionPrefix(cluster, "vpn")}${segment("vpn", vpn)}`;

export interface ObjectKeyParts {
  vpn: string;
  namespace: string;
  name: string;
  cluster: string;
}

const namespacedKey = (
  kind: "function" | "subscription",
  { vpn, namespace, name, cluster }: ObjectKeyParts,
): string =>
  `${collectionPrefix(cluster, kind)}${segment("vpn", vpn)}/${segment("namespace", namespace)}/` +
  segment("name", name);

/** The key of a Function's record; throws RegistryKeyError on a non-DNS name. */
export const functionKey = (parts: ObjectKeyParts): string => namespacedKey("function", parts);

/** The key of a Subscription's record; throws RegistryKeyError on a non-DNS name. */
export const subscriptionKey = (parts: ObjectKeyParts): string => namespacedKey("subscription", parts);

/** The key `record` is stored under (its owner's cluster, its kind, vpn and name); throws RegistryKeyError on a bad name or a missing namespace. */
export const recordKey = (record: RegistryRecord): string => {
  const { cluster, namespace, name } = record.owner;
  if (record.kind === "vpn") return vpnKey(record.vpn, cluster);
  if (namespace === undefined) throw new RegistryKeyError(`a ${record.kind} record needs owner.namespace`);
  const parts = { vpn: record.vpn, namespace, name, cluster };
  return record.kind === "function" ? functionKey(parts) : subscriptionKey(parts);
};

/** The segments after `<cluster>/` of each kind of key: a leaf name, or a collection and its roles. */
const LAYOUT = new Map<string, SegmentRole[]>([
  ["heartbeat", []],
  ["leader", []],
  ["gateways", ["gateway id"]],
  ["vpns", ["vpn"]],
  ["functions", ["vpn", "namespace", "name"]],
  ["subscriptions", ["vpn", "namespace", "name"]],
]);

const RECORD_COLLECTIONS: ReadonlySet<string> = new Set(Object.values(COLLECTIONS));

/**
 * What `key` is meant to hold, judged by the segment after its cluster alone (the rest is not
 * checked): "record" (a VPN, Function or Subscription collection), "heartbeat", or undefined
 * (leader, gateway and unknown keys, or keys outside the clusters' subtrees).
 */
export const keyRole = (key: string): "record" | "heartbeat" | undefined => {
  if (!key.startsWith(CLUSTERS_PREFIX)) return undefined;
  const rest = key.slice(CLUSTERS_PREFIX.length);
  const start = rest.indexOf("/") + 1;
  if (start === 0) return undefined;
  const end = rest.indexOf("/", start);
  const area = rest.slice(start, end === -1 ? undefined : end);
  if (RECORD_COLLECTIONS.has(area)) return "record";
  return area === "heartbeat" ? "heartbeat" : undefined;
};

const segmentCount = (n: number): string => (n === 1 ? "1 segment" : `${n} segments`);

/** Reads `key` against the layout; returns its parts, or why it is malformed (a string). */
export const explainKey = (key: string): ParsedKey | string => {
  // Only a malformed key needs quoting: this runs for every record of every registry sync.
  const q = (): string => JSON.stringify(key);
  if (!key.startsWith(CLUSTERS_PREFIX)) return `key ${q()} is not under ${CLUSTERS_PREFIX}<cluster>/`;
  const [cluster = "", area, ...rest] = key.slice(CLUSTERS_PREFIX.length).split("/");
  const clusterProblem = segmentProblem("cluster", cluster);
  if (clusterProblem !== undefined) return `key ${q()}: ${clusterProblem}`;
  if (area === undefined) return `key ${q()}: nothing after the cluster`;
  const roles = LAYOUT.get(area);
  if (roles === undefined) return `key ${q()}: unknown collection ${JSON.stringify(area)}`;
  if (rest.length !== roles.length) {
    const expected =
      roles.length === 0 ? "no segments" : `${segmentCount(roles.length)} (${roles.join("/")})`;
    return `key ${q()}: ${area} keys have ${expected} after ${JSON.stringify(area)}, not ${rest.length}`;
  }
  for (const [i, role] of roles.entries()) {
    const problem = segmentProblem(role, rest[i] ?? "");
    if (problem !== undefined) return `key ${q()}: ${problem}`;
  }
  const [a = "", b = "", c = ""] = rest;
  switch (area) {
    case "heartbeat":
      return { kind: "heartbeat", cluster };
    case "leader":
      return { kind: "leader", cluster };
    case "gateways":
      return { kind: "gateway", cluster, id: a };
    case "vpns":
      return { kind: "vpn", cluster, vpn: a, name: a };
    case "functions":
      return { kind: "function", cluster, vpn: a, namespace: b, name: c };
    default:
      return { kind: "subscription", cluster, vpn: a, namespace: b, name: c };
  }
};

/** The parts of `key`, or undefined when it does not follow the layout exactly. */
export const parseKey = (key: string): ParsedKey | undefined => {
  const parsed = explainKey(key);
  return typeof parsed === "string" ? undefined : parsed;
};

/** Whether `parsed` names a record (VPN, Function or Subscription) rather than a heartbeat, leader or gateway key. */
export const isRecordKey = (parsed: ParsedKey): parsed is RecordKeyParts =>
  parsed.kind === "vpn" || parsed.kind === "function" || parsed.kind === "subscription";
