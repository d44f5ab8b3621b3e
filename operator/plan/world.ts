// The read-only view of the cluster that plans are computed from. The operator backs it with
// informer caches; unit tests back it with plain arrays (worldOf).
import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from "@kubernetes/client-node";
import type { Subscription, SwitchboardFunction, Vpn } from "../../crds/types.ts";

export interface World {
  vpns(): readonly Vpn[];
  vpn(name: string): Vpn | undefined;
  /** Namespace labels; undefined when the namespace does not exist. */
  namespace(name: string): V1Namespace | undefined;
  namespaces(): readonly V1Namespace[];
  fn(namespace: string, name: string): SwitchboardFunction | undefined;
  functions(): readonly SwitchboardFunction[];
  subscriptions(): readonly Subscription[];
  service(namespace: string, name: string): V1Service | undefined;
  /** The EndpointSlices of a Service (label kubernetes.io/service-name). */
  endpointSlices(namespace: string, service: string): readonly V1EndpointSlice[];
  secret(namespace: string, name: string): V1Secret | undefined;
  /** Other clusters that declare function namespace/name in `vpn` (from the shared registry), sorted. */
  remoteFunction(vpn: string, namespace: string, name: string): readonly string[];
}

export interface WorldObjects {
  vpns?: Vpn[];
  namespaces?: V1Namespace[];
  functions?: SwitchboardFunction[];
  subscriptions?: Subscription[];
  services?: V1Service[];
  endpointSlices?: V1EndpointSlice[];
  secrets?: V1Secret[];
  /** "vpn/namespace/name" → clusters declaring it elsewhere. */
  remoteFunctions?: Record<string, string[]>;
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

const named = <T extends { metadata?: { name?: string; namespace?: string } }>(
  items: readonly T[],
  name: string,
  namespace?: string,
) =>
  items.find(
    (o) => o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace),
  );

/** A World over plain object lists. */
export const worldOf = (objects: WorldObjects): World => {
  const {
    vpns = [],
    namespaces = [],
    functions = [],
    subscriptions = [],
    services = [],
    endpointSlices = [],
    secrets = [],
    remoteFunctions = {},
  } = objects;
  return {
    vpns: () => vpns,
    vpn: (name) => named(vpns, name),
    namespace: (name) => named(namespaces, name),
    namespaces: () => namespaces,
    fn: (namespace, name) => named(functions, name, namespace),
    functions: () => functions,
    subscriptions: () => subscriptions,
    service: (namespace, name) => named(services, name, namespace),
    endpointSlices: (namespace, service) =>
      endpointSlices.filter(
        (s) => s.metadata?.namespace === namespace && s.metadata?.labels?.[SERVICE_NAME_LABEL] === service,
      ),
    secret: (namespace, name) => named(secrets, name, namespace),
    remoteFunction: (vpn, namespace, name) => remoteFunctions[`${vpn}/${namespace}/${name}`] ?? [],
  };
};
