// Tenants for gateway integration tests: VPNs with one namespace and one publisher token each, a
// function served by a real server, and an async subscription of that namespace to one event type,
// written to a real etcd with the operator's registry writer; and real gateway processes on them.
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { type GatewayProcess, startGateway } from "../../e2e/gateway.ts";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { openWriter, type RegistryWriter } from "../../registry/writer/index.ts";
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

export interface TwoTenants {
  readonly a: Tenant;
  readonly b: Tenant;
  /** Deletes the tenant's VPN record (as the operator does when the VPN is deleted). */
  deleteVpn(t: Tenant): Promise<void>;
  /** Starts a gateway of the tenants' cluster (stopped when the test file ends). */
  gateway(name: string, opts?: { namespace?: string; extraArgs?: string[] }): Promise<GatewayProcess>;
}

export interface TestRegistry {
  readonly etcdUrl: string;
  readonly etcd: Etcd3;
  /** A cluster name of its own (`prefix-…`): test files sharing the etcd do not see each other's records. */
  readonly cluster: string;
  readonly writer: RegistryWriter;
}

/** A registry writer for a fresh cluster of the test etcd; the writer and client close when the test file ends. */
export const testRegistry = async (prefix: string): Promise<TestRegistry> => {
  const etcdUrl = await testEtcd();
  const etcd = new Etcd3({ hosts: etcdUrl });
  const cluster = uniqueName(prefix);
  const writer = await openWriter({ client: etcd, cluster, identity: "test" });
  cleanup(() => {
    writer.close();
    etcd.close();
  });
  return { etcdUrl, etcd, cluster, writer };
};

/** Tenants `a` and `b` (tokens token-a-…, token-b-…) in a fresh cluster of the test etcd, their functions at `functionUrl` (one for both, or a's and b's). */
export const twoTenants = async (
  prefix: string,
  functionUrl: string | readonly [string, string],
): Promise<TwoTenants> => {
  const { etcdUrl, cluster, writer } = await testRegistry(prefix);
  const dir = mkdtempSync(join(repoRoot, ".work", `${prefix}-`));
  const [urlA, urlB] = typeof functionUrl === "string" ? [functionUrl, functionUrl] : functionUrl;
  const tenant = (name: string, url: string): Tenant => ({
    vpn: uniqueName(name),
    namespace: uniqueName(`ns-${name}`),
    // Unique: gateways of other test files share this etcd, and a token of two VPNs opens neither.
    token: uniqueName(`token-${name}`),
    functionUrl: url,
    type: `com.test.${name}`,
  });
  const [a, b] = [tenant("a", urlA), tenant("b", urlB)];
  await writeTenant(writer, cluster, a);
  await writeTenant(writer, cluster, b);
  const gateways: GatewayProcess[] = [];
  // Registered after the writer's: the gateways stop first.
  cleanup(async () => {
    await Promise.all(gateways.map((g) => g.proc.stop()));
  });
  return {
    a,
    b,
    deleteVpn: async (t) => {
      await writer.sync({ kind: "vpn", name: t.vpn }, undefined);
    },
    gateway: async (name, { namespace, extraArgs = [] } = {}) => {
      const g = await startGateway({
        etcd: etcdUrl,
        clusterName: cluster,
        dir,
        name,
        extraArgs,
        ...(namespace ? { namespace } : {}),
      });
      gateways.push(g);
      return g;
    },
  };
};
