// The chart ships the generated CRDs byte for byte.
import assert from "node:assert/strict";
import { test } from "node:test";
import { crdDrift, SYNC_COMMAND } from "./sync-crds.ts";

test("helm/switchboard/crds holds exactly crds/*.yaml", () => {
  const drift = crdDrift();
  assert.deepEqual(drift, [], `chart CRDs differ from crds/: ${drift.join(", ")}; run: ${SYNC_COMMAND}`);
});
