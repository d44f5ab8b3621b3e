// The layout that docs/architecture.md describes: each program's folder keeps only its entry points
// and shared types at its top, test kits live in `testing/` folders that no program reaches, and
// comments cite the repository's own design document.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runtimeImports } from "../e2e/imports.ts";
import { repoRoot } from "../e2e/tools.ts";

/** Every program a user runs: the two binaries, the kubectl plugin, dev mode, the demo and the local cluster. */
const PROGRAMS = [
  "operator/main.ts",
  "cli/main.ts",
  "sidecar/main.ts",
  "scripts/dev.ts",
  "scripts/demo.ts",
  "e2e/cluster.ts",
];

test("no program's import graph reaches a test kit (a testing/ folder)", () => {
  const { files } = runtimeImports(PROGRAMS);
  assert.ok(files.size > 40, `found only ${files.size} modules`);
  const kits = [...files].filter((f) => f.split("/").includes("testing"));
  assert.deepEqual(kits, []);
});

test("the top of each program's folder holds only its entry points and shared types", () => {
  const top = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .sort();
  assert.deepEqual(top("sidecar"), [
    "config.ts",
    "gateway.ts",
    "main.ts",
    "metrics.ts",
    "problem.ts",
    "types.ts",
  ]);
  assert.deepEqual(top("operator"), ["config.ts", "main.ts", "metrics.ts", "operator.ts"]);
  assert.deepEqual(top("cli"), ["main.ts", "types.ts"]);
  assert.deepEqual(top("registry"), [
    "codec.ts",
    "errors.ts",
    "keys.ts",
    "schema.ts",
    "snapshot.ts",
    "types.ts",
  ]);
});

test("the design cited in code and docs is docs/architecture.md, which the repository has", () => {
  const tracked = execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n");
  assert.ok(tracked.includes("docs/architecture.md"));
  // git grep exits 1 when nothing matches.
  const grep = spawnSync("git", ["grep", "-n", "DESIGN[.]md"], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(grep.stdout, "", "cite docs/architecture.md instead");
  assert.equal(grep.status, 1);
});
