// The run-time import graph of a program, read from its sources: which repository files and which
// npm packages it loads (type-only imports excluded). Used by the image and layout tests.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { repoRoot } from "./tools.ts";

export interface Imports {
  /** Repository-relative paths of every module loaded, entries included. */
  files: Set<string>;
  /** npm package names (scope included) imported by any of them. */
  packages: Set<string>;
}

const SPECIFIER =
  /^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/** The repository files and packages that `entries` (repository-relative paths) load at run time. Throws if a file is missing. */
export const runtimeImports = (entries: readonly string[]): Imports => {
  const found: Imports = { files: new Set(), packages: new Set() };
  const visit = (file: string): void => {
    if (found.files.has(file)) return;
    found.files.add(file);
    const source = readFileSync(join(repoRoot, file), "utf8");
    for (const m of source.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? "";
      if (spec.startsWith(".")) visit(relative(repoRoot, resolve(join(repoRoot, dirname(file)), spec)));
      else if (!spec.startsWith("node:") && !builtinModules.includes(spec))
        found.packages.add(
          spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec),
        );
    }
  };
  for (const entry of entries) visit(entry);
  return found;
};
