// What the signals test reads: the metric tables of docs/observability.md (each metric's program,
// type and documented label values), the samples of a /metrics exposition, and JSON log lines
// that repeat a key (pino writes a repeated child binding twice into the raw text; JSON.parse
// would keep only the last one, so the raw text is scanned).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./tools.ts";

export interface DocumentedMetric {
  readonly name: string;
  readonly program: "operator" | "gateway";
  readonly type: string;
  /** Documented values by label; a label documented without a list of values maps to []. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

const SECTIONS: Record<string, "operator" | "gateway"> = {
  "## Operator metrics": "operator",
  "## Webhook metrics": "operator",
  "## Gateway metrics": "gateway",
};

/** The labels cell of a metric row: `label` (`v1`, `v2`: prose, …), `other`, or —. */
const parseLabels = (cell: string): Map<string, string[]> => {
  const labels = new Map<string, string[]>();
  for (const m of cell.matchAll(/`([a-z_]+)`(?:\s*\(([^()]*)\))?/g)) {
    const [, label = "", values = ""] = m;
    labels.set(
      label,
      [...values.matchAll(/`([^`]+)`/g)].map((v) => v[1] ?? ""),
    );
  }
  return labels;
};

/** Every metric row of docs/observability.md's metric tables. */
export const documentedMetrics = (
  text = readFileSync(join(repoRoot, "docs/observability.md"), "utf8"),
): DocumentedMetric[] => {
  const metrics: DocumentedMetric[] = [];
  let program: "operator" | "gateway" | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) program = SECTIONS[line.trim()];
    if (program === undefined || !line.startsWith("| `switchboard_")) continue;
    const [name = "", type = "", labels = ""] = line.split(" | ").map((c) => c.replace(/^\| /, ""));
    metrics.push({ name: name.replaceAll("`", ""), program, type, labels: parseLabels(labels) });
  }
  return metrics;
};

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples and `# TYPE` lines of an exposition. */
export const parseExposition = (text: string): { samples: Sample[]; types: Map<string, string> } => {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1]) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ""] = l[2] ?? "";
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
};

/** The top-level keys a JSON object's raw text repeats (pino's log lines are flat objects). */
export const repeatedKeys = (line: string): string[] => {
  const seen = new Set<string>();
  const repeated: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '"') {
      const start = i;
      i++;
      while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
      const text = line.slice(start, i + 1);
      i++;
      // A key: a string at depth 1 followed by a colon.
      if (depth === 1 && line[i] === ":") {
        const key = JSON.parse(text) as string;
        if (seen.has(key)) repeated.push(key);
        seen.add(key);
      }
      continue;
    }
    if (c === "{" || c === "[") depth++;
    if (c === "}" || c === "]") depth--;
    i++;
  }
  return repeated;
};
