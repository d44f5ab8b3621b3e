// The registry key layout (version 1), in one place. Every segment is a DNS-1123 name, so no
// segment can contain "/" and every key has exactly one reading:
//
//   /switchboard/v1/clusters/<cluster>                         cluster heartbeat
//   /switchboard/v1/vpns/<vpn>/<cluster>                       VPN record
//   /switchboard/v1/functions/<vpn>/<ns>/<name>/<cluster>      Function record
//   /switchboard/v1/subscriptions/<vpn>/<ns>/<name>/<cluster>  Subscription record
//   /switchboard/v1/gateways/<cluster>/<id>                    gateway heartbeat
//   /switchboard/v1/leaders/<cluster>                          fencing key of the cluster's operator leader
import { RegistryKeyError } from "./errors.ts";
import type { RecordKind, RegistryRecord } from "./types.ts";

export const REGISTRY_PREFIX = "/switchboard/v1/";

/** Where the records of each kind live (one collection per kind). */
export const COLLECTIONS = { vpn: "vpns", function: "functions", subscription: "subscriptions" } as const;

/** What a record key names: the object (for a VPN, `name` is the VPN itself) and the writing cluster. */
export type RecordKeyParts =
  | { kind: "vpn"; vpn: string; name: string; cluster: string }
  | { kind: "function" | "subscription"; vpn: string; namespace: string; name: string; cluster: string };

export type ParsedKey =
  | RecordKeyParts
  | { kind: "cluster"; cluster: string }
  | { kind: "leader"; cluster: string }
  | { kind: "gateway"; cluster: string; id: string };

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether `value` is a DNS-1123 label (namespaces): at most 63 of [a-z0-9-], alphanumeric at both ends. */
export const isDnsLabel = (value: string): boolean => value.length <= 63 && LABEL.test(value);

/** Whether `value` is a DNS-1123 subdomain (object, VPN, cluster and gateway names). */
export const isDnsSubdomain = (value: string): boolean =>
  value.length > 0 && value.length <= 253 && value.split(".").every((label) => LABEL.test(label));

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

/** The heartbeat key of `cluster`; throws RegistryKeyError on a non-DNS name. */
export const clusterKey = (cluster: string): string =>
  `${REGISTRY_PREFIX}clusters/${segment("cluster", cluster)}`;

/** The fencing key of the operator leader of `cluster`; throws RegistryKeyError on a non-DNS name. */
export const leaderKey = (cluster: string): string =>
  `${REGISTRY_PREFIX}leaders/${segment("cluster", cluster)}`;

/** The heartbeat key of gateway `id` in `cluster`; throws RegistryKeyError on a non-DNS name. */
export const gatewayKey = (cluster: string, id: string): string =>
  `${REGISTRY_PREFIX}gateways/${segment("cluster", cluster)}/${segment("gateway id", id)}`;

/** The key of VPN `vpn`'s record written by `cluster`; throws RegistryKeyError on a non-DNS name. */
export const vpnKey = (vpn: string, cluster: string): string =>
  `${REGISTRY_PREFIX}vpns/${segment("vpn", vpn)}/${segment("cluster", cluster)}`;

export interface ObjectKeyParts {
  vpn: string;
  namespace: string;
  name: string;
  cluster: string;
}

const namespacedKey = (collection: string, { vpn, namespace, name, cluster }: ObjectKeyParts): string =>
  `${REGISTRY_PREFIX}${collection}/${segment("vpn", vpn)}/${segment("namespace", namespace)}/` +
  `${segment("name", name)}/${segment("cluster", cluster)}`;

/** The key of a Function's record; throws RegistryKeyError on a non-DNS name. */
export const functionKey = (parts: ObjectKeyParts): string => namespacedKey(COLLECTIONS.function, parts);

/** The key of a Subscription's record; throws RegistryKeyError on a non-DNS name. */
export const subscriptionKey = (parts: ObjectKeyParts): string =>
  namespacedKey(COLLECTIONS.subscription, parts);

/** The key `record` is stored under (its kind, vpn and owner); throws RegistryKeyError on a bad name or a missing namespace. */
export const recordKey = (record: RegistryRecord): string => {
  const { cluster, namespace, name } = record.owner;
  if (record.kind === "vpn") return vpnKey(record.vpn, cluster);
  if (namespace === undefined) throw new RegistryKeyError(`a ${record.kind} record needs owner.namespace`);
  const parts = { vpn: record.vpn, namespace, name, cluster };
  return record.kind === "function" ? functionKey(parts) : subscriptionKey(parts);
};

/** The prefix under which every cluster's records of `kind` live (for listing). */
export const collectionPrefix = (kind: RecordKind): string => `${REGISTRY_PREFIX}${COLLECTIONS[kind]}/`;

const LAYOUT: Record<string, SegmentRole[]> = {
  clusters: ["cluster"],
  leaders: ["cluster"],
  gateways: ["cluster", "gateway id"],
  vpns: ["vpn", "cluster"],
  functions: ["vpn", "namespace", "name", "cluster"],
  subscriptions: ["vpn", "namespace", "name", "cluster"],
};

/** Reads `key` against the layout; returns its parts, or why it is malformed (a string). */
export const explainKey = (key: string): ParsedKey | string => {
  if (!key.startsWith(REGISTRY_PREFIX)) return `key ${JSON.stringify(key)} is not under ${REGISTRY_PREFIX}`;
  const [collection = "", ...rest] = key.slice(REGISTRY_PREFIX.length).split("/");
  const roles = LAYOUT[collection];
  if (roles === undefined)
    return `key ${JSON.stringify(key)}: unknown collection ${JSON.stringify(collection)}`;
  if (rest.length !== roles.length) {
    return `key ${JSON.stringify(key)}: ${collection} keys have ${roles.length} segments after the collection (${roles.join("/")}), not ${rest.length}`;
  }
  for (const [i, role] of roles.entries()) {
    const problem = segmentProblem(role, rest[i] ?? "");
    if (problem !== undefined) return `key ${JSON.stringify(key)}: ${problem}`;
  }
  const [a = "", b = "", c = "", d = ""] = rest;
  switch (collection) {
    case "clusters":
      return { kind: "cluster", cluster: a };
    case "leaders":
      return { kind: "leader", cluster: a };
    case "gateways":
      return { kind: "gateway", cluster: a, id: b };
    case "vpns":
      return { kind: "vpn", vpn: a, name: a, cluster: b };
    case "functions":
      return { kind: "function", vpn: a, namespace: b, name: c, cluster: d };
    default:
      return { kind: "subscription", vpn: a, namespace: b, name: c, cluster: d };
  }
};

/** The parts of `key`, or undefined when it does not follow the layout exactly. */
export const parseKey = (key: string): ParsedKey | undefined => {
  const parsed = explainKey(key);
  return typeof parsed === "string" ? undefined : parsed;
};

/** Whether `parsed` names a record (VPN, Function or Subscription) rather than a heartbeat or leader key. */
export const isRecordKey = (parsed: ParsedKey): parsed is RecordKeyParts =>
  parsed.kind === "vpn" || parsed.kind === "function" || parsed.kind === "subscription";
