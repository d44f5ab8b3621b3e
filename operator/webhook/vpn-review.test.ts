import assert from "node:assert/strict";
import { test } from "node:test";
import { worldOf } from "../plan/world.ts";
import { admissionReview } from "../testing/admission-fixtures.ts";
import { namespace, vpn } from "../testing/plan-fixtures.ts";
import { BadReview } from "./admission.ts";
import { reviewVpnClaims } from "./vpn-review.ts";

const holder = vpn("shop", { namespaces: { names: ["shop"] } }, false, "2026-01-01T00:00:00Z");
const world = worldOf({ vpns: [holder], namespaces: [namespace("shop"), namespace("free")] });

const vpnRequest = {
  kind: { group: "switchboard.dev", version: "v1alpha1", kind: "VPN" },
  resource: { group: "switchboard.dev", version: "v1alpha1", resource: "vpns" },
  requestKind: { group: "switchboard.dev", version: "v1alpha1", kind: "VPN" },
  namespace: undefined,
  name: "rival",
};
const review = (object: unknown, over: Record<string, unknown> = {}) =>
  admissionReview(object, { ...vpnRequest, uid: "b2c3", ...over });

const rival = (names: string[]) => ({
  apiVersion: "switchboard.dev/v1alpha1",
  kind: "VPN",
  metadata: { name: "rival", creationTimestamp: "2026-02-01T00:00:00Z", uid: "u" },
  spec: { namespaces: { names }, publishers: [] },
});

test("a VPN claiming a namespace another VPN holds is refused with 409, naming the namespace and the holder", () => {
  const out = reviewVpnClaims(review(rival(["free", "shop"])), world);
  assert.equal(out.outcome, "refused");
  assert.equal(out.review.response.allowed, false);
  assert.equal(out.review.response.uid, "b2c3");
  assert.deepEqual(out.review.response.status, {
    status: "Failure",
    code: 409,
    reason: "Conflict",
    message:
      "VPN rival refused: namespace shop is already held by VPN shop (a namespace belongs to one VPN; the holder must release it first)",
  });
});

test("free namespaces, an update keeping an existing claim, and other resources are allowed", () => {
  assert.equal(reviewVpnClaims(review(rival(["free"])), world).review.response.allowed, true);
  const update = review(rival(["shop", "free"]), { operation: "UPDATE", oldObject: rival(["shop"]) });
  assert.equal(reviewVpnClaims(update, world).outcome, "allowed", "the claim on shop is not new");
  const added = review(rival(["shop"]), { operation: "UPDATE", oldObject: rival(["free"]) });
  assert.equal(reviewVpnClaims(added, world).outcome, "refused");
  const del = review(null, { operation: "DELETE", oldObject: rival(["shop"]) });
  assert.equal(reviewVpnClaims(del, world).outcome, "allowed");
});

test("before the caches are synced the VPN is allowed with a warning (the planner's rule still holds)", () => {
  const out = reviewVpnClaims(review(rival(["shop"])), undefined);
  assert.equal(out.outcome, "unchecked");
  assert.equal(out.review.response.allowed, true);
  assert.match(out.review.response.warnings?.[0] ?? "", /namespace claims were not checked/);
});

test("a body that is not a review, or an object that is not a VPN, is BadReview", () => {
  assert.throws(() => reviewVpnClaims({ kind: "AdmissionReview" }, world), BadReview);
  assert.throws(
    () => reviewVpnClaims(review({ metadata: { name: "x" }, spec: {} }), world),
    /request\.object is not a VPN: spec\.namespaces/,
  );
});
