// Which queue keys a change touches. Informer callbacks only enqueue keys (never act), and a
// reconcile reads the current world, so over-enqueueing is safe and under-enqueueing is the bug
// to avoid: each rule below names the field that makes one object depend on another.
import type { V1EndpointSlice, V1Namespace, V1Secret } from "@kubernetes/client-node";
import type { Subscription, SwitchboardFunction, Vpn } from "../../crds/types.ts";
import type { ChangeKind } from "../kube/informer.ts";
import { keyOf } from "../reconcile/reconciler.ts";
import { functionRef } from "./subscription.ts";
import { SERVICE_NAME_LABEL, type World } from "./world.ts";

export interface Keys {
  vpns: string[];
  functions: string[];
  subscriptions: string[];
}

const none = (): Keys => ({ vpns: [], functions: [], subscriptions: [] });

/** Everything: a VPN or namespace change can move membership, and conflicts span VPNs. */
export const everything = (world: World): Keys => ({
  vpns: world.vpns().map(keyOf),
  functions: world.functions().map(keyOf),
  subscriptions: world.subscriptions().map(keyOf),
});

/** The Functions `sub` names ("namespace/name"): its target, and its dead-letter function if any. */
const namedFunctions = (s: Subscription): string[] => {
  const home = s.metadata.namespace ?? "";
  const target = functionRef(s.spec.function, home);
  const named = [`${target.namespace}/${target.name}`];
  if (s.spec.delivery?.deadLetter) {
    const dl = functionRef(s.spec.delivery.deadLetter.function, home);
    named.push(`${dl.namespace}/${dl.name}`);
  }
  return named;
};

/**
 * Which Subscriptions name each Function, kept from the Subscription informer's events: a Function
 * event asks, and reading every Subscription for it took 5.4 ms at 100 000 Subscriptions, so the
 * operator's start, when every Function is added, cost Functions × Subscriptions (about 54 s for
 * 10 000 Functions). Indexing 100 000 takes 0.1 s; an answer about a microsecond.
 */
export interface SubscriptionIndex {
  /** Follows a Subscription event. */
  update(sub: Subscription, change: ChangeKind): void;
  /** Keys of the Subscriptions that name function namespace/name. */
  naming(namespace: string, name: string): string[];
}

export const subscriptionIndex = (): SubscriptionIndex => {
  const names = new Map<string, string[]>();
  const byFunction = new Map<string, Set<string>>();
  return {
    update: (sub, change) => {
      const key = keyOf(sub);
      for (const fn of names.get(key) ?? []) {
        const subs = byFunction.get(fn);
        subs?.delete(key);
        if (subs?.size === 0) byFunction.delete(fn);
      }
      names.delete(key);
      if (change === "delete") return;
      const named = namedFunctions(sub);
      names.set(key, named);
      for (const fn of named) {
        const subs = byFunction.get(fn) ?? new Set<string>();
        subs.add(key);
        byFunction.set(fn, subs);
      }
    },
    naming: (namespace, name) => [...(byFunction.get(`${namespace}/${name}`) ?? [])],
  };
};

/**
 * A Function changed: itself and the Subscriptions that deliver (or dead-letter) to it, from
 * `index` when given (the operator's), else by reading every Subscription.
 */
export const afterFunction = (fn: SwitchboardFunction, world: World, index?: SubscriptionIndex): Keys => {
  const ns = fn.metadata.namespace ?? "";
  const name = fn.metadata.name ?? "";
  const id = `${ns}/${name}`;
  return {
    ...none(),
    functions: [keyOf(fn)],
    subscriptions: index
      ? index.naming(ns, name)
      : world
          .subscriptions()
          .filter((s) => namedFunctions(s).includes(id))
          .map(keyOf),
  };
};

/** A Service or EndpointSlice changed: the Functions targeting that Service. */
export const afterService = (namespace: string, service: string, world: World): Keys => ({
  ...none(),
  functions: world
    .functions()
    .filter((f) => f.metadata.namespace === namespace && f.spec.target.service?.name === service)
    .map(keyOf),
});

/** The Service an EndpointSlice belongs to. */
export const sliceService = (slice: V1EndpointSlice): string | undefined =>
  slice.metadata?.labels?.[SERVICE_NAME_LABEL];

/** A Secret changed: VPNs whose publishers and Functions whose headers read it. */
export const afterSecret = (secret: V1Secret, world: World): Keys => {
  const ns = secret.metadata?.namespace ?? "";
  const name = secret.metadata?.name ?? "";
  return {
    ...none(),
    vpns: world
      .vpns()
      .filter((v) =>
        (v.spec.publishers ?? []).some(
          (p) => p.tokenSecretRef.namespace === ns && p.tokenSecretRef.name === name,
        ),
      )
      .map(keyOf),
    functions: world
      .functions()
      .filter(
        (f) =>
          f.metadata.namespace === ns &&
          (f.spec.headers ?? []).some((h) => h.valueFrom?.secretKeyRef.name === name),
      )
      .map(keyOf),
  };
};

/**
 * A filter of an informer's events by what matters of its objects: an add or a delete always
 * counts (an informer's re-list adds again), an update only when `signature` changed since the
 * object's last event.
 */
const eventsChanging = <T>(
  keyOf: (obj: T) => string,
  signature: (obj: T) => string,
): ((obj: T, change: ChangeKind) => boolean) => {
  const seen = new Map<string, string>();
  return (obj, change) => {
    const key = keyOf(obj);
    if (change === "delete") {
      seen.delete(key);
      return true;
    }
    const now = signature(obj);
    const same = seen.get(key) === now;
    seen.set(key, now);
    return !(same && change === "update");
  };
};

/**
 * A filter of VPN or Function events: true when the event can change what is planned from the
 * object (the Functions and Subscriptions of a VPN, the Subscriptions of a Function, namespace
 * keys, the object itself): its existence, its spec (metadata.generation, which the API server
 * raises on every spec change of a resource with a status subresource), its deletion
 * (deletionTimestamp) and its finalizers (the reconciler adds its own and writes the records on
 * the pass that update queues). A status-only update cannot: the operator's own status patches, a
 * Function's endpoints counted again, each gateway's propagation report reflected in a VPN's
 * status. Every VPN event used to re-plan every Function and Subscription.
 */
export const specEvents = (): ((obj: Vpn | SwitchboardFunction, change: ChangeKind) => boolean) =>
  eventsChanging(
    (obj) => `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`,
    ({ metadata: { generation, deletionTimestamp, finalizers } }) =>
      `${generation ?? ""}/${deletionTimestamp ?? ""}/${(finalizers ?? []).join(",")}`,
  );

/**
 * A filter of Namespace events: true when the event can move the namespace between VPNs, which
 * reads only its name and labels (plan/membership.ts): an add, a delete, or an update that changed
 * its labels. Annotations, other controllers' metadata and the namespace's status phase cannot.
 * A namespace event that counts re-plans everything (`everything`).
 */
export const namespaceEvents = (): ((ns: V1Namespace, change: ChangeKind) => boolean) =>
  eventsChanging(
    (ns) => ns.metadata?.name ?? "",
    (ns) => {
      const labels = ns.metadata?.labels ?? {};
      return JSON.stringify(
        Object.keys(labels)
          .sort()
          .map((k) => [k, labels[k]]),
      );
    },
  );
