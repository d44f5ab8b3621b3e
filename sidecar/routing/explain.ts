// The explain endpoint's answer for one subscription: would this event reach it, and why (not).
// Agrees with the ingress (sidecar/ingress/index.ts): filters first, then CEL, as MatchIndex.match;
// a route whose function has no instance still matches (delivery then fails with "no
// endpoints"), and the reason says so. A sync subscription with an HTTP route never receives
// published events (only raw requests on its route), and of the other sync subscriptions a
// single event is answered by the first that matches, so only that one says matched.

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
  const http = route.subscription.http;
  if (http !== undefined)
    return {
      ...where,
      matched: false,
      reason: `sync HTTP route ${http.method} ${http.path}: it receives raw HTTP requests on that route only, never published events`,
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

/**
 * `explained` with every matched sync subscription but `answering` (the one the ingress calls for
 * a single published event) turned into a non-match saying which one answers instead.
 */
export const onlyOneSync = (explained: Explanation[], answering: Route | undefined): Explanation[] =>
  explained.map((e) =>
    e.mode !== "sync" || !e.matched || e.route === answering?.key
      ? e
      : {
          ...e,
          matched: false,
          reason: `${e.reason}; but sync subscription ${answering?.namespace}/${answering?.name} answers this event (one sync subscription answers a published event: the first that matches)`,
        },
  );
