// Installs the generated CRDs into a cluster for tests: server-side apply, then wait until each
// is Established and served. Idempotent, and safe when several test files (processes) call it
// at once against one cluster: server-side apply of identical content by one field manager is a
// no-op, and the API server retries conflicting patches itself.
import type { Cluster } from "../e2e/cluster.ts";
import { waitFor } from "../e2e/proc.ts";
import { generated } from "./render.ts";
import { crds } from "./schema.ts";
import { GROUP } from "./types.ts";

const FIELD_MANAGER = "switchboard-crds";
const TRANSIENT = /conflict|modified|already exists|timeout|connection refused|try again|TooManyRequests/i;
const installing = new Map<string, Promise<void>>();

/**
 * Applies crds/*.yaml to `cluster` (every call applies; safe concurrently) and resolves once all
 * three CRDs are Established and in discovery; retries transient apply errors a few times,
 * otherwise throws with kubectl's error.
 */
export const applyCrds = async (cluster: Cluster): Promise<void> => {
  const files = generated().flatMap(({ path }) => ["-f", path]);
  const names = crds().map((crd) => crd.metadata.name);
  for (let attempt = 1; ; attempt++) {
    try {
      await cluster.kubectl([
        "apply",
        "--server-side",
        "--force-conflicts",
        `--field-manager=${FIELD_MANAGER}`,
        ...files,
      ]);
      break;
    } catch (err) {
      // Invalid CRDs fail at once; races and a busy API server are retried briefly.
      // Only kubectl's error, after "exited N: ": the command line itself says --force-conflicts.
      const detail = err instanceof Error ? err.message.replace(/^[\s\S]*? exited \S+: /, "") : "";
      if (attempt >= 5 || !TRANSIENT.test(detail)) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
  // Read rather than `kubectl wait --for=condition=Established`: right after the create, a CRD has
  // no status.conditions yet and kubectl 1.34 fails at once (".status.conditions accessor error:
  // <nil> is of the type <nil>") instead of waiting.
  await waitFor(
    "the CRDs to be Established",
    async () => {
      const out = await cluster.kubectl([
        "get",
        ...names.map((n) => `crd/${n}`),
        "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
      ]);
      const states = out.split("\n").filter(Boolean);
      return states.length === names.length && states.every((st) => st === "True") ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  // Established means the API server serves them. `api-resources` re-reads discovery and
  // refreshes kubectl's discovery cache, which later `kubectl get switchboard` or `get fn` use.
  const plurals = crds().map((crd) => crd.spec.names.plural);
  await waitFor("the CRDs to be in discovery", async () => {
    const out = await cluster.kubectl(["api-resources", `--api-group=${GROUP}`, "-o", "name"]);
    const served = new Set(out.split("\n").map((line) => line.trim()));
    return plurals.every((p) => served.has(`${p}.${GROUP}`)) ? true : undefined;
  });
};

/** applyCrds, once per cluster and process: later calls share the first one's result. */
export const installCrds = (cluster: Cluster): Promise<void> => {
  let pending = installing.get(cluster.kubeconfig);
  if (!pending) {
    pending = applyCrds(cluster);
    installing.set(cluster.kubeconfig, pending);
    pending.catch(() => installing.delete(cluster.kubeconfig));
  }
  return pending;
};
