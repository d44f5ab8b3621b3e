// The objects a manifest directory declares, in the order `kubectl apply -f DIR` applies them
// (files in lexical order, documents in file order), and the Function rewrite `--service` asks for.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ServiceOverride } from "./flags.ts";

/** The Switchboard kinds and their resource names; dev mode deletes these when their file is gone. */
export const SWITCHBOARD_KINDS: Readonly<Record<string, string>> = {
  VPN: "vpns.switchboard.dev",
  Function: "functions.switchboard.dev",
  Subscription: "subscriptions.switchboard.dev",
};

/** One declared object. */
export interface Declared {
  readonly file: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object as written (a plain JSON value). */
  readonly body: Record<string, unknown>;
}

export interface Manifests {
  readonly objects: readonly Declared[];
  /** One line per file or document dev mode could not read; when any, nothing is deleted. */
  readonly problems: readonly string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** "Kind ns/name" or "Kind name": how dev mode names an object in its output. */
export const label = (o: { kind: string; namespace?: string | undefined; name: string }): string =>
  `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;

const readFile = (dir: string, file: string, objects: Declared[], problems: string[]): void => {
  const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"));
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length > 0) {
      problems.push(`${where}: ${doc.errors[0]?.message.split("\n")[0] ?? "YAML error"}`);
      return;
    }
    const value: unknown = doc.toJSON();
    if (value === null || value === undefined) return;
    const meta = isRecord(value) && isRecord(value.metadata) ? value.metadata : undefined;
    const name = typeof meta?.name === "string" ? meta.name : undefined;
    if (!isRecord(value) || typeof value.kind !== "string" || !name) {
      problems.push(`${where}: not a Kubernetes object (kind and metadata.name are required)`);
      return;
    }
    const namespace = typeof meta?.namespace === "string" ? meta.namespace : undefined;
    objects.push({ file, kind: value.kind, namespace, name, body: value });
  });
};

/** Reads every *.yaml/*.yml file of `dir`; never throws for bad content (see `problems`). */
export const readManifests = (dir: string): Manifests => {
  const objects: Declared[] = [];
  const problems: string[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    try {
      readFile(dir, file, objects, problems);
    } catch (err) {
      problems.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { objects, problems };
};

const target = (o: Declared): Record<string, unknown> => {
  const spec = o.kind === "Function" && isRecord(o.body.spec) ? o.body.spec : {};
  return isRecord(spec.target) ? spec.target : {};
};

/** A Function's Service target: "NS/NAME", the port on the Service, the path ("/" when absent). */
export interface ServiceTarget {
  readonly service: string;
  readonly port: number | string;
  readonly path: string;
}

/** The Service target of a Function, or undefined for a URL Function or another kind. */
export const serviceTarget = (o: Declared): ServiceTarget | undefined => {
  const svc = target(o).service;
  if (!isRecord(svc) || typeof svc.name !== "string") return undefined;
  const port = typeof svc.port === "number" || typeof svc.port === "string" ? svc.port : 80;
  const path = typeof svc.path === "string" ? svc.path : "/";
  return { service: `${o.namespace ?? "default"}/${svc.name}`, port, path };
};

/** The `target.url` of a Function, or undefined. */
export const urlTarget = (o: Declared): string | undefined => {
  const url = target(o).url;
  return typeof url === "string" ? url : undefined;
};

/**
 * The body to apply: a Function whose Service has a `--service` override gets `target.url` =
 * the override's URL + the target's path instead of `target.service`; anything else as written.
 */
export const toApply = (
  o: Declared,
  overrides: ReadonlyMap<string, ServiceOverride>,
): { body: Record<string, unknown>; note?: string } => {
  const svc = serviceTarget(o);
  const override = svc === undefined ? undefined : overrides.get(svc.service);
  if (!svc || !override || !isRecord(o.body.spec)) return { body: o.body };
  const url = `${override.url}${svc.path}`;
  return {
    body: { ...o.body, spec: { ...o.body.spec, target: { url } } },
    note: `target Service ${svc.service} replaced by ${url} (--service)`,
  };
};
