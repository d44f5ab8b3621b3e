// Index keys of a filter list: a set of pins such that every event the filters accept satisfies at
// least one pin. The matcher files a subscription under each of its pins (or in the scan list
// when there are none) and still evaluates the whole filter on every candidate, so pins only
// need to be necessary, never sufficient. Derivation:
//   exact {a: v, …}   each attribute is an AND-ed condition: any one of them is a valid pin
//   prefix {a: p, …}  likewise, as prefix pins
//   all / a list      AND: the best pin set of any one member
//   any               OR: the union of every member's pin set, only if every member has one
//   suffix, not       no pin (a suffix or a negation cannot be looked up)
// "Best" prefers exact over prefix, `type` over other attributes, then fewer pins.
import type { FilterRecord } from "../../../registry/types.ts";

export interface Pin {
  readonly attribute: string;
  readonly kind: "exact" | "prefix";
  readonly value: string;
}

const cost = (pins: readonly Pin[]): number => {
  let worst = 0;
  for (const pin of pins) {
    const kind = pin.kind === "exact" ? 0 : 2;
    const attribute = pin.attribute === "type" ? 0 : 1;
    worst = Math.max(worst, kind + attribute);
  }
  return worst * 1_000_000 + pins.length;
};

const best = (options: readonly (readonly Pin[])[]): readonly Pin[] | undefined => {
  let chosen: readonly Pin[] | undefined;
  for (const option of options) if (chosen === undefined || cost(option) < cost(chosen)) chosen = option;
  return chosen;
};

const attributePins = (kind: Pin["kind"], map: Readonly<Record<string, string>>): Pin[][] =>
  Object.entries(map).map(([attribute, value]) => [{ attribute, kind, value }]);

const anyPins = (filters: readonly FilterRecord[]): readonly Pin[] | undefined => {
  const union: Pin[] = [];
  for (const filter of filters) {
    const pins = pinsOfFilter(filter);
    if (pins === undefined) return undefined;
    union.push(...pins);
  }
  return union.length > 0 ? union : undefined;
};

/** The best pin set of one filter expression, or undefined when it cannot be indexed. */
export const pinsOfFilter = (filter: FilterRecord): readonly Pin[] | undefined => {
  const options: (readonly Pin[])[] = [];
  if (filter.exact !== undefined) options.push(...attributePins("exact", filter.exact));
  if (filter.prefix !== undefined) options.push(...attributePins("prefix", filter.prefix));
  const all = filter.all === undefined ? undefined : pinsOf(filter.all);
  if (all !== undefined) options.push(all);
  const any = filter.any === undefined ? undefined : anyPins(filter.any);
  if (any !== undefined) options.push(any);
  return best(options);
};

/** The best pin set of an AND-ed filter list, or undefined when it must be scanned. */
export const pinsOf = (filters: readonly FilterRecord[]): readonly Pin[] | undefined => {
  const options: (readonly Pin[])[] = [];
  for (const filter of filters) {
    const pins = pinsOfFilter(filter);
    if (pins !== undefined) options.push(pins);
  }
  return best(options);
};

/** The pins of a filter that is exactly an OR of single exact/prefix conditions, or undefined. */
const conditionsOf = (filter: FilterRecord): Pin[] | undefined => {
  const dialects = Object.keys(filter);
  if (dialects.length !== 1) return undefined;
  const single = (kind: Pin["kind"], map: Readonly<Record<string, string>>): Pin[] | undefined => {
    const entries = Object.entries(map);
    const [first] = entries;
    return entries.length === 1 && first !== undefined
      ? [{ attribute: first[0], kind, value: first[1] }]
      : undefined;
  };
  if (filter.exact !== undefined) return single("exact", filter.exact);
  if (filter.prefix !== undefined) return single("prefix", filter.prefix);
  if (filter.all !== undefined) return filter.all.length === 1 ? conditionsOfList(filter.all) : undefined;
  if (filter.any === undefined) return undefined;
  const union: Pin[] = [];
  for (const member of filter.any) {
    const pins = conditionsOf(member);
    if (pins === undefined) return undefined;
    union.push(...pins);
  }
  return union;
};

const conditionsOfList = (filters: readonly FilterRecord[]): Pin[] | undefined => {
  const [only] = filters;
  return filters.length === 1 && only !== undefined ? conditionsOf(only) : undefined;
};

const unique = (pins: readonly Pin[]): readonly Pin[] => {
  if (pins.length < 2) return pins;
  const seen = new Map<string, Pin>();
  for (const pin of pins) seen.set(JSON.stringify([pin.attribute, pin.kind, pin.value]), pin);
  return [...seen.values()];
};

export interface PinPlan {
  /** Distinct pins; every event the filters accept satisfies at least one. */
  readonly pins: readonly Pin[];
  /** True when the filters are exactly "one of the pins holds": a pin hit needs no further filter check. */
  readonly sufficient: boolean;
}

/** How to file a filter list in the index, or undefined when it must be scanned. */
export const pinPlan = (filters: readonly FilterRecord[]): PinPlan | undefined => {
  const conditions = conditionsOfList(filters);
  if (conditions !== undefined) return { pins: unique(conditions), sufficient: true };
  const pins = pinsOf(filters);
  return pins === undefined ? undefined : { pins: unique(pins), sufficient: false };
};
