// CloudEvents 1.0 attribute rules, one attribute at a time, collecting every fault of an event as a
// ProblemItem (so a publisher sees all of them in one 400). Shared by the binary (header) and the
// structured/batched (JSON) parsers; binary values are strings, JSON values may be any JSON.

import { badRequest, type ProblemError, type ProblemItem } from "../problem.ts";
import type { AttributeValue } from "../types.ts";
import { isAttributeName, isCloudEventsString, isInt32, isRfc3339, parseMediaType } from "./syntax.ts";
import { isAbsoluteUri, isUriReference } from "./uri.ts";

/** The attributes every event must have. */
export const REQUIRED_ATTRIBUTES = ["id", "source", "specversion", "type"] as const;

const clip = (s: string): string => (s.length > 64 ? `${s.slice(0, 64)}…` : s);

const string = (value: unknown, nonEmpty: boolean): string | undefined => {
  if (typeof value !== "string") return "must be a string";
  if (nonEmpty && value.length === 0) return "must be a non-empty string";
  if (!isCloudEventsString(value))
    return "contains a character CloudEvents forbids (a control character, a noncharacter or an unpaired surrogate)";
  return undefined;
};

const extension = (name: string, value: unknown): string | undefined => {
  if (!isAttributeName(name))
    return "is not a valid attribute name: 1–20 characters, lower-case a–z and 0–9 only";
  if (name === "data") return "is reserved for the event payload";
  if (typeof value === "boolean") return undefined;
  if (typeof value === "number")
    return isInt32(value) ? undefined : "must be an integer within signed 32 bits (CloudEvents Integer)";
  if (typeof value === "string") return string(value, false);
  return "must be a string, an integer or a boolean (objects, arrays and null are not CloudEvents types)";
};

const formatted = (value: unknown, ok: (s: string) => boolean, expected: string): string | undefined => {
  if (typeof value !== "string") return "must be a string";
  return string(value, true) ?? (ok(value) ? undefined : `must be ${expected}`);
};

/** Why `value` is not valid for attribute `name`, or undefined when it is. */
export const attributeProblem = (name: string, value: unknown): string | undefined => {
  switch (name) {
    case "specversion":
      if (typeof value !== "string") return "must be a string";
      return value === "1.0" ? undefined : `"${clip(value)}" is not supported; only "1.0" is`;
    case "id":
    case "type":
    case "subject":
      return string(value, true);
    case "source":
      return formatted(value, isUriReference, "a URI-reference");
    case "dataschema":
      return formatted(value, isAbsoluteUri, "an absolute URI");
    case "datacontenttype":
      return formatted(value, (s) => parseMediaType(s) !== undefined, "a media type (RFC 2046)");
    case "time":
      return formatted(value, isRfc3339, "an RFC 3339 timestamp");
    default:
      return extension(name, value);
  }
};

const escapePointer = (name: string): string => name.replaceAll("~", "~0").replaceAll("/", "~1");

/** A fault of attribute `name`: located by JSON pointer under `at` (structured mode) or by name only (`at` undefined: binary mode). */
export const attributeIssue = (name: string, at: string | undefined, detail: string): ProblemItem => {
  const attribute = clip(name);
  return at === undefined
    ? { attribute, detail: `${attribute} ${detail}` }
    : { pointer: `${at}/${escapePointer(attribute)}`, attribute, detail: `${attribute} ${detail}` };
};

/** Adds attribute `name` to `into` when valid; otherwise records why in `issues`. null/undefined mean absent. */
export const addAttribute = (
  into: Record<string, AttributeValue>,
  name: string,
  value: unknown,
  at: string | undefined,
  issues: ProblemItem[],
): void => {
  if (value === null || value === undefined) return;
  const problem = attributeProblem(name, value);
  if (problem !== undefined) issues.push(attributeIssue(name, at, problem));
  else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    into[name] = value;
};

/** Records an issue for each required attribute missing from `attributes` (unless already reported as invalid). */
export const checkRequired = (
  attributes: Record<string, AttributeValue>,
  at: string | undefined,
  issues: ProblemItem[],
  reportedFrom: number,
): void => {
  for (const name of REQUIRED_ATTRIBUTES) {
    if (attributes[name] !== undefined) continue;
    let reported = false;
    for (let i = reportedFrom; i < issues.length; i++) if (issues[i]?.attribute === name) reported = true;
    if (!reported) issues.push(attributeIssue(name, at, "is required"));
  }
};

/** Approximate size of an event: payload bytes plus the UTF-8 bytes of attribute names and values. */
export const eventSize = (
  attributes: Readonly<Record<string, AttributeValue>>,
  data: Buffer | undefined,
): number => {
  let size = data?.byteLength ?? 0;
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    size += name.length + (typeof value === "string" ? Buffer.byteLength(value) : 8);
  }
  return size;
};

/** The 400 for an event with `issues` (at least one): the first in the detail, every one (up to 100) in `errors`. */
export const invalidEvent = (issues: readonly ProblemItem[]): ProblemError => {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return badRequest(`invalid CloudEvent: ${issues[0]?.detail ?? "unknown fault"}${more}`, {
    slug: "invalid-cloudevent",
    title: "Invalid CloudEvent",
    errors: issues.slice(0, 100),
  });
};
