// The egress policy: which addresses a gateway may deliver to (docs/architecture.md, "Security
// model", "Egress policy"). Three kinds of deny rules, and who may lift them:
//   protected  — the registry etcd, the API server, the gateway's own ports: only a cluster-wide
//                --egress-allow entry that names the address explicitly (and the port, if the
//                rule has one);
//   default    — loopback, unspecified, link-local and cloud metadata ranges: a cluster-wide or
//                VPN allow entry that names an address inside the range (at least as narrow);
//   configured — --egress-deny entries: like default, and a host-name allow entry matching the
//                URL's host lifts them too.
// Everything else is allowed. A host name never lifts a protected or default rule: a name says
// nothing about where it points.
import { type Address, cidrWithin, isSingleAddress, parseAddress } from "./address.ts";
import { type EgressEntry, entryMatches, parseEgressEntry } from "./rules.ts";

export type DenyClass = "protected" | "default" | "configured";

/** A deny rule: what it matches, its kind, and what it protects (for messages). */
export interface DenyRule {
  readonly entry: EgressEntry;
  readonly class: DenyClass;
  readonly reason: string;
}

/** One connection about to be made: the URL's host name, the address it resolved to (undefined when unknown), the port. */
export interface Connection {
  readonly host: string;
  readonly address: string | undefined;
  readonly port: number;
}

/** Allowed, or denied by `rule` with a one-line `message`. */
export type EgressDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly rule: DenyRule; readonly message: string };

const defaultRule = (text: string, reason: string): DenyRule => ({
  entry: parseEgressEntry(text),
  class: "default",
  reason,
});

/** The built-in deny ranges (IPv4-mapped IPv6 forms of the IPv4 ones are matched as IPv4). */
export const DEFAULT_DENY: readonly DenyRule[] = [
  defaultRule("127.0.0.0/8", "loopback"),
  defaultRule("::1", "loopback"),
  defaultRule("0.0.0.0/8", "unspecified address"),
  defaultRule("::", "unspecified address"),
  defaultRule("169.254.0.0/16", "link-local (cloud metadata at 169.254.169.254)"),
  defaultRule("fe80::/10", "link-local"),
  defaultRule("fd00:ec2::254", "cloud metadata (IPv6)"),
];

export interface EgressPolicyInput {
  /** Cluster-wide allow entries (--egress-allow). */
  readonly allow?: readonly EgressEntry[];
  /** Extra deny entries (--egress-deny). */
  readonly deny?: readonly EgressEntry[];
  /** Protected endpoints (etcd, API server, own ports) with what each one is. */
  readonly protect?: readonly { readonly entry: EgressEntry; readonly reason: string }[];
}

export interface EgressPolicy {
  /** The decision for `connection` with the VPN's allow entries added to the cluster-wide ones. */
  decide(connection: Connection, vpnAllow?: readonly EgressEntry[]): EgressDecision;
  readonly input: EgressPolicyInput;
}

/** Whether allow entry `a` names what deny rule `d` denies explicitly enough to lift it. */
export const covers = (a: EgressEntry, d: DenyRule): boolean => {
  if (d.entry.port !== undefined && a.port !== d.entry.port) return false;
  switch (a.kind) {
    case "address":
      if (d.entry.kind === "address") return cidrWithin(a.cidr, d.entry.cidr);
      return d.entry.kind === "any" || isSingleAddress(a.cidr);
    case "host":
      return d.class === "configured";
    case "any":
      return d.entry.kind === "any";
  }
};

const where = (c: Connection): string => {
  const address = c.address?.includes(":") ? `[${c.address}]` : c.address;
  const name = c.host === c.address || c.host === "" ? "" : ` (${c.host})`;
  return `${address ?? c.host}:${c.port}${address === undefined ? "" : name}`;
};

/** The one-line reason for a refusal: the address, what it is, and the rule. */
export const denialMessage = (c: Connection, rule: DenyRule): string =>
  `${where(c)} is refused: ${rule.reason} (egress rule "${rule.entry.text}")`;

/** A protected endpoint's entry: `host:port` (IPv6 bracketed); throws EgressRuleError on a bad host. */
export const protectedEndpoint = (
  host: string,
  port: number,
  reason: string,
): { entry: EgressEntry; reason: string } => ({
  entry: parseEgressEntry(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`),
  reason,
});

/** Builds an immutable policy; never throws (entries are parsed before). */
export const createEgressPolicy = (input: EgressPolicyInput = {}): EgressPolicy => {
  const clusterAllow = input.allow ?? [];
  const rules: DenyRule[] = [
    ...(input.protect ?? []).map((p) => ({ entry: p.entry, class: "protected" as const, reason: p.reason })),
    ...DEFAULT_DENY,
    ...(input.deny ?? []).map((entry) => ({
      entry,
      class: "configured" as const,
      reason: "a denied destination (--egress-deny)",
    })),
  ];
  const decide: EgressPolicy["decide"] = (connection, vpnAllow = []) => {
    const address: Address | undefined =
      connection.address === undefined ? undefined : parseAddress(connection.address);
    const { host, port } = connection;
    for (const rule of rules) {
      if (!entryMatches(rule.entry, host, address, port)) continue;
      const lifts = (a: EgressEntry): boolean => entryMatches(a, host, address, port) && covers(a, rule);
      if (clusterAllow.some(lifts)) continue;
      if (rule.class !== "protected" && vpnAllow.some(lifts)) continue;
      return { allowed: false, rule, message: denialMessage(connection, rule) };
    }
    return { allowed: true };
  };
  return { decide, input };
};
