// The publisher token of a VPN, read where the VPN says it is: spec.publishers[].tokenSecretRef
// (namespace, name, key of a Secret). The gateway compares its SHA-256 with the registry's hashes.
import { CliError } from "../types.ts";
import type { Kube } from "./kube.ts";

interface Publisher {
  name: string;
  namespace: string;
  secret: string;
  key: string;
}

const publishersOf = (spec: Record<string, unknown>): Publisher[] =>
  (Array.isArray(spec.publishers) ? spec.publishers : []).flatMap((p: unknown) => {
    if (typeof p !== "object" || p === null) return [];
    const name: unknown = Reflect.get(p, "name");
    const ref: unknown = Reflect.get(p, "tokenSecretRef");
    if (typeof name !== "string" || typeof ref !== "object" || ref === null) return [];
    const [namespace, secret, key] = ["namespace", "name", "key"].map((k) => Reflect.get(ref, k));
    return typeof namespace === "string" && typeof secret === "string" && typeof key === "string"
      ? [{ name, namespace, secret, key }]
      : [];
  });

/** The token of publisher `publisher` (default: the VPN's first) of VPN `vpn`; throws CliError saying what is missing and how to fix it. */
export const publisherToken = async (kube: Kube, vpn: string, publisher?: string): Promise<string> => {
  const obj = await kube.get("VPN", vpn);
  if (obj === undefined)
    throw new CliError(`VPN ${vpn} not found: kubectl get vpns lists the VPNs (they are cluster-scoped)`);
  const publishers = publishersOf(obj.spec);
  const chosen = publisher === undefined ? publishers[0] : publishers.find((p) => p.name === publisher);
  if (chosen === undefined)
    throw new CliError(
      publishers.length === 0
        ? `VPN ${vpn} has no publishers: add spec.publishers[] with a tokenSecretRef, or pass --token`
        : `VPN ${vpn} has no publisher ${publisher ?? ""} (publishers: ${publishers.map((p) => p.name).join(", ")})`,
    );
  const where = `Secret ${chosen.namespace}/${chosen.secret} (publisher ${chosen.name} of VPN ${vpn})`;
  const { found, value } = await kube.secretValue(chosen.namespace, chosen.secret, chosen.key);
  if (!found)
    throw new CliError(
      `${where} not found: create it, e.g. kubectl -n ${chosen.namespace} create secret generic ${chosen.secret} --from-literal=${chosen.key}=TOKEN`,
    );
  if (value === undefined || value === "")
    throw new CliError(`${where} has no key ${chosen.key} (or it is empty): add the token under that key`);
  return value.trim();
};
