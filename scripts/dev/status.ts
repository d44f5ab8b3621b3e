// Waiting for the operator's verdict on each Switchboard object, then for the gateway to route
// what the operator wrote, so "Ready" in dev mode's output means a request works now.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { Etcd3 } from "etcd3";
import * as v from "valibot";
import { GROUP, VERSION } from "../../crds/types.ts";
import type { Cluster } from "../../e2e/cluster.ts";
import { waitFor } from "../../e2e/proc.ts";
import { REGISTRY_PREFIX } from "../../registry/keys.ts";
import { idOf } from "./apply.ts";
import { describeStatus, type StatusObject, statusObject, type Verdict } from "./describe.ts";

const PLURALS = ["vpns", "functions", "subscriptions"] as const;

/** Every Switchboard object's verdict, by idOf. */
export const readVerdicts = async (api: CustomObjectsApi): Promise<Map<string, Verdict>> => {
  const verdicts = new Map<string, Verdict>();
  for (const plural of PLURALS) {
    const list: unknown = await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural });
    const items = typeof list === "object" && list !== null && "items" in list ? list.items : [];
    for (const item of Array.isArray(items) ? items : []) {
      const parsed = v.safeParse(statusObject, item);
      if (!parsed.success) continue;
      const o: StatusObject = parsed.output;
      verdicts.set(
        idOf({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }),
        describeStatus(o),
      );
    }
  }
  return verdicts;
};

export interface SettleOptions {
  /** Stop once every verdict is final and none changed for this long. */
  quietMs?: number;
  timeoutMs?: number;
}

/**
 * Polls the verdicts of `ids` until all are Ready, or none is pending and none changed for
 * `quietMs`, or `timeoutMs` passed; returns the last verdicts (pending ones say so).
 */
export const settle = async (
  cluster: Cluster,
  ids: readonly string[],
  { quietMs = 2000, timeoutMs = 60_000 }: SettleOptions = {},
): Promise<Map<string, Verdict>> => {
  const api = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  let last = "";
  let since = Date.now();
  for (;;) {
    const all = await readVerdicts(api);
    const notFound: Verdict = { state: "pending", text: "not found" };
    const mine = new Map(ids.map((id) => [id, all.get(id) ?? notFound]));
    const states = [...mine.values()];
    const key = JSON.stringify([...mine]);
    if (key !== last) {
      last = key;
      since = Date.now();
    }
    if (states.every((v) => v.state === "ready")) return mine;
    const quiet = states.every((v) => v.state !== "pending") && Date.now() - since >= quietMs;
    if (quiet || Date.now() > deadline) return mine;
    await new Promise((r) => setTimeout(r, 200));
  }
};

/** The highest mod_revision under the registry prefix: what the gateway must have applied. */
const registryRevision = async (etcdUrl: string): Promise<number> => {
  const client = new Etcd3({ hosts: etcdUrl });
  try {
    const res = await client.getAll().prefix(REGISTRY_PREFIX).exec();
    return Math.max(0, ...res.kvs.map((kv) => Number(kv.mod_revision)));
  } finally {
    client.close();
  }
};

/** Resolves once the gateway's routing table includes every registry write so far; throws after `timeoutMs`. */
export const gatewayCaughtUp = async (
  etcdUrl: string,
  revision: (name: string) => Promise<number | undefined>,
  timeoutMs = 10_000,
): Promise<void> => {
  const want = await registryRevision(etcdUrl);
  await waitFor(
    `the gateway to load registry revision ${want}`,
    async () => ((await revision("switchboard_gateway_config_revision")) ?? 0) >= want || undefined,
    { timeoutMs },
  );
};
