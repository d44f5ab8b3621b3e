// Interoperability with the official CloudEvents SDKs, as publishers and as function receivers:
// the JavaScript SDK (`cloudevents` on npm) and the Go SDK (github.com/cloudevents/sdk-go/v2, built
// by this test from the Go module proxy: e2e/sdk-go). Both send binary-mode values without
// percent-encoding them ('50% "off"') and read them back without decoding; an event must arrive
// at a function written with either SDK exactly as it was published with either.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CloudEvent, type CloudEventV1, HTTP } from "cloudevents";
import { twoTenants } from "../sidecar/testing/tenant.ts";
import { startFunction } from "./functions.ts";
import { cleanup } from "./harness.ts";
import { freePort } from "./ports.ts";
import { run, start, waitFor } from "./proc.ts";
import { repoRoot } from "./tools.ts";

const SUBJECT = '50% "off", 100 % of items';
const NOTE = 'a "quoted" value, 3% and %zz';

const sdkGo = join(repoRoot, ".work", "bin", "sdk-go");
await run("go", ["build", "-C", join(repoRoot, "e2e", "sdk-go"), "-o", sdkGo, "."], {
  env: { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0" },
});

// Tenant a's function is written with the JavaScript SDK, tenant b's with the Go SDK.
const jsFunction = await startFunction();
cleanup(() => jsFunction.close());
const goPort = await freePort();
const goLog = join(repoRoot, ".work", `sdk-go-receiver-${goPort}.log`);
const goFunction = start({
  name: "sdk-go receiver",
  command: sdkGo,
  args: ["receive", String(goPort)],
  log: goLog,
});
cleanup(() => goFunction.stop());
await waitFor("the Go SDK receiver to listen", async () =>
  readFileSync(goLog, "utf8").includes("listening") ? true : undefined,
);
const { a, b, gateway } = await twoTenants("sdk", [jsFunction.url, `http://127.0.0.1:${goPort}`]);
const g = await gateway("sdk");

/** The events the Go SDK receiver printed, one JSON object per line. */
const goReceived = (): Record<string, unknown>[] =>
  readFileSync(goLog, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The event the JavaScript SDK reads from the `n`-th request that reached tenant a's function. */
const jsReceived = async (n: number): Promise<CloudEventV1<unknown>> => {
  const got = await jsFunction.waitFor(n);
  const request = got[n - 1];
  assert.ok(request);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) if (typeof v === "string") headers[k] = v;
  const event = HTTP.toEvent({ headers, body: request.body });
  assert.ok(!Array.isArray(event));
  return event;
};

const jsEvent = (id: string, type: string) =>
  new CloudEvent({ id, source: "/sdk-js", type, subject: SUBJECT, note: NOTE, data: { from: "js" } });

const post = (message: { headers: Record<string, unknown>; body: unknown }, token: string) =>
  fetch(`${g.url}/`, {
    method: "POST",
    headers: { ...(message.headers as Record<string, string>), authorization: `Bearer ${token}` },
    body: String(message.body),
  });

test("JavaScript SDK → gateway → JavaScript SDK: binary mode, values as the SDK sends them", async () => {
  const res = await post(HTTP.binary(jsEvent("js-binary", a.type)), a.token);
  assert.equal(res.status, 202, await res.text());
  const event = await jsReceived(1);
  assert.equal(event.id, "js-binary");
  assert.equal(event.subject, SUBJECT);
  assert.equal(event.note, NOTE);
  assert.deepEqual(event.data, { from: "js" });
});

test("the same event in structured mode arrives identical", async () => {
  const res = await post(HTTP.structured(jsEvent("js-structured", a.type)), a.token);
  assert.equal(res.status, 202, await res.text());
  const event = await jsReceived(2);
  assert.equal(event.id, "js-structured");
  assert.equal(event.subject, SUBJECT);
  assert.equal(event.note, NOTE);
});

test("Go SDK → gateway → Go SDK: binary mode, values as the SDK sends them", async () => {
  const status = await run(sdkGo, ["send", `${g.url}/`, "go-binary", b.type, SUBJECT], {
    env: { ...process.env, SDK_TOKEN: b.token },
  });
  assert.equal(status.trim(), "202");
  await waitFor("the Go SDK receiver to get the event", async () =>
    goReceived().some((e) => e.id === "go-binary") ? true : undefined,
  );
  const event = goReceived().find((e) => e.id === "go-binary");
  assert.equal(event?.subject, SUBJECT);
  assert.equal(event?.note, SUBJECT);
  assert.equal(event?.data, '{"from":"go"}');
});

test("JavaScript SDK → gateway → Go SDK: the Go receiver reads the JavaScript publisher's values", async () => {
  const res = await post(HTTP.binary(jsEvent("js-to-go", b.type)), b.token);
  assert.equal(res.status, 202, await res.text());
  await waitFor("the Go SDK receiver to get the event", async () =>
    goReceived().some((e) => e.id === "js-to-go") ? true : undefined,
  );
  const event = goReceived().find((e) => e.id === "js-to-go");
  assert.equal(event?.subject, SUBJECT);
  assert.equal(event?.note, NOTE);
});
