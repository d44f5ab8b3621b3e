// The CloudEvents Subscriptions API filter (exact, prefix, suffix, all, any, not) as a schema.
//
// A CRD schema cannot refer to itself, so the recursive Filter type of types.ts is unrolled here
// to a fixed depth: FILTER_DEPTH levels of all/any/not. The filter objects in spec.filters are
// level 1; the ones inside their all/any/not are level 2, and so on; a filter below the third
// level of all/any/not may only use exact, prefix or suffix. Deeper filters are refused with a
// message saying so. Lists are kept short because the API server multiplies every rule's cost
// by how many times it can occur.
import { cel, obj, type Rule, rule, type Schema } from "./openapi.ts";

export const FILTER_DEPTH = 3;
/** Items in one all/any list, and in spec.filters. */
export const FILTER_ITEMS = 8;
/** Attributes in one exact/prefix/suffix map. */
const ATTRIBUTES = 8;
const ATTRIBUTE_NAME = "^[a-z0-9]{1,20}$";

const attributes = (description: string): Schema => ({
  type: "object",
  description,
  minProperties: 1,
  maxProperties: ATTRIBUTES,
  additionalProperties: { type: "string", maxLength: 1024 },
  "x-kubernetes-validations": [
    rule(
      `self.all(k, k.matches(${cel(ATTRIBUTE_NAME)}))`,
      "CloudEvents attribute names are 1 to 20 lowercase letters or digits",
    ),
  ],
});

const DIALECTS = ["exact", "prefix", "suffix", "all", "any", "not"];

const oneDialect: Rule = rule(
  `${DIALECTS.map((d) => `(has(self.${d}) ? 1 : 0)`).join(" + ")} == 1`,
  "a filter must use exactly one of exact, prefix, suffix, all, any or not",
);

const tooDeep: Rule = rule(
  "!has(self.all) && !has(self.any) && !has(self.not)",
  `filters nest at most ${FILTER_DEPTH} levels of all, any and not; at this depth use exact, prefix or suffix`,
  { reason: "FieldValueForbidden" },
);

/** Placeholders for all/any/not below the last level, so using them gets `tooDeep`'s message. */
const opaque = (description: string): Schema => ({
  type: "object",
  description,
  maxProperties: DIALECTS.length,
  "x-kubernetes-preserve-unknown-fields": true,
});

/** A filter object that may nest `depth` more levels of all/any/not. */
export const filter = (depth: number = FILTER_DEPTH): Schema => {
  const leaf = {
    exact: attributes("Attributes that must equal these values."),
    prefix: attributes("Attributes that must start with these values."),
    suffix: attributes("Attributes that must end with these values."),
  };
  if (depth <= 0) {
    const none = "Not allowed at this depth.";
    return obj(
      "A CloudEvents filter: exactly one of exact, prefix or suffix (the nesting limit is reached).",
      {
        ...leaf,
        all: { type: "array", description: none, maxItems: FILTER_ITEMS, items: opaque(none) },
        any: { type: "array", description: none, maxItems: FILTER_ITEMS, items: opaque(none) },
        not: opaque(none),
      },
      [],
      oneDialect,
      tooDeep,
    );
  }
  const nested = (description: string): Schema => ({
    type: "array",
    description,
    minItems: 1,
    maxItems: FILTER_ITEMS,
    items: filter(depth - 1),
  });
  return obj(
    "A CloudEvents filter: exactly one of exact, prefix, suffix, all, any or not.",
    {
      ...leaf,
      all: nested("Filters that must all match."),
      any: nested("Filters of which at least one must match."),
      not: filter(depth - 1),
    },
    [],
    oneDialect,
  );
};
