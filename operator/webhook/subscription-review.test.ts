import assert from "node:assert/strict";
import { test } from "node:test";
import { admissionReview } from "../testing/admission-fixtures.ts";
import { BadReview } from "./admission.ts";
import { reviewSubscription } from "./subscription-review.ts";

const subscriptionRequest = {
  kind: { group: "switchboard.dev", version: "v1alpha1", kind: "Subscription" },
  resource: { group: "switchboard.dev", version: "v1alpha1", resource: "subscriptions" },
  requestKind: { group: "switchboard.dev", version: "v1alpha1", kind: "Subscription" },
  namespace: "shop",
  name: "orders",
  uid: "s1",
};
const subscription = (cel?: string) => ({
  apiVersion: "switchboard.dev/v1alpha1",
  kind: "Subscription",
  metadata: { name: "orders", namespace: "shop" },
  spec: { vpn: "shop", function: "orders", mode: "async", ...(cel === undefined ? {} : { cel }) },
});

test("a CEL expression that does not compile is refused with the compiler's message and its position", () => {
  const out = reviewSubscription(admissionReview(subscription("data.amount >> 3"), subscriptionRequest));
  assert.equal(out.outcome, "refused");
  assert.equal(out.review.response.allowed, false);
  assert.equal(
    out.review.response.status?.message,
    "Subscription shop/orders refused: spec.cel: Unexpected token: GT at line 1, column 14",
  );
  const typed = reviewSubscription(admissionReview(subscription("1 + 2"), subscriptionRequest));
  assert.match(typed.review.response.status?.message ?? "", /yields int; a filter must yield bool/);
});

test("valid CEL, no CEL, and requests that are not Subscription writes are allowed; a body that is not one is a BadReview", () => {
  for (const object of [subscription("data.amount > 3"), subscription()])
    assert.equal(
      reviewSubscription(admissionReview(object, subscriptionRequest)).review.response.allowed,
      true,
    );
  const deleting = reviewSubscription(
    admissionReview(subscription("broken >"), { ...subscriptionRequest, operation: "DELETE" }),
  );
  assert.equal(deleting.outcome, "allowed");
  assert.throws(() => reviewSubscription({ kind: "Nope" }), BadReview);
  assert.throws(
    () => reviewSubscription(admissionReview({ spec: { cel: 3 } }, subscriptionRequest)),
    BadReview,
  );
});
