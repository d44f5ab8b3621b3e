import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, parseDuration } from "./duration.ts";

test("Go durations parse to milliseconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["300ms", 300],
    ["10s", 10_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["2h45m", 9_900_000],
    ["1500us", 1.5],
    ["-2s", -2000],
    [".5s", 500],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test("anything else is refused with the input named", () => {
  for (const bad of ["", "10", "1 minute", "5d", "s", "1m30", "ms10", "1.2.3s"]) {
    assert.throws(
      () => parseDuration(bad),
      new RegExp(`invalid duration "${bad.replace(/\./g, "\\.")}"`),
      bad,
    );
  }
});

test("durations format back to Go syntax", () => {
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(parseDuration(formatDuration(5_430_000)), 5_430_000);
});
