// Copies the generated CRDs (crds/*.yaml) into the chart's crds/ directory, which Helm installs
// before the templates. Run it after `crds/generate.ts`: bash scripts/node24.sh helm/sync-crds.ts
// (sync-crds.test.ts fails while the copies differ).
import { copyFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export const SOURCE_DIR = join(import.meta.dirname, "..", "crds");
export const CHART_CRDS_DIR = join(import.meta.dirname, "switchboard", "crds");
export const SYNC_COMMAND = "bash scripts/node24.sh helm/sync-crds.ts";

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".yaml"))
    .sort();

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** The chart CRD file names that are missing, different from crds/, or left over; empty when in sync. */
export const crdDrift = (): string[] => {
  const source = yamlFiles(SOURCE_DIR);
  const differing = source.filter(
    (name) => readOrUndefined(join(CHART_CRDS_DIR, name)) !== readFileSync(join(SOURCE_DIR, name), "utf8"),
  );
  const extra = yamlFiles(CHART_CRDS_DIR).filter((name) => !source.includes(name));
  return [...differing, ...extra];
};

/** Makes the chart's crds/ an exact copy of crds/*.yaml; returns the names it wrote or removed. */
export const syncCrds = (): string[] => {
  const changed = crdDrift();
  const source = yamlFiles(SOURCE_DIR);
  for (const name of changed) {
    if (source.includes(name)) copyFileSync(join(SOURCE_DIR, name), join(CHART_CRDS_DIR, name));
    else rmSync(join(CHART_CRDS_DIR, name));
  }
  return changed;
};

if (import.meta.main) {
  const changed = syncCrds();
  process.stdout.write(
    changed.length === 0 ? "chart CRDs already in sync\n" : `synced ${changed.join(", ")}\n`,
  );
}
