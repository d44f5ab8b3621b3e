// The Subscription check over AdmissionReview (POST /validate/subscription): refuses at
// `kubectl apply` what the CRD schema cannot judge and the gateways would not route — a CEL
// expression that does not compile or does not yield bool — with the compiler's message and where
// in the expression it is. The operator's planner applies the same check (plan/subscription.ts:
// FilterValid=False, the previous generation keeps serving), so the webhook is a convenience, not
// the only guard, and the chart registers it with failurePolicy Ignore. Pure.
import * as v from "valibot";
import { checkCel } from "../../common/cel.ts";
import {
  type AdmissionReviewResponse,
  admissionRequest,
  allow,
  BadReview,
  deny,
  issue,
} from "./admission.ts";

export type SubscriptionOutcome = "allowed" | "refused";

export interface SubscriptionReviewed {
  readonly review: AdmissionReviewResponse;
  readonly outcome: SubscriptionOutcome;
  /** namespace/name, for logs. */
  readonly subscription: string;
  readonly detail: string | undefined;
}

const subscriptionSchema = v.object({
  metadata: v.object({ name: v.optional(v.string()), namespace: v.optional(v.string()) }),
  spec: v.object({ cel: v.optional(v.string()) }),
});

/** The problems the gateways would find in a Subscription's spec, one line each (empty: none). */
export const subscriptionProblems = (spec: { cel?: string | undefined }): string[] => {
  if (spec.cel === undefined) return [];
  const cel = checkCel(spec.cel);
  return cel.ok ? [] : [`spec.cel: ${cel.message}`];
};

/** Answers one AdmissionReview for a Subscription. Throws BadReview on a body that is not one. */
export const reviewSubscription = (body: unknown): SubscriptionReviewed => {
  const { uid, resource, operation, object, namespace } = admissionRequest(body);
  const isWrite =
    resource.group === "switchboard.dev" &&
    resource.resource === "subscriptions" &&
    (operation === "CREATE" || operation === "UPDATE");
  if (!isWrite)
    return {
      review: allow(uid),
      outcome: "allowed",
      subscription: "",
      detail: `not a Subscription CREATE or UPDATE (${resource.resource} ${operation})`,
    };
  const parsed = v.safeParse(subscriptionSchema, object);
  if (!parsed.success) throw new BadReview(`request.object is not a Subscription: ${issue(parsed.issues)}`);
  const name = `${parsed.output.metadata.namespace ?? namespace ?? ""}/${parsed.output.metadata.name ?? ""}`;
  const problems = subscriptionProblems(parsed.output.spec);
  if (problems.length === 0)
    return { review: allow(uid), outcome: "allowed", subscription: name, detail: undefined };
  const message = `Subscription ${name} refused: ${problems.join("; ")}`;
  return { review: deny(uid, message), outcome: "refused", subscription: name, detail: message };
};
