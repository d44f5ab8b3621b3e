import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { deliveryText, parseStreamLine } from "./tail.ts";

const line = {
  time: "2026-11-29T22:00:00.000Z",
  subscription: "shop/audit",
  function: "shop/audit",
  id: "e1",
  type: "com.x",
  source: "/s",
  outcome: "200",
  delivered: true,
  attempts: 1,
  url: "http://10.0.0.1/audit",
  deadLetter: false,
};

test("stream lines: the greeting, deliveries, missed counts; anything else is ignored", () => {
  assert.deepEqual(parseStreamLine('{"following":"shop/audit","vpn":"v"}'), {
    kind: "following",
    subscription: "shop/audit",
  });
  assert.deepEqual(parseStreamLine('{"missed":3}'), { kind: "missed", count: 3 });
  assert.deepEqual(parseStreamLine(JSON.stringify(line)), { kind: "delivery", delivery: line });
  assert.deepEqual(parseStreamLine("not json"), { kind: "other" });
  assert.deepEqual(parseStreamLine('{"id":1}'), { kind: "other" });
});

test("a delivery as one text line, one JSON line, or one YAML document", () => {
  assert.equal(
    deliveryText(line, "text"),
    "2026-11-29T22:00:00.000Z  delivered  200  id=e1  type=com.x  source=/s  attempts=1  function=shop/audit  url=http://10.0.0.1/audit\n",
  );
  const failed = { ...line, outcome: "timeout", delivered: false, attempts: 4, deadLetter: true };
  const { url: _url, ...noUrl } = failed;
  assert.equal(
    deliveryText(noUrl, "text"),
    "2026-11-29T22:00:00.000Z  FAILED  dead-letter copy timeout  id=e1  type=com.x  source=/s  attempts=4  function=shop/audit\n",
  );
  assert.deepEqual(JSON.parse(deliveryText(line, "json")), line);
  assert.deepEqual(parse(deliveryText(line, "yaml").replace(/^---\n/, "")), line);
});
