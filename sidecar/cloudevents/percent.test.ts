import assert from "node:assert/strict";
import { test } from "node:test";
import { ProblemError } from "../problem.ts";
import { parseCloudEvents } from "./index.ts";
import { decodeHeaderValue, encodeHeaderValue } from "./percent.ts";

// Header values as they reach the gateway: one char per byte (Node's parser and web Headers are ByteStrings).
const latin1 = (utf8: string): string => Buffer.from(utf8, "utf8").toString("latin1");

const DECODES: [string, string][] = [
  ["plain-value_1.2~", "plain-value_1.2~"],
  ["%20", " "],
  ["%25", "%"],
  ["100%25", "100%"],
  ["%E2%82%AC", "€"],
  ["%e2%82%ac", "€"],
  ["%41%42c", "ABc"], // unnecessarily encoded: accepted
  ["Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro € 😀"],
  ["a b", "a b"], // spaces allowed unencoded on input
  [latin1("€ raw"), "€ raw"], // unencoded UTF-8 bytes still decode
  // What the official Go and JavaScript SDKs send: values not percent-encoded. A '"' is a
  // literal character, and a '%' without two hex digits after it is a literal '%'.
  ['"quoted value"', '"quoted value"'],
  ['say "hi"', 'say "hi"'],
  ['x"%20"y', 'x" "y'],
  ["50% off", "50% off"],
  ["%ZZ", "%ZZ"],
  ["%2", "%2"],
  ["abc%", "abc%"],
  ["%%41", "%A"],
];

const REFUSED: [string, RegExp][] = [
  ["%E2%82", /UTF-8/], // truncated sequence
  ["%C0%A0", /UTF-8/], // overlong U+0020
  ["%E0%80%AF", /UTF-8/], // overlong "/"
  ["%ED%A0%80", /UTF-8/], // a surrogate
  ["%F4%90%80%80", /UTF-8/], // above U+10FFFF
  ["%FF", /UTF-8/],
  ["%80", /UTF-8/], // lone continuation byte
  ["caf\u00e9", /UTF-8/], // a raw Latin-1 byte (0xE9 alone)
];

test("header values are percent-decoded (leniently, as the SDKs send them) and UTF-8 checked", () => {
  for (const [raw, value] of DECODES) assert.equal(decodeHeaderValue(raw), value, raw);
  for (const [raw, why] of REFUSED) assert.throws(() => decodeHeaderValue(raw), why, raw);
});

test("through a request: values that are not UTF-8 are a 400 naming the attribute and the header", () => {
  const limits = { maxEventBytes: 1024, maxBatch: 1 };
  const base = { "ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-specversion": "1.0" };
  for (const [raw] of REFUSED) {
    const headers = new Headers({ ...base, "ce-subject": raw });
    let caught: unknown;
    try {
      parseCloudEvents({ method: "POST", headers, body: new Uint8Array() }, limits);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ProblemError, raw);
    assert.equal(caught.status, 400, raw);
    assert.equal(caught.errors?.[0]?.attribute, "subject", raw);
    assert.match(caught.errors?.[0]?.detail ?? "", /ce-subject/, raw);
  }
  for (const [raw, value] of DECODES) {
    const headers = new Headers({ ...base, "ce-subject": raw });
    const [event] = parseCloudEvents({ method: "POST", headers, body: new Uint8Array() }, limits);
    assert.equal(event?.attributes.subject, value, raw);
  }
});

test("encoding follows §3.1.3.2: space, '\"', '%' and non-printable-ASCII as upper-case UTF-8 escapes", () => {
  const cases: [string, string][] = [
    ["simple", "simple"],
    ["Euro € 😀", "Euro%20%E2%82%AC%20%F0%9F%98%80"],
    ["space encoded", "space%20encoded"],
    ["percent%encoded", "percent%25encoded"],
    ['quote"encoded', "quote%22encoded"],
    ["café", "caf%C3%A9"],
    ["a+b=c&d/e?f#g:h@i!~*'()", "a+b=c&d/e?f#g:h@i!~*'()"],
    ["tab\tand\u007f", "tab%09and%7F"],
    ["\u0080\u07ff\u0800\uffff", "%C2%80%DF%BF%E0%A0%80%EF%BF%BF"],
    ["\u{10ffff}", "%F4%8F%BF%BF"],
    ["", ""],
  ];
  for (const [value, encoded] of cases) {
    assert.equal(encodeHeaderValue(value), encoded, value);
    assert.equal(decodeHeaderValue(encoded), value, encoded);
  }
  assert.throws(() => encodeHeaderValue("a\ud800b"), /surrogate/);
  assert.throws(() => encodeHeaderValue("\udc00"), /surrogate/);
});

test("random strings survive encode → Headers → decode", () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = [" ", '"', "%", "a", "Z", "~", "€", "é", "😀", "\u{10ffff}", "\u00a0", "%25", "\\", "'"];
  for (let i = 0; i < 500; i++) {
    let value = "";
    for (let n = random(12); n > 0; n--) value += alphabet[random(alphabet.length)];
    const header = new Headers({ "ce-x": encodeHeaderValue(value) }).get("ce-x") ?? "";
    assert.equal(decodeHeaderValue(header), value, JSON.stringify(value));
  }
});
