// Why a filter list accepts or refuses an event, in words, for the explain endpoint. Same
// semantics as ./index.ts (a property test checks that both always agree); not on the hot path.
import type { FilterRecord } from "../../../registry/types.ts";
import { type Attributes, attributeText } from "./index.ts";

export interface FilterVerdict {
  readonly matched: boolean;
  readonly reason: string;
}

type Dialect = "exact" | "prefix" | "suffix";

const TESTS: Record<Dialect, (actual: string, wanted: string) => boolean> = {
  exact: (actual, wanted) => actual === wanted,
  prefix: (actual, wanted) => actual.startsWith(wanted),
  suffix: (actual, wanted) => actual.endsWith(wanted),
};

const quote = (value: string): string => `'${value}'`;

const explainAttributes = (
  dialect: Dialect,
  map: Readonly<Record<string, string>>,
  attributes: Attributes,
): FilterVerdict => {
  const reasons: string[] = [];
  for (const [name, wanted] of Object.entries(map)) {
    const head =
      dialect === "exact" ? `exact ${name} = ${quote(wanted)}` : `${dialect} ${name} ${quote(wanted)}`;
    const actual = attributeText(attributes, name);
    if (actual === undefined) return { matched: false, reason: `${head}: the event has no ${name}` };
    if (!TESTS[dialect](actual, wanted)) {
      return { matched: false, reason: `${head} did not match ${quote(actual)}` };
    }
    reasons.push(`${head} matched`);
  }
  return { matched: true, reason: reasons.join(", ") };
};

const explainAny = (filters: readonly FilterRecord[], attributes: Attributes): FilterVerdict => {
  const misses: string[] = [];
  for (const filter of filters) {
    const verdict = explainFilter(filter, attributes);
    if (verdict.matched) return { matched: true, reason: `any: ${verdict.reason}` };
    misses.push(verdict.reason);
  }
  return { matched: false, reason: `any: none matched (${misses.join("; ")})` };
};

/** The verdict of one filter expression (several dialects in one object are AND-ed, like ./filter.ts). */
export const explainFilter = (filter: FilterRecord, attributes: Attributes): FilterVerdict => {
  const parts: FilterVerdict[] = [];
  for (const dialect of ["exact", "prefix", "suffix"] as const) {
    const map = filter[dialect];
    if (map !== undefined) parts.push(explainAttributes(dialect, map, attributes));
  }
  if (filter.all !== undefined) {
    const inner = explainFilters(filter.all, attributes);
    parts.push({
      matched: inner.matched,
      reason: inner.matched ? `all(${inner.reason})` : `all: ${inner.reason}`,
    });
  }
  if (filter.any !== undefined) parts.push(explainAny(filter.any, attributes));
  if (filter.not !== undefined) {
    const inner = explainFilter(filter.not, attributes);
    parts.push({ matched: !inner.matched, reason: `not(${inner.reason})` });
  }
  return combine(parts);
};

const combine = (parts: readonly FilterVerdict[]): FilterVerdict => {
  const failed = parts.find((part) => !part.matched);
  if (failed !== undefined) return failed;
  if (parts.length === 0) return { matched: true, reason: "no filters" };
  return { matched: true, reason: parts.map((part) => part.reason).join("; ") };
};

/** The verdict of a subscription's filter list (AND-ed; empty matches every event). */
export const explainFilters = (filters: readonly FilterRecord[], attributes: Attributes): FilterVerdict =>
  combine(filters.map((filter) => explainFilter(filter, attributes)));
