// VPN → its registry record: member namespaces (those an older VPN holds excluded), publisher token hashes,
// limits. Pure: everything comes from the World.
import { createHash } from "node:crypto";
import { EgressRuleError, parseEgressEntry } from "../../common/egress/rules.ts";
import type { Vpn } from "../../crds/types.ts";
import { type Publisher, SCHEMA_VERSION, type VpnRecord } from "../../registry/types.ts";
import { type ConditionInput, isFalse, isTrue } from "./conditions.ts";
import { conflictMessage, membership } from "./membership.ts";
import { ownerOf, type Plan, readyFrom } from "./plan.ts";
import type { World } from "./world.ts";

export interface VpnStatusFields {
  namespaces: string[];
  publishers: number;
}

/** The SHA-256 (hex) of a token as stored in a Secret, ignoring surrounding whitespace (files often end in a newline). */
export const tokenHash = (raw: string): string => createHash("sha256").update(raw.trim()).digest("hex");

const resolvePublishers = (vpn: Vpn, world: World): { publishers: Publisher[]; problems: string[] } => {
  const publishers: Publisher[] = [];
  const problems: string[] = [];
  for (const p of vpn.spec.publishers ?? []) {
    const { namespace, name, key } = p.tokenSecretRef;
    const secret = world.secret(namespace, name);
    const encoded = secret?.data?.[key];
    if (!secret) problems.push(`publisher ${p.name}: Secret ${namespace}/${name} not found`);
    else if (encoded === undefined)
      problems.push(`publisher ${p.name}: Secret ${namespace}/${name} has no key ${key}`);
    else if (Buffer.from(encoded, "base64").toString("utf8").trim() === "")
      problems.push(`publisher ${p.name}: Secret ${namespace}/${name} key ${key} is empty`);
    else
      publishers.push({
        name: p.name,
        tokenSha256: tokenHash(Buffer.from(encoded, "base64").toString("utf8")),
      });
  }
  return { publishers: publishers.sort((a, b) => a.name.localeCompare(b.name)), problems };
};

/** The VPN's egress allow entries as the record holds them (normalised, sorted, unique), and the entries that do not parse. */
export const egressAllowOf = (vpn: Vpn): { allow: string[]; problems: string[] } => {
  const allow = new Set<string>();
  const problems: string[] = [];
  for (const raw of vpn.spec.egress?.allow ?? []) {
    try {
      allow.add(parseEgressEntry(raw).text);
    } catch (err) {
      if (!(err instanceof EgressRuleError)) throw err;
      problems.push(err.message);
    }
  }
  return { allow: [...allow].sort(), problems };
};

/** Plans a VPN's record and conditions (NamespacesResolved, PublishersResolved, EgressValid, Ready). */
export const planVpn = (vpn: Vpn, world: World, cluster: string): Plan<VpnRecord, VpnStatusFields> => {
  const name = vpn.metadata.name ?? "";
  const { members, conflicts } = membership(vpn, world);
  const { publishers, problems } = resolvePublishers(vpn, world);
  const conditions: ConditionInput[] = [
    conflicts.size > 0
      ? isFalse(
          "NamespacesResolved",
          "NamespaceConflict",
          [...conflicts].map(([ns, holder]) => conflictMessage(ns, name, holder)).join("; "),
        )
      : isTrue("NamespacesResolved", "Resolved", `${members.length} member namespace(s)`),
    problems.length > 0
      ? isFalse("PublishersResolved", "SecretNotFound", problems.join("; "))
      : isTrue("PublishersResolved", "Resolved", `${publishers.length} publisher(s)`),
  ];
  const egress = egressAllowOf(vpn);
  // The CRD's rules refuse what the parser refuses; this is the last line should they ever differ.
  if (egress.problems.length > 0)
    conditions.push(isFalse("EgressValid", "InvalidEntry", egress.problems.join("; ")));
  conditions.push(readyFrom(conditions, "Registered", "the VPN is in the registry"));
  const limits = vpn.spec.limits ?? {};
  const record: VpnRecord = {
    schema: SCHEMA_VERSION,
    kind: "vpn",
    vpn: name,
    owner: ownerOf(vpn, cluster),
    spec: {
      namespaces: members,
      publishers,
      limits: { ...limits },
      ...(egress.allow.length > 0 ? { egress: { allow: egress.allow } } : {}),
    },
  };
  if (egress.problems.length > 0)
    return { record: undefined, conditions, status: { namespaces: members, publishers: publishers.length } };
  return { record, conditions, status: { namespaces: members, publishers: publishers.length } };
};
