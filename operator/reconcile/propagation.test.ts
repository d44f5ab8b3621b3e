import assert from "node:assert/strict";
import { test } from "node:test";
import type { GatewayPresence } from "../../registry/heartbeat/presence.ts";
import { decodePresence, encodePresence } from "../../registry/heartbeat/presence.ts";
import { propagatedCondition } from "./propagation.ts";

const gw = (id: string, appliedRevision: number, namespace?: string): GatewayPresence => ({
  id,
  cluster: "east",
  version: "1.0.0",
  ...(namespace === undefined ? {} : { namespace }),
  appliedRevision,
  appliedAt: "2026-11-30T01:00:00.000Z",
  startedAt: "2026-11-30T00:00:00.000Z",
});
const shopOnly = (ns: string): boolean => ns === "shop";

test("shared gateways route every VPN; a sidecar only the VPN holding its namespace", () => {
  const r = propagatedCondition(
    [gw("shared", 10), gw("shop-pod", 10, "shop"), gw("bank-pod", 3, "bank")],
    "shop",
    10,
    shopOnly,
  );
  assert.deepEqual(r, {
    condition: { type: "Propagated", status: "True", reason: "Propagated", message: "2/2 gateways" },
    done: true,
  });
});

test("gateways behind are named, most behind first, three at most, with when they applied", () => {
  const r = propagatedCondition(
    [gw("a", 12), gw("b", 9), gw("c", 7), gw("d", 8), gw("e", 11)],
    "shop",
    12,
    shopOnly,
  );
  assert.equal(r.done, false);
  assert.equal(r.condition.status, "False");
  assert.equal(r.condition.reason, "GatewaysBehind");
  assert.equal(
    r.condition.message,
    "1/5 gateways; record at revision 12 not yet applied by c (applied revision 7 at 2026-11-30T01:00:00.000Z), d (applied revision 8 at 2026-11-30T01:00:00.000Z), b (applied revision 9 at 2026-11-30T01:00:00.000Z) and 1 more",
  );
});

test("no gateway routing the VPN: propagated, saying so", () => {
  const r = propagatedCondition([gw("bank-pod", 1, "bank")], "shop", 12, shopOnly);
  assert.deepEqual(r.condition, {
    type: "Propagated",
    status: "True",
    reason: "NoGateways",
    message: "no live gateway routes VPN shop",
  });
});

test("a presence record round-trips, and one naming another id or without a revision is refused", () => {
  const p = gw("a", 5, "shop");
  assert.deepEqual(decodePresence(encodePresence(p), "a"), p);
  assert.throws(() => decodePresence(encodePresence(p), "b"), /id "a" is not the key's "b"/);
  assert.throws(() => decodePresence('{"id":"a","appliedRevision":-1}', "a"), /appliedRevision/);
  assert.throws(() => decodePresence("nope", "a"), /not JSON/);
});
