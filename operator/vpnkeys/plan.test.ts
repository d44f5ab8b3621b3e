import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { VPN_KEY_FILE, VPN_KEY_LABEL, VPN_KEY_SECRET } from "../../registry/seal/files.ts";
import { membership } from "../plan/membership.ts";
import { worldOf } from "../plan/world.ts";
import { namespace, vpn } from "../testing/plan-fixtures.ts";
import { holderOf, planKeySecret } from "./plan.ts";

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

test("the VPN a namespace belongs to is the one whose membership lists it, read from the kept holders", () => {
  // The definition: the first VPN, in list order, whose membership() has the namespace.
  const byMembership = (ns: string, world: ReturnType<typeof worldOf>): string | undefined =>
    world.vpns().find((v) => membership(v, world).members.includes(ns))?.metadata.name;
  const T1 = "2026-01-01T00:00:00Z";
  const T2 = "2026-01-02T00:00:00Z";
  const namespaces = [
    namespace("a", { team: "red" }),
    namespace("b", { team: "blue" }),
    namespace("c", { team: "red", tier: "x" }),
    namespace("d"),
  ];
  const worlds = [
    [
      vpn("older", { namespaces: { selector: { matchLabels: { team: "red" } } } }, false, T1),
      vpn("newer", { namespaces: { names: ["a", "b"] } }, false, T2),
    ],
    [
      vpn("newer", { namespaces: { names: ["a", "b"] } }, false, T2),
      vpn("older", { namespaces: { selector: { matchLabels: { team: "red" } } } }, false, T1),
    ],
    // Being deleted: keeps what no live VPN holds, gives up what one does.
    [
      vpn("going", { namespaces: { names: ["a", "d"] } }, true, T1),
      vpn("staying", { namespaces: { names: ["a"] } }, false, T2),
    ],
    [
      vpn(
        "tier",
        { namespaces: { selector: { matchExpressions: [{ key: "tier", operator: "Exists" }] } } },
        false,
        T1,
      ),
    ],
    [],
  ];
  let compared = 0;
  for (const vpns of worlds) {
    const world = worldOf({ vpns, namespaces });
    for (const ns of ["a", "b", "c", "d", "missing"]) {
      assert.equal(
        holderOf(ns, world),
        byMembership(ns, world),
        `${ns} in ${vpns.map((v) => v.metadata.name).join(",")}`,
      );
      compared++;
    }
  }
  assert.equal(compared, 25);
  const deleting = worldOf({ vpns: worlds[2] ?? [], namespaces });
  assert.deepEqual([holderOf("a", deleting), holderOf("d", deleting)], ["staying", "going"]);
});
