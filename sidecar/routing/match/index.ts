// The per-VPN, per-mode subscription index. Each subscription is filed under every pin of its
// filters (../filter/pins.ts): for each pinned attribute (`type` first), a Map from exact value to
// a bucket and a radix tree of prefix buckets; subscriptions without a pin go to a scan list. An
// event visits, per indexed attribute, the bucket of its value and the bucket of every stored
// prefix of it, plus the scan list: the cost grows with the candidates, not with all
// subscriptions. A bucket holds two lists:
//   direct   routes whose filters are exactly "one of the pins" and have no CEL: a hit is a match,
//            and they are filed so that no event reaches one of them twice (a single pin, or
//            only exact pins on one attribute); the common case costs a pointer copy;
//   checked  everything else: each is visited once per event (a per-call stamp), then its
//            whole filter runs, then its CEL program.
// Results come exact buckets first, then prefixes (shortest first), then the scan list; within
// a bucket in key order. The order is deterministic but carries no meaning.

import type { CloudEvent, Route } from "../../types.ts";
import { type AttributePredicate, attributeText } from "../filter/index.ts";
import { type PinPlan, pinPlan } from "../filter/pins.ts";
import { type CelProgram, type CelVars, celVars, evaluateCel } from "./cel.ts";
import { type PrefixTree, prefixTree } from "./prefix.ts";

/** One subscription as the matcher sees it: its compiled filter and CEL program. */
export interface MatchEntry {
  readonly route: Route;
  readonly accepts: AttributePredicate;
  readonly cel: CelProgram | undefined;
  /** The last match call that visited this entry (deduplication without allocating). */
  stamp: number;
}

export interface MatchIndexStats {
  /** Filed by exact pins only, by pins including a prefix, in the scan list. */
  readonly exact: number;
  readonly prefix: number;
  readonly scan: number;
}

export interface MatchIndex {
  /** The routes whose filters and CEL accept `event`; reports CEL errors after matching. */
  match(event: CloudEvent, onCelError?: (route: string, error: Error) => void): Route[];
  readonly stats: MatchIndexStats;
}

interface Bucket {
  readonly direct: Route[];
  readonly checked: MatchEntry[];
}

interface AttributeIndex {
  readonly attribute: string;
  readonly exact: Map<string, Bucket>;
  readonly prefix: PrefixTree<Bucket>;
  hasPrefixes: boolean;
}

const bucket = (): Bucket => ({ direct: [], checked: [] });

/** Whether a hit on any pin of `entry` is a match that no other pin can repeat for the same event. */
const isDirect = (entry: MatchEntry, { pins, sufficient }: PinPlan): boolean => {
  if (!sufficient || entry.cel !== undefined) return false;
  const [first] = pins;
  return pins.length === 1 || pins.every((pin) => pin.kind === "exact" && pin.attribute === first?.attribute);
};

const fileEntries = (entries: readonly MatchEntry[]) => {
  const byAttribute = new Map<string, AttributeIndex>();
  const scan: MatchEntry[] = [];
  let exact = 0;
  for (const entry of entries) {
    const plan = pinPlan(entry.route.subscription.filters);
    if (plan === undefined) {
      scan.push(entry);
      continue;
    }
    if (plan.pins.every((pin) => pin.kind === "exact")) exact++;
    const direct = isDirect(entry, plan);
    for (const { attribute, kind, value } of plan.pins) {
      let index = byAttribute.get(attribute);
      if (index === undefined) {
        index = { attribute, exact: new Map(), prefix: prefixTree(), hasPrefixes: false };
        byAttribute.set(attribute, index);
      }
      index.hasPrefixes ||= kind === "prefix";
      let target = kind === "prefix" ? index.prefix.bucket(value, bucket) : index.exact.get(value);
      if (target === undefined) {
        target = bucket();
        index.exact.set(value, target);
      }
      if (direct) target.direct.push(entry.route);
      else target.checked.push(entry);
    }
  }
  const indexes = [...byAttribute.values()].sort((a, b) =>
    a.attribute === "type" ? -1 : b.attribute === "type" ? 1 : a.attribute < b.attribute ? -1 : 1,
  );
  return { indexes, scan, stats: { exact, prefix: entries.length - exact - scan.length, scan: scan.length } };
};

/**
 * Indexes `entries` (of one VPN and one mode, in key order); those whose CEL failed to compile
 * never match and are left out. Not reentrant: onCelError runs after matching and must not call back.
 */
export const matchIndex = (entries: readonly MatchEntry[]): MatchIndex => {
  const { indexes, scan, stats } = fileEntries(entries.filter((entry) => entry.cel?.ok !== false));
  const scanBucket: Bucket = { direct: [], checked: scan };
  const buckets: Bucket[] = [];
  let stamp = 0;

  const gather = (event: CloudEvent): void => {
    for (const index of indexes) {
      const value = attributeText(event.attributes, index.attribute);
      if (value === undefined) continue;
      const found = index.exact.get(value);
      if (found !== undefined) buckets.push(found);
      if (index.hasPrefixes) index.prefix.collect(value, buckets);
    }
    if (scan.length > 0) buckets.push(scanBucket);
  };

  return {
    stats,
    match(event, onCelError) {
      buckets.length = 0;
      gather(event);
      stamp++;
      const routes: Route[] = [];
      let vars: CelVars | undefined;
      let errors: [string, Error][] | undefined;
      for (const { direct, checked } of buckets) {
        for (const route of direct) routes.push(route);
        for (const entry of checked) {
          if (entry.stamp === stamp) continue;
          entry.stamp = stamp;
          if (!entry.accepts(event.attributes)) continue;
          if (entry.cel !== undefined) {
            vars ??= celVars(event);
            const verdict = evaluateCel(entry.cel, vars);
            if (verdict instanceof Error) {
              errors ??= [];
              errors.push([entry.route.key, verdict]);
            }
            if (verdict !== true) continue;
          }
          routes.push(entry.route);
        }
      }
      buckets.length = 0;
      if (errors !== undefined && onCelError !== undefined)
        for (const [key, error] of errors) onCelError(key, error);
      return routes;
    },
  };
};
