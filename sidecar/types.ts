// The gateway's central data types, shared by its parts:
//   registry watcher  → RegistrySnapshot (records and cluster heartbeats at one etcd revision;
//                       defined in registry/snapshot.ts, re-exported here)
//   routing table     → built from a snapshot: VPNs, functions, subscriptions, indexes
//   ingress           → CloudEvent (validated) from HTTP requests
//   matcher/delivery  → Route (a subscription with its function) for an event
import type { FunctionRecord, SubscriptionRecord, VpnRecord } from "../registry/types.ts";

export type { RegistrySnapshot } from "../registry/snapshot.ts";

/** The request headers the ingress reads, by lower-case name (a fetch `Headers` is one); iterates name/value pairs in name order. */
export interface HeaderView {
  get(name: string): string | null;
  has(name: string): boolean;
  [Symbol.iterator](): Iterator<[string, string]>;
  /** The names, lower-case, in the iteration's order, where the view can give them without pairing each with its value. */
  names?(): readonly string[];
  /** Names sent on more than one header line (lower-case), when the server can tell. */
  readonly repeated?: readonly string[];
}

/** An HTTP answer: status, headers (lower-case names; content-length is the server's) and body. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body?: Uint8Array | string;
}

/** A CloudEvents attribute value after validation (CloudEvents 1.0 type system, as JSON types). */
export type AttributeValue = string | number | boolean;

/** A validated CloudEvent. */
export interface CloudEvent {
  /** Context attributes and extensions, lowercase names: id, source, specversion, type, datacontenttype, dataschema, subject, time, … */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** The payload bytes as received (binary mode body, or the encoded `data`/`data_base64` of structured mode). */
  readonly data: Buffer | undefined;
  /** The payload parsed as JSON when its content type is JSON; undefined otherwise (parsed lazily by the matcher when a CEL filter needs it). */
  readonly json?: unknown;
}

/** One logical VPN: the records of every cluster merged (see docs/multi-cluster.md for the merge rule). */
export interface VpnView {
  readonly name: string;
  readonly namespaces: ReadonlySet<string>;
  /** SHA-256 hex of each publisher token → publisher name. */
  readonly tokens: ReadonlyMap<string, string>;
  readonly limits: VpnRecord["spec"]["limits"];
  /** Egress allow entries of this VPN's deliveries, as in its records (merged: those every cluster names). */
  readonly egressAllow: readonly string[];
}

/** One logical function: its instance in each cluster that declares it. */
export interface FunctionView {
  readonly vpn: string;
  readonly namespace: string;
  readonly name: string;
  /** By cluster name. */
  readonly instances: ReadonlyMap<string, FunctionRecord["spec"]>;
}

/** A subscription ready to deliver: its record and the function it targets. */
export interface Route {
  /** Registry key of the subscription record (unique). */
  readonly key: string;
  readonly vpn: string;
  readonly namespace: string;
  readonly name: string;
  readonly subscription: SubscriptionRecord["spec"];
  /** The target function; undefined when no cluster declares it (deliveries fail as "no endpoints"). */
  readonly fn: FunctionView | undefined;
  readonly deadLetter: FunctionView | undefined;
}
