// Renders the CRDs of schema.ts as the YAML files committed in crds/.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { type Crd, crds } from "./schema.ts";

export const CRDS_DIR = import.meta.dirname;
export const GENERATE_COMMAND = "bash scripts/node24.sh crds/generate.ts";

/** The file name of a CRD's YAML, e.g. "switchboard.dev_vpns.yaml". */
export const fileName = (crd: Crd): string => `${crd.spec.group}_${crd.spec.names.plural}.yaml`;

/** The YAML text of one CRD, with a header saying it is generated. */
export const render = (crd: Crd): string =>
  `# Generated from crds/schema.ts by \`${GENERATE_COMMAND}\`. Do not edit.\n---\n${stringify(crd, { lineWidth: 0 })}`;

/** Every generated file: absolute path and the text it must hold. */
export const generated = (): { path: string; text: string }[] =>
  crds().map((crd) => ({ path: join(CRDS_DIR, fileName(crd)), text: render(crd) }));

/** The paths of generated files that are missing or differ from what the source generates. */
export const stale = (): string[] =>
  generated()
    .filter(({ path, text }) => {
      try {
        return readFileSync(path, "utf8") !== text;
      } catch {
        return true;
      }
    })
    .map(({ path }) => path);
