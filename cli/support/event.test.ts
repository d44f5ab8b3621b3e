import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../types.ts";
import { parseArgs } from "./args.ts";
import { EVENT_FLAGS, encodeHeaderValue, eventRequest } from "./event.ts";

const files: Record<string, Buffer> = {
  "event.json": Buffer.from('{"specversion":"1.0","id":"f1","source":"/f","type":"com.f"}'),
  "bad.json": Buffer.from("{"),
  "data.bin": Buffer.from([0xff, 0x00]),
};
const read = (path: string): Buffer => {
  const f = files[path];
  if (f === undefined) throw new Error(`no file ${path}`);
  return f;
};
const request = (argv: string[]) => eventRequest(parseArgs(argv, EVENT_FLAGS), read);

test("flags make a binary-mode event: ce- headers, the data as the body, JSON content type for JSON data", () => {
  const r = request([
    "--type",
    "com.x",
    "--id",
    "1",
    "--source",
    "/s",
    "--data",
    '{"a":1}',
    "--extension",
    "tenant=blue",
  ]);
  assert.deepEqual(r.headers, {
    "ce-specversion": "1.0",
    "ce-id": "1",
    "ce-source": "/s",
    "ce-type": "com.x",
    "ce-tenant": "blue",
    "content-type": "application/json",
  });
  assert.equal(r.body.toString(), '{"a":1}');
  assert.equal(r.id, "1");
});

test("defaults: a random id, source /kubectl-switchboard, no body and no content type without data; text/plain for other data", () => {
  const r = request(["--type", "com.x"]);
  assert.match(r.id, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers["ce-source"], "/kubectl-switchboard");
  assert.equal(r.headers["content-type"], undefined);
  assert.equal(r.body.length, 0);
  assert.equal(
    request(["--type", "com.x", "--data", "hello"]).headers["content-type"],
    "text/plain; charset=utf-8",
  );
  const bin = request([
    "--type",
    "com.x",
    "--data-file",
    "data.bin",
    "--content-type",
    "application/octet-stream",
  ]);
  assert.deepEqual([...bin.body], [0xff, 0x00]);
  assert.equal(bin.headers["content-type"], "application/octet-stream");
});

test("header values are percent-encoded beyond printable ASCII, and % always", () => {
  assert.equal(encodeHeaderValue('50% "off" é'), '50%25 "off" %C3%A9');
  assert.equal(request(["--type", "com.x", "--subject", "ü"]).headers["ce-subject"], "%C3%BC");
});

test("a file holds a whole structured-mode event, sent as it is", () => {
  const r = request(["-f", "event.json"]);
  assert.deepEqual(r.headers, { "content-type": "application/cloudevents+json" });
  assert.equal(r.body, files["event.json"]);
  assert.deepEqual([r.id, r.type], ["f1", "com.f"]);
});

test("missing or clashing flags are usage errors", () => {
  const fails = (argv: string[], message: string) =>
    assert.throws(
      () => request(argv),
      (err: unknown) => err instanceof CliError && err.code === 2 && err.message === message,
    );
  fails([], "--type is required (or --file FILE with a whole event)");
  fails(["-f", "event.json", "--type", "x"], "--file holds the whole event: drop --type");
  fails(["--type", "x", "--data", "a", "--data-file", "data.bin"], "give --data or --data-file, not both");
  fails(
    ["--type", "x", "--extension", "Bad=1"],
    "--extension Bad=1: NAME=VALUE, NAME of 1-20 lowercase letters or digits",
  );
  assert.throws(() => request(["-f", "bad.json"]), /bad\.json is not JSON/);
});
