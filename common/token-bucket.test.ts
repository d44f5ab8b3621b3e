import assert from "node:assert/strict";
import { test } from "node:test";
import { tokenBucket } from "./token-bucket.ts";

test("a bucket grants its burst, then one token per 1/rate seconds, and says how long to wait", () => {
  const b = tokenBucket(10, 3, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0)], [0, 0, 0]);
  assert.equal(b.take(0), 100);
  assert.equal(b.take(50), 50);
  assert.equal(b.take(100), 0);
  assert.equal(b.take(10_000), 0, "refills");
  assert.deepEqual([b.take(10_000), b.take(10_000), b.take(10_000)], [0, 0, 100], "but never above burst");
});

test("n tokens are taken all or none, and a refund gives them back up to the burst", () => {
  const bucket = tokenBucket(1, 4, 0);
  assert.equal(bucket.take(0, 3), 0);
  assert.equal(bucket.take(0, 2), 1000, "one token left: the second arrives in 1 s");
  assert.equal(bucket.take(0, 1), 0, "the refused take took nothing");
  bucket.refund(10);
  assert.equal(bucket.take(0, 4), 0, "refunds stop at the burst");
  assert.ok(bucket.take(0, 1) > 0);
});
