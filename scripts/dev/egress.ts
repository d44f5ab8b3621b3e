// The egress allow-list dev mode gives its gateway and operator (docs/architecture.md, "Egress
// policy"): only what functions on this machine need, each entry a single address.
import { createEgressPolicy } from "../../common/egress/policy.ts";
import { parseEgressEntry } from "../../common/egress/rules.ts";
import type { ServiceOverride } from "./flags.ts";

/**
 * Loopback's two addresses, where `target.url` Functions on this machine listen (`localhost`
 * resolves to them), and not the rest of 127.0.0.0/8.
 */
export const LOOPBACK_ALLOW: readonly string[] = ["127.0.0.1", "::1"];

const literal = (url: string): string | undefined => {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  return /^[\d.]+$|:/.test(host) ? host : undefined;
};

/**
 * LOOPBACK_ALLOW plus the address of each `--service` URL that is an IP literal the default
 * policy refuses (e.g. `127.0.0.2`), so the function the user named is reachable; never a range,
 * never a port of the registry, the API server or the gateway (those rules need address and port).
 */
export const devEgressAllow = (services: Iterable<ServiceOverride>): string[] => {
  const allow = [...LOOPBACK_ALLOW];
  for (const service of services) {
    const address = literal(service.url);
    if (address === undefined || allow.includes(address)) continue;
    const policy = createEgressPolicy({ allow: allow.map((a) => parseEgressEntry(a)) });
    const decision = policy.decide({ host: address, address, port: 1 });
    if (!decision.allowed && decision.rule.class === "default") allow.push(address);
  }
  return allow;
};
