import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { apiErrorMessage } from "./api-error.ts";
import { waitingFor } from "./readiness.ts";

test("readiness names each informer still listing and the registry, with the last error of each", () => {
  assert.equal(waitingFor([], { listed: true, failing: undefined }), undefined);
  assert.equal(
    waitingFor([], { listed: false, failing: "list failed: connect ECONNREFUSED 10.96.0.9:2379" }),
    "waiting for the registry etcd to be listed (last error: list failed: connect ECONNREFUSED 10.96.0.9:2379)",
  );
  assert.equal(
    waitingFor(
      [
        { name: "secrets", lastError: "HTTP 403 Forbidden: secrets is forbidden" },
        { name: "vpns", lastError: undefined },
      ],
      { listed: true, failing: undefined },
    ),
    "waiting for the informer caches of secrets (last error: HTTP 403 Forbidden: secrets is forbidden), vpns to sync",
  );
  assert.match(
    waitingFor([{ name: "vpns", lastError: undefined }], { listed: false, failing: undefined }) ?? "",
    /^waiting for the informer caches of vpns to sync and the registry etcd to be listed$/,
  );
});

test("an API error is one line: status, reason and message, not the whole response", () => {
  const body = JSON.stringify({
    kind: "Status",
    status: "Failure",
    message: "storage is (re)initializing",
    reason: "TooManyRequests",
    code: 429,
  });
  const err = new ApiException(429, `HTTP-Code: 429\nMessage: Unknown\nBody: ${body}\nHeaders: {}`, body, {});
  assert.equal(apiErrorMessage(err), "HTTP 429 TooManyRequests: storage is (re)initializing");
  assert.equal(apiErrorMessage(new ApiException(500, "m", "", {})), "HTTP 500");
  assert.equal(apiErrorMessage(new ApiException(502, "m", "bad gateway", {})), "HTTP 502: bad gateway");
  assert.equal(
    apiErrorMessage(new Error("connect ECONNREFUSED 10.96.0.1:443")),
    "connect ECONNREFUSED 10.96.0.1:443",
  );
});
