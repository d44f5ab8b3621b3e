import assert from "node:assert/strict";
import { test } from "node:test";
import type { FunctionRecordSpec } from "../../registry/types.ts";
import type { FunctionView } from "../types.ts";
import { createBalancer } from "./balancer.ts";

const spec = (endpoints: string[], externalUrl?: string): FunctionRecordSpec => ({
  endpoints,
  ...(externalUrl ? { externalUrl } : {}),
  timeoutMs: 1000,
  concurrency: 10,
  headers: {},
});
const view = (instances: Record<string, FunctionRecordSpec>): FunctionView => ({
  vpn: "v",
  namespace: "ns",
  name: "f",
  instances: new Map(Object.entries(instances)),
});

test("least outstanding wins between the two choices", () => {
  let n = 0;
  const seq = [0, 0]; // always compares endpoint 0 with endpoint 1
  const b = createBalancer({ random: () => seq[n++ % 2] ?? 0 });
  const fn = view({ east: spec(["http://a", "http://b"]) });
  const first = b.pick(fn, "east");
  const second = b.pick(fn, "east");
  assert.deepEqual([first?.url, second?.url], ["http://a", "http://b"], "a is busy, so b");
});

test("consecutive failures eject an endpoint for a doubling period; traffic goes to the others meanwhile", () => {
  const b = createBalancer({ failureThreshold: 2, baseEjectionMs: 100, maxEjectionMs: 1000 });
  const fn = view({ east: spec(["http://a", "http://b"]) });
  const a = { url: "http://a", cluster: "east", remote: false };
  b.release(a, true, 0);
  assert.equal(b.ejected("http://a", 0), false);
  b.release(a, true, 0);
  assert.equal(b.ejected("http://a", 50), true);
  for (let i = 0; i < 20; i++) assert.equal(b.pick(fn, "east", undefined, 50)?.url, "http://b");
  assert.equal(b.ejected("http://a", 100), false, "re-admitted after 100 ms");
  b.release(a, true, 100);
  b.release(a, true, 100);
  assert.equal(b.ejected("http://a", 299), true, "second ejection lasts 200 ms");
  assert.equal(b.ejected("http://a", 300), false);
});

test("this cluster first; other clusters' external URLs when none is healthy here; back when it recovers", () => {
  const b = createBalancer({ failureThreshold: 1, baseEjectionMs: 100 });
  const fn = view({
    east: spec(["http://east-pod"]),
    west: spec(["http://west-pod"], "https://west.example/fn"),
  });
  assert.equal(b.pick(fn, "east", undefined, 0)?.url, "http://east-pod");
  b.release({ url: "http://east-pod", cluster: "east", remote: false }, true, 0);
  assert.deepEqual(b.pick(fn, "east", undefined, 10), {
    url: "https://west.example/fn",
    cluster: "west",
    remote: true,
  });
  assert.equal(
    b.pick(fn, "east", () => false, 10)?.url,
    "http://east-pod",
    "an unavailable cluster is not chosen: panic to the ejected local",
  );
  assert.equal(b.pick(fn, "east", undefined, 200)?.url, "http://east-pod");
  assert.equal(b.pick(view({}), "east"), undefined);
});

test("an unavailable cluster's instance is chosen only when no other exists", () => {
  const b = createBalancer();
  const onlyWest = view({ west: spec([], "https://west.example/fn") });
  assert.equal(b.pick(onlyWest, "east", () => false)?.url, "https://west.example/fn", "the last resort");
  const both = view({
    west: spec([], "https://west.example/fn"),
    north: spec([], "https://north.example/fn"),
  });
  for (let i = 0; i < 20; i++)
    assert.equal(b.pick(both, "east", (c) => c !== "west")?.url, "https://north.example/fn");
});

test("a function's endpoints are those of the view picked from: a new routing table's view brings its own", () => {
  const b = createBalancer();
  const before = view({ east: spec(["http://old"]), west: spec(["http://w"], "https://west.example/fn") });
  assert.equal(b.pick(before, "east")?.url, "http://old");
  const after = view({ east: spec(["http://new"]), west: spec(["http://w"], "https://west.example/fn") });
  for (let i = 0; i < 10; i++) assert.equal(b.pick(after, "east")?.url, "http://new");
  // The same view seen from another cluster: there, west's endpoints are local and east has no external URL.
  assert.equal(b.pick(after, "west")?.url, "http://w");
  assert.equal(b.pick(before, "east")?.url, "http://old");
});
