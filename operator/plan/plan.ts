// What a plan is: the registry record an object should have, and the conditions to report.
import type { Owner, RegistryRecord } from "../../registry/types.ts";
import type { ConditionInput } from "./conditions.ts";

export interface Plan<R extends RegistryRecord, S> {
  /** The record to write; undefined removes the object's records. */
  record: R | undefined;
  /** Conditions to report, Ready last; Ready=True assumes the record is then written. */
  conditions: ConditionInput[];
  /** Kind-specific status fields. */
  status: S;
  /**
   * The spec itself is invalid (e.g. a CEL expression that does not compile): leave the record an
   * earlier, valid generation wrote in place, so its route keeps serving until the spec is fixed.
   */
  keepPrevious?: boolean;
}

/** The owner block of a record reconciled from `obj` in `cluster`. */
export const ownerOf = (
  obj: { metadata?: { uid?: string; generation?: number; namespace?: string; name?: string } },
  cluster: string,
): Owner => ({
  cluster,
  uid: obj.metadata?.uid ?? "",
  generation: obj.metadata?.generation ?? 0,
  ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
  name: obj.metadata?.name ?? "",
});

/** The Ready condition summarising `conditions`: the first False one's reason, or True with `readyReason`. */
export const readyFrom = (
  conditions: readonly ConditionInput[],
  readyReason: string,
  readyMessage: string,
): ConditionInput => {
  const failing = conditions.find((c) => c.status !== "True");
  return failing
    ? { type: "Ready", status: "False", reason: failing.reason, message: failing.message }
    : { type: "Ready", status: "True", reason: readyReason, message: readyMessage };
};
