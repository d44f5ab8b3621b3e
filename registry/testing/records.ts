// Valid sample records for the registry tests (plain data; each test varies what it needs).
import type {
  FunctionRecord,
  HeartbeatRecord,
  ObjectRef,
  RegistryRecord,
  SubscriptionRecord,
  VpnRecord,
} from "../types.ts";

interface Where {
  cluster?: string;
  vpn?: string;
  namespace?: string;
  name?: string;
  generation?: number;
}

/** A VPN record named `vpn` written by `cluster`. */
export const sampleVpn = ({ cluster = "east", vpn = "payments", generation = 1 }: Where = {}): VpnRecord => ({
  schema: 1,
  kind: "vpn",
  vpn,
  owner: { cluster, uid: "0b5c7a4e-3f0e-4a51-9d2c-6a1d1c8b7f10", generation, name: vpn },
  spec: {
    namespaces: ["billing", "payments"],
    publishers: [{ name: "checkout", tokenSha256: "a".repeat(64) }],
    limits: { eventsPerSecond: 500, burst: 1000, maxEventBytes: 262_144 },
  },
});

/** A Function record for `namespace/name` in `vpn`, written by `cluster`. */
export const sampleFunction = ({
  cluster = "east",
  vpn = "payments",
  namespace = "billing",
  name = "invoice",
  generation = 1,
}: Where = {}): FunctionRecord => ({
  schema: 1,
  kind: "function",
  vpn,
  owner: { cluster, uid: "6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f", generation, namespace, name },
  spec: {
    endpoints: ["http://10.244.1.7:8080/invoke", "http://10.244.2.9:8080/invoke"],
    externalUrl: "https://invoice.east.example.com/invoke",
    timeoutMs: 5000,
    concurrency: 32,
    headers: { "x-team": "billing" },
  },
});

/** A sync HTTP Subscription record for `namespace/name` in `vpn`, written by `cluster`. */
export const sampleSubscription = ({
  cluster = "east",
  vpn = "payments",
  namespace = "billing",
  name = "on-order",
  generation = 3,
}: Where = {}): SubscriptionRecord => ({
  schema: 1,
  kind: "subscription",
  vpn,
  owner: { cluster, uid: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", generation, namespace, name },
  spec: {
    function: { namespace, name: "invoice" },
    mode: "sync",
    filters: [
      { prefix: { type: "com.example.order." } },
      { any: [{ exact: { source: "/shop" } }, { not: { suffix: { subject: ".test" } } }] },
    ],
    cel: "data.total > 100",
    http: { method: "POST", path: "/orders/:id" },
    delivery: {
      retry: 5,
      backoffPolicy: "exponential",
      backoffDelayMs: 200,
      maxBackoffMs: 10_000,
      deadLetter: { namespace, name: "dead-letters" },
    },
    rateLimit: { eventsPerSecond: 100, burst: 200 },
  },
});

/** The object `record` was reconciled from. */
export const refOf = (record: RegistryRecord): ObjectRef => {
  const { namespace, name } = record.owner;
  return namespace === undefined ? { kind: record.kind, name } : { kind: record.kind, namespace, name };
};

/** The heartbeat of `cluster`'s operator. */
export const sampleHeartbeat = ({ cluster = "east" }: Where = {}): HeartbeatRecord => ({
  cluster,
  identity: "switchboard-operator-7c9f8d-x2k4q",
  version: "0.1.0",
  startedAt: "2025-01-02T03:04:05.678Z",
});
