import assert from "node:assert/strict";
import { test } from "node:test";
import type { GatewayPresence } from "../../registry/heartbeat/presence.ts";
import { decodePresence, encodePresence } from "../../registry/heartbeat/presence.ts";
import { behindSignature, behindSignatures, propagatedCondition } from "./propagation.ts";

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

test("a flush's shared signatures say what each object's own would: same count and gateways behind, same signature", () => {
  // Gateways with repeated and spread applied revisions; every revision from below the lowest to
  // above the highest, over several random fleets.
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let fleet = 0; fleet < 20; fleet++) {
    const routing = Array.from({ length: 1 + random(40) }, (_, i) =>
      gw(`gw-${random(1000)}-${i}`, 5 + random(12)),
    );
    const shared = behindSignatures(routing);
    const seen = new Set<string>();
    for (let revision = 0; revision <= 20; revision++) {
      assert.equal(
        shared(revision),
        behindSignature(routing, revision),
        `fleet ${fleet}, revision ${revision}`,
      );
      seen.add(shared(revision));
    }
    const distinctApplied = new Set(routing.map((g) => g.appliedRevision)).size;
    assert.equal(seen.size, distinctApplied + 1, "one signature per distinct set of gateways behind");
  }
  // Another gateway behind, or one more routing gateway, is another signature.
  const two = [gw("a", 5), gw("b", 9)];
  assert.notEqual(behindSignature(two, 7), behindSignature([gw("a", 9), gw("b", 5)], 7));
  assert.notEqual(behindSignature(two, 7), behindSignature([...two, gw("c", 9)], 7));
  assert.ok(
    behindSignature(
      Array.from({ length: 300 }, (_, i) => gw(`gateway-${i}-abcdefghijklmnop`, 1)),
      2,
    ).length < 64,
  );
});
