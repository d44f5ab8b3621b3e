// A tenant for gateway integration tests: a VPN with one namespace and one publisher token, a
// function served by a real server, and an async subscription of that namespace to one event type,
// written to a real etcd with the operator's registry writer.
import { createHash } from "node:crypto";
import type { RegistryWriter } from "../../registry/writer/index.ts";
import { functionRecord, subscriptionRecord, vpnRecord } from "./routing.ts";

export interface Tenant {
  readonly vpn: string;
  readonly namespace: string;
  readonly token: string;
  /** Base URL of the function's server (records point at `${url}/in`). */
  readonly functionUrl: string;
  /** The event type its subscription `to-fn` receives. */
  readonly type: string;
}

/** Writes the tenant's VPN, Function `fn` and Subscription `to-fn` records for `cluster`. */
export const writeTenant = async (writer: RegistryWriter, cluster: string, t: Tenant): Promise<void> => {
  const { vpn, namespace } = t;
  const tokenSha256 = createHash("sha256").update(t.token).digest("hex");
  await writer.sync(
    { kind: "vpn", name: vpn },
    vpnRecord(vpn, cluster, { namespaces: [namespace], publishers: [{ name: "ci", tokenSha256 }] }),
  );
  await writer.sync(
    { kind: "function", namespace, name: "fn" },
    functionRecord({ vpn, namespace, name: "fn", cluster }, { endpoints: [`${t.functionUrl}/in`] }),
  );
  await writer.sync(
    { kind: "subscription", namespace, name: "to-fn" },
    subscriptionRecord(
      { vpn, namespace, name: "to-fn", cluster },
      { filters: [{ exact: { type: t.type } }] },
    ),
  );
};
