// Which namespaces belong to which VPN. A namespace belongs to at most one VPN: the first live
// VPN to claim it (oldest metadata.creationTimestamp, ties broken by name) holds it; a later
// claimer reports the conflict and keeps its other namespaces. When the holder releases the
// namespace (deleted, or no longer claiming it) the next claimer in the same order gets it.
// docs/architecture.md "Security model" explains why the older claim wins.
import type { V1Namespace } from "@kubernetes/client-node";
import type { LabelSelector, Vpn } from "../../crds/types.ts";
import type { World } from "./world.ts";

/** Whether `labels` satisfy a metav1.LabelSelector (an empty selector matches everything). */
export const matchesSelector = (selector: LabelSelector, labels: Record<string, string>): boolean => {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    const ok =
      e.operator === "In"
        ? inValues
        : e.operator === "NotIn"
          ? !inValues
          : e.operator === "Exists"
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
};

const live = (vpn: Vpn): boolean => !vpn.metadata.deletionTimestamp;

/** A VPN without a creation time (not yet created) claims after every created one. */
const createdAt = (vpn: Vpn): number => {
  const at = vpn.metadata.creationTimestamp;
  const ms = at === undefined ? Number.NaN : new Date(at).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/** Claim order: negative when `a`'s claims win over `b`'s (older first, then by name). */
export const claimOrder = (a: Vpn, b: Vpn): number => {
  const byTime = createdAt(a) - createdAt(b);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  const [x, y] = [a.metadata.name ?? "", b.metadata.name ?? ""];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The namespaces `vpn` claims, before conflicts are considered, sorted. */
export const claimedNamespaces = (vpn: Vpn, world: Pick<World, "namespaces">): string[] => {
  const { names, selector } = vpn.spec.namespaces;
  if (names) return [...new Set(names)].sort();
  if (!selector) return [];
  return world
    .namespaces()
    .filter((ns) => matchesSelector(selector, ns.metadata?.labels ?? {}))
    .map((ns) => ns.metadata?.name ?? "")
    .filter(Boolean)
    .sort();
};

/** The last holders() computed for all VPNs, and copies of the VPN and namespace lists it read. */
let last:
  | { vpns: readonly Vpn[]; namespaces: readonly V1Namespace[]; held: ReadonlyMap<string, Vpn> }
  | undefined;

/** Whether `a` holds the same objects as `b`, in the same order. */
const sameObjects = <T>(a: readonly T[], b: readonly T[]): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * Which live VPN holds each claimed namespace: the first claimer in claim order. `except` names a
 * VPN to leave out (the admission check asks who holds a namespace besides the VPN under review).
 *
 * Without `except`, the answer is kept until a VPN or namespace object changes (the informers
 * replace an object they update; nothing changes one in place): every Function and Subscription
 * reconcile asks, and with VPNs that select namespaces by label each answer reads every namespace
 * once per VPN: with 200 such VPNs and 2000 namespaces a membership() took 37 ms (an hour for a
 * full pass over 100 000 subscriptions), 0.5 ms now. Checking that the lists hold the same
 * objects is linear.
 */
export const holders = (
  world: Pick<World, "vpns" | "namespaces">,
  except?: string,
): ReadonlyMap<string, Vpn> => {
  const vpns = world.vpns();
  const namespaces = world.namespaces();
  if (
    except === undefined &&
    last &&
    sameObjects(last.vpns, vpns) &&
    sameObjects(last.namespaces, namespaces)
  )
    return last.held;
  const held = new Map<string, Vpn>();
  const claimers = vpns.filter((v) => live(v) && v.metadata.name !== except).sort(claimOrder);
  const listed = { namespaces: () => namespaces };
  for (const vpn of claimers) {
    for (const ns of claimedNamespaces(vpn, listed)) if (!held.has(ns)) held.set(ns, vpn);
  }
  if (except === undefined) last = { vpns: [...vpns], namespaces: [...namespaces], held };
  return held;
};

export interface Membership {
  /** Namespaces that belong to the VPN. */
  members: string[];
  /** Claimed namespaces held by another (older) VPN: namespace → the holder's name. */
  conflicts: Map<string, string>;
}

/** The namespaces that belong to `vpn`, and those another VPN holds. */
export const membership = (vpn: Vpn, world: World): Membership => {
  const name = vpn.metadata.name ?? "";
  const held = holders(world);
  const members: string[] = [];
  const conflicts = new Map<string, string>();
  for (const ns of claimedNamespaces(vpn, world)) {
    const holder = held.get(ns)?.metadata.name ?? name;
    if (holder === name) members.push(ns);
    else conflicts.set(ns, holder);
  }
  return { members, conflicts };
};

/** The conflict message for `namespace` claimed by `vpnName` but held by `holder`. */
export const conflictMessage = (namespace: string, vpnName: string, holder: string): string =>
  `namespace ${namespace} is held by VPN ${holder}, which claimed it first; VPN ${vpnName} gets it only when ${holder} releases it`;

/** Why `namespace` is not usable in VPN `vpnName`, or undefined when it belongs to it. */
export const notMemberReason = (
  vpnName: string,
  namespace: string,
  world: World,
): { reason: string; message: string } | undefined => {
  const vpn = world.vpn(vpnName);
  if (!vpn || !live(vpn)) return { reason: "VPNNotFound", message: `VPN ${vpnName} does not exist` };
  const { members, conflicts } = membership(vpn, world);
  if (members.includes(namespace)) return undefined;
  const holder = conflicts.get(namespace);
  if (holder) return { reason: "NamespaceConflict", message: conflictMessage(namespace, vpnName, holder) };
  return { reason: "NamespaceNotInVPN", message: `namespace ${namespace} is not a member of VPN ${vpnName}` };
};

export interface RefusedClaim {
  namespace: string;
  /** The VPN holding it. */
  holder: string;
}

/**
 * For admission: the namespaces `vpn` claims and `previous` (its stored version; undefined on
 * create) did not, that another live VPN holds now, sorted. A claim already made is never refused
 * again here (the planner decides it), so an unrelated edit of a VPN is never blocked.
 */
export const refusedClaims = (
  vpn: Vpn,
  previous: Vpn | undefined,
  world: Pick<World, "vpns" | "namespaces">,
): RefusedClaim[] => {
  const name = vpn.metadata.name ?? "";
  const before = new Set(previous ? claimedNamespaces(previous, world) : []);
  const held = holders(world, name);
  const refused: RefusedClaim[] = [];
  for (const namespace of claimedNamespaces(vpn, world)) {
    const holder = held.get(namespace)?.metadata.name;
    if (holder !== undefined && !before.has(namespace)) refused.push({ namespace, holder });
  }
  return refused;
};
