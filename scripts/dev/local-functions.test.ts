import assert from "node:assert/strict";
import { test } from "node:test";
import { requestLine } from "./local-functions.ts";

test("the echo function's request log lines become one readable line; its other lines none", () => {
  assert.equal(
    requestLine(
      JSON.stringify({
        level: "info",
        msg: "request",
        pod: "p",
        method: "POST",
        path: "/events",
        "ce-type": "t",
        body: '{"a":1}',
      }),
    ),
    'POST /events ce-type=t body={"a":1}',
  );
  assert.equal(requestLine(JSON.stringify({ level: "info", msg: "listening" })), undefined);
  assert.equal(requestLine("not json"), undefined);
});
