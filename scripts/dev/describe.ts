// What dev mode says about one Switchboard object's status: Ready, or the failing condition's
// type, status, reason and message (the operator's Ready carries the first failing one's reason;
// docs/architecture.md, "The operator"), or that the operator has not reported on it yet.
import * as v from "valibot";

const condition = v.object({
  type: v.string(),
  status: v.string(),
  reason: v.optional(v.string(), ""),
  message: v.optional(v.string(), ""),
  observedGeneration: v.optional(v.number()),
});

/** The part of a VPN, Function or Subscription dev mode reads. */
export const statusObject = v.object({
  kind: v.string(),
  metadata: v.object({
    name: v.string(),
    namespace: v.optional(v.string()),
    generation: v.optional(v.number()),
  }),
  status: v.optional(v.object({ conditions: v.optional(v.array(condition)) })),
});
export type StatusObject = v.InferOutput<typeof statusObject>;

export type Verdict =
  | { readonly state: "ready"; readonly text: string }
  | { readonly state: "failing"; readonly text: string }
  | { readonly state: "pending"; readonly text: string };

/** The verdict on `obj`'s status for its current generation; never throws. */
export const describeStatus = (obj: StatusObject): Verdict => {
  const conditions = obj.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  const generation = obj.metadata.generation ?? 0;
  if (!ready || (ready.observedGeneration ?? 0) < generation)
    return { state: "pending", text: `not reconciled yet (no Ready condition for generation ${generation})` };
  if (ready.status === "True") return { state: "ready", text: "Ready" };
  const failing = conditions.find((c) => c.type !== "Ready" && c.status !== "True") ?? ready;
  const message = failing.message ? `: ${failing.message}` : "";
  return {
    state: "failing",
    text: `not Ready — ${failing.type}=${failing.status} ${failing.reason}${message}`,
  };
};
