import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { alive, waitFor } from "./proc.ts";
import { repoRoot } from "./tools.ts";

const childPids = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

test("`node e2e/cluster.ts up --dir DIR` writes kubeconfig and cluster.json, serves, and leaves nothing behind on SIGINT", async (t) => {
  const dir = mkdtempSync(join(repoRoot, ".work", "cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(repoRoot, "e2e/cluster.ts"), "up", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  await waitFor(
    "the control plane to report ready",
    async () => (output.includes("control plane ready") ? true : undefined),
    {
      timeoutMs: 120_000,
    },
  );
  const info = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as {
    etcd: string;
    apiserver: string;
  };
  assert.match(info.etcd, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(info.apiserver, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(existsSync(join(dir, "kubeconfig")));
  const health = (await (await fetch(`${info.etcd}/health`)).json()) as { health: string };
  assert.equal(health.health, "true");

  assert.ok(child.pid);
  const servers = childPids(child.pid);
  assert.equal(
    servers.length,
    3,
    `expected etcd, kube-apiserver and kube-controller-manager, got ${servers.join(",")}`,
  );
  child.kill("SIGINT");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, output);
  for (const pid of servers) assert.equal(alive(pid), false, `process ${pid} outlived the control plane`);
});

test("`node e2e/cluster.ts` with a bad command prints usage and exits 2", async () => {
  const child = spawn(process.execPath, [join(repoRoot, "e2e/cluster.ts"), "down"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const [code] = await once(child, "exit");
  assert.equal(code, 2);
  assert.match(err, /usage: node e2e\/cluster\.ts up/);
});
