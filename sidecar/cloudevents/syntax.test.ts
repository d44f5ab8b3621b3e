import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isAttributeName,
  isCloudEventsString,
  isInt32,
  isJsonMediaType,
  isRfc3339,
  parseMediaType,
} from "./syntax.ts";
import { isAbsoluteUri, isUriReference } from "./uri.ts";

const table = (f: (s: string) => boolean, good: string[], bad: string[]) => {
  for (const s of good) assert.equal(f(s), true, `should accept ${JSON.stringify(s)}`);
  for (const s of bad) assert.equal(f(s), false, `should refuse ${JSON.stringify(s)}`);
};

test("RFC 3339 timestamps", () => {
  table(
    isRfc3339,
    [
      "2026-11-21T05:52:58Z",
      "2026-11-21T05:52:58.123+01:00",
      "2026-11-21T05:52:58.123456789-12:30",
      "0001-01-01T00:00:00z",
      "2000-02-29T23:59:59Z",
      "2016-12-31T23:59:60Z",
      "2017-01-01T00:59:60+01:00", // the same leap second, local time
    ],
    [
      "",
      "yesterday",
      "2026-13-01T00:00:00Z",
      "2026-00-10T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2026-11-21T05:52:58",
      "2026-11-21T05:52Z",
      "2026-11-21T25:00:00Z",
      "2026-11-21T05:60:00Z",
      "2026-11-21T05:52:58+1:00",
      "2026-11-21T05:52:58+01:60",
      "2026-11-21T05:52:58Z ",
      "2026-11-21T05:52:58.Z",
      "2026-11-21T05:52:58,5Z",
      "+12026-11-21T05:52:58Z",
      "２０２６-11-21T05:52:58Z",
      "2026-11-21T12:30:60Z",
    ],
  );
});

test("URI-references (source) and absolute URIs (dataschema)", () => {
  table(
    isUriReference,
    [
      "",
      "/",
      "a",
      "//host",
      "https://user:pw@example.com:8080/p/a/t/h?q=1&r=2#frag",
      "http://[::1]:80/x",
      "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
      "mailto:cncf-wg-serverless@lists.cncf.io",
      "cloudevents/spec/pull/123",
      "/sensors/tn-1234567/alerts",
      "1-555-123-4567",
      "./a:b",
      "?q",
      "#f",
      "%41%42",
    ],
    [
      "a b",
      "1a:b",
      ":x",
      "http://x/?r[]=2",
      "http://x/%zz",
      "http://x/%4",
      "http://x/<y>",
      "/a#b#c",
      "x\\y",
      "é",
      "/p[1]",
      "a\tb",
    ],
  );
  table(
    isAbsoluteUri,
    ["https://example.com/schema.json", "urn:example:x", "a:", "https://x.io/s.json#/defs/a"],
    ["", "/relative", "schema.json", "//host/x", "1http://x"],
  );
});

test("media types (RFC 2045/2046)", () => {
  assert.deepEqual(parseMediaType("Application/JSON ; Charset=UTF-8"), {
    essence: "application/json",
    charset: "utf-8",
  });
  assert.deepEqual(parseMediaType('text/plain;format="flowed; x";charset=us-ascii'), {
    essence: "text/plain",
    charset: "us-ascii",
  });
  assert.deepEqual(parseMediaType("image/png"), { essence: "image/png", charset: undefined });
  for (const bad of [
    "",
    "json",
    "/json",
    "text/",
    "text /plain",
    "text/plain;",
    "text/plain; a",
    "a/b; c=",
    'a/b; c="x',
    "a/b c",
  ]) {
    assert.equal(parseMediaType(bad), undefined, bad);
  }
  const json = (s: string) => {
    const m = parseMediaType(s);
    return m !== undefined && isJsonMediaType(m);
  };
  table(
    json,
    ["application/json", "text/json", "application/cloudevents+json", "application/vnd.a+json; v=1"],
    ["application/jsonx", "text/plain", "application/json-seq"],
  );
});

test("attribute names, Strings and Integers", () => {
  table(
    isAttributeName,
    ["a", "a1", "0", "abcdefghij0123456789"],
    ["", "A", "a-b", "a_b", "é", "abcdefghij0123456789x"],
  );
  table(
    isCloudEventsString,
    ["", "plain", "€ 😀", "\u00a0", "\ud800\udead", "\ufffd"],
    [
      "\u0000",
      "a\nb",
      "\t",
      "\u007f",
      "\u009f",
      "\udead",
      "\ud800",
      "x\ud800y",
      "\ufdd0",
      "\ufffe",
      "\uffff",
      "\u{1fffe}",
      "\u{10ffff}",
    ],
  );
  assert.deepEqual([0, -1, 2147483647, -2147483648, 2147483648, -2147483649, 1.5, Number.NaN].map(isInt32), [
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
});

test("hostile inputs take linear time (no regex backtracking)", () => {
  const long = "a".repeat(1_000_000);
  const started = performance.now();
  isUriReference(`http://${long}!`);
  isUriReference(`${"%41".repeat(300_000)}%`);
  isRfc3339(`2026-11-21T05:52:58.${"1".repeat(1_000_000)}`);
  parseMediaType(`text/plain; a="${"\\x".repeat(300_000)}`);
  assert.ok(performance.now() - started < 1000, "took over a second");
});
