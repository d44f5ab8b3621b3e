import assert from "node:assert/strict";
import { test } from "node:test";
import { ProblemError } from "../problem.ts";
import type { CloudEvent } from "../types.ts";
import { checkMethod, contentMode, parseCloudEvents } from "./index.ts";

const LIMITS = { maxEventBytes: 4096, maxBatch: 3 };
const BASE = { id: "1", source: "/s", type: "com.example.t", specversion: "1.0" };
const CE_JSON = "application/cloudevents+json";

const request = (
  headers: Record<string, string | undefined>,
  body: string | Uint8Array = "",
  method = "POST",
) => {
  const h = new Headers();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h.set(k, v);
  return { method, headers: h, body: typeof body === "string" ? Buffer.from(body) : body };
};
/** Parses a structured-mode request holding `event` (JSON-encoded unless already a string). */
const structured = (event: unknown, contentType = CE_JSON): CloudEvent[] =>
  parseCloudEvents(
    request({ "content-type": contentType }, typeof event === "string" ? event : JSON.stringify(event)),
    LIMITS,
  );
/** Parses a binary-mode request: the base ce-* headers overridden/removed by `headers`. */
const binary = (headers: Record<string, string | undefined>, body: string | Uint8Array = ""): CloudEvent[] =>
  parseCloudEvents(
    request(
      { "ce-id": "1", "ce-source": "/s", "ce-type": "com.example.t", "ce-specversion": "1.0", ...headers },
      body,
    ),
    LIMITS,
  );
const one = (events: CloudEvent[]): CloudEvent => {
  assert.equal(events.length, 1);
  const [event] = events;
  assert.ok(event);
  return event;
};

/** The ProblemError `f` throws, asserting its status and that `errors` names each of `attributes`. */
const rejects = (f: () => unknown, status: number, attributes: string[] = [], label = ""): ProblemError => {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProblemError, `${label}: expected a ProblemError, got ${caught}`);
  assert.equal(caught.status, status, `${label}: ${caught.detail}`);
  const named = (caught.errors ?? []).map((e) => e.attribute);
  for (const a of attributes)
    assert.ok(named.includes(a), `${label}: ${a} not named in ${JSON.stringify(caught.errors)}`);
  return caught;
};

// [attribute, valid values, invalid values] — each valid one is accepted as is, each invalid one is a 400 naming it.
const RULES: [string, unknown[], unknown[]][] = [
  ["id", ["x", "€-1"], ["", 5, true, { a: 1 }, "a\u0000b"]],
  [
    "source",
    [
      "/s",
      "https://example.com/x?y=1#z",
      "urn:uuid:6e8bc430",
      "mailto:a@b.c",
      "1-555-123-4567",
      "cloudevents/spec",
    ],
    ["", "a b", "http://exa mple.com", "/x%zz", "1a:b", "<x>", 7],
  ],
  ["specversion", ["1.0"], ["0.3", "1.0.2", "2.0", "1", 1]],
  ["type", ["com.example.t"], ["", 1, false]],
  [
    "time",
    [
      "2026-11-21T05:52:58Z",
      "2026-11-21T05:52:58.123+01:00",
      "2026-11-21t05:52:58z",
      "2024-02-29T00:00:00-08:00",
      "2016-12-31T23:59:60Z",
    ],
    [
      "2026-13-01T00:00:00Z",
      "yesterday",
      "2026-11-21",
      "2026-11-21 05:52:58Z",
      "2023-02-29T00:00:00Z",
      "2026-11-21T24:00:00Z",
      "2026-11-21T05:52:58",
      "2026-11-21T05:52:58.Z",
      "2026-11-21T05:52:58+0100",
      "2026-11-21T12:00:60Z",
      1_700_000_000,
    ],
  ],
  [
    "dataschema",
    ["https://example.com/s.json", "urn:example:schema", "https://x.io/s.json#/defs/a"],
    ["/relative", "s.json", "", "https://x.io/a b"],
  ],
  [
    "datacontenttype",
    [
      "application/json",
      "text/plain; charset=utf-8",
      'multipart/form-data; boundary="a b"',
      "application/vnd.x+json",
    ],
    ["json", "application/", "text/plain;", "a b/c", "text/plain; charset", "", 1],
  ],
  ["subject", ["x", "€ 100%"], ["", 1, "a\nb"]],
  [
    "tenant",
    ["acme", "", 42, -2147483648, 2147483647, true, false],
    [{ a: 1 }, [1], 2147483648, -2147483649, 1.5],
  ],
  ["abcdefghij0123456789", ["twenty chars is fine"], []],
];
const BAD_NAMES = ["Abc", "a-b", "a_b", "abcdefghij0123456789x", "__proto__", ""]; // "data" is the payload member here

