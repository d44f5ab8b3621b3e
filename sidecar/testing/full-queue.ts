// A full async queue, for the queue-memory test and benchmark: a tenant whose function holds every
// delivery until released (one at a time, never timed out), and publishers that send events to a
// gateway until it has answered 503 queue-full many times in a row.

import type { Etcd3 } from "etcd3";
import { type FunctionServer, startFunction } from "../../e2e/functions.ts";
import type { GatewayProcess } from "../../e2e/gateway.ts";
import { uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { subscriptionKey } from "../../registry/keys.ts";
import type { RegistryWriter } from "../../registry/writer/index.ts";
import { functionRecord, subscriptionRecord } from "./routing.ts";
import { type Tenant, writeTenant } from "./tenant.ts";

export interface GatedTenant {
  readonly tenant: Tenant;
  readonly server: FunctionServer;
  /** From now on the function answers 200, also to the requests it was holding. */
  open(): void;
}

/**
 * Writes a tenant (VPN, Function `fn` with `concurrency` (default 1) and no timeout to speak of,
 * Subscription `to-fn`, async unless `mode` says) whose function holds every request until `open()`.
 */
export const gatedTenant = async (
  writer: RegistryWriter,
  cluster: string,
  { mode = "async", concurrency = 1 }: { mode?: "async" | "sync"; concurrency?: number } = {},
): Promise<GatedTenant> => {
  const gate = Promise.withResolvers<void>();
  const server = await startFunction(async () => {
    await gate.promise;
    return { status: 200 };
  });
  const tenant: Tenant = {
    vpn: uniqueName("v"),
    namespace: uniqueName("ns"),
    token: uniqueName("token"),
    functionUrl: server.url,
    type: "com.test.full",
  };
  await writeTenant(writer, cluster, tenant);
  const where = { vpn: tenant.vpn, namespace: tenant.namespace, cluster };
  await writer.sync(
    { kind: "function", namespace: tenant.namespace, name: "fn" },
    functionRecord(
      { ...where, name: "fn" },
      { endpoints: [`${server.url}/in`], concurrency, timeoutMs: 600_000 },
    ),
  );
  await writer.sync(
    { kind: "subscription", namespace: tenant.namespace, name: "to-fn" },
    subscriptionRecord({ ...where, name: "to-fn" }, { mode, filters: [{ exact: { type: tenant.type } }] }),
  );
  return { tenant, server, open: () => gate.resolve() };
};

export interface Filled {
  readonly accepted: ReadonlySet<string>;
  readonly refused: ReadonlySet<string>;
  /** Answers other than 202 and 503 queue-full, as "status body". */
  readonly other: readonly string[];
}

/** Publishes `dataBytes`-byte events from `publishers` concurrent publishers until each has had `fullInARow` queue-full answers in a row. */
export const fillQueue = async (
  gw: GatewayProcess,
  tenant: Tenant,
  dataBytes: number,
  { publishers = 16, fullInARow = 200 } = {},
): Promise<Filled> => {
  const accepted = new Set<string>();
  const refused = new Set<string>();
  const other: string[] = [];
  const data = Buffer.alloc(dataBytes, "x");
  let next = 0;
  const publisher = async (): Promise<void> => {
    let full = 0;
    while (full < fullInARow) {
      const id = `e-${next++}`;
      const res = await fetch(`${gw.url}/`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tenant.token}`,
          "ce-specversion": "1.0",
          "ce-id": id,
          "ce-source": "/full-queue",
          "ce-type": tenant.type,
          "content-type": "application/octet-stream",
        },
        body: data,
      });
      const body = await res.text();
      if (res.status === 202) {
        accepted.add(id);
        full = 0;
      } else if (res.status === 503 && body.includes("queue-full")) {
        refused.add(id);
        full++;
      } else other.push(`${res.status} ${body}`);
    }
  };
  await Promise.all(Array.from({ length: publishers }, publisher));
  return { accepted, refused, other };
};

/** The distinct CloudEvents ids `server` has received. */
export const receivedIds = (server: FunctionServer): Set<string> =>
  new Set(server.received.map((r) => String(r.headers["ce-id"])));

/** Resolves once `gw` has loaded the tenant's Subscription `to-fn` (its config revision reached the record's). */
export const subscriptionLoaded = async (
  gw: GatewayProcess,
  etcd: Etcd3,
  tenant: Tenant,
  cluster: string,
): Promise<void> => {
  const key = subscriptionKey({ vpn: tenant.vpn, namespace: tenant.namespace, name: "to-fn", cluster });
  const written = Number((await etcd.get(key).exec()).kvs[0]?.mod_revision ?? 0);
  await waitFor("the gateway to load the subscription", async () =>
    ((await gw.metric("switchboard_gateway_config_revision")) ?? 0) >= written ? true : undefined,
  );
};
