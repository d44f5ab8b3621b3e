// The README's shape: the quick start is the two commands CI runs, and every relative link of the
// README and docs/ resolves. (Its shell blocks are checked by scripts/docs.test.ts.)
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../e2e/tools.ts";

test("the README's quick start is two commands, the demo and the tests, then the kubectl plugin, each a real npm script", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const quick = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Documentation"));
  const commands = [...quick.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? "").trim());
  assert.deepEqual(commands.slice(0, 2), ["npm run demo", "npm ci && npm test"]);
  assert.equal(commands.length, 3);
  const plugin = (commands[2] ?? "").split("\n").map((l) => l.replace(/\s+#.*$/, ""));
  assert.equal(plugin[0], "npm run plugin:install");
  assert.deepEqual(
    plugin.slice(1).map((l) => l.split(" ").slice(0, 3).join(" ")),
    ["kubectl switchboard status", "kubectl switchboard publish"],
  );
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  for (const script of ["demo", "test", "dev", "bench", "cluster", "bootstrap", "plugin:install"])
    assert.ok(pkg.scripts[script], script);
  const ci = readFileSync(join(repoRoot, ".ci/run"), "utf8");
  assert.ok(ci.includes("\nnpm ci && npm test\n"), ".ci/run runs exactly the README's test command");
});

test("every relative link in the README and docs/ points at a file that exists", () => {
  const files = [
    "README.md",
    ...readdirSync(join(repoRoot, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  for (const file of files) {
    const text = readFileSync(join(repoRoot, file), "utf8");
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1] ?? "";
      if (/^[a-z]+:/.test(target)) continue;
      assert.ok(
        existsSync(join(repoRoot, file, "..", target)),
        `${file} links to ${target}, which does not exist`,
      );
    }
  }
});
