// Lexical rules of the CloudEvents 1.0 type system: attribute names, String, Integer, RFC 3339
// timestamps and RFC 2045/2046 media types. Hand-written linear scanners: no regex backtracking,
// and no Date.parse (V8's accepts non-RFC 3339 forms such as "2026-11-21" or "Nov 21 2026").

/** True for a CloudEvents attribute name: 1–20 characters of a–z and 0–9 (the spec's SHOULD ≤ 20, enforced). */
export const isAttributeName = (name: string): boolean => {
  if (name.length === 0 || name.length > 20) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
};

/** True for a CloudEvents String: no controls (U+0000–001F, U+007F–009F), no noncharacters, no unpaired surrogates. */
export const isCloudEventsString = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) return false;
    if (c < 0x7f) continue;
    if (c <= 0x9f) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      const low = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return false;
      // U+nFFFE and U+nFFFF of the supplementary planes are noncharacters too.
      if ((c & 0x3f) === 0x3f && low >= 0xdffe) return false;
      i++;
    } else if (c >= 0xfdd0 && (c <= 0xfdef || c >= 0xfffe)) return false;
  }
  return true;
};

/** True for a CloudEvents Integer: a whole number within signed 32 bits. */
export const isInt32 = (n: number): boolean => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647;

const digits = (s: string, at: number, count: number): number => {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
};

const daysIn = (year: number, month: number): number => {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
};

/** True for an RFC 3339 date-time (§5.6): "T"/"Z" in either case, real calendar dates, a leap second only at 23:59:60 UTC. */
export const isRfc3339 = (s: string): boolean => {
  if (s.length < 20) return false;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 0 || s[4] !== "-" || s[7] !== "-" || (s[10] !== "T" && s[10] !== "t")) return false;
  if (s[13] !== ":" || s[16] !== ":") return false;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return false;
  let i = 19;
  if (s[i] === ".") {
    const from = ++i;
    while (digits(s, i, 1) >= 0) i++;
    if (i === from) return false;
  }
  let offset = 0;
  if (s[i] === "Z" || s[i] === "z") {
    i++;
  } else if (s[i] === "+" || s[i] === "-") {
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || s[i + 3] !== ":" || om < 0 || om > 59) return false;
    offset = (s[i] === "+" ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else return false;
  if (i !== s.length) return false;
  if (second === 60 && (((hour * 60 + minute - offset) % 1440) + 1440) % 1440 !== 1439) return false;
  return true;
};

/** A parsed media type: lower-cased `type/subtype` and the lower-cased charset parameter if any. */
export interface MediaType {
  readonly essence: string;
  readonly charset: string | undefined;
}

// RFC 2045 token: printable ASCII except tspecials ()<>@,;:\"/[]?= and space.
const TOKEN = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) TOKEN[c] = '()<>@,;:\\"/[]?='.includes(String.fromCharCode(c)) ? 0 : 1;
const isToken = (c: number): boolean => c < 128 && TOKEN[c] === 1;

const token = (s: string, at: number): number => {
  let i = at;
  while (i < s.length && isToken(s.charCodeAt(i))) i++;
  return i;
};
const skipSpace = (s: string, at: number): number => {
  let i = at;
  while (s[i] === " " || s[i] === "\t") i++;
  return i;
};

const parse = (s: string): MediaType | undefined => {
  const slash = token(s, 0);
  if (slash === 0 || s[slash] !== "/") return undefined;
  let i = token(s, slash + 1);
  if (i === slash + 1) return undefined;
  const essence = s.slice(0, i).toLowerCase();
  let charset: string | undefined;
  for (i = skipSpace(s, i); i < s.length; i = skipSpace(s, i)) {
    if (s[i] !== ";") return undefined;
    const name = skipSpace(s, i + 1);
    const eq = token(s, name);
    if (eq === name || s[eq] !== "=") return undefined;
    let value: string;
    if (s[eq + 1] === '"') {
      value = "";
      for (i = eq + 2; s[i] !== '"'; i++) {
        if (s[i] === "\\") i++;
        const c = s.charCodeAt(i);
        if (!(c === 0x09 || (c >= 0x20 && c < 0x7f))) return undefined; // also catches the end of s (NaN)
        value += s[i];
      }
      i++;
    } else {
      i = token(s, eq + 1);
      if (i === eq + 1) return undefined;
      value = s.slice(eq + 1, i);
    }
    if (s.slice(name, eq).toLowerCase() === "charset") charset = value.toLowerCase();
  }
  return { essence, charset };
};

const cache = new Map<string, MediaType | null>();

/** `s` parsed as an RFC 2045 media type (`type/subtype *(; name=value)`), or undefined when it is not one. Memoised (bounded). */
export const parseMediaType = (s: string): MediaType | undefined => {
  const hit = cache.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parse(s);
  if (cache.size >= 256) cache.clear();
  if (s.length <= 200) cache.set(s, parsed ?? null);
  return parsed;
};

/** True when the media type declares JSON (JSON format §3.1.1): subtype `json` or a `+json` suffix. */
export const isJsonMediaType = (m: MediaType): boolean =>
  m.essence.endsWith("/json") || m.essence.endsWith("+json");
