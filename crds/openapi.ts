// The subset of OpenAPI v3 (apiextensions.k8s.io/v1 JSONSchemaProps) that the Switchboard CRDs
// use, and small builders for it. Every builder takes the bounds the API server's CEL cost
// estimator needs (maxLength, maxItems, maxProperties), so no schema can be written without them.

/** FieldValueDuplicate is left out: the API server prints no message for it. */
export type RuleReason = "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired";

/** One `x-kubernetes-validations` entry. */
export interface Rule {
  rule: string;
  message: string;
  /** A CEL expression for the message (the API server falls back to `message` if it fails). */
  messageExpression?: string;
  fieldPath?: string;
  reason?: RuleReason;
}

export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "boolean";
  description?: string;
  format?: "int32" | "int64" | "date-time";
  enum?: string[];
  default?: string;
  pattern?: string;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  items?: Schema;
  anyOf?: Schema[];
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: Rule[];
}

/** A CEL string literal for `text` (single-quoted, backslashes and quotes escaped). */
export const cel = (text: string): string => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** A validation rule; `options` adds fieldPath and reason. */
export const rule = (expr: string, message: string, options: Omit<Rule, "rule" | "message"> = {}): Rule => ({
  rule: expr,
  message,
  ...options,
});

/** `schema` with `rules` appended to its x-kubernetes-validations. */
export const withRules = (schema: Schema, ...rules: Rule[]): Schema => ({
  ...schema,
  "x-kubernetes-validations": [...(schema["x-kubernetes-validations"] ?? []), ...rules],
});

/**
 * `rule` on a string field, its message followed by the refused value (the API server's own
 * prefix only says `Invalid value: "string"`): `backoffDelay must be a Go duration …, got "soon"`.
 */
const quotingValue = (r: Rule): Rule =>
  r.messageExpression !== undefined || r.fieldPath !== undefined
    ? r
    : { ...r, messageExpression: `${cel(`${r.message}, got "`)} + self + '"'` };

/** A string of at most `maxLength` characters; its rules' messages quote the refused value. */
export const str = (description: string, maxLength: number, ...rules: Rule[]): Schema => ({
  type: "string",
  description,
  maxLength,
  ...(rules.length > 0 ? { "x-kubernetes-validations": rules.map(quotingValue) } : {}),
});

/** A string that must be one of `values`. */
export const oneOf = (description: string, values: string[], defaultValue?: string): Schema => ({
  type: "string",
  description,
  enum: values,
  maxLength: Math.max(...values.map((v) => v.length)),
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
});

/** An integer in [min, max], checked by a CEL rule so the message names the field's meaning. */
export const int = (description: string, what: string, min: number, max: number): Schema => ({
  type: "integer",
  format: "int32",
  description,
  "x-kubernetes-validations": [
    rule(`self >= ${min} && self <= ${max}`, `${what} must be between ${min} and ${max}`),
  ],
});

/** An object; `required` lists the properties that must be present. */
export const obj = (
  description: string,
  properties: Record<string, Schema>,
  required: string[] = [],
  ...rules: Rule[]
): Schema => ({
  type: "object",
  description,
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...(rules.length > 0 ? { "x-kubernetes-validations": rules } : {}),
});

/** A list of at most `maxItems` items. */
export const list = (description: string, items: Schema, maxItems: number, extra: Schema = {}): Schema => ({
  type: "array",
  description,
  maxItems,
  ...extra,
  items,
});

/** A list of objects that behaves as a map keyed by `key` (unique keys, merged by key on apply). */
export const mapList = (description: string, items: Schema, key: string, maxItems: number): Schema =>
  list(description, items, maxItems, {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": [key],
  });

/** A string-to-string map of at most `maxProperties` entries with values of at most `maxValue` characters. */
export const stringMap = (description: string, maxProperties: number, maxValue: number): Schema => ({
  type: "object",
  description,
  maxProperties,
  additionalProperties: { type: "string", maxLength: maxValue },
});
