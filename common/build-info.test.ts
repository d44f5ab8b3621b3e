import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Registry } from "prom-client";
import { repoRoot } from "../e2e/tools.ts";
import { buildInfo, registerBuildInfo, versionLine } from "./build-info.ts";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

test("build info: the package version, the checkout's revision, this Node", async () => {
  const info = buildInfo();
  assert.equal(info.version, pkg.version);
  const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).stdout.trim();
  assert.equal(info.revision, head.slice(0, 12));
  assert.equal(info.node, process.version);
  assert.equal(versionLine("p", info), `p ${pkg.version} (${head.slice(0, 12)}, node ${process.version})`);
  const registry = new Registry();
  registerBuildInfo(registry, info);
  assert.match(
    await registry.metrics(),
    new RegExp(
      `switchboard_build_info\\{version="${pkg.version}",revision="${info.revision}",node="${process.version}"\\} 1`,
    ),
  );
});

test("both programs answer --version with one line, and --help with one line per flag", () => {
  for (const [program, name] of [
    ["sidecar/main.ts", "switchboard-gateway"],
    ["operator/main.ts", "switchboard-operator"],
  ] as const) {
    const version = spawnSync(process.execPath, [join(repoRoot, program), "--version"], { encoding: "utf8" });
    assert.equal(version.status, 0);
    assert.match(
      version.stdout,
      new RegExp(`^${name} ${pkg.version} \\(\\w+, node v\\d+\\.\\d+\\.\\d+\\)\\n$`),
    );
    const help = spawnSync(process.execPath, [join(repoRoot, program), "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    const flags = help.stdout.split("\n").filter((l) => l.startsWith("  --"));
    assert.ok(flags.length >= 15, `${flags.length} flags`);
    for (const line of flags) assert.match(line, /^ {2}--[a-z-]+( \S+)? +\S/, line);
    assert.equal(new Set(flags.map((l) => l.trim().split(" ")[0])).size, flags.length, "each flag once");
  }
});