test("structured mode: each attribute rule accepts its valid values and names the attribute of invalid ones", () => {
  for (const [name, good, bad] of RULES) {
    for (const value of good) {
      const event = one(structured({ ...BASE, [name]: value }));
      assert.equal(event.attributes[name], value, `${name}=${JSON.stringify(value)}`);
    }
    for (const value of bad)
      rejects(() => structured({ ...BASE, [name]: value }), 400, [name], `${name}=${value}`);
  }
  for (const name of BAD_NAMES) rejects(() => structured({ ...BASE, [name]: "v" }), 400, [name], name);
});

test("binary mode: the same rules apply to ce-* header values", () => {
  for (const [name, good, bad] of RULES) {
    const header = name === "datacontenttype" ? "content-type" : `ce-${name}`;
    for (const value of good.filter((v) => typeof v === "string" && v !== "")) {
      const raw = header === "content-type" ? String(value) : encodeURIComponent(String(value));
      const event = one(binary({ [header]: raw }));
      assert.equal(event.attributes[name], value, `${header}: ${value}`);
    }
    for (const value of bad.filter(
      (v) => typeof v === "string" && !v.includes("\n") && !v.includes("\u0000"),
    )) {
      rejects(() => binary({ [header]: String(value) }), 400, [name], `${header}: ${value}`);
    }
  }
  for (const name of ["a_b", "abcdefghij0123456789x", "data"])
    rejects(() => binary({ [`ce-${name}`]: "v" }), 400, [name]);
  rejects(() => binary({ "ce-ctl": "a%0Ab" }), 400, ["ctl"], "control character after decoding");
});

test("a wrong specversion is a 400 that names the version", () => {
  const err = rejects(() => structured({ ...BASE, specversion: "0.3" }), 400, ["specversion"]);
  assert.match(err.detail, /"0\.3" is not supported/);
  assert.match(rejects(() => binary({ "ce-specversion": "2.0" }), 400, ["specversion"]).detail, /"2\.0"/);
});

test("required attributes: each missing one is named, in both modes", () => {
  for (const name of ["id", "source", "type", "specversion"]) {
    rejects(() => structured({ ...BASE, [name]: undefined }), 400, [name], `structured without ${name}`);
    rejects(() => structured({ ...BASE, [name]: null }), 400, [name], `structured ${name}: null`);
    if (name !== "specversion") rejects(() => binary({ [`ce-${name}`]: undefined }), 400, [name]);
  }
});

test("every fault of an event is reported, not just the first", () => {
  const err = rejects(
    () => structured({ specversion: "1.0", source: "a b", time: "yesterday", Bad: 1, big: 2 ** 40 }),
    400,
    ["id", "type", "source", "time", "Bad", "big"],
  );
  assert.equal(err.errors?.length, 6);
  assert.equal(err.errors?.find((e) => e.attribute === "source")?.pointer, "/source");
  assert.match(err.detail, /and 5 more/);
  const b = rejects(() => binary({ "ce-source": "a b", "ce-time": "x", "ce-id": undefined }), 400, [
    "source",
    "time",
    "id",
  ]);
  assert.equal(b.errors?.length, 3);
});

test("null attributes in the JSON format are absent; JSON cannot pollute prototypes", () => {
  const event = one(structured({ ...BASE, subject: null, time: null }));
  assert.deepEqual(Object.keys(event.attributes).sort(), ["id", "source", "specversion", "type"]);
  rejects(
    () => structured(`{"id":"1","source":"/s","type":"t","specversion":"1.0","__proto__":{"x":1}}`),
    400,
    ["__proto__"],
  );
  assert.equal(Object.getPrototypeOf(event.attributes), Object.prototype);
});

