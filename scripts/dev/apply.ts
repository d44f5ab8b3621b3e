// Applying a manifest directory object by object, so each refusal is attributed to its object with
// the API server's message, and deleting the Switchboard objects whose files are gone.
import { errorMessage } from "../../common/errors.ts";
import type { Cluster } from "../../e2e/cluster.ts";
import { subscriptionProblems } from "../../operator/webhook/subscription-review.ts";
import type { ServiceOverride } from "./flags.ts";
import { type Declared, SWITCHBOARD_KINDS, toApply } from "./manifests.ts";

export type Applied =
  | { readonly object: Declared; readonly ok: true; readonly verb: string; readonly note?: string }
  | {
      readonly object: Declared;
      readonly ok: false;
      readonly error: string;
      /** Who refused it: the API server (schema, CEL rules) or the operator's Subscription check, as its webhook would. */
      readonly by: "the API server" | "the Subscription check";
    };

/** What the operator's Subscription webhook would refuse in `object` (a CEL expression that does not compile); empty otherwise. */
const webhookProblems = (object: Declared): string[] => {
  if (object.kind !== "Subscription") return [];
  const spec = object.body.spec;
  const cel = spec !== null && typeof spec === "object" && "cel" in spec ? spec.cel : undefined;
  return typeof cel === "string" ? subscriptionProblems({ cel }) : [];
};

/** kubectl's own message without the command line that `run` puts before it. */
export const kubectlMessage = (err: unknown): string =>
  errorMessage(err)
    .replace(/^[\s\S]*? exited \S+: /, "")
    .replace(/^Error from server \(\w+\): (error when \w+ "STDIN": )?/, "")
    .trim();

/** Applies each object in order (kubectl apply, one object per call); never throws. */
export const applyAll = async (
  cluster: Cluster,
  objects: readonly Declared[],
  overrides: ReadonlyMap<string, ServiceOverride>,
): Promise<Applied[]> => {
  const results: Applied[] = [];
  for (const object of objects) {
    const { body, note } = toApply(object, overrides);
    const problems = webhookProblems(object);
    if (problems.length > 0) {
      results.push({ object, ok: false, error: problems.join("; "), by: "the Subscription check" });
      continue;
    }
    try {
      const out = await cluster.kubectl(["apply", "-f", "-"], JSON.stringify(body));
      const verb = /\s(\w+)\s*$/.exec(out.trim())?.[1] ?? "applied";
      results.push({ object, ok: true, verb, ...(note ? { note } : {}) });
    } catch (err) {
      results.push({ object, ok: false, error: kubectlMessage(err), by: "the API server" });
    }
  }
  return results;
};

/** A Switchboard object as "Kind|namespace|name". */
export const idOf = (o: { kind: string; namespace?: string | undefined; name: string }): string =>
  `${o.kind}|${o.namespace ?? ""}|${o.name}`;

/** The Switchboard objects in the cluster, as idOf strings. */
export const existingIds = async (cluster: Cluster): Promise<Set<string>> => {
  const out: unknown = JSON.parse(
    await cluster.kubectl(["get", Object.values(SWITCHBOARD_KINDS).join(","), "-A", "-o", "json"]),
  );
  const ids = new Set<string>();
  const items = typeof out === "object" && out !== null && "items" in out ? out.items : [];
  for (const item of Array.isArray(items) ? items : []) {
    const kind = typeof item?.kind === "string" ? item.kind : "";
    const name = typeof item?.metadata?.name === "string" ? item.metadata.name : "";
    const namespace = typeof item?.metadata?.namespace === "string" ? item.metadata.namespace : undefined;
    if (kind && name) ids.add(idOf({ kind, namespace, name }));
  }
  return ids;
};

/** Deletes the Switchboard objects in `existing` that `declared` no longer has; returns one line per deletion or failure. */
export const deleteUndeclared = async (
  cluster: Cluster,
  declared: readonly Declared[],
  existing: ReadonlySet<string>,
): Promise<string[]> => {
  const want = new Set(declared.filter((o) => SWITCHBOARD_KINDS[o.kind]).map(idOf));
  const lines: string[] = [];
  for (const id of existing) {
    if (want.has(id)) continue;
    const [kind = "", namespace = "", name = ""] = id.split("|");
    const what = `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
    try {
      await cluster.kubectl([
        "delete",
        SWITCHBOARD_KINDS[kind] ?? kind,
        name,
        ...(namespace ? ["-n", namespace] : []),
        "--wait=false",
      ]);
      lines.push(`${what}: deleted (its file is gone)`);
    } catch (err) {
      lines.push(`${what}: its file is gone, but deleting it failed: ${kubectlMessage(err)}`);
    }
  }
  return lines;
};
