import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { alive, waitFor } from "./proc.ts";
import { repoRoot } from "./tools.ts";

// A process that starts a child with e2e/proc.ts, prints the child's pid, then waits.
const parentScript = (dir: string, withOwnHandler: boolean): string => {
  const script = join(dir, "parent.ts");
  writeFileSync(
    script,
    `import { start } from ${JSON.stringify(join(repoRoot, "e2e/proc.ts"))};
const child = start({ name: "sleeper", command: "sleep", args: ["300"], log: ${JSON.stringify(join(dir, "sleeper.log"))} });
${withOwnHandler ? 'process.on("SIGTERM", () => { console.log("own handler"); process.exit(0); });' : ""}
console.log(child.pid);
setInterval(() => {}, 1000);
`,
  );
  return script;
};

for (const [signal, withOwnHandler] of [
  ["SIGTERM", false],
  ["SIGINT", false],
  ["SIGHUP", false],
  ["SIGTERM", true],
] as const) {
  test(`children die when their parent gets ${signal}${withOwnHandler ? " and handles it itself" : ""}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "sb-proc-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const parent = spawn(process.execPath, [parentScript(dir, withOwnHandler)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    parent.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    const pid = await waitFor("the child's pid", async () => {
      const n = Number(out.split("\n")[0]);
      return n > 0 ? n : undefined;
    });
    assert.ok(alive(pid));
    parent.kill(signal);
    const [code, sig] = (await once(parent, "exit")) as [number | null, string | null];
    assert.equal(sig, null, "it exits, not killed by the signal");
    assert.equal(code, withOwnHandler ? 0 : 128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]);
    if (withOwnHandler) assert.match(out, /own handler/);
    await waitFor("the child to be gone", async () => (alive(pid) ? undefined : true), { timeoutMs: 5000 });
  });
}