test("content modes are chosen by content-type, then ce-specversion; ce-* headers without it are 400; anything else is 415", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  assert.equal(
    contentMode(h({ "content-type": "application/cloudevents+json; charset=UTF-8" })),
    "structured",
  );
  assert.equal(contentMode(h({ "Content-Type": "Application/CloudEvents-Batch+JSON" })), "batched");
  assert.equal(contentMode(h({ "content-type": "application/json", "CE-SpecVersion": "1.0" })), "binary");
  assert.equal(contentMode(h({ "ce-specversion": "1.0" })), "binary");
  assert.equal(contentMode(h({ "content-type": CE_JSON, "ce-specversion": "1.0" })), "structured");
  for (const headers of [
    {},
    { "content-type": "application/json" },
    { "content-type": "application/cloudevents+avro" },
    { "content-type": "application/cloudevents+json; charset=iso-8859-1" },
    { "content-type": "not a type" },
  ]) {
    rejects(() => parseCloudEvents(request(headers, "{}"), LIMITS), 415, [], JSON.stringify(headers));
  }
  const missing = rejects(
    () =>
      parseCloudEvents(request({ "content-type": "text/plain", "ce-id": "1", "ce-type": "t" }, "{}"), LIMITS),
    400,
  );
  assert.equal(
    missing.detail,
    "ce-specversion is missing: a binary-mode CloudEvent needs ce-specversion: 1.0",
  );
  assert.equal(missing.errors?.[0]?.attribute, "specversion");
});

test("methods other than POST are 405 with Allow, unless the caller allows them", () => {
  const err = rejects(() => parseCloudEvents(request({ "content-type": CE_JSON }, "{}", "GET"), LIMITS), 405);
  assert.equal(err.headers.allow, "POST");
  const put = request({ "content-type": CE_JSON }, JSON.stringify(BASE), "PUT");
  assert.equal(parseCloudEvents(put, { ...LIMITS, methods: ["POST", "PUT"] }).length, 1);
  assert.doesNotThrow(() => checkMethod("POST"));
  assert.equal(rejects(() => checkMethod("DELETE", ["PUT"]), 405).headers.allow, "PUT");
});

test("binary mode: mixed-case headers, content-type as datacontenttype, body as data (shared, not copied)", () => {
  const body = new Uint8Array(Buffer.from('{"a":[1,2]}'));
  const event = one(
    parseCloudEvents(
      request(
        {
          "CE-ID": "9",
          "Ce-Source": "/s",
          "ce-TYPE": "t",
          "Ce-SpecVersion": "1.0",
          "CONTENT-TYPE": "application/json",
          "CE-Tenant": "acme",
        },
        body,
      ),
      LIMITS,
    ),
  );
  assert.deepEqual(event.attributes, {
    id: "9",
    source: "/s",
    type: "t",
    specversion: "1.0",
    datacontenttype: "application/json",
    tenant: "acme",
  });
  assert.equal(event.data?.buffer, body.buffer);
  assert.deepEqual(event.json, { a: [1, 2] });
});

test("binary mode: no body, non-JSON bodies, JSON bodies and ce-datacontenttype", () => {
  const empty = one(binary({ "content-type": "application/json" }));
  assert.equal(empty.data, undefined);
  assert.equal("json" in empty, false);
  const text = one(binary({ "content-type": "text/plain" }, "hello"));
  assert.equal(text.data?.toString(), "hello");
  assert.equal("json" in text, false);
  const untyped = one(binary({}, "{}"));
  assert.equal("json" in untyped, false);
  assert.equal(one(binary({ "content-type": "application/vnd.example+json" }, "null")).json, null);
  assert.equal(one(binary({ "content-type": "text/json; charset=utf-8" }, '"s"')).json, "s");
  assert.equal("json" in one(binary({ "content-type": "application/json; charset=utf-16" }, "{}")), false);
  rejects(() => binary({ "content-type": "application/json" }, "{nope"), 400);
  rejects(() => binary({ "content-type": "application/json" }, Buffer.from([0x22, 0xff, 0x22])), 400);
  rejects(() => binary({ "ce-datacontenttype": "text/plain" }), 400, ["datacontenttype"]);
});

