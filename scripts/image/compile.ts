// The build step: TypeScript 7's tsc compiles the programs to ESM JavaScript with source maps
// under dist/ (tsconfig.build.json: `./x.ts` imports become `./x.js`, the import graph is kept).
//
//   npm run build      dist/operator/main.js, dist/sidecar/main.js and what they import
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { repoRoot } from "../../e2e/tools.ts";

/** The projects: the two programs, the echo function of the function image, and the bench's Node forwarders. */
export const PROJECTS = {
  programs: "tsconfig.build.json",
  echo: "tsconfig.function.json",
  fixtures: "tsconfig.fixtures.json",
} as const;

/** The project's own outDir, relative to the repository. Throws if it sets none. */
const outDir = (project: string): string => {
  const config: unknown = JSON.parse(readFileSync(join(repoRoot, project), "utf8"));
  const options =
    typeof config === "object" && config !== null && "compilerOptions" in config
      ? config.compilerOptions
      : undefined;
  const dir =
    typeof options === "object" && options !== null && "outDir" in options ? options.outDir : undefined;
  if (typeof dir !== "string") throw new Error(`${project} sets no compilerOptions.outDir`);
  return relative(repoRoot, join(repoRoot, dirname(project), dir));
};

/**
 * Compiles the project into a fresh folder beside its outDir (the same depth, so the source maps'
 * relative paths hold), then swaps it in: programs started from the outDir meanwhile see the old
 * or the new build, whole. Returns the emitted files (repository-relative, sorted). Throws with
 * tsc's output on any type or emit error, leaving the outDir as it was.
 */
export const compile = (project: string): string[] => {
  const out = outDir(project);
  const fresh = `${out}.partial-${process.pid}`;
  const old = `${out}.old-${process.pid}`;
  rmSync(join(repoRoot, fresh), { recursive: true, force: true });
  mkdirSync(join(repoRoot, dirname(out)), { recursive: true });
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  const res = spawnSync(process.execPath, [tsc, "-p", project, "--outDir", fresh, "--listEmittedFiles"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  if (res.status !== 0) {
    rmSync(join(repoRoot, fresh), { recursive: true, force: true });
    throw new Error(`tsc -p ${project} failed:\n${res.stdout}${res.stderr}`);
  }
  if (existsSync(join(repoRoot, out))) renameSync(join(repoRoot, out), join(repoRoot, old));
  renameSync(join(repoRoot, fresh), join(repoRoot, out));
  rmSync(join(repoRoot, old), { recursive: true, force: true });
  return res.stdout
    .split("\n")
    .filter((line) => line.startsWith("TSFILE: "))
    .map((line) => join(out, relative(join(repoRoot, fresh), line.slice("TSFILE: ".length).trim())))
    .sort();
};

if (import.meta.main) {
  const files = compile(PROJECTS.programs);
  console.log(
    `compiled ${files.filter((f) => f.endsWith(".js")).length} modules into ${outDir(PROJECTS.programs)}/`,
  );
}
