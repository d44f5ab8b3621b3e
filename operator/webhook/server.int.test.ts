// The webhook's HTTPS server in-process, with real certificates (openssl): answers AdmissionReviews,
// maps bad requests to 4xx, and follows certificate files replaced on disk without a restart.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, test } from "node:test";
import { Registry } from "prom-client";
import { errorMessage } from "../../common/errors.ts";
import { silentLogger } from "../../common/log.ts";
import { createCa, createCert, type KeyPair } from "../../e2e/pki.ts";
import { waitFor } from "../../e2e/proc.ts";
import { repoRoot } from "../../e2e/tools.ts";
import type { InjectorSettings } from "./plan.ts";
import { serveWebhook } from "./server.ts";

mkdirSync(join(repoRoot, ".work"), { recursive: true });
const dir = mkdtempSync(join(repoRoot, ".work", "webhook-server-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const issue = async (name: string): Promise<{ ca: KeyPair; serving: KeyPair }> => {
  const sub = join(dir, name);
  mkdirSync(sub);
  const ca = await createCa(sub, `${name}-ca`);
  const serving = await createCert(sub, ca, {
    name: "serving",
    commonName: "webhook",
    ips: ["127.0.0.1"],
    usage: "server",
  });
  return { ca, serving };
};

const first = await issue("first");
const second = await issue("second");
const certFile = join(dir, "tls.crt");
const keyFile = join(dir, "tls.key");
const install = (pair: KeyPair): void => {
  copyFileSync(pair.cert, certFile);
  copyFileSync(pair.key, keyFile);
};
install(first.serving);

const settings: InjectorSettings = {
  image: "switchboard:test",
  clusterName: "east",
  etcd: ["http://etcd:2379"],
  etcdSecret: undefined,
  vpnKeys: false,
  port: 3580,
  metricsPort: 9580,
  cpu: "50m",
  memory: "192Mi",
};
const registry = new Registry();
const server = await serveWebhook({
  host: "127.0.0.1",
  port: 0,
  certFile,
  keyFile,
  reloadMs: 100,
  settings,
  registry,
  log: silentLogger(),
});
const abort = new AbortController();
const running = server.run(abort.signal);
after(async () => {
  abort.abort();
  await running;
});

interface Reply {
  status: number;
  body: string;
}

/** One request on a new connection, trusting only `ca`. */
const call = (
  ca: string,
  { method = "POST", path = "/inject", body = "", type = "application/json" } = {},
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.port,
        method,
        path,
        ca: readFileSync(ca),
        agent: false,
        headers: { "content-type": type },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });

const metric = async (name: string): Promise<string> =>
  (await registry.metrics())
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");

const admissionReview = (annotations: Record<string, string>) =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u-1",
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "shop",
      object: { metadata: { name: "p", annotations }, spec: { containers: [{ name: "app" }] } },
    },
  });

test("POST /inject answers an AdmissionReview with the patch", async () => {
  const reply = await call(first.ca.cert, {
    body: admissionReview({ "switchboard.dev/inject": "true" }),
    path: "/inject?timeout=5s",
  });
  assert.equal(reply.status, 200, reply.body);
  const review: unknown = JSON.parse(reply.body);
  assert.ok(typeof review === "object" && review !== null && "response" in review);
  assert.match(JSON.stringify(review.response), /"uid":"u-1","allowed":true,"patchType":"JSONPatch"/);
  assert.match(await metric("switchboard_operator_webhook_requests_total"), /result="injected"} 1/);
});

test("bad requests: 404 other paths, 405 other methods, 415 non-JSON, 400 not a review, 413 too large", async () => {
  const ca = first.ca.cert;
  assert.equal((await call(ca, { path: "/mutate" })).status, 404);
  assert.equal((await call(ca, { method: "GET" })).status, 405);
  assert.equal((await call(ca, { type: "text/plain", body: "{}" })).status, 415);
  const notJson = await call(ca, { body: "{" });
  assert.equal(notJson.status, 400);
  assert.match(notJson.body, /body is not JSON/);
  const notReview = await call(ca, { body: JSON.stringify({ kind: "Pod" }) });
  assert.equal(notReview.status, 400);
  assert.match(notReview.body, /not an admission\.k8s\.io\/v1 AdmissionReview/);
  // The server answers 413 and may close before the whole body is sent; either way it is refused.
  const huge = await call(ca, { body: "x".repeat(5 * 1024 * 1024) }).then((r) => r.status, errorMessage);
  assert.ok(huge === 413 || /EPIPE|ECONNRESET|socket hang up/.test(String(huge)), String(huge));
  assert.match(await metric("switchboard_operator_webhook_requests_total"), /result="invalid"} [5-9]/);
});

test("replaced certificate files are served to new connections without a restart; a broken pair is not", async () => {
  await assert.rejects(call(second.ca.cert, { method: "GET" }), /self-signed|unable to verify|certificate/i);
  install(second.serving);
  await waitFor(
    "the new certificate to be served",
    async () =>
      (await call(second.ca.cert, { method: "GET" }).then(
        (r) => r.status,
        () => undefined,
      )) === 405
        ? true
        : undefined,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  await assert.rejects(call(first.ca.cert, { method: "GET" }), /self-signed|unable to verify|certificate/i);
  assert.match(await metric("switchboard_operator_webhook_certificate_reloads_total"), /result="success"} 1/);

  // A key that does not match the certificate is refused; the previous pair keeps serving.
  copyFileSync(first.serving.key, keyFile);
  await waitFor("the reload error to be counted", async () =>
    /result="error"} [1-9]/.test(await metric("switchboard_operator_webhook_certificate_reloads_total"))
      ? true
      : undefined,
  );
  assert.equal((await call(second.ca.cert, { method: "GET" })).status, 405);
  writeFileSync(keyFile, readFileSync(second.serving.key));
});
