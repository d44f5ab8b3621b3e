import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../e2e/tools.ts";
import { readManifests, serviceTarget, toApply } from "./manifests.ts";

test("examples/ is read in kubectl's order: files lexically, documents in file order", () => {
  const { objects, problems } = readManifests(join(repoRoot, "examples"));
  assert.deepEqual(problems, []);
  assert.deepEqual(
    objects.map((o) => `${o.kind} ${o.namespace ?? ""}/${o.name}`),
    [
      "Namespace /shop",
      "Secret shop/checkout-token",
      "VPN /shop",
      "Service shop/orders",
      "Function shop/orders",
      "Function shop/audit",
      "Subscription shop/orders-created",
      "Subscription shop/orders-api",
    ],
  );
  const orders = objects.find((o) => o.kind === "Function" && o.name === "orders");
  assert.ok(orders);
  assert.deepEqual(serviceTarget(orders), { service: "shop/orders", port: 80, path: "/events" });
});

test("unreadable files and documents that are not objects are problems, named by file and document", () => {
  const dir = mkdtempSync(join(tmpdir(), "dev-manifests-"));
  writeFileSync(join(dir, "a.yaml"), "kind: [unclosed\n");
  writeFileSync(join(dir, "b.yaml"), "kind: Secret\nmetadata: { name: s }\n---\nfoo: bar\n");
  writeFileSync(join(dir, "notes.txt"), "ignored");
  const { objects, problems } = readManifests(dir);
  assert.deepEqual(
    objects.map((o) => o.name),
    ["s"],
  );
  assert.equal(problems.length, 2);
  assert.match(problems[0] ?? "", /^a\.yaml: /);
  assert.equal(
    problems[1],
    "b.yaml (document 2): not a Kubernetes object (kind and metadata.name are required)",
  );
});

test("--service replaces a Function's Service target by the URL plus the target's path", () => {
  const fn = {
    file: "f.yaml",
    kind: "Function",
    namespace: "shop",
    name: "orders",
    body: {
      kind: "Function",
      spec: { vpn: "shop", target: { service: { name: "orders", port: 80, path: "/events" } } },
    },
  };
  const overrides = new Map([
    ["shop/orders", { namespace: "shop", name: "orders", url: "http://127.0.0.1:3000" }],
  ]);
  const { body, note } = toApply(fn, overrides);
  assert.deepEqual(body.spec, { vpn: "shop", target: { url: "http://127.0.0.1:3000/events" } });
  assert.equal(note, "target Service shop/orders replaced by http://127.0.0.1:3000/events (--service)");
  assert.equal(toApply(fn, new Map()).body, fn.body);
});
