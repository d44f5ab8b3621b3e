// The Dockerfile at the repository root cannot be built here (no Docker engine), so this checks
// what a build would need and that it puts in the image what `npm run image` does
// (scripts/image/spec.ts): every source the programs' compilation reads is copied and not left
// out by .dockerignore, every package they import is a production dependency, pruned the same
// way, and the /app files, user, entry point, environment and ports agree.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { runtimeImports } from "../e2e/imports.ts";
import { repoRoot } from "../e2e/tools.ts";
import { CC_FLAGS, NATIVE_SOURCES, PROJECTS } from "../scripts/image/compile.ts";
import { NPM_INSTALL } from "../scripts/image/deps.ts";
import { etcFiles } from "../scripts/image/rootfs.ts";
import {
  APP_CONTENTS,
  APP_DIR,
  CMD,
  ENTRYPOINT,
  ENV,
  GID,
  PORTS,
  PROGRAMS,
  PRUNED_DIRS,
  PRUNED_SUFFIXES,
  UID,
  USER_NAME,
} from "../scripts/image/spec.ts";

const SOURCES = Object.values(PROGRAMS).map((p) => p.source);
const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's stages (FROM to FROM), each a list of instructions with continuation lines joined. */
const stages = (): Instruction[][] => {
  const text = readFileSync(join(repoRoot, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const out: Instruction[][] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m || line.startsWith("#")) continue;
    const ins = { op: m[1] ?? "", args: (m[2] ?? "").replace(/\s+/g, " ") };
    if (ins.op === "FROM") out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
};

const stage = (name: string): Instruction[] => {
  const found = stages().find((s) => s[0]?.args.endsWith(` AS ${name}`));
  assert.ok(found, `no stage ${name}`);
  return found;
};
const finalStage = (): Instruction[] => stages().at(-1) ?? [];
const all = (s: Instruction[], op: string): string[] => s.filter((i) => i.op === op).map((i) => i.args);

/** A .dockerignore pattern as a RegExp over repository-relative paths (`**`, `*`, `?`). */
const patternRegExp = (pattern: string): RegExp => {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
};

/** Whether .dockerignore leaves `path` (or a directory above it) out of the build context. */
const excluded = (path: string): boolean => {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  return ignored.some((p) => prefixes.some((prefix) => patternRegExp(p).test(prefix)));
};

/** Source paths of a stage's COPY instructions from the build context (not from another stage). */
const copiedFromContext = (s: Instruction[]): string[] =>
  all(s, "COPY")
    .filter((args) => !args.startsWith("--from"))
    .flatMap((args) => args.split(" ").slice(0, -1));

/** The repository files tsc reads to compile the programs (tsconfig.build.json), node_modules aside. */
const compiledSources = (): string[] => {
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  const res = spawnSync(process.execPath, [tsc, "-p", PROJECTS.programs, "--listFilesOnly"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  return res.stdout
    .split("\n")
    .filter((f) => f.startsWith(repoRoot) && !f.includes("/node_modules/"))
    .map((f) => relative(repoRoot, f));
};

test("the build stage copies every source the programs' compilation reads, and .dockerignore keeps them", () => {
  const build = stage("build");
  const sources = copiedFromContext(build);
  const files = compiledSources();
  assert.ok(files.length > 20, `found only ${files.length} sources`);
  for (const file of [...files, PROJECTS.programs, "tsconfig.json"]) {
    assert.ok(
      sources.some((s) => file === s || file.startsWith(`${s}/`)),
      `${file} is not under a COPY source of the build stage (${sources.join(", ")})`,
    );
    assert.ok(!excluded(file), `${file} is excluded by .dockerignore`);
  }
  assert.ok(
    all(build, "RUN").some((r) => r === `node node_modules/typescript/bin/tsc -p ${PROJECTS.programs}`),
    `the build stage compiles ${PROJECTS.programs} (npm run build)`,
  );
});

test("the build stage builds each Node-API module beside the compiled programs, with the flags npm run build uses", () => {
  const build = stage("build");
  const sources = copiedFromContext(build);
  const runs = all(build, "RUN");
  for (const source of NATIVE_SOURCES) {
    assert.ok(
      sources.some((s) => source.startsWith(`${s}/`)) && !excluded(source),
      `${source} reaches the build stage`,
    );
    const out = `dist/${source.replace(/\.c$/, ".node")}`;
    const cc = `cc ${CC_FLAGS.join(" ")} -I/usr/local/include/node -o ${out} ${source}`;
    assert.ok(
      runs.some((r) => r.includes(cc)),
      `the build stage runs "${cc}"`,
    );
  }
});

test("the production dependencies are exactly the packages the programs import (npm install --omit=dev --omit=optional)", () => {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const deps =
    typeof pkg === "object" && pkg !== null && "dependencies" in pkg && typeof pkg.dependencies === "object"
      ? Object.keys(pkg.dependencies ?? {})
      : [];
  const imported = runtimeImports(SOURCES).packages;
  for (const name of imported)
    assert.ok(deps.includes(name), `${name} is imported at run time but not in dependencies`);
  for (const name of deps)
    assert.ok(
      imported.has(name),
      `${name} is in dependencies but no program imports it: move it to devDependencies`,
    );
});

test("the deps stage installs and prunes node_modules as npm run image does", () => {
  const [run = ""] = all(stage("deps"), "RUN");
  assert.ok(run.startsWith(`npm ${NPM_INSTALL.join(" ")} `), run);
  const dirs = [...run.matchAll(/-type d -name (\S+) -exec rm -rf/g)].map((m) => m[1]);
  const names = [...run.matchAll(/-name '\*(\.\w+)'/g)].map((m) => m[1]);
  assert.deepEqual(dirs, PRUNED_DIRS);
  assert.deepEqual(names, PRUNED_SUFFIXES);
  assert.match(run, /-type f \\\(.*\\\) -delete/);
});

test(".dockerignore leaves out tests, test kits, local builds and node_modules, and keeps the build's inputs", () => {
  for (const path of [
    "operator/config.test.ts",
    "registry/watcher/index.int.test.ts",
    "registry/testing/etcd.ts",
    "registry/testing/watcher.ts",
    "node_modules/yaml/package.json",
    "dist/sidecar/main.js",
    "e2e/harness.ts",
    ".work/x",
  ])
    assert.ok(excluded(path), path);
  for (const path of [...SOURCES, "package.json", "package-lock.json", "tsconfig.json", PROJECTS.programs])
    assert.ok(!excluded(path), path);
});

test("the final stage holds the same /app files, user, entry point, environment and ports as npm run image", () => {
  const s = finalStage();
  assert.deepEqual(all(s, "WORKDIR"), [APP_DIR]);
  const targets = all(s, "COPY").map((c) => c.split(" ").at(-1)?.replace(/^\.\//, "").replace(/\/$/, ""));
  assert.deepEqual(targets.map((t) => (t === "" ? "package.json" : t)).sort(), [...APP_CONTENTS].sort());
  assert.deepEqual(all(s, "USER"), [`${UID}:${GID}`]);
  assert.deepEqual(all(s, "ENTRYPOINT"), [JSON.stringify(ENTRYPOINT).replace(/","/g, '", "')]);
  assert.deepEqual(all(s, "CMD"), [JSON.stringify(CMD)]);
  assert.deepEqual(all(s, "EXPOSE"), [PORTS.join(" ")]);
  const env = Object.fromEntries(
    all(s, "ENV").flatMap((e) => e.split(" ").map((kv) => kv.split("=") as [string, string])),
  );
  assert.deepEqual(env, ENV);
  const passwd = etcFiles().find((f) => f.path === "etc/passwd");
  const line = passwd && "data" in passwd ? passwd.data.toString().split("\n")[1] : "";
  const [name, , uid, gid, , home, shell] = (line ?? "").split(":");
  const [run = ""] = all(s, "RUN");
  assert.equal(name, USER_NAME);
  assert.ok(run.includes(`groupadd --system --gid ${gid} ${name}`), run);
  assert.ok(
    run.includes(
      `useradd --system --uid ${uid} --gid ${gid} --no-create-home --home-dir ${home} --shell ${shell} ${name}`,
    ),
    run,
  );
  assert.match(finalStage()[0]?.args ?? "", /^\$\{NODE_IMAGE\}$/);
  assert.match(readFileSync(join(repoRoot, "Dockerfile"), "utf8"), /^ARG NODE_IMAGE=node:24[-\w.]*$/m);
});
