// The build step: TypeScript 7's tsc compiles the programs to ESM JavaScript with source maps
// under dist/ (tsconfig.build.json: `./x.ts` imports become `./x.js`, the import graph is kept),
// and the machine's C compiler builds the gateway's Node-API module beside them
// (common/native/malloc-trim.c → dist/common/native/malloc-trim.node, common/malloc-trim.ts).
//
//   npm run build      dist/operator/main.js, dist/sidecar/main.js, what they import, the module
import { execFileSync, spawnSync } from "node:child_process";
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

/** The C sources of Node-API modules the programs load, repository-relative; each is built to the same path under the outDir with `.node` for `.c`. */
export const NATIVE_SOURCES = ["common/native/malloc-trim.c"] as const;

/** The C compiler's flags for a Node-API module, before -I and -o (the Dockerfile's build stage uses the same). */
export const CC_FLAGS = ["-O2", "-Wall", "-Werror", "-shared", "-fPIC"] as const;

/**
 * Node's C headers (include/node) for the Node that runs this: beside its binary when it comes
 * from a release package, otherwise those of the Node 24 package the image ships
 * (scripts/node24.sh --package-dir fetches it once).
 */
const nodeHeaders = (): string => {
  const beside = join(dirname(dirname(process.execPath)), "include", "node");
  if (existsSync(join(beside, "node_api.h"))) return beside;
  const pkg = execFileSync("bash", [join(repoRoot, "scripts", "node24.sh"), "--package-dir"], {
    encoding: "utf8",
  }).trim();
  return join(pkg, "include", "node");
};

/**
 * Builds each of NATIVE_SOURCES into `dir` (a fresh outDir) with the machine's C compiler
 * ($CC, else cc) against Node's headers and the machine's glibc, the one the image copies
 * (scripts/image/rootfs.ts). Returns the files written, repository-relative to `dir`. Throws
 * with the compiler's output, or with what to install when there is no compiler.
 */
export const buildNative = (dir: string): string[] => {
  const cc = process.env.CC || "cc";
  const headers = nodeHeaders();
  return NATIVE_SOURCES.map((source) => {
    const out = source.replace(/\.c$/, ".node");
    mkdirSync(dirname(join(dir, out)), { recursive: true });
    const args = [...CC_FLAGS, `-I${headers}`, "-o", join(dir, out)];
    const res = spawnSync(cc, [...args, join(repoRoot, source)], { encoding: "utf8" });
    if (res.error && (res.error as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(
        `building ${source} needs a C compiler: install one (Debian: apt-get install gcc libc6-dev) or set CC`,
      );
    if (res.status !== 0) throw new Error(`${cc} ${source} failed:\n${res.stdout}${res.stderr}`);
    return out;
  });
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
  let native: string[] = [];
  if (project === PROJECTS.programs) {
    try {
      native = buildNative(join(repoRoot, fresh)).map((file) => join(out, file));
    } catch (err) {
      rmSync(join(repoRoot, fresh), { recursive: true, force: true });
      throw err;
    }
  }
  if (existsSync(join(repoRoot, out))) renameSync(join(repoRoot, out), join(repoRoot, old));
  renameSync(join(repoRoot, fresh), join(repoRoot, out));
  rmSync(join(repoRoot, old), { recursive: true, force: true });
  return res.stdout
    .split("\n")
    .filter((line) => line.startsWith("TSFILE: "))
    .map((line) => join(out, relative(join(repoRoot, fresh), line.slice("TSFILE: ".length).trim())))
    .concat(native)
    .sort();
};

if (import.meta.main) {
  const files = compile(PROJECTS.programs);
  console.log(
    `compiled ${files.filter((f) => f.endsWith(".js")).length} modules and ${files.filter((f) => f.endsWith(".node")).length} Node-API module into ${outDir(PROJECTS.programs)}/`,
  );
}
