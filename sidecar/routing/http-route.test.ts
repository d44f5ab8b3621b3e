import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { snapshotOf, subscriptionRecord } from "../testing/routing.ts";
import { httpRouter } from "./http-route.ts";
import { buildRoutingTable } from "./index.ts";

const router = httpRouter<string>();
for (const [method, path, key] of [
  ["GET", "/orders/:id", "param"],
  ["GET", "/orders/new", "literal"],
  ["GET", "/orders/:id/items/:item", "two-params"],
  ["GET", "/orders/*", "wildcard"],
  ["GET", "/files/*", "files"],
  ["GET", "/", "root"],
  ["POST", "/orders/:id", "post"],
  ["GET", "/a/:x/c", "a-param-c"],
  ["GET", "/a/b/:y", "a-b-param"],
  ["GET", "/same/:one", "same-2"],
  ["GET", "/same/:two", "same-1"],
  ["GET", "/caf%C3%A9", "encoded-literal"],
] as const) {
  router.add(method, path, key, key);
}

describe("HTTP routes", () => {
  it("matches literals, params and the root", () => {
    assert.deepEqual(router.match("GET", "/orders/new"), { value: "literal", params: {} });
    assert.deepEqual(router.match("GET", "/orders/42"), { value: "param", params: { id: "42" } });
    assert.deepEqual(router.match("GET", "/orders/42/items/7"), {
      value: "two-params",
      params: { id: "42", item: "7" },
    });
    assert.deepEqual(router.match("GET", "/"), { value: "root", params: {} });
    assert.deepEqual(router.match("GET", "/caf%c3%a9"), { value: "encoded-literal", params: {} });
  });

  it("falls back to the wildcard with the rest of the path", () => {
    assert.deepEqual(router.match("GET", "/orders/42/other"), {
      value: "wildcard",
      params: {},
      wildcard: "42/other",
    });
    assert.deepEqual(router.match("GET", "/orders"), { value: "wildcard", params: {}, wildcard: "" });
    assert.deepEqual(router.match("GET", "/files/a/b%20c.txt"), {
      value: "files",
      params: {},
      wildcard: "a/b c.txt",
    });
    assert.equal(router.match("GET", "/nothing"), undefined);
  });

  it("prefers literal over param over wildcard segment by segment, backtracking when needed", () => {
    assert.equal(router.match("GET", "/a/b/c")?.value, "a-b-param");
    assert.deepEqual(router.match("GET", "/a/z/c"), { value: "a-param-c", params: { x: "z" } });
    assert.deepEqual(router.match("GET", "/a/b/q"), { value: "a-b-param", params: { y: "q" } });
    assert.equal(router.match("GET", "/orders/42/items/7/x")?.value, "wildcard");
  });

  it("breaks ties between routes of the same shape by key", () => {
    assert.deepEqual(router.match("GET", "/same/v"), { value: "same-1", params: { two: "v" } });
  });

  it("matches per method, with HEAD falling back to GET", () => {
    assert.equal(router.match("POST", "/orders/1")?.value, "post");
    assert.equal(router.match("POST", "/orders/new")?.value, "post");
    assert.equal(router.match("DELETE", "/orders/1"), undefined);
    assert.equal(router.match("HEAD", "/orders/new")?.value, "literal");
  });

  it("decodes params, refuses malformed escapes and ignores the query string", () => {
    assert.deepEqual(router.match("GET", "/orders/a%2Fb"), { value: "param", params: { id: "a/b" } });
    assert.equal(router.match("GET", "/orders/%E0%A4%A"), undefined);
    assert.equal(router.match("GET", "/orders/%zz"), undefined);
    assert.deepEqual(router.match("GET", "/orders/7?x=1"), { value: "param", params: { id: "7" } });
  });

  it("does not let a param match an empty segment, and compares paths exactly", () => {
    assert.deepEqual(router.match("GET", "/orders/"), { value: "wildcard", params: {}, wildcard: "" });
    assert.equal(router.match("GET", "/same/"), undefined);
    assert.equal(router.match("GET", "/same/v/"), undefined);
  });
});

describe("HTTP routes in the routing table", () => {
  const table = buildRoutingTable(
    snapshotOf([
      subscriptionRecord(
        { name: "get-order" },
        { mode: "sync", http: { method: "GET", path: "/orders/:id" } },
      ),
      subscriptionRecord(
        { name: "red-order", vpn: "red" },
        { mode: "sync", http: { method: "GET", path: "/orders/:id" } },
      ),
      subscriptionRecord({ name: "any-order" }, { mode: "sync", http: { method: "GET", path: "/orders/*" } }),
      subscriptionRecord({ name: "plain-sync" }, { mode: "sync" }),
    ]),
  );

  it("routes per VPN and returns params and wildcard", () => {
    const found = table.matchHttp("blue", "GET", "/orders/9");
    assert.equal(found?.route.name, "get-order");
    assert.deepEqual(found?.params, { id: "9" });
    assert.equal(found !== undefined && "wildcard" in found, false);
    assert.equal(table.matchHttp("red", "GET", "/orders/9")?.route.name, "red-order");
    assert.equal(table.matchHttp("red", "GET", "/orders/9/x"), undefined);
    const wild = table.matchHttp("blue", "HEAD", "/orders/9/x");
    assert.equal(wild?.route.name, "any-order");
    assert.equal(wild?.wildcard, "9/x");
    assert.equal(table.matchHttp("green", "GET", "/orders/9"), undefined);
  });
});

describe("HTTP routes whose CEL does not compile", () => {
  it("never match, so a less specific route answers", () => {
    const table = buildRoutingTable(
      snapshotOf([
        subscriptionRecord(
          { name: "broken" },
          { mode: "sync", http: { method: "GET", path: "/x/:id" }, cel: "data >" },
        ),
        subscriptionRecord({ name: "fallback" }, { mode: "sync", http: { method: "GET", path: "/x/*" } }),
      ]),
    );
    assert.equal(table.matchHttp("blue", "GET", "/x/1")?.route.name, "fallback");
  });
});
