import assert from "node:assert/strict";
import { test } from "node:test";
import { HELD_EVENT_OVERHEAD, heldBytes } from "./async-engine.ts";

test("a held event counts its overhead, its payload and its attribute values", () => {
  const attributes = { id: "1", source: "/s", specversion: "1.0", type: "t", retries: 3 };
  const strings = 1 + 2 + 3 + 1;
  assert.equal(heldBytes({ attributes, data: undefined }), HELD_EVENT_OVERHEAD + strings);
  const data = Buffer.alloc(1000);
  assert.equal(heldBytes({ attributes, data }), HELD_EVENT_OVERHEAD + 1000 + strings);
});
