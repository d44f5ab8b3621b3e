// Dev mode as a developer uses it: a directory of manifests, edits, a mistake, a deletion.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startFunction } from "../e2e/functions.ts";
import { cleanup } from "../e2e/harness.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";

const TOKEN = "dev-token";

test("dev mode validates with the CRD rules, routes, and follows edits and deletions of the directory", async () => {
  const fn = await startFunction();
  cleanup(() => fn.close());
  const manifests = mkdtempSync(join(repoRoot, ".work", "dev-manifests-"));
  const work = mkdtempSync(join(repoRoot, ".work", "dev-work-"));
  writeFileSync(
    join(manifests, "10-vpn.yaml"),
    `apiVersion: v1
kind: Namespace
metadata: { name: app }
---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: app }
stringData: { token: ${TOKEN} }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: app }
spec:
  namespaces: { names: [app] }
  publishers: [{ name: me, tokenSecretRef: { namespace: app, name: publisher, key: token } }]
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: logger, namespace: app }
spec: { vpn: app, target: { url: "${fn.url}/in" } }
`,
  );
  const subscription = (type: string, delay = "100ms") => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: all, namespace: app }
spec: { vpn: app, function: logger, mode: async, filters: [{ exact: { type: ${type} } }], delivery: { backoffDelay: ${delay} } }
`;
  writeFileSync(join(manifests, "20-subscription.yaml"), subscription("dev.one"));
  const dev = spawn(
    process.execPath,
    [join(repoRoot, "scripts/dev.ts"), "-f", manifests, "--port", "0", "--metrics-port", "0", "--work", work],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  dev.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  dev.stderr.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  try {
    const gatewayUrl = await waitFor(
      "dev mode to start",
      async () => {
        if (dev.exitCode !== null) throw new Error(`dev exited:\n${out}`);
        return /dev: gateway (http:\/\/\S+)/.exec(out)?.[1];
      },
      { timeoutMs: 240_000 },
    );
    const publish = (type: string) =>
      fetch(`${gatewayUrl}/`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "ce-specversion": "1.0",
          "ce-id": type,
          "ce-source": "/dev",
          "ce-type": type,
        },
        body: "hi",
        // 202 with the number of deliveries (0 when no subscription matches), else the status negated.
      }).then(async (r) =>
        r.status === 202 ? ((await r.json()) as { deliveries: number }).deliveries : -r.status,
      );
    await waitFor("the route to be live", async () => ((await publish("dev.one")) === 1 ? true : undefined));
    await fn.waitFor(1);

    writeFileSync(join(manifests, "20-subscription.yaml"), subscription("dev.two"));
    await waitFor("the edit to take effect", async () =>
      (await publish("dev.two")) === 1 ? true : undefined,
    );
    assert.equal(await publish("dev.one"), 0);

    const applied = out.length;
    writeFileSync(join(manifests, "20-subscription.yaml"), subscription("dev.three", "soon"));
    await waitFor("the invalid edit to be refused", async () =>
      out.slice(applied).includes("dev: refused") ? true : undefined,
    );
    assert.match(out.slice(applied), /backoffDelay must be a Go duration/);
    assert.equal(await publish("dev.two"), 1, "the previous state keeps routing");

    rmSync(join(manifests, "20-subscription.yaml"));
    await waitFor("the deleted subscription to stop routing", async () =>
      (await publish("dev.two")) === 0 ? true : undefined,
    );
    // The route can stop before kubectl delete returns and dev mode reports it.
    await waitFor("dev mode to report the deletion", async () =>
      /Subscription app\/all deleted \(its file is gone\)/.test(out) ? true : undefined,
    );
  } finally {
    dev.kill("SIGINT");
    await once(dev, "exit");
  }
});
