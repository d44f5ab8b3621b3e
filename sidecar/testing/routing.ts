// Records, snapshots and events for the routing tests (plain data; each test varies what it needs).
import { recordKey } from "../../registry/keys.ts";
import type {
  FilterRecord,
  FunctionRecord,
  RegistryRecord,
  SubscriptionRecord,
  VpnRecord,
} from "../../registry/types.ts";
import type { AttributeValue, CloudEvent, RegistrySnapshot } from "../types.ts";

const owner = (cluster: string, name: string, namespace?: string) => ({
  cluster,
  uid: "0b5c7a4e-3f0e-4a51-9d2c-6a1d1c8b7f10",
  generation: 1,
  name,
  ...(namespace === undefined ? {} : { namespace }),
});

/** A VPN record of `vpn` written by `cluster`. */
export const vpnRecord = (
  vpn: string,
  cluster: string,
  spec: Partial<VpnRecord["spec"]> = {},
): VpnRecord => ({
  schema: 1,
  kind: "vpn",
  vpn,
  owner: owner(cluster, vpn),
  spec: { namespaces: [], publishers: [], limits: {}, ...spec },
});

/** A Function record of `vpn`/`namespace`/`name` written by `cluster`. */
export const functionRecord = (
  where: { vpn: string; namespace: string; name: string; cluster: string },
  spec: Partial<FunctionRecord["spec"]> = {},
): FunctionRecord => ({
  schema: 1,
  kind: "function",
  vpn: where.vpn,
  owner: owner(where.cluster, where.name, where.namespace),
  spec: {
    endpoints: [`http://10.0.0.1:8080/${where.name}`],
    timeoutMs: 1000,
    concurrency: 8,
    headers: {},
    ...spec,
  },
});

export interface SubscriptionWhere {
  vpn?: string;
  namespace?: string;
  name: string;
  cluster?: string;
}

/** A Subscription record (async, to function `fn` of its namespace, no filters unless given). */
export const subscriptionRecord = (
  { vpn = "blue", namespace = "team", name, cluster = "east" }: SubscriptionWhere,
  spec: Partial<SubscriptionRecord["spec"]> = {},
): SubscriptionRecord => ({
  schema: 1,
  kind: "subscription",
  vpn,
  owner: owner(cluster, name, namespace),
  spec: {
    function: { namespace, name: "fn" },
    mode: "async",
    filters: [],
    delivery: { retry: 0, backoffPolicy: "exponential", backoffDelayMs: 100, maxBackoffMs: 1000 },
    ...spec,
  },
});

/** A subscription with only filters (and optionally CEL) set. */
export const filtered = (name: string, filters: FilterRecord[], cel?: string): SubscriptionRecord =>
  subscriptionRecord({ name }, cel === undefined ? { filters } : { filters, cel });

/** A snapshot holding `records` under their registry keys. */
export const snapshotOf = (records: readonly RegistryRecord[], revision = 7): RegistrySnapshot => ({
  revision,
  records: new Map(records.map((record) => [recordKey(record), record])),
  clusters: new Map(),
});

/** A CloudEvent with the usual required attributes plus `attributes`. */
export const eventOf = (
  attributes: Record<string, AttributeValue>,
  payload: { data?: Buffer; json?: unknown } = {},
): CloudEvent => ({
  attributes: { id: "1", source: "/test", specversion: "1.0", type: "com.example.test", ...attributes },
  data: payload.data,
  ...(payload.json === undefined ? {} : { json: payload.json }),
});
