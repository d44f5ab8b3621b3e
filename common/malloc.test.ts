import assert from "node:assert/strict";
import { test } from "node:test";
import { ENV } from "../scripts/image/spec.ts";
import { payloadBytes } from "./malloc.ts";

// A threshold set with MALLOC_MMAP_THRESHOLD_=32768.
const threshold = 32_768;

test("a held payload counts its bytes below malloc's mmap threshold and whole pages from it", () => {
  assert.equal(ENV.MALLOC_MMAP_THRESHOLD_, undefined, "the image keeps glibc's own threshold");
  assert.equal(payloadBytes(0, threshold), 0);
  assert.equal(payloadBytes(threshold - 1, threshold), threshold - 1);
  // 32768 bytes + malloc's header: nine pages.
  assert.equal(payloadBytes(threshold, threshold), Math.ceil((threshold + 16) / 4096) * 4096);
  assert.equal(payloadBytes(40_000, threshold), 40_960);
  assert.equal(payloadBytes(40_960, threshold), 45_056);
  // glibc's own threshold: 128 KiB.
  assert.equal(payloadBytes(100_000), 100_000);
  assert.equal(payloadBytes(128 * 1024), 135_168);
});
