import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Namespace } from "@kubernetes/client-node";
import type { Subscription, SwitchboardFunction, Vpn } from "../../crds/types.ts";
import { fn, secret, sub, vpn } from "../testing/plan-fixtures.ts";
import {
  afterFunction,
  afterSecret,
  afterService,
  everything,
  namespaceEvents,
  specEvents,
  subscriptionIndex,
} from "./dependents.ts";
import { worldOf } from "./world.ts";

const world = worldOf({
  vpns: [
    vpn("shop", {
      publishers: [{ name: "ci", tokenSecretRef: { namespace: "shop", name: "tok", key: "token" } }],
    }),
    vpn("other"),
  ],
  functions: [
    fn("shop", "orders", { target: { service: { name: "orders-svc", port: 80 } } }),
    fn("shop", "audit", {
      headers: [{ name: "Authorization", valueFrom: { secretKeyRef: { name: "tok", key: "h" } } }],
    }),
    fn("ops", "orders", { target: { service: { name: "orders-svc", port: 80 } } }),
  ],
  subscriptions: [
    sub("shop", "a", { function: "orders" }),
    sub("shop", "b", { function: "other", delivery: { deadLetter: { function: "shop/orders" } } }),
    sub("ops", "c", { function: "shop/orders" }),
    sub("ops", "d", { function: "orders" }),
  ],
});

test("a Function change reaches the Subscriptions delivering or dead-lettering to it, across namespaces", () => {
  const [orders] = world.functions();
  assert.ok(orders);
  assert.deepEqual(afterFunction(orders, world), {
    vpns: [],
    functions: ["shop/orders"],
    subscriptions: ["shop/a", "shop/b", "ops/c"],
  });
});

test("the Subscription index answers as reading every Subscription does, through adds, a retarget and a delete", () => {
  const [orders] = world.functions();
  assert.ok(orders);
  const index = subscriptionIndex();
  for (const s of world.subscriptions()) index.update(s, "add");
  assert.deepEqual(afterFunction(orders, world, index), afterFunction(orders, world));
  // shop/a moves to another function; ops/d (same name in its own namespace) starts dead-lettering to shop/orders.
  const moved = sub("shop", "a", { function: "other" });
  const dl = sub("ops", "d", { function: "orders", delivery: { deadLetter: { function: "shop/orders" } } });
  index.update(moved, "update");
  index.update(dl, "update");
  const later = worldOf({
    functions: world.functions() as SwitchboardFunction[],
    subscriptions: [
      moved,
      world.subscriptions()[1] as Subscription,
      world.subscriptions()[2] as Subscription,
      dl,
    ],
  });
  assert.deepEqual(afterFunction(orders, later, index).subscriptions.sort(), ["ops/c", "ops/d", "shop/b"]);
  assert.deepEqual(afterFunction(orders, later).subscriptions.sort(), ["ops/c", "ops/d", "shop/b"]);
  index.update(dl, "delete");
  assert.deepEqual(afterFunction(orders, later, index).subscriptions.sort(), ["ops/c", "shop/b"]);
  assert.deepEqual(index.naming("ops", "orders"), [], "a deleted subscription leaves nothing behind");
});

test("a Service change reaches only the Functions targeting it in its namespace", () => {
  assert.deepEqual(afterService("shop", "orders-svc", world).functions, ["shop/orders"]);
});

test("a Secret change reaches the VPNs and Functions reading it", () => {
  assert.deepEqual(afterSecret(secret("shop", "tok", {}), world), {
    vpns: ["shop"],
    functions: ["shop/audit"],
    subscriptions: [],
  });
  assert.deepEqual(afterSecret(secret("ops", "tok", {}), world), {
    vpns: [],
    functions: [],
    subscriptions: [],
  });
});

test("a VPN or namespace change reaches everything", () => {
  const all = everything(world);
  assert.deepEqual([all.vpns.length, all.functions.length, all.subscriptions.length], [2, 3, 4]);
});

test("VPN and Function events: add, delete, a new generation or a deletion count; a status-only update does not", () => {
  const changed = specEvents();
  const at = (generation: number, extra: Partial<Vpn["metadata"]> = {}): Vpn => {
    const v = vpn("shop", { namespaces: { names: ["shop"] } });
    return { ...v, metadata: { ...v.metadata, generation, ...extra } };
  };
  assert.equal(changed(at(1), "add"), true);
  assert.equal(changed(at(1), "update"), false, "status patch: same generation");
  // The reconciler adds its finalizer and writes the records on the pass that update queues.
  assert.equal(
    changed(at(1, { finalizers: ["switchboard.dev/registry"] }), "update"),
    true,
    "finalizer added",
  );
  assert.equal(changed(at(1, { finalizers: ["switchboard.dev/registry"] }), "update"), false);
  assert.equal(changed(at(2), "update"), true, "spec changed");
  assert.equal(changed(at(2), "update"), false);
  assert.equal(
    changed(at(3, { deletionTimestamp: "2026-01-01T00:00:00Z" }), "update"),
    true,
    "being deleted",
  );
  assert.equal(changed(at(3, { deletionTimestamp: "2026-01-01T00:00:00Z" }), "delete"), true);
  // After a delete, the same name is new again, whatever its generation.
  assert.equal(changed(at(1), "update"), true);
  assert.equal(changed(at(1), "add"), true, "an add always counts (an informer's re-list)");
});

test("Function events are told apart by namespace and name", () => {
  const changed = specEvents();
  const at = (namespace: string, generation: number) => {
    const f = fn(namespace, "f");
    return { ...f, metadata: { ...f.metadata, generation } };
  };
  assert.equal(changed(at("a", 1), "add"), true);
  assert.equal(changed(at("b", 1), "add"), true);
  assert.equal(changed(at("a", 1), "update"), false);
  assert.equal(changed(at("b", 2), "update"), true);
  assert.equal(changed(at("a", 1), "update"), false);
});

test("Namespace events: add, delete and a change of labels count; annotations and status do not", () => {
  const changed = namespaceEvents();
  const ns = (labels: Record<string, string>, extra: Partial<V1Namespace> = {}): V1Namespace => ({
    metadata: { name: "shop", labels },
    ...extra,
  });
  assert.equal(changed(ns({ team: "a", tier: "x" }), "add"), true);
  assert.equal(changed(ns({ tier: "x", team: "a" }), "update"), false, "the same labels, in another order");
  assert.equal(
    changed(
      { metadata: { name: "shop", labels: { team: "a", tier: "x" }, annotations: { note: "y" } } },
      "update",
    ),
    false,
    "an annotation",
  );
  assert.equal(changed(ns({ team: "a", tier: "x" }, { status: { phase: "Terminating" } }), "update"), false);
  assert.equal(changed(ns({ team: "b", tier: "x" }), "update"), true, "a label's value");
  assert.equal(changed(ns({ team: "b" }), "update"), true, "a label removed");
  assert.equal(changed(ns({ team: "b" }), "delete"), true);
  assert.equal(changed(ns({ team: "b" }), "update"), true, "after a delete the name is new again");
  assert.equal(changed(ns({ team: "b" }), "add"), true, "an add always counts (an informer's re-list)");
  assert.equal(changed({ metadata: { name: "other", labels: { team: "b" } } }, "add"), true);
});
