import assert from "node:assert/strict";
import { test } from "node:test";
import { publishResult, publishText } from "./publish.ts";

test("a 202 says how many subscriptions the event reaches, and points at explain for none", () => {
  const at = (deliveries: number) =>
    publishText(
      publishResult(
        { status: 202, contentType: "application/json", text: "", json: { accepted: 1, deliveries } },
        "e1",
        "com.x",
      ),
    );
  assert.equal(at(2), "202 Accepted: event e1 accepted for async delivery to 2 subscriptions\n");
  assert.equal(at(1), "202 Accepted: event e1 accepted for async delivery to 1 subscription\n");
  assert.equal(
    at(0),
    "202 Accepted: event e1 accepted for async delivery to 0 subscriptions (no subscription matched: kubectl switchboard explain says why)\n",
  );
});

test("a sync answer prints the status and the function's body", () => {
  const result = publishResult({ status: 200, contentType: "text/plain", text: "hi" }, "e1", "com.x");
  assert.deepEqual(result, { status: 200, id: "e1", type: "com.x", body: "hi", contentType: "text/plain" });
  assert.equal(publishText(result), "200 OK\nhi\n");
  const json = publishResult(
    { status: 201, contentType: "application/json", text: '{"a":1}', json: { a: 1 } },
    "e1",
    "com.x",
  );
  assert.equal(publishText(json), '201 Created\n{"a":1}\n');
});
