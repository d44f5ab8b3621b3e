// Which namespaces belong to which VPN. A namespace belongs to at most one VPN: one claimed by
// several belongs to none of them, and each claimant reports the conflict.
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

/** The namespaces `vpn` claims, before conflicts are considered, sorted. */
export const claimedNamespaces = (vpn: Vpn, world: World): string[] => {
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

export interface Membership {
  /** Namespaces that belong to the VPN. */
  members: string[];
  /** Claimed namespaces that another live VPN also claims, with those VPNs' names. */
  conflicts: Map<string, string[]>;
}

/** The namespaces that belong to `vpn`, and those lost to conflicts. */
export const membership = (vpn: Vpn, world: World): Membership => {
  const name = vpn.metadata.name ?? "";
  const others = world.vpns().filter((v) => v.metadata.name !== name && live(v));
  const claimsByOthers = new Map<string, string[]>();
  for (const other of others) {
    for (const ns of claimedNamespaces(other, world)) {
      claimsByOthers.set(ns, [...(claimsByOthers.get(ns) ?? []), other.metadata.name ?? ""]);
    }
  }
  const members: string[] = [];
  const conflicts = new Map<string, string[]>();
  for (const ns of claimedNamespaces(vpn, world)) {
    const rivals = claimsByOthers.get(ns);
    if (rivals) conflicts.set(ns, rivals.sort());
    else members.push(ns);
  }
  return { members, conflicts };
};

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
  const rivals = conflicts.get(namespace);
  if (rivals) {
    return {
      reason: "NamespaceConflict",
      message: `namespace ${namespace} is claimed by VPN ${vpnName} and by ${rivals.join(", ")}; it belongs to none until one releases it`,
    };
  }
  return { reason: "NamespaceNotInVPN", message: `namespace ${namespace} is not a member of VPN ${vpnName}` };
};
