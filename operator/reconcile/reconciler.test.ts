// The reconciler's status writing, with in-memory stand-ins for its two writers (the real ones
// run against etcd and the API server in operator.e2e.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import type { SwitchboardFunction } from "../../crds/types.ts";
import type { RegistryWriter } from "../../registry/writer/index.ts";
import type { KubeWriter } from "../kube/writes.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { planFunction } from "../plan/function.ts";
import { worldOf } from "../plan/world.ts";
import { fn, service, slice, vpn } from "../testing/plan-fixtures.ts";
import { FINALIZER, keptConditions, makeReconciler } from "./reconciler.ts";

const setup = (obj: SwitchboardFunction, ips: string[]) => {
  const patches: object[] = [];
  const events: string[] = [];
  const kube: KubeWriter = {
    patchStatus: async (_kind, _obj, status) => {
      patches.push(status);
    },
    setFinalizers: async () => {},
    event: async (_kind, _obj, type, reason) => {
      events.push(`${type} ${reason}`);
    },
  };
  const writer: RegistryWriter = {
    sync: async () => "unchanged",
    objects: () => [],
    recorded: () => undefined,
    revision: () => undefined,
    observe: async () => undefined,
    audit: async () => [],
    close: () => {},
  };
  const world = worldOf({
    vpns: [vpn("shop", { namespaces: { names: ["shop"] } })],
    services: [service("shop", "orders", [{ name: "http", port: 80 }])],
    endpointSlices: [
      slice(
        "shop",
        "orders",
        { name: "http", port: 8080 },
        ips.map((ip) => ({ ip })),
      ),
    ],
  });
  const reconcile = makeReconciler({
    handler: {
      kind: "Function",
      plural: "functions",
      namespaced: true,
      recordKind: "function",
      get: () => obj,
      plan: planFunction,
    },
    world,
    writer,
    kube,
    cluster: "east",
    metrics: createOperatorMetrics(new Registry()),
    log: silentLogger(),
  });
  return { reconcile, patches, events };
};

const orders = (): SwitchboardFunction => {
  const f = fn("shop", "orders", { target: { service: { name: "orders", port: 80 } } });
  f.metadata.finalizers = [FINALIZER];
  return f;
};

test("a status that already holds what the plan says is not patched again, whatever the key order", async () => {
  const f = orders();
  const first = setup(f, ["10.213.0.2"]);
  await first.reconcile("shop/orders");
  const [written] = first.patches as { conditions: Record<string, unknown>[] }[];
  assert.ok(written);
  // The API server answers with its own key order.
  const reordered = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).reverse());
  f.status = reordered({ ...written, conditions: written.conditions.map(reordered) });
  const again = setup(f, ["10.213.0.2"]);
  await again.reconcile("shop/orders");
  assert.equal(again.patches.length, 0);
});

test("a change to a kind-specific status field alone is written", async () => {
  const f = orders();
  const first = setup(f, ["10.213.0.2", "10.213.0.3"]);
  await first.reconcile("shop/orders");
  const [written] = first.patches as { endpoints: number; conditions: { message: string }[] }[];
  assert.ok(written);
  // Same conditions, a different endpoint count recorded: the count must still be corrected.
  f.status = { ...written, endpoints: 7 } as NonNullable<SwitchboardFunction["status"]>;
  const again = setup(f, ["10.213.0.2", "10.213.0.3"]);
  await again.reconcile("shop/orders");
  assert.equal((again.patches[0] as { endpoints?: number } | undefined)?.endpoints, 2);
});

test("an invalid generation keeps the previous record serving, and Ready says which generation serves", () => {
  const conditions = [
    {
      type: "FilterValid",
      status: "False" as const,
      reason: "CELCompileError",
      message: "cel: Unexpected token",
    },
    { type: "Ready", status: "False" as const, reason: "CELCompileError", message: "cel: Unexpected token" },
  ];
  const obj = { metadata: { generation: 4 } };
  const previous = {
    schema: 1 as const,
    kind: "subscription" as const,
    vpn: "shop",
    owner: { cluster: "c1", uid: "u", generation: 3, namespace: "shop", name: "s" },
    spec: {
      function: { namespace: "shop", name: "f" },
      mode: "async" as const,
      filters: [],
      delivery: { retry: 0, backoffPolicy: "exponential" as const, backoffDelayMs: 1, maxBackoffMs: 1 },
    },
  };
  assert.deepEqual(keptConditions(conditions, previous, obj).at(-1), {
    type: "Ready",
    status: "False",
    reason: "PreviousGenerationServing",
    message:
      "generation 4 is not applied (FilterValid: cel: Unexpected token); generation 3 is still serving",
  });
  assert.deepEqual(keptConditions(conditions, undefined, obj).at(-1), {
    type: "Ready",
    status: "False",
    reason: "CELCompileError",
    message:
      "generation 4 is not applied (FilterValid: cel: Unexpected token); nothing is routed until it is fixed",
  });
});

test("Events record failures and the recoveries from them, not an object becoming Ready the first time", async () => {
  const f = orders();
  const fresh = setup(f, ["10.213.0.2"]);
  await fresh.reconcile("shop/orders");
  assert.deepEqual(fresh.events, [], "Ready the first time: the condition says it");

  const failing = setup(f, []);
  await failing.reconcile("shop/orders");
  const [failed] = failing.patches as NonNullable<SwitchboardFunction["status"]>[];
  const ready = failed?.conditions?.find((c) => c.type === "Ready");
  assert.equal(ready?.status, "False");
  assert.deepEqual(failing.events, [`Warning ${ready?.reason}`]);

  assert.ok(failed);
  f.status = failed;
  const recovering = setup(f, ["10.213.0.2"]);
  await recovering.reconcile("shop/orders");
  assert.deepEqual(recovering.events, ["Normal Registered"], "Ready again after a failure");
});
