// The image (Dockerfile at the repository root) cannot be built here (no Docker engine), so this
// checks what a build would need: every module the two programs load is copied and not left out
// by .dockerignore, every package they import is a production dependency, and the runtime is
// non-root with node as the entry point.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runtimeImports } from "../e2e/imports.ts";
import { repoRoot } from "../e2e/tools.ts";

const PROGRAMS = ["operator/main.ts", "sidecar/main.ts"];
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
const ignored = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

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

/** Source paths of the final stage's COPY instructions (not those copied from another stage). */
const copied = (): string[] => {
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  return [...finalStage.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
    const words = (m[1] ?? "").trim().split(/\s+/);
    return words.slice(0, -1);
  });
};

test("every module the operator and the gateway load is copied into the image", () => {
  const sources = copied();
  const { files } = runtimeImports(PROGRAMS);
  assert.ok(files.size > 20, `found only ${files.size} modules`);
  for (const file of files) {
    assert.ok(
      sources.some((s) => file === s || file.startsWith(`${s}/`)),
      `${file} is not under a COPY source (${sources.join(", ")})`,
    );
    assert.ok(!excluded(file), `${file} is excluded by .dockerignore`);
  }
});

test("the production dependencies are exactly the packages the programs import (npm install --omit=dev)", () => {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const deps =
    typeof pkg === "object" && pkg !== null && "dependencies" in pkg && typeof pkg.dependencies === "object"
      ? Object.keys(pkg.dependencies ?? {})
      : [];
  const imported = runtimeImports(PROGRAMS).packages;
  for (const name of imported)
    assert.ok(deps.includes(name), `${name} is imported at run time but not in dependencies`);
  for (const name of deps)
    assert.ok(
      imported.has(name),
      `${name} is in dependencies but no program imports it: move it to devDependencies`,
    );
});

test(".dockerignore leaves out tests, test kits and the build's own node_modules", () => {
  for (const path of [
    "operator/config.test.ts",
    "registry/watcher/index.int.test.ts",
    "registry/testing/etcd.ts",
    "registry/testing/watcher.ts",
    "node_modules/yaml/package.json",
    "e2e/harness.ts",
    ".work/x",
  ])
    assert.ok(excluded(path), path);
  for (const path of ["operator/main.ts", "package.json", "package-lock.json", "crds/types.ts"])
    assert.ok(!excluded(path), path);
});

test("the image runs node as uid 10001 with the program as CMD, after npm install --omit=dev with the lockfile", () => {
  assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\}/m);
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:24[-\w.]*$/m);
  assert.match(dockerfile, /^COPY package\.json package-lock\.json \.\/$/m);
  assert.match(dockerfile, /npm install --omit=dev/);
  assert.match(dockerfile, /^USER 10001:10001$/m);
  assert.match(dockerfile, /^ENTRYPOINT \["node"\]$/m);
  const cmd = /^CMD \["([^"]+)"\]$/m.exec(dockerfile)?.[1];
  assert.ok(cmd && PROGRAMS.includes(cmd) && existsSync(join(repoRoot, cmd)), `CMD ${cmd}`);
});
