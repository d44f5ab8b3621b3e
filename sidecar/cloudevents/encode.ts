// Encoding an event for delivery (HTTP binding): binary mode, the default, as `ce-*` headers plus
// the payload bytes untouched; structured mode as one application/cloudevents+json body.
import { isUtf8 } from "node:buffer";
import type { CloudEvent } from "../types.ts";
import { isUtf8Charset } from "./data.ts";
import { encodeHeaderValue } from "./percent.ts";
import { parseMediaType } from "./syntax.ts";

/** The content type of toStructured bodies. */
export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8";

/**
 * True when `value` is printable ASCII with no `%` that a decoder would read as an escape and no
 * space at either end (HTTP trims those from a header value).
 */
const travelsRaw = (value: string): boolean => {
  if (value.startsWith(" ") || value.endsWith(" ")) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return !/%[0-9A-Fa-f]{2}/.test(value);
};

/**
 * The header value of an attribute: as it is when it is printable ASCII (the official Go and
 * JavaScript SDKs, common receivers, read header values without percent-decoding, so "50% off"
 * must arrive as such; a decoding receiver such as this gateway decodes a stray % as itself), and
 * percent-encoded per §3.1.3.2 when it holds anything a header cannot carry raw (non-ASCII,
 * control characters), a `%` followed by two hex digits (which a decoder would turn into one
 * byte) or a space at either end, so that it arrives intact at a receiver that decodes.
 */
export const deliveryHeaderValue = (value: string): string =>
  travelsRaw(value) ? value : encodeHeaderValue(value);

/**
 * The headers of `event` in binary mode: `ce-<name>` for each attribute (deliveryHeaderValue),
 * `content-type` from datacontenttype — or application/json when the event has JSON
 * data without one (the JSON format's default, which a binary receiver could not otherwise know).
 * The body to send is `event.data` as is. Throws a RangeError only for an unpaired surrogate,
 * which validated events never hold.
 */
export const toBinaryHeaders = (event: CloudEvent): Record<string, string> => {
  const headers: Record<string, string> = {};
  const attributes = event.attributes;
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value === undefined) continue;
    if (name === "datacontenttype") headers["content-type"] = String(value);
    else headers[`ce-${name}`] = deliveryHeaderValue(String(value));
  }
  if (headers["content-type"] === undefined && event.json !== undefined)
    headers["content-type"] = "application/json";
  return headers;
};

const isText = (datacontenttype: unknown): boolean => {
  if (typeof datacontenttype !== "string") return false;
  const media = parseMediaType(datacontenttype);
  return media?.essence.startsWith("text/") === true && isUtf8Charset(media.charset);
};

/** `data` as a JSON-format member: the JSON bytes spliced in as received (parsed JSON), a string (UTF-8 text), else data_base64. */
const dataMember = (event: CloudEvent, data: Buffer): string => {
  if (event.json !== undefined) {
    const text = data.toString("utf8");
    // A BOM is legal before a JSON body but not inside a JSON document: re-encode then.
    return `"data":${text.charCodeAt(0) === 0xfeff ? JSON.stringify(event.json) : text}`;
  }
  if (isText(event.attributes.datacontenttype) && isUtf8(data)) {
    return `"data":${JSON.stringify(data.toString("utf8"))}`;
  }
  return `"data_base64":"${data.toString("base64")}"`;
};

/** `event` in the JSON event format, ready to send with `contentType`; no validation (the event is already valid). */
export const toStructured = (event: CloudEvent): { contentType: string; body: Buffer } => {
  const head = JSON.stringify(event.attributes);
  if (event.data === undefined) return { contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from(head) };
  const member = dataMember(event, event.data);
  const json = head.length > 2 ? `${head.slice(0, -1)},${member}}` : `{${member}}`;
  return { contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from(json) };
};
