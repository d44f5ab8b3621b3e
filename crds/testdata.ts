// Valid objects of the three kinds, for tests: each sets most optional fields, so tests derive
// invalid objects from them by changing one thing.
import { API_VERSION, type Subscription, type SwitchboardFunction, type Vpn } from "./types.ts";

/** A valid VPN named `name` owning `namespace`, with a publisher and every limit. */
export const validVpn = (name: string, namespace: string): Vpn => ({
  apiVersion: API_VERSION,
  kind: "VPN",
  metadata: { name },
  spec: {
    namespaces: { names: [namespace] },
    publishers: [
      { name: "checkout", tokenSecretRef: { namespace, name: "checkout-token", key: "token" } },
      { name: "billing", tokenSecretRef: { namespace, name: "billing.token", key: "bearer_token.v1" } },
    ],
    limits: { eventsPerSecond: 100, burst: 100, maxEventBytes: 1_048_576, maxInFlight: 50 },
    egress: {
      allow: [
        "10.0.0.0/8",
        "127.0.0.1:8080",
        "fd00::/8",
        "[fd00::1]:8443",
        "*.svc.cluster.local",
        "fn.example.com:443",
      ],
    },
  },
});

/** A valid Service-backed Function named `name` in `namespace`, with headers of both kinds. */
export const validFunction = (name: string, namespace: string, vpn: string): SwitchboardFunction => ({
  apiVersion: API_VERSION,
  kind: "Function",
  metadata: { name, namespace },
  spec: {
    vpn,
    target: { service: { name: "orders", port: 80, path: "/events" } },
    external: { url: "https://orders.eu-west.example.com/events" },
    timeout: "1m30s",
    concurrency: 100,
    headers: [
      { name: "X-Tenant", value: "shop" },
      { name: "Authorization", valueFrom: { secretKeyRef: { name: "orders-auth", key: "header" } } },
    ],
  },
});

/** A valid async Subscription named `name` in `namespace` with filters, CEL, delivery and a rate limit. */
export const validSubscription = (name: string, namespace: string, vpn: string): Subscription => ({
  apiVersion: API_VERSION,
  kind: "Subscription",
  metadata: { name, namespace },
  spec: {
    vpn,
    function: "orders",
    mode: "async",
    filters: [
      { exact: { type: "com.example.order.created" } },
      { any: [{ prefix: { source: "/checkout/" } }, { suffix: { subject: ".json" } }] },
      { not: { exact: { datacontenttype: "text/plain" } } },
    ],
    cel: "data.amount > 0",
    delivery: {
      retry: 5,
      backoffPolicy: "exponential",
      backoffDelay: "200ms",
      maxBackoff: "1m",
      timeout: "10s",
      deadLetter: { function: `${namespace}/audit` },
    },
    rateLimit: { eventsPerSecond: 50, burst: 100 },
  },
});

/** A valid sync HTTP Subscription named `name` in `namespace`. */
export const validHttpSubscription = (name: string, namespace: string, vpn: string): Subscription => ({
  apiVersion: API_VERSION,
  kind: "Subscription",
  metadata: { name, namespace },
  spec: { vpn, function: "orders", mode: "sync", http: { method: "GET", path: "/orders/:id/*" } },
});
