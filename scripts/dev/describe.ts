// What dev mode says about one Switchboard object's status: Ready, or the failing condition's
// type, status, reason and message (the operator's Ready carries the first failing one's reason;
// docs/architecture.md, "The operator"), or that the operator has not reported on it yet.
import { z } from "zod";

const condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().default(""),
  message: z.string().default(""),
  observedGeneration: z.number().optional(),
});

/** The part of a VPN, Function or Subscription dev mode reads. */
export const statusObject = z.object({
  kind: z.string(),
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    generation: z.number().optional(),
  }),
  status: z.object({ conditions: z.array(condition).optional() }).optional(),
});
export type StatusObject = z.infer<typeof statusObject>;

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
