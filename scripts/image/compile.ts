// The build step: TypeScript 7's tsc compiles the programs to ESM JavaScript with source maps
// under dist/ (tsconfig.build.json: `./x.ts` imports become `./x.js`, the import graph is kept).
//
//   npm run build      dist/operator/main.js, dist/sidecar/main.js and what they import
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { repoRoot } from "../../e2e/tools.ts";

/** The projects: the two programs, and the echo function of the function image. */
export const PROJECTS = { programs: "tsconfig.build.json", echo: "tsconfig.function.json" } as const;

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
 * Empties the project's outDir and compiles it; returns the emitted files (repository-relative,
 * sorted). Throws with tsc's output on any type or emit error.
 */
export const compile = (project: string): string[] => {
  rmSync(join(repoRoot, outDir(project)), { recursive: true, force: true });
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  const res = spawnSync(process.execPath, [tsc, "-p", project, "--listEmittedFiles"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`tsc -p ${project} failed:\n${res.stdout}${res.stderr}`);
  return res.stdout
    .split("\n")
    .filter((line) => line.startsWith("TSFILE: "))
    .map((line) => relative(repoRoot, line.slice("TSFILE: ".length).trim()))
    .sort();
};

if (import.meta.main) {
  const files = compile(PROJECTS.programs);
  console.log(
    `compiled ${files.filter((f) => f.endsWith(".js")).length} modules into ${outDir(PROJECTS.programs)}/`,
  );
}
