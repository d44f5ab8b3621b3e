// The registry contract (schema version 1): what the operator writes to etcd and the gateway
// reads. One key per object and cluster; every record names its owner; each cluster's operator
// also keeps a lease-bound heartbeat (HeartbeatRecord, ./heartbeat/index.ts). Keys are in ./keys.ts,
// the valibot schemas (every range below, enforced on write and on read) in ./schema.ts, which a
// compile-time check keeps identical to these types, and the codecs in ./codec.ts. Names are
// DNS-1123 (namespaces labels, everything else subdomains); durations are integer milliseconds
// up to one day.

export const SCHEMA_VERSION = 1;

export type RecordKind = "vpn" | "function" | "subscription";

/** The Kubernetes object a record is reconciled from (VPNs are cluster-scoped: no namespace). */
export interface ObjectRef {
  kind: RecordKind;
  namespace?: string;
  name: string;
}

/** Who wrote a record: the cluster, and the Kubernetes object it was reconciled from. */
export interface Owner {
  cluster: string;
  uid: string;
  /** metadata.generation, an integer >= 0. */
  generation: number;
  /** Required for Functions and Subscriptions, absent for VPNs. */
  namespace?: string;
  name: string;
}

interface Envelope<K extends RecordKind, S> {
  schema: typeof SCHEMA_VERSION;
  kind: K;
  /** The VPN the object belongs to (for a VPN record, its own name: equal to owner.name). */
  vpn: string;
  owner: Owner;
  spec: S;
}

export interface Publisher {
  /** Unique within the VPN. */
  name: string;
  /** Lowercase hex SHA-256 of the bearer token; the token itself is never stored. */
  tokenSha256: string;
}

/** Absent fields mean "no limit"; present ones are positive (burst and the sizes integers). */
export interface VpnLimitsRecord {
  eventsPerSecond?: number;
  burst?: number;
  maxEventBytes?: number;
  maxInFlight?: number;
}

export interface VpnRecordSpec {
  /** Member namespaces in this cluster, sorted, without duplicates. */
  namespaces: string[];
  publishers: Publisher[];
  limits: VpnLimitsRecord;
  /** Egress allow entries for this VPN's deliveries (common/egress/rules.ts syntax), sorted, without duplicates, at most 64; absent: none. */
  egress?: { allow: string[] };
}

export interface FunctionRecordSpec {
  /** Delivery URLs (http/https) of this cluster's ready endpoints (pod address + port + path, or the target url), sorted, without duplicates. */
  endpoints: string[];
  /** How other clusters reach this function (http/https), if declared. */
  externalUrl?: string;
  /** Per-attempt timeout, > 0. */
  timeoutMs: number;
  /** Max in-flight deliveries per gateway, an integer > 0. */
  concurrency: number;
  /** Extra request headers (names HTTP tokens, values without CR/LF/NUL), resolved (Secret values included). */
  headers: Record<string, string>;
}

/**
 * A CloudEvents Subscriptions API filter expression: exactly one of the dialects is present.
 * Attribute maps name at least one attribute (lowercase letters and digits); `all`/`any` hold at
 * least one expression.
 */
export interface FilterRecord {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: FilterRecord[];
  any?: FilterRecord[];
  not?: FilterRecord;
}

export interface FunctionRef {
  namespace: string;
  name: string;
}

export interface DeliveryRecord {
  /** Retries after the first attempt, 0..1000. */
  retry: number;
  backoffPolicy: "exponential" | "linear";
  backoffDelayMs: number;
  /** At least backoffDelayMs. */
  maxBackoffMs: number;
  /** Per-attempt timeout; absent means the function's own. */
  timeoutMs?: number;
  deadLetter?: FunctionRef;
}

export interface SubscriptionRecordSpec {
  function: FunctionRef;
  mode: "async" | "sync";
  filters: FilterRecord[];
  /** A CEL expression the operator has compiled successfully. */
  cel?: string;
  /** Sync subscriptions only: an upper-case method and a path starting with "/" (no query). */
  http?: { method: string; path: string };
  delivery: DeliveryRecord;
  rateLimit?: { eventsPerSecond: number; burst: number };
}

export type VpnRecord = Envelope<"vpn", VpnRecordSpec>;
export type FunctionRecord = Envelope<"function", FunctionRecordSpec>;
export type SubscriptionRecord = Envelope<"subscription", SubscriptionRecordSpec>;
export type RegistryRecord = VpnRecord | FunctionRecord | SubscriptionRecord;

/** The value of a cluster's lease-bound heartbeat key: the cluster's operator is alive. */
export interface HeartbeatRecord {
  /** The cluster (DNS-1123 subdomain), equal to the key's. */
  cluster: string;
  /** Who keeps the heartbeat (e.g. the operator pod), 1 to 253 characters. */
  identity: string;
  /** The version of the program keeping it, 1 to 64 characters. */
  version: string;
  /** When that program started keeping it (ISO 8601, UTC). */
  startedAt: string;
}
