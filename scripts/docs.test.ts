// The README's and docs/' shell blocks are true word for word: each is marked with how it is
// checked (scripts/docs/blocks.ts), the safe ones run here as written, the ones that cannot run on
// this machine at least parse, and a block run by another test names a test that runs it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../e2e/tools.ts";
import { allBlocks } from "./docs/blocks.ts";

const blocks = allBlocks();

test("every shell block of the README and docs/ says how it is checked", () => {
  assert.ok(blocks.length >= 20, `only ${blocks.length} blocks found`);
  const unmarked = blocks.filter((b) => b.mark === undefined).map((b) => `${b.file}:${b.line}: ${b.problem}`);
  assert.deepEqual(unmarked, []);
});

test("blocks that cannot run here parse, and blocks run elsewhere name a test that runs them", () => {
  for (const b of blocks) {
    const res = spawnSync("bash", ["-n", "-c", b.code], { encoding: "utf8" });
    assert.equal(res.status, 0, `${b.file}:${b.line} does not parse: ${res.stderr}`);
    if (b.mark?.kind !== "tested-by") continue;
    const file = join(repoRoot, b.mark.file);
    assert.ok(existsSync(file), `${b.file}:${b.line}: ${b.mark.file} does not exist`);
    const first = (b.code.split("\n")[0] ?? "").replace(/\s#.*$/, "").trim();
    assert.ok(
      readFileSync(file, "utf8").includes(first),
      `${b.file}:${b.line}: ${b.mark.file} does not run "${first}"`,
    );
  }
});

test("the safe blocks run as written", () => {
  const safe = blocks.filter((b) => b.mark?.kind === "safe");
  assert.ok(safe.length >= 1);
  for (const b of safe) {
    const res = spawnSync("bash", ["-euo", "pipefail", "-c", b.code], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(res.status, 0, `${b.file}:${b.line}\n${b.code}\n${res.stdout}\n${res.stderr}`);
  }
});
