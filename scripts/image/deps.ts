// The production dependencies: `npm install --omit=dev --omit=optional` from the lockfile into a
// staging folder (what the Dockerfile runs), pruned of what nothing loads (spec.ts), as layer
// entries under app/. `--omit=optional` because valibot names typescript as an optional peer:
// npm then marks typescript "devOptional" and installs it, with its platform binary (24 MiB), under
// --omit=dev alone. No production package needs an optional dependency.
import { execFileSync } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../e2e/tools.ts";
import { inputHash } from "./cache.ts";
import { APP_DIR, PRUNED_DIRS, PRUNED_SUFFIXES, pruned } from "./spec.ts";
import type { Entry } from "./tar.ts";

/** The flags of the production install, the same in the Dockerfile (helm/dockerfile.test.ts). */
export const NPM_INSTALL = ["install", "--omit=dev", "--omit=optional", "--no-audit", "--no-fund"];

/** The hash that names the dependency layer: package.json, the lockfile, the install flags and the pruning rules. */
export const dependenciesKey = (): string =>
  inputHash(
    readFileSync(join(repoRoot, "package.json")),
    readFileSync(join(repoRoot, "package-lock.json")),
    NPM_INSTALL.join(" "),
    PRUNED_SUFFIXES.join(" "),
    PRUNED_DIRS.join(" "),
  );

/** The files under `root` that pruning keeps (relative paths, sorted); throws on a symbolic link among them. */
const walk = (root: string, rel = ""): { path: string; mode: number; size: number }[] => {
  const out: { path: string; mode: number; size: number }[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, path));
    if (st.isDirectory()) {
      if (!PRUNED_DIRS.includes(name)) out.push(...walk(root, path));
    } else if (st.isFile()) {
      if (!pruned(path)) out.push({ path, mode: st.mode, size: st.size });
    } else throw new Error(`${path} in the production node_modules is neither a file nor a folder`);
  }
  return out;
};

/**
 * Installs the production dependencies into `staging` (created, and left for the caller to
 * remove) and returns their layer entries under app/node_modules, root-owned and read-only for
 * the runtime user. Throws with npm's output when the install fails.
 */
export const dependencyEntries = (staging: string): Entry[] => {
  mkdirSync(staging, { recursive: true });
  for (const file of ["package.json", "package-lock.json"])
    copyFileSync(join(repoRoot, file), join(staging, file));
  execFileSync("npm", NPM_INSTALL, { cwd: staging, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const app = APP_DIR.slice(1);
  return walk(staging, "node_modules").map((f) => ({
    path: `${app}/${f.path}`,
    type: "file",
    mode: f.mode & 0o111 ? 0o755 : 0o644,
    source: join(staging, f.path),
    size: f.size,
  }));
};

/** A fresh staging folder under `dir`, and its removal. */
export const staging = (dir: string): { path: string; remove: () => void } => {
  mkdirSync(dir, { recursive: true });
  const path = mkdtempSync(join(dir, "deps-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
};
