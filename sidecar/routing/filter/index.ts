// CloudEvents Subscriptions API 1.0 filter dialects, compiled once per routing-table build into
// closures over the event's attributes. Semantics:
//   exact  every listed attribute is present and equal to the value (case-sensitive)
//   prefix every listed attribute is present and starts with the value
//   suffix every listed attribute is present and ends with the value
//   all    every sub-filter matches; any: at least one does; not: the sub-filter does not
// A missing attribute never matches exact/prefix/suffix. Numbers and booleans compare by their
// canonical string form ("42", "true"). A list of filters is AND-ed; an empty list matches all.
// ./explain.ts states the same semantics with reasons; a property test keeps them equal.
import type { FilterRecord } from "../../../registry/types.ts";
import type { AttributeValue } from "../../types.ts";

export type Attributes = Readonly<Record<string, AttributeValue>>;

/** Whether the event with these attributes passes a compiled filter. Pure; allocates at most a number's string form. */
export type AttributePredicate = (attributes: Attributes) => boolean;

/**
 * The canonical string form of attribute `name` (booleans and integers as text), or undefined when
 * the event has no such attribute. Inherited properties ("constructor") are not attributes.
 */
export const attributeText = (attributes: Attributes, name: string): string | undefined => {
  const value: unknown = attributes[name];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
};

type Dialect = "exact" | "prefix" | "suffix";

const always: AttributePredicate = () => true;

/** One attribute condition, specialised per dialect so the hot path makes no extra call. */
const condition = (dialect: Dialect, name: string, wanted: string): AttributePredicate => {
  if (dialect === "exact") return (attributes) => attributeText(attributes, name) === wanted;
  if (dialect === "prefix") {
    return (attributes) => attributeText(attributes, name)?.startsWith(wanted) === true;
  }
  return (attributes) => attributeText(attributes, name)?.endsWith(wanted) === true;
};

const attributeTest = (dialect: Dialect, map: Readonly<Record<string, string>>): AttributePredicate =>
  allOf(Object.entries(map).map(([name, wanted]) => condition(dialect, name, wanted)));

const allOf = (predicates: AttributePredicate[]): AttributePredicate => {
  if (predicates.length === 0) return always;
  const [only] = predicates;
  if (predicates.length === 1 && only !== undefined) return only;
  return (attributes) => {
    for (const predicate of predicates) if (!predicate(attributes)) return false;
    return true;
  };
};

const anyOf = (predicates: AttributePredicate[]): AttributePredicate => {
  const [only] = predicates;
  if (predicates.length === 1 && only !== undefined) return only;
  return (attributes) => {
    for (const predicate of predicates) if (predicate(attributes)) return true;
    return false;
  };
};

/** Compiles one filter expression. The schema allows exactly one dialect; several would be AND-ed. */
export const compileFilter = (filter: FilterRecord): AttributePredicate => {
  const parts: AttributePredicate[] = [];
  if (filter.exact !== undefined) parts.push(attributeTest("exact", filter.exact));
  if (filter.prefix !== undefined) parts.push(attributeTest("prefix", filter.prefix));
  if (filter.suffix !== undefined) parts.push(attributeTest("suffix", filter.suffix));
  if (filter.all !== undefined) parts.push(compileFilters(filter.all));
  if (filter.any !== undefined) parts.push(anyOf(filter.any.map(compileFilter)));
  if (filter.not !== undefined) {
    const inner = compileFilter(filter.not);
    parts.push((attributes) => !inner(attributes));
  }
  return allOf(parts);
};

/** Compiles a subscription's filter list (AND-ed; empty matches every event). */
export const compileFilters = (filters: readonly FilterRecord[]): AttributePredicate =>
  allOf(filters.map(compileFilter));
