// Structured (§3.2) and batched (§3.3) content modes with the JSON event format: the body is
// decoded (strict UTF-8) and parsed once; `data` (any JSON) or `data_base64` becomes the payload
// bytes, and JSON `data` is kept as `json` so it is never parsed again.

import { errorMessage } from "../../common/errors.ts";
import { badRequest, type ProblemItem, payloadTooLarge } from "../problem.ts";
import type { AttributeValue, CloudEvent } from "../types.ts";
import { jsonMediaType, parseJsonBytes } from "./data.ts";
import { isJsonMediaType, parseMediaType } from "./syntax.ts";
import { addAttribute, checkRequired, eventSize, invalidEvent } from "./validate.ts";

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** True for RFC 4648 base64 with padding (the alphabet + and /), which Buffer.from would otherwise decode leniently. */
const isBase64 = (s: string): boolean => {
  if (s.length % 4 !== 0) return false;
  let end = s.length;
  if (s.endsWith("==")) end -= 2;
  else if (s.endsWith("=")) end -= 1;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const lower = c | 0x20;
    if (!((lower >= 0x61 && lower <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f))
      return false;
  }
  return true;
};

type Payload = { data: Buffer | undefined; json?: unknown };

/** The payload of a JSON-format event (`at` is its JSON pointer); faults go to `issues`. */
const payload = (obj: JsonObject, datacontenttype: unknown, at: string, issues: ProblemItem[]): Payload => {
  const data = obj.data; // null is an explicit JSON null payload (JSON format §3.1.1), not absence
  const base64 = obj.data_base64 ?? undefined;
  if (data !== undefined && base64 !== undefined) {
    issues.push({ pointer: `${at}/data_base64`, detail: "data and data_base64 must not both be present" });
    return { data: undefined };
  }
  if (base64 !== undefined) {
    if (typeof base64 !== "string" || !isBase64(base64)) {
      issues.push({ pointer: `${at}/data_base64`, detail: "data_base64 must be a base64 (RFC 4648) string" });
      return { data: undefined };
    }
    const bytes = Buffer.from(base64, "base64");
    if (bytes.byteLength === 0 || jsonMediaType(datacontenttype) === undefined) return { data: bytes };
    try {
      return { data: bytes, json: parseJsonBytes(bytes) };
    } catch (err) {
      issues.push({
        pointer: `${at}/data_base64`,
        detail: `data_base64 ${errorMessage(err)}`,
      });
      return { data: undefined };
    }
  }
  if (data === undefined) return { data: undefined };
  const asJson = (): Payload => ({ data: Buffer.from(JSON.stringify(data)), json: data });
  // JSON format §3.1: without datacontenttype, `data` is JSON (application/json).
  if (datacontenttype === undefined) return asJson();
  const media = typeof datacontenttype === "string" ? parseMediaType(datacontenttype) : undefined;
  if (media === undefined) return { data: undefined }; // datacontenttype itself is already reported
  if (isJsonMediaType(media)) return asJson();
  if (typeof data !== "string" || !data.isWellFormed()) {
    issues.push({
      pointer: `${at}/data`,
      detail: "data must be a (well-formed) string when datacontenttype is not JSON",
    });
    return { data: undefined };
  }
  return { data: Buffer.from(data, "utf8") };
};

/** One JSON-format event at JSON pointer `at`, or undefined when it has faults (pushed to `issues`); throws 413 when too big. */
export const eventFromJson = (
  obj: JsonObject,
  at: string,
  issues: ProblemItem[],
  maxEventBytes: number,
): CloudEvent | undefined => {
  const from = issues.length;
  const attributes: Record<string, AttributeValue> = {};
  for (const name of Object.keys(obj)) {
    if (name !== "data" && name !== "data_base64") addAttribute(attributes, name, obj[name], at, issues);
  }
  checkRequired(attributes, at, issues, from);
  const { data, json } = payload(obj, obj.datacontenttype ?? undefined, at, issues);
  if (issues.length > from) return undefined;
  const size = eventSize(attributes, data);
  if (size > maxEventBytes) {
    const detail = `the event is ${size} bytes; the limit is ${maxEventBytes}`;
    throw payloadTooLarge(detail, { errors: [{ pointer: at, detail }] });
  }
  return json === undefined ? { attributes, data } : { attributes, data, json };
};

const parseBody = (body: Uint8Array): unknown => {
  try {
    return parseJsonBytes(body);
  } catch (err) {
    throw badRequest(`the body ${errorMessage(err)}`);
  }
};

/** The event of a structured-mode body; throws a ProblemError: 400 (malformed, naming each fault) or 413. */
export const parseStructured = (body: Uint8Array, maxEventBytes: number): CloudEvent => {
  const obj = parseBody(body);
  if (!isObject(obj)) throw badRequest("a structured-mode body must be a JSON object");
  const issues: ProblemItem[] = [];
  const event = eventFromJson(obj, "", issues, maxEventBytes);
  if (event === undefined) throw invalidEvent(issues);
  return event;
};

/** The events of a batched-mode body (all or none); throws a ProblemError: 400 naming each fault (up to 100), 413 over a limit. */
export const parseBatch = (body: Uint8Array, maxEventBytes: number, maxBatch: number): CloudEvent[] => {
  const list = parseBody(body);
  if (!Array.isArray(list)) throw badRequest("a batched-mode body must be a JSON array");
  if (list.length > maxBatch)
    throw payloadTooLarge(`the batch holds ${list.length} events; the limit is ${maxBatch}`);
  const issues: ProblemItem[] = [];
  const events: CloudEvent[] = [];
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (!isObject(item)) issues.push({ pointer: `/${i}`, detail: "a batch entry must be a JSON object" });
    else {
      const event = eventFromJson(item, `/${i}`, issues, maxEventBytes);
      if (event !== undefined) events.push(event);
    }
  }
  if (issues.length > 0) throw invalidEvent(issues);
  return events;
};
