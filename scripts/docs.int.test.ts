// The shell blocks marked `cluster` (scripts/docs/blocks.ts) run as written, in document order:
// the README's walk-through starts a local control plane, installs the CRDs and starts the
// operator and a gateway against it; the examples are applied to it. Commands that run until
// Ctrl-C are started in the background and awaited until they say they are up (scripts/docs/run.ts);
// everything is stopped at the end. The only change to the text: the README's directory /tmp/sb
// becomes a directory of this test's own.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cleanup } from "../e2e/harness.ts";
import { repoRoot } from "../e2e/tools.ts";
import { allBlocks } from "./docs/blocks.ts";
import { blockRunner } from "./docs/run.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "docs-"));
const sb = join(dir, "sb");
const runner = blockRunner({
  dir,
  replace: { "/tmp/sb": sb },
  env: { KUBECONFIG: join(sb, "kubeconfig") },
});
cleanup(() => runner.stop());

const blocks = allBlocks().filter((b) => b.mark?.kind === "cluster");

test("the cluster blocks of the README and docs/ run as written, in order", { timeout: 600_000 }, () => {
  assert.ok(blocks.length >= 3, `${blocks.length} cluster blocks`);
  for (const b of blocks) {
    const res = runner.run(b);
    assert.equal(
      res.status,
      0,
      `${b.file}:${b.line}\n${b.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`,
    );
  }
  // What the walk-through started is serving.
  const ready = spawnSync("curl", ["-sf", "http://127.0.0.1:9090/readyz"], { encoding: "utf8" });
  assert.equal(ready.stdout, "ok");
});
