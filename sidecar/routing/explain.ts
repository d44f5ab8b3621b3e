// The explain endpoint's answer for one subscription: would this event reach it, and why (not).
// Agrees with MatchIndex.match: filters first, then CEL; a route whose function has no instance
// still matches (delivery then fails with "no endpoints"), and the reason says so.

import type { Route } from "../types.ts";
import { explainFilters } from "./filter/explain.ts";
import { type CelVars, celMessage, evaluateCel } from "./match/cel.ts";
import type { MatchEntry } from "./match/index.ts";

export interface Explanation {
  /** The subscription's registry key. */
  readonly route: string;
  readonly namespace: string;
  readonly name: string;
  readonly mode: "async" | "sync";
  readonly matched: boolean;
  /** e.g. "exact type = 'com.x' matched", "prefix source '/a' did not match '/b'", "cel returned false". */
  readonly reason: string;
}

const deliveryNote = (route: Route): string | undefined => {
  const { namespace, name } = route.subscription.function;
  if (route.fn === undefined || route.fn.instances.size === 0)
    return `function ${namespace}/${name} has no instance`;
  for (const instance of route.fn.instances.values()) {
    if (instance.endpoints.length > 0 || instance.externalUrl !== undefined) return undefined;
  }
  return `function ${namespace}/${name} has no ready endpoint`;
};

const celReason = (entry: MatchEntry, vars: () => CelVars): { matched: boolean; reason: string } => {
  if (entry.cel === undefined) return { matched: true, reason: "" };
  if (!entry.cel.ok) return { matched: false, reason: `cel did not compile: ${celMessage(entry.cel.error)}` };
  const verdict = evaluateCel(entry.cel, vars());
  if (verdict instanceof Error) return { matched: false, reason: `cel error: ${celMessage(verdict)}` };
  return { matched: verdict, reason: `cel returned ${verdict}` };
};

/** Why `entry` would (not) receive the event with these attributes; `vars` builds the CEL variables on demand. */
export const explainEntry = (
  entry: MatchEntry,
  attributes: Parameters<MatchEntry["accepts"]>[0],
  vars: () => CelVars,
): Explanation => {
  const { route } = entry;
  const where = {
    route: route.key,
    namespace: route.namespace,
    name: route.name,
    mode: route.subscription.mode,
  };
  const filters = explainFilters(route.subscription.filters, attributes);
  if (!filters.matched) return { ...where, matched: false, reason: filters.reason };
  const cel = celReason(entry, vars);
  const reasons = [filters.reason];
  if (cel.reason !== "") reasons.push(cel.reason);
  if (cel.matched) {
    const note = deliveryNote(route);
    if (note !== undefined) reasons.push(note);
  }
  return { ...where, matched: cel.matched, reason: cel.matched ? reasons.join("; ") : cel.reason };
};
