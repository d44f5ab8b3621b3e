import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../e2e/tools.ts";
import { reference } from "./reference.ts";

test("docs/reference.md is what the schemas generate (run node crds/reference.ts after changing them)", () => {
  const text = reference();
  assert.equal(readFileSync(join(repoRoot, "docs", "reference.md"), "utf8"), text);
  for (const field of [
    "spec.target.service.port",
    "spec.delivery.backoffDelay",
    "spec.namespaces.selector",
  ]) {
    assert.ok(text.includes(`\`${field}\``), field);
  }
});
