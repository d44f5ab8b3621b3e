import assert from "node:assert/strict";
import { test } from "node:test";
import { devEgressAllow, LOOPBACK_ALLOW } from "./egress.ts";

const service = (url: string) => ({ namespace: "n", name: "s", url });

test("dev mode allows loopback's two addresses, not the whole range", () => {
  assert.deepEqual(devEgressAllow([]), ["127.0.0.1", "::1"]);
  assert.deepEqual(LOOPBACK_ALLOW, ["127.0.0.1", "::1"]);
});

test("a --service URL at an address the default policy refuses is allowed as that one address", () => {
  assert.deepEqual(devEgressAllow([service("http://127.0.0.2:3000"), service("http://[fe80::1]:80")]), [
    "127.0.0.1",
    "::1",
    "127.0.0.2",
    "fe80::1",
  ]);
});

test("addresses already allowed, not refused, or host names add nothing", () => {
  assert.deepEqual(
    devEgressAllow([
      service("http://127.0.0.1:1"),
      service("http://10.1.2.3"),
      service("http://localhost:3000"),
    ]),
    ["127.0.0.1", "::1"],
  );
});
