// The reconcile-time egress report of a Function (docs/architecture.md, "Security model", "Egress
// policy"): what the operator can know without DNS — a URL whose host is an IP literal or a
// `localhost` name in a denied range, or that names the registry etcd or the API server. The
// gateways are the enforcement point: they resolve names and apply their own flags at connect
// time, so EgressAllowed=True is "nothing known to be refused", never a promise. Pure.
import { isIP } from "node:net";
import { createEgressPolicy, type EgressPolicy, protectedEndpoint } from "../../common/egress/policy.ts";
import { type EgressEntry, normaliseHost, parseEgressEntry } from "../../common/egress/rules.ts";
import { type ConditionInput, isFalse, isTrue } from "./conditions.ts";

export interface OperatorEgressInput {
  /** The registry etcd client URLs (--etcd). */
  readonly etcd: readonly string[];
  /** The API server URL the operator talks to, if known. */
  readonly apiServer: string | undefined;
  readonly allow: readonly EgressEntry[];
  readonly deny: readonly EgressEntry[];
}

const hostPortOf = (url: string): { host: string; port: number } | undefined => {
  try {
    const u = new URL(url);
    return {
      host: normaliseHost(u.hostname),
      port: Number(u.port) || (u.protocol === "https:" ? 443 : 80),
    };
  } catch {
    return undefined;
  }
};

/** The policy the operator reports with: defaults, its flags, the etcd endpoints and the API server. */
export const operatorEgressPolicy = (input: OperatorEgressInput): EgressPolicy => {
  const protect = [
    ...input.etcd.map((url) => ({ url, reason: "the registry etcd" })),
    ...(input.apiServer ? [{ url: input.apiServer, reason: "the Kubernetes API server" }] : []),
  ].flatMap(({ url, reason }) => {
    const at = hostPortOf(url);
    return at ? [protectedEndpoint(at.host, at.port, reason)] : [];
  });
  return createEgressPolicy({ allow: input.allow, deny: input.deny, protect });
};

/** The addresses known without DNS: the literal itself, loopback for `localhost` names, else unknown. */
const knownAddresses = (host: string): (string | undefined)[] => {
  if (isIP(host) !== 0) return [host];
  if (host === "localhost" || host.endsWith(".localhost")) return ["127.0.0.1", "::1"];
  return [undefined];
};

/** The first refusal among `targets` (field name and URL), or undefined; as a gateway, a target is refused when every known address is. */
export const egressRefusal = (
  targets: readonly { field: string; url: string }[],
  policy: EgressPolicy,
  vpnAllow: readonly string[],
): string | undefined => {
  const allow = vpnAllow.flatMap((text) => {
    try {
      return [parseEgressEntry(text)];
    } catch {
      return [];
    }
  });
  for (const { field, url } of targets) {
    const at = hostPortOf(url);
    if (!at) continue;
    const decisions = knownAddresses(at.host).map((address) =>
      policy.decide({ host: at.host, address, port: at.port }, allow),
    );
    const [first] = decisions;
    if (first && !first.allowed && decisions.every((d) => !d.allowed))
      return `${field} ${url}: ${first.message}; gateways refuse every delivery to it`;
  }
  return undefined;
};

/** The EgressAllowed condition for a Function's delivery URLs. */
export const egressCondition = (
  targets: readonly { field: string; url: string }[],
  policy: EgressPolicy,
  vpnAllow: readonly string[],
): ConditionInput => {
  const refusal = egressRefusal(targets, policy, vpnAllow);
  return refusal
    ? isFalse("EgressAllowed", "EgressDenied", refusal)
    : isTrue(
        "EgressAllowed",
        "NotDenied",
        "no delivery address is known to be refused; gateways enforce the egress policy when they connect",
      );
};
