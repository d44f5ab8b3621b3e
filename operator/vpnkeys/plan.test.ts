import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { VPN_KEY_FILE, VPN_KEY_LABEL, VPN_KEY_SECRET } from "../../registry/seal/files.ts";
import { worldOf } from "../plan/world.ts";
import { namespace, vpn } from "../testing/plan-fixtures.ts";
import { planKeySecret } from "./plan.ts";

const content = (name: string): string => `key-of-${name}`;
const keySecret = (
  ns: string,
  forVpn: string | undefined,
  text: string,
  resourceVersion = "7",
): V1Secret => ({
  metadata: {
    name: VPN_KEY_SECRET,
    namespace: ns,
    resourceVersion,
    ...(forVpn === undefined ? {} : { labels: { [VPN_KEY_LABEL]: forVpn } }),
  },
  data: { [VPN_KEY_FILE]: Buffer.from(text).toString("base64") },
});
const shop = vpn("shop", { namespaces: { names: ["orders"] } });

test("a member namespace gets its VPN's key, labelled with the VPN; an up-to-date one is left alone", () => {
  const world = worldOf({ vpns: [shop], namespaces: [namespace("orders"), namespace("other")] });
  const plan = planKeySecret("orders", world, content);
  assert.equal(plan.action, "put");
  assert.ok(plan.action === "put");
  assert.equal(plan.vpn, "shop");
  assert.equal(plan.resourceVersion, undefined);
  assert.equal(plan.secret.metadata?.labels?.[VPN_KEY_LABEL], "shop");
  assert.equal(Buffer.from(plan.secret.data?.[VPN_KEY_FILE] ?? "", "base64").toString(), "key-of-shop");
  assert.deepEqual(planKeySecret("other", world, content), { action: "none" });
  const current = worldOf({
    vpns: [shop],
    namespaces: [namespace("orders")],
    secrets: [keySecret("orders", "shop", "key-of-shop")],
  });
  assert.deepEqual(planKeySecret("orders", current, content), { action: "none" });
});

test("a stale or other VPN's key is replaced, guarded by its resourceVersion", () => {
  for (const stale of [keySecret("orders", "shop", "old"), keySecret("orders", "bank", "key-of-bank")]) {
    const world = worldOf({ vpns: [shop], namespaces: [namespace("orders")], secrets: [stale] });
    const plan = planKeySecret("orders", world, content);
    assert.ok(plan.action === "put");
    assert.equal(plan.resourceVersion, "7");
  }
});

test("a namespace that left its VPN, or was deleted, loses the key; a Secret not written by Switchboard is never touched", () => {
  const left = worldOf({
    vpns: [vpn("shop", { namespaces: { names: ["elsewhere"] } })],
    namespaces: [namespace("orders")],
    secrets: [keySecret("orders", "shop", "key-of-shop", "9")],
  });
  assert.deepEqual(planKeySecret("orders", left, content), { action: "delete", resourceVersion: "9" });
  const gone = worldOf({ vpns: [shop], secrets: [keySecret("orders", "shop", "key-of-shop", "3")] });
  assert.deepEqual(planKeySecret("orders", gone, content), { action: "delete", resourceVersion: "3" });
  const foreign = worldOf({
    vpns: [shop],
    namespaces: [namespace("orders")],
    secrets: [keySecret("orders", undefined, "mine")],
  });
  const plan = planKeySecret("orders", foreign, content);
  assert.equal(plan.action, "conflict");
  assert.match(plan.action === "conflict" ? plan.message : "", /not written by Switchboard/);
});
