import assert from "node:assert/strict";
import { test } from "node:test";
import type { CloudEvent } from "../types.ts";
import { parseCloudEvents, STRUCTURED_CONTENT_TYPE, toBinaryHeaders, toStructured } from "./index.ts";

const LIMITS = { maxEventBytes: 1 << 16, maxBatch: 10 };
const BASE = { id: "1", source: "/s", type: "com.example.t", specversion: "1.0" };
const BINARY_BASE = { "ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-specversion": "1.0" };

/** Sends `headers` + `body` the way they travel: through web Headers (ByteStrings) and bytes. */
const fromBinary = (headers: Record<string, string>, body: Buffer | undefined): CloudEvent => {
  const [event] = parseCloudEvents(
    { method: "POST", headers: new Headers(headers), body: body ?? new Uint8Array() },
    LIMITS,
  );
  assert.ok(event);
  return event;
};
const fromStructured = (body: Uint8Array, contentType = STRUCTURED_CONTENT_TYPE): CloudEvent => {
  const [event] = parseCloudEvents(
    { method: "POST", headers: new Headers({ "content-type": contentType }), body },
    LIMITS,
  );
  assert.ok(event);
  return event;
};
const viaJson = (event: Record<string, unknown>): CloudEvent =>
  fromStructured(Buffer.from(JSON.stringify(event)));

// Events as the parsers produce them; binary mode carries strings only, so extensions are strings here.
const EVENTS: Record<string, CloudEvent> = {
  minimal: viaJson(BASE),
  unicode: viaJson({ ...BASE, subject: "Euro € 😀 café", source: "/caf%C3%A9", tenant: "日本語" }),
  percentSensitive: viaJson({
    ...BASE,
    id: '100% "quoted" a+b=c',
    subject: " leading and trailing ",
    x: "%25%zz\\",
  }),
  allOptional: viaJson({
    ...BASE,
    time: "2026-11-21T05:52:58.123+01:00",
    dataschema: "https://example.com/s.json#/defs/a",
    subject: "s",
    datacontenttype: "application/json; charset=utf-8",
    data: { a: [1, "€", null], b: { c: true } },
  }),
  jsonString: viaJson({ ...BASE, datacontenttype: "application/json", data: "just a string" }),
  jsonNull: viaJson({ ...BASE, datacontenttype: "application/json", data: null }),
  text: viaJson({ ...BASE, datacontenttype: "text/plain", data: 'line 1\nline "2" €' }),
  bytes: viaJson({ ...BASE, datacontenttype: "application/octet-stream", data_base64: "AAEC/f7/" }),
  untypedBytes: viaJson({ ...BASE, data_base64: "gICA" }),
  xmlParams: viaJson({ ...BASE, datacontenttype: 'application/xml; q="a b"', data: '<much wow="xml"/>' }),
};

test("binary round trip: parse(toBinaryHeaders(e), e.data) deep-equals e", () => {
  for (const [name, event] of Object.entries(EVENTS)) {
    const headers = toBinaryHeaders(event);
    for (const [header, value] of Object.entries(headers)) {
      if (header.startsWith("ce-")) assert.match(value, /^[\x20-\x7e]*$/, `${name}: ${value}`);
    }
    assert.deepStrictEqual(fromBinary(headers, event.data), event, name);
  }
});

test("structured round trip: parse(toStructured(e)) deep-equals e, with Integer and Boolean extensions too", () => {
  const typed = viaJson({ ...BASE, count: 42, negative: -2147483648, flag: false, data: { n: 1 } });
  for (const [name, event] of Object.entries({ ...EVENTS, typed })) {
    const { contentType, body } = toStructured(event);
    assert.equal(contentType, "application/cloudevents+json; charset=utf-8");
    assert.deepStrictEqual(fromStructured(body, contentType), event, name);
  }
});

test("binary → structured splices the payload bytes in as received; parsing it back re-encodes the JSON once", () => {
  const body = Buffer.from('{ "spaced" : [1, 2.50, "x"] }');
  const event = fromBinary({ ...BINARY_BASE, "content-type": "application/json" }, body);
  const { body: structured } = toStructured(event);
  assert.match(structured.toString(), /"data":\{ "spaced" : \[1, 2\.50, "x"\] \}\}$/);
  const back = fromStructured(structured);
  assert.deepStrictEqual(back.attributes, event.attributes);
  assert.deepStrictEqual(back.json, event.json);
  assert.equal(back.data?.toString(), '{"spaced":[1,2.5,"x"]}');
  const withBom = fromBinary(
    { ...BINARY_BASE, "content-type": "application/json" },
    Buffer.from('\ufeff{"a":1}'),
  );
  assert.deepEqual(JSON.parse(toStructured(withBom).body.toString()).data, { a: 1 });
});

test("JSON data without datacontenttype is sent as content-type application/json (JSON format §3.1.2)", () => {
  const event = viaJson({ ...BASE, data: "I'm just a string" });
  const headers = toBinaryHeaders(event);
  assert.equal(headers["content-type"], "application/json");
  assert.equal(event.data?.toString(), '"I\'m just a string"');
  const back = fromBinary(headers, event.data);
  assert.deepStrictEqual(back, {
    ...event,
    attributes: { ...event.attributes, datacontenttype: "application/json" },
  });
  assert.equal(toBinaryHeaders(EVENTS.bytes ?? viaJson(BASE))["content-type"], "application/octet-stream");
  assert.equal(toBinaryHeaders(EVENTS.minimal ?? viaJson(BASE))["content-type"], undefined);
});

test("binary headers are ce-<name>, values canonical strings", () => {
  const event = viaJson({ ...BASE, count: 7, flag: true, subject: "a b" });
  assert.deepEqual(toBinaryHeaders(event), {
    "ce-id": "1",
    "ce-source": "/s",
    "ce-type": "com.example.t",
    "ce-specversion": "1.0",
    "ce-count": "7",
    "ce-flag": "true",
    "ce-subject": "a b",
  });
});

test("printable ASCII travels as it is (as the SDKs read it); anything else is percent-encoded", () => {
  const subject = (value: string) => toBinaryHeaders(viaJson({ ...BASE, subject: value }))["ce-subject"];
  assert.equal(subject('50% "off"'), '50% "off"');
  assert.equal(subject("100%25"), "100%2525");
  assert.equal(subject("café 50%"), "caf%C3%A9%2050%25");
  assert.equal(subject(" padded "), "%20padded%20");
});

test("structured bodies use data for JSON and UTF-8 text, data_base64 for the rest", () => {
  const member = (e: CloudEvent | undefined) => {
    const parsed = JSON.parse(toStructured(e ?? viaJson(BASE)).body.toString());
    return "data_base64" in parsed ? "data_base64" : "data" in parsed ? "data" : "none";
  };
  assert.equal(member(EVENTS.allOptional), "data");
  assert.equal(member(EVENTS.text), "data");
  assert.equal(member(EVENTS.bytes), "data_base64");
  assert.equal(member(EVENTS.minimal), "none");
  const latin1 = fromBinary({ ...BINARY_BASE, "content-type": "text/plain" }, Buffer.from([0xe9]));
  assert.equal(member(latin1), "data_base64");
});
