// docs/reference.md, generated from the same schemas as the CRDs: every spec field with its type,
// meaning, bounds and the validation messages `kubectl apply` may print.
//   node crds/reference.ts          write docs/reference.md
//   node crds/reference.ts --check  exit 1 when docs/reference.md is stale
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Schema } from "./openapi.ts";
import { schemaOf } from "./schema.ts";

const KINDS = ["VPN", "Function", "Subscription"] as const;
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "reference.md");

const typeOf = (s: Schema): string => {
  if (s["x-kubernetes-int-or-string"]) return "integer or string";
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "items"}`;
  if (s.type === "object" && s.additionalProperties && !s.properties)
    return `map of ${typeOf(s.additionalProperties)}`;
  return s.type ?? "any";
};

const bounds = (s: Schema): string[] => {
  const out: string[] = [];
  if (s.enum) out.push(`one of ${s.enum.map((e) => `\`${e}\``).join(", ")}`);
  if (s.default !== undefined) out.push(`default \`${s.default}\``);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maxLength !== undefined) out.push(`≤ ${s.maxLength} chars`);
  if (s.maxItems !== undefined) out.push(`≤ ${s.maxItems} items`);
  if (s.maxProperties !== undefined) out.push(`≤ ${s.maxProperties} entries`);
  for (const r of s["x-kubernetes-validations"] ?? []) out.push(`“${r.message}”`);
  return out;
};

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");

const rows = (s: Schema, path: string, required: boolean, depth: number, out: string[]): void => {
  out.push(
    `| \`${path}\` | ${typeOf(s)}${required ? " (required)" : ""} | ${cell(s.description ?? "")} | ${cell(bounds(s).join("; "))} |`,
  );
  if (depth >= 4) return;
  const children = s.type === "array" ? s.items : s;
  for (const [name, child] of Object.entries(children?.properties ?? {})) {
    const childPath = s.type === "array" ? `${path}[].${name}` : `${path}.${name}`;
    rows(child, childPath, children?.required?.includes(name) ?? false, depth + 1, out);
  }
};

/** The reference document's text. */
export const reference = (): string => {
  const out = [
    "# Resource reference (`switchboard.dev/v1alpha1`)",
    "",
    "Generated from `crds/*.ts` by `node crds/reference.ts`; do not edit. Concepts and conditions:",
    "[resources.md](resources.md). Quoted texts are the messages `kubectl apply` prints when a rule",
    "is broken. Filters nest deeper than shown (`all`, `any`, `not` up to 3 levels).",
    "",
  ];
  for (const kind of KINDS) {
    const spec = schemaOf(kind).properties?.spec;
    if (!spec) continue;
    out.push(`## ${kind}`, "", "| field | type | description | bounds and rules |", "|---|---|---|---|");
    rows(spec, "spec", true, 0, out);
    out.push("");
  }
  return out.join("\n");
};

if (import.meta.main) {
  const text = reference();
  if (process.argv.includes("--check")) {
    if (readFileSync(target, "utf8") !== text) {
      console.error(`${target} is stale: run node crds/reference.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
  }
}
