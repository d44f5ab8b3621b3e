// Evidence for the choice in index.ts: how the `cloudevents` npm package (v10) behaves on the
// cases the gateway must get right. Each test pins a behaviour that rules out (or, at the end,
// confirms interop with) the package; if an upgrade fixes one, its test fails — revisit then.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HTTP, CloudEvent as SdkEvent } from "cloudevents";
import { parseCloudEvents, toStructured } from "./index.ts";

const BASE_HEADERS = { "ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-specversion": "1.0" };
const BASE = { id: "1", source: "/s", type: "t", specversion: "1.0" };
const CE_JSON = { "content-type": "application/cloudevents+json" };
const toEvent = (headers: Record<string, string>, body?: unknown) => {
  const event = HTTP.toEvent({ headers, body });
  assert.ok(!Array.isArray(event));
  return event;
};

test("HTTP.toEvent does not percent-decode ce-* headers, nor refuse invalid escapes", () => {
  assert.equal(toEvent({ ...BASE_HEADERS, "ce-subject": "%E2%82%AC%20x" }).subject, "%E2%82%AC%20x");
  assert.equal(toEvent({ ...BASE_HEADERS, "ce-subject": "%ZZ" }).subject, "%ZZ");
});

test("HTTP.toEvent does not validate binary or structured events (built with strict=false)", () => {
  const binary = toEvent({ "ce-id": "1", "ce-specversion": "1.0" });
  assert.equal(binary.source, undefined);
  assert.equal(binary.type, undefined);
  const structured = toEvent(
    CE_JSON,
    JSON.stringify({ id: "1", specversion: "1.0", type: "t", Bad: { x: 1 } }),
  );
  assert.equal(structured.source, undefined);
  assert.deepEqual(structured.Bad, { x: 1 });
});

test("HTTP.toEvent invents id and time, and replaces an invalid time with the current time", () => {
  const noId = toEvent(CE_JSON, JSON.stringify({ source: "/s", type: "t", specversion: "1.0" }));
  assert.match(noId.id, /^[0-9a-f-]{36}$/);
  assert.ok(noId.time);
  for (const bad of ["yesterday", "2026-13-01T00:00:00Z"]) {
    const time = toEvent({ ...BASE_HEADERS, "ce-time": bad }).time;
    assert.ok(time && Math.abs(Date.parse(time) - Date.now()) < 60_000, `${bad} became ${time}`);
  }
  // …and rewrites a valid one (the offset is lost).
  assert.equal(
    toEvent({ ...BASE_HEADERS, "ce-time": "2026-11-21T05:52:58.123+01:00" }).time,
    "2026-11-21T04:52:58.123Z",
  );
});

test("HTTP.toEvent detects binary mode by ce-id, not ce-specversion, and drops upper-case extension headers", () => {
  assert.throws(
    () => toEvent({ "ce-specversion": "1.0", "ce-source": "/s", "ce-type": "t" }, "x"),
    /no cloud event/,
  );
  assert.equal(toEvent({ ...BASE_HEADERS, "CE-Tenant": "acme" }).tenant, undefined);
});

test("HTTP.toEvent loses every attribute of a structured body given as bytes", () => {
  const event = toEvent(CE_JSON, Buffer.from(JSON.stringify({ ...BASE, id: "mine" })));
  assert.notEqual(event.id, "mine");
  assert.equal(event.source, undefined);
});

test("HTTP.toEvent accepts data and data_base64 together (data_base64 wins) and invalid base64 (empty data)", () => {
  const both = toEvent(CE_JSON, JSON.stringify({ ...BASE, data: "a", data_base64: "Yg==" }));
  assert.equal(both.data_base64, "Yg==");
  const bad = toEvent(CE_JSON, JSON.stringify({ ...BASE, data_base64: "!!!" }));
  assert.equal(ArrayBuffer.isView(bad.data) ? bad.data.byteLength : -1, 0);
});

test("strict new CloudEvent() accepts what CloudEvents 1.0 forbids", () => {
  const accepted: Record<string, unknown>[] = [
    { ...BASE, specversion: "2.0" },
    { ...BASE, abcdefghijabcdefghijabcdefghij: "x" }, // name over 20 characters
    { ...BASE, ext: { a: 1 } }, // object value
    { ...BASE, ext: [1] }, // array value
    { ...BASE, ext: 2 ** 40 }, // beyond Integer (int32)
    { ...BASE, datacontenttype: "not a media type" },
  ];
  for (const event of accepted) assert.doesNotThrow(() => new SdkEvent(event), JSON.stringify(event));
  assert.notEqual(new SdkEvent({ ...BASE, id: "" }).id, ""); // an empty id is replaced, not refused
});

test("strict new CloudEvent() stops at the first fault", () => {
  try {
    new SdkEvent({ id: "1", specversion: "1.0", dataschema: "not a uri" });
    assert.fail("expected a ValidationError");
  } catch (err) {
    assert.ok(err instanceof Error && "errors" in err && Array.isArray(err.errors));
    assert.equal(err.errors.length, 1); // source, type and dataschema are all wrong
  }
});

test("HTTP.binary neither percent-encodes header values nor leaves time alone", () => {
  const { headers } = HTTP.binary(
    new SdkEvent({ ...BASE, subject: '€ 100% "q"', time: "2026-11-21T05:52:58+01:00" }),
  );
  assert.equal(headers["ce-subject"], '€ 100% "q"');
  assert.equal(headers["ce-time"], "2026-11-21T04:52:58.000Z");
});

test("interop: the package's strict validation accepts what toStructured sends, and we read what it sends", () => {
  const [ours] = parseCloudEvents(
    {
      method: "POST",
      headers: new Headers({
        ...BASE_HEADERS,
        "ce-subject": "%E2%82%AC",
        "content-type": "application/json",
      }),
      body: Buffer.from('{"a":1}'),
    },
    { maxEventBytes: 1024, maxBatch: 1 },
  );
  assert.ok(ours);
  const sdk = new SdkEvent(JSON.parse(toStructured(ours).body.toString()));
  assert.equal(sdk.subject, "€");
  assert.deepEqual(sdk.data, { a: 1 });
  const sent = HTTP.structured(
    new SdkEvent({ ...BASE, time: "2026-11-21T05:52:58Z", tenant: "acme", data: { b: 2 } }),
  );
  const [back] = parseCloudEvents(
    {
      method: "POST",
      headers: new Headers({ "content-type": String(sent.headers["content-type"]) }),
      body: Buffer.from(String(sent.body)),
    },
    { maxEventBytes: 1024, maxBatch: 1 },
  );
  assert.equal(back?.attributes.tenant, "acme");
  assert.equal(back?.attributes.time, "2026-11-21T05:52:58.000Z");
  assert.deepEqual(back?.json, { b: 2 });
});
