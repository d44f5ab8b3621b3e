// The shell blocks marked `node` (scripts/docs/blocks.ts: docs/install.md, "Try it on a local
// node") run as written, in order, on a real local node (root, one node per machine: this runs in
// the node stage). The command that runs until Ctrl-C is started in the background and awaited
// (scripts/docs/run.ts); everything is stopped at the end, the node taken down. The only change to
// the text: the directory the docs use, .work/local, becomes one of this test's own.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { cleanup } from "../e2e/harness.ts";
import { repoRoot } from "../e2e/tools.ts";
import { allBlocks } from "./docs/blocks.ts";
import { blockRunner } from "./docs/run.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "docs-node-"));
const local = relative(repoRoot, join(dir, "local"));
const runner = blockRunner({ dir, replace: { ".work/local": local } });
cleanup(() => runner.stop());

const blocks = allBlocks().filter((b) => b.mark?.kind === "node");

test("the node blocks of docs/ run as written, in order, on a real node", { timeout: 900_000 }, () => {
  assert.ok(blocks.length >= 2, `${blocks.length} node blocks`);
  for (const b of blocks) {
    const res = runner.run(b);
    assert.equal(
      res.status,
      0,
      `${b.file}:${b.line}\n${b.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`,
    );
  }
});
