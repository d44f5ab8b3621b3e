// Header value coding of the CloudEvents HTTP binding (v1.0.2 §3.1.3.2). Decoding: one round of
// percent-decoding, leniently (see decodeHeaderValue); the bytes must be valid UTF-8 (overlong
// forms, surrogates and truncated sequences are refused). Encoding: UTF-8 bytes of
// space, '"', '%' and everything outside U+0021–U+007E become upper-case %XX.
//
// Header values reach us as ByteStrings (Node's parser maps each byte to U+0000–U+00FF), so a
// char above U+007F is taken as the raw byte it was: an unencoded UTF-8 value still decodes.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const HEX = "0123456789ABCDEF";

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
};

/** True when `value` needs no decoding: printable ASCII without '"' or '%'. */
const isPlain = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x25) return false;
  }
  return true;
};

/**
 * The attribute value a `ce-*` header carries: one round of percent-decoding, the bytes then
 * checked as UTF-8. Lenient where the official SDKs are loose (the Go and JavaScript SDKs send
 * binary-mode values without percent-encoding them): a `%` not followed by two hex digits is a
 * literal `%`, and `"` is a literal character (never the start of an RFC 7230 quoted-string).
 * Throws a RangeError (its message says why) for bytes that are not valid UTF-8.
 */
export const decodeHeaderValue = (value: string): string => {
  if (isPlain(value)) return value;
  const bytes = new Uint8Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const hi = c === 0x25 ? hexValue(value.charCodeAt(i + 1)) : -1;
    const lo = c === 0x25 ? hexValue(value.charCodeAt(i + 2)) : -1;
    if (hi >= 0 && lo >= 0) {
      bytes[n++] = (hi << 4) | lo;
      i += 2;
    } else if (c <= 0xff) {
      bytes[n++] = c;
    } else {
      throw new RangeError(`character U+${c.toString(16).toUpperCase()} is not a byte`);
    }
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    throw new RangeError("percent-decoded bytes are not valid UTF-8");
  }
};

const pushByte = (out: string[], b: number): void => {
  out.push("%", HEX[b >> 4] ?? "", HEX[b & 0xf] ?? "");
};

/** `value` percent-encoded for a `ce-*` header (spec §3.1.3.2, upper-case hex); throws a RangeError on an unpaired surrogate. */
export const encodeHeaderValue = (value: string): string => {
  let i = 0;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x25) break;
    i++;
  }
  if (i === value.length) return value;
  const out: string[] = [value.slice(0, i)];
  for (; i < value.length; i++) {
    let cp = value.charCodeAt(i);
    if (cp > 0x20 && cp < 0x7f && cp !== 0x22 && cp !== 0x25) {
      out.push(value[i] ?? "");
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = value.charCodeAt(i + 1);
      if (cp > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) throw new RangeError("unpaired surrogate");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      i++;
    }
    if (cp < 0x80) pushByte(out, cp);
    else if (cp < 0x800) {
      pushByte(out, 0xc0 | (cp >> 6));
      pushByte(out, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      pushByte(out, 0xe0 | (cp >> 12));
      pushByte(out, 0x80 | ((cp >> 6) & 0x3f));
      pushByte(out, 0x80 | (cp & 0x3f));
    } else {
      pushByte(out, 0xf0 | (cp >> 18));
      pushByte(out, 0x80 | ((cp >> 12) & 0x3f));
      pushByte(out, 0x80 | ((cp >> 6) & 0x3f));
      pushByte(out, 0x80 | (cp & 0x3f));
    }
  }
  return out.join("");
};
