import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { dataFor, eventCurl, routeCurl, routePath, sampleEvent, shellQuote } from "./samples.ts";

test("sample data satisfies simple CEL comparisons joined by &&, nested fields included", () => {
  assert.deepEqual(dataFor("data.amount > 0"), { amount: 1 });
  assert.deepEqual(dataFor("data.amount >= 10 && data.currency == 'EUR'"), { amount: 10, currency: "EUR" });
  assert.deepEqual(dataFor("(data.order.total < 5) && data.express != true"), {
    order: { total: 4 },
    express: false,
  });
  assert.deepEqual(dataFor("size(data.items) > 2"), {}, "what it cannot read is left to /explain");
  assert.deepEqual(dataFor(undefined), {});
});

test("sample attributes come from exact, prefix and suffix filters, nested ones included", () => {
  const event = sampleEvent(
    {
      vpn: "v",
      function: "f",
      mode: "async",
      filters: [{ exact: { type: "com.x.created" } }, { all: [{ prefix: { source: "/shop/" } }] }],
    },
    "1",
  );
  assert.deepEqual(event.attributes, {
    specversion: "1.0",
    id: "1",
    type: "com.x.created",
    source: "/shop/sample",
  });
  const bare = sampleEvent({ vpn: "v", function: "f", mode: "sync" }, "2");
  assert.equal(bare.attributes.type, "dev.sample");
  assert.equal(bare.attributes.source, "/dev");
});

test("HTTP route paths get a value for each parameter and the final wildcard", () => {
  assert.equal(routePath("/orders/:id"), "/orders/1");
  assert.equal(routePath("/files/:dir/*"), "/files/1/sample");
});

test("printed commands are one bash command each: what bash passes to curl is what was meant", () => {
  assert.equal(shellQuote("/a-b_c.d"), "/a-b_c.d");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  const cmd = eventCurl("http://127.0.0.1:1", { attributes: { type: "t'x" }, data: { a: "b c" } }, "tok$en");
  // `printf '%s\n'` in place of curl shows the words bash makes of the command.
  const words = spawnSync("bash", ["-c", cmd.replace(/^curl /, "printf '%s\\n' ")], { encoding: "utf8" });
  assert.deepEqual(words.stdout.trimEnd().split("\n"), [
    "-i",
    "http://127.0.0.1:1/",
    "-H",
    "authorization: Bearer tok$en",
    "-H",
    "ce-type: t'x",
    "-H",
    "content-type: application/json",
    "-d",
    '{"a":"b c"}',
  ]);
  assert.equal(
    routeCurl("http://h:1", { method: "get", path: "/o/:id" }, "t"),
    "curl -i http://h:1/o/1 -H 'authorization: Bearer t'",
  );
  assert.match(
    routeCurl("http://h:1", { method: "POST", path: "/o" }, "t"),
    /^curl -i -X POST .* -d '\{\}'$/,
  );
});
