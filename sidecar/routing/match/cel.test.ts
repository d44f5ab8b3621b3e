import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { celEnvironment } from "../../../common/cel.ts";
import { eventOf, filtered, snapshotOf } from "../../testing/routing.ts";
import type { CloudEvent } from "../../types.ts";
import { buildRoutingTable } from "../index.ts";
import { celCompiler, celPrograms, celVars, evaluateCel } from "./cel.ts";

const compile = celCompiler();
const run = (expression: string, event: CloudEvent) => evaluateCel(compile(expression), celVars(event));

describe("CEL programs", () => {
  it("read attributes through `event`", () => {
    assert.equal(run('event.type == "com.example.test"', eventOf({})), true);
    assert.equal(run('event.type == "x"', eventOf({})), false);
    assert.equal(run("event.seq > 3", eventOf({ seq: 5 })), true);
    assert.equal(run('event.source.startsWith("/te")', eventOf({})), true);
    assert.equal(run('has(event.subject) && event.subject == "s"', eventOf({})), false);
  });

  it("compare JSON numbers with int literals", () => {
    const order = (amount: number) => eventOf({}, { json: { amount, items: [1, 2] } });
    assert.equal(run("data.amount > 100", order(150)), true);
    assert.equal(run("data.amount > 100", order(100.5)), true);
    assert.equal(run("data.amount > 100", order(100)), false);
    assert.equal(run("data.amount == 150", order(150)), true);
    assert.equal(run("int(data.amount) + 1 == 151", order(150)), true);
    assert.equal(run("data.amount + 1.0 == 151.0", order(150)), true);
    assert.equal(run("data.items.size() == 2 && data.items[0] == 1", order(1)), true);
  });

  it("parse JSON bytes lazily when the content type is JSON, and see other bytes as text", () => {
    const bytes = Buffer.from('{"amount": 250}');
    const json = eventOf({ datacontenttype: "application/cloudevents+json; charset=utf-8" }, { data: bytes });
    assert.equal(run("data.amount > 100", json), true);
    const text = eventOf({ datacontenttype: "text/plain" }, { data: Buffer.from("héllo") });
    assert.equal(run('data == "héllo"', text), true);
    const broken = eventOf({ datacontenttype: "application/json" }, { data: Buffer.from("{") });
    assert.equal(run('data == "{"', broken), true);
    assert.equal(run("data == null", eventOf({})), true);
  });

  it("turn runtime errors and non-bool results into errors", () => {
    const missing = run("data.amount > 100", eventOf({}, { json: { total: 1 } }));
    assert.ok(missing instanceof Error);
    assert.match(missing.message, /No such key: amount/);
    const notBool = run("data.total", eventOf({}, { json: { total: 1 } }));
    assert.ok(notBool instanceof Error);
    assert.match(notBool.message, /not a bool/);
  });

  it("report expressions that do not compile, once per distinct expression", () => {
    const broken = compile("data.amount >");
    assert.equal(broken.ok, false);
    assert.equal(compile("data.amount >"), broken);
    assert.equal(compile("unknown == 1").ok, false, "undeclared variables fail the type check");
    assert.equal(compile('"text"').ok, false, "a string is no filter");
  });
});

describe("CEL in the routing table", () => {
  const errors: [string, string, string][] = [];
  const table = buildRoutingTable(
    snapshotOf([
      filtered("big", [{ exact: { type: "order" } }], "data.amount > 100"),
      filtered("eu", [], 'event.source == "/eu"'),
      filtered("broken", [], "data.amount >"),
    ]),
    {
      onCelError: (route, error, phase) => errors.push([route.split("/").at(-1) ?? "", phase, error.message]),
    },
  );
  const names = (event: CloudEvent) => table.match("blue", event, "async").map((r) => r.name);

  it("compiles once and reports compile failures at build", () => {
    assert.deepEqual(
      errors.map(([route, phase]) => [route, phase]),
      [["broken", "compile"]],
    );
  });

  it("filters by attributes and data, and a runtime error means no match", () => {
    errors.length = 0;
    assert.deepEqual(names(eventOf({ type: "order" }, { json: { amount: 101 } })), ["big"]);
    assert.deepEqual(names(eventOf({ type: "order", source: "/eu" }, { json: { amount: 5 } })), ["eu"]);
    assert.deepEqual(names(eventOf({ type: "order" }, { json: { total: 101 } })), []);
    assert.deepEqual(
      errors.map(([route, phase]) => [route, phase]),
      [["big", "evaluate"]],
    );
  });

  it("accepts(route, event) applies filters and CEL to one route", () => {
    const [big] = table.match("blue", eventOf({ type: "order" }, { json: { amount: 101 } }), "async");
    assert.ok(big !== undefined);
    assert.equal(table.accepts(big, eventOf({ type: "order" }, { json: { amount: 101 } })), true);
    assert.equal(table.accepts(big, eventOf({ type: "order" }, { json: { amount: 1 } })), false);
    assert.equal(table.accepts(big, eventOf({ type: "other" }, { json: { amount: 101 } })), false);
  });
});

test("a build reuses the previous build's programs and keeps only its own for the next", () => {
  let environments = 0;
  const programs = celPrograms(() => {
    environments++;
    return celEnvironment();
  });
  const first = programs.build();
  const a = first.compile('event.type == "a"');
  const b = first.compile('event.type == "b"');
  assert.equal(b.ok, true);
  assert.equal(first.compile('event.type == "a"'), a, "one program per expression within a build");
  first.done();
  const second = programs.build();
  assert.equal(second.compile('event.type == "a"'), a, "the previous build's program, not compiled again");
  second.done();
  // The second build had no "b": a third compiles it afresh rather than keeping every expression seen.
  const third = programs.build();
  const b2 = third.compile('event.type == "b"');
  assert.notEqual(b2, b);
  assert.equal(b2.ok, true);
  assert.equal(third.compile('event.type == "a"'), a);
  assert.equal(environments, 1, "one environment for all builds");
});
