// Plain objects for plan tests.
import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from "@kubernetes/client-node";
import {
  API_VERSION,
  type FunctionSpec,
  type Subscription,
  type SubscriptionSpec,
  type SwitchboardFunction,
  type Vpn,
  type VpnSpec,
} from "../../crds/types.ts";

/** A VPN; `createdAt` (ISO time) orders namespace claims (the older holds a contested namespace). */
export const vpn = (
  name: string,
  spec: Partial<VpnSpec> = {},
  deleting = false,
  createdAt?: string,
): Vpn => ({
  apiVersion: API_VERSION,
  kind: "VPN",
  metadata: {
    name,
    uid: `uid-${name}`,
    generation: 1,
    ...(createdAt ? { creationTimestamp: createdAt } : {}),
    ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
  spec: { namespaces: { names: [] }, ...spec },
});

export const namespace = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
  metadata: { name, labels },
});

export const fn = (ns: string, name: string, spec: Partial<FunctionSpec> = {}): SwitchboardFunction => ({
  apiVersion: API_VERSION,
  kind: "Function",
  metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, generation: 3 },
  spec: { vpn: "shop", target: { url: "http://example.invalid/" }, ...spec },
});

export const sub = (ns: string, name: string, spec: Partial<SubscriptionSpec> = {}): Subscription => ({
  apiVersion: API_VERSION,
  kind: "Subscription",
  metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, generation: 2 },
  spec: { vpn: "shop", function: "orders", mode: "async", ...spec },
});

export const service = (ns: string, name: string, ports: { name?: string; port: number }[]): V1Service => ({
  metadata: { namespace: ns, name },
  spec: { ports: ports.map((p) => ({ ...p, protocol: "TCP" })) },
});

export const slice = (
  ns: string,
  serviceName: string,
  port: { name?: string; port: number },
  endpoints: { ip: string; ready?: boolean }[],
): V1EndpointSlice => ({
  addressType: "IPv4",
  metadata: {
    namespace: ns,
    name: `${serviceName}-${Math.random().toString(36).slice(2, 7)}`,
    labels: { "kubernetes.io/service-name": serviceName },
  },
  ports: [port],
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
  })),
});

export const secret = (ns: string, name: string, data: Record<string, string>): V1Secret => ({
  metadata: { namespace: ns, name },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
});
