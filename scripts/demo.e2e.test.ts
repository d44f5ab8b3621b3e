// `npm run demo` as a newcomer uses it: start it, paste what it prints, Ctrl-C.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";

test("the demo starts everything, its printed commands work as pasted, and Ctrl-C stops it all", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "demo-test-"));
  const demo = spawn(
    process.execPath,
    [join(repoRoot, "scripts/demo.ts"), "--dir", dir, "--port", "0", "--metrics-port", "0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  demo.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  demo.stderr.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  try {
    await waitFor(
      "the demo to be ready",
      async () => {
        if (demo.exitCode !== null) throw new Error(`the demo exited:\n${out}`);
        return out.includes("demo ready") ? true : undefined;
      },
      { timeoutMs: 240_000 },
    );
    const commands = out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("curl ") || l.includes("get switchboard -A"));
    assert.equal(commands.length, 5, out);
    const run = (cmd: string) => spawnSync("bash", ["-c", cmd], { encoding: "utf8" });
    const listing = run(commands[0] ?? "");
    assert.equal(listing.status, 0, listing.stderr);
    assert.match(listing.stdout, /subscription\.switchboard\.dev\/orders-created\s+True/);
    const publish = run(commands[1] ?? "");
    assert.match(publish.stdout, /^HTTP\/1\.1 202/);
    const route = run(commands[2] ?? "");
    assert.match(route.stdout, /^HTTP\/1\.1 200/);
    assert.match(route.stdout, /"pod":"orders-\d"/);
    assert.match(run(commands[3] ?? "").stdout, /switchboard_gateway_events_received_total/);
    assert.match(run(commands[4] ?? "").stdout, /"matched":false/);
    await waitFor("the demo to show the request a pod received", async () =>
      /\[orders-\d\] .*com\.example\.order\.created/.test(out) ? true : undefined,
    );
  } finally {
    demo.kill("SIGINT");
    const [code] = await once(demo, "exit");
    assert.equal(code, 0, out);
  }
  assert.match(out, /stopped; everything it started is gone/);
  const leftovers = spawnSync("pgrep", ["-f", dir], { encoding: "utf8" }).stdout.trim();
  assert.equal(leftovers, "", "no process of the demo outlives it");
});