test("structured mode: data, data_base64 and datacontenttype", () => {
  const json = one(structured({ ...BASE, data: { a: 1 } }));
  assert.deepEqual(json.json, { a: 1 });
  assert.equal(json.data?.toString(), '{"a":1}');
  const jsonString = one(structured({ ...BASE, datacontenttype: "application/json", data: "hi" }));
  assert.equal(jsonString.data?.toString(), '"hi"');
  assert.equal(jsonString.json, "hi");
  const text = one(structured({ ...BASE, datacontenttype: "text/plain", data: "héllo {" }));
  assert.equal(text.data?.toString(), "héllo {");
  assert.equal("json" in text, false);
  const nul = one(structured({ ...BASE, data: null }));
  assert.equal(nul.json, null);
  assert.equal(nul.data?.toString(), "null");
  assert.equal(one(structured(BASE)).data, undefined);
  const b64 = one(
    structured({ ...BASE, datacontenttype: "application/octet-stream", data_base64: "AAEC/w==" }),
  );
  assert.deepEqual([...(b64.data ?? [])], [0, 1, 2, 255]);
  assert.equal("json" in b64, false);
  const b64json = one(
    structured({ ...BASE, datacontenttype: "application/json", data_base64: "eyJhIjoxfQ==" }),
  );
  assert.deepEqual(b64json.json, { a: 1 });
  const pointer = (e: ProblemError) => e.errors?.map((x) => x.pointer);
  assert.deepEqual(pointer(rejects(() => structured({ ...BASE, data: "a", data_base64: "YQ==" }), 400)), [
    "/data_base64",
  ]);
  for (const bad of ["!!!!", "YQ", "YQ=", "Y===", "YQ==YQ==", "a-_b", 12]) {
    assert.deepEqual(
      pointer(rejects(() => structured({ ...BASE, data_base64: bad }), 400)),
      ["/data_base64"],
      String(bad),
    );
  }
  rejects(() => structured({ ...BASE, datacontenttype: "application/json", data_base64: "e30K/w==" }), 400);
  assert.deepEqual(
    pointer(rejects(() => structured({ ...BASE, datacontenttype: "text/xml", data: { a: 1 } }), 400)),
    ["/data"],
  );
  rejects(
    () =>
      structured(
        `{"id":"1","source":"/s","type":"t","specversion":"1.0","datacontenttype":"text/plain","data":"\\ud800"}`,
      ),
    400,
  );
});

test("structured mode: malformed bodies are 400", () => {
  for (const body of ["", "{", "[]", '"event"', "null", Buffer.from([0x7b, 0xff, 0x7d])]) {
    rejects(
      () => parseCloudEvents(request({ "content-type": CE_JSON }, body), LIMITS),
      400,
      [],
      String(body),
    );
  }
  rejects(() => structured(`{"id":"\\udead","source":"/s","type":"t","specversion":"1.0"}`), 400, ["id"]);
});

test("batched mode: empty, several, limits and per-entry faults", () => {
  const batch = (events: unknown) => structured(events, "application/cloudevents-batch+json");
  assert.deepEqual(batch([]), []);
  const two = batch([
    { ...BASE, id: "a" },
    { ...BASE, id: "b", data_base64: "YQ==" },
  ]);
  assert.deepEqual(
    two.map((e) => e.attributes.id),
    ["a", "b"],
  );
  rejects(() => batch([BASE, BASE, BASE, BASE]), 413);
  rejects(() => batch(BASE), 400);
  const err = rejects(() => batch([{ ...BASE, id: "" }, "x", { ...BASE, source: "a b" }]), 400, [
    "id",
    "source",
  ]);
  assert.deepEqual(
    err.errors?.map((e) => e.pointer),
    ["/0/id", "/1", "/2/source"],
  );
  rejects(() => batch([BASE, { ...BASE, data: "x".repeat(LIMITS.maxEventBytes) }]), 413);
});

test("an event over maxEventBytes is 413 in every mode", () => {
  const big = "x".repeat(LIMITS.maxEventBytes);
  rejects(() => binary({ "content-type": "text/plain" }, big), 413);
  rejects(() => binary({ "content-type": "text/plain", "ce-big": "y".repeat(200) }, big.slice(200)), 413);
  rejects(() => structured({ ...BASE, datacontenttype: "text/plain", data: big }), 413);
  assert.equal(
    one(binary({ "content-type": "text/plain" }, big.slice(100))).data?.length,
    LIMITS.maxEventBytes - 100,
  );
});

test("a ce-* or content-type header sent twice is a 400 naming it, never merged into one value", () => {
  const headers = new Headers({ "ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-specversion": "1.0" });
  const view = Object.assign(headers, { repeated: ["ce-id", "content-type", "x-other"] });
  let caught: unknown;
  try {
    parseCloudEvents(
      { method: "POST", headers: view, body: new Uint8Array() },
      { maxEventBytes: 1024, maxBatch: 1 },
    );
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProblemError);
  assert.equal(caught.status, 400);
  assert.equal(caught.type, "https://switchboard.dev/problems/repeated-header");
  assert.equal(caught.detail, "header ce-id, content-type sent more than once");
});
