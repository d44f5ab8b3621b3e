import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CliError } from "../types.ts";
import { contextNamespace, loadKubeConfig, toKubeObject } from "./kube.ts";

const kubeconfig = (name: string, namespace?: string): string => `apiVersion: v1
kind: Config
current-context: ${name}
clusters: [{ name: ${name}, cluster: { server: "https://${name}.example:6443" } }]
users: [{ name: ${name}, user: { token: t } }]
contexts: [{ name: ${name}, context: { cluster: ${name}, user: ${name}${namespace ? `, namespace: ${namespace}` : ""} } }]
`;

test("KUBECONFIG lists files merged as kubectl does: the first one's context wins; --context picks another", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kc-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "a"), kubeconfig("a", "shop"));
  writeFileSync(join(dir, "b"), kubeconfig("b"));
  const env = { KUBECONFIG: `${join(dir, "a")}:${join(dir, "missing")}:${join(dir, "b")}`, HOME: dir };
  const kc = loadKubeConfig({}, env);
  assert.equal(kc.getCurrentCluster()?.server, "https://a.example:6443");
  assert.equal(contextNamespace(kc), "shop");
  const b = loadKubeConfig({ context: "b" }, env);
  assert.equal(b.getCurrentCluster()?.server, "https://b.example:6443");
  assert.equal(contextNamespace(b), "default");
  assert.throws(
    () => loadKubeConfig({ context: "c" }, env),
    (err: unknown) =>
      err instanceof CliError && err.message === "context c is not in the kubeconfig (contexts: a, b)",
  );
  assert.throws(
    () => loadKubeConfig({}, { KUBECONFIG: join(dir, "missing"), HOME: dir }),
    (err: unknown) =>
      err instanceof CliError && err.message.startsWith("no kubeconfig: none of the files in KUBECONFIG"),
  );
});

test("an object from the API server's JSON: its Ready and other conditions, generation, spec", () => {
  const o = toKubeObject("Subscription", {
    metadata: { name: "a", namespace: "shop", generation: 3 },
    spec: { vpn: "shop" },
    status: {
      conditions: [
        { type: "Ready", status: "True", reason: "RouteRegistered", message: "ok", observedGeneration: 3 },
        { type: "FilterValid", status: "True", reason: "Compiled", message: "" },
        "not a condition",
      ],
    },
  });
  assert.deepEqual(o, {
    kind: "Subscription",
    name: "a",
    namespace: "shop",
    generation: 3,
    spec: { vpn: "shop" },
    conditions: [
      { type: "Ready", status: "True", reason: "RouteRegistered", message: "ok", observedGeneration: 3 },
      { type: "FilterValid", status: "True", reason: "Compiled", message: "" },
    ],
  });
});
