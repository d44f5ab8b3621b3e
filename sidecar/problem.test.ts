import assert from "node:assert/strict";
import { test } from "node:test";
import {
  badRequest,
  forbidden,
  internalError,
  methodNotAllowed,
  notFound,
  PROBLEM_BASE,
  ProblemError,
  payloadTooLarge,
  problemReply,
  tooManyRequests,
  unauthorized,
  unavailable,
  unsupportedMediaType,
} from "./problem.ts";

/** problemReply as a fetch Response, to read it as a client does. */
const problemResponse = (err: unknown): Response => {
  const { status, headers, body } = problemReply(err);
  return new Response(body, { status, headers });
};

// [factory call, status, slug, headers the response must have (null: must not have)]
const cases: [() => ProblemError, number, string, Record<string, string | null>][] = [
  [() => badRequest("bad"), 400, "bad-request", { "retry-after": null }],
  [() => unauthorized("no token"), 401, "unauthorized", { "www-authenticate": "Bearer" }],
  [() => forbidden("not yours"), 403, "forbidden", {}],
  [() => notFound("no route"), 404, "not-found", {}],
  [() => methodNotAllowed("GET", ["POST", "PUT"]), 405, "method-not-allowed", { allow: "POST, PUT" }],
  [() => payloadTooLarge("big"), 413, "payload-too-large", {}],
  [() => unsupportedMediaType("xml"), 415, "unsupported-media-type", {}],
  [() => tooManyRequests("slow down", 2.2), 429, "too-many-requests", { "retry-after": "3" }],
  [() => tooManyRequests("slow down"), 429, "too-many-requests", { "retry-after": "1" }],
  [() => unavailable("full", 5), 503, "unavailable", { "retry-after": "5" }],
  [() => unavailable("not ready"), 503, "unavailable", { "retry-after": "1" }],
  [() => internalError("oops"), 500, "internal", {}],
];

test("each factory answers its status, type URI and headers as application/problem+json", async () => {
  for (const [make, status, slug, headers] of cases) {
    const err = make();
    const name = `${status} ${err.detail}`;
    assert.ok(err instanceof ProblemError && err instanceof Error, name);
    assert.equal(err.status, status, name);
    assert.equal(err.type, `https://switchboard.dev/problems/${slug}`, name);
    assert.equal(err.type, `${PROBLEM_BASE}${slug}`, name);
    const res = problemResponse(err);
    assert.equal(res.status, status, name);
    assert.equal(res.headers.get("content-type"), "application/problem+json", name);
    for (const [header, value] of Object.entries(headers)) assert.equal(res.headers.get(header), value, name);
    const body = await res.json();
    assert.deepEqual(body, { type: err.type, title: err.title, status, detail: err.detail }, name);
  }
});

test("429 and 503 always carry Retry-After, even with a bad or negative value", () => {
  for (const err of [
    tooManyRequests("x", Number.NaN),
    unavailable("x", Number.POSITIVE_INFINITY),
    new ProblemError({ status: 503, slug: "x", title: "x", detail: "x" }),
  ]) {
    assert.equal(problemResponse(err).headers.get("retry-after"), "1");
  }
  assert.equal(problemResponse(unavailable("x", -4)).headers.get("retry-after"), "0");
  assert.equal(problemResponse(badRequest("x")).headers.get("retry-after"), null);
});

test("errors and extra members go into the body; standard members cannot be overridden", async () => {
  const err = badRequest("invalid event", {
    slug: "invalid-cloudevent",
    title: "Invalid CloudEvent",
    errors: [{ pointer: "/source", attribute: "source", detail: "source must be a URI-reference" }],
    members: { status: 200, eventIndex: 3 },
  });
  assert.deepEqual(await problemResponse(err).json(), {
    type: "https://switchboard.dev/problems/invalid-cloudevent",
    title: "Invalid CloudEvent",
    status: 400,
    detail: "invalid event",
    eventIndex: 3,
    errors: [{ pointer: "/source", attribute: "source", detail: "source must be a URI-reference" }],
  });
  assert.equal(err.message, "invalid event");
  assert.equal(err.name, "ProblemError");
});

test("401 names the RFC 6750 error when given", () => {
  const res = problemResponse(unauthorized("expired", { bearerError: "invalid_token" }));
  assert.equal(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
});

test("anything but a ProblemError becomes an opaque 500 that does not leak its message", async () => {
  for (const thrown of [new Error("secret path /etc/x"), "a string", undefined]) {
    const res = problemResponse(thrown);
    assert.equal(res.status, 500);
    const body: unknown = await res.json();
    assert.ok(typeof body === "object" && body !== null && "type" in body);
    assert.equal(body.type, `${PROBLEM_BASE}internal`);
    assert.doesNotMatch(JSON.stringify(body), /secret/);
  }
});

test("the cause is kept for logs", () => {
  const cause = new Error("root");
  assert.equal(badRequest("x", { cause }).cause, cause);
});
