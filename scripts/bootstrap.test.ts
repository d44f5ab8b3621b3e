import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../e2e/tools.ts";

test("bootstrap names Go as what to install when it must build and Go is missing", (t) => {
  const cache = mkdtempSync(join(tmpdir(), "sb-bootstrap-"));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const res = spawnSync("bash", [join(repoRoot, "scripts/bootstrap.sh")], {
    env: { PATH: "/usr/bin:/bin", HOME: cache, SWITCHBOARD_CACHE: cache },
    encoding: "utf8",
  });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /Go is not installed.*Install Go >= 1\.24/);
});

test("bootstrap --print names a versioned tools directory without building anything", () => {
  const res = spawnSync("bash", [join(repoRoot, "scripts/bootstrap.sh"), "--print"], {
    env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent", SWITCHBOARD_CACHE: "/tmp/sb-cache" },
    encoding: "utf8",
  });
  assert.equal(res.status, 0);
  assert.match(
    res.stdout.trim(),
    /^\/tmp\/sb-cache\/tools\/etcd-v3\.6\.\d+_kube-v1\.34\.\d+_helm-v3\.\d+\.\d+\/bin$/,
  );
});

test("node24.sh runs scripts with Node 24 or newer", () => {
  const res = spawnSync("bash", [join(repoRoot, "scripts/node24.sh"), "-p", "process.versions.node"], {
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.ok(Number(res.stdout.split(".")[0]) >= 24, res.stdout);
});
