import assert from "node:assert/strict";
import { test } from "node:test";
import { fn, secret, sub, vpn } from "../testing/plan-fixtures.ts";
import { afterFunction, afterSecret, afterService, everything } from "./dependents.ts";
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
