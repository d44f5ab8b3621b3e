// The image (Dockerfile at the repository root) cannot be built here (no Docker engine), so this
// checks what a build would need: every module the two programs load is copied and not left out
// by .dockerignore, every package they import is a production dependency, and the runtime is
// non-root with node as the entry point.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
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

interface Imports {
  files: Set<string>;
  packages: Set<string>;
}

/** The repository files and packages that `entries` load at run time (type-only imports excluded). */
const runtimeImports = (entries: readonly string[]): Imports => {
  const found: Imports = { files: new Set(), packages: new Set() };
  const visit = (file: string): void => {
    if (found.files.has(file)) return;
    found.files.add(file);
    const source = readFileSync(join(repoRoot, file), "utf8");
    const specifiers = source.matchAll(
      /^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm,
    );
    for (const m of specifiers) {
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

test("every package the programs import is a production dependency (npm install --omit=dev)", () => {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const deps =
    typeof pkg === "object" && pkg !== null && "dependencies" in pkg && typeof pkg.dependencies === "object"
      ? Object.keys(pkg.dependencies ?? {})
      : [];
  for (const name of runtimeImports(PROGRAMS).packages)
    assert.ok(deps.includes(name), `${name} is imported at run time but not in dependencies`);
});

test(".dockerignore leaves out tests, test kits and the build's own node_modules", () => {
  for (const path of [
    "operator/config.test.ts",
    "registry/watcher.int.test.ts",
    "registry/test-etcd.ts",
    "registry/watcher-testkit.ts",
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
