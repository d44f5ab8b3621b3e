// Test helpers for the chart: run the bootstrap's helm, render the chart, and read the rendered
// manifests as plain data (validated at this edge, so the tests never need `any`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { toolPath } from "../e2e/tools.ts";

export const CHART_DIR = join(import.meta.dirname, "switchboard");
export const ALL_FEATURES = join(CHART_DIR, "ci", "all-features-values.yaml");

/** A rendered object: its identity and the whole document. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly doc: Record<string, unknown>;
}

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command args` with `input` on stdin; resolves with its exit code and output (never
 * rejects on a non-zero exit, only when the command cannot be started).
 */
export const exec = (command: string, args: readonly string[], input = ""): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // A command may exit without reading its input; that shows in its exit code.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });

/** Runs the bootstrap's helm; resolves with its exit code and output. */
export const helm = (args: readonly string[]): Promise<Outcome> => exec(toolPath("helm"), args);

/** `--set` arguments for flat values: { clusterName: "east" } → ["--set", "clusterName=east"]. */
export const sets = (values: Record<string, string>): string[] =>
  Object.entries(values).flatMap(([key, value]) => ["--set", `${key}=${value}`]);

/** Renders the chart with `args` (values files, --set…); throws with helm's error when it fails. */
export const template = async (
  args: readonly string[],
  { release = "sb", namespace = "switchboard-system" } = {},
): Promise<string> => {
  const out = await helm(["template", release, CHART_DIR, "--namespace", namespace, ...args]);
  if (out.code !== 0) throw new Error(`helm template failed: ${out.stderr.trim()}`);
  return out.stdout;
};

/** Whether `value` is a plain object. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The value at `path` inside `value` (object keys or array indices), or undefined. */
export const get = (value: unknown, ...path: (string | number)[]): unknown => {
  let at = value;
  for (const step of path) {
    if (typeof step === "number") at = Array.isArray(at) ? at[step] : undefined;
    else at = isRecord(at) ? at[step] : undefined;
  }
  return at;
};

/** The array at `path`, or [] when absent; throws when something else is there. */
export const list = (value: unknown, ...path: (string | number)[]): unknown[] => {
  const at = get(value, ...path);
  if (at === undefined) return [];
  if (!Array.isArray(at)) throw new Error(`${path.join(".")} is not a list`);
  return at;
};

/** Parses a multi-document YAML stream into manifests; throws on a YAML error or a document without kind/name. */
export const parseManifests = (text: string): Manifest[] =>
  parseAllDocuments(text).flatMap((document): Manifest[] => {
    if (document.errors.length > 0) throw new Error(`bad YAML: ${document.errors[0]?.message}`);
    const doc: unknown = document.toJS();
    if (doc === null || doc === undefined) return [];
    const apiVersion = get(doc, "apiVersion");
    const kind = get(doc, "kind");
    const name = get(doc, "metadata", "name");
    const namespace = get(doc, "metadata", "namespace");
    if (
      !isRecord(doc) ||
      typeof apiVersion !== "string" ||
      typeof kind !== "string" ||
      typeof name !== "string"
    )
      throw new Error(`a rendered document has no apiVersion, kind or name: ${JSON.stringify(doc)}`);
    return [
      { apiVersion, kind, name, namespace: typeof namespace === "string" ? namespace : undefined, doc },
    ];
  });

/** Renders and parses in one step. */
export const render = async (args: readonly string[], opts?: { release?: string; namespace?: string }) =>
  parseManifests(await template(args, opts));

/** The one manifest of `kind` whose name ends with `suffix`; throws when there is not exactly one. */
export const find = (manifests: readonly Manifest[], kind: string, suffix: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind && m.name.endsWith(suffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} named *${suffix}, found ${found.length}`);
  const [only] = found;
  if (!only) throw new Error("unreachable");
  return only;
};

const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

/** The pod spec of a workload or Pod manifest, or undefined for other kinds. */
export const podSpec = (m: Manifest): Record<string, unknown> | undefined => {
  const spec =
    m.kind === "Pod"
      ? get(m.doc, "spec")
      : m.kind === "CronJob"
        ? get(m.doc, "spec", "jobTemplate", "spec", "template", "spec")
        : POD_TEMPLATE_KINDS.has(m.kind)
          ? get(m.doc, "spec", "template", "spec")
          : undefined;
  return isRecord(spec) ? spec : undefined;
};

/** Every container (init, regular, ephemeral) of a pod spec. */
export const containers = (spec: Record<string, unknown>): Record<string, unknown>[] =>
  ["initContainers", "containers", "ephemeralContainers"].flatMap((field) =>
    list(spec, field).filter(isRecord),
  );

/** The string args of a workload's container `name`. */
export const argsOf = (m: Manifest, name: string): string[] => {
  const spec = podSpec(m);
  const container = spec && containers(spec).find((c) => c.name === name);
  if (!container) throw new Error(`${m.kind}/${m.name} has no container ${name}`);
  return list(container, "args").map(String);
};
