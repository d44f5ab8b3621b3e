// Which VPN key Secret a namespace should hold (docs/architecture.md, "Security model"): the key of
// the VPN the namespace belongs to, so that the sidecars injected there open that VPN's sealed
// registry records and no other's; none when it belongs to no VPN. Pure: everything comes from
// the World.
import type { V1Secret } from "@kubernetes/client-node";
import { VPN_KEY_FILE, VPN_KEY_LABEL, VPN_KEY_SECRET } from "../../registry/seal/files.ts";
import { claimedNamespaces, holders } from "../plan/membership.ts";
import type { World } from "../plan/world.ts";

export type KeySecretPlan =
  | { action: "none" }
  /** Create the Secret (no `resourceVersion`) or replace it (guarded by `resourceVersion`). */
  | { action: "put"; vpn: string; secret: V1Secret; resourceVersion?: string }
  | { action: "delete"; resourceVersion: string }
  /** A Secret of that name exists that the operator did not write: left alone, and said why. */
  | { action: "conflict"; message: string };

/**
 * The VPN `namespace` is a member of (plan/membership.ts), if any: the live VPN holding it, else a
 * VPN being deleted that claims it (it keeps what no live VPN holds until it is gone). From the
 * kept holders, not a membership() of every VPN for each namespace: with VPNs selecting
 * namespaces by label, each of those read every namespace, once per VPN, per namespace key.
 */
export const holderOf = (namespace: string, world: World): string | undefined => {
  const held = holders(world).get(namespace);
  if (held !== undefined) return held.metadata.name;
  return world
    .vpns()
    .find((vpn) => vpn.metadata.deletionTimestamp && claimedNamespaces(vpn, world).includes(namespace))
    ?.metadata.name;
};

const decoded = (secret: V1Secret | undefined): string | undefined => {
  const data = secret?.data?.[VPN_KEY_FILE];
  return data === undefined ? undefined : Buffer.from(data, "base64").toString("utf8");
};

/** What to do with `namespace`'s VPN key Secret; `content(vpn)` is the key file of `vpn`. */
export const planKeySecret = (
  namespace: string,
  world: World,
  content: (vpn: string) => string,
): KeySecretPlan => {
  const current = world.secret(namespace, VPN_KEY_SECRET);
  const managedFor = current?.metadata?.labels?.[VPN_KEY_LABEL];
  if (current !== undefined && managedFor === undefined)
    return {
      action: "conflict",
      message: `Secret ${namespace}/${VPN_KEY_SECRET} exists and was not written by Switchboard (no ${VPN_KEY_LABEL} label); sidecars in ${namespace} cannot get their VPN key until it is removed`,
    };
  const vpn = world.namespace(namespace) === undefined ? undefined : holderOf(namespace, world);
  if (vpn === undefined)
    return current?.metadata?.resourceVersion === undefined
      ? { action: "none" }
      : { action: "delete", resourceVersion: current.metadata.resourceVersion };
  const wanted = content(vpn);
  if (managedFor === vpn && decoded(current) === wanted) return { action: "none" };
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: VPN_KEY_SECRET,
      namespace,
      labels: { [VPN_KEY_LABEL]: vpn, "app.kubernetes.io/managed-by": "switchboard" },
    },
    data: { [VPN_KEY_FILE]: Buffer.from(wanted).toString("base64") },
  };
  const resourceVersion = current?.metadata?.resourceVersion;
  return resourceVersion === undefined
    ? { action: "put", vpn, secret }
    : { action: "put", vpn, secret, resourceVersion };
};
