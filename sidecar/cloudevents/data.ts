// Payload helpers shared by the binary and structured parsers: zero-copy Buffer views, strict
// UTF-8 decoding, and the one JSON.parse of a payload whose content type is JSON.

import { errorMessage } from "../../common/errors.ts";
import { isJsonMediaType, type MediaType, parseMediaType } from "./syntax.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `bytes` as a Buffer, sharing memory (no copy). */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** `bytes` decoded as UTF-8 (a leading BOM is dropped); throws a TypeError when they are not valid UTF-8. */
export const decodeUtf8 = (bytes: Uint8Array): string => utf8.decode(bytes);

/** True when a charset parameter allows reading the bytes as UTF-8 (absent, utf-8, utf8 or us-ascii). */
export const isUtf8Charset = (charset: string | undefined): boolean =>
  charset === undefined || charset === "utf-8" || charset === "utf8" || charset === "us-ascii";

/** The media type of `datacontenttype` when payloads of that type are parsed into `json`: JSON in UTF-8. */
export const jsonMediaType = (datacontenttype: unknown): MediaType | undefined => {
  if (typeof datacontenttype !== "string") return undefined;
  const media = parseMediaType(datacontenttype);
  return media !== undefined && isJsonMediaType(media) && isUtf8Charset(media.charset) ? media : undefined;
};

/** The JSON value in `bytes`; throws (TypeError for bad UTF-8, SyntaxError for bad JSON) with a message fit for a 400. */
export const parseJsonBytes = (bytes: Uint8Array): unknown => {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw new TypeError("is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`is not valid JSON (${errorMessage(err)})`);
  }
};
