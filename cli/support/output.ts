// How the plugin prints: aligned text tables, JSON, or YAML. YAML is written here in a few lines
// rather than with the `yaml` package: the plugin's values are plain JSON (strings, numbers,
// booleans, null, arrays, objects), and the package is a development dependency that the image's
// production dependencies (helm/dockerfile.test.ts) should not gain for the plugin's sake.

export type Format = "text" | "json" | "yaml";
export const FORMATS: readonly Format[] = ["text", "json", "yaml"];

/** `value` as JSON (2-space indented), ending in a newline. */
export const toJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const PLAIN = /^[A-Za-z_/][-\w./:@ ]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

/** A YAML scalar: plain when unambiguous, otherwise double-quoted (a JSON string is valid YAML). */
const scalar = (v: unknown): string => {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const s = String(v);
  return PLAIN.test(s) &&
    !RESERVED.test(s) &&
    !s.endsWith(" ") &&
    !s.endsWith(":") &&
    !s.includes(": ") &&
    !s.includes(" #")
    ? s
    : JSON.stringify(s);
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const lines = (value: unknown, indent: string): string[] => {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      const inner = lines(item, `${indent}  `);
      const first = (inner[0] ?? "").slice(indent.length + 2);
      return isObject(item) || Array.isArray(item)
        ? [`${indent}- ${first}`, ...inner.slice(1)]
        : [`${indent}- ${scalar(item)}`];
    });
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([k, v]) => {
      const key = `${indent}${scalar(k)}:`;
      if ((isObject(v) && Object.keys(v).length > 0) || (Array.isArray(v) && v.length > 0))
        return [key, ...lines(v, `${indent}  `)];
      return [`${key} ${isObject(v) ? "{}" : Array.isArray(v) ? "[]" : scalar(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
};

/** `value` (plain JSON data) as a YAML document, ending in a newline. */
export const toYaml = (value: unknown): string => `${lines(value, "").join("\n")}\n`;

/** `value` in `format`; `text` renders the human form. */
export const render = (format: Format, value: unknown, text: () => string): string =>
  format === "json" ? toJson(value) : format === "yaml" ? toYaml(value) : text();

/** Rows under a header, columns padded to their widest cell (the last column is not padded). */
export const table = (header: readonly string[], rows: readonly (readonly string[])[]): string => {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join("");
};
