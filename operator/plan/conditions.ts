// metav1.Condition bookkeeping: a condition's lastTransitionTime changes only when its status does.
import type { Condition } from "../../crds/types.ts";

export interface ConditionInput {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** The conditions to write: `wanted` in order, keeping each previous lastTransitionTime whose status is unchanged. */
export const mergeConditions = (
  previous: readonly Condition[] | undefined,
  wanted: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] =>
  wanted.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime =
      before && before.status === c.status
        ? before.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, "Z");
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });

/** The condition of `type`, if present. */
export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/** Shorthands for building ConditionInputs. */
export const isTrue = (type: string, reason: string, message = ""): ConditionInput => ({
  type,
  status: "True",
  reason,
  message,
});
export const isFalse = (type: string, reason: string, message: string): ConditionInput => ({
  type,
  status: "False",
  reason,
  message,
});
