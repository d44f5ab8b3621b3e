// Binary content mode (HTTP binding §3.1): each `ce-<name>` header is attribute <name>
// (percent-decoded, UTF-8 checked), `content-type` is `datacontenttype`, the body is `data`
// (shared, not copied). A JSON body is parsed into `json` once, here.

import { errorMessage } from "../../common/errors.ts";
import { type ProblemItem, payloadTooLarge } from "../problem.ts";
import type { AttributeValue, CloudEvent, HeaderView } from "../types.ts";
import { asBuffer, jsonMediaType, parseJsonBytes } from "./data.ts";
import { decodeHeaderValue } from "./percent.ts";
import { addAttribute, attributeIssue, checkRequired, eventSize, invalidEvent } from "./validate.ts";

const PREFIX = "ce-";

/** Attribute `header` (a `ce-*` name, lower-case) of value `raw` into `attributes`; faults go to `issues`. */
const headerAttribute = (
  attributes: Record<string, AttributeValue>,
  header: string,
  raw: string,
  issues: ProblemItem[],
): void => {
  const name = header.slice(PREFIX.length);
  if (name === "datacontenttype") {
    issues.push(
      attributeIssue(name, undefined, "travels as content-type in binary mode, not ce-datacontenttype"),
    );
    return;
  }
  let value: string;
  try {
    value = decodeHeaderValue(raw);
  } catch (err) {
    issues.push(attributeIssue(name, undefined, `header ${header}: ${errorMessage(err)}`));
    return;
  }
  addAttribute(attributes, name, value, undefined, issues);
};

/** The attributes carried by the `ce-*` and `content-type` headers; faults go to `issues`. */
const headerAttributes = (headers: HeaderView, issues: ProblemItem[]): Record<string, AttributeValue> => {
  const attributes: Record<string, AttributeValue> = {};
  // Header views iterate lower-cased names, so "CE-ID" and "ce-id" are the same attribute. A
  // view that gives its names alone spares a [name, value] pair per header (the ingress's).
  const names = headers.names?.();
  if (names === undefined) {
    for (const [header, raw] of headers)
      if (header.startsWith(PREFIX)) headerAttribute(attributes, header, raw, issues);
  } else
    for (const header of names)
      if (header.startsWith(PREFIX)) headerAttribute(attributes, header, headers.get(header) ?? "", issues);
  const contentType = headers.get("content-type");
  if (contentType !== null) addAttribute(attributes, "datacontenttype", contentType, undefined, issues);
  checkRequired(attributes, undefined, issues, 0);
  return attributes;
};

/** The one event of a binary-mode request; throws a ProblemError: 400 naming every bad attribute, 413 over `maxEventBytes`. */
export const parseBinary = (headers: HeaderView, body: Uint8Array, maxEventBytes: number): CloudEvent => {
  if (body.byteLength > maxEventBytes) {
    throw payloadTooLarge(`the event body is ${body.byteLength} bytes; the limit is ${maxEventBytes}`);
  }
  const issues: ProblemItem[] = [];
  const attributes = headerAttributes(headers, issues);
  if (issues.length > 0) throw invalidEvent(issues);
  const data = body.byteLength > 0 ? asBuffer(body) : undefined;
  const size = eventSize(attributes, data);
  if (size > maxEventBytes)
    throw payloadTooLarge(`the event is ${size} bytes; the limit is ${maxEventBytes}`);
  if (data === undefined || jsonMediaType(attributes.datacontenttype) === undefined)
    return { attributes, data };
  let json: unknown;
  try {
    json = parseJsonBytes(data);
  } catch (err) {
    throw invalidEvent([{ detail: `the body ${errorMessage(err)}, but content-type says JSON` }]);
  }
  return { attributes, data, json };
};
