// RFC 3986 URI syntax checks for `source` (URI-reference, §4.1) and `dataschema` (URI with a
// scheme). One linear pass over a character table: no regular expression, so no backtracking on
// hostile input (the ajv "uri-reference" regex the cloudevents package uses is 1.7 KB of
// alternations). Checks syntax only: it does not resolve, normalise or look hosts up.

const PCHAR = 1; // unreserved / sub-delims / ":" / "@" (RFC 3986 §3.3)
const AUTH = 2; // additionally "[" and "]" (IP-literal hosts, §3.2.2)
const SCHEME = 4; // ALPHA / DIGIT / "+" / "-" / "." (§3.1)

const table = new Uint8Array(128);
const mark = (chars: string, flag: number): void => {
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    table[c] = (table[c] ?? 0) | flag;
  }
};
const ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGIT = "0123456789";
mark(`${ALPHA}${DIGIT}-._~!$&'()*+,;=:@`, PCHAR | AUTH);
mark("[]", AUTH);
mark(`${ALPHA}${DIGIT}+-.`, SCHEME);

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/** Index after the scheme's ":" when `s` starts with a valid scheme, else 0. */
const schemeEnd = (s: string): number => {
  const first = s.charCodeAt(0) | 0x20;
  if (!(first >= 0x61 && first <= 0x7a)) return 0;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) return i + 1;
    if (c >= 128 || ((table[c] ?? 0) & SCHEME) === 0) return 0;
  }
  return 0;
};

/** True when s[from, to) is made of characters with `flag` (plus "/" and "?" when `slashes`) and valid %XX escapes. */
const scan = (s: string, from: number, to: number, flag: number, slashes: boolean): boolean => {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2)) || i + 2 >= to) return false;
      i += 2;
    } else if (c < 128 && ((table[c] ?? 0) & flag) !== 0) {
      // allowed
    } else if (!(slashes && (c === 0x2f || c === 0x3f))) return false;
  }
  return true;
};

const check = (s: string, requireScheme: boolean): boolean => {
  const start = schemeEnd(s);
  if (start === 0) {
    if (requireScheme) return false;
    // path-noscheme: no ":" in the first segment (it would read as a scheme).
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2f || c === 0x3f || c === 0x23) break;
      if (c === 0x3a) return false;
    }
  }
  const hash = s.indexOf("#", start);
  const end = hash < 0 ? s.length : hash;
  if (hash >= 0 && !scan(s, hash + 1, s.length, PCHAR, true)) return false;
  let path = start;
  if (s.startsWith("//", start)) {
    let authEnd = start + 2;
    while (authEnd < end) {
      const c = s.charCodeAt(authEnd);
      if (c === 0x2f || c === 0x3f) break;
      authEnd++;
    }
    if (!scan(s, start + 2, authEnd, AUTH, false)) return false;
    path = authEnd;
  }
  return scan(s, path, end, PCHAR, true);
};

/** True when `s` is an RFC 3986 URI-reference (absolute or relative; "" counts, callers require non-empty). */
export const isUriReference = (s: string): boolean => check(s, false);

/** True when `s` is an RFC 3986 URI with a scheme (a fragment is allowed, as in JSON Schema `$id#/defs/x`). */
export const isAbsoluteUri = (s: string): boolean => check(s, true);
